"""Transposed convolution layers with PyTorch's signatures, defaults, parameters and init."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import functional_resample
from gradviz.autograd.errors import ArgumentError, OperandError
from gradviz.autograd.nn.conv import _ConvNd
from gradviz.autograd.nn.module import LayerName
from gradviz.autograd.ops import conv
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.variable import Variable


class _ConvTransposeNd(_ConvNd):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ArgumentError(f'Only "zeros" padding mode is supported for {name}')
        if isinstance(padding, str):
            raise ArgumentError(f"{name}: padding must be an int or ints, got {padding!r}")
        args = (kernel_size, stride, padding, dilation, groups, bias)
        super().__init__(in_channels, out_channels, *args, device=device, dtype=dtype)
        self.output_padding = conv.tuple_of(output_padding, self._dims, name, "output_padding", 0)

    def _weight_shape(self) -> tuple[int, ...]:
        """PyTorch's layout: (in_channels, out_channels / groups, *kernel_size)."""
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    def _output_padding(self, input: Variable, output_size: Any) -> tuple[int, ...]:
        """``output_padding``, or the one that gives ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        dims = self._dims
        non_spatial = 2 if input.ndim == dims + 2 else 1
        if not isinstance(output_size, tuple | list) or not all(
            isinstance(n, int | np.integer) and not isinstance(n, bool) for n in output_size
        ):
            what = "length" if dims == 1 else "height and width"
            raise OperandError(
                f"{LayerName(self)}: output_size must be a sequence of ints (the output's "
                f"{what}), got {output_size!r}"
            )
        output_size = tuple(int(n) for n in output_size)
        if len(output_size) == non_spatial + dims:
            output_size = output_size[non_spatial:]
        if len(output_size) != dims:
            raise ArgumentError(
                f"ConvTranspose{dims}D: for {input.ndim}D input, output_size must have {dims} "
                f"or {non_spatial + dims} elements (got {len(output_size)})"
            )
        low = tuple(
            (n - 1) * s - 2 * p + d * (k - 1) + 1
            for n, s, p, d, k in zip(
                input.shape[non_spatial:],
                self.stride,
                self.padding,
                self.dilation,
                self.kernel_size,
                strict=True,
            )
        )
        high = tuple(m + s - 1 for m, s in zip(low, self.stride, strict=True))
        if any(not a <= n <= b for n, a, b in zip(output_size, low, high, strict=True)):
            raise ArgumentError(
                f"{LayerName(self)}: requested an output size of {list(output_size)}, but valid "
                "sizes range from "
                f"{list(low)} to {list(high)} (for an input of {input.shape[non_spatial:]})"
            )
        return tuple(n - m for n, m in zip(output_size, low, strict=True))

    def forward(self, input: Variable, output_size: Any = None) -> Variable:
        layer = LayerName(self)
        input = as_input(input, layer)
        output_padding = self._output_padding(input, output_size)
        args = (self.stride, self.padding, output_padding, self.groups, self.dilation)
        return functional_resample.conv_transpose(
            layer, self._dims, input, self.weight, self.bias, *args
        )

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.output_padding == (0,) * self._dims:
            return text
        tail = [text.find(key) for key in (", groups=", ", bias=") if key in text]
        cut = min(tail, default=len(text))
        return f"{text[:cut]}, output_padding={self.output_padding}{text[cut:]}"


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution over (N, C, L): weight (in, out/groups, k), bias (out,)."""

    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution over (N, C, H, W): weight (in, out/groups, kh, kw), bias
    (out,)."""

    _dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-d transposed convolution over (N, C, D, H, W): weight (in, out/groups, kd, kh, kw),
    bias (out,)."""

    _dims = 3
