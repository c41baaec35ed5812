"""1-d and adaptive pooling, ``Upsample`` and pixel (un)shuffle layers with PyTorch's names,
arguments and reprs."""

from __future__ import annotations

from typing import Any

from gradviz.autograd import functional_pool as P
from gradviz.autograd import functional_resample as R
from gradviz.autograd.errors import OperandError
from gradviz.autograd.nn.conv import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from gradviz.autograd.nn.module import LayerName, Module
from gradviz.autograd.variable import Variable


class MaxPool1d(MaxPool2d):
    """Max over windows of (N, C, L); the arguments are MaxPool2d's, one int each."""

    _dims = 1


def _single(value: Any) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


class AvgPool1d(AvgPool2d):
    """Mean over windows of (N, C, L) (the sizes kept as 1-tuples, as PyTorch keeps them)."""

    _dims = 1

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        stride = None if stride is None else _single(stride)
        super().__init__(
            _single(kernel_size), stride, _single(padding), ceil_mode, count_include_pad
        )
        del self.divisor_override  # (PyTorch's 1-d pool has none)


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Mean over PyTorch's adaptive bins of (N, C, L)."""

    _dims = 1


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    """Max over PyTorch's adaptive bins of (N, C, H, W); ``return_indices`` also returns
    where each maximum is."""

    _dims = 2

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Variable) -> Variable:
        layer = LayerName(self)
        return P.adaptive_max_pool(layer, input, self.output_size, self._dims, self.return_indices)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """Max over PyTorch's adaptive bins of (N, C, L)."""

    _dims = 1


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """Max over PyTorch's adaptive bins of (N, C, D, H, W)."""

    _dims = 3


class Upsample(Module):
    """``interpolate`` to ``size`` or by ``scale_factor`` with ``mode`` (see there)."""

    def __init__(
        self,
        size: Any = None,
        scale_factor: Any = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.size = size
        try:  # PyTorch's reading: a tuple of numbers, or one number (or a string of one)
            if isinstance(scale_factor, tuple):
                self.scale_factor = tuple(float(factor) for factor in scale_factor)
            else:
                self.scale_factor = float(scale_factor) if scale_factor else None
        except (TypeError, ValueError):
            raise OperandError(
                f"{type(self).__name__}: scale_factor must be a number or a tuple of numbers, "
                f"got {scale_factor!r}"
            ) from None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Variable) -> Variable:
        return R.interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode="nearest")`` of (N, C, H, W)."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode="bilinear", align_corners=True)`` of (N, C, H, W)."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r) for ``r = upscale_factor``."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Variable) -> Variable:
        return R.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W) for ``r = downscale_factor``."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Variable) -> Variable:
        return R.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
