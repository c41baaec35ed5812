"""Losses, each one fused node: nll, cross-entropy, MSE and binary cross-entropy (two forms)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, OperandError, ShapeError
from gradviz.autograd.function import Function


def _reduce(loss: np.ndarray, reduction: str, op: str) -> np.ndarray:
    if reduction == "mean":
        # What ndarray.mean computes for 32/64-bit floats, minus its ~2 µs Python wrapper.
        return loss.sum() / loss.size if loss.dtype.itemsize >= 4 else loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ArgumentError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduced_grad(grad: np.ndarray, shape: tuple[int, ...], reduction: str) -> np.ndarray:
    """The gradient of each element of an unreduced loss of ``shape``."""
    if reduction == "mean":
        return grad / max(math.prod(shape), 1)
    return grad


def _class_targets(op: str, scores: np.ndarray, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check integer class ``target`` against ``scores`` (N, C) or (C,); both as 2-D and 1-D."""
    target = np.asarray(target)
    if target.dtype.kind not in "iu":
        raise OperandError(f"{op}: target must hold integer class indices, got {target.dtype}")
    if scores.ndim == 1:
        scores, target = scores[np.newaxis], target.reshape(1)
    if target.shape != scores.shape[:1]:
        raise ShapeError(
            f"{op}: expected target of shape {scores.shape[:1]} for input "
            f"{scores.shape}, got {target.shape}"
        )
    return scores, target


class NllLoss(Function):
    """Negative log-likelihood of integer ``target`` classes under log-probabilities (N, C)."""

    @staticmethod
    def forward(ctx, log_probs, target, reduction="mean"):
        ctx.shape = log_probs.shape
        log_probs, target = _class_targets("NllLoss", log_probs, target)
        rows = np.arange(len(target))
        ctx.rows, ctx.target, ctx.reduction = rows, target, reduction
        loss = _reduce(-log_probs[rows, target], reduction, "NllLoss")
        return loss.reshape(()) if len(ctx.shape) == 1 else loss

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros((len(ctx.target), ctx.shape[-1]), dtype=grad.dtype)
        out[ctx.rows, ctx.target] = -_reduced_grad(grad, ctx.target.shape, ctx.reduction)
        return out.reshape(ctx.shape), None, None


class CrossEntropy(Function):
    """Cross-entropy of logits (N, C) and integer classes: log_softmax and the negative
    log-likelihood fused into one stable node, whose gradient is softmax minus one-hot."""

    @staticmethod
    def forward(ctx, logits, target, reduction="mean"):
        ctx.shape = logits.shape
        logits, target = _class_targets("CrossEntropy", logits, target)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(target))
        ctx.save_for_backward(exp, total)
        ctx.rows, ctx.target, ctx.reduction = rows, target, reduction
        # -log_softmax(logits)[rows, target], without the full log_softmax array
        loss = _reduce(np.log(total[:, 0]) - shifted[rows, target], reduction, "CrossEntropy")
        return loss.reshape(()) if len(ctx.shape) == 1 else loss  # (C,) in: 0-d out (PyTorch)

    @staticmethod
    def backward(ctx, grad):
        exp, total = ctx.saved_tensors
        grad = _reduced_grad(grad, ctx.target.shape, ctx.reduction)
        out = exp / total  # softmax
        out[ctx.rows, ctx.target] -= 1
        out *= grad[:, np.newaxis] if grad.ndim else grad
        return out.reshape(ctx.shape), None, None


class MseLoss(Function):
    @staticmethod
    def forward(ctx, prediction, target, reduction="mean"):
        diff = prediction - target
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        return _reduce(diff * diff, reduction, "MseLoss")

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        g = 2 * diff * _reduced_grad(grad, diff.shape, ctx.reduction)
        return g, (-g if ctx.needs_input_grad[1] else None)


class BinaryCrossEntropy(Function):
    """BCE on probabilities; each log is clamped at -100, as in PyTorch."""

    @staticmethod
    def forward(ctx, p, target, reduction="mean"):
        ctx.save_for_backward(p, target)
        ctx.reduction = reduction
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_q = np.maximum(np.log1p(-p), -100)
        return _reduce(-(target * log_p + (1 - target) * log_q), reduction, "BinaryCrossEntropy")

    @staticmethod
    def backward(ctx, grad):
        p, target = ctx.saved_tensors
        eps = 1e-12  # PyTorch's clamp of the denominator
        g = _reduced_grad(grad, np.broadcast_shapes(np.shape(p), np.shape(target)), ctx.reduction)
        grad_p = g * (p - target) / np.maximum(p * (1 - p), eps)
        grad_target = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                grad_target = g * (np.maximum(np.log1p(-p), -100) - np.maximum(np.log(p), -100))
        return grad_p, grad_target


class BinaryCrossEntropyWithLogits(Function):
    """BCE on logits, stable for any logit: max(x, 0) - x*t + log(1 + exp(-|x|))."""

    @staticmethod
    def forward(ctx, x, target, reduction="mean"):
        ctx.save_for_backward(x, target)
        ctx.reduction = reduction
        loss = np.maximum(x, 0) - x * target + np.log1p(np.exp(-np.abs(x)))
        return _reduce(loss, reduction, "BinaryCrossEntropyWithLogits")

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        g = _reduced_grad(grad, np.broadcast_shapes(np.shape(x), np.shape(target)), ctx.reduction)
        e = np.exp(-np.abs(x))
        sigmoid = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        grad_target = -g * x if ctx.needs_input_grad[1] else None
        return g * (sigmoid - target), grad_target
