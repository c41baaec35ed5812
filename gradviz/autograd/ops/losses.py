"""Losses, each one fused node: nll, cross-entropy, MSE and binary cross-entropy (two forms).

``backward_graph`` (``create_graph=True``) writes the gradient in Variable ops: cross-entropy's
softmax minus one-hot with a recorded ``Softmax``, nll's an ``IndexPut`` of the row gradients.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.errors import (
    ArgumentError,
    IndexRangeError,
    OperandError,
    ShapeError,
)
from gradviz.autograd.function import Function
from gradviz.autograd.ops.elementwise import Softmax, row_max, row_starts, row_sum
from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.ops.promotion import promoted
from gradviz.autograd.ops.scatter import put_in_zeros
from gradviz.autograd.ops.scratch import ONE
from gradviz.autograd.variable import Variable, from_op


def _reduce(loss: np.ndarray, reduction: str, op: str) -> np.ndarray:
    if reduction == "mean":
        if not loss.size:  # an empty batch: NaN, as PyTorch gives (without NumPy's warning)
            return np.full((), np.nan, loss.dtype if loss.dtype.kind == "f" else np.float32)
        # What ndarray.mean computes for 32/64-bit floats, minus its ~2 µs Python wrapper.
        return np.add.reduce(loss, None) / loss.size if loss.dtype.itemsize >= 4 else loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ArgumentError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def check_reduction(reduction: Any, op: str) -> None:
    """PyTorch reads ``reduction`` before anything else: 'mean', 'sum' or 'none'."""
    if reduction not in ("mean", "sum", "none"):
        raise ArgumentError(f"{op}: {reduction!r} is not a valid value for reduction")


def _difference(prediction: np.ndarray, target: Any) -> np.ndarray:
    """``prediction - target`` in PyTorch's dtype: float32 against integer targets (NumPy's
    float32 - int64 is float64)."""
    return promoted(np.subtract, prediction, target, prediction - target)


def _reduced_grad(grad: np.ndarray, shape: tuple[int, ...], reduction: str) -> np.ndarray:
    """The gradient of each element of an unreduced loss of ``shape``."""
    if reduction == "mean":
        return grad / max(math.prod(shape), 1)
    return grad


_ROW_NUMBERS: dict[int, np.ndarray] = {}


def row_numbers(n: int) -> np.ndarray:
    """``np.arange(n)``, read-only and made once per ``n`` (a class loss indexes its rows
    with it every step)."""
    rows = _ROW_NUMBERS.get(n)
    if rows is None:
        if len(_ROW_NUMBERS) >= 64:  # (batch sizes seen: a handful, unless they vary)
            _ROW_NUMBERS.clear()
        rows = _ROW_NUMBERS[n] = np.arange(n)
        rows.flags.writeable = False
    return rows


#: Unsigned dtypes by size: read as unsigned, a negative target is larger than any class.
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


class _Classes:
    """Integer class targets (N,) of scores (N, C), checked as PyTorch checks them.

    ``keep`` is None when no target equals ``ignore_index``, else the mask of the rows that
    count; ``index`` is the target with ignored rows pointed at class 0 (their loss is zeroed);
    ``flat`` each row's picked score as an index into the flat (N, C) scores (one ``take``, a
    third of the cost of indexing rows and columns).
    """

    __slots__ = ("count", "flat", "index", "keep", "rows")

    def __init__(self, op: str, scores: np.ndarray, target: np.ndarray, ignore_index: int) -> None:
        if target.dtype.kind not in "iu":
            raise OperandError(f"{op}: target must hold integer class indices, got {target.dtype}")
        if target.shape != scores.shape[:1]:
            raise ShapeError(
                f"{op}: expected target of shape {scores.shape[:1]} for input "
                f"{scores.shape}, got {target.shape}"
            )
        self.rows, self.index, self.keep, self.count = row_numbers(len(target)), target, None, None
        classes = scores.shape[1]
        # One pass when every target is a class: read as unsigned, negative ones are large
        # (the largest found by argmax, a third of the cost of a maximum reduction).
        if target.size and (
            0 <= ignore_index < classes
            or (unsigned := target.view(_UNSIGNED[target.itemsize]))[unsigned.argmax()] >= classes
        ):
            keep = target != ignore_index
            bad = keep & ((target < 0) | (target >= classes))
            if bad.any():
                raise IndexRangeError(
                    f"{op}: Target {target[bad][0]} is out of bounds. Expected class indices in "
                    f"[0, {classes - 1}] for input {scores.shape} (or ignore_index={ignore_index})"
                )
            if not keep.all():
                self.keep, self.count = keep, int(keep.sum())
                self.index = np.where(keep, target, 0)
        index = self.index if self.index.dtype == np.intp else self.index.astype(np.intp)
        self.flat = row_starts(len(target), classes) + index

    def reduce(self, loss: np.ndarray, reduction: str, op: str) -> np.ndarray:
        """Per-row ``loss`` reduced; ignored rows count as 0 and the mean is over the others."""
        if self.keep is None:
            return _reduce(loss, reduction, op)
        loss = loss * self.keep
        if reduction != "mean":
            return _reduce(loss, reduction, op)
        if not self.count:  # every target ignored (or none): 0/0, as PyTorch gives
            return np.full((), np.nan, dtype=loss.dtype)
        return loss.sum() / self.count

    def row_weights(self, grad: Variable, reduction: str) -> Variable:
        """``row_grads`` of a Variable gradient, as recorded ops: shape (N,), or a scalar."""
        if reduction == "mean":
            grad = grad / max(len(self.rows) if self.keep is None else self.count, 1)
        return grad if self.keep is None else grad * self.keep

    def row_grads(self, grad: np.ndarray, reduction: str) -> np.ndarray:
        """The gradient of each row's loss (0 for ignored rows): shape (N,), or a scalar."""
        if self.keep is None:
            return _reduced_grad(grad, self.rows.shape, reduction)
        if reduction == "mean":
            grad = grad / max(self.count, 1)
        return grad * self.keep


