"""``nn.functional`` for autoencoders, U-Nets and spatial transformers: transposed
convolutions, ``interpolate``, pixel (un)shuffle, ``affine_grid`` and ``grid_sample``, with
PyTorch's signatures and checks (re-exported by ``functional``). Each call is one op of
``ops``."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from gradviz.autograd import ops
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.functional_pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
)
from gradviz.autograd.ops import conv, resample
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.variable import Variable, as_array

_TRANSPOSED = {
    1: ops.conv_transpose.ConvTranspose1d,
    2: ops.conv_transpose.ConvTranspose2d,
    3: ops.conv_transpose.ConvTranspose3d,
}


# ------------------------------------------------------------------ transposed convolution
def conv_transpose(
    layer, dims, input, weight, bias, stride, padding, output_padding, groups, dilation
):
    """The checked transposed convolution over ``dims`` axes; ``layer`` names it in errors."""
    input = as_input(input, layer)
    weight = weight if isinstance(weight, Variable) else as_input(weight, layer)
    bias = bias if bias is None or isinstance(bias, Variable) else as_input(bias, layer)
    if weight.ndim != dims + 2:
        raise ShapeError(
            f"{layer}: expected a {dims + 2}-d weight (in_channels, out_channels / groups, "
            f"{conv.SPATIAL[dims]}), got weight of shape {weight.shape}"
        )
    stride = conv.tuple_of(stride, dims, layer, "stride")
    dilation = conv.tuple_of(dilation, dims, layer, "dilation")
    padding = conv.tuple_of(padding, dims, layer, "padding", low=0)
    output_padding = conv.tuple_of(output_padding, dims, layer, "output_padding", low=0)
    (groups,) = conv.tuple_of(groups, 1, layer, "groups")
    if any(o >= max(s, d) for o, s, d in zip(output_padding, stride, dilation, strict=True)):
        raise InputError(
            f"{layer}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={output_padding}, stride={stride} and dilation={dilation}"
        )
    shape = (1, *input.shape) if input.ndim == dims + 1 else input.shape
    bias_shape = None if bias is None else np.shape(as_array(bias))
    _check_conv_transpose(layer, dims, shape, weight.shape, bias_shape, groups)
    size = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(
            shape[2:], stride, padding, dilation, weight.shape[2:], output_padding, strict=True
        )
    )
    if any(n < 1 for n in size):
        raise ShapeError(
            f"{layer}: Given input size {tuple(shape[2:])} (input {input.shape}), calculated "
            f"output size {size} is too small (weight {weight.shape}, stride {stride}, padding "
            f"{padding}, dilation {dilation})"
        )
    args = (stride, padding, output_padding, groups, dilation)
    return _TRANSPOSED[dims].apply(input, weight, bias, *args)


def _check_conv_transpose(layer, dims, x_shape, w_shape, b_shape, groups) -> None:
    if len(x_shape) != dims + 2:
        raise ShapeError(
            f"{layer}: expected a {dims + 1}-d (C_in, {conv.SPATIAL[dims]}) or {dims + 2}-d (N, "
            f"C_in, {conv.SPATIAL[dims]}) input for weight {tuple(w_shape)}, got input of shape "
            f"{tuple(x_shape)}"
        )
    if w_shape[0] % groups:
        raise ShapeError(
            f"{layer}: in_channels {w_shape[0]} (weight {tuple(w_shape)}) must be divisible by "
            f"groups={groups}"
        )
    if x_shape[1] != w_shape[0]:
        raise ShapeError(
            f"{layer}: Given transposed=1, weight of size {list(w_shape)}, expected "
            f"input{list(x_shape)} to have {w_shape[0]} channels, but got {x_shape[1]} channels "
            f"instead"
        )
    if b_shape is not None and tuple(b_shape) != (w_shape[1] * groups,):
        raise ShapeError(
            f"{layer}: expected bias of shape ({w_shape[1] * groups},) for weight "
            f"{tuple(w_shape)} and groups={groups}, got {tuple(b_shape)}"
        )


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Variable:
    """2-d transposed convolution of (N, C_in, H, W) (or (C_in, H, W)) with weight (C_in,
    C_out/groups, KH, KW): the output is (H-1)*stride - 2*padding + dilation*(KH-1) +
    output_padding + 1 high. One ``ConvTranspose2d`` node."""
    args = (stride, padding, output_padding, groups, dilation)
    return conv_transpose("conv_transpose2d", 2, input, weight, bias, *args)


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Variable:
    """1-d transposed convolution of (N, C_in, L) (or (C_in, L)) with weight (C_in,
    C_out/groups, K). One ``ConvTranspose1d`` node."""
    args = (stride, padding, output_padding, groups, dilation)
    return conv_transpose("conv_transpose1d", 1, input, weight, bias, *args)


def conv_transpose3d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Variable:
    """3-d transposed convolution of (N, C_in, D, H, W) (or (C_in, D, H, W)) with weight (C_in,
    C_out/groups, KD, KH, KW). One ``ConvTranspose3d`` node."""
    args = (stride, padding, output_padding, groups, dilation)
    return conv_transpose("conv_transpose3d", 3, input, weight, bias, *args)


# ---------------------------------------------------------------------------- resampling
_NEAREST = {
    "nearest": {
        3: resample.UpsampleNearest1d,
        4: resample.UpsampleNearest2d,
        5: resample.UpsampleNearest3d,
    },
    "nearest-exact": {
        3: resample.UpsampleNearestExact1d,
        4: resample.UpsampleNearestExact2d,
        5: resample.UpsampleNearestExact3d,
    },
}
_AREA = {3: adaptive_avg_pool1d, 4: adaptive_avg_pool2d, 5: adaptive_avg_pool3d}
_INTERPOLATING = {  # mode: (the input's rank, the op)
    "linear": (3, resample.UpsampleLinear1d),
    "bilinear": (4, resample.UpsampleBilinear2d),
    "bicubic": (4, resample.UpsampleBicubic2d),
    "trilinear": (5, resample.UpsampleTrilinear3d),
}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


def _per_dim(value, dims: int, what: str, input) -> tuple:
    if not isinstance(value, tuple | list):
        return (value,) * dims
    if len(value) != dims:
        raise ArgumentError(
            f"interpolate: Input and {what} must have the same number of spatial dimensions, "
            f"but got input with spatial dimensions of {list(input.shape[2:])} and {what} of "
            f"{value}"
        )
    return tuple(value)


def _output_size(input, size, scale_factor, recompute) -> tuple[tuple[int, ...], tuple | None]:
    """The output's spatial size and the scale factors the kernel uses (None: from sizes)."""
    dims = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ArgumentError("interpolate: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ArgumentError("interpolate: either size or scale_factor should be defined")
    if size is not None:
        if recompute:
            raise ArgumentError(
                "interpolate: recompute_scale_factor is not meaningful with an explicit size."
            )
        sizes = _per_dim(size, dims, "output size", input)
        if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in sizes):
            raise OperandError(f"interpolate: expected size to be ints, but got size {size!r}")
        return tuple(int(n) for n in sizes), None
    factors = _per_dim(scale_factor, dims, "scale_factor", input)
    try:
        if any(isinstance(s, str | bytes | bool) for s in factors):
            raise TypeError
        scales = tuple(float(s) for s in factors)
    except (TypeError, ValueError):
        raise OperandError(
            f"interpolate: expected scale_factor to be numbers, but got {scale_factor!r}"
        ) from None
    if not all(math.isfinite(s) for s in scales):
        raise InputError(f"interpolate: scale_factor must be finite, got {scale_factor!r}")
    out = tuple(int(n * s) for n, s in zip(input.shape[2:], scales, strict=True))
    return out, None if recompute else scales


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Variable:
    """Resample (N, C, ...) to ``size`` or by ``scale_factor``: ``mode`` "nearest" or
    "nearest-exact" (3-, 4- or 5-d input; the latter samples at each output element's centre),
    "linear" (3-d), "bilinear" or "bicubic" (4-d), "trilinear" (5-d; ``align_corners`` maps
    corner pixels' centres onto each other) or "area" (adaptive average pooling)."""
    input = as_input(input, "interpolate")
    if mode not in _MODES:
        raise ArgumentError(
            f"interpolate: mode {mode!r} is not supported (supported: {', '.join(_MODES)})"
        )
    if mode not in _INTERPOLATING and align_corners is not None:
        raise ArgumentError(
            "interpolate: align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    if antialias:
        raise ArgumentError("interpolate: antialias=True is not supported")
    if input.ndim not in (3, 4, 5):
        raise InputError(
            f"interpolate: Input Error: Only 3D, 4D and 5D input Tensors supported (got "
            f"{input.ndim}D) for the modes: {' | '.join(_MODES)} "
            f"(got {mode})"
        )
    out, scales = _output_size(input, size, scale_factor, recompute_scale_factor)
    if 0 in input.shape[2:] or any(n < 1 for n in out):
        raise InputError(
            f"interpolate: Input and output sizes should be greater than 0, but got input "
            f"{tuple(input.shape[2:])} output {out}"
        )
    if mode in _NEAREST:
        return _NEAREST[mode][input.ndim].apply(input, out, scales)
    if mode == "area":
        return _AREA[input.ndim](input, out)
    rank, op = _INTERPOLATING[mode]
    if input.dtype.kind != "f":
        raise InputError(f"interpolate: mode {mode!r} needs a float input, got {input.dtype}")
    if input.ndim != rank:
        raise InputError(
            f"interpolate: Got {input.ndim}D input, but {mode} mode needs {rank}D input"
        )
    return op.apply(input, out, bool(align_corners), scales)


# ------------------------------------------------------------------------- pixel shuffle
def _factor(layer: str, value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise OperandError(f"{layer}(): argument '{name}' must be int, not {type(value).__name__}")
    if value < 1:
        raise InputError(f"{layer} expects a positive {name}, but got {value}")
    return int(value)


def _shuffle_input(layer: str, input, factor, name: str) -> tuple[Variable, int]:
    input = as_input(input, layer)
    r = _factor(layer, factor, name)
    if input.ndim < 3:
        raise InputError(
            f"{layer} expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    return input, r


def pixel_shuffle(input, upscale_factor: int) -> Variable:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r) for ``r = upscale_factor``."""
    input, r = _shuffle_input("pixel_shuffle", input, upscale_factor, "upscale_factor")
    if input.shape[-3] % (r * r):
        raise InputError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={input.shape[-3]} is not divisible "
            f"by {r * r}"
        )
    return resample.PixelShuffle.apply(input, r)


def pixel_unshuffle(input, downscale_factor: int) -> Variable:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W) for ``r = downscale_factor``."""
    input, r = _shuffle_input("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    for axis, name in ((-2, "height"), (-1, "width")):
        if input.shape[axis] % r:
            raise InputError(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                f"input.size({axis})={input.shape[axis]} is not divisible by {r}"
            )
    return resample.PixelUnshuffle.apply(input, r)


# ------------------------------------------------------------ spatial transformer networks
_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)


def _align(align_corners: bool | None) -> bool:
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def affine_grid(theta: Variable, size: Any, align_corners: bool | None = None) -> Variable:
    """The sampling grid ``(N, H, W, 2)`` (``(N, D, H, W, 3)`` for a 5-d ``size``) of the
    affine maps ``theta`` ``(N, 2, 3)`` (``(N, 3, 4)``), for ``grid_sample``: a spatial
    transformer network's localisation output. One ``AffineGridGenerator`` op, as PyTorch's
    node, whose gradient reaches ``theta``."""
    align = _align(align_corners)
    theta = as_input(theta, "affine_grid")
    size = tuple(int(s) for s in size)
    spatial = len(size) - 2
    if spatial not in (2, 3):
        raise InputError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    if theta.dtype.kind != "f":
        raise OperandError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if theta.ndim == 3 and theta.shape[0] != size[0]:
        raise ShapeError(
            f"affine_grid: theta holds {theta.shape[0]} matrices, size {size} asks for {size[0]}"
        )
    if tuple(theta.shape) != (size[0], spatial, spatial + 1):
        kind = (
            "2D affine matrices of shape Nx2x3"
            if spatial == 2
            else "3D affine matrices of shape Nx3x4"
        )
        raise ArgumentError(
            f"Expected a batch of {kind} for size {size}. Got {tuple(theta.shape)}."
        )
    if min(size[2:]) <= 0:
        raise ArgumentError(f"Expected non-zero, positive output size. Got {size}")
    return ops.grid.AffineGridGenerator.apply(theta, size[2:], bool(align))


def grid_sample(
    input: Variable,
    grid: Variable,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Variable:
    """The values of ``input`` ``(N, C, H, W)`` at the points of ``grid`` ``(N, Ho, Wo, 2)``
    (x then y, in [-1, 1]): ``(N, C, Ho, Wo)``. ``mode`` "bilinear" or "nearest";
    ``padding_mode`` "zeros" or "border" outside the input. One ``GridSample`` op, whose
    gradient reaches the input and (bilinear) the grid."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ArgumentError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ArgumentError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    align = _align(align_corners)
    input, grid = as_input(input, "grid_sample"), as_input(grid, "grid_sample")
    if input.ndim == 5 or mode == "bicubic" or padding_mode == "reflection":
        what = (
            "a 5-d input"
            if input.ndim == 5
            else f"mode={mode!r}"
            if mode == "bicubic"
            else "padding_mode='reflection'"
        )
        raise InputError(
            f"grid_sample: {what} is not supported; use a 4-d input, mode 'bilinear' or "
            "'nearest' and padding_mode 'zeros' or 'border'"
        )
    if input.ndim != 4 or grid.ndim != 4:
        raise ShapeError(
            f"grid_sampler(): expected 4D input and grid with same number of dimensions, but "
            f"got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if grid.shape[-1] != 2:
        raise ShapeError(
            "grid_sampler(): expected grid to have size 2 in last dimension, but got grid "
            f"with sizes {list(grid.shape)}"
        )
    if input.shape[0] != grid.shape[0]:
        raise ShapeError(
            "grid_sampler(): expected grid and input to have same batch size, but got input "
            f"with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if input.dtype != grid.dtype:
        raise OperandError(
            "grid_sampler(): expected input and grid to have same dtype, but input has "
            f"{input.dtype} and grid has {grid.dtype}"
        )
    return ops.grid.GridSample.apply(input, grid, mode, padding_mode, align)
