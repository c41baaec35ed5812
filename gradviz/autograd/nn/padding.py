"""Padding layers over ``functional.pad``: ``ZeroPad``, ``ConstantPad``, ``ReflectionPad``,
``ReplicationPad`` and ``CircularPad`` in 1, 2 and 3 dims, with PyTorch's reprs."""

from __future__ import annotations

from typing import Any

from gradviz.autograd import functional as F
from gradviz.autograd.errors import InputError, OperandError
from gradviz.autograd.nn.module import Module
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable


def _amounts(padding: Any, n: int, layer: str) -> tuple[int, ...]:
    """``padding`` (an int for all ``n`` sides, or ints: left, right, top, bottom, front,
    back; fewer pad fewer dims, as PyTorch keeps a sequence as given) as a tuple."""
    if isinstance(padding, int) and not isinstance(padding, bool):
        return (padding,) * n
    if isinstance(padding, tuple | list):
        return tuple(padding)
    raise OperandError(f"{layer}: padding must be an int or a tuple of ints, got {padding!r}")


class _PadNd(Module):
    """Pad the last ``dims`` dims of the input in ``mode``; ``padding`` is PyTorch's order."""

    mode = "constant"
    dims = 1

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _amounts(padding, 2 * self.dims, type(self).__name__)

    def forward(self, input: Variable) -> Variable:
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Variable) -> Variable:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input: Variable) -> Variable:
        x = as_variable(input, type(self).__name__)
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise InputError(
                f"expected {self.dims + 1}D or {self.dims + 2}D input (got {x.ndim}D input)"
            )
        return F.pad(x, self.padding, self.mode)


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``padding`` is (left, right) or one int."""


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with ``value``: (left, right, top, bottom) or one int."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with ``value``: (left, right, top, bottom, front, back)."""

    dims = 3


class _ZeroPad:
    """Constant padding with zeros, shown as its padding alone (PyTorch's repr)."""

    padding: tuple[int, ...]

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)  # type: ignore[call-arg]

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPad, ConstantPad1d):
    """Pad the last dim with zeros."""


class ZeroPad2d(_ZeroPad, ConstantPad2d):
    """Pad the last 2 dims with zeros."""


class ZeroPad3d(_ZeroPad, ConstantPad3d):
    """Pad the last 3 dims with zeros."""


class ReflectionPad1d(_PadNd):
    """Pad the last dim with its mirror image (the edge not repeated)."""

    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Pad the last 2 dims with their mirror image."""

    dims = 2


class ReflectionPad3d(ReflectionPad1d):
    """Pad the last 3 dims with their mirror image."""

    dims = 3


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating its edge element."""

    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Pad the last 2 dims by repeating their edges."""

    dims = 2


class ReplicationPad3d(ReplicationPad1d):
    """Pad the last 3 dims by repeating their edges."""

    dims = 3


class CircularPad1d(_CircularPadNd):
    """Pad the last dim by wrapping around (a 2-d or 3-d input)."""


class CircularPad2d(_CircularPadNd):
    """Pad the last 2 dims by wrapping around (a 3-d or 4-d input)."""

    dims = 2


class CircularPad3d(_CircularPadNd):
    """Pad the last 3 dims by wrapping around (a 4-d or 5-d input)."""

    dims = 3


__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]
