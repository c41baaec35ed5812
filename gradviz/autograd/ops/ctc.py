"""The connectionist temporal classification loss (PyTorch's ``ctc_loss``): the negative log
likelihood of each target over every alignment of it with the input's time steps, one op.

The forward (alpha) and backward (beta) recursions run in log space, a loop over time steps
vectorised over the batch and the extended target (the labels with blanks between).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError, ShapeError
from gradviz.autograd.function import Function


class CtcLoss(Function):
    """``-log p(target_n | log_probs[:, n])`` per sample (N,), from (T, N, C) ``log_probs``.

    ``extended`` (N, 2S+1) holds each target with blanks around its labels, ``lengths`` the
    input lengths and ``sizes`` the target lengths. The gradient is the derivative in
    ``log_probs``: ``-exp(log(alpha beta summed over the places of c) + nll - log_probs)``.
    (PyTorch's rule adds ``exp(log_probs)``, the derivative of the log-softmax in front,
    whose own backward then removes it; through ``log_softmax`` both agree.) With
    ``zero_infinity`` an impossible target's loss and gradient are 0.
    """

    @staticmethod
    def forward(ctx, log_probs, extended, lengths, sizes, zero_infinity):
        emit = np.take_along_axis(
            log_probs, np.broadcast_to(extended, (len(log_probs), *extended.shape)), 2
        )
        skip = _can_skip(extended)
        alpha = _alphas(emit, skip, lengths, sizes)
        last = alpha[np.maximum(lengths - 1, 0), np.arange(len(lengths))]
        ends = np.stack([2 * sizes, np.maximum(2 * sizes - 1, 0)], 1)
        picked = np.take_along_axis(last, ends, 1)
        picked[sizes == 0, 1] = -np.inf  # an empty target ends on its one blank only
        nll = -np.logaddexp(picked[:, 0], picked[:, 1])
        nll[lengths == 0] = np.inf
        ctx.saved = (log_probs, extended, emit, skip, alpha, lengths, sizes, nll)
        ctx.zero_infinity = zero_infinity
        out = np.where(np.isinf(nll), 0.0, nll) if zero_infinity else nll
        return out.astype(log_probs.dtype)

    @staticmethod
    def backward(ctx, grad):
        log_probs, extended, emit, skip, alpha, lengths, sizes, nll = ctx.saved
        beta = _betas(emit, skip, lengths, sizes)
        both = alpha + beta
        top = both.max(axis=2, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        steps = len(log_probs)
        where = np.broadcast_to(extended, both.shape)
        occupancy = np.zeros(log_probs.shape, dtype=log_probs.dtype)
        t, n, _ = np.indices(both.shape, sparse=True)
        np.add.at(occupancy, (t, n, where), np.exp(both - top))
        finite = np.isfinite(nll)
        scale = np.where(finite, grad, 0.0) if ctx.zero_infinity else grad
        with np.errstate(over="ignore", invalid="ignore"):
            rate = np.exp(top + np.where(finite, nll, 0.0)[None, :, None] - log_probs)
        out = -occupancy * rate * scale[None, :, None]
        out[:, ~finite] = 0.0 if ctx.zero_infinity else np.nan  # an impossible target
        out[np.arange(steps)[:, None] >= lengths[None, :]] = 0.0  # past each input's end
        return out.astype(log_probs.dtype), None, None, None, None


def _can_skip(extended: np.ndarray) -> np.ndarray:
    """(N, L): whether place s may be reached from s-2 (a label differing from the last)."""
    skip = np.zeros(extended.shape, bool)
    skip[:, 2:] = (extended[:, 2:] != extended[:, :-2]) & (np.arange(2, extended.shape[1]) % 2 == 1)
    return skip


def _shifted(values: np.ndarray, by: int, fill: float = -np.inf) -> np.ndarray:
    """``values`` moved ``by`` places along the last axis (right for positive), ``fill`` in."""
    out = np.full(values.shape, fill)
    if by > 0:
        out[:, by:] = values[:, :-by]
    else:
        out[:, :by] = values[:, -by:]
    return out


def _alphas(emit, skip, lengths, sizes) -> np.ndarray:
    """(T, N, L) log alpha: the log probability of the prefixes ending at place s at time t."""
    steps, batch, width = emit.shape
    valid = np.arange(width)[None, :] <= 2 * sizes[:, None]
    alpha = np.full((steps, batch, width), -np.inf)
    alpha[0, :, :2] = emit[0, :, :2]
    alpha[0] = np.where(valid, alpha[0], -np.inf)
    with np.errstate(divide="ignore"):
        for t in range(1, steps):
            prev = alpha[t - 1]
            came = np.logaddexp(prev, _shifted(prev, 1))
            came = np.where(skip, np.logaddexp(came, _shifted(prev, 2)), came)
            alpha[t] = np.where(valid & (t < lengths)[:, None], came + emit[t], -np.inf)
    return alpha


def _betas(emit, skip, lengths, sizes) -> np.ndarray:
    """(T, N, L) log beta: the log probability of the suffixes from place s at time t (the
    emission at t included)."""
    steps, batch, width = emit.shape
    places = np.arange(width)[None, :]
    valid = places <= 2 * sizes[:, None]
    ends = (places == 2 * sizes[:, None]) | (places == 2 * sizes[:, None] - 1)
    beta = np.full((steps, batch, width), -np.inf)
    ahead = np.full((batch, width), -np.inf)
    skip_ahead = _shifted(skip.astype(float), -2, 0.0).astype(bool)
    with np.errstate(divide="ignore"):
        for t in range(steps - 1, -1, -1):
            went = np.logaddexp(ahead, _shifted(ahead, -1))
            went = np.where(skip_ahead, np.logaddexp(went, _shifted(ahead, -2)), went)
            start = np.where(ends, emit[t], -np.inf)
            now = np.where((t == lengths - 1)[:, None], start, went + emit[t])
            beta[t] = np.where(valid & (t < lengths)[:, None], now, -np.inf)
            ahead = beta[t]
    return beta


def extend(targets: np.ndarray, sizes: np.ndarray, blank: int) -> np.ndarray:
    """(N, 2 * max(S) + 1): each target with a blank before, between and after its labels
    (blank past its end)."""
    width = 2 * (int(sizes.max()) if len(sizes) else 0) + 1
    extended = np.full((len(sizes), width), blank, dtype=np.int64)
    for n, (row, size) in enumerate(zip(targets, sizes, strict=True)):
        extended[n, 1 : 2 * size : 2] = row[:size]
    return extended


def check_lengths(name: str, lengths: Any, batch: int, most: int | None) -> np.ndarray:
    """``input_lengths`` or ``target_lengths`` as int64 (N,), checked as PyTorch does."""
    values = np.asarray(lengths.numpy() if hasattr(lengths, "numpy") else lengths)
    values = values.reshape(-1).astype(np.int64)
    if len(values) != batch:
        raise InputError(
            f"ctc_loss: {name} must be of size batch_size ({batch}), got {len(values)}"
        )
    if len(values) and values.min() < 0:
        raise InputError(
            f"ctc_loss: Expected {name} to have value at least 0, but got value {values.min()}"
        )
    if most is not None and len(values) and values.max() > most:
        raise InputError(
            f"ctc_loss: Expected {name} to have value at most {most}, but got value {values.max()}"
        )
    return values


def target_rows(targets: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Each sample's labels: rows of padded (N, S) targets, or pieces of concatenated ones."""
    total = int(sizes.sum())
    if targets.ndim == 2:
        if len(sizes) and sizes.max() > targets.shape[1]:
            raise ShapeError(
                f"ctc_loss: Expected targets to have size at least {sizes.max()} at dimension "
                f"1, but got size {targets.shape[1]}"
            )
        return list(targets)
    if targets.ndim != 1 or len(targets) != total:
        raise ShapeError(
            f"ctc_loss: Expected targets of shape (N, S) or of shape ({total},) (the targets "
            f"concatenated), got {targets.shape}"
        )
    return np.split(targets, np.cumsum(sizes)[:-1]) if len(sizes) else []
