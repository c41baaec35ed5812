"""``nn.functional``'s pooling over 1, 2 or 3 spatial dims (max, average, adaptive), with
PyTorch's signatures and checks (re-exported by ``functional``). Each call is one op of
``ops.pooling``; the layer named in an error is the function's name."""

from __future__ import annotations

import numpy as np

from gradviz.autograd.errors import InputError, OperandError, ShapeError
from gradviz.autograd.ops import conv, nodiff, pooling
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.variable import Variable

_MAX = {1: pooling.MaxPool1d, 2: pooling.MaxPool2d, 3: pooling.MaxPool3d}
_AVG = {1: pooling.AvgPool1d, 2: pooling.AvgPool2d, 3: pooling.AvgPool3d}
_ADAPTIVE_AVG = {
    1: pooling.AdaptiveAvgPool1d,
    2: pooling.AdaptiveAvgPool2d,
    3: pooling.AdaptiveAvgPool3d,
}
_ADAPTIVE_MAX = {
    1: pooling.AdaptiveMaxPool1d,
    2: pooling.AdaptiveMaxPool2d,
    3: pooling.AdaptiveMaxPool3d,
}


def _pool_args(layer, dims, input, kernel_size, stride, padding, dilation, ceil_mode):
    """The input and the checked kernel, stride, padding pairs and dilation of a pool over
    the last ``dims`` axes."""
    input = as_input(input, layer)
    kernel = conv.tuple_of(kernel_size, dims, layer, "kernel_size")
    if stride is None or (isinstance(stride, tuple | list) and not stride):  # the kernel's
        stride = kernel
    else:
        stride = conv.tuple_of(stride, dims, layer, "stride")
    pairs = tuple((p, p) for p in conv.tuple_of(padding, dims, layer, "padding", low=0))
    dilation = conv.tuple_of(dilation, dims, layer, "dilation")
    pooling.check_pool(layer, input.shape, kernel, stride, pairs, dilation, ceil_mode)
    if ceil_mode:
        pairs = pooling.ceil_mode_padding(input.shape[-dims:], kernel, stride, pairs, dilation)
    return input, kernel, stride, pairs, dilation


def max_pool(layer, dims, input, kernel_size, stride, padding, dilation, ceil_mode, indices):
    """The checked max pool over the last ``dims`` axes; ``layer`` names it in errors."""
    args = _pool_args(layer, dims, input, kernel_size, stride, padding, dilation, ceil_mode)
    out = _MAX[dims].apply(*args)
    if not indices:
        return out
    found = Variable(pooling.max_pool_indices(args[0]._data, *args[1:]))
    return out, nodiff.announce(nodiff.MaxPoolIndices, args, found)


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Max over each window of (N, C, L) (padding counts as -inf); the gradient goes to the
    first maximum. ``return_indices`` also returns where each maximum is (int64 into L)."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return max_pool("max_pool1d", 1, input, *args)


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Max over each window of (N, C, H, W) (padding counts as -inf); the gradient goes to the
    first maximum. ``return_indices`` also returns where each maximum is, as a flat index into
    H * W (int64)."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return max_pool("max_pool2d", 2, input, *args)


def max_pool3d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Max over each window of (N, C, D, H, W) (padding counts as -inf); the gradient goes to
    the first maximum. ``return_indices`` also returns where each maximum is, as a flat index
    into D * H * W (int64)."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return max_pool("max_pool3d", 3, input, *args)


def avg_pool(layer, dims, input, kernel_size, stride, padding, ceil_mode, count_pad, divisor):
    """The checked average pool over the last ``dims`` axes; ``layer`` names it in errors."""
    input, kernel, stride, pairs, _ = _pool_args(
        layer, dims, input, kernel_size, stride, padding, 1, ceil_mode
    )
    if divisor is not None and (
        isinstance(divisor, bool) or not isinstance(divisor, int | np.integer)
    ):
        raise OperandError(
            f"{layer}(): argument 'divisor_override' must be int, not {type(divisor).__name__}"
        )
    if divisor is not None and divisor <= 0:
        raise InputError(f"{layer}: divisor must be not zero, got {divisor}")
    return _AVG[dims].apply(input, kernel, stride, pairs, count_pad, divisor)


def avg_pool1d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Variable:
    """Mean over each window of (N, C, L); ``count_include_pad`` counts the zero padding."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, None)
    return avg_pool("avg_pool1d", 1, input, *args)


def _avg_pool_nd(dims: int):
    """PyTorch's ``avg_pool2d`` or ``avg_pool3d``: the same arguments over ``dims`` axes."""
    name = f"avg_pool{dims}d"

    def pool(
        input,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ) -> Variable:
        args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        return avg_pool(name, dims, input, *args)

    pool.__name__ = pool.__qualname__ = name
    pool.__doc__ = (
        f"Mean over each window of (N, C, {conv.SPATIAL[dims]}); ``count_include_pad`` counts "
        "the zero padding in the divisor, ``divisor_override`` replaces it."
    )
    return pool


