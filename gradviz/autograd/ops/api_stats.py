"""PyTorch's reductions and statistics a ported script reaches for: ``nansum``, ``nanmean``,
``std_mean``, ``var_mean``, ``quantile``/``nanquantile``, ``cov``, ``corrcoef``,
``kthvalue``, ``mode``, ``trapezoid``/``trapz``, ``unique_consecutive``, ``cartesian_prod``
and ``combinations``, as top-level functions (and methods, through ``variable_extra``, where
PyTorch has both).

Each is a composition of existing ops (where, sum, sort, gather, lerp, matmul ...), so the
gradient is theirs and the graph shows them; the values PyTorch computes without gradient
(``unique_consecutive``, the indices of ``kthvalue`` and ``mode``) take none either, and a
trace draws them as the output of a no-gradient op (``ops.nodiff``) reading the input.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any, NamedTuple

import numpy as np

from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import IndexRangeError, InputError, OperandError, ShapeError
from gradviz.autograd.linalg_norms import torch_name
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.indexing import where
from gradviz.autograd.ops.sequence import kept_or_not
from gradviz.autograd.ops.shape import stack
from gradviz.autograd.variable import Variable, get_default_dtype


def _zero_nan(x: Variable) -> Variable:
    return where(x.isnan(), np.zeros((), x.dtype), x) if x.dtype.kind == "f" else x


def nansum(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Variable:
    """The sum over ``dim`` with NaN counted as zero (their gradient 0)."""
    x = as_variable(input, "nansum")
    return _zero_nan(x).sum(dim, keepdim, dtype=dtype)


def nanmean(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Variable:
    """The mean over ``dim`` of the elements that are not NaN."""
    x = as_variable(input, "nanmean")
    if x.dtype.kind != "f":
        raise InputError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{torch_name(x.dtype)}"
        )
    if dtype is not None:
        x = x.to(dtype)
    count = (~x.isnan()).sum(dim, keepdim)
    return nansum(x, dim, keepdim) / count.to(x.dtype)


def std_mean(input: Any, *args: Any, **kwargs: Any) -> tuple[Variable, Variable]:
    """``(std, mean)`` over the dims, with ``std``'s arguments (``correction``, ``unbiased``,
    ``keepdim``)."""
    x = as_variable(input, "std_mean")
    return x.std(*args, **kwargs), _mean_of(x, args, kwargs)


def var_mean(input: Any, *args: Any, **kwargs: Any) -> tuple[Variable, Variable]:
    """``(var, mean)`` over the dims, with ``var``'s arguments."""
    x = as_variable(input, "var_mean")
    return x.var(*args, **kwargs), _mean_of(x, args, kwargs)


