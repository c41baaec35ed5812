"""``embedding_bag``: sums, means or maxima of bags of embedding rows, one op with its own
backward (PyTorch's ``EmbeddingBag``), so a text classifier's lookup is one node in the graph.

A bag is a run of indices: the rows of a 2-d input, or the pieces of a 1-d input that
``offsets`` cut. Entries equal to ``padding_idx`` are left out of their bag (not counted in a
mean); an empty bag gives zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, InputError, ShapeError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.accumulate import add_rows
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.attention import padding_index, renorm_rows
from gradviz.autograd.ops.scatter import put_in_zeros
from gradviz.autograd.variable import Variable, as_array

MODES = ("sum", "mean", "max")


class EmbeddingBag(Function):
    """``out[b] = reduce(weight[indices[j]] for j in bag b)``, ``reduce`` a sum (each row
    times its ``per_sample_weights`` entry when given), a mean or an element-wise max.

    ``bags`` gives each kept index its bag, ``count`` the number of bags. The max's gradient
    goes to the first row of the bag holding the maximum (PyTorch's choice on ties)."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, weight, indices, bags, count, mode, per_sample_weights=None):
        rows = weight[indices]
        if per_sample_weights is not None:
            rows = rows * per_sample_weights[:, None]
        out = np.zeros((count, weight.shape[1]), dtype=weight.dtype)
        ctx.shape, ctx.indices, ctx.bags, ctx.mode = weight.shape, indices, bags, mode
        if mode == "max":
            _bag_max(ctx, out, rows, bags)
            return out
        add_rows(out, bags, rows)
        if mode == "mean":
            ctx.sizes = np.maximum(np.bincount(bags, minlength=count), 1).astype(weight.dtype)
            out /= ctx.sizes[:, None]
        if per_sample_weights is not None:
            ctx.rows, ctx.weights = weight[indices], per_sample_weights
        return out

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if ctx.mode == "max":
            bag, column = np.nonzero(ctx.first >= 0)
            np.add.at(out, (ctx.indices[ctx.first[bag, column]], column), grad[bag, column])
            return out, None, None, None, None
        per_row = grad[ctx.bags]
        if ctx.mode == "mean":
            per_row = per_row / ctx.sizes[ctx.bags][:, None]
        rows = getattr(ctx, "rows", None)
        if rows is None:
            add_rows(out, ctx.indices, per_row)
            return out, None, None, None, None
        add_rows(out, ctx.indices, per_row * ctx.weights[:, None])
        return out, None, None, None, None, (per_row * rows).sum(1)

    @staticmethod
    def backward_graph(ctx, grad, out):
        shape, indices, need_weight = ctx.shape, ctx.indices, ctx.needs_input_grad[0]
        if ctx.mode == "max":  # (the places of the maxima are constants)
            bag, column = np.nonzero(ctx.first >= 0)
            places = (indices[ctx.first[bag, column]], column)
            return put_in_zeros(shape, places, grad[bag, column]), None, None, None, None
        per_row = grad[ctx.bags]
        if ctx.mode == "mean":
            per_row = per_row / ctx.sizes[ctx.bags][:, None]
        if len(ctx.inputs) < 6:
            return put_in_zeros(shape, (indices,), per_row), None, None, None, None
        weight, samples = ctx.inputs[0], ctx.inputs[5]
        grad_weight = put_in_zeros(shape, (indices,), per_row * samples.unsqueeze(1))
        grad_samples = (per_row * weight[indices]).sum(1) if ctx.needs_input_grad[5] else None
        return (grad_weight if need_weight else None), None, None, None, None, grad_samples


def _bag_max(ctx, out: np.ndarray, rows: np.ndarray, bags: np.ndarray) -> None:
    """The element-wise max of each bag into ``out`` (zeros for an empty bag), and in
    ``ctx.first`` the position of the first row holding it (-1 for an empty bag)."""
    if not len(bags):
        ctx.first = np.full(out.shape, -1)
        return
    top = np.full(out.shape, -np.inf, dtype=out.dtype)
    np.maximum.at(top, bags, rows)
    positions = np.arange(len(bags))[:, None]
    hits = np.where(rows == top[bags], positions, len(bags))
    first = np.full(out.shape, len(bags))
    np.minimum.at(first, bags, hits)
    empty = first == len(bags)
    out[...] = np.where(empty, 0, top)
    ctx.first = np.where(empty, -1, first)


def embedding_bag(
    input: Any,
    weight: Any,
    offsets: Any = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    mode: str = "mean",
    per_sample_weights: Any = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
    layer: str = "embedding_bag",
) -> Variable:
    """The checked call of ``EmbeddingBag``: PyTorch's ``F.embedding_bag`` arguments (the
    refused ``scale_grad_by_freq`` and ``sparse`` are checked by the caller)."""
    indices = _indices(input, "input", layer)
    weight = as_variable(weight, layer)
    if per_sample_weights is not None and np.shape(as_array(per_sample_weights)) != indices.shape:
        raise ArgumentError(
            f"{layer}: If per_sample_weights ({np.shape(as_array(per_sample_weights))}) is not "
            f"None, then it must have the same shape as the input ({indices.shape})"
        )
    if weight.ndim != 2:
        raise ArgumentError(
            f"{layer}: weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}"
        )
    starts, end = _bounds(indices, offsets, include_last_offset, layer)
    if mode not in MODES:
        raise ArgumentError(f"{layer}: mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise InputError(  # (PyTorch's NotImplementedError, a RuntimeError)
            f"{layer}: per_sample_weights was not None. per_sample_weights is only supported "
            f"for mode='sum' (got mode='{mode}')"
        )
    flat, num = indices.reshape(-1), weight.shape[0]
    if flat.size and (flat.min() < 0 or flat.max() >= num):
        at = int(np.argmax((flat < 0) | (flat >= num)))
        raise InputError(
            f"{layer}: Index {at} of input takes value {flat[at]} which is not in the valid "
            f"range [0, {num})"
        )
    padding_idx = padding_index(padding_idx, num, layer)
    if max_norm is not None:
        renorm_rows(weight, flat, max_norm, norm_type, layer)
    bags = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, end)))
    keep = np.arange(len(flat)) < end  # entries past the last bag's end are in no bag
    if padding_idx is not None:
        keep &= flat != padding_idx
    picked: Any = flat[keep].astype(np.int64)
    if keep.all() and isinstance(input, Variable) and input.ndim == 1 and input.dtype == np.int64:
        picked = input  # the Variable itself, so a trace draws where the indices came from
    args: list[Any] = [weight, picked, bags[keep[:end]], len(starts), mode]
    if per_sample_weights is not None:
        samples = as_variable(per_sample_weights, layer).reshape(-1)
        if samples.dtype != weight.dtype:
            raise InputError(
                f"{layer}: per_sample_weights must have the weight's dtype ({weight.dtype}), got "
                f"{samples.dtype}"
            )
        args.append(samples[np.flatnonzero(keep)] if not keep.all() else samples)
    return EmbeddingBag.apply(*args)


