"""PyTorch's older top-level linear algebra (``cholesky_solve``, ``cholesky_inverse``,
``triangular_solve``; ``svd``, ``qr`` and ``cholesky`` are ``linalg_legacy``'s), the scatters
of views (``slice_scatter``, ``select_scatter``, ``diagonal_scatter``), ``masked_scatter``, ``put``,
``histogram`` and the top-level ``ctc_loss``, as functions and methods: each a composition of
``gradviz.linalg`` or of a write into a copy (``clone``, then ``x[index] = src``), so the
gradients are theirs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd import linalg, variable_elementwise
from gradviz.autograd.errors import InputError, ShapeError
from gradviz.autograd.functional_top import _reduction
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable


class TriangularSolve(NamedTuple):
    """``torch.triangular_solve``'s result: the solution and a copy of the matrix."""

    solution: Variable
    cloned_coefficient: Variable


def cholesky_solve(B: Any, L: Any, upper: bool = False) -> Variable:
    """``X`` with ``A X = B``, given the Cholesky factor of ``A`` (lower, or upper). As
    PyTorch's, the factor is read whole (``A = L L^T``), so its gradient has both triangles."""
    return linalg.solve(_product(L, upper, "cholesky_solve"), as_variable(B, "cholesky_solve"))


def cholesky_inverse(L: Any, upper: bool = False) -> Variable:
    """The inverse of ``A = L L^T`` (``U^T U`` when ``upper``), the factor read whole."""
    return linalg.inv(_product(L, upper, "cholesky_inverse"))


def _product(factor: Any, upper: bool, op: str) -> Variable:
    f = as_variable(factor, op)
    return f.mT @ f if upper else f @ f.mT


def triangular_solve(
    b: Any, A: Any, upper: bool = True, transpose: bool = False, unitriangular: bool = False
) -> TriangularSolve:
    """``(X, A.clone())`` with ``A X = b`` (``A^T X = b`` when ``transpose``), ``A``
    triangular (upper by default, as PyTorch's)."""
    a = as_variable(A, "triangular_solve")
    m = a.mT if transpose else a
    x = linalg.solve_triangular(
        m, as_variable(b, "triangular_solve"), upper=upper != transpose, unitriangular=unitriangular
    )
    return TriangularSolve(x, a.clone())


def _along(dim: int, ndim: int, index: Any) -> tuple[Any, ...]:
    return (slice(None),) * (dim % max(ndim, 1)) + (index,)


def slice_scatter(
    input: Any, src: Any, dim: int = 0, start: Any = None, end: Any = None, step: int = 1
) -> Variable:
    """A copy of ``input`` with ``input[start:end:step]`` along ``dim`` replaced by ``src``."""
    out = as_variable(input, "slice_scatter").clone()
    out[_along(dim, out.ndim, slice(start, end, step))] = _src(out, src, "slice_scatter")
    return out


def select_scatter(input: Any, src: Any, dim: int, index: int) -> Variable:
    """A copy of ``input`` with the slice at ``index`` along ``dim`` replaced by ``src``."""
    out = as_variable(input, "select_scatter").clone()
    out[_along(dim, out.ndim, index)] = _src(out, src, "select_scatter")
    return out


def diagonal_scatter(
    input: Any, src: Any, offset: int = 0, dim1: int = 0, dim2: int = 1
) -> Variable:
    """A copy of ``input`` with its ``offset``-th diagonal of ``dim1``, ``dim2`` replaced by
    ``src`` (of ``diagonal``'s shape)."""
    x = as_variable(input, "diagonal_scatter")
    d1, d2 = dim1 % x.ndim, dim2 % x.ndim
    moved = x.movedim((d1, d2), (-2, -1)).clone()
    n = max(0, min(moved.shape[-2] + min(offset, 0), moved.shape[-1] - max(offset, 0)))
    i = np.arange(n)
    values = _src(x, src, "diagonal_scatter")
    expected = (*moved.shape[:-2], n)
    if tuple(values.shape) != expected:
        raise ShapeError(
            f"diagonal_scatter(): src must have the diagonal's shape {expected}, got "
            f"{tuple(values.shape)}"
        )
    moved[..., i + max(-offset, 0), i + max(offset, 0)] = values
    return moved.movedim((-2, -1), (d1, d2))


