"""More methods of ``Variable`` with PyTorch's names (``prod``, ``sign``, ``round``, ``diag``,
``outer``, ``lerp``, ``add``/``sub`` with ``alpha``, ``unique``, ``nonzero`` ...), a mixin.

Each checks its arguments as PyTorch does, in its words, and applies one op of
``gradviz.autograd.ops`` (the counting ones carry no gradient), which ``variable.py`` hands
to this module once it can be imported (ops need ``Variable`` itself), as for the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd.errors import InputError, OperandError, ShapeError
from gradviz.autograd.variable_alias import AliasMethods

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable


_ops: Any = None  # gradviz.autograd.ops, set by variable.py


def _int_argument(value: Any, op: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise OperandError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    return int(value)


def _as_variable(self: Any, other: Any) -> Any:
    return other if isinstance(other, self._plain) else self._plain(np.asarray(other))


class MoreMethods(AliasMethods):
    """prod, sign, round, count_nonzero, diag, outer, lerp, add/sub, bincount, unique,
    nonzero, with PyTorch's names and arguments."""

    __slots__ = ()

    def prod(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Variable:
        """Product over ``dim`` (one int; None: every element); bool and integer inputs give
        int64; the gradient is exact where the input has zeros, as PyTorch's."""
        return _ops.prod(self, dim, keepdim, dtype)

    def sign(self) -> Variable:
        """-1, 0 or 1 by the sign of each element (0 at NaN); zero gradient."""
        return _ops.Sign.apply(self)

    def round(self, decimals: int = 0) -> Variable:
        """Round half to even (at ``decimals`` digits); zero gradient, as PyTorch's."""
        decimals = _int_argument(decimals, "round", "decimals")
        if decimals and self.dtype.kind != "f":
            name = {"b": "Bool", "u": "Byte"}.get(self.dtype.kind, "Long")
            raise InputError(f"\"round_cpu\" not implemented for '{name}' (with decimals)")
        return _ops.Round.apply(self, decimals)

    def count_nonzero(self, dim: Any = None) -> Variable:
        """The number of nonzero elements over ``dim`` (int64, no gradient)."""
        return _ops.count_nonzero(self, dim)

    def diag(self, diagonal: int = 0) -> Variable:
        """A 1-d input on the ``diagonal``-th diagonal of a square matrix, or the diagonal of a
        2-d input (1-d), as PyTorch's ``diag``."""
        diagonal = _int_argument(diagonal, "diag", "diagonal")
        if self.ndim not in (1, 2):
            raise ShapeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        return _ops.Diag.apply(self, diagonal)

    def outer(self, vec2: Any) -> Variable:
        """``self[i] * vec2[j]`` of two 1-d inputs (in their promoted dtype)."""
        other = _as_variable(self, vec2)
        for name, v in (("input", self), ("vec2", other)):
            if v.ndim != 1:
                raise ShapeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
        from gradviz.autograd.ops.promotion import result_type

        dtype = result_type(self._data, other._data)
        return _ops.Outer.apply(self.to(dtype), other.to(dtype))

    def lerp(self, end: Any, weight: Any) -> Variable:
        """``self + weight * (end - self)``; ``weight`` a number or a Variable (broadcast);
        ``end`` and a Variable weight must have self's floating dtype, as in PyTorch."""
        if self.dtype.kind != "f":
            raise InputError(f"lerp(): expected a floating point input, got dtype {self.dtype}")
        end = _as_variable(self, end)
        if not isinstance(weight, int | float) or isinstance(weight, bool):
            weight = _as_variable(self, weight)
        for name, v in (("end", end), ("weight", weight)):
            if not isinstance(v, int | float) and v.dtype != self.dtype:
                raise InputError(
                    f"expected dtype {self.dtype} for `{name}` but got dtype {v.dtype}"
                )
        _broadcastable(self.shape, end.shape, np.shape(weight))
        return _ops.Lerp.apply(self, end, weight)

    def add(self, other: Any, *, alpha: Any = 1) -> Variable:
        """``self + alpha * other``, as PyTorch's ``add``."""
        return self + _scaled(self, other, alpha, "add")

    def sub(self, other: Any, *, alpha: Any = 1) -> Variable:
        """``self - alpha * other``, as PyTorch's ``sub``."""
        return self - _scaled(self, other, alpha, "sub")

    def bincount(self, weights: Any = None, minlength: int = 0) -> Variable:
        """How often each value of a 1-d non-negative integer input occurs (int64), or the sums
        of ``weights`` by value; no gradient."""
        return _ops.bincount(self, weights, minlength)

    def unique(
        self,
        sorted: bool = True,
        return_inverse: bool = False,
        return_counts: bool = False,
        dim: int | None = None,
    ) -> Any:
        """The distinct values (ascending; slices along ``dim``), with the inverse indices and
        counts when asked (int64); no gradient."""
        return _ops.unique(self, sorted, return_inverse, return_counts, dim)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The indices of the nonzero elements: ``(n, ndim)`` int64, or one 1-d int64 Variable
        per dim with ``as_tuple``."""
        return _ops.nonzero(self, as_tuple)


def _broadcastable(*shapes: tuple[int, ...]) -> None:
    """Raise PyTorch's size-mismatch ``ShapeError`` unless ``shapes`` broadcast together."""
    from gradviz.autograd.variable_compare import _shape_error

    out = shapes[0]
    for shape in shapes[1:]:
        try:
            out = np.broadcast_shapes(out, shape)
        except ValueError as error:
            raise _shape_error(out, shape, error) from None


def _scaled(self: Any, other: Any, alpha: Any, op: str) -> Any:
    """``alpha * other`` for ``add``/``sub``, ``alpha`` checked as PyTorch checks it."""
    if isinstance(alpha, bool) and self.dtype.kind != "b":
        raise OperandError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, float) and self.dtype.kind in "biu":
        raise OperandError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )
    if not isinstance(alpha, int | float | np.number):
        raise OperandError(f"{op}(): argument 'alpha' must be a Number, not {type(alpha).__name__}")
    return other if alpha == 1 else other * alpha
