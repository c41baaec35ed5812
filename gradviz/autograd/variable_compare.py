"""The comparisons of ``Variable`` (``==``, ``<``, ``eq``, ``isnan``, ``all`` ...), a mixin.

As in PyTorch, each gives a bool Variable that does not require grad and has no op (no
``grad_fn``): ``(pred.argmax(1) == y).float().mean()``, ``x[x > 0]``, ``where(x > 0, x, 0)``,
``if loss < 1e-3:`` all work. The results are built with ``from_op(array, None)``, which
``variable.py`` hands to this module once it can be imported (with ``_operand``), and a trace
listening is told of each (``ops.nodiff``: its pictures show where a mask came from).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd.dims import reduce_dims
from gradviz.autograd.errors import OperandError, ShapeError

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable

_INT64 = np.dtype(np.int64)
from_op: Any = None  # gradviz.autograd.variable.from_op, set by variable.py
_operand: Any = None  # gradviz.autograd.variable._operand, set by variable.py
_nodiff: Any = None  # gradviz.autograd.ops.nodiff (a trace is told of each result), likewise


class CompareMethods:
    """Comparisons, tests of values and boolean reductions, with PyTorch's names."""

    __slots__ = ()

    # `x == None` is False, as in PyTorch: anything not comparable is NotImplemented.
    def __eq__(self, other: object) -> Variable:  # type: ignore[override]
        if not isinstance(other, _COMPARABLE):
            return NotImplemented
        return _compare(np.equal, "==", self, other)

    def __ne__(self, other: object) -> Variable:  # type: ignore[override]
        if not isinstance(other, _COMPARABLE):
            return NotImplemented
        return _compare(np.not_equal, "!=", self, other)

    def __lt__(self, other: Any) -> Variable:
        return _compare(np.less, "<", self, other)

    def __le__(self, other: Any) -> Variable:
        return _compare(np.less_equal, "<=", self, other)

    def __gt__(self, other: Any) -> Variable:
        return _compare(np.greater, ">", self, other)

    def __ge__(self, other: Any) -> Variable:
        return _compare(np.greater_equal, ">=", self, other)

    def eq(self, other: Any) -> Variable:
        """``self == other`` elementwise (a bool Variable)."""
        return _compare(np.equal, "==", self, other)

    def ne(self, other: Any) -> Variable:
        """``self != other`` elementwise (a bool Variable)."""
        return _compare(np.not_equal, "!=", self, other)

    def lt(self, other: Any) -> Variable:
        """``self < other`` elementwise (a bool Variable)."""
        return _compare(np.less, "<", self, other)

    def le(self, other: Any) -> Variable:
        """``self <= other`` elementwise (a bool Variable)."""
        return _compare(np.less_equal, "<=", self, other)

    def gt(self, other: Any) -> Variable:
        """``self > other`` elementwise (a bool Variable)."""
        return _compare(np.greater, ">", self, other)

    def ge(self, other: Any) -> Variable:
        """``self >= other`` elementwise (a bool Variable)."""
        return _compare(np.greater_equal, ">=", self, other)

    def isnan(self) -> Variable:
        """True where the value is NaN."""
        return _test(np.isnan, "Isnan", self)

    def isinf(self) -> Variable:
        """True where the value is +inf or -inf."""
        return _test(np.isinf, "Isinf", self)

    def isfinite(self) -> Variable:
        """True where the value is neither NaN nor infinite."""
        return _test(np.isfinite, "Isfinite", self)

    def all(self, dim: Any = None, keepdim: bool = False) -> Variable:
        """Whether every element (along ``dim``: an int or a tuple) is nonzero (a bool
        Variable; uint8 for a uint8 input, as in PyTorch)."""
        return _logical(np.all, self, dim, keepdim, "all")

    def any(self, dim: Any = None, keepdim: bool = False) -> Variable:
        """Whether some element (along ``dim``: an int or a tuple) is nonzero (a bool
        Variable; uint8 for a uint8 input, as in PyTorch)."""
        return _logical(np.any, self, dim, keepdim, "any")

    # Bitwise ops of bool and integer Variables (masks): new Variables without a gradient.
    def __and__(self, other: Any) -> Variable:
        return _bitwise(np.bitwise_and, "&", self, other)

    def __rand__(self, other: Any) -> Variable:
        return _bitwise(np.bitwise_and, "&", other, self)

    def __or__(self, other: Any) -> Variable:
        return _bitwise(np.bitwise_or, "|", self, other)

    def __ror__(self, other: Any) -> Variable:
        return _bitwise(np.bitwise_or, "|", other, self)

    def __xor__(self, other: Any) -> Variable:
        return _bitwise(np.bitwise_xor, "^", self, other)

    def __rxor__(self, other: Any) -> Variable:
        return _bitwise(np.bitwise_xor, "^", other, self)

    def __invert__(self) -> Variable:
        return _bitwise(np.invert, "~", self)


