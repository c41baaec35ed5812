"""PyTorch's dtype names (``torch.float32``, ``torch.long`` ...) as the NumPy dtypes they mean,
and ``device`` (the CPU, the only one).

``x.to(gradviz.float32)``, ``gradviz.zeros(3, dtype=gradviz.long)`` and
``x.dtype == gradviz.int64`` read as in PyTorch. ``bfloat16`` has no NumPy twin: the name
exists (a script's table of dtypes loads) and using it says so; complex types are left out.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError, OperandError

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # torch.float is float32
float64 = double = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)  # torch.int is int32
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)


class Unsupported:
    """A PyTorch dtype NumPy has no twin of: a name scripts can mention (``{'bfloat16':
    torch.bfloat16}[...]``) that explains itself wherever NumPy is asked for the dtype."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def dtype(self) -> np.dtype:  # what np.dtype(), astype() and dtype= ask for
        raise TypeError(self.why())

    def why(self) -> str:
        """Why it cannot be used, and what to use."""
        return (
            f"gradviz.{self.name} has no NumPy dtype: gradviz computes in float16, float32 or "
            f"float64 (use float32 where the script asks for {self.name})"
        )

    @property
    def is_floating_point(self) -> builtins.bool:
        """True, as PyTorch's ``bfloat16.is_floating_point``."""
        return True

    @property
    def itemsize(self) -> int:
        """Bytes per element, as PyTorch's."""
        return 2

    def __repr__(self) -> str:
        return f"gradviz.{self.name}"


bfloat16 = Unsupported("bfloat16")


_default_dtype = np.dtype(np.float32)  # set_default_dtype's


def as_dtype(dtype: Any, op: str) -> np.dtype:
    """``dtype`` (a NumPy dtype, its name, or a Python type) as a NumPy dtype; anything else is
    an ``OperandError`` naming ``op`` (NumPy's "data type not understood" otherwise)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        if isinstance(dtype, Unsupported):
            raise OperandError(f"{op}(): {dtype.why()}") from None
        raise OperandError(
            f"{op}(): argument 'dtype' must be a NumPy dtype (np.float32, 'float64', int, ...), "
            f"got {dtype!r}"
        ) from None


def set_default_dtype(dtype: Any) -> None:
    """Set the float dtype that Python scalars, lists and new parameters take (float32 at start)."""
    global _default_dtype
    dtype = as_dtype(dtype, "set_default_dtype")
    if dtype.kind != "f":
        raise OperandError(f"default dtype must be a floating point dtype, got {dtype}")
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The float dtype that Python scalars, lists and new parameters take."""
    return _default_dtype


class device(str):
    """PyTorch's ``torch.device``: ``device("cpu")``, the only device (a str, so ``to(dev)``
    and ``device=dev`` take it); any other is an ``InputError``."""

    def __new__(cls, type: Any = "cpu", index: int | None = None) -> device:
        cpu_only(type, "device")
        return super().__new__(cls, "cpu")

    @property
    def type(self) -> str:
        """The device type, ``'cpu'``."""
        return "cpu"

    def __enter__(self) -> device:
        """``with torch.device("cpu"):`` (the default device of what the block makes): the
        CPU, gradviz's only one."""
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def cpu_only(where: Any, op: str) -> None:
    """Accept ``device=None``/``"cpu"``/``"cpu:0"``; gradviz runs on the CPU only."""
    if where is not None and str(where).split(":")[0] != "cpu":
        raise InputError(f"{op}(): gradviz runs on the CPU only, got device {where!r}")


#: Every name above, for the top package to re-export.
NAMES = (
    "float16", "half", "float32", "float", "float64", "double", "uint8", "int8", "int16",
    "short", "int32", "int", "int64", "long", "bool", "bfloat16",
)  # fmt: skip
