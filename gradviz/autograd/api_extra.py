"""More of PyTorch's top-level functions (and methods where PyTorch has both) that a ported
script reaches for: ``asarray``, ``result_type``, ``promote_types``, ``can_cast``,
``diagflat``, ``dist``, ``addmv``, ``addr``, ``ger``, ``cumulative_trapezoid``, ``vander``,
``frexp``, ``ldexp``, ``gcd``, ``lcm`` and the method ``split_with_sizes`` (``concat``,
``atleast_2d``, ``unravel_index`` ... are in ``ops/api_alias``): each a composition of
existing ops (so its gradient is theirs) or, for integers and dtypes, a NumPy call without a
gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import creation, variable_elementwise
from gradviz.autograd.dtypes import get_default_dtype
from gradviz.autograd.errors import InputError, ShapeError
from gradviz.autograd.linalg_norms import vector_norm
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops import promotion as _promotion
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.ops.shape import concatenate
from gradviz.autograd.variable import Variable, from_op

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def asarray(
    obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
    requires_grad: bool = False,
) -> Variable:  # fmt: skip
    """``obj`` as a Variable: a Variable of the dtype asked for is returned as it is (unless
    ``copy``); other data shares its memory where NumPy can."""
    if isinstance(obj, Variable) and not copy and (dtype is None or obj.dtype == dtype):
        return obj
    from gradviz.autograd.ops.api_index import as_tensor  # (imports the package's api)

    out = as_tensor(obj, dtype)
    if copy:
        out = Variable(out._data.copy())
    return out.requires_grad_(requires_grad) if requires_grad else out


def result_type(tensor1: Any, tensor2: Any) -> np.dtype:
    """The dtype of an arithmetic op on the two (tensors or numbers), PyTorch's rule: the
    higher category (bool, integer, float) wins, and tensors of dims over 0-d ones and
    numbers."""
    operands = [t._data if isinstance(t, Variable) else t for t in (tensor1, tensor2)]
    return _promotion.result_type(*operands)


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """The smallest dtype both cast to, PyTorch's rule: within a category NumPy's, across
    categories the higher category's dtype (``int32`` with ``float16`` is ``float16``)."""
    a, b = np.dtype(type1), np.dtype(type2)
    ca, cb = _CATEGORY.get(a.kind, 2), _CATEGORY.get(b.kind, 2)
    return np.promote_types(a, b) if ca == cb else (a if ca > cb else b)


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's type promotion casts ``from_`` to ``to``: never to a lower category
    (a float to an integer, anything but bool to bool)."""
    a, b = np.dtype(from_), np.dtype(to)
    return _CATEGORY.get(a.kind, 2) <= _CATEGORY.get(b.kind, 2)


def diagflat(input: Any, offset: int = 0) -> Variable:
    """A square matrix whose ``offset``-th diagonal holds ``input``'s elements, flattened."""
    return as_variable(input, "diagflat").reshape(-1).diag(offset)


def dist(input: Any, other: Any, p: float = 2) -> Variable:
    """The ``p``-norm of ``input - other`` (broadcast), over every element."""
    return vector_norm(as_variable(input, "dist") - other, p)