def _mean_of(x: Variable, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Variable:
    dim = kwargs.get("dim", args[0] if args and not isinstance(args[0], bool) else None)
    keepdim = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
    return x.mean(dim, keepdim)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_q(q: Any, x: Variable, op: str) -> tuple[np.ndarray, bool]:
    """The probabilities as an array and whether a scalar was given, checked."""
    if isinstance(q, Variable):
        if q.dtype != x.dtype:
            raise InputError(f"{op}() q tensor must be same dtype as the input tensor")
        if q.ndim > 1:
            raise InputError(f"{op}() q must be a scalar or 1D tensor")
        values, scalar = q._data, q.ndim == 0
    elif isinstance(q, float | int) and not isinstance(q, bool):
        values, scalar = np.asarray(q, x.dtype), True
    else:
        raise OperandError(
            f"{op}(): argument 'q' must be float or Variable, not {type(q).__name__}"
        )
    if np.any((values < 0) | (values > 1)):
        bad = values[(values < 0) | (values > 1)].flat[0]
        raise InputError(f"{op}() q must be in the range [0, 1] but got {bad}")
    return values.reshape(-1), scalar


def _quantile(
    op: str, input: Any, q: Any, dim: Any, keepdim: bool, interpolation: str, skip_nan: bool
) -> Variable:
    x = as_variable(input, op)
    if x.dtype.kind != "f" or x.dtype == np.float16:
        raise InputError(f"{op}() input tensor must be either float or double dtype")
    if not x.numel():
        raise InputError(f"{op}() input tensor must be non-empty")
    if interpolation not in _INTERPOLATIONS:
        raise InputError(
            f"{op}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
            f"Got {interpolation}"
        )
    probs, scalar = _quantile_q(q, x, op)
    if dim is None:
        flat, axis = x.reshape(-1), 0
    else:
        axis = dim_index(dim, max(x.ndim, 1), op)
        flat = x.reshape(1) if not x.ndim else x
    moved = flat.movedim(axis, -1).sort(-1).values  # NaN sorted last
    nan = np.isnan(moved._data)
    n = moved.shape[-1]
    valid = n - nan.sum(-1, keepdims=True)
    ranks = probs.reshape((-1,) + (1,) * moved.ndim) * np.maximum(valid - 1, 0)  # (q, ..., 1)
    if not skip_nan:  # a NaN reduced: PyTorch reads the last sorted element, a NaN (and its grad)
        ranks = np.where(valid < n, n - 1, ranks)
    low, high = np.floor(ranks), np.ceil(ranks)
    if interpolation == "lower":
        high = low
    elif interpolation == "higher":
        low = high
    elif interpolation == "nearest":
        low = high = np.round(ranks)  # half to even, as PyTorch's round
    shape = (len(probs), *moved.shape[:-1], 1)
    expanded = moved.unsqueeze(0).expand(len(probs), *moved.shape)
    out = expanded.gather(-1, np.broadcast_to(low.astype(np.int64), shape))
    if interpolation in ("linear", "midpoint"):
        above = expanded.gather(-1, np.broadcast_to(high.astype(np.int64), shape))
        weight = ranks - low if interpolation == "linear" else np.full(ranks.shape, 0.5)
        out = out.lerp(above, Variable(np.broadcast_to(weight, shape).astype(x.dtype)))
    out = out.squeeze(-1)
    if keepdim:
        out = (
            out.unsqueeze(axis + 1) if dim is not None else out.reshape(len(probs), *(1,) * x.ndim)
        )
    return out[0] if scalar else out


def quantile(
    input: Any,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Variable:
    """The ``q``-th quantiles over ``dim`` (every element when None; a 1-d ``q`` adds a first
    dim): sorted values interpolated "linear", "lower", "higher", "midpoint" or "nearest"; NaN
    where a NaN is reduced."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(
    input: Any,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Variable:
    """``quantile`` of the elements that are not NaN (NaN where all are)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


def cov(input: Any, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Variable:
    """The covariance matrix of the variables in ``input``'s rows (a 1-d input: one variable,
    a 0-d result), observations in columns, weighted by ``fweights`` (integer counts) and
    ``aweights`` as PyTorch's."""
    x = as_variable(input, "cov")
    if x.ndim > 2:
        raise ShapeError(
            "cov(): expected input to have two or fewer dimensions but got an input with "
            f"{x.ndim} dimensions"
        )
    if x.dtype.kind in "biu":
        x = x.to(get_default_dtype())
    rows = x.reshape(1, -1) if x.ndim < 2 else x
    w = _cov_weight("fweights", fweights, rows)
    a = _cov_weight("aweights", aweights, rows)
    if w is not None and a is not None:
        w = w * a
    w = a if w is None else w
    if w is None:
        mean, dof = rows.mean(1, keepdim=True), rows.shape[1] - correction
    else:
        total = w.sum()
        mean = (rows * w).sum(1, keepdim=True) / total
        dof = total - correction if a is None else total - correction * (w * a).sum() / total
    if float(dof.detach() if isinstance(dof, Variable) else dof) <= 0:
        warnings.warn(
            "cov(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "number of observations.",
            UserWarning,
            stacklevel=2,
        )
        dof = dof.clamp(min=0) if isinstance(dof, Variable) else 0
    centered = rows - mean
    out = (centered @ (centered if w is None else centered * w).mT) / dof
    return out.reshape(()) if out.shape == (1, 1) else out  # squeezed, as PyTorch's


def _cov_weight(name: str, value: Any, rows: Variable) -> Variable | None:
    """``fweights`` or ``aweights`` checked, in the input's dtype (None when not given)."""
    if value is None:
        return None
    w = as_variable(value, "cov")
    n = rows.shape[1]
    if w.ndim > 1:
        raise ShapeError(
            f"cov(): expected {name} to have one or fewer dimensions but got {w.ndim} dimensions"
        )
    if w.numel() != n:
        raise ShapeError(
            f"cov(): expected {name} to have the same numel as there are observations in the "
            f"input but got {w.numel()} != {n}"
        )
    integral = name == "fweights"
    if (w.dtype.kind in "iu") != integral or w.dtype.kind == "b":
        kind = "integral" if integral else "floating point"
        raise InputError(
            f"cov(): expected {name} to have {kind} dtype but got {name} with "
            f"{torch_name(w.dtype)} dtype"
        )
    if np.any(w._data < 0):
        raise InputError(f"cov(): {name} cannot be negative")
    return w.to(rows.dtype)


def corrcoef(input: Any) -> Variable:
    """Pearson's correlation coefficients of the variables in ``input``'s rows (clipped into
    [-1, 1])."""
    c = cov(input)
    if not c.ndim:
        return c / c
    std = c.diagonal().sqrt()
    return (c / std[:, None] / std[None, :]).clamp(-1, 1)


class Selected(NamedTuple):
    """``(values, indices)`` of ``kthvalue`` and ``mode``, as PyTorch's."""

    values: Variable
    indices: Variable


def kthvalue(input: Any, k: int, dim: int = -1, keepdim: bool = False) -> Selected:
    """The ``k``-th smallest value along ``dim`` and its index (of a stable sort)."""
    x = as_variable(input, "kthvalue")
    axis = dim_index(dim, max(x.ndim, 1), "kthvalue")
    size = x.shape[axis] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= size:
        raise InputError(f"kthvalue(): selected number k out of range for dimension {axis}")
    values, indices = (x.reshape(1) if not x.ndim else x).sort(axis, stable=True)
    value, index = values.narrow(axis, k - 1, 1), indices.narrow(axis, k - 1, 1)
    if not keepdim or not x.ndim:
        value, index = value.squeeze(axis), index.squeeze(axis)
    return Selected(value, index)


def mode(input: Any, dim: int = -1, keepdim: bool = False) -> Selected:
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the
    index of its last occurrence, as PyTorch's; the gradient goes to that element."""
    x = as_variable(input, "mode")
    axis = dim_index(dim, max(x.ndim, 1), "mode")
    base = x.reshape(1) if not x.ndim else x
    data = np.moveaxis(base._data, axis, -1)
    n = data.shape[-1]
    if not n:
        raise IndexRangeError(f"mode(): Expected reduction dim {axis} to have non-zero size.")
    rows = data.reshape(-1, n)
    last = np.empty(len(rows), np.int64)
    for r, row in enumerate(rows):  # one np.unique per row: sorted values and their counts
        values, counts = np.unique(row, return_counts=True)
        last[r] = n - 1 - np.argmax(row[::-1] == values[np.argmax(counts)])
    index = np.moveaxis(last.reshape((*data.shape[:-1], 1)), -1, axis)
    return Selected(*kept_or_not(x, axis, keepdim, nodiff.ModeIndices, index))


def trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Variable:
    """The trapezoidal rule along ``dim``: samples ``y`` at points ``x`` (or spaced ``dx``,
    default 1)."""
    values = as_variable(y, "trapezoid")
    if x is not None and dx is not None:
        raise InputError("trapezoid: received both x and dx; give one of them")
    axis = dim_index(dim, max(values.ndim, 1), "trapezoid")
    n = values.shape[axis] if values.ndim else 0
    if n == 0:
        return values.sum(axis) * 0 if values.ndim else values * 0
    pairs = values.narrow(axis, 1, n - 1) + values.narrow(axis, 0, n - 1)
    if x is None:
        return (pairs.sum(axis) * (1 if dx is None else dx)) / 2
    points = as_variable(x, "trapezoid")
    if points.ndim == 1:
        if points.shape[0] != n:
            raise ShapeError("trapezoid: There must be one `x` value for each sample point")
        steps = points.diff()
        shape = [1] * values.ndim
        shape[axis] = n - 1
        return (pairs * steps.reshape(*shape)).sum(axis) / 2
    return (pairs * points.diff(dim=dim)).sum(axis) / 2


def trapz(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Variable:
    """``trapezoid``, by its older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def unique_consecutive(
    input: Any, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Variable | tuple[Variable, ...]:
    """The first of each run of equal consecutive elements (slices along ``dim`` when given),
    with where each element went and each run's length (int64); no gradient (PyTorch's result
    of an input that requires grad does too, but its backward raises: here it is a constant)."""
    x = as_variable(input, "unique_consecutive")
    data = (
        x._data.reshape(-1)
        if dim is None
        else np.moveaxis(x._data, dim_index(dim, x.ndim, "unique_consecutive"), 0)
    )
    if len(data):
        rest = data[1:] != data[:-1]
        starts = np.concatenate(
            [[True], rest.reshape(len(rest), -1).any(-1) if rest.ndim > 1 else rest]
        )
    else:
        starts = np.zeros(0, bool)
    values = data[starts]
    if dim is not None:
        values = np.moveaxis(values, 0, dim_index(dim, x.ndim, "unique_consecutive"))
    out = [nodiff.announce(nodiff.UniqueConsecutive, (x, dim), Variable(values))]
    if return_inverse:
        inverse = np.cumsum(starts) - 1
        inverse = Variable(inverse.reshape(x.shape) if dim is None else inverse)
        out.append(nodiff.announce(nodiff.UniqueInverse, (x, dim), inverse))
    if return_counts:
        counts = Variable(np.diff(np.append(np.flatnonzero(starts), len(starts))))
        out.append(nodiff.announce(nodiff.UniqueCounts, (x, dim), counts))
    return out[0] if len(out) == 1 else tuple(out)


def cartesian_prod(*tensors: Any) -> Variable:
    """Every combination of one element from each 1-d input, one row each (the input itself
    when there is one)."""
    xs = [as_variable(t, "cartesian_prod") for t in tensors]
    for t in xs:
        if t.ndim != 1:
            raise ShapeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(xs) == 1:
        return xs[0]
    from gradviz.autograd.ops.api_more import meshgrid

    return stack([g.reshape(-1) for g in meshgrid(*xs, indexing="ij")], 1)


def combinations(input: Any, r: int = 2, with_replacement: bool = False) -> Variable:
    """Every length-``r`` combination of the elements of a 1-d input, in order, one row each
    (``with_replacement``: an element may repeat)."""
    x = as_variable(input, "combinations")
    if x.ndim != 1:
        raise ShapeError(f"Expect a 1D vector, but got shape {list(x.shape)}")
    if isinstance(r, bool) or not isinstance(r, int) or r < 0:
        raise InputError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return Variable(np.zeros(0, x.dtype))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = np.array(list(pick(range(x.shape[0]), r)), np.int64).reshape(-1, r)
    return x[index]


#: every public function of this module, for the top-level namespaces
NAMES = (
    "nansum",
    "nanmean",
    "std_mean",
    "var_mean",
    "quantile",
    "nanquantile",
    "cov",
    "corrcoef",
    "kthvalue",
    "mode",
    "trapezoid",
    "trapz",
    "unique_consecutive",
    "cartesian_prod",
    "combinations",
)