_COMPARABLE = (CompareMethods, np.ndarray, int, float, np.number, np.bool_, list, tuple)


def _bitwise(ufunc: Any, symbol: str, *operands: Any) -> Variable:
    """``ufunc`` of bool or integer operands, as PyTorch's bitwise ops (no gradient)."""
    arrays = [np.asarray(_data(_operand(symbol, x))) for x in operands]
    for array in arrays:
        if array.dtype.kind not in "biu":
            raise OperandError(
                f"unsupported operand for {symbol}: bitwise ops take bool or integer Variables, "
                f"got dtype {array.dtype} (PyTorch: not implemented for floats)"
            )
    out = from_op(np.asarray(ufunc(*arrays)), None)
    return _nodiff.announce(_nodiff.BITWISE[symbol], operands, out)


def _data(value: Any) -> Any:
    return value._data if isinstance(value, CompareMethods) else value


def _test(ufunc: Any, op: str, x: Any) -> Variable:
    """``ufunc`` (``np.isnan`` ...) of ``x``'s values as a bool Variable."""
    return _nodiff.announce(getattr(_nodiff, op), (x,), from_op(np.asarray(ufunc(x._data)), None))


def _compare(ufunc: Any, symbol: str, x: Any, other: Any) -> Variable:
    """``ufunc(x, other)`` as a bool Variable without a graph node, computed in PyTorch's
    promoted dtype (a float64 Variable equals 0.1, a float32 one compares with a 0-d float64
    in float32); shapes that do not broadcast are a ``ShapeError`` in PyTorch's words (NumPy's
    bare ValueError otherwise)."""
    a, b = x._data, _operand(symbol, other)
    if isinstance(b, CompareMethods):
        b = b._data
    if _needs_promotion(a, b):
        from gradviz.autograd.ops.promotion import cast, result_type  # (ops import Variable)

        dtype = result_type(a, b)
        a, b = cast(a, dtype), cast(b, dtype)
    try:
        result = ufunc(a, b)
    except ValueError as error:
        raise _shape_error(x.shape, np.shape(b), error) from None
    if type(result) is not np.ndarray:  # 0-d inputs give a NumPy scalar
        result = np.asarray(result)
    return _nodiff.announce(_nodiff.COMPARISONS[symbol], (x, other), from_op(result, None))


def _needs_promotion(a: np.ndarray, b: Any) -> bool:
    """Whether NumPy's dtype for ``a`` against ``b`` may not be PyTorch's: not when ``b`` is an
    array of ``a``'s dtype, or a Python number that NumPy takes in ``a``'s dtype (a float
    against floats, an int against floats or int64)."""
    if type(b) is np.ndarray:
        return b.dtype is not a.dtype
    kind = a.dtype.kind
    if type(b) is float:
        return kind != "f"
    if type(b) is int:
        return kind != "f" and not (a.dtype == _INT64 and -(2**63) <= b < 2**63)
    return True


def _shape_error(a: tuple[int, ...], b: tuple[int, ...], error: ValueError) -> ShapeError:
    """The error of comparing shapes ``a`` and ``b``, in PyTorch's words."""
    pairs = enumerate(zip(a[::-1], b[::-1], strict=False))
    dim = next((i for i, (m, n) in pairs if m != n and 1 not in (m, n)), None)
    if dim is None:  # not a broadcasting error
        return ShapeError(f"comparison of shapes {a} and {b}: {error}")
    return ShapeError(
        f"The size of tensor a ({a[::-1][dim]}) must match the size of tensor b "
        f"({b[::-1][dim]}) at non-singleton dimension {max(len(a), len(b)) - 1 - dim} "
        f"(shapes {a} and {b})"
    )


def _logical(reduce: Any, x: Any, dim: Any, keepdim: bool, name: str) -> Variable:
    """``reduce`` (``np.all`` or ``np.any``) of ``x`` over ``dim`` as a bool Variable; an
    empty ``dim`` reduces no dim (PyTorch's, unlike ``sum``'s)."""
    axis = reduce_dims(dim, x._data.ndim, name)
    if isinstance(dim, tuple | list) and not dim:
        result = x._data.astype(np.bool_)
    else:
        result = np.asarray(reduce(x._data, axis=axis, keepdims=bool(keepdim)))
    if x._data.dtype == np.uint8:  # PyTorch keeps uint8 (its old boolean dtype)
        result = result.astype(np.uint8)
    op = _nodiff.All if name == "all" else _nodiff.Any_
    return _nodiff.announce(op, (x, dim, keepdim), from_op(result, None))
