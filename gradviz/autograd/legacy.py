"""PyTorch's ``torch.Tensor``: the type of every Variable (``isinstance``, type hints) and,
called, PyTorch's legacy constructor, which makes tensors of the default float dtype; and the
typed legacy constructors of old tutorials, ``FloatTensor``, ``LongTensor`` ... (each also an
``isinstance`` test of the dtype)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from gradviz.autograd.creation import empty
from gradviz.autograd.dtypes import cpu_only
from gradviz.autograd.errors import InputError, OperandError
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


def _legacy(*args: Any, device: Any = None, dtype: Any = None, name: str = "Tensor") -> Variable:
    cpu_only(device, name)
    dtype = get_default_dtype() if dtype is None else dtype
    if all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in args):
        return empty(*args, dtype=dtype) if args else Variable(np.zeros(0, dtype))
    if len(args) > 1:
        raise OperandError(
            f"{name}(): expected sizes (ints) or one sequence of data, got "
            f"{', '.join(type(a).__name__ for a in args)}"
        )
    data = args[0]
    if isinstance(data, numbers.Number | np.generic | str):
        raise OperandError(f"{name}(): data must be a sequence (got {type(data).__name__})")
    if isinstance(data, Variable | np.ndarray):
        array = as_array(data)
    else:  # a list, a tuple, a range ...: read at its own precision, then cast
        array = np.asarray(data if isinstance(data, list | tuple) else list(data))
    if array.dtype.kind not in "fiub":
        raise OperandError(f"{name}(): cannot make a {dtype} tensor from dtype {array.dtype}")
    if dtype.kind in "iu" and array.size:
        info = np.iinfo(dtype)
        if array.min() < info.min or array.max() > info.max:
            raise InputError(
                f"{name}(): value cannot be converted to type {dtype} without overflow"
            )
    return Variable(array.astype(dtype, copy=False))


class _TypedTensorType(type):
    """``FloatTensor(...)`` builds a float32 tensor as PyTorch's legacy constructor;
    ``isinstance(v, FloatTensor)`` is whether ``v`` is a float32 Variable."""

    dtype: np.dtype

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Variable) and obj.dtype == cls.dtype

    def __call__(cls, *args: Any, device: Any = None) -> Variable:  # type: ignore[override]
        return _legacy(*args, device=device, dtype=cls.dtype, name=cls.__name__)


def _typed(name: str, dtype: Any) -> type:
    doc = f"PyTorch's legacy ``{name}(*sizes)`` or ``{name}(data)``: a {np.dtype(dtype)} tensor."
    return _TypedTensorType(name, (), {"dtype": np.dtype(dtype), "__doc__": doc})


FloatTensor = _typed("FloatTensor", np.float32)
DoubleTensor = _typed("DoubleTensor", np.float64)
HalfTensor = _typed("HalfTensor", np.float16)
LongTensor = _typed("LongTensor", np.int64)
IntTensor = _typed("IntTensor", np.int32)
ShortTensor = _typed("ShortTensor", np.int16)
CharTensor = _typed("CharTensor", np.int8)
ByteTensor = _typed("ByteTensor", np.uint8)
BoolTensor = _typed("BoolTensor", np.bool_)

#: The typed constructors, for the top package to re-export.
TYPED = (
    "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
    "CharTensor", "ByteTensor", "BoolTensor",
)  # fmt: skip
