"""The class, binary and regression losses of ``nn.functional`` with PyTorch's options
(re-exported by ``functional``): ``cross_entropy`` and ``nll_loss`` (``weight``, ``ignore_index``,
``label_smoothing``, targets of any number of dims ``(N, d1, ...)``), ``binary_cross_entropy``
(``weight``) and ``binary_cross_entropy_with_logits`` (``weight``, ``pos_weight``); the
regression losses ``mse_loss``, ``l1_loss``, ``smooth_l1_loss``, ``huber_loss`` and ``kl_div``.

The usual call is one fused op; the options are built of ops (log_softmax, indexing, sums), so
their graph shows where each factor enters.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gradviz.autograd import ops
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.ops.losses import _Classes
from gradviz.autograd.variable import Variable, as_array

_REDUCTIONS = ("mean", "sum", "none")


def weight_or_reduction(value: Any, weight: Any) -> tuple[str, Any]:
    """``(reduction, weight)`` of a loss called with PyTorch's third positional argument, the
    class ``weight`` (``F.cross_entropy(x, y, w)``, ``nn.CrossEntropyLoss(w)``), or with
    gradviz's, the ``reduction``."""
    if isinstance(value, str):
        return value, weight
    if value is None or isinstance(value, Variable | np.ndarray | list | tuple):
        if weight is not None and value is not None:
            raise ArgumentError("the loss got its weight twice: positionally and as weight=")
        return "mean", value
    raise ArgumentError(f"reduction must be 'mean', 'sum' or 'none', got {value!r}")


def _reduction(op: str, reduction: Any) -> str:
    if reduction not in _REDUCTIONS:
        raise ArgumentError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _class_weight(op: str, weight: Any, classes: int) -> np.ndarray | None:
    if weight is None:
        return None
    array = as_array(weight)
    if array.shape != (classes,):
        raise ShapeError(
            f"{op}: weight tensor should be defined either for all {classes} classes or no "
            f"classes but got weight tensor of shape: {array.shape}"
        )
    if array.dtype.kind != "f":
        raise OperandError(f"{op}: weight must be floating point, got {array.dtype}")
    return array


def _smoothing(op: str, label_smoothing: Any) -> float:
    if isinstance(label_smoothing, bool) or not 0.0 <= float(label_smoothing) <= 1.0:
        raise InputError(  # (an ArgumentError, and PyTorch's RuntimeError)
            f"{op}: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing!r}"
        )
    return float(label_smoothing)


def _rows(op: str, input: Variable, target: np.ndarray) -> tuple[Variable, np.ndarray, tuple]:
    """Scores ``(N, C, d1, ...)`` as rows ``(N*d1*..., C)`` and the target ``(N, d1, ...)``
    as ``(N*d1*...,)``; returns them with the shape of an unreduced loss."""
    if input.ndim <= 2:
        expected = input.shape[:1] if input.ndim == 2 else ()
        if target.shape != expected:  # (a RuntimeError, as PyTorch's)
            raise ShapeError(f"{op}: expected target size {expected}, got {target.shape}")
        return input, target, expected
    expected = (input.shape[0], *input.shape[2:])
    if target.shape != expected:
        raise ShapeError(f"{op}: expected target size {expected}, got {target.shape}")
    moved = input.permute(0, *range(2, input.ndim), 1)
    return moved.reshape(-1, input.shape[1]), target.reshape(-1), expected


def _class_loss(
    op: str,
    log_probs: Variable,
    target: np.ndarray,
    weight: np.ndarray | None,
    reduction: str,
    ignore_index: int,
    smoothing: float,
) -> Variable:
    """The weighted, smoothed negative log-likelihood of rows ``(M, C)`` of log-probabilities,
    as PyTorch computes it: a mean divides by the summed weight of the targets counted."""
    rows = log_probs if log_probs.ndim == 2 else log_probs.reshape(1, -1)
    classes = _Classes(op, rows._data, target.reshape(-1), ignore_index)
    count = None if classes.keep is None else classes.keep.astype(rows.dtype)
    factor = count
    if weight is not None:
        picked = weight[classes.index].astype(rows.dtype)
        factor = picked if count is None else picked * count
    loss = -rows[classes.rows, classes.index]
    if factor is not None:  # (no factors of 1: each one would be a node of the graph)
        loss = loss * factor
    if smoothing:
        smooth = -(rows if weight is None else rows * weight.astype(rows.dtype)).sum(1)
        if count is not None:
            smooth = smooth * count
        loss = loss * (1 - smoothing) + smooth * (smoothing / rows.shape[1])
    if reduction == "none":
        return loss.reshape(target.shape)
    total = loss.sum()
    if reduction == "sum":
        return total
    with np.errstate(divide="ignore", invalid="ignore"):  # every target ignored: NaN
        return total / (len(classes.rows) if factor is None else factor.sum())


