"""Activations and losses with PyTorch's names (``gradviz.functional``, ``gradviz.nn.functional``).

Each is one op of ``ops``, fused where numerics or speed call for it (softmax, log_softmax and
the losses), so graphs show one meaningful node per call.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gradviz.autograd import ops, rng
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import ArgumentError, InputError, OperandError
from gradviz.autograd.variable import Variable, as_array


def as_input(x: Any, op: str) -> Variable:
    """``x`` as a Variable: lists and numbers become one (floats in the default dtype, float32),
    ndarrays keep their dtype; anything else is an ``OperandError`` naming ``op``."""
    if isinstance(x, Variable):
        return x
    try:
        return Variable(x)
    except OperandError:
        raise OperandError(
            f"{op}(): argument 'input' (position 1) must be a Variable, a NumPy array or "
            f"numbers, not {type(x).__name__}"
        ) from None


def relu(x: Variable) -> Variable:
    """max(x, 0); the gradient at 0 is 0."""
    return ops.Relu.apply(x if isinstance(x, Variable) else as_input(x, "relu"))


def sigmoid(x: Variable) -> Variable:
    """1 / (1 + exp(-x)), stable for large |x|."""
    return ops.Sigmoid.apply(x if isinstance(x, Variable) else as_input(x, "sigmoid"))


def tanh(x: Variable) -> Variable:
    """Elementwise hyperbolic tangent."""
    return ops.Tanh.apply(x if isinstance(x, Variable) else as_input(x, "tanh"))


def leaky_relu(x: Variable, negative_slope: float = 0.01) -> Variable:
    """x where x > 0, else ``negative_slope * x``."""
    return ops.LeakyRelu.apply(as_input(x, "leaky_relu"), negative_slope)


def gelu(x: Variable, approximate: str = "none") -> Variable:
    """x * Phi(x) (``approximate="tanh"`` for the tanh formula)."""
    return ops.Gelu.apply(as_input(x, "gelu"), approximate)


def softmax(x: Variable, axis: int | None = -1, *, dim: int | None = None) -> Variable:
    """exp(x) normalised along ``axis`` (or ``dim``), computed stably."""
    x = as_input(x, "softmax")
    return ops.Softmax.apply(x, _softmax_dim(x, dim if dim is not None else axis, "softmax"))


def log_softmax(x: Variable, axis: int | None = -1, *, dim: int | None = None) -> Variable:
    """log(softmax(x)) computed stably (no log of 0, no exp overflow)."""
    x = as_input(x, "log_softmax")
    axis = _softmax_dim(x, dim if dim is not None else axis, "log_softmax")
    return ops.LogSoftmax.apply(x, axis)


def _softmax_dim(x: Variable, axis: int | None, op: str) -> int | None:
    """The checked axis (None, all elements, for 0-d inputs and when given None)."""
    if axis is None:
        return None
    axis = dim_index(axis, x.ndim, op)
    return axis if x.ndim else None


def dropout(x: Variable, p: float = 0.5, training: bool = True) -> Variable:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only)."""
    check_dropout_probability(p)
    x = as_input(x, "dropout")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    return ops.Dropout.apply(x, p, rng.default_generator())


def check_dropout_probability(p: float) -> None:
    """Raise ``ArgumentError`` unless ``0 <= p <= 1`` (shared with ``nn.Dropout``)."""
    if not 0 <= p <= 1:
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p}")