avg_pool2d = _avg_pool_nd(2)
avg_pool3d = _avg_pool_nd(3)


# ------------------------------------------------------------------------ adaptive pooling
_SIZES = {1: "one int", 2: "a pair of ints", 3: "three ints"}


def _adaptive(layer: str, input, output_size, dims: int) -> tuple[Variable, tuple[int, ...]]:
    """The input and the checked output size (``None`` keeps an input size) of an adaptive
    pool over the last ``dims`` axes."""
    input = as_input(input, layer)
    spatial = conv.SPATIAL[dims]
    if input.ndim not in (dims + 1, dims + 2) or 0 in input.shape[-dims:]:
        raise ShapeError(
            f"{layer}: expected a {dims + 1}-d (C, {spatial}) or {dims + 2}-d (N, C, {spatial}) "
            f"input with non-zero {spatial}, got shape {input.shape}"
        )
    if output_size is None or isinstance(output_size, int | np.integer):
        output_size = (output_size,) * dims
    if not isinstance(output_size, tuple | list) or len(output_size) != dims:
        error = OperandError if not isinstance(output_size, tuple | list) else InputError
        raise error(
            f"{layer}: output_size must be an int or {_SIZES[dims]} (None keeps a size), got "
            f"{output_size!r}"
        )
    if dims == 1 and None in output_size:  # (PyTorch keeps a size only in 2-d and 3-d pools)
        raise OperandError(f"{layer}: output_size must be an int, got {output_size!r}")
    sizes = input.shape[-dims:]
    size = tuple(s if o is None else o for o, s in zip(output_size, sizes, strict=True))
    return input, conv.tuple_of(size, dims, layer, "output_size", low=0)  # 0: an empty output


def adaptive_avg_pool(layer, input, output_size, dims: int) -> Variable:
    """The checked adaptive average pool over the last ``dims`` axes."""
    input, size = _adaptive(layer, input, output_size, dims)
    if input.dtype.kind != "f":  # (a mean of integers: PyTorch refuses them too)
        raise InputError(f"{layer}: expected a float input, got {input.dtype}")
    return _ADAPTIVE_AVG[dims].apply(input, size)


def adaptive_avg_pool1d(input, output_size) -> Variable:
    """Mean over PyTorch's adaptive bins [floor(i*L/OL), ceil((i+1)*L/OL)) of (N, C, L)."""
    return adaptive_avg_pool("adaptive_avg_pool1d", input, output_size, 1)


def adaptive_avg_pool2d(input, output_size) -> Variable:
    """Mean over PyTorch's adaptive bins [floor(i*H/OH), ceil((i+1)*H/OH)) of (N, C, H, W);
    ``None`` in ``output_size`` keeps that size."""
    return adaptive_avg_pool("adaptive_avg_pool2d", input, output_size, 2)


def adaptive_avg_pool3d(input, output_size) -> Variable:
    """Mean over PyTorch's adaptive bins of (N, C, D, H, W); ``None`` in ``output_size`` keeps
    that size."""
    return adaptive_avg_pool("adaptive_avg_pool3d", input, output_size, 3)


def adaptive_max_pool(layer, input, output_size, dims: int, return_indices: bool):
    """The checked adaptive max pool over the last ``dims`` axes."""
    input, size = _adaptive(layer, input, output_size, dims)
    out = _ADAPTIVE_MAX[dims].apply(input, size)
    if not return_indices:
        return out
    found = Variable(pooling.adaptive_max(input._data, size)[1])
    return out, nodiff.announce(nodiff.AdaptiveMaxPoolIndices, (input, size), found)


def adaptive_max_pool1d(input, output_size, return_indices: bool = False):
    """Max over PyTorch's adaptive bins of (N, C, L); ``return_indices`` also returns where
    each maximum is (int64 into L)."""
    return adaptive_max_pool("adaptive_max_pool1d", input, output_size, 1, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices: bool = False):
    """Max over PyTorch's adaptive bins of (N, C, H, W); ``None`` in ``output_size`` keeps
    that size. ``return_indices`` also returns where each maximum is (int64 into H * W)."""
    return adaptive_max_pool("adaptive_max_pool2d", input, output_size, 2, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices: bool = False):
    """Max over PyTorch's adaptive bins of (N, C, D, H, W); ``None`` in ``output_size`` keeps
    that size. ``return_indices`` also returns where each maximum is (int64 into D * H * W)."""
    return adaptive_max_pool("adaptive_max_pool3d", input, output_size, 3, return_indices)
