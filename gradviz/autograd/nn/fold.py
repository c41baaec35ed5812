"""``Unfold`` and ``Fold`` (im2col and col2im), ``GLU`` and ``Softmax2d``, over
``functional`` with PyTorch's arguments and reprs."""

from __future__ import annotations

from typing import Any

from gradviz.autograd import functional as F
from gradviz.autograd.errors import InputError
from gradviz.autograd.nn.module import Module
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable


class Unfold(Module):
    """The sliding blocks of a batch of images as columns: (N, C, H, W) to (N, C*KH*KW, L)."""

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Variable) -> Variable:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding},"
            f" stride={self.stride}"
        )


class Fold(Module):
    """Columns of blocks summed back into images: (N, C*KH*KW, L) to (N, C, *output_size)."""

    def __init__(
        self,
        output_size: Any,
        kernel_size: Any,
        dilation: Any = 1,
        padding: Any = 0,
        stride: Any = 1,
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Variable) -> Variable:
        return F.fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )


class GLU(Module):
    """The gated linear unit along ``dim``: ``a * sigmoid(b)`` of its two halves."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Variable) -> Variable:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels at each place of a (N, C, H, W) or (C, H, W) input."""

    def forward(self, input: Variable) -> Variable:
        x = as_variable(input, "Softmax2d")
        if x.ndim not in (3, 4):
            raise InputError(f"Softmax2d: expected input to be 3D or 4D, got {x.ndim}D instead")
        return F.softmax(x, -3)


__all__ = ["GLU", "Fold", "Softmax2d", "Unfold"]