def _check_target_shape(name: str, prediction: Any, target: Any) -> None:
    shape, target_shape = np.shape(as_array(prediction)), np.shape(as_array(target))
    if shape != target_shape:
        warnings.warn(
            f"{name}: using a target size ({target_shape}) that is different to the input size "
            f"({shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


def mse_loss(input: Variable, target: Any, reduction: str = "mean") -> Variable:
    """Mean squared error; warns (like PyTorch) when the shapes differ and would broadcast."""
    input = input if isinstance(input, Variable) else as_input(input, "mse_loss")
    _check_target_shape("mse_loss", input, target)
    return ops.MseLoss.apply(input, target, reduction)


def cross_entropy(
    input: Variable, target: Any, reduction: str = "mean", ignore_index: int = -100
) -> Variable:
    """Cross-entropy of logits ``(N, C)`` against integer classes ``(N,)`` (one fused, stable
    op), or against class probabilities of the input's shape (log_softmax, then the sum).

    Class targets equal to ``ignore_index`` add nothing and the mean is over the others (NaN
    when all are ignored), as in PyTorch; other targets outside ``[0, C)`` raise IndexError.
    """
    input = input if isinstance(input, Variable) else as_input(input, "cross_entropy")
    if as_array(target).dtype.kind != "f":
        return ops.CrossEntropy.apply(input, target, reduction, ignore_index)
    _check_target_shape("cross_entropy", input, target)
    log_probs = log_softmax(input, axis=-1 if np.ndim(as_array(input)) == 1 else 1)
    loss = -(log_probs * target).sum(axis=-1 if log_probs.ndim == 1 else 1)
    if reduction == "none":
        return loss
    if reduction in ("mean", "sum"):
        return loss.mean() if reduction == "mean" else loss.sum()
    raise ArgumentError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def nll_loss(
    input: Variable, target: Any, reduction: str = "mean", ignore_index: int = -100
) -> Variable:
    """Negative log-likelihood of integer classes under log-probabilities ``(N, C)``; targets
    equal to ``ignore_index`` add nothing (see ``cross_entropy``)."""
    return ops.NllLoss.apply(as_input(input, "nll_loss"), target, reduction, ignore_index)


def binary_cross_entropy(input: Variable, target: Any, reduction: str = "mean") -> Variable:
    """BCE of probabilities in [0, 1]; logs are clamped at -100 as in PyTorch."""
    input = as_input(input, "binary_cross_entropy")
    _check_target_shape("binary_cross_entropy", input, target)
    for name, values in (("input", input.data), ("target", as_array(target))):
        # NaN fails both comparisons, so it is rejected too (as PyTorch does)
        if values.size and not (values.min() >= 0 and values.max() <= 1):
            hint = " (pass logits to binary_cross_entropy_with_logits)" if name == "input" else ""
            bad = values[~((values >= 0) & (values <= 1))].flat[0]
            raise InputError(
                f"binary_cross_entropy: all elements of {name} should be between 0 and 1, "
                f"got {bad}{hint}"
            )
    return ops.BinaryCrossEntropy.apply(input, target, reduction)


def binary_cross_entropy_with_logits(
    input: Variable, target: Any, reduction: str = "mean"
) -> Variable:
    """BCE of logits, fused with the sigmoid so any logit is stable."""
    input = as_input(input, "binary_cross_entropy_with_logits")
    _check_target_shape("binary_cross_entropy_with_logits", input, target)
    return ops.BinaryCrossEntropyWithLogits.apply(input, target, reduction)


def linear(input: Variable, weight: Variable, bias: Variable | None = None) -> Variable:
    """``input @ weight.T + bias`` as one op."""
    if not isinstance(input, Variable):
        input = as_input(input, "linear")
    if bias is None:
        return ops.Linear.apply(input, weight)
    return ops.Linear.apply(input, weight, bias)


def one_hot(tensor: Any, num_classes: int = -1) -> Variable:
    """Class indices (int64) as one-hot rows: int64 of shape ``(*tensor.shape, num_classes)``;
    ``num_classes=-1`` takes the largest index plus one."""
    indices = as_array(tensor)
    if indices.dtype != np.int64:
        raise InputError(
            f"one_hot(): one_hot is only applicable to index tensors of dtype int64, got "
            f"{indices.dtype}"
        )
    if num_classes == -1:
        if not indices.size:
            raise InputError("one_hot(): can not infer the number of classes from an empty input")
        num_classes = int(indices.max()) + 1
    if indices.size and indices.min() < 0:
        raise InputError(f"one_hot(): class values must be non-negative, got {indices.min()}")
    if indices.size and indices.max() >= num_classes:
        raise InputError(
            f"one_hot(): class values must be smaller than num_classes ({num_classes}), got "
            f"{indices.max()}"
        )
    return Variable((indices[..., None] == np.arange(num_classes)).astype(np.int64))


__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "gelu",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
