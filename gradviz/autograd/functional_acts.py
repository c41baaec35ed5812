"""More activations, norms and layers of ``nn.functional`` with PyTorch's names, defaults and
checks (re-exported by ``functional``): ``prelu``, ``selu``, ``celu``, ``hardswish``,
``hardsigmoid``, ``softmin``, ``threshold``, ``hardshrink``, ``softshrink``, ``tanhshrink``,
``rrelu``, ``rms_norm``, ``instance_norm``, ``local_response_norm``, ``bilinear`` and
``pairwise_distance``."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from gradviz.autograd import ops, rng
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.inplace_acts import apply_inplace
from gradviz.autograd.ops import activations_more as acts
from gradviz.autograd.ops import normalization
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.ops.promotion import require_floating, same_float_dtype
from gradviz.autograd.variable import Variable, get_default_dtype


def _number(value: Any, op: str, name: str) -> float:
    """``value`` as a float (``OperandError`` for a string, a bool, None ...)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OperandError(
            f"{op}(): argument '{name}' must be a number, not {type(value).__name__}"
        )
    return float(value)


def _unary(op: type, name: str, input: Any, *options: Any, inplace: bool = False) -> Variable:
    """``op`` on ``input`` (written back into it when ``inplace``)."""
    x = as_input(input, name)
    return apply_inplace(op, x, *options) if inplace else op.apply(x, *options)


# ------------------------------------------------------------------------------ activations
def relu_(input: Any) -> Variable:
    """``relu`` written into ``input``."""
    return _unary(ops.Relu, "relu", input, inplace=True)


def elu_(input: Any, alpha: float = 1.0) -> Variable:
    """``elu`` written into ``input``."""
    return _unary(ops.Elu, "elu", input, alpha, inplace=True)


def leaky_relu_(input: Any, negative_slope: float = 0.01) -> Variable:
    """``leaky_relu`` written into ``input``."""
    return _unary(ops.LeakyRelu, "leaky_relu", input, negative_slope, inplace=True)


def prelu(input: Any, weight: Any) -> Variable:
    """``x`` where ``x > 0``, else ``weight * x``: one slope, or one per channel (dim 1)."""
    return _prelu("prelu", input, weight)


def _prelu(layer: Any, input: Any, weight: Any) -> Variable:
    x = as_input(input, layer)
    weight = weight if isinstance(weight, Variable) else as_input(weight, layer)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim > 1 or weight.size not in (1, channels):
        raise ShapeError(
            f"{layer}: Mismatch of parameter numbers and input channel size. Found parameter "
            f"numbers = {weight.size} (weight of shape {weight.shape}) and channel size = "
            f"{channels} (input of shape {x.shape}; the channels are dim 1)"
        )
    return acts.Prelu.apply(x, weight)


def selu(input: Any, inplace: bool = False) -> Variable:
    """``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` with SELU's constants."""
    return _unary(acts.Selu, "selu", input, inplace=inplace)


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Variable:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    alpha = _number(alpha, "celu", "alpha")
    if alpha == 0:
        raise ArgumentError("celu: ZeroDivisionError: alpha must not be 0 (x / alpha)")
    return _unary(acts.Celu, "celu", input, alpha, inplace=inplace)


def hardswish(input: Any, inplace: bool = False) -> Variable:
    """``x * relu6(x + 3) / 6``."""
    return _unary(acts.Hardswish, "hardswish", input, inplace=inplace)


def hardsigmoid(input: Any, inplace: bool = False) -> Variable:
    """``relu6(x + 3) / 6``."""
    return _unary(acts.Hardsigmoid, "hardsigmoid", input, inplace=inplace)


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Variable:
    """``x`` where ``x > threshold``, else ``value``."""
    threshold = _number(threshold, "threshold", "threshold")
    value = _number(value, "threshold", "value")
    return _unary(acts.Threshold, "threshold", input, threshold, value, inplace=inplace)


def hardshrink(input: Any, lambd: float = 0.5) -> Variable:
    """``x`` where ``|x| > lambd``, else 0."""
    return acts.Hardshrink.apply(
        as_input(input, "hardshrink"), _number(lambd, "hardshrink", "lambd")
    )


def softshrink(input: Any, lambd: float = 0.5) -> Variable:
    """``x`` moved ``lambd`` towards 0, and 0 within ``lambd`` of it."""
    lambd = _number(lambd, "softshrink", "lambd")
    if lambd < 0:
        raise InputError(
            f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}."
        )
    return acts.Softshrink.apply(as_input(input, "softshrink"), lambd)


