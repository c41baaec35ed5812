"""``MaxUnpool1d/2d/3d``, ``LPPool1d/2d``, ``ChannelShuffle``, ``AlphaDropout`` and
``FeatureAlphaDropout``: layers with PyTorch's arguments and reprs over ``functional``."""

from __future__ import annotations

from typing import Any

from gradviz.autograd import functional as F
from gradviz.autograd.nn.layers import Dropout
from gradviz.autograd.nn.module import LayerName, Module
from gradviz.autograd.ops import conv, unpool
from gradviz.autograd.variable import Variable


class _MaxUnpoolNd(Module):
    _dims = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        name, dims = type(self).__name__, self._dims
        self.kernel_size = conv.tuple_of(kernel_size, dims, name, "kernel_size")
        given = kernel_size if stride is None else stride
        self.stride = conv.tuple_of(given, dims, name, "stride")
        self.padding = conv.tuple_of(padding, dims, name, "padding", low=0)

    def forward(self, input: Variable, indices: Any, output_size: Any = None) -> Variable:
        args = (self.kernel_size, self.stride, self.padding, output_size)
        return unpool.max_unpool(LayerName(self), self._dims, input, indices, *args)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool1d``: ``forward(input, indices, output_size=None)``
    puts each value back where the pool's ``indices`` say, zeros elsewhere."""

    _dims = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool2d``: ``forward(input, indices, output_size=None)``
    puts each value back where the pool's ``indices`` say, zeros elsewhere."""


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool3d``: ``forward(input, indices, output_size=None)``
    puts each value back where the pool's ``indices`` say, zeros elsewhere."""

    _dims = 3


class _LPPoolNd(Module):
    def __init__(
        self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
    ) -> None:
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPoolNd):
    """The power-average pool ``(sum of x**p over each window) ** (1/p)`` of (N, C, L)."""

    def forward(self, input: Variable) -> Variable:
        args = (self.norm_type, self.kernel_size, self.stride, self.ceil_mode)
        return F.lp_pool1d(input, *args)


class LPPool2d(_LPPoolNd):
    """The power-average pool ``(sum of x**p over each window) ** (1/p)`` of (N, C, H, W)."""

    def forward(self, input: Variable) -> Variable:
        args = (self.norm_type, self.kernel_size, self.stride, self.ceil_mode)
        return F.lp_pool2d(input, *args)


class ChannelShuffle(Module):
    """Interleave ``groups`` groups of channels of (N, C, *) (ShuffleNet's shuffle)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Variable) -> Variable:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class AlphaDropout(Dropout):
    """Dropout that keeps SELU's mean 0 and variance 1 (training mode only)."""

    def forward(self, x: Variable) -> Variable:
        return F.alpha_dropout(x, self.p, self.training, self.inplace)


class FeatureAlphaDropout(Dropout):
    """``AlphaDropout`` of whole channels of (N, C, *) (training mode only)."""

    def forward(self, x: Variable) -> Variable:
        return F.feature_alpha_dropout(x, self.p, self.training, self.inplace)
