"""Ranking, embedding, likelihood and margin losses of ``nn.functional`` with PyTorch's names,
options and formulas (re-exported by ``functional``): ``margin_ranking_loss``,
``cosine_embedding_loss``, ``triplet_margin_loss`` (and ``_with_distance_loss``),
``hinge_embedding_loss``, ``gaussian_nll_loss``, ``poisson_nll_loss``, ``soft_margin_loss``,
``multilabel_soft_margin_loss`` and ``multi_margin_loss``.

Each is built of ops as PyTorch builds it (differences, clamps, wheres, sums), so the graph
shows where each term enters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd import ops
from gradviz.autograd.errors import ArgumentError, InputError, ShapeError
from gradviz.autograd.functional_acts import _number, pairwise_distance
from gradviz.autograd.functional_losses import _reduction
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.variable import Variable, as_array

#: cosine_embedding_loss's guard against a zero vector (PyTorch's EPSILON)
_EPSILON = 1e-12


def _reduce(loss: Variable, reduction: str) -> Variable:
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


def _checked(op: str, size_average: Any, reduce: Any, reduction: Any) -> str:
    """The reduction; PyTorch's deprecated ``size_average`` and ``reduce`` are refused."""
    if not isinstance(reduction, str):  # (an array would fail `in` with NumPy's error)
        raise ArgumentError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if size_average is not None or reduce is not None:
        raise ArgumentError(
            f"{op}: size_average and reduce are not supported, pass reduction ('mean', 'sum' "
            "or 'none') instead"
        )
    return _reduction(op, reduction)


def _operand(value: Any) -> Variable | np.ndarray:
    """A Variable as it is, anything else as an array (a target takes no gradient)."""
    return value if isinstance(value, Variable) else as_array(value)


def _values(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Variable) else as_array(value)


def _broadcast(op: str, **shapes: tuple[int, ...]) -> None:
    """A ShapeError naming ``op`` and its arguments when their ``shapes`` do not broadcast
    (rather than NumPy's error in an op inside the loss)."""
    try:
        np.broadcast_shapes(*shapes.values())
    except ValueError:
        named = [f"{name} {shape}" for name, shape in shapes.items()]
        listed = ", ".join(named[:-1]) + f" and {named[-1]}"
        raise ShapeError(f"{op}: the shapes of {listed} do not broadcast") from None


