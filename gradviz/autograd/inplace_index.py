"""The in-place forms of the scatter and index methods (``scatter_``, ``scatter_add_``,
``index_add_``, ``index_put_`` ...), of ``addcmul_``, ``addcdiv_``, ``lerp_``, and the random
fills ``bernoulli_``, ``exponential_``, ``random_``, with the semantics of
``gradviz.autograd.inplace`` (a leaf that requires grad refuses; a recorded write rebases the
Variable; every write bumps its version).

Each recorded op is the out-of-place op under the method's name with a trailing underscore
(``ScatterAdd_``); unrecorded, the op's forward is written into the array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import inplace, rng
from gradviz.autograd.errors import InputError, ShapeError
from gradviz.autograd.function import Function, new_context
from gradviz.autograd.inplace_ops import take_graph_rule
from gradviz.autograd.ops import Lerp
from gradviz.autograd.ops import linalg_more as _linalg
from gradviz.autograd.ops import scatter as _scatter
from gradviz.autograd.ops import scatter_checks as _checks
from gradviz.autograd.ops.linalg_checks import pointwise_operands
from gradviz.autograd.variable import Variable


class Scatter_(_scatter.Scatter):
    pass


class ScatterAdd_(_scatter.ScatterAdd):
    pass


class ScatterReduce_(_scatter.ScatterReduce):
    pass


class IndexAdd_(_scatter.IndexAdd):
    pass


class IndexFill_(_scatter.IndexFill):
    pass


class IndexCopy_(_scatter.IndexCopy):
    pass


class IndexPut_(_scatter.IndexPut):
    pass


class Addcmul_(_linalg.Addcmul):
    pass


class Addcdiv_(_linalg.Addcdiv):
    pass


class Lerp_(Lerp):
    pass


class Bernoulli_(inplace.Fill_):
    pass


class Exponential_(inplace.Fill_):
    pass


class Random_(inplace.Fill_):
    pass


#: Every recorded in-place op of this module.
INDEX_INPLACE_OPS: tuple[type[Function], ...] = (
    Scatter_, ScatterAdd_, ScatterReduce_, IndexAdd_, IndexFill_,
    IndexCopy_, IndexPut_, Addcmul_, Addcdiv_, Lerp_, Bernoulli_, Exponential_, Random_,
)  # fmt: skip

#: the ops that write along a dim (a 0-d target is written as a copy of the 1-d result)
_ALONG_A_DIM = (Scatter_, ScatterAdd_, ScatterReduce_, IndexAdd_, IndexFill_, IndexCopy_)

for _op in INDEX_INPLACE_OPS:  # as the built-in ops: rules return fresh arrays or views of grad
    _op._may_alias = False
    inplace._METHOD[_op] = "".join(
        "_" + c.lower() if c.isupper() else c for c in _op.__name__
    ).lstrip("_")
    take_graph_rule(_op)  # (the base op's: see inplace_ops)


def _data(value: Any) -> Any:
    return value._data if isinstance(value, Variable) else value


def _apply(op: type[Function], target: Variable, *args: Any) -> Variable:
    """``op`` on ``target`` in place: recorded, or its forward written into the array."""
    if not target.ndim and op in _ALONG_A_DIM:  # NumPy's fancy writes need an axis: the
        # result of a copy (the write then changes no array the op keeps), copied in
        return inplace.copy_(target, _checks._applied(op.__base__, target.clone(), *args))

    def write(*operands: Any, out: np.ndarray) -> None:
        result = op.forward(new_context(op, (False,) * len(operands)), *operands)
        np.copyto(out, result, casting="same_kind")

    return inplace._write(target, op, args, write, target._data, *map(_data, args))


def scatter_(target: Variable, dim: Any, index: Any, src: Any, value: Any, reduce: Any) -> Variable:
    """``target.scatter_(dim, index, src | value, reduce=None)``."""
    if (src is None) == (value is None):
        raise InputError("scatter_(): expected exactly one of 'src' and 'value'")
    source = value if src is None else src
    axis, index, source = _checks.scatter_arguments(target, dim, index, source, "scatter")
    if reduce is None:
        return _apply(Scatter_, target, axis, index, source)
    return _apply(
        ScatterReduce_, target, axis, index, *_checks.reduced(target, index, source, reduce)
    )


def scatter_add_(target: Variable, dim: Any, index: Any, src: Any) -> Variable:
    """``target.scatter_add_(dim, index, src)``."""
    axis, index, src = _checks.scatter_arguments(target, dim, index, src, "scatter_add")
    return _apply(ScatterAdd_, target, axis, index, src)


def scatter_reduce_(
    target: Variable, dim: Any, index: Any, src: Any, reduce: str, include_self: bool
) -> Variable:
    """``target.scatter_reduce_(dim, index, src, reduce, include_self=True)``."""
    reduce = _checks.reduction(reduce)
    axis, index, src = _checks.scatter_arguments(target, dim, index, src, "scatter_reduce")
    return _apply(ScatterReduce_, target, axis, index, src, reduce, bool(include_self))


def index_add_(target: Variable, dim: Any, index: Any, source: Any, alpha: Any) -> Variable:
    """``target.index_add_(dim, index, source, alpha=1)``."""
    axis, index, source = _checks.index_source(target, dim, index, source, "index_add")
    return _apply(IndexAdd_, target, axis, index, source, alpha)


def index_copy_(target: Variable, dim: Any, index: Any, source: Any) -> Variable:
    """``target.index_copy_(dim, index, source)``."""
    axis, index, source = _checks.index_source(target, dim, index, source, "index_copy")
    return _apply(IndexCopy_, target, axis, index, source)


def index_fill_(target: Variable, dim: Any, index: Any, value: Any) -> Variable:
    """``target.index_fill_(dim, index, value)``."""
    axis, index, value = _checks.index_fill_arguments(target, dim, index, value)
    return _apply(IndexFill_, target, axis, index, value)


def index_put_(target: Variable, indices: Any, values: Any, accumulate: bool) -> Variable:
    """``target.index_put_(indices, values, accumulate=False)``."""
    indices, values = _checks.index_put_arguments(target, indices, values, "index_put_")
    return _apply(IndexPut_, target, indices, values, bool(accumulate))


def addc_(target: Variable, name: str, tensor1: Any, tensor2: Any, value: Any) -> Variable:
    """``addcmul_``/``addcdiv_``: checked as the out-of-place op, written into ``target``."""
    op = Addcmul_ if name == "addcmul" else Addcdiv_
    _, a, b, value = pointwise_operands(name, target, tensor1, tensor2, value)
    return _apply(op, target, a, b, value)


def lerp_(target: Variable, end: Any, weight: Any) -> Variable:
    """``target += weight * (end - target)``, checked as ``lerp``."""
    checked = target.detach().lerp(end, weight)  # the checks, and the broadcast shape
    if checked.shape != target.shape:
        raise InputError(
            f"lerp_: output with shape {target.shape} doesn't match the broadcast shape "
            f"{checked.shape}"
        )
    end = end if isinstance(end, Variable) else Variable(np.asarray(end, target.dtype))
    return _apply(Lerp_, target, end, weight)


def _fill(target: Variable, op: type[Function], values: np.ndarray) -> Variable:
    values = values.astype(target.dtype, copy=False)
    return inplace._write(target, op, (values,), inplace._copy, values)


def bernoulli_(target: Variable, p: Any, generator: Any) -> Variable:
    """Fill with 1 with probability ``p`` (a number, or a Variable broadcast to the shape)."""
    p = np.asarray(_data(p), dtype=np.float64)
    if ((p < 0) | (p > 1)).any():
        raise InputError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    pairs = zip(p.shape[::-1], target.shape[::-1], strict=False)
    if p.ndim > target.ndim or any(m not in (1, n) for m, n in pairs):
        raise ShapeError(
            f"bernoulli_: p of shape {p.shape} does not broadcast to the shape {target.shape}"
        )
    draws = rng.pick(generator).random(target.shape) < p
    return _fill(target, Bernoulli_, draws)


def exponential_(target: Variable, lambd: float, generator: Any) -> Variable:
    """Fill with draws of the exponential distribution of rate ``lambd``."""
    if not lambd > 0:
        raise InputError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    if target.dtype.kind != "f":
        raise InputError(f"\"exponential_cpu\" not implemented for '{target.dtype}'")
    return _fill(target, Exponential_, rng.pick(generator).exponential(1 / lambd, target.shape))


def _largest(dtype: np.dtype) -> int:
    """The largest integer ``random_()`` draws for ``dtype`` (exact in a float's mantissa)."""
    if dtype.kind == "f":
        return 2 ** (np.finfo(dtype).nmant + 1)
    if dtype.kind == "b":
        return 1
    return int(np.iinfo(dtype).max)


def random_(target: Variable, from_: int, to: int | None, generator: Any) -> Variable:
    """Fill with integers drawn from ``[from_, to)`` (``[0, from_)`` given one bound)."""
    last = to is None and from_ == 0  # the dtype's largest is drawn too
    if to is None:
        low, high = 0, from_ or _largest(target.dtype)
    else:
        low, high = from_, to
    if low >= high:
        raise InputError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    draws = rng.pick(generator).integers(low, high, target.shape, dtype=np.int64, endpoint=last)
    return _fill(target, Random_, draws)
