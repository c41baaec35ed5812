"""More layers with PyTorch's names over ``functional``: ``LogSoftmax``, ``ReLU6``,
``Hardtanh`` and ``Unflatten``."""

from __future__ import annotations

from typing import Any

from gradviz.autograd import functional as F
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import OperandError, ShapeError
from gradviz.autograd.nn.module import Module
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Variable) -> Variable:
        x = as_variable(input, "LogSoftmax")
        return F.log_softmax(x, self.dim, 5)  # no dim: PyTorch's legacy choice and warning

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Hardtanh(Module):
    """Clamp into ``[min_val, max_val]`` (gradient 0 at the bounds)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace
        F.hardtanh(Variable(0.0), min_val, max_val)  # the bounds checked at construction

    def forward(self, input: Variable) -> Variable:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Unflatten(Module):
    """Dim ``dim`` split into ``unflattened_size`` (one entry may be -1)."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        if not isinstance(unflattened_size, list | tuple):
            raise OperandError(
                "Unflatten: unflattened_size must be a tuple of ints, but found type "
                f"{type(unflattened_size).__name__}"
            )
        for n in unflattened_size:
            if isinstance(n, bool) or not isinstance(n, int):
                raise OperandError(
                    "Unflatten: unflattened_size must be tuple of ints, but found element of "
                    f"type {type(n).__name__} at pos {list(unflattened_size).index(n)}"
                )
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Variable) -> Variable:
        x = as_variable(input, "Unflatten")
        axis = dim_index(self.dim, x.ndim, "unflatten")
        sizes = self.unflattened_size
        known = 1
        for n in sizes:
            known *= n if n != -1 else 1
        if (-1 not in sizes and known != x.shape[axis]) or (known and x.shape[axis] % known):
            raise ShapeError(
                f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
                f"{self.dim} ({x.shape[axis]}) in the input tensor"
            )
        return x.reshape(*x.shape[:axis], *sizes, *x.shape[axis + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