def _setup(
    ctx: Any, op: str, scores: np.ndarray, target: Any, reduction: str, ignore_index: int
) -> tuple[_Classes, np.ndarray]:
    """Check the targets of a class loss and keep what backward needs on ``ctx``; return them
    with the scores as 2-D (N, C)."""
    check_reduction(reduction, op)
    ctx.shape, ctx.reduction = scores.shape, reduction
    target = np.asarray(target)
    if scores.ndim == 1:  # (C,) scores and a 0-d target: one row
        scores, target = scores[np.newaxis], target.reshape(-1)
    ctx.classes = classes = _Classes(op, scores, target, ignore_index)
    return classes, scores


class NllLoss(Function):
    """Negative log-likelihood of integer ``target`` classes under log-probabilities (N, C);
    targets equal to ``ignore_index`` add nothing (the mean is over the others)."""

    @staticmethod
    def forward(ctx, log_probs, target, reduction="mean", ignore_index=-100):
        classes, log_probs = _setup(ctx, "NllLoss", log_probs, target, reduction, ignore_index)
        loss = classes.reduce(-log_probs.take(classes.flat), reduction, "NllLoss")
        return loss.reshape(()) if len(ctx.shape) == 1 else loss

    @staticmethod
    def backward(ctx, grad):
        classes = ctx.classes
        out = np.zeros(len(classes.rows) * ctx.shape[-1], dtype=grad.dtype)
        out[classes.flat] = -classes.row_grads(grad, ctx.reduction)
        return out.reshape(ctx.shape), None  # none for the target and the options

    @staticmethod
    def backward_graph(ctx, grad, out):
        classes = ctx.classes
        rows = (len(classes.rows), ctx.shape[-1])
        weights = -classes.row_weights(grad, ctx.reduction)
        weights = weights.expand(rows[0]) if weights.shape != rows[:1] else weights
        picked = (classes.rows, classes.index)  # (each row's once: no place twice)
        return _shaped(put_in_zeros(rows, picked, weights), ctx.shape), None


