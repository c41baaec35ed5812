"""``unfold`` and ``fold`` (im2col and col2im) and ``glu`` of ``nn.functional``, with
PyTorch's arguments, checks and messages (re-exported by ``functional``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import ops
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import ArgumentError, IndexRangeError, InputError, ShapeError
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.variable import Variable

_NAMES = ("height", "width")


def _pair(value: Any, op: str, name: str, what: str, low: int) -> tuple[int, int]:
    """An int or two ints, each at least ``low`` (PyTorch's wording when one is not)."""
    values = (value, value) if isinstance(value, int | np.integer) else value
    if (
        not isinstance(values, tuple | list)
        or len(values) != 2
        or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values)
    ):
        raise ArgumentError(f"{op}(): {name} must be an int or a pair of ints, got {value!r}")
    if any(v < low for v in values):
        parts = " ".join(f"{name}_{n}: {v}" for n, v in zip(_NAMES, values, strict=True))
        raise InputError(f"{op}(): {name} should be {what}, but got {parts}")
    return int(values[0]), int(values[1])


def _options(op: str, kernel_size, dilation, padding, stride):
    kernel = _pair(kernel_size, op, "kernel", "greater than zero", 1)
    dilation = _pair(dilation, op, "dilation", "greater than zero", 1)
    pad = _pair(padding, op, "pad", "non-negative", 0)
    stride = _pair(stride, op, "stride", "greater than zero", 1)
    return kernel, dilation, ((pad[0], pad[0]), (pad[1], pad[1])), stride


def _blocks(op: str, size, kernel, dilation, padding, stride, given: str) -> tuple[int, int]:
    """The number of sliding blocks along each spatial dim, refused when one is below 1."""
    counts = tuple(
        (s + 2 * p[0] - d * (k - 1) - 1) // st + 1
        for s, k, d, p, st in zip(size, kernel, dilation, padding, stride, strict=True)
    )
    if any(c < 1 for c in counts):
        raise ShapeError(
            f"{op}(): Given {given}, kernel_size={kernel}, dilation={dilation}, padding="
            f"{tuple(p[0] for p in padding)}, stride={stride}, calculated shape of the array of "
            f"sliding blocks as {counts}, but its components must be at least one."
        )
    return counts


def unfold(
    input: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Variable:
    """im2col: the sliding blocks of an (N, C, H, W) (or (C, H, W)) input as the columns of
    an (N, C*KH*KW, L) output, L the number of blocks."""
    x = as_input(input, "unfold")
    if x.ndim < 3:  # PyTorch reads the spatial dims first: dims -2 and -1 of the 3 it needs
        raise IndexRangeError(
            f"unfold(): Dimension out of range: an input of shape {x.shape} has no channels; "
            "expected (C, H, W) or (N, C, H, W)"
        )
    if x.ndim != 4 and x.ndim != 3:
        raise ShapeError(
            "unfold(): Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
            f"other non-zero dimensions for input, but got: {list(x.shape)}"
        )
    kernel, dilation, pads, stride = _options("unfold", kernel_size, dilation, padding, stride)
    size = x.shape[-2:]
    _blocks("unfold", size, kernel, dilation, pads, stride, f"input with spatial size {size}")
    return ops.Im2Col.apply(x, kernel, dilation, pads, stride)


def fold(
    input: Any,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Variable:
    """col2im: columns of blocks (N, C*KH*KW, L) (or (C*KH*KW, L)) summed back into an
    (N, C, *output_size) image, overlapping blocks added."""
    cols = as_input(input, "fold")
    if cols.ndim not in (2, 3):
        raise ShapeError(
            "fold(): Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size "
            f"and non-zero dimensions for input, but got: {list(cols.shape)}"
        )
    size = _pair(output_size, "fold", "output_size", "greater than zero", 1)
    kernel, dilation, pads, stride = _options("fold", kernel_size, dilation, padding, stride)
    channels, count = cols.shape[-2], cols.shape[-1]
    if channels % (kernel[0] * kernel[1]):
        raise ShapeError(
            "fold(): Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={channels} and kernel_size={kernel}."
        )
    blocks = _blocks("fold", size, kernel, dilation, pads, stride, f"output_size={size}")
    if blocks[0] * blocks[1] != count:
        raise ShapeError(
            f"fold(): Given output_size={size}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={tuple(p[0] for p in pads)}, stride={stride}, expected size of input's "
            f"dimension 2 to match the calculated number of sliding blocks {blocks[0]} * "
            f"{blocks[1]} = {blocks[0] * blocks[1]}, but got input.size(2)={count}."
        )
    return ops.Col2Im.apply(cols, size, kernel, dilation, pads, stride)


def glu(input: Any, dim: int = -1) -> Variable:
    """The gated linear unit: ``a * sigmoid(b)``, ``a`` and ``b`` the two halves of ``dim``."""
    x = as_input(input, "glu")
    if x.ndim == 0:
        raise ShapeError("glu does not support scalars because halving size must be even")
    axis = dim_index(dim, x.ndim, "glu")
    if x.shape[axis] % 2:
        raise ShapeError(
            f"Halving dimension must be even, but dimension {axis} is size {x.shape[axis]}"
        )
    return ops.Glu.apply(x, axis)


__all__ = ["fold", "glu", "unfold"]
