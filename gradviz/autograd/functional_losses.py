"""The class and binary losses of ``nn.functional`` with PyTorch's signatures: per-class
``weight``, ``label_smoothing``, ``pos_weight``, K-dimensional class targets (re-exported by
``functional``).

Without the options each is one fused op (``CrossEntropy``, ``NllLoss`` ...); with them, the
same formulas as PyTorch's, composed of ops, so their gradients come from the ops' rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import ops
from gradviz.autograd.errors import ArgumentError, IndexRangeError, InputError, ShapeError
from gradviz.autograd.ops import losses
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.variable import Variable, as_array


def _legacy(size_average: Any, reduce: Any, op: str) -> None:
    """The deprecated ``size_average`` and ``reduce``: None only."""
    if size_average is not None or reduce is not None:
        raise ArgumentError(
            f"{op}: size_average and reduce are not supported, pass reduction ('mean', 'sum' "
            "or 'none') instead"
        )


def cross_entropy(
    input: Variable,
    target: Any,
    weight: Any = None,
    size_average: None = None,
    ignore_index: int = -100,
    reduce: None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Variable:
    """Cross-entropy of logits ``(N, C)`` (or ``(C,)``, or ``(N, C, d1, ...)``) against
    integer classes or class probabilities, as PyTorch's: ``weight`` scales each class,
    ``label_smoothing`` mixes in the uniform distribution; class targets equal to
    ``ignore_index`` add nothing and the mean is over the others (their weights)."""
    _legacy(size_average, reduce, "cross_entropy")
    losses.check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise InputError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    input = input if isinstance(input, Variable) else as_input(input, "cross_entropy")
    target_array = as_array(target)
    if target_array.dtype.kind != "f":
        return class_loss(
            ops.CrossEntropy, input, target, reduction, ignore_index, weight, label_smoothing
        )
    if target_array.shape != input.shape:  # PyTorch: only probabilities may be float
        raise InputError(
            f"cross_entropy: expected target dtype to be Long (class indices) for a target of "
            f"shape {target_array.shape}, but got {target_array.dtype}; class probabilities "
            f"must have the input's shape {input.shape}"
        )
    axis = 0 if input.ndim == 1 else 1
    log_probs = ops.LogSoftmax.apply(input, axis)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / input.shape[axis]
    product = log_probs * target
    if weight is not None:
        product = product * _class_weights(weight, input, axis)
    loss = -product.sum(axis)
    return loss if reduction == "none" else loss.mean() if reduction == "mean" else loss.sum()


def nll_loss(
    input: Variable,
    target: Any,
    weight: Any = None,
    size_average: None = None,
    ignore_index: int = -100,
    reduce: None = None,
    reduction: str = "mean",
) -> Variable:
    """Negative log-likelihood of integer classes under log-probabilities ``(N, C)``;
    ``weight`` scales each class, and targets equal to ``ignore_index`` add nothing."""
    _legacy(size_average, reduce, "nll_loss")
    input = as_input(input, "nll_loss")
    return class_loss(ops.NllLoss, input, target, reduction, ignore_index, weight, 0.0)


def _class_weights(weight: Any, input: Variable, axis: int) -> np.ndarray:
    """``weight`` (C,) as an array that broadcasts along the class ``axis`` of ``input``."""
    w = as_array(weight).astype(input.dtype, copy=False)
    classes = input.shape[axis]
    if w.shape != (classes,):
        raise ShapeError(
            f"weight tensor should be defined either for all {classes} classes or no classes "
            f"but got weight tensor of shape: {list(w.shape)}"
        )
    return w.reshape((classes,) + (1,) * (input.ndim - axis - 1))


def class_loss(
    op: type[ops.Function],
    input: Variable,
    target: Any,
    reduction: str,
    ignore_index: int,
    weight: Any = None,
    label_smoothing: float = 0.0,
) -> Variable:
    """``op`` (``CrossEntropy``, ``NllLoss``) of integer class targets; scores of shape
    ``(N, C, d1, ...)`` against targets ``(N, d1, ...)`` (PyTorch's K-dimensional form) are
    its rows ``(N * d1 * ..., C)``; a weight or label smoothing composes PyTorch's formula."""
    plain = weight is None and not label_smoothing
    if input.ndim <= 2 and plain:
        return op.apply(input, target, reduction, ignore_index)
    losses.check_reduction(reduction, op.__name__)
    target_shape = tuple(as_array(target).shape)
    if input.ndim > 2:
        expected = (input.shape[0], *input.shape[2:])
        if target_shape != expected:
            raise ShapeError(
                f"{op.__name__}: expected target of shape {expected} for input {input.shape}, "
                f"got {target_shape}"
            )
        rows = input.permute(0, *range(2, input.ndim), 1).reshape(-1, input.shape[1])
        flat = target.reshape(-1) if isinstance(target, Variable) else as_array(target).ravel()
    else:
        rows, flat = input, target
    if plain:
        loss = op.apply(rows, flat, reduction, ignore_index)
    else:
        if rows.ndim == 1:  # one sample (C,) and a 0-d target
            rows, flat = rows.reshape(1, -1), as_array(flat).reshape(1)
        log_probs = ops.LogSoftmax.apply(rows, 1) if op is ops.CrossEntropy else rows
        loss = _weighted(
            log_probs, as_array(flat), weight, reduction, ignore_index, label_smoothing
        )
        if input.ndim == 1 and reduction == "none":
            return loss.reshape(())
    return loss.reshape(target_shape) if reduction == "none" and input.ndim > 2 else loss


def _weighted(
    log_probs: Variable,
    target: np.ndarray,
    weight: Any,
    reduction: str,
    ignore_index: int,
    smoothing: float,
) -> Variable:
    """PyTorch's NLL of rows ``(M, C)`` with class weights and label smoothing: the mean is
    divided by the weights of the targets that count."""
    if target.dtype.kind not in "iu":
        raise InputError(f"expected target dtype to be Long, but got {target.dtype}")
    if target.shape != log_probs.shape[:1]:
        raise ShapeError(
            f"expected target of shape {log_probs.shape[:1]} for input {log_probs.shape}, "
            f"got {target.shape}"
        )
    classes = log_probs.shape[1]
    w = (
        np.ones(classes, log_probs.dtype)
        if weight is None
        else _class_weights(weight, log_probs, 1)
    )
    keep = target != ignore_index
    if np.any(keep & ((target < 0) | (target >= classes))):
        bad = target[keep & ((target < 0) | (target >= classes))][0]
        raise IndexRangeError(f"Target {bad} is out of bounds for {classes} classes")
    safe = np.where(keep, target, 0)
    row_weight = w[safe] * keep
    picked = log_probs.gather(1, Variable(safe[:, np.newaxis])).reshape(-1)
    nll = -picked * Variable(row_weight.astype(log_probs.dtype))
    smooth = -(log_probs * Variable(w)).sum(1) * Variable(keep.astype(log_probs.dtype))
    if reduction == "none":
        total_nll, total_smooth = nll, smooth
    else:
        total_nll, total_smooth = nll.sum(), smooth.sum()
        if reduction == "mean":
            denominator = float(row_weight.sum())
            total_nll = total_nll / denominator
            total_smooth = total_smooth / denominator
    if not smoothing:
        return total_nll
    return total_nll * (1 - smoothing) + total_smooth * (smoothing / classes)


def binary_cross_entropy(
    input: Variable,
    target: Any,
    weight: Any = None,
    size_average: None = None,
    reduce: None = None,
    reduction: str = "mean",
) -> Variable:
    """BCE of probabilities in [0, 1]; logs are clamped at -100 as in PyTorch; ``weight``
    (broadcast to the input) scales each element's loss."""
    _legacy(size_average, reduce, "binary_cross_entropy")
    input = as_input(input, "binary_cross_entropy")
    check_binary_target("binary_cross_entropy", input, target)
    for name, values in (("input", input._data), ("target", as_array(target))):
        # NaN fails both comparisons, so it is rejected too (as PyTorch does)
        if values.size and not (values.min() >= 0 and values.max() <= 1):
            hint = " (pass logits to binary_cross_entropy_with_logits)" if name == "input" else ""
            bad = values[~((values >= 0) & (values <= 1))].flat[0]
            raise InputError(
                f"binary_cross_entropy: all elements of {name} should be between 0 and 1, "
                f"got {bad}{hint}"
            )
    if weight is None:
        return ops.BinaryCrossEntropy.apply(input, target, reduction)
    losses.check_reduction(reduction, "binary_cross_entropy")
    loss = ops.BinaryCrossEntropy.apply(input, target, "none") * weight
    return _reduced(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Variable,
    target: Any,
    weight: Any = None,
    size_average: None = None,
    reduce: None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Variable:
    """BCE of logits, fused with the sigmoid so any logit is stable; ``weight`` scales each
    element's loss and ``pos_weight`` (per class, the last dim) the positive term's."""
    _legacy(size_average, reduce, "binary_cross_entropy_with_logits")
    input = as_input(input, "binary_cross_entropy_with_logits")
    check_binary_target("binary_cross_entropy_with_logits", input, target)
    if weight is None and pos_weight is None:
        return ops.BinaryCrossEntropyWithLogits.apply(input, target, reduction)
    losses.check_reduction(reduction, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        loss = ops.BinaryCrossEntropyWithLogits.apply(input, target, "none")
    else:  # -(p * y * log sigmoid(x) + (1 - y) * log sigmoid(-x)), each term stable
        positive = ops.LogSigmoid.apply(input) * target * pos_weight
        loss = -(positive + ops.LogSigmoid.apply(-input) * (1 - as_array(target)))
    if weight is not None:
        loss = loss * weight
    return _reduced(loss, reduction)


def _reduced(loss: Variable, reduction: str) -> Variable:
    return loss if reduction == "none" else loss.mean() if reduction == "mean" else loss.sum()


def check_binary_target(name: str, input: Variable, target: Any) -> None:
    """PyTorch's binary cross-entropies take a float target of the input's shape."""
    target = as_array(target)
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(
            f"{name}: Using a target size ({tuple(target.shape)}) that is different to the "
            f"input size ({tuple(input.shape)}) is deprecated. Please ensure they have the "
            "same size."
        )
    if target.dtype.kind != "f":
        raise InputError(f"{name}: Found dtype {target.dtype} but expected a floating target")
