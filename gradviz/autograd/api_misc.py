"""More of PyTorch's top-level functions and methods: ``rsub``, ``range`` (deprecated, as in
PyTorch), ``scalar_tensor``, ``adjoint``, ``addbmm``, ``bitwise_left_shift``/``right_shift``,
``nextafter``, ``kl_div`` (an integer reduction), ``nanmedian``, ``renorm``, ``pdist``, and the
in-place forms ``logit_``, ``nan_to_num_``, ``log10_``, ``log2_``, ``xlogy_``, ``gcd_``,
``lcm_``, ``addmv_``, ``addr_``, ``addbmm_``, ``renorm_`` (the out-of-place function's result
copied in with ``copy_``). Each is a composition of existing ops, so its gradient is theirs.
"""

from __future__ import annotations

import builtins
import warnings
from typing import Any

import numpy as np

from gradviz.autograd import api_extra, variable_elementwise
from gradviz.autograd import functional as F
from gradviz.autograd.dtypes import get_default_dtype
from gradviz.autograd.errors import IndexRangeError, InputError, ShapeError
from gradviz.autograd.functional_top import _reduction
from gradviz.autograd.linalg_norms import vector_norm
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops import promotion as _promotion
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.api_elementwise import xlogy
from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.ops.shape import concatenate
from gradviz.autograd.torch_types import check_factory
from gradviz.autograd.variable import Variable, from_op


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Variable:
    """``other - alpha * input``."""
    x = as_variable(input, "rsub")
    return other - (x if alpha == 1 else x * alpha)


def range(
    start: Any, end: Any, step: Any = 1, *, dtype: Any = None, requires_grad: bool = False,
    device: Any = None, layout: Any = None,
) -> Variable:  # fmt: skip
    """``start, start + step ... end`` with ``end`` included, in the default float dtype;
    deprecated, as in PyTorch (use ``arange``)."""
    check_factory("range", device, layout)
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    count = int(np.floor((end - start) / step)) + 1
    values = start + step * np.arange(max(count, 0), dtype=np.float64)
    return Variable(values.astype(dtype or get_default_dtype()), requires_grad=requires_grad)


def scalar_tensor(
    s: Any, *, dtype: Any = None, requires_grad: bool = False, device: Any = None,
    layout: Any = None, pin_memory: bool | None = False,
) -> Variable:  # fmt: skip
    """A 0-d Variable holding ``s``, in the default float dtype unless ``dtype`` is given."""
    check_factory("scalar_tensor", device, layout, pin_memory)
    data = np.asarray(s, dtype=dtype or get_default_dtype())
    return Variable(data, requires_grad=requires_grad)


def adjoint(input: Any) -> Variable:
    """The conjugate transpose of the last two dims: their transpose (real tensors)."""
    x = as_variable(input, "adjoint")
    if x.ndim < 2:
        raise InputError(
            "tensor.adjoint() is only supported on matrices or batches of matrices. "
            f"Got {x.ndim}-D tensor."
        )
    return x.mT


