"""``nn.init``: PyTorch's parameter initialisers, each an in-place write under ``no_grad``.

Draws come from the generator ``manual_seed`` sets; fans and gains follow PyTorch's formulas.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, ShapeError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.variable import Variable

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity`` (``"relu"`` -> sqrt(2), ``"tanh"`` -> 5/3)."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ArgumentError(f"Unsupported nonlinearity {nonlinearity}")


def _fans(tensor: Variable) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ShapeError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"(got shape {tensor.shape})"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: Variable, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ArgumentError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _fans(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Variable, a: float = 0.0, b: float = 1.0) -> Variable:
    """Fill with draws from U(a, b)."""
    with no_grad():
        return tensor.uniform_(a, b)


def normal_(tensor: Variable, mean: float = 0.0, std: float = 1.0) -> Variable:
    """Fill with draws from N(mean, std**2)."""
    with no_grad():
        return tensor.normal_(mean, std)


def trunc_normal_(
    tensor: Variable, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> Variable:
    """Fill with draws from N(mean, std**2) truncated to ``[a, b]`` (absolute bounds, as
    PyTorch's): draws outside are drawn again."""
    if not a < b:
        raise ArgumentError(f"trunc_normal_: the bounds must satisfy a < b, got a={a}, b={b}")
    generator = rng.default_generator()
    values = generator.normal(mean, std, tensor.shape)
    for _ in range(100):  # the default bounds keep 95% of N(0, 1): a few rounds at most
        outside = (values < a) | (values > b)
        if not outside.any():
            break
        values[outside] = generator.normal(mean, std, int(outside.sum()))
    with no_grad():
        return tensor.copy_(np.clip(values, a, b))


def constant_(tensor: Variable, val: float) -> Variable:
    """Fill with ``val``."""
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Variable) -> Variable:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Variable) -> Variable:
    """Fill with 0."""
    with no_grad():
        return tensor.zero_()


def xavier_uniform_(tensor: Variable, gain: float = 1.0) -> Variable:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Variable, gain: float = 1.0) -> Variable:
    """Glorot normal: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(
    tensor: Variable, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Variable:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan)."""
    if 0 in tensor.shape:  # PyTorch's no-op (a layer with 0 inputs has no fan)
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(
    tensor: Variable, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Variable:
    """He normal: N(0, std**2) with std = gain / sqrt(fan)."""
    if 0 in tensor.shape:  # PyTorch's no-op (a layer with 0 inputs has no fan)
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


def eye_(tensor: Variable) -> Variable:
    """Fill a 2-d tensor with the identity matrix (ones on the diagonal of a non-square one
    too), so a ``Linear`` layer starts by passing its inputs through."""
    if tensor.ndim != 2:
        raise ArgumentError(
            f"eye_: Only tensors with 2 dimensions are supported (got shape {tensor.shape})"
        )
    with no_grad():
        return tensor.copy_(np.eye(*tensor.shape))


def dirac_(tensor: Variable, groups: int = 1) -> Variable:
    """Fill a 3-, 4- or 5-d convolution weight with the Dirac delta: each of the first
    ``min(out, in)`` output channels of each of ``groups`` groups copies its input channel
    (a 1 at the kernel's centre), so the convolution starts as the identity."""
    if tensor.ndim not in (3, 4, 5):
        raise ArgumentError(
            "dirac_: Only tensors with 3, 4, or 5 dimensions are supported (got shape "
            f"{tensor.shape})"
        )
    out_channels, in_channels = tensor.shape[:2]
    if groups < 1 or out_channels % groups:
        raise ArgumentError(
            f"dirac_: dim 0 must be divisible by groups (got {out_channels} and groups={groups})"
        )
    per_group = out_channels // groups
    channels = np.arange(min(per_group, in_channels))
    rows = (np.arange(groups)[:, None] * per_group + channels).reshape(-1)
    centre = tuple(size // 2 for size in tensor.shape[2:])
    values = np.zeros(tensor.shape)
    values[(rows, np.tile(channels, groups), *centre)] = 1
    with no_grad():
        return tensor.copy_(values)


def orthogonal_(
    tensor: Variable, gain: float = 1.0, generator: rng.Generator | None = None
) -> Variable:
    """Fill with a (semi-)orthogonal matrix (Saxe et al.): the Q of the QR decomposition of
    normal draws, signs fixed by R's diagonal so it is uniform over orthogonal matrices,
    times ``gain``; dims after the first are flattened. Draws come from ``generator`` (the
    default one, which ``manual_seed`` seeds, for None)."""
    if tensor.ndim < 2:
        raise ArgumentError(
            "orthogonal_: Only tensors with 2 or more dimensions are supported (got shape "
            f"{tensor.shape})"
        )
    if tensor.numel() == 0:
        return tensor  # PyTorch's no-op
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flattened = rng.pick(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flattened = flattened.T
    q, r = np.linalg.qr(flattened)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    with no_grad():
        return tensor.copy_(q.reshape(tensor.shape) * gain)


def sparse_(
    tensor: Variable, sparsity: float, std: float = 0.01, generator: rng.Generator | None = None
) -> Variable:
    """Fill a 2-d tensor with N(0, std**2) draws, then zero ``ceil(sparsity * rows)`` places
    chosen at random in each column (Martens' sparse initialisation)."""
    if tensor.ndim != 2:
        raise ArgumentError(
            f"sparse_: Only tensors with 2 dimensions are supported (got shape {tensor.shape})"
        )
    rows, cols = tensor.shape
    zeros = math.ceil(sparsity * rows)
    draw = rng.pick(generator)
    values = draw.normal(0.0, std, (rows, cols))
    order = np.argsort(draw.random((rows, cols)), axis=0)  # a permutation per column
    np.put_along_axis(values, order[:zeros], 0.0, axis=0)
    with no_grad():
        return tensor.copy_(values)
