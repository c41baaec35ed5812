"""Convolution and pooling layers with PyTorch's signatures, defaults, parameters and init."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd import functional_pool as P
from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.nn import init
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import layer_index, layer_size
from gradviz.autograd.nn.module import LayerName, Module, Parameter
from gradviz.autograd.ops import conv
from gradviz.autograd.variable import Variable, get_default_dtype

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    _dims = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name, dims = type(self).__name__, self._dims
        in_channels = layer_size(name, "in_channels", in_channels)
        out_channels = layer_size(name, "out_channels", out_channels)
        if padding_mode not in _PADDING_MODES:
            raise ArgumentError(
                f"{name}: padding_mode must be one of 'zeros', 'reflect', 'replicate' or "
                f"'circular', but got padding_mode={padding_mode!r}"
            )
        groups = layer_index(name, "groups", groups)
        if groups < 1:
            raise ArgumentError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups or out_channels % groups:
            raise ArgumentError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = conv.tuple_of(kernel_size, dims, name, "kernel_size")
        self.stride = conv.tuple_of(stride, dims, name, "stride")
        self.dilation = conv.tuple_of(dilation, dims, name, "dilation")
        if isinstance(padding, str):
            conv.conv_padding(padding, self.kernel_size, self.stride, self.dilation, name)
            self.padding = padding
        else:
            self.padding = conv.tuple_of(padding, dims, name, "padding", low=0)
        self.padding_mode = padding_mode
        self.weight = Parameter(np.empty(self._weight_shape(), dtype=get_default_dtype()))
        if bias:
            self.bias = Parameter(np.empty((out_channels,), dtype=get_default_dtype()))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        place(self, device, dtype)

    def _weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def reset_parameters(self) -> None:
        """PyTorch's init: kaiming_uniform_(a=sqrt(5)) weights, bias in ±1/sqrt(fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Variable) -> Variable:
        layer = LayerName(self)
        padding = self.padding
        if self.padding_mode != "zeros":  # padded first by F.pad, as PyTorch does
            pairs = conv.conv_padding(padding, self.kernel_size, self.stride, self.dilation, layer)
            if input.ndim in (self._dims + 1, self._dims + 2):  # else the conv's check says
                amounts = tuple(n for pair in reversed(pairs) for n in pair)
                input = F.pad(input, amounts, mode=self.padding_mode)
                padding = 0
        return F._convolution(
            layer,
            input,
            self.weight,
            self.bias,
            self.stride,
            padding,
            self.dilation,
            self.groups,
            self._dims,
        )

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self._dims:
            text += f", padding={self.padding}"  # padding=same, as PyTorch prints it
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """1-d convolution over (N, C, L): weight (out, in/groups, k), bias (out,)."""

    _dims = 1


class Conv2d(_ConvNd):
    """2-d convolution over (N, C, H, W): weight (out, in/groups, kh, kw), bias (out,)."""

    _dims = 2


class Conv3d(_ConvNd):
    """3-d convolution over (N, C, D, H, W) (video, volumes): weight (out, in/groups, kd, kh,
    kw), bias (out,)."""

    _dims = 3


class MaxPool2d(Module):
    """Max over windows of (N, C, H, W)."""

    _dims = 2

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input: Variable) -> Variable:
        return P.max_pool(
            LayerName(self),
            self._dims,
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Mean over windows of (N, C, H, W)."""

    _dims = 2

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Variable) -> Variable:
        return P.avg_pool(
            LayerName(self),
            self._dims,
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            getattr(self, "divisor_override", None),  # (AvgPool1d has none)
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Mean over PyTorch's adaptive bins of (N, C, H, W)."""

    _dims = 2

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Variable) -> Variable:
        return P.adaptive_avg_pool(LayerName(self), input, self.output_size, self._dims)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxPool3d(MaxPool2d):
    """Max over windows of (N, C, D, H, W)."""

    _dims = 3


class AvgPool3d(AvgPool2d):
    """Mean over windows of (N, C, D, H, W)."""

    _dims = 3


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """Mean over PyTorch's adaptive bins of (N, C, D, H, W)."""

    _dims = 3