def _src(x: Variable, src: Any, op: str) -> Variable:
    s = as_variable(src, op)
    if s.dtype != x.dtype:
        raise InputError(f"{op}(): expected src to have dtype {x.dtype}, got {s.dtype}")
    return s


def masked_scatter(input: Any, mask: Any, source: Any) -> Variable:
    """A copy of ``input`` with the places where ``mask`` is true filled, in order, with the
    first elements of ``source``."""
    out = as_variable(input, "masked_scatter").clone()
    m = as_variable(mask, "masked_scatter")
    if m.dtype != np.bool_:
        raise InputError(
            f"masked_scatter_ only supports boolean masks, but got mask with dtype {m.dtype}"
        )
    where = np.broadcast_to(m._data, out.shape)
    count = int(where.sum())
    flat = as_variable(source, "masked_scatter").reshape(-1)
    if count > flat.shape[0]:
        raise ShapeError(
            f"masked_scatter: expected source to have at least {count} elements (the true "
            f"places of mask), got {flat.shape[0]}"
        )
    out[where] = flat[:count]
    return out


def put(input: Any, index: Any, source: Any, accumulate: bool = False) -> Variable:
    """A copy of ``input`` with the elements at flat ``index`` (of the row-by-row order) set
    to ``source`` (added when ``accumulate``)."""
    x = as_variable(input, "put")
    flat = x.reshape(-1).index_put(
        (as_variable(index, "put").reshape(-1),),
        as_variable(source, "put").reshape(-1),
        accumulate,
    )
    return flat.reshape(tuple(x.shape))


class Histogram(NamedTuple):
    """``torch.histogram``'s result."""

    hist: Variable
    bin_edges: Variable


def histogram(
    input: Any, bins: Any = 100, *, range: Any = None, weight: Any = None, density: bool = False
) -> Histogram:
    """The counts of ``input``'s values in ``bins`` (a number of equal bins, or their edges),
    weighted by ``weight``, as a density when ``density`` (floats; no gradient)."""
    x = as_variable(input, "histogram")
    if x.dtype.kind != "f":
        raise InputError(f'"histogram_cpu" not implemented for {x.dtype} (floats only)')
    edges = bins._data if isinstance(bins, Variable) else bins
    w = weight._data if isinstance(weight, Variable) else weight
    hist, out_edges = np.histogram(x._data, edges, range=range, weights=w, density=density)
    return Histogram(Variable(hist.astype(x.dtype)), Variable(out_edges.astype(x.dtype)))


def ctc_loss(
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: int = 0,
    zero_infinity: bool = False,
) -> Variable:
    """``F.ctc_loss`` with an integer reduction (0 none, the default, 1 mean, 2 sum)."""
    how = _reduction("ctc_loss", reduction)
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, how, zero_infinity)


#: the names this module adds to the top-level package
NAMES = [
    "cholesky_solve", "cholesky_inverse", "triangular_solve",
    "slice_scatter", "select_scatter", "diagonal_scatter", "masked_scatter", "put",
    "histogram", "ctc_loss",
]  # fmt: skip

#: the methods PyTorch has of these
METHODS = (
    "cholesky_solve", "cholesky_inverse", "triangular_solve",
    "slice_scatter", "select_scatter", "diagonal_scatter", "masked_scatter", "put",
    "histogram",
)  # fmt: skip
variable_elementwise.add_methods(globals(), METHODS)


def _inplace(function: Any) -> Any:
    def apply(self: Variable, *args: Any, **kwargs: Any) -> Variable:
        return self.copy_(function(self.clone(), *args, **kwargs))

    apply.__name__ = apply.__qualname__ = f"{function.__name__}_"
    apply.__doc__ = f"``{function.__name__}``, written into this Variable (``copy_``)."
    return apply


variable_elementwise.add_methods(
    {"masked_scatter_": _inplace(masked_scatter), "put_": _inplace(put)},
    ("masked_scatter_", "put_"),
)
