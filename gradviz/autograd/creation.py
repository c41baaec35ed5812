"""PyTorch-style constructors: ``tensor``, ``zeros``, ``ones``, ``randn``, ``rand``, ``full``,
``arange``, and the integer samplers ``randint``, ``randperm`` and ``multinomial``.

Float results take the default dtype (float32); random ones draw from the generator that
``gradviz.manual_seed`` sets.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.dtypes import device
from gradviz.autograd.errors import InputError, OperandError
from gradviz.autograd.ops import nodiff
from gradviz.autograd.torch_types import check_factory
from gradviz.autograd.variable import Variable, as_dtype, get_default_dtype


def _shape(size: tuple[Any, ...], op: str, keyword: Any = None) -> tuple[int, ...]:
    """``(2, 3)`` of ``op(2, 3)``, ``op((2, 3))`` or ``op(size=(2, 3))`` (``keyword``);
    non-negative integers, as PyTorch checks (``op(())`` is 0-d; ``op()`` without a size is
    PyTorch's TypeError)."""
    if keyword is not None:
        if size:
            raise OperandError(f"{op}() got multiple values for argument 'size'")
        if not isinstance(keyword, tuple | list):
            raise OperandError(
                f"{op}(): argument 'size' must be tuple of ints, not {type(keyword).__name__}"
            )
        size = (keyword,)
    if not size:
        raise OperandError(f'{op}() missing 1 required positional arguments: "size"')
    if len(size) == 1 and isinstance(size[0], tuple | list):
        size = tuple(size[0])
    if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in size):
        raise OperandError(f"{op}(): size must be a tuple of integers, got {size!r}")
    if any(n < 0 for n in size):
        raise InputError(f"{op}(): sizes must be non-negative, got {size}")
    return tuple(int(n) for n in size)


def _make(data: np.ndarray, dtype: Any, requires_grad: bool, op: str) -> Variable:
    dtype = get_default_dtype() if dtype is None else as_dtype(dtype, op)
    if op in ("rand", "randn") and dtype.kind != "f":  # PyTorch samples floats only
        raise InputError(f'"{op}" not implemented for {dtype} (a floating dtype only)')
    return Variable(data.astype(dtype, copy=False), requires_grad=requires_grad)