def margin_ranking_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Variable:
    """``max(0, -target * (input1 - input2) + margin)``: ``target`` (1 or -1) says which
    input should rank higher."""
    reduction = _checked("margin_ranking_loss", size_average, reduce, reduction)
    x1 = as_input(input1, "margin_ranking_loss")
    x2, target = _operand(input2), _operand(target)
    if not x1.ndim == np.ndim(x2) == np.ndim(target):
        raise ShapeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {x1.shape}, input2: {np.shape(x2)}, target: {np.shape(target)}"
        )
    _broadcast("margin_ranking_loss", input1=x1.shape, input2=np.shape(x2), target=np.shape(target))
    loss = ((x1 - x2) * -target + margin).clamp(min=0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(
    input: Any,
    target: Any,
    margin: float = 1.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Variable:
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1."""
    reduction = _checked("hinge_embedding_loss", size_average, reduce, reduction)
    x = as_input(input, "hinge_embedding_loss")
    labels = _values(target)
    _broadcast("hinge_embedding_loss", input=x.shape, target=labels.shape)
    outside = ops.where(labels != 1, (margin - x).clamp(min=0), 0.0)
    loss = outside + ops.where(labels != -1, x, 0.0)
    return _reduce(loss, reduction)


def cosine_embedding_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Variable:
    """``1 - cos(x1, x2)`` where ``target`` is 1, ``max(0, cos(x1, x2) - margin)`` where it
    is -1, the cosine along the last dim of (N, D) or (D,) inputs."""
    reduction = _checked("cosine_embedding_loss", size_average, reduce, reduction)
    x1, x2 = as_input(input1, "cosine_embedding_loss"), as_input(input2, "cosine_embedding_loss")
    labels = _values(target)
    if labels.ndim > 1:
        raise ShapeError("0D or 1D target tensor expected, multi-target not supported")
    if not x1.ndim == x2.ndim == labels.ndim + 1:
        raise ShapeError(
            f"{labels.ndim}D target tensor expects {labels.ndim + 1}D input tensors, but found "
            f"inputs with sizes {list(x1.shape)} and {list(x2.shape)}."
        )
    _broadcast("cosine_embedding_loss", input1=x1.shape, input2=x2.shape)
    rows = np.broadcast_shapes(x1.shape, x2.shape)[:-1]
    _broadcast("cosine_embedding_loss", **{"the inputs' rows": rows, "target": labels.shape})
    dim = labels.ndim
    product = (x1 * x2).sum(dim)
    norms = ((x1 * x1).sum(dim) + _EPSILON) * ((x2 * x2).sum(dim) + _EPSILON)
    cos = product / norms.sqrt()
    loss = ops.where(labels == 1, 1 - cos, 0.0) + ops.where(
        labels == -1, (cos - margin).clamp(min=0), 0.0
    )
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Variable:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with ``d`` the
    pairwise p-distance; ``swap`` takes the smaller of ``d(anchor, negative)`` and
    ``d(positive, negative)``."""
    reduction = _checked("triplet_margin_loss", size_average, reduce, reduction)
    if _number(margin, "triplet_margin_loss", "margin") <= 0:
        raise ArgumentError(f"margin must be greater than 0, got {margin}")
    a = as_input(anchor, "triplet_margin_loss")
    pos, neg = as_input(positive, "triplet_margin_loss"), as_input(negative, "triplet_margin_loss")
    if not a.ndim == pos.ndim == neg.ndim:
        raise ShapeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {a.ndim}D, positive {pos.ndim}D, and negative "
            f"{neg.ndim}D inputs"
        )
    _broadcast("triplet_margin_loss", anchor=a.shape, positive=pos.shape, negative=neg.shape)
    near = pairwise_distance(a, pos, p, eps)
    far = pairwise_distance(a, neg, p, eps)
    if swap:
        far = ops.binary(ops.Minimum, far, pairwise_distance(pos, neg, p, eps))
    loss = (near - far + margin).clamp(min=0)
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    *,
    distance_function: Callable[[Any, Any], Any] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Variable:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with ``d`` your
    ``distance_function`` of two batches (``pairwise_distance`` when None); ``swap`` takes
    the smaller of ``d(anchor, negative)`` and ``d(positive, negative)``."""
    op = "triplet_margin_with_distance_loss"
    reduction = _checked(op, None, None, reduction)
    if _number(margin, op, "margin") <= 0:
        raise ArgumentError(f"margin must be greater than 0, got {margin}")
    a, pos, neg = (as_input(x, op) for x in (anchor, positive, negative))
    if not a.ndim == pos.ndim == neg.ndim:
        raise ShapeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {a.ndim}D, positive {pos.ndim}D, and negative "
            f"{neg.ndim}D inputs"
        )
    distance = pairwise_distance if distance_function is None else distance_function
    near, far = distance(a, pos), distance(a, neg)
    if swap:
        far = ops.binary(ops.Minimum, far, distance(pos, neg))
    loss = (margin + near - far).clamp(min=0)
    return _reduce(loss, reduction)


def _variance(x: Variable, var: Any) -> Variable | np.ndarray:
    """``var`` checked (no negative entry) and shaped against the input as PyTorch's
    ``gaussian_nll_loss`` takes it: the input's shape, one dim short, or one dim of 1."""
    if isinstance(var, int | float) and not isinstance(var, bool):
        if var < 0:
            raise ArgumentError("var has negative entry/entries")
        return np.full(x.shape, var, x.dtype)
    var = _operand(var)
    if np.any(_values(var) < 0):
        raise ArgumentError("var has negative entry/entries")
    shape, given = x.shape, tuple(np.shape(var))
    if given == shape:
        return var
    if given == shape[:-1]:
        return var.reshape(*given, 1)
    mismatched = [v for s, v in zip(shape, given, strict=False) if s != v]
    if len(given) != len(shape) or sum(mismatched) != 1:
        raise ShapeError(
            f"var is of incorrect size: {given} for input {shape} (the input's shape, that "
            "shape without its last dim, or with one dim of 1)"
        )
    return var


def gaussian_nll_loss(
    input: Any,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Variable:
    """``0.5 * (log(var) + (input - target)**2 / var)`` (plus ``0.5 * log(2 pi)`` when
    ``full``), ``var`` clamped at ``eps`` (the clamp passes the gradient unchanged, as
    PyTorch's, which clamps under no_grad)."""
    x = as_input(input, "gaussian_nll_loss")
    var = _variance(x, var)
    reduction = _checked("gaussian_nll_loss", None, None, reduction)
    values = _values(var)
    if np.any(values < eps):  # raise the small variances to eps, outside the gradient
        raised = np.maximum(values, eps) - values
        var = var + raised if isinstance(var, Variable) else values + raised
    loss = ((x - _operand(target)) ** 2 / var + ops.Log.apply(as_input(var, "log"))) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Any,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: Any = None,
    eps: float = 1e-8,
    reduce: Any = None,
    reduction: str = "mean",
) -> Variable:
    """``exp(input) - target * input`` (``log_input``), else ``input - target * log(input +
    eps)``; ``full`` adds Stirling's term ``t log t - t + 0.5 log(2 pi t)`` where ``t > 1``."""
    reduction = _checked("poisson_nll_loss", size_average, reduce, reduction)
    x = as_input(input, "poisson_nll_loss")
    target = _operand(target)
    if log_input:
        loss = x.exp() - x * target
    else:
        loss = x - (x + eps).log() * target
    if full:
        t = as_input(target, "poisson_nll_loss")
        with np.errstate(divide="ignore", invalid="ignore"):  # t <= 1 is masked out
            stirling = t * t.log() - t + (t * (2 * math.pi)).log() * 0.5
        loss = loss + stirling.masked_fill(_values(target) <= 1, 0)
    return _reduce(loss, reduction)


def soft_margin_loss(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Variable:
    """``log(1 + exp(-target * input))``, the logistic loss of labels 1 and -1 (a
    ``Softplus`` node: stable where ``exp`` would overflow)."""
    reduction = _checked("soft_margin_loss", size_average, reduce, reduction)
    x = as_input(input, "soft_margin_loss")
    target = _operand(target)
    _broadcast("soft_margin_loss", input=x.shape, target=np.shape(target))
    if not (isinstance(target, Variable) and target.requires_grad):  # the input's dtype
        target = _values(target).astype(x.dtype, copy=False)
    loss = ops.Softplus.apply(-(x * target), 1.0, 20.0)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Variable:
    """The mean over the classes (last dim) of each class's binary cross-entropy of logits,
    ``weight`` per class."""
    reduction = _checked("multilabel_soft_margin_loss", size_average, reduce, reduction)
    x = as_input(input, "multilabel_soft_margin_loss")
    target = _operand(target)
    shapes = {"input": x.shape, "target": np.shape(target)}
    if weight is not None:
        weight = _operand(weight)
        shapes["weight"] = np.shape(weight)
    _broadcast("multilabel_soft_margin_loss", **shapes)
    loss = -(ops.LogSigmoid.apply(x) * target + ops.LogSigmoid.apply(-x) * (1 - target))
    if weight is not None:
        loss = loss * weight
    classes = x.shape[-1] if x.ndim else 1
    with np.errstate(invalid="ignore"):  # no class: 0 / 0, NaN (as PyTorch's)
        loss = loss.sum(x.ndim - 1 if x.ndim else None) / classes
    return _reduce(loss, reduction)


def multi_margin_loss(
    input: Any,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Variable:
    """The multi-class hinge loss of scores (N, C) or (C,) and class indices: per sample,
    ``sum over i != y of max(0, margin - x[y] + x[i]) ** p * weight[y] / C``."""
    reduction = _checked("multi_margin_loss", size_average, reduce, reduction)
    if p not in (1, 2):
        raise ArgumentError("only p == 1 and p == 2 supported")
    x = as_input(input, "multi_margin_loss")
    labels = _values(target)
    rows, classes, factor = _margin_rows(x, labels, weight)
    picked = rows.gather(1, labels.reshape(-1, 1).astype(np.int64))  # x[y], one per row
    z = (rows - picked + margin).relu()  # 0 at z = 0, as PyTorch's z > 0
    loss = ((z * z if p == 2 else z) * factor).sum(1) / classes
    if reduction == "none":
        return loss.reshape(labels.shape)
    return _reduce(loss, reduction)


def _margin_rows(x: Variable, labels: np.ndarray, weight: Any) -> tuple[Variable, int, Any]:
    """``multi_margin_loss``'s checked inputs: the scores as rows (N, C), C, and the factor of
    each term (0 for the target's own class, else the target's weight)."""
    if not ((x.size > 0 and x.ndim <= 2) or (x.ndim == 2 and x.shape[1] > 0)):
        raise ShapeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(x.shape)}"
        )
    frames, classes = (x.shape[0], x.shape[1]) if x.ndim == 2 else (1, max(x.size, 1))
    if labels.ndim > 1 or labels.size != frames:
        raise ShapeError(
            f"inconsistent target size, expected {frames} but got {list(labels.shape)}"
        )
    if labels.dtype.kind not in "iu":
        raise InputError(f"multi_margin_loss: expected integer class indices, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise InputError(f"target out of range (classes 0 to {classes - 1}, got {labels})")
    flat = labels.reshape(-1)
    factor = np.ones((frames, classes), x.dtype)
    factor[np.arange(frames), flat] = 0
    if weight is not None:
        w = _values(weight)
        if w.ndim != 1:
            raise ArgumentError("weight must be one-dimensional")
        if w.size != classes:
            raise ShapeError(
                f"inconsistent weight size, expected {classes} but got {list(w.shape)}"
            )
        factor *= w[flat].astype(x.dtype)[:, None]
    rows = x if x.shape == (frames, classes) else x.reshape(frames, classes)
    return rows, classes, factor
