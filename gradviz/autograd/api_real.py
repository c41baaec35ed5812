"""PyTorch's complex-number functions as they act on real tensors, gradviz's only kind:
``real``, ``conj``, ``conj_physical``, ``resolve_conj`` and ``resolve_neg`` give the input,
``angle`` is 0 or pi, ``imag`` is PyTorch's error; the predicates ``is_complex``, ``is_conj``,
``is_neg``, ``is_signed``, ``is_nonzero``, ``is_same_size``, ``is_inference``; and the
window functions ``hann_window``, ``hamming_window``, ``blackman_window``,
``bartlett_window``, ``kaiser_window``; the properties ``is_meta``, ``is_mps`` ... (False)
and the methods ``is_shared`` (False) and ``share_memory_`` (the Variable).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd import variable_elementwise
from gradviz.autograd.dtypes import get_default_dtype
from gradviz.autograd.errors import InputError
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.torch_types import check_factory
from gradviz.autograd.variable import Variable


def real(input: Any) -> Variable:
    """The real part: the input itself (gradviz's tensors are real)."""
    return as_variable(input, "real")


def conj(input: Any) -> Variable:
    """The complex conjugate: the input itself (gradviz's tensors are real)."""
    return as_variable(input, "conj")


def resolve_conj(input: Any) -> Variable:
    """The input itself (a real tensor has no conjugate bit)."""
    return as_variable(input, "resolve_conj")


def resolve_neg(input: Any) -> Variable:
    """The input itself (a real tensor has no negative bit)."""
    return as_variable(input, "resolve_neg")


def conj_physical(input: Any) -> Variable:
    """The complex conjugate, computed: a copy of the input (gradviz's tensors are real)."""
    return as_variable(input, "conj_physical").clone()


def conj_physical_(input: Variable) -> Variable:
    """The complex conjugate in place: the input, unchanged."""
    return as_variable(input, "conj_physical_")


def imag(input: Any) -> Variable:
    """Refused, as PyTorch refuses a real tensor's imaginary part."""
    as_variable(input, "imag")
    raise InputError("imag is not implemented for tensors with non-complex dtypes.")


def angle(input: Any) -> Variable:
    """The argument of each value: pi below 0, 0 else, NaN for NaN (integers in the default
    dtype); a zero gradient, as PyTorch's."""
    x = as_variable(input, "angle")
    dtype = x.dtype if x.dtype.kind == "f" else get_default_dtype()
    a = x._data
    values = np.where(np.isnan(a), np.nan, np.where(a < 0, math.pi, 0.0)).astype(dtype)
    return Where.apply(np.ones(a.shape, dtype=np.bool_), values, x)


def is_complex(input: Any) -> bool:
    """False: gradviz's tensors are real."""
    as_variable(input, "is_complex")
    return False


def is_conj(input: Any) -> bool:
    """False: a real tensor has no conjugate bit."""
    as_variable(input, "is_conj")
    return False


def is_neg(input: Any) -> bool:
    """False: a real tensor has no negative bit."""
    as_variable(input, "is_neg")
    return False


def is_inference(input: Any) -> bool:
    """False: gradviz's ``inference_mode`` is ``no_grad`` and makes no inference tensors."""
    as_variable(input, "is_inference")
    return False


def is_signed(input: Any) -> bool:
    """Whether the dtype holds negative numbers (bool and uint8 do not)."""
    return as_variable(input, "is_signed").dtype.kind in "if"


def is_nonzero(input: Any) -> bool:
    """Whether the one value is nonzero (a tensor of another size is PyTorch's error)."""
    x = as_variable(input, "is_nonzero")
    if x.numel() != 1:
        many = "more than one value" if x.numel() else "no values"
        raise InputError(f"Boolean value of Tensor with {many} is ambiguous")
    return bool(x._data.reshape(-1)[0])


def is_same_size(input: Any, other: Any) -> bool:
    """Whether the two have the same shape."""
    return tuple(as_variable(input, "is_same_size").shape) == tuple(
        as_variable(other, "is_same_size").shape
    )


def _window(
    name: str, length: int, periodic: bool, dtype: Any, requires_grad: bool, formula: Any
) -> Variable:  # fmt: skip
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 0:
        raise InputError(f"{name} requires non-negative window_length, got window_length={length}")
    dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
    if dtype.kind != "f":
        raise InputError(f"{name} expects floating point dtypes, got: {dtype}")
    if length <= 1:
        return Variable(np.ones(length, dtype=dtype), requires_grad=requires_grad)
    m = length + 1 if periodic else length
    values = np.asarray(formula(np.arange(m), m - 1), dtype=np.float64)[:length]
    return Variable(values.astype(dtype), requires_grad=requires_grad)


def hann_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None,
    requires_grad: bool = False, device: Any = None, layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:  # fmt: skip
    """``0.5 - 0.5 cos(2 pi n / N)`` (periodic: the first ``window_length`` of ``N + 1``)."""
    check_factory("hann_window", device, layout, pin_memory)
    return _window(
        "hann_window", window_length, periodic, dtype, requires_grad,
        lambda n, m: 0.5 - 0.5 * np.cos(2 * math.pi * n / m),
    )  # fmt: skip


def hamming_window(
    window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
    dtype: Any = None, requires_grad: bool = False, device: Any = None, layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:  # fmt: skip
    """``alpha - beta cos(2 pi n / N)`` (periodic: the first ``window_length`` of ``N + 1``)."""
    check_factory("hamming_window", device, layout, pin_memory)
    return _window(
        "hamming_window", window_length, periodic, dtype, requires_grad,
        lambda n, m: alpha - beta * np.cos(2 * math.pi * n / m),
    )  # fmt: skip


def blackman_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None,
    requires_grad: bool = False, device: Any = None, layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:  # fmt: skip
    """``0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)``."""
    check_factory("blackman_window", device, layout, pin_memory)
    return _window(
        "blackman_window", window_length, periodic, dtype, requires_grad,
        lambda n, m: 0.42 - 0.5 * np.cos(2 * math.pi * n / m) + 0.08 * np.cos(
            4 * math.pi * n / m),
    )  # fmt: skip


def bartlett_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None,
    requires_grad: bool = False, device: Any = None, layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:  # fmt: skip
    """The triangle ``1 - |2 n / N - 1|``."""
    check_factory("bartlett_window", device, layout, pin_memory)
    return _window(
        "bartlett_window", window_length, periodic, dtype, requires_grad,
        lambda n, m: 1 - np.abs(2 * n / m - 1),
    )  # fmt: skip


def kaiser_window(
    window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype: Any = None,
    requires_grad: bool = False, device: Any = None, layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:  # fmt: skip
    """The Kaiser window of shape ``beta`` (NumPy's ``kaiser``)."""
    check_factory("kaiser_window", device, layout, pin_memory)
    return _window(
        "kaiser_window", window_length, periodic, dtype, requires_grad,
        lambda n, m: np.kaiser(m + 1, beta),
    )  # fmt: skip


#: the names this module adds to the top-level package
NAMES = [
    "real", "conj", "resolve_conj", "resolve_neg", "conj_physical", "conj_physical_", "imag",
    "angle", "is_complex", "is_conj", "is_neg", "is_inference", "is_signed", "is_nonzero",
    "is_same_size", "hann_window", "hamming_window", "blackman_window", "bartlett_window",
    "kaiser_window",
]  # fmt: skip

#: the methods PyTorch has of these (``real`` and ``imag`` are properties there)
METHODS = (
    "conj", "resolve_conj", "resolve_neg", "conj_physical", "conj_physical_", "angle",
    "is_complex", "is_conj", "is_neg", "is_inference", "is_signed", "is_nonzero",
    "is_same_size",
)  # fmt: skip
variable_elementwise.add_methods(globals(), METHODS)
variable_elementwise.ElementwiseMethods.real = property(real)  # type: ignore[attr-defined]
variable_elementwise.ElementwiseMethods.imag = property(imag)  # type: ignore[attr-defined]


#: PyTorch's properties of where and how a tensor is kept: never, for a NumPy array on the CPU
NOT_HELD = (
    "is_meta", "is_mkldnn", "is_mps", "is_nested", "is_quantized", "is_sparse_csr", "is_vulkan",
    "is_xla", "is_xpu", "is_ipu", "is_maia", "is_mtia",
)  # fmt: skip
for _name in NOT_HELD:
    setattr(variable_elementwise.ElementwiseMethods, _name, property(lambda self: False))


def is_shared(self: Variable) -> bool:
    """False: gradviz's arrays live in one process (no shared memory)."""
    return False


def share_memory_(self: Variable) -> Variable:
    """This Variable (gradviz trains in one process: nothing to share)."""
    return self


variable_elementwise.add_methods(globals(), ("is_shared", "share_memory_"))
