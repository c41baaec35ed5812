"""PyTorch's type promotion, for the ops whose operands may differ in dtype.

NumPy and PyTorch agree when the operands share a dtype, so each op computes with NumPy first
and comes here only when the result's dtype is not its n-d operand's (``promoted``): the hot
path pays one identity test. PyTorch's rules, which NumPy's differ from:

- categories: bool < integer < floating. An int with a float gives the float (int64 + float32
  is float32, NumPy's float64); a Python float gives the default dtype (float32).
- n-d operands decide first, then 0-d ones, then Python numbers, and a later group wins only
  with a higher category: float32 (n-d) + float64 (0-d) is float32, int32 + 0-d float64 is
  float64.
- a Python int out of an integer dtype's range wraps around (``int8 + 300``), as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError, OperandError
from gradviz.autograd.variable import get_default_dtype

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}
_INT64 = np.dtype(np.int64)
_BOOL = np.dtype(np.bool_)


def _number_dtype(value: Any) -> np.dtype:
    if isinstance(value, bool | np.bool_):
        return _BOOL
    if isinstance(value, int | np.integer):
        return _INT64
    return get_default_dtype()


def result_type(*operands: Any) -> np.dtype:
    """The dtype PyTorch gives an op on ``operands`` (ndarrays and Python numbers)."""
    groups: tuple[list[np.dtype], list[np.dtype], list[np.dtype]] = ([], [], [])
    for x in operands:
        if isinstance(x, np.ndarray):
            groups[0 if x.ndim else 1].append(x.dtype)
        elif x is not None:
            groups[2].append(_number_dtype(x))
    top = max(_CATEGORY.get(d.kind, 2) for group in groups for d in group)
    for group in groups:  # the first group holding the top category decides
        chosen = [d for d in group if _CATEGORY.get(d.kind, 2) == top]
        if chosen:
            return np.result_type(*chosen)
    raise OperandError("no operand to take a dtype from")  # pragma: no cover - never empty


def cast(value: Any, dtype: np.dtype) -> Any:
    """``value`` (an ndarray or a Python number) in ``dtype``; integers wrap around as in
    PyTorch, and a Python int beyond int64 is PyTorch's overflow error."""
    if isinstance(value, np.ndarray):
        return value if value.dtype is dtype else value.astype(dtype)
    if isinstance(value, np.generic):  # a NumPy scalar counts as the Python number it holds
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        if not -(2**63) <= value < 2**63:
            raise OperandError(f"Overflow when unpacking long: {value} does not fit in int64")
        if dtype.kind in "iu":
            return np.array(value, dtype=np.int64).astype(dtype)[()]
    return value


def promoted(
    ufunc: Callable[..., np.ndarray], a: Any, b: Any, out: np.ndarray | None = None
) -> np.ndarray:
    """``ufunc(a, b)`` in PyTorch's result dtype; ``out`` is NumPy's answer when it ran."""
    if out is not None and isinstance(b, np.ndarray) and b.ndim and out.dtype is b.dtype:
        return out  # NumPy and PyTorch agree: the n-d operand's dtype
    dtype = result_type(a, b)
    if out is not None and out.dtype == dtype:
        return out
    return ufunc(cast(a, dtype), cast(b, dtype))


def floating(x: np.ndarray) -> np.ndarray:
    """An integer or bool input of a float function (exp, sin ...) in the default dtype, as
    PyTorch computes it (NumPy would give float64, and float16 for bool)."""
    return x.astype(get_default_dtype())


def require_floating(x: np.ndarray, op: str) -> None:
    """PyTorch's softmax and smooth activations take floats only (an integer input is its
    "not implemented for 'Long'" error)."""
    if x.dtype.kind != "f":
        raise InputError(f'"{op}" not implemented for {x.dtype} (a floating dtype only)')


def same_float_dtype(layer: str, x: np.ndarray, weight: np.ndarray | None) -> None:
    """Raise PyTorch's error for a floating input whose dtype is not its layer's weight's: a
    layer does not promote (float64 NumPy data into a float32 layer is the common case)."""
    if weight is None or x.dtype is weight.dtype or x.dtype == weight.dtype:
        return
    if x.dtype.kind == "f" and weight.dtype.kind == "f":
        raise InputError(
            f"{layer}: input dtype {x.dtype} does not match the weight's {weight.dtype}; "
            f"PyTorch does not promote inside a layer. Convert the input "
            f"(x.to({_torch_name(weight.dtype)}); NumPy data is float64: "
            f"torch.tensor(data, dtype={_torch_name(weight.dtype)})) or the layer "
            f"(model.to({_torch_name(x.dtype)}))"
        )


def _torch_name(dtype: np.dtype) -> str:
    return f"torch.{dtype.name}"