def _indices(value: Any, name: str, layer: str) -> np.ndarray:
    array = as_array(value)
    if array.dtype.kind not in "iu":
        raise InputError(
            f"{layer}: expected {name} to be an integer (int64 or int32) tensor, got dtype "
            f"{array.dtype}"
        )
    return array


def _bounds(
    indices: np.ndarray, offsets: Any, include_last: bool, layer: str
) -> tuple[np.ndarray, int]:
    """Where each bag starts in the flattened indices and where the last one ends, checked
    as PyTorch does."""
    if indices.ndim == 2:
        if offsets is not None:
            raise ArgumentError(
                f"{layer}: if input is 2D, then offsets has to be None, as input is treated is "
                "a mini-batch of fixed length sequences"
            )
        return np.arange(indices.shape[0]) * indices.shape[1], indices.size
    if indices.ndim != 1:
        raise ArgumentError(
            f"{layer}: input has to be 1D or 2D Tensor, but got Tensor of dimension {indices.ndim}"
        )
    if offsets is None:
        raise ArgumentError(f"{layer}: offsets has to be a 1D Tensor but got None")
    starts = _indices(offsets, "offsets", layer).astype(np.int64)
    if starts.ndim != 1:
        raise ArgumentError(f"{layer}: offsets has to be a 1D Tensor, got shape {starts.shape}")
    if len(starts) and starts[-1] > len(indices):
        raise InputError(
            f"{layer}: offsets[-1] can not be greater than input's length {len(indices)} but "
            f"got offsets[-1] of {starts[-1]}"
        )
    end = len(indices)
    if include_last:
        if not len(starts):
            raise InputError(f"{layer}: include_last_offset: number of offset should be at least 1")
        starts, end = starts[:-1], int(starts[-1])
    if not len(starts):
        return starts, 0
    if starts[0] != 0:
        raise InputError(
            f"{layer}: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has "
            f"to start from position 0. However, got {starts[0]}"
        )
    if np.any(np.diff(starts) < 0):
        raise ShapeError(f"{layer}: offsets must not decrease, got {starts.tolist()}")
    return starts, end