def cross_entropy(
    input: Variable,
    target: Any,
    reduction: Any = "mean",
    ignore_index: int = -100,
    *,
    weight: Any = None,
    label_smoothing: float = 0.0,
) -> Variable:
    """Cross-entropy of logits ``(N, C)`` (or ``(C,)``, or ``(N, C, d1, ...)``) against
    integer classes ``(N,)`` (``(N, d1, ...)``), or against class probabilities of the
    input's shape, as PyTorch's: ``weight`` per class, ``ignore_index``, ``label_smoothing``.

    Class targets equal to ``ignore_index`` add nothing and the mean is over the others (NaN
    when all are ignored); other targets outside ``[0, C)`` raise IndexError. A third
    positional argument that is not a string is the ``weight``, as in PyTorch.
    """
    classes_of = target._data if isinstance(target, Variable) else target
    if (  # the usual call: one fused node, its default options left out (apply's quick path)
        type(reduction) is str
        and reduction == "mean"
        and type(ignore_index) is int
        and ignore_index == -100
        and weight is None
        and type(label_smoothing) is float
        and not label_smoothing
        and type(classes_of) is np.ndarray
        and classes_of.dtype.kind in "iu"
        and isinstance(input, Variable)
        and input._data.ndim == 2
    ):
        return ops.CrossEntropy.apply(input, target)
    reduction, weight = weight_or_reduction(reduction, weight)
    reduction = _reduction("cross_entropy", reduction)
    input = input if isinstance(input, Variable) else as_input(input, "cross_entropy")
    smoothing = _smoothing("cross_entropy", label_smoothing)
    target_array = as_array(target)
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim] if input.ndim else 0
    weight = _class_weight("cross_entropy", weight, classes)
    if target_array.dtype.kind != "f":
        if weight is None and not smoothing and input.ndim <= 2:
            return ops.CrossEntropy.apply(input, target, reduction, ignore_index)
        rows, flat, shape = _rows("CrossEntropy", input, target_array)
        log_probs = ops.LogSoftmax.apply(rows, rows.ndim - 1)
        return _class_loss(
            "CrossEntropy",
            log_probs,
            flat.reshape(shape),
            weight,
            reduction,
            ignore_index,
            smoothing,
        )
    if target_array.shape != input.shape:  # PyTorch: only probabilities may be float
        raise InputError(
            f"cross_entropy: expected target dtype to be Long (class indices) for a target of "
            f"shape {target_array.shape}, but got {target_array.dtype}; class probabilities "
            f"must have the input's shape {input.shape}"
        )
    if smoothing:
        target = (target if isinstance(target, Variable) else target_array) * (1 - smoothing)
        target = target + smoothing / classes
    terms = ops.LogSoftmax.apply(input, class_dim) * target
    if weight is not None:
        terms = terms * weight.reshape((classes,) + (1,) * (input.ndim - class_dim - 1))
    loss = -terms.sum(axis=class_dim)
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


def nll_loss(
    input: Variable,
    target: Any,
    reduction: Any = "mean",
    ignore_index: int = -100,
    *,
    weight: Any = None,
) -> Variable:
    """Negative log-likelihood of integer classes under log-probabilities ``(N, C)`` (or
    ``(N, C, d1, ...)`` against targets ``(N, d1, ...)``); ``weight`` per class; targets equal
    to ``ignore_index`` add nothing (see ``cross_entropy``)."""
    reduction, weight = weight_or_reduction(reduction, weight)
    reduction = _reduction("nll_loss", reduction)
    input = as_input(input, "nll_loss")
    classes = input.shape[0 if input.ndim == 1 else 1] if input.ndim else 0
    weight = _class_weight("nll_loss", weight, classes)
    if weight is None and input.ndim <= 2:
        if reduction == "mean" and type(ignore_index) is int and ignore_index == -100:
            return ops.NllLoss.apply(input, target)  # (apply's quick path: defaults left out)
        return ops.NllLoss.apply(input, target, reduction, ignore_index)
    rows, flat, shape = _rows("NllLoss", input, as_array(target))
    return _class_loss("NllLoss", rows, flat.reshape(shape), weight, reduction, ignore_index, 0.0)


def _shape_of(x: Any) -> tuple[int, ...]:
    """The shape of a Variable, an array, a number or nested lists (no copy made)."""
    return x.shape if isinstance(x, Variable | np.ndarray) else np.shape(x)


