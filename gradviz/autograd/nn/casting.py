"""``Module.to``, ``.double()``, ``.float()``, ``.half()``, ``.cpu()``: casting a model's
floating-point parameters and buffers in place, as PyTorch's; ``to_empty`` and
``share_memory``."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any, TypeVar

import numpy as np

from gradviz.autograd.dtypes import Unsupported, bfloat16, cpu_only
from gradviz.autograd.errors import ArgumentError, InputError, OperandError
from gradviz.autograd.torch_types import check_memory_format
from gradviz.autograd.variable import Variable


def place(module: Any, device: Any, dtype: Any) -> None:
    """PyTorch's ``device=`` and ``dtype=`` arguments of a layer's constructor: the floating
    parameters and buffers cast to ``dtype``; a device other than the CPU refused, as by
    ``Module.to``."""
    if device is not None or dtype is not None:
        module.to(*(v for v in (device, dtype) if v is not None))


def to_dtype(args: tuple[Any, ...], kwargs: dict[str, Any]) -> np.dtype | None:
    """The dtype of ``Module.to(device, dtype, non_blocking=...)`` (None: no cast), with the
    device checked to be the CPU."""
    kwargs = dict(kwargs)
    kwargs.pop("non_blocking", None)
    check_memory_format(kwargs.pop("memory_format", None), "to")  # taken, changing nothing
    values = [*args, *(kwargs.pop(key) for key in ("device", "dtype") if key in kwargs)]
    if kwargs:
        raise ArgumentError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    dtype = None
    for value in values:
        if value is None:
            continue
        if isinstance(value, str) or type(value).__name__ == "device":
            if str(value).split(":")[0] != "cpu":
                raise InputError(f"gradviz runs on the CPU only (NumPy), got device {value!r}")
            continue
        try:
            dtype = value.dtype if isinstance(value, Variable) else np.dtype(value)
        except TypeError:
            if isinstance(value, Unsupported):
                raise OperandError(f"to(): {value.why()}") from None
            raise OperandError(
                f"to() expects a dtype, a device or a Variable, got {type(value).__name__}"
            ) from None
        if dtype.kind not in "fc":
            raise OperandError(
                "nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={dtype}"
            )
    return dtype


def cast_floats(modules: Iterable[Any], dtype: np.dtype) -> None:
    """Parameters and buffers of a floating dtype (and their grads) of ``modules`` to
    ``dtype``; the Variables stay the same objects, as in PyTorch's ``module.to``."""
    for module in modules:
        for value in chain(module._parameters.values(), module._buffers.values()):
            if value is not None and value.dtype.kind == "f":
                value._data = value._data.astype(dtype)
                if value._grad is not None:
                    value._grad = value._grad.astype(dtype)


T = TypeVar("T", bound="DtypeMethods")


class DtypeMethods:
    """The dtype methods of ``Module`` (which provides ``modules()``)."""

    def to(self: T, *args: Any, **kwargs: Any) -> T:
        """Cast floating-point parameters and buffers in place: ``model.to(np.float64)``, or
        ``to(variable)`` for its dtype. Devices other than ``"cpu"`` are refused (gradviz runs
        on NumPy). Returns self."""
        dtype = to_dtype(args, kwargs)
        if dtype is not None:
            cast_floats(self.modules(), dtype)  # type: ignore[attr-defined]
        return self

    def double(self: T) -> T:
        """Floating-point parameters and buffers to float64; returns self."""
        return self.to(np.float64)

    def float(self: T) -> T:
        """Floating-point parameters and buffers to float32; returns self."""
        return self.to(np.float32)

    def half(self: T) -> T:
        """Floating-point parameters and buffers to float16; returns self."""
        return self.to(np.float16)

    def bfloat16(self: T) -> T:
        """An ``OperandError``: NumPy has no bfloat16 (``float()`` keeps float32)."""
        raise OperandError(f"bfloat16(): {bfloat16.why()}")

    def cpu(self: T) -> T:
        """Returns self: everything already lives in NumPy arrays."""
        return self

    def cuda(self: T, device: Any = None) -> T:
        """An ``InputError``: gradviz runs on the CPU only (``to(device)`` with the tutorials'
        ``device = "cuda" if torch.cuda.is_available() else "cpu"`` works)."""
        cpu_only("cuda", f"{type(self).__name__}.cuda")
        return self

    def to_empty(self: T, *, device: Any, recurse: bool = True) -> T:
        """Give every parameter and buffer (and gradient) fresh, uninitialised storage of its
        shape and dtype on ``device`` (the CPU), as PyTorch's: initialise them afterwards
        (``reset_parameters()``, ``nn.init``). The Variables stay the same objects."""
        if to_dtype((device,), {}) is not None:
            raise OperandError(f"to_empty() expects a device, got {device!r}")
        modules = self.modules() if recurse else [self]  # type: ignore[attr-defined]
        for module in modules:
            for value in chain(module._parameters.values(), module._buffers.values()):
                if value is not None:
                    value._data = np.empty_like(value._data)
                    if value._grad is not None:
                        value._grad = np.empty_like(value._grad)
        return self

    def share_memory(self: T) -> T:
        """Returns self: PyTorch moves storage to shared memory for worker processes; gradviz's
        arrays live in one process, so there is nothing to move."""
        return self
