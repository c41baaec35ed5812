"""PyTorch's ``torch.Tensor``: the type of every Variable (``isinstance``, type hints) and,
called, PyTorch's legacy constructor, which makes tensors of the default float dtype."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.creation import empty
from gradviz.autograd.dtypes import cpu_only
from gradviz.autograd.errors import OperandError
from gradviz.autograd.variable import Variable, as_array, get_default_dtype


class _TensorType(type):
    """``isinstance(v, Tensor)`` for every Variable; ``Tensor(...)`` builds as PyTorch's."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Variable) if cls is Tensor else super().__instancecheck__(obj)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, Variable) if cls is Tensor else super().__subclasscheck__(sub)

    def __setattr__(cls, name: str, value: Any) -> None:
        # ``torch.Tensor.my_method = f`` adds it to every Variable, as to every tensor
        if cls is Tensor:
            setattr(Variable, name, value)
        else:
            super().__setattr__(name, value)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is not Tensor:  # a user's subclass builds as its class says
            return super().__call__(*args, **kwargs)
        return _legacy(*args, **kwargs)


class Tensor(Variable, metaclass=_TensorType):
    """``Tensor(*sizes)``: a tensor of that shape (zeros here: PyTorch leaves it undefined);
    ``Tensor(data)``: the data in the default float dtype (``torch.Tensor([1, 2])`` is float32,
    where ``tensor([1, 2])`` is int64); ``Tensor()``: empty. Every Variable is a Tensor."""

    __slots__ = ()


def _legacy(*args: Any, device: Any = None) -> Variable:
    cpu_only(device, "Tensor")
    dtype = get_default_dtype()
    if all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in args):
        return empty(*args, dtype=dtype) if args else Variable(np.zeros(0, dtype))
    if len(args) > 1:
        raise OperandError(
            f"Tensor(): expected sizes (ints) or one sequence of data, got "
            f"{', '.join(type(a).__name__ for a in args)}"
        )
    array = as_array(args[0])
    if array.dtype.kind not in "fiub":
        raise OperandError(f"Tensor(): cannot make a float tensor from dtype {array.dtype}")
    return Variable(array.astype(dtype, copy=False))