def zeros(
    *shape: Any,
    size: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """A Variable of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    check_factory("zeros", device, layout, pin_memory)
    return _make(np.zeros(_shape(shape, "zeros", size)), dtype, requires_grad, "zeros")


def ones(
    *shape: Any,
    size: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """A Variable of ones."""
    check_factory("ones", device, layout, pin_memory)
    return _make(np.ones(_shape(shape, "ones", size)), dtype, requires_grad, "ones")


def full(
    size: Any,
    fill_value: float,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    *,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """A Variable filled with ``fill_value``; without ``dtype``, of the value's kind as in
    PyTorch: bool for a bool, int64 for an int, the default dtype for a float."""
    check_factory("full", device, layout, pin_memory)
    if dtype is None and isinstance(fill_value, bool | int | np.bool_ | np.integer):
        dtype = np.bool_ if isinstance(fill_value, bool | np.bool_) else np.int64
    return _make(np.full(_shape((size,), "full"), fill_value), dtype, requires_grad, "full")


def randn(
    *shape: Any,
    size: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    generator: rng.Generator | None = None,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """Standard normal samples."""
    check_factory("randn", device, layout, pin_memory)
    return _make(
        rng.pick(generator).standard_normal(_shape(shape, "randn", size)),
        dtype,
        requires_grad,
        "randn",
    )


def rand(
    *shape: Any,
    size: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    generator: rng.Generator | None = None,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """Uniform samples from [0, 1)."""
    check_factory("rand", device, layout, pin_memory)
    return _make(
        rng.pick(generator).random(_shape(shape, "rand", size)), dtype, requires_grad, "rand"
    )


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (default dtype)."""
    check_factory("linspace", device, layout, pin_memory)
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise InputError(f"linspace(): number of steps must be a non-negative int, got {steps!r}")
    return _make(
        np.linspace(float(start), float(end), int(steps)), dtype, requires_grad, "linspace"
    )


def empty(
    *shape: Any,
    size: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    memory_format: Any = None,
) -> Variable:
    """A Variable whose values are not to be read (zeros here: PyTorch leaves them undefined)."""
    dims = _shape(shape, "empty", size)
    check_factory("empty", device, layout, pin_memory, memory_format, ndim=len(dims))
    return _make(np.zeros(dims), dtype, requires_grad, "empty")


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """The ``n`` by ``m`` (default ``n``) identity matrix."""
    check_factory("eye", device, layout, pin_memory)
    rows, cols = _shape((n, n if m is None else m), "eye")
    return _make(np.eye(rows, cols), dtype, requires_grad, "eye")


def full_like(
    x: Variable,
    fill_value: float,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    memory_format: Any = None,
) -> Variable:
    """``fill_value`` in ``x``'s shape and dtype (or ``dtype``)."""
    check_factory("full_like", device, layout, pin_memory, memory_format, ndim=x.ndim, like=True)
    dtype = x.dtype if dtype is None else as_dtype(dtype, "full_like")
    return Variable(np.full(x.shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def randn_like(
    x: Variable,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    memory_format: Any = None,
    generator: rng.Generator | None = None,
) -> Variable:
    """Standard normal samples of ``x``'s shape and dtype (or ``dtype``)."""
    check_factory("randn_like", device, layout, pin_memory, memory_format, ndim=x.ndim, like=True)
    dtype = dtype or x.dtype
    return randn(x.shape, dtype=dtype, requires_grad=requires_grad, generator=generator)


def rand_like(
    x: Variable,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    memory_format: Any = None,
    generator: rng.Generator | None = None,
) -> Variable:
    """Uniform samples from [0, 1) of ``x``'s shape and dtype (or ``dtype``)."""
    check_factory("rand_like", device, layout, pin_memory, memory_format, ndim=x.ndim, like=True)
    dtype = dtype or x.dtype
    return rand(x.shape, dtype=dtype, requires_grad=requires_grad, generator=generator)


def from_numpy(array: np.ndarray) -> Variable:
    """A Variable sharing ``array``'s memory and dtype (writes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise OperandError(f"from_numpy(): expected np.ndarray, got {type(array).__name__}")
    return Variable(array)


def zeros_like(
    x: Variable,
    requires_grad: bool = False,
    *,
    dtype: Any = None,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    memory_format: Any = None,
) -> Variable:
    """Zeros of ``x``'s shape and dtype (or ``dtype``)."""
    check_factory("zeros_like", device, layout, pin_memory, memory_format, ndim=x.ndim, like=True)
    dtype = None if dtype is None else as_dtype(dtype, "zeros_like")
    return Variable(np.zeros_like(x._data, dtype=dtype), requires_grad=requires_grad)


def ones_like(
    x: Variable,
    requires_grad: bool = False,
    *,
    dtype: Any = None,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    memory_format: Any = None,
) -> Variable:
    """Ones of ``x``'s shape and dtype (or ``dtype``)."""
    check_factory("ones_like", device, layout, pin_memory, memory_format, ndim=x.ndim, like=True)
    dtype = None if dtype is None else as_dtype(dtype, "ones_like")
    return Variable(np.ones_like(x._data, dtype=dtype), requires_grad=requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    *,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """Evenly spaced values; integers stay int64 (as ``torch.arange``) unless ``dtype`` says."""
    check_factory("arange", device, layout, pin_memory)
    if end is None:
        start, end = 0, start
    if not (math.isfinite(start) and math.isfinite(end)):  # NumPy's bare ValueError otherwise
        raise InputError(f"arange: unsupported range: {start} -> {end} (step {step})")
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
    values = values.astype(as_dtype(dtype, "arange")) if dtype is not None else values
    return Variable(values, requires_grad=requires_grad)


#: PyTorch's warning for ``torch.tensor(a_tensor)``.
COPY_CONSTRUCT = (
    "To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() "
    "or sourceTensor.clone().detach().requires_grad_(True), rather than "
    "torch.tensor(sourceTensor)."
)


def tensor(
    data: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    *,
    pin_memory: bool | None = False,
) -> Variable:
    """A new Variable holding a copy of ``data`` (``torch.tensor``): Python floats take the
    default dtype, integers int64, booleans bool; arrays keep their dtype unless ``dtype`` says."""
    check_factory("tensor", device, pin_memory=pin_memory)
    if isinstance(data, Variable):
        warnings.warn(COPY_CONSTRUCT, UserWarning, stacklevel=2)
        data = data._data
    elif isinstance(data, list | tuple):
        if dtype is None:  # PyTorch's inference: the elements' own float dtypes count
            inferred = _float_dtype(data)
            dtype = inferred if inferred is not None and inferred.kind == "f" else None
        data = _scalars(data)
    array = np.array(Variable(data)._data if dtype is None else data, copy=True)
    if dtype is not None:
        array = array.astype(as_dtype(dtype, "tensor"), copy=False)
    return Variable(array, requires_grad=requires_grad)


def _float_dtype(data: Any) -> np.dtype | None:
    """The float dtype ``torch.tensor`` infers for nested lists: the widest float dtype of the
    NumPy scalars, arrays and Variables in them, the default dtype for Python floats (so
    ``[np.float64(1.0), 2.0]`` is float64); None when no element is a float."""
    if isinstance(data, list | tuple):
        found = [d for d in map(_float_dtype, data) if d is not None]
        return np.result_type(*found) if found else None
    if isinstance(data, Variable | np.ndarray | np.generic):
        return data.dtype if data.dtype.kind == "f" else None
    return get_default_dtype() if isinstance(data, float) else None


def _scalars(data: Any) -> Any:
    """``data`` with each Variable in its lists turned into a Python number, as
    ``torch.tensor([loss1, loss2])`` reads one-element tensors."""
    if isinstance(data, Variable):
        if data._data.size != 1:
            raise OperandError(
                "tensor(): only one element Variables can be converted to Python scalars, got "
                f"one of shape {data.shape} in the list"
            )
        return data._data.item()
    if isinstance(data, list | tuple):
        return [_scalars(item) for item in data]
    return data


def _int_size(size: Any, op: str) -> tuple[int, ...]:
    return _shape(size if isinstance(size, tuple) else (size,), op)


def randint(
    *args: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    generator: rng.Generator | None = None,
    requires_grad: bool = False,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """Integers drawn uniformly from ``[low, high)``: ``randint(high, size)`` or
    ``randint(low, high, size)``, int64 unless ``dtype`` says (seeded by ``manual_seed``;
    ``requires_grad`` only with a floating ``dtype``, as in PyTorch)."""
    check_factory("randint", device, layout, pin_memory)
    if size is None and args:
        *args, size = args
    if size is None or len(args) not in (1, 2):
        raise OperandError(
            "randint(): expected (high, size) or (low, high, size), got "
            f"{len(args) + (size is not None)} argument(s)"
        )
    low, high = (0, *args) if len(args) == 1 else args
    for name, bound in (("low", low), ("high", high)):  # NumPy: floats pass, 2**70 a ValueError
        if isinstance(bound, bool) or not isinstance(bound, int | np.integer):
            raise OperandError(f"randint(): {name} must be an integer, got {bound!r}")
        if not -(2**63) <= bound < 2**63:
            raise InputError(f"randint(): {name}={bound} is outside the int64 range")
    shape = _int_size(size, "randint")
    if not low < high:
        raise InputError(
            f"randint(): random_ expects 'from' to be less than 'to', but got from={low} >= "
            f"to={high}"
        )
    values = rng.pick(generator).integers(low, high, shape, dtype=np.int64)
    values = values.astype(as_dtype(dtype, "randint")) if dtype is not None else values
    return Variable(values, requires_grad=requires_grad)


def randperm(
    n: int,
    dtype: Any = None,
    *,
    device: Any = None,
    generator: rng.Generator | None = None,
    requires_grad: bool = False,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """A random permutation of ``0..n-1`` (int64 unless ``dtype`` says; seeded by
    ``manual_seed``)."""
    check_factory("randperm", device, layout, pin_memory)
    if not isinstance(n, int | np.integer) or isinstance(n, bool):
        raise OperandError(f"randperm(): n must be an integer, got {type(n).__name__} {n!r}")
    if n < 0:
        raise InputError(f"randperm(): n must be non-negative, got {n}")
    values = rng.pick(generator).permutation(int(n)).astype(np.int64)
    values = values.astype(as_dtype(dtype, "randperm")) if dtype is not None else values
    return Variable(values, requires_grad=requires_grad)


def multinomial(
    input: Any,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: rng.Generator | None = None,
) -> Variable:
    """Category indices drawn from each row of weights ``input`` (1-d or 2-d, non-negative, not
    normalised): int64 of shape ``(num_samples,)`` or ``(rows, num_samples)``."""
    weights = np.asarray(input._data if isinstance(input, Variable) else input, dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise InputError(f"multinomial(): prob_dist must be 1 or 2 dim, got shape {weights.shape}")
    if not isinstance(num_samples, int | np.integer) or num_samples <= 0:
        raise InputError(f"multinomial(): cannot sample n_sample <= 0 samples ({num_samples})")
    rows = np.atleast_2d(weights)
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise InputError(
            "multinomial(): probability tensor contains either `inf`, `nan` or element < 0"
        )
    if (rows.sum(axis=1) <= 0).any():
        raise InputError(
            "multinomial(): invalid multinomial distribution (sum of probabilities <= 0)"
        )
    if not replacement and num_samples > rows.shape[1]:
        raise InputError(
            "multinomial(): cannot sample n_sample > prob_dist.size(-1) samples without "
            f"replacement (num_samples={num_samples}, categories: {rows.shape[1]})"
        )
    draw = rng.pick(generator)
    if replacement:
        cumulative = np.cumsum(rows / rows.sum(axis=1, keepdims=True), axis=1)
        draws = draw.random((len(rows), num_samples))
        drawn = (draws[:, :, None] >= cumulative[:, None, :-1]).sum(axis=2)
    else:  # exponential keys, largest first: zero weights come last (PyTorch's method)
        keys = rows / draw.exponential(size=rows.shape)
        drawn = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    drawn = drawn.astype(np.int64)
    drawn = Variable(drawn if weights.ndim == 2 else drawn[0])
    return nodiff.announce(nodiff.Multinomial, (input, num_samples, replacement), drawn)


__all__ = [
    "arange",
    "device",
    "empty",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "multinomial",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "tensor",
    "zeros",
    "zeros_like",
]
