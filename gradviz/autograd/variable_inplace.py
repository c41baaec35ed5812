"""The in-place methods of ``Variable`` (``+=``, ``add_``, ``x[mask] = 0`` ...), a mixin.

Each is a two-line delegation to ``gradviz.autograd.inplace``, which ``variable.py`` hands to
this module once it can be imported (it needs ``Variable`` itself). They return the same
object, its array written with NumPy's ``out=``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable

_inplace: Any = None  # gradviz.autograd.inplace, set by variable.py
_views: Any = None  # gradviz.autograd.inplace_views, set by variable.py


class InplaceMethods:
    """In-place ops with PyTorch's semantics (see ``gradviz.autograd.inplace``)."""

    __slots__ = ()

    def __iadd__(self, other: Any) -> Variable:
        return _inplace.add_(self, other)

    def __isub__(self, other: Any) -> Variable:
        return _inplace.sub_(self, other)

    def __imul__(self, other: Any) -> Variable:
        return _inplace.mul_(self, other)

    def __itruediv__(self, other: Any) -> Variable:
        return _inplace.div_(self, other)

    def __ipow__(self, other: Any) -> Variable:
        return _inplace.pow_(self, other)

    def __setitem__(self, index: Any, value: Any) -> None:
        _inplace.setitem(self, index, value)

    def add_(self, other: Any, alpha: float = 1) -> Variable:
        """``self += alpha * other`` in place; returns self."""
        return _inplace.add_(self, other, alpha)

    def sub_(self, other: Any, alpha: float = 1) -> Variable:
        """``self -= alpha * other`` in place; returns self."""
        return _inplace.sub_(self, other, alpha)

    def mul_(self, other: Any) -> Variable:
        """``self *= other`` in place; returns self."""
        return _inplace.mul_(self, other)

    def div_(self, other: Any) -> Variable:
        """``self /= other`` in place; returns self."""
        return _inplace.div_(self, other)

    def pow_(self, exponent: Any) -> Variable:
        """``self **= exponent`` in place; returns self."""
        return _inplace.pow_(self, exponent)

    def neg_(self) -> Variable:
        """``self = -self`` in place; returns self."""
        return _inplace.neg_(self)

    def clamp_(self, min: float | None = None, max: float | None = None) -> Variable:
        """Clamp into ``[min, max]`` in place; returns self."""
        return _inplace.clamp_(self, min, max)

    clip_ = clamp_

    def zero_(self) -> Variable:
        """Set every element to 0; returns self."""
        return _inplace.zero_(self)

    def fill_(self, value: Any) -> Variable:
        """Set every element to ``value``; returns self."""
        return _inplace.fill_(self, value)

    def copy_(self, src: Any) -> Variable:
        """Copy ``src`` (broadcast, cast to this dtype) into self; returns self."""
        return _inplace.copy_(self, src)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Variable:
        """Fill with uniform draws on ``[a, b)`` (seeded by ``manual_seed``); returns self."""
        return _inplace.uniform_(self, a, b)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Variable:
        """Fill with normal draws (seeded by ``manual_seed``); returns self."""
        return _inplace.normal_(self, mean, std)

    def masked_fill_(self, mask: Any, value: Any) -> Variable:
        """Set ``value`` where ``mask`` is true; returns self."""
        return _inplace.masked_fill_(self, mask, value)

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Variable:
        """Set the main diagonal to ``fill_value``; returns self."""
        return _views.fill_diagonal_(self, fill_value, wrap)

    def unsqueeze_(self, dim: int) -> Variable:
        """Insert a size-1 dim at ``dim``, in place; returns self."""
        return _views.unsqueeze_(self, dim)

    def squeeze_(self, dim: Any = None) -> Variable:
        """Drop size-1 dims (``dim``, or every one), in place; returns self."""
        return _views.squeeze_(self, dim)

    def transpose_(self, dim0: int, dim1: int) -> Variable:
        """Swap dims ``dim0`` and ``dim1`` in place; returns self."""
        return _views.transpose_(self, dim0, dim1)

    swapaxes_ = swapdims_ = transpose_

    def t_(self) -> Variable:
        """Transpose a matrix in place; returns self."""
        return _views.t_(self)