def tanhshrink(input: Any) -> Variable:
    """``x - tanh(x)`` (of integers: in the default float dtype, as PyTorch's)."""
    x = as_input(input, "tanhshrink")
    return acts.Tanhshrink.apply(x if x.dtype.kind == "f" else x.to(get_default_dtype()))


def softmin(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None):
    """``softmax(-x)`` along ``dim`` (with PyTorch's legacy choice and warning when None),
    in ``dtype`` if given."""
    x = as_input(input, "softmin")
    if dim is None:
        warnings.warn(
            "Implicit dimension choice for softmin has been deprecated. Change the call to "
            "include dim=X as an argument.",
            UserWarning,
            stacklevel=_stacklevel,
        )
        dim = 0 if x.ndim in (0, 1, 3) else 1
    x = x if dtype is None else x.to(dtype)
    require_floating(x._data, "softmin")
    axis = dim_index(dim, x.ndim, "softmin")
    return ops.Softmax.apply(-x, axis if x.ndim else None)


def rrelu(
    input: Any,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Variable:
    """Leaky ReLU with a random slope per negative element, uniform in ``[lower, upper]``,
    in training; the mean slope ``(lower + upper) / 2`` otherwise."""
    lower, upper = _number(lower, "rrelu", "lower"), _number(upper, "rrelu", "upper")
    if lower > upper:
        raise InputError(
            f"rrelu: Lower bound should be less than or equal to the upper bound, got lower="
            f"{lower} and upper={upper}"
        )
    x = as_input(input, "rrelu")
    require_floating(x._data, "rrelu")
    if training:
        op, option = acts.Rrelu, acts.rrelu_noise(x._data, lower, upper, rng.default_generator())
    else:
        op, option = ops.LeakyRelu, (lower + upper) / 2
    return apply_inplace(op, x, option) if inplace else op.apply(x, option)


# ------------------------------------------------------------------------------------ norms
def rms_norm(
    input: Any, normalized_shape: Any, weight: Any = None, eps: float | None = None
) -> Variable:
    """Divide the trailing ``normalized_shape`` dims by their root mean square (plus ``eps``,
    the dtype's machine epsilon when None), then ``* weight``. One ``RmsNorm`` node."""
    return _rms_norm("rms_norm", input, normalized_shape, weight, eps)


def _rms_norm(layer: Any, input: Any, normalized_shape: Any, weight: Any, eps: Any) -> Variable:
    x = as_input(input, layer)
    require_floating(x._data, str(layer))
    if layer == "rms_norm" and isinstance(normalized_shape, int):  # (nn.RMSNorm takes one)
        raise OperandError(
            f"rms_norm(): argument 'normalized_shape' must be tuple of ints, not int "
            f"({normalized_shape})"
        )
    normalized = normalization.normalized_shape_of(layer, normalized_shape)
    weight = None if weight is None else as_input(weight, layer)
    normalization.check_layer_norm(layer, x.shape, normalized, weight, None)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    normalization.check_floats(layer, eps=eps)
    if eps < 0:  # else the root of a negative mean: NaN
        raise ArgumentError(f"{layer}: eps must be non-negative, but got {eps}")
    return ops.layers_more.RmsNorm.apply(x, weight, len(normalized), eps)


def instance_norm(
    input: Any,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Variable:
    """Normalise each channel of each sample of (N, C, *) over its positions, then ``*
    weight + bias`` per channel. With ``use_input_stats`` the running statistics (when given)
    move towards the batch's mean of the per-sample statistics by ``momentum``, in place;
    without it they normalise."""
    args = (running_mean, running_var, weight, bias, use_input_stats, momentum, eps)
    return _instance_norm("instance_norm", input, *args)


def _instance_norm(layer, input, running_mean, running_var, weight, bias, use_stats, momentum, eps):
    x = as_input(input, layer)
    normalization.check_floats(layer, momentum=momentum, eps=eps)
    running = [None if v is None else as_input(v, layer) for v in (running_mean, running_var)]
    if not use_stats and None in running:
        raise InputError(
            f"{layer}: Expected running_mean and running_var to be defined when "
            "use_input_stats is false"
        )
    statistics = None in running  # (else the check asks for running statistics)
    normalization.check_batch_norm(layer, x.shape, *running, weight, bias, statistics)
    if not use_stats:
        return ops.BatchNorm.apply(x, weight, bias, *running, False, eps)
    if x.size and math.prod(x.shape[2:]) == 1:
        raise ArgumentError(
            f"{layer}: Expected more than 1 spatial element when training, got input size "
            f"{list(x.shape)}"
        )
    if x.size:
        _update_instance_stats(x._data, *running, momentum)
    if weight is not None:
        same_float_dtype(layer, x._data, as_input(weight, layer)._data)
    out = ops.LayerNorm.apply(x, None, None, x.ndim - 2, eps)  # each (sample, channel) row
    per_channel = (x.shape[1],) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * as_input(weight, layer).reshape(per_channel)
    if bias is not None:
        out = out + as_input(bias, layer).reshape(per_channel)
    return out


def _update_instance_stats(x: np.ndarray, running_mean, running_var, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch``, in place, where ``batch``
    is the mean over the samples of each one's mean and unbiased variance (PyTorch's)."""
    axes = tuple(range(2, x.ndim))
    with no_grad():
        if running_mean is not None:
            batch = x.mean(axis=axes).mean(axis=0)
            running_mean.copy_(momentum * batch + (1 - momentum) * running_mean._data)
        if running_var is not None:
            batch = x.var(axis=axes, ddof=1).mean(axis=0)
            running_var.copy_(momentum * batch + (1 - momentum) * running_var._data)


def local_response_norm(
    input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Variable:
    """``x / (k + alpha * mean of x**2 over size neighbouring channels) ** beta`` of (N, C,
    *), the channels zero-padded, as PyTorch computes it (pad, average pool, pow)."""
    x = as_input(input, "local_response_norm")
    if x.ndim < 3:
        raise ShapeError(
            f"local_response_norm: Expected 3D or higher dimensionality input (got {x.ndim} "
            f"dimensions, shape {x.shape})"
        )
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ArgumentError(f"local_response_norm: size must be a positive integer, got {size!r}")
    if not x.size:
        return x
    n, c = x.shape[:2]
    squares = (x * x).reshape(n, 1, c, -1)
    pairs = ((0, 0), (0, 0), (size // 2, (size - 1) // 2), (0, 0))
    padded = ops.ConstantPadNd.apply(squares, pairs, 0.0)
    div = ops.AvgPool2d.apply(padded, (size, 1), (1, 1), ((0, 0), (0, 0)), True, None)
    return x / (div.reshape(x.shape) * alpha + k) ** beta


# ---------------------------------------------------------------------- layers, distances
def bilinear(input1: Any, input2: Any, weight: Any, bias: Any = None) -> Variable:
    """``x1 @ weight[o] @ x2 + bias[o]`` for each output feature ``o``: x1 ``(*, in1)``, x2
    ``(*, in2)``, weight ``(out, in1, in2)``, bias ``(out,)``. One ``Bilinear`` node."""
    return _bilinear("bilinear", input1, input2, weight, bias)


def _bilinear(layer: Any, input1: Any, input2: Any, weight: Any, bias: Any) -> Variable:
    x1, x2 = as_input(input1, layer), as_input(input2, layer)
    weight = weight if isinstance(weight, Variable) else as_input(weight, layer)
    bias = bias if bias is None or isinstance(bias, Variable) else as_input(bias, layer)
    _check_bilinear(layer, x1, x2, weight, bias)
    return ops.layers_more.Bilinear.apply(x1, x2, weight, bias)


def _check_bilinear(layer, x1: Variable, x2: Variable, weight: Variable, bias) -> None:
    expected = "(*, in1), (*, in2), weight (out, in1, in2), bias (out,)"
    given = f"input1 {x1.shape}, input2 {x2.shape}, weight {weight.shape}"
    given += "" if bias is None else f", bias {bias.shape}"
    if (
        min(x1.ndim, x2.ndim) < 1
        or x1.shape[:-1] != x2.shape[:-1]
        or weight.ndim != 3
        or (x1.shape[-1], x2.shape[-1]) != weight.shape[1:]
        or (bias is not None and bias.shape != weight.shape[:1])
    ):
        raise ShapeError(f"{layer}: expected {expected} with the same leading dims, got {given}")
    if len({x1.dtype, x2.dtype, weight.dtype}) > 1:
        raise OperandError(
            f"{layer}: expected one floating dtype, got {x1.dtype}, {x2.dtype} "
            f"and weight {weight.dtype}"
        )


def pairwise_distance(
    x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Variable:
    """The p-norm of ``x1 - x2 + eps`` along the last dim (inputs broadcast)."""
    x1 = as_input(x1, "pairwise_distance")
    difference = x1 - x2 + _number(eps, "pairwise_distance", "eps")
    return difference.norm(
        _number(p, "pairwise_distance", "p"), -1 if difference.ndim else None, keepdim
    )