def addbmm(input: Any, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Variable:
    """``beta * input + alpha * sum_i(batch1[i] @ batch2[i])``."""
    b1, b2 = as_variable(batch1, "addbmm"), as_variable(batch2, "addbmm")
    if b1.ndim != 3 or b2.ndim != 3:
        raise ShapeError(f"addbmm(): batch1 and batch2 must be 3-d, got {b1.ndim}-d, {b2.ndim}-d")
    return api_extra._scaled_sum("addbmm", input, (b1 @ b2).sum(0), beta, alpha)


ShiftLeft = type("BitwiseLeftShift", (nodiff.NoGradient,), {"__doc__": "input << other."})
ShiftRight = type("BitwiseRightShift", (nodiff.NoGradient,), {"__doc__": "input >> other."})
NextAfter = type("Nextafter", (nodiff.NoGradient,), {"__doc__": "The next float toward other."})


def _integers(op: type[nodiff.NoGradient], ufunc: Any, input: Any, other: Any) -> Variable:
    x = as_variable(input, op.__name__)
    b = other._data if isinstance(other, Variable) else other
    dtype = _promotion.result_type(x._data, b)
    if dtype.kind not in "biu":
        raise InputError(f'"{op.__name__}" not implemented for {dtype} (integers only)')
    out = np.asarray(ufunc(_promotion.cast(x._data, dtype), _promotion.cast(b, dtype)))
    return nodiff.announce(op, (x, other), from_op(out.astype(dtype, copy=False), None))


def bitwise_left_shift(input: Any, other: Any) -> Variable:
    """``input << other`` elementwise (integers)."""
    return _integers(ShiftLeft, np.left_shift, input, other)


def bitwise_right_shift(input: Any, other: Any) -> Variable:
    """``input >> other`` elementwise, keeping the sign (integers)."""
    return _integers(ShiftRight, np.right_shift, input, other)


def nextafter(input: Any, other: Any) -> Variable:
    """The next float after ``input`` toward ``other`` (floats; no gradient)."""
    x, y = as_variable(input, "nextafter"), as_variable(other, "nextafter")
    dtype = _promotion.result_type(x._data, y._data)
    if dtype.kind != "f":
        raise InputError(f'"nextafter_cpu" not implemented for {dtype} (floats only)')
    out = np.nextafter(x._data.astype(dtype), y._data.astype(dtype))
    return nodiff.announce(NextAfter, (x, y), from_op(np.asarray(out), None))


def kl_div(input: Any, target: Any, reduction: int = 0, *, log_target: bool = False) -> Variable:
    """``F.kl_div`` with an integer reduction (0 none, the default, 1 mean over every element,
    2 sum), as PyTorch's top-level function."""
    how = _reduction("kl_div", reduction)
    pointwise = F.kl_div(input, target, "none", log_target)
    return {"none": pointwise, "mean": pointwise.mean(), "sum": pointwise.sum()}[how]


def nanmedian(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median of the values that are not NaN (NaN if there are none); with ``dim``,
    ``(values, indices)`` along it. The gradient flows to the median element."""
    x = as_variable(input, "nanmedian")
    if dim is None:
        return _nanmedian(x.reshape(-1), 0, False)[0].reshape(())
    if x.ndim == 0:  # (a 0-d input is its own median, at index 0)
        return x.clone(), Variable(np.zeros((), np.int64))
    return _nanmedian(x, dim % x.ndim, keepdim)


def _nanmedian(x: Variable, axis: int, keepdim: bool) -> tuple[Variable, Variable]:
    data = x._data
    if data.shape[axis] == 0:
        raise IndexRangeError(f"nanmedian(): Expected reduction dim {axis} to have non-zero size.")
    order = np.argsort(data, axis=axis, kind="stable")  # NaNs last
    if data.dtype.kind == "f":
        count = (~np.isnan(data)).sum(axis=axis, keepdims=True)
    else:
        count = np.full((1,) * data.ndim, data.shape[axis])
    index = np.take_along_axis(order, np.maximum((count - 1) // 2, 0), axis=axis)
    values = x.gather(axis, Variable(index))
    if keepdim:
        return values, Variable(index)
    return values.squeeze(axis), Variable(np.squeeze(index, axis))


def renorm(input: Any, p: float, dim: int, maxnorm: float) -> Variable:
    """Each slice along ``dim`` whose ``p``-norm is over ``maxnorm`` scaled to norm
    ``maxnorm`` (by ``maxnorm / (norm + 1e-7)``, as PyTorch's)."""
    x = as_variable(input, "renorm")
    if x.ndim < 2:
        raise InputError(f"renorm(): input needs at least 2 dimensions, got {x.ndim} dimensions")
    axis = dim % x.ndim
    others = tuple(d for d in builtins.range(x.ndim) if d != axis)
    norm = vector_norm(x, p, dim=others, keepdim=True)
    over = norm._data > maxnorm
    return x * Where.apply(over, maxnorm / (norm + 1e-7), np.ones((), x.dtype))


def pdist(input: Any, p: float = 2) -> Variable:
    """The ``p``-norm distance between each pair of rows ``i < j``, in row order."""
    x = as_variable(input, "pdist")
    if x.ndim != 2:
        raise ShapeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    i, j = np.triu_indices(x.shape[0], 1)
    return vector_norm(x[i] - x[j], p, dim=-1)


def gradient(
    input: Any, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1
) -> tuple[Variable, ...]:
    """The derivative estimated by central differences along each of ``dim`` (every dim by
    default), one-sided at the ends (of ``edge_order`` 1 or 2); ``spacing`` a number, one per
    dim, or the coordinates along each dim."""
    x = as_variable(input, "gradient")
    dims = list(builtins.range(x.ndim)) if dim is None else [dim] if isinstance(dim, int) else dim
    if edge_order not in (1, 2):
        raise InputError(
            f"torch.gradient only supports edge_order=1 and edge_order=2, got {edge_order}"
        )
    steps = spacing if isinstance(spacing, list | tuple) else [spacing] * len(dims)
    if len(steps) != len(dims):
        raise InputError(
            f"torch.gradient expected spacing to be unspecified, a scalar or a list of length "
            f"{len(dims)}, got a list of length {len(steps)}"
        )
    if x.dtype.kind != "f":
        x = x.to(get_default_dtype())
    return tuple(_along_dim(x, d % x.ndim, h, edge_order) for d, h in zip(dims, steps, strict=True))


def _along_dim(x: Variable, axis: int, h: Any, edge_order: int) -> Variable:
    n = x.shape[axis]
    if n < edge_order + 1:
        raise InputError(
            f"torch.gradient expected each dimension size to be at least edge_order+1, got {n}"
        )
    part = lambda start, stop: x.narrow(axis, start, stop - start)  # noqa: E731
    if isinstance(h, Variable):  # coordinates: NumPy's second-order formula inside
        shape = [1] * x.ndim
        shape[axis] = n - 1
        dx = (h[1:] - h[:-1]).reshape(shape)
        a, b = dx.narrow(axis, 0, n - 2), dx.narrow(axis, 1, n - 2)
        inner = part(2, n) * a * a - part(0, n - 2) * b * b + part(1, n - 1) * (b * b - a * a)
        inner = inner / (a * b * (a + b))
        first = (part(1, 2) - part(0, 1)) / dx.narrow(axis, 0, 1)
        last = (part(n - 1, n) - part(n - 2, n - 1)) / dx.narrow(axis, n - 2, 1)
    else:
        inner = (part(2, n) - part(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (part(1, 2) - part(0, 1)) / h
            last = (part(n - 1, n) - part(n - 2, n - 1)) / h
        else:
            first = (part(0, 1) * -3 + part(1, 2) * 4 - part(2, 3)) / (2 * h)
            last = (part(n - 3, n - 2) - part(n - 2, n - 1) * 4 + part(n - 1, n) * 3) / (2 * h)
    return concatenate([first, inner, last], axis)


def fill(input: Any, value: Any) -> Variable:
    """A copy of ``input`` with every element ``value`` (a number or a 0-d Variable)."""
    return as_variable(input, "fill").clone().fill_(value)


def nonzero_static(input: Any, *, size: int, fill_value: int = -1) -> Variable:
    """``nonzero``'s indices, as ``size`` rows: cut, or padded with ``fill_value``."""
    x = as_variable(input, "nonzero_static")
    if size < 0:
        raise InputError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    found = np.argwhere(x._data)[:size]
    out = np.full((size, max(x.ndim, 1) if x.ndim else 0), fill_value, dtype=np.int64)
    out[: len(found)] = found
    return Variable(out)


def binomial(count: Any, prob: Any, generator: Any = None) -> Variable:
    """Draws of the binomial distribution of ``count`` trials of probability ``prob`` (in
    ``count``'s float dtype; no gradient)."""
    from gradviz.autograd import rng  # (it imports the engine's Variable)

    n, p = as_variable(count, "binomial"), as_variable(prob, "binomial")
    if n.dtype.kind != "f" or p.dtype != n.dtype:
        raise InputError(
            f'"binomial_cpu" expects count and prob of one float dtype, got {n.dtype}, {p.dtype}'
        )
    draws = rng.pick(generator).binomial(n._data.astype(np.int64), p._data)
    return Variable(np.asarray(draws).astype(n.dtype))


_BETA_WARNED: list[bool] = []  # whether index_reduce has warned in this process


def index_reduce(
    input: Any, dim: int, index: Any, source: Any, reduce: str, *, include_self: bool = True
) -> Variable:
    """``source``'s slices along ``dim`` reduced (``prod``, ``mean``, ``amax``, ``amin``) into
    ``input``'s slices at ``index`` (``scatter_reduce`` with the index along ``dim``); in
    beta, as PyTorch says once."""
    if not _BETA_WARNED:  # once, as PyTorch warns
        _BETA_WARNED.append(True)
        warnings.warn(
            "index_reduce() is in beta and the API may change at any time.",
            UserWarning,
            stacklevel=2,
        )
    x, src = as_variable(input, "index_reduce"), as_variable(source, "index_reduce")
    idx = as_variable(index, "index_reduce")._data
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise InputError(
            "index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce}."
        )
    axis = dim % max(src.ndim, 1)
    shape = [1] * src.ndim
    shape[axis] = -1
    full = np.broadcast_to(idx.reshape(shape), src.shape)
    return x.scatter_reduce(axis, Variable(np.ascontiguousarray(full)), src, reduce,
                            include_self=include_self)  # fmt: skip


def _inplace(name: str, function: Any) -> Any:
    def method(self: Variable, *args: Any, **kwargs: Any) -> Variable:
        # (on a copy: the op may save its input, which the write then replaces)
        return self.copy_(function(self.clone(), *args, **kwargs))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name[:-1]}`` written into this Variable (``copy_``)."
    return method


_INPLACE = {
    "logit_": lambda x, eps=None: x.logit(eps),
    "nan_to_num_": lambda x, *a, **k: x.nan_to_num(*a, **k),
    "log10_": lambda x: x.log10(),
    "log2_": lambda x: x.log2(),
    "xlogy_": xlogy,
    "gcd_": api_extra.gcd,
    "lcm_": api_extra.lcm,
    "addmv_": api_extra.addmv,
    "addr_": api_extra.addr,
    "addbmm_": addbmm,
    "renorm_": renorm,
    "index_reduce_": index_reduce,
}
globals().update({name: _inplace(name, f) for name, f in _INPLACE.items()})

#: the names this module adds to the top-level package
NAMES = [
    "rsub", "range", "scalar_tensor", "adjoint", "addbmm", "bitwise_left_shift",
    "bitwise_right_shift", "nextafter", "kl_div", "nanmedian", "renorm", "pdist", "logit_",
    "nan_to_num_", "log10_", "log2_", "xlogy_", "gcd_", "lcm_", "addmv_", "gradient",
    "index_reduce", "binomial", "fill", "nonzero_static",
]  # fmt: skip

#: the methods PyTorch has of these
METHODS = (
    "adjoint", "addbmm", "bitwise_left_shift", "bitwise_right_shift", "nextafter",
    "nanmedian", "renorm", "index_reduce", "nonzero_static", *_INPLACE,
)  # fmt: skip
variable_elementwise.add_methods(globals(), METHODS)