class CrossEntropy(Function):
    """Cross-entropy of logits (N, C) and integer classes: log_softmax and the negative
    log-likelihood fused into one stable node, whose gradient is softmax minus one-hot.
    Targets equal to ``ignore_index`` add nothing (the mean is over the others)."""

    @staticmethod
    def forward(ctx, logits, target, reduction="mean", ignore_index=-100):
        classes, logits = _setup(ctx, "CrossEntropy", logits, target, reduction, ignore_index)
        shifted = logits - row_max(logits, 1)
        picked = shifted.take(classes.flat)
        exp = np.exp(shifted, out=shifted if shifted.dtype.kind == "f" else None)  # in place
        total = row_sum(exp, 1)
        ctx.save_for_backward(exp, total)
        # -log_softmax(logits)[rows, target], without the full log_softmax array
        loss = np.log(total[:, 0]) - picked
        loss = classes.reduce(loss, reduction, "CrossEntropy")
        return loss.reshape(()) if len(ctx.shape) == 1 else loss  # (C,) in: 0-d out (PyTorch)

    @staticmethod
    def backward(ctx, grad):
        exp, total = ctx.saved_tensors
        classes = ctx.classes
        out = exp / total  # softmax
        out.reshape(-1)[classes.flat] -= ONE[out.dtype]
        grad = classes.row_grads(grad, ctx.reduction)
        out *= grad[:, np.newaxis] if grad.ndim else grad
        return out.reshape(ctx.shape), None  # none for the target and the options

    @staticmethod
    def backward_graph(ctx, grad, out):
        classes = ctx.classes
        rows = _shaped(ctx.inputs[0], (len(classes.rows), ctx.shape[-1]))
        one_hot = np.zeros(rows.shape, grad.dtype)
        one_hot[classes.rows, classes.index] = 1
        weights = classes.row_weights(grad, ctx.reduction)
        weights = weights.unsqueeze(1) if weights.ndim else weights
        return _shaped((Softmax.apply(rows, 1) - one_hot) * weights, ctx.shape), None


def _shaped(v: Variable, shape: tuple[int, ...]) -> Variable:
    """``v`` reshaped to ``shape``, with no node when it has that shape already."""
    return v if v.shape == tuple(shape) else v.reshape(shape)