def check_target_shape(name: str, prediction: Any, target: Any) -> None:
    """Warn, as PyTorch does, when a target's shape differs from the prediction's."""
    shape, target_shape = _shape_of(prediction), _shape_of(target)
    if shape != target_shape:
        warnings.warn(
            f"{name}: using a target size ({target_shape}) that is different to the input size "
            f"({shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


def _check_binary_target(name: str, input: Variable, target: Any) -> None:
    """PyTorch's binary cross-entropies take a float target of the input's shape (a target of
    another shape is an error there, not the warning of the other losses)."""
    target = as_array(target)
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(
            f"{name}: Using a target size ({tuple(target.shape)}) that is different to the "
            f"input size ({tuple(input.shape)}) is deprecated. Please ensure they have the "
            "same size."
        )
    if target.dtype.kind != "f":
        raise InputError(f"{name}: Found dtype {target.dtype} but expected a floating target")


def _weighted(loss: Variable, weight: Any, reduction: str) -> Variable:
    """An elementwise loss times ``weight`` (broadcast), then reduced."""
    loss = loss * weight
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


def binary_cross_entropy(
    input: Variable, target: Any, reduction: Any = "mean", *, weight: Any = None
) -> Variable:
    """BCE of probabilities in [0, 1]; logs are clamped at -100 as in PyTorch; ``weight``
    rescales each element's loss (it broadcasts)."""
    reduction, weight = weight_or_reduction(reduction, weight)
    reduction = _reduction("binary_cross_entropy", reduction)
    input = as_input(input, "binary_cross_entropy")
    _check_binary_target("binary_cross_entropy", input, target)
    if isinstance(target, Variable) and target.dtype != input.dtype:  # PyTorch's refusal
        raise InputError(
            f"binary_cross_entropy: Found dtype {target.dtype} but expected {input.dtype}: the "
            "target must have the input's dtype; convert it with target.to(input.dtype) (data "
            "from NumPy is float64: torch.tensor(X, dtype=torch.float32))"
        )
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
    return _weighted(ops.BinaryCrossEntropy.apply(input, target, "none"), weight, reduction)


def binary_cross_entropy_with_logits(
    input: Variable,
    target: Any,
    reduction: Any = "mean",
    *,
    weight: Any = None,
    pos_weight: Any = None,
) -> Variable:
    """BCE of logits, fused with the sigmoid so any logit is stable; ``weight`` rescales each
    element's loss, ``pos_weight`` (one per class, the last dim) the positive targets' term:
    ``-(pos_weight * t * log(sigmoid(x)) + (1 - t) * log(sigmoid(-x)))``, as PyTorch's."""
    reduction, weight = weight_or_reduction(reduction, weight)
    reduction = _reduction("binary_cross_entropy_with_logits", reduction)
    input = as_input(input, "binary_cross_entropy_with_logits")
    _check_binary_target("binary_cross_entropy_with_logits", input, target)
    if pos_weight is None:
        if weight is None:
            return ops.BinaryCrossEntropyWithLogits.apply(input, target, reduction)
        loss = ops.BinaryCrossEntropyWithLogits.apply(input, target, "none")
        return _weighted(loss, weight, reduction)
    negative = 1 - (target if isinstance(target, Variable) else as_array(target))
    positive = ops.LogSigmoid.apply(input) * target * pos_weight
    loss = -(positive + ops.LogSigmoid.apply(-input) * negative)
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


# ------------------------------------------------------------------------------ regression
def mse_loss(input: Variable, target: Any, reduction: str = "mean") -> Variable:
    """Mean squared error; warns (like PyTorch) when the shapes differ and would broadcast."""
    input = input if isinstance(input, Variable) else as_input(input, "mse_loss")
    check_target_shape("mse_loss", input, target)
    return ops.MseLoss.apply(input, target, reduction)


def l1_loss(input: Variable, target: Any, reduction: str = "mean") -> Variable:
    """Mean absolute error (the gradient at 0 is 0)."""
    input = as_input(input, "l1_loss")
    check_target_shape("l1_loss", input, target)
    return ops.L1Loss.apply(input, target, reduction)


def smooth_l1_loss(
    input: Variable, target: Any, reduction: str = "mean", beta: float = 1.0
) -> Variable:
    """Quadratic (0.5 d**2 / beta) below ``beta``, linear above."""
    input = as_input(input, "smooth_l1_loss")
    check_target_shape("smooth_l1_loss", input, target)
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    return ops.SmoothL1Loss.apply(input, target, reduction, beta)


def huber_loss(
    input: Variable, target: Any, reduction: str = "mean", delta: float = 1.0
) -> Variable:
    """Quadratic (0.5 d**2) below ``delta``, linear (slope delta) above."""
    input = as_input(input, "huber_loss")
    check_target_shape("huber_loss", input, target)
    if delta <= 0:
        raise ArgumentError(
            f"huber_loss does not support non-positive values for delta, got {delta}"
        )
    return ops.HuberLoss.apply(input, target, reduction, delta)


def kl_div(
    input: Variable, target: Any, reduction: str = "mean", log_target: bool = False
) -> Variable:
    """KL divergence with ``input`` as log-probabilities; ``reduction="batchmean"`` gives the
    mathematical KL (the sum over the batch size). ``"mean"`` warns, as PyTorch does."""
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            UserWarning,
            stacklevel=2,
        )
    target = target if isinstance(target, Variable) else np.asarray(target)
    return ops.KlDiv.apply(as_input(input, "kl_div"), target, reduction, log_target)
