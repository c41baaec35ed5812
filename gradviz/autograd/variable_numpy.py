"""How a ``Variable`` meets NumPy and Python: its array (``numpy()``, ``np.asarray``, NumPy's
functions), its number (``item()``, ``float()``), its truth, length and iteration, a mixin.

A Variable is no ndarray: NumPy's ufuncs and functions read its array (through ``__array__``
and ``__array_function__``) and return arrays, as they do given a PyTorch tensor; gradviz's
own ops (``x.sin()``, ``gradviz.sin(x)``) are the ones that record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd.errors import InputError, OperandError

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable


def _arrays(value: Any) -> Any:
    """``value`` with every Variable in it (in lists, tuples and dicts too) as its array."""
    if isinstance(value, ArrayMethods):
        return value._data
    if isinstance(value, list | tuple):
        return type(value)(_arrays(v) for v in value)
    if isinstance(value, dict):
        return {k: _arrays(v) for k, v in value.items()}
    return value


class ArrayMethods:
    """numpy, __array__, __array_function__, item, tolist, float, int, bool, len, iter."""

    __slots__ = ()
    _data: np.ndarray

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The data for NumPy, as a tensor gives it: ``array[x > 0]``, ``np.asarray(mask)``."""
        if dtype is None or self._data.dtype == dtype:
            return self._data.copy() if copy else self._data
        return self._data.astype(dtype)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """NumPy's functions take a Variable as its array (``np.mean(v)``, ``np.all(v > 0)``,
        ``np.concatenate([v, w])``) and give what they give for arrays."""
        return func(*_arrays(args), **_arrays(kwargs))

    def item(self) -> float | int | bool:
        """The value of a one-element Variable as a Python number."""
        if self._data.size != 1:
            raise InputError(
                f"a Variable with {self._data.size} elements cannot be converted to a Python scalar"
            )
        return self._data.item()

    def tolist(self) -> Any:
        """The data as nested Python lists (a number for 0-d)."""
        return self._data.tolist()

    def __float__(self) -> float:
        self._one_element()
        return float(self.item())

    def __int__(self) -> int:
        self._one_element()
        return int(self.item())

    def _one_element(self) -> None:
        """float() and int() of many elements: PyTorch's ValueError (item()'s is a RuntimeError)."""
        if self._data.size != 1:
            raise InputError(
                f"only one element tensors can be converted to Python scalars (this Variable "
                f"has {self._data.size})"
            )

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating point one (float16, float32, float64)."""
        return self._data.dtype.kind == "f"

    @property
    def is_sparse(self) -> bool:
        """False: every gradviz tensor is dense (PyTorch's ``strided`` layout)."""
        return False

    def to_sparse(self, *args: Any, **kwargs: Any) -> Variable:
        """PyTorch's ``Tensor.to_sparse``: refused, with the dense way to write it."""
        from gradviz.autograd.sparse import refuse  # (it imports the Variable class)

        refuse("to_sparse")

    def to_dense(self) -> Variable:
        """This Variable itself (it is dense), as PyTorch's ``to_dense`` of a dense tensor."""
        return self

    def __bool__(self) -> bool:
        if self._data.size != 1:  # NumPy's ValueError says "array"; PyTorch's wording here
            many = "no values" if self._data.size == 0 else "more than one value"
            raise InputError(f"Boolean value of Variable with {many} is ambiguous")
        return bool(self._data)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise OperandError("len() of a 0-d Variable")
        return len(self._data)

    def __iter__(self) -> Iterator[Variable]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d Variable")
        return (self[i] for i in range(len(self)))