class MseLoss(Function):
    @staticmethod
    def forward(ctx, prediction, target, reduction="mean"):
        diff = _difference(prediction, target)
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        return _reduce(diff * diff, reduction, "MseLoss")

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        g = 2 * diff * _reduced_grad(grad, diff.shape, ctx.reduction)
        return g, (-g if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        prediction, target = ctx.inputs[:2]
        diff = prediction - target
        g = diff * 2 * (grad / max(diff.numel(), 1) if ctx.reduction == "mean" else grad)
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

    @staticmethod
    def backward_graph(ctx, grad, out):
        p, target = (constant(v) for v in ctx.inputs[:2])
        shape = np.broadcast_shapes(p.shape, target.shape)
        g = grad / max(math.prod(shape), 1) if ctx.reduction == "mean" else grad
        grad_p = g * (p - target) / (p * (1 - p)).clamp(min=1e-12)  # PyTorch's clamp
        grad_target = None
        if ctx.needs_input_grad[1]:
            grad_target = g * ((-p).log1p().clamp(min=-100) - p.log().clamp(min=-100))
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

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, target = ctx.inputs[:2]
        if ctx.reduction == "mean":
            grad = grad / max(math.prod(np.broadcast_shapes(x.shape, np.shape(target))), 1)
        grad_target = -grad * x if ctx.needs_input_grad[1] else None
        return (grad * (x.sigmoid() - target) if ctx.needs_input_grad[0] else None), grad_target


def _difference_graph(ctx: Any, grad: Variable) -> tuple[Variable, Variable]:
    """For a graph rule of a loss of ``input - target``: the difference, recorded, and each
    element's share of ``grad``."""
    prediction, target = ctx.inputs[:2]
    diff = constant(prediction) - target
    return diff, (grad / max(diff.numel(), 1) if ctx.reduction == "mean" else grad)


def constant(value: Any) -> Variable:
    """``value`` as a Variable: itself, or (an array, a number) a constant one."""
    return value if isinstance(value, Variable) else from_op(np.asarray(value), None)


def _both(ctx, grad_input: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The gradients of a loss of ``input - target``: ``grad_input`` and its negative."""
    return grad_input, (-grad_input if ctx.needs_input_grad[1] else None)


class L1Loss(Function):
    @staticmethod
    def forward(ctx, prediction, target, reduction="mean"):
        diff = _difference(prediction, target)
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        return _reduce(np.abs(diff), reduction, "L1Loss")

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        # sign(0) = 0, as in PyTorch
        return _both(ctx, np.sign(diff) * _reduced_grad(grad, diff.shape, ctx.reduction))

    @staticmethod
    def backward_graph(ctx, grad, out):
        diff, g = _difference_graph(ctx, grad)
        return _both(ctx, diff.sign() * g)  # (a recorded sign: zero second derivative)


class SmoothL1Loss(Function):
    """0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta (the L1 loss for beta = 0)."""

    @staticmethod
    def forward(ctx, prediction, target, reduction="mean", beta=1.0):
        diff = _difference(prediction, target)
        ctx.save_for_backward(diff)
        ctx.reduction, ctx.beta = reduction, beta
        size = np.abs(diff)
        if beta == 0:
            return _reduce(size, reduction, "SmoothL1Loss")
        return _reduce(
            np.where(size < beta, 0.5 * diff * diff / beta, size - 0.5 * beta),
            reduction,
            "SmoothL1Loss",
        )

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        g = _reduced_grad(grad, diff.shape, ctx.reduction)
        if ctx.beta == 0:
            return _both(ctx, np.sign(diff) * g)
        slope = np.where(np.abs(diff) < ctx.beta, diff / ctx.beta, np.sign(diff))
        return _both(ctx, slope * g)

    @staticmethod
    def backward_graph(ctx, grad, out):
        diff, g = _difference_graph(ctx, grad)
        if ctx.beta == 0:
            return _both(ctx, diff.sign() * g)
        inside = np.abs(diff._data) < ctx.beta
        return _both(ctx, Where.apply(inside, diff / ctx.beta, diff.sign()) * g)


class HuberLoss(Function):
    """0.5 d**2 where |d| < delta, else delta * (|d| - 0.5 delta)."""

    @staticmethod
    def forward(ctx, prediction, target, reduction="mean", delta=1.0):
        diff = _difference(prediction, target)
        ctx.save_for_backward(diff)
        ctx.reduction, ctx.delta = reduction, delta
        size = np.abs(diff)
        loss = np.where(size < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
        return _reduce(loss, reduction, "HuberLoss")

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        g = _reduced_grad(grad, diff.shape, ctx.reduction)
        slope = np.clip(diff, -ctx.delta, ctx.delta)
        return _both(ctx, slope * g)

    @staticmethod
    def backward_graph(ctx, grad, out):
        diff, g = _difference_graph(ctx, grad)
        return _both(ctx, diff.clamp(-ctx.delta, ctx.delta) * g)


class KlDiv(Function):
    """KL divergence of log-probabilities ``input`` from ``target`` (probabilities, or
    log-probabilities with ``log_target``): target * (log(target) - input), 0 where target = 0.
    ``batchmean`` divides the sum by the batch size."""

    @staticmethod
    def forward(ctx, input, target, reduction="mean", log_target=False):
        ctx.save_for_backward(input, target)
        ctx.reduction, ctx.log_target = reduction, log_target
        if log_target:
            loss = np.exp(target) * (target - input)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                loss = np.where(target > 0, target * np.log(target), 0) - target * input
            loss = loss.astype(np.result_type(input, target), copy=False)
        if reduction == "batchmean":
            return loss.sum() / (input.shape[0] if input.ndim else 1)
        return _reduce(loss, reduction, "KlDiv")

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        shape = np.broadcast_shapes(np.shape(input), np.shape(target))
        if ctx.reduction == "batchmean":
            g = grad / (input.shape[0] if input.ndim else 1)
        else:
            g = _reduced_grad(grad, shape, ctx.reduction)
        weight = np.exp(target) if ctx.log_target else target
        grad_target = None
        if ctx.needs_input_grad[1]:
            if ctx.log_target:
                grad_target = g * weight * (target - input + 1)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    grad_target = g * (np.log(target) + 1 - input)
        return -g * weight, grad_target

    @staticmethod
    def backward_graph(ctx, grad, out):
        input, target = (constant(v) for v in ctx.inputs[:2])
        if ctx.reduction == "batchmean":
            g = grad / (input.shape[0] if input.ndim else 1)
        elif ctx.reduction == "mean":
            g = grad / max(math.prod(np.broadcast_shapes(input.shape, target.shape)), 1)
        else:
            g = grad
        weight = target.exp() if ctx.log_target else target
        grad_target = None
        if ctx.needs_input_grad[1]:
            if ctx.log_target:
                grad_target = g * weight * (target - input + 1)
            else:
                grad_target = g * (target.log() + 1 - input)
        return -g * weight, grad_target


class CosineSimilarity(Function):
    """x1 . x2 / (max(|x1|, eps) * max(|x2|, eps)) along ``axis``. As in PyTorch, the clamp
    is outside the gradient: the norms' derivatives are x / |x| even below eps."""

    @staticmethod
    def forward(ctx, x1, x2, axis=1, eps=1e-8):
        x1, x2 = np.broadcast_arrays(x1, x2)
        norm1 = np.sqrt((x1 * x1).sum(axis=axis, keepdims=True))
        norm2 = np.sqrt((x2 * x2).sum(axis=axis, keepdims=True))
        c1, c2 = np.maximum(norm1, eps), np.maximum(norm2, eps)
        out = ((x1 / c1) * (x2 / c2)).sum(axis=axis, keepdims=True)
        # the inputs' statistics, not the output: PyTorch's output is free to be written in
        # place (SimCLR's cos_sim.masked_fill_(self_mask, -9e15)); backward recomputes it
        ctx.save_for_backward(x1, x2, norm1, norm2, c1, c2)
        ctx.axis = axis
        return out.squeeze(axis)

    @staticmethod
    def backward(ctx, grad):
        x1, x2, norm1, norm2, c1, c2 = ctx.saved_tensors
        out = ((x1 / c1) * (x2 / c2)).sum(axis=ctx.axis, keepdims=True)
        g = np.expand_dims(grad, ctx.axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            unit1 = np.where(norm1 > 0, x1 / norm1, 0)
            unit2 = np.where(norm2 > 0, x2 / norm2, 0)
        grad1 = g * (x2 / (c1 * c2) - out / c1 * unit1)
        grad2 = g * (x1 / (c1 * c2) - out / c2 * unit2) if ctx.needs_input_grad[1] else None
        return grad1, grad2

    @staticmethod
    def backward_graph(ctx, grad, out):
        x1, x2 = (constant(v) for v in ctx.inputs[:2])
        axis, eps = ctx.axis, ctx.inputs[3]
        shape = np.broadcast_shapes(x1.shape, x2.shape)
        x1, x2 = (v if v.shape == shape else v.expand(*shape) for v in (x1, x2))
        norms = [(v * v).sum(axis, keepdim=True).sqrt() for v in (x1, x2)]
        c1, c2 = (n.clamp(min=eps) for n in norms)
        # x / |x|, 0 where |x| = 0 (x is 0 there: divide by 1)
        unit1, unit2 = (
            v / Where.apply(n._data > 0, n, np.ones((), n.dtype))
            for v, n in zip((x1, x2), norms, strict=True)
        )
        g, cos = grad.unsqueeze(axis), ((x1 / c1) * (x2 / c2)).sum(axis, keepdim=True)
        grad1 = g * (x2 / (c1 * c2) - cos / c1 * unit1) if ctx.needs_input_grad[0] else None
        grad2 = g * (x1 / (c1 * c2) - cos / c2 * unit2) if ctx.needs_input_grad[1] else None
        return grad1, grad2
