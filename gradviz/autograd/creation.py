"""PyTorch-style constructors: ``zeros``, ``ones``, ``randn``, ``rand``, ``full``, ``arange``.

Float results take the default dtype (float32); random ones draw from the generator that
``gradviz.manual_seed`` sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import InputError
from gradviz.autograd.variable import Variable, get_default_dtype


def _shape(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], tuple | list):
        return tuple(size[0])
    return tuple(size)


def _make(data: np.ndarray, dtype: Any, requires_grad: bool) -> Variable:
    return Variable(
        data.astype(dtype or get_default_dtype(), copy=False), requires_grad=requires_grad
    )


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """A Variable of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _make(np.zeros(_shape(size)), dtype, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """A Variable of ones."""
    return _make(np.ones(_shape(size)), dtype, requires_grad)


def full(size: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """A Variable filled with ``fill_value``."""
    return _make(np.full(_shape((size,)), fill_value), dtype, requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """Standard normal samples."""
    return _make(rng.default_generator().standard_normal(_shape(size)), dtype, requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """Uniform samples from [0, 1)."""
    return _make(rng.default_generator().random(_shape(size)), dtype, requires_grad)


def zeros_like(x: Variable, requires_grad: bool = False) -> Variable:
    """Zeros of ``x``'s shape and dtype."""
    return Variable(np.zeros_like(x.data), requires_grad=requires_grad)


def ones_like(x: Variable, requires_grad: bool = False) -> Variable:
    """Ones of ``x``'s shape and dtype."""
    return Variable(np.ones_like(x.data), requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None) -> Variable:
    """Evenly spaced values; integers stay int64 (as ``torch.arange``) unless ``dtype`` says."""
    if end is None:
        start, end = 0, start
    if step == 0 or (end - start) * step < 0:
        problem = (
            "step must be nonzero"
            if step == 0
            else ("upper bound and lower bound inconsistent with step sign")
        )
        raise InputError(f"arange: {problem}, got start={start}, end={end}, step={step}")
    values = np.arange(start, end, step)
    if dtype is None and values.dtype.kind == "f":
        dtype = get_default_dtype()
    return Variable(values.astype(dtype) if dtype is not None else values)


__all__ = ["arange", "full", "ones", "ones_like", "rand", "randn", "zeros", "zeros_like"]