def addmv(input: Any, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Variable:
    """``beta * input + alpha * (mat @ vec)`` (``input`` ignored, NaNs too, when beta is 0)."""
    m, v = as_variable(mat, "addmv"), as_variable(vec, "addmv")
    if m.ndim != 2 or v.ndim != 1:
        raise ShapeError(
            f"addmv(): vector + matrix @ vector expected, got {m.ndim}-d matrix, {v.ndim}-d vector"
        )
    return _scaled_sum("addmv", input, m.mv(v), beta, alpha)


def addr(input: Any, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Variable:
    """``beta * input + alpha * outer(vec1, vec2)`` (``input`` ignored when beta is 0)."""
    a, b = as_variable(vec1, "addr"), as_variable(vec2, "addr")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(
            f"addr(): expected 1-D vectors, got {a.ndim}-D and {b.ndim}-D (vec1 and vec2)"
        )
    return _scaled_sum("addr", input, a.outer(b), beta, alpha)


def _scaled_sum(op: str, input: Any, product: Variable, beta: Any, alpha: Any) -> Variable:
    x = as_variable(input, op)
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:  # PyTorch's: the input's values are not read (its NaNs do not spread)
        return Where.apply(np.asarray(True), scaled, x)
    return (x if beta == 1 else x * beta) + scaled


def ger(input: Any, vec2: Any) -> Variable:
    """The outer product of two vectors (``outer``)."""
    return as_variable(input, "ger").outer(vec2)


def cumulative_trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Variable:
    """The running trapezoid-rule integral of ``y`` along ``dim`` (spacing ``x`` or ``dx``, 1
    by default); one element shorter than ``y`` along ``dim``."""
    v = as_variable(y, "cumulative_trapezoid")
    n = v.shape[dim]
    mean = (v.narrow(dim, 1, n - 1) + v.narrow(dim, 0, n - 1)) * 0.5
    if x is not None:
        xs = as_variable(x, "cumulative_trapezoid")
        k = xs.shape[dim if xs.ndim == v.ndim else -1]
        step = xs.narrow(dim if xs.ndim == v.ndim else -1, 1, k - 1) - xs.narrow(
            dim if xs.ndim == v.ndim else -1, 0, k - 1
        )
        mean = mean * step
    elif dx is not None:
        mean = mean * dx
    if mean.dtype.kind != "f":
        mean = mean.to(get_default_dtype())
    return mean.cumsum(dim)


def vander(x: Any, N: int | None = None, increasing: bool = False) -> Variable:
    """The Vandermonde matrix of a vector: columns ``x**(N-1) ... x**0`` (or increasing), as
    running products (PyTorch's; exact gradients at zeros)."""
    v = as_variable(x, "vander")
    if v.ndim != 1:
        raise ShapeError(f"vander(): x must be a one-dimensional tensor, got {v.ndim}-d")
    n = len(v) if N is None else N
    if n < 0:
        raise InputError(f"vander(): N must be non-negative, got {n}")
    dtype = v.dtype if v.dtype.kind in "fi" else np.dtype(np.int64)
    ones = creation.ones(len(v), 1, dtype=dtype)
    if n <= 1:
        return ones[:, :n]
    powers = concatenate([ones, v.to(dtype).unsqueeze(1).expand(len(v), n - 1)], 1).cumprod(1)
    return powers if increasing else powers.flip(1)


Frexp = type("Frexp", (nodiff.NoGradient,), {"__doc__": "The binary exponents of the values."})
Gcd = type("Gcd", (nodiff.NoGradient,), {"__doc__": "The greatest common divisors."})
Lcm = type("Lcm", (nodiff.NoGradient,), {"__doc__": "The least common multiples."})


def frexp(input: Any) -> tuple[Variable, Variable]:
    """``(mantissa, exponent)`` with ``input = mantissa * 2**exponent``, ``|mantissa|`` in
    [0.5, 1) (an int32 exponent; floats only). The mantissa's gradient is ``2**-exponent``."""
    x = as_variable(input, "frexp")
    if x.dtype.kind != "f":
        raise InputError(f"frexp(): only supports floating-point dtypes, got {x.dtype}")
    _, exponent = np.frexp(x._data)
    scale = np.ldexp(np.ones((), x.dtype), -exponent).astype(x.dtype)
    exp = nodiff.announce(Frexp, (x,), from_op(exponent.astype(np.int32), None))
    return x * scale, exp


def ldexp(input: Any, other: Any) -> Variable:
    """``input * 2**other`` (a float result)."""
    x = as_variable(input, "ldexp")
    if x.dtype.kind != "f":
        x = x.to(get_default_dtype())
    power = other._data if isinstance(other, Variable) else np.asarray(other)
    return x * np.ldexp(np.ones((), x.dtype), power).astype(x.dtype)


def _integers(op: type[nodiff.NoGradient], ufunc: Any, input: Any, other: Any) -> Variable:
    name = op.__name__.lower()
    a, b = as_variable(input, name), as_variable(other, name)
    for t in (a, b):
        if t.dtype.kind not in "iu":
            raise InputError(f'"{name}" not implemented for {t.dtype} (integers only)')
    dtype = _promotion.result_type(a._data, b._data)
    out = np.asarray(ufunc(a._data, b._data)).astype(dtype)
    return nodiff.announce(op, (a, b), from_op(out, None))


def gcd(input: Any, other: Any) -> Variable:
    """The greatest common divisor, elementwise (integers)."""
    return _integers(Gcd, np.gcd, input, other)


def lcm(input: Any, other: Any) -> Variable:
    """The least common multiple, elementwise (integers)."""
    return _integers(Lcm, np.lcm, input, other)


def split_with_sizes(input: Variable, split_sizes: Any, dim: int = 0) -> tuple[Variable, ...]:
    """Views of ``split_sizes[i]`` elements along ``dim``; the sizes must add up."""
    x, sizes = as_variable(input, "split_with_sizes"), list(split_sizes)
    if sum(sizes) != x.shape[dim]:
        raise ShapeError(
            f"split_with_sizes(): expects split_sizes to sum exactly to {x.shape[dim]} "
            f"(input tensor's size at dimension {dim}), but got split_sizes={sizes}"
        )
    return x.split(sizes, dim)


def unsafe_split(input: Any, split_size: Any, dim: int = 0) -> tuple[Variable, ...]:
    """``split`` (PyTorch's form without its view checks)."""
    return as_variable(input, "unsafe_split").split(split_size, dim)


def unsafe_split_with_sizes(input: Any, split_sizes: Any, dim: int = 0) -> tuple[Variable, ...]:
    """``split_with_sizes`` (PyTorch's form without its view checks)."""
    return split_with_sizes(input, split_sizes, dim)


def unsafe_chunk(input: Any, chunks: int, dim: int = 0) -> tuple[Variable, ...]:
    """``chunk`` (PyTorch's form without its view checks)."""
    return as_variable(input, "unsafe_chunk").chunk(chunks, dim)


#: the names this module adds to the top-level package
NAMES = [
    "asarray", "result_type", "promote_types", "can_cast", "diagflat", "dist", "addmv", "addr",
    "ger", "cumulative_trapezoid", "vander", "frexp", "ldexp", "gcd", "lcm", "split_with_sizes",
    "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk",
]  # fmt: skip

#: the methods PyTorch has of these (``x.addmv(mat, vec)``, ``x.split_with_sizes(...)``)
METHODS = (
    "diagflat", "dist", "addmv", "addr", "ger", "frexp", "ldexp", "gcd", "lcm",
    "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk",
)  # fmt: skip
variable_elementwise.add_methods(globals(), METHODS)
