"""Scatter, index and linear-algebra methods of ``Variable`` with PyTorch's names
(``scatter_add``, ``index_add``, ``take``, ``diagonal``, ``unfold``, ``addmm``, ``cross``,
``cummax`` ...), and their in-place forms, a mixin.

Each checks its arguments as PyTorch does (``ops.scatter_checks``, ``ops.linalg_checks``)
and applies one op; ``variable.py`` hands those modules to this one once they can be
imported (they need ``Variable`` itself), as for the other mixins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd.errors import InputError

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable

_scatter: Any = None  # gradviz.autograd.ops.scatter_checks, set by variable.py
_linalg: Any = None  # gradviz.autograd.ops.linalg_checks, set by variable.py
_inplace: Any = None  # gradviz.autograd.inplace_index, set by variable.py
_nodiff: Any = None  # gradviz.autograd.ops.nodiff (a trace is told of each result), likewise


class IndexMethods:
    """scatter, index_add/fill/copy/put, take, diagonal, trace, select, unflatten, unfold,
    addmm, addcmul, cross, kron, inner, isclose, histc, logcumsumexp, cummax, the random
    fills, with PyTorch's names and arguments."""

    __slots__ = ()

    # ------------------------------------------------------------------ scatter and index
    def scatter(
        self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None
    ) -> Variable:
        """``src`` (a Variable, or a number: ``value``) written at ``index`` along ``dim``."""
        return _scatter.scatter(self, dim, index, src, value, reduce)

    def scatter_(
        self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None
    ) -> Variable:
        """``scatter`` in place; returns self."""
        return _inplace.scatter_(self, dim, index, src, value, reduce)

    def scatter_add(self, dim: int, index: Any, src: Any) -> Variable:
        """``src``'s values added at ``index`` along ``dim`` (repeats add up)."""
        return _scatter.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index: Any, src: Any) -> Variable:
        """``scatter_add`` in place; returns self."""
        return _inplace.scatter_add_(self, dim, index, src)

    def scatter_reduce(
        self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True
    ) -> Variable:
        """``src`` reduced into the places ``index`` names (sum, prod, mean, amax, amin)."""
        return _scatter.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_reduce_(
        self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True
    ) -> Variable:
        """``scatter_reduce`` in place; returns self."""
        return _inplace.scatter_reduce_(self, dim, index, src, reduce, include_self)

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Variable:
        """``alpha * source``'s slices added to the slices ``index`` names along ``dim``."""
        return _scatter.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Variable:
        """``index_add`` in place; returns self."""
        return _inplace.index_add_(self, dim, index, source, alpha)

    def index_fill(self, dim: int, index: Any, value: Any) -> Variable:
        """The slices ``index`` names along ``dim`` set to ``value``."""
        return _scatter.index_fill(self, dim, index, value)

    def index_fill_(self, dim: int, index: Any, value: Any) -> Variable:
        """``index_fill`` in place; returns self."""
        return _inplace.index_fill_(self, dim, index, value)

    def index_copy(self, dim: int, index: Any, source: Any) -> Variable:
        """The slices ``index`` names along ``dim`` replaced by ``source``'s."""
        return _scatter.index_copy(self, dim, index, source)

    def index_copy_(self, dim: int, index: Any, source: Any) -> Variable:
        """``index_copy`` in place; returns self."""
        return _inplace.index_copy_(self, dim, index, source)

    def index_put(self, indices: Any, values: Any, accumulate: bool = False) -> Variable:
        """``self[indices] = values`` (``+=`` with ``accumulate``) on a copy."""
        return _scatter.index_put(self, indices, values, accumulate)

    def index_put_(self, indices: Any, values: Any, accumulate: bool = False) -> Variable:
        """``self[indices] = values`` (``+=`` with ``accumulate``) in place; returns self."""
        return _inplace.index_put_(self, indices, values, accumulate)

    def take(self, index: Any) -> Variable:
        """Elements of the flattened Variable at ``index`` (int64), in index's shape."""
        return _scatter.take(self, index)

    def take_along_dim(self, indices: Any, dim: Any = None) -> Variable:
        """``gather`` along ``dim`` after broadcasting the other dims (no dim: flattened)."""
        return _scatter.take_along_dim(self, indices, dim)

    # ------------------------------------------------------------------- shape and algebra
    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Variable:
        """The ``offset``-th diagonal of ``dim1`` and ``dim2``, as the last dim."""
        return _linalg.diagonal(self, offset, dim1, dim2)

    def trace(self) -> Variable:
        """The sum of a matrix's diagonal."""
        return _linalg.trace(self)

    def select(self, dim: int, index: int) -> Variable:
        """The slice at ``index`` along ``dim``, that dim removed (a view)."""
        return _linalg.select(self, dim, index)

    def unflatten(self, dim: int, sizes: Any) -> Variable:
        """``dim`` split into ``sizes`` (one may be -1)."""
        return _linalg.unflatten(self, dim, sizes)

    def unfold(self, dimension: int, size: int, step: int) -> Variable:
        """Every ``size``-long window along ``dimension``, ``step`` apart, as a last dim."""
        return _linalg.unfold(self, dimension, size, step)

    def ndimension(self) -> int:
        """The number of dims (``ndim``)."""
        return self.ndim

    def addmm(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Variable:
        """``beta * self + alpha * mat1 @ mat2``."""
        return _linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Variable:
        """``beta * self + alpha * batch1 @ batch2``, batch by batch."""
        return _linalg.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Variable:
        """``self + value * tensor1 * tensor2``."""
        return _linalg.pointwise(_linalg._ops.Addcmul, "addcmul", self, tensor1, tensor2, value)

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Variable:
        """``self + value * tensor1 / tensor2``."""
        return _linalg.pointwise(_linalg._ops.Addcdiv, "addcdiv", self, tensor1, tensor2, value)

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Variable:
        """``addcmul`` in place; returns self."""
        return _inplace.addc_(self, "addcmul", tensor1, tensor2, value)

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Variable:
        """``addcdiv`` in place; returns self."""
        return _inplace.addc_(self, "addcdiv", tensor1, tensor2, value)

    def lerp_(self, end: Any, weight: Any) -> Variable:
        """``self += weight * (end - self)`` in place; returns self."""
        return _inplace.lerp_(self, end, weight)

    def cross(self, other: Any, dim: Any = None) -> Variable:
        """The cross product with ``other`` along ``dim`` (of length 3)."""
        return _linalg.cross(self, other, dim)

    def kron(self, other: Any) -> Variable:
        """The Kronecker product with ``other``."""
        return _linalg.kron(self, other)

    def inner(self, other: Any) -> Variable:
        """The sum of products over the last dims of self and ``other``."""
        return _linalg.inner(self, other)

    def logcumsumexp(self, dim: int) -> Variable:
        """``log(cumsum(exp(self), dim))``, without overflow."""
        return _linalg.logcumsumexp(self, dim)

    def cummax(self, dim: int) -> Any:
        """``(values, indices)``: the running largest along ``dim`` and where each came from."""
        return _linalg.cumulative_extreme(self, dim, True)

    def cummin(self, dim: int) -> Any:
        """``(values, indices)``: the running smallest along ``dim`` and where each came from."""
        return _linalg.cumulative_extreme(self, dim, False)

    # --------------------------------------------------------------- values, no gradient
    def isclose(
        self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> Variable:
        """``|self - other| <= atol + rtol * |other|`` elementwise (bool); one dtype."""
        other = _linalg.variable(other)
        if other.dtype != self.dtype:
            raise InputError(f"isclose(): {self.dtype} did not match {other.dtype}")
        if rtol < 0 or atol < 0:
            raise InputError(f"isclose(): rtol ({rtol}) and atol ({atol}) must be >= 0")
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.isclose(self._data, other._data, rtol, atol, equal_nan)
        return _nodiff.announce(_nodiff.Isclose, (self, other), self._plain(np.asarray(close)))

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Variable:
        """The counts of ``bins`` equal bins between ``min`` and ``max`` (both 0: the data's
        range), in self's float dtype; values outside are left out."""
        if self.dtype.kind != "f":
            raise InputError(f"\"histogram_cpu\" not implemented for '{self.dtype}'")
        if bins <= 0:
            raise InputError("torch.histc: bins must be > 0")
        low, high = float(min), float(max)
        data = self._data
        if low == high and data.size:
            low, high = float(data.min()), float(data.max())
        if low == high:
            low, high = low - 1, high + 1
        if low > high:
            raise InputError("torch.histc: max must be larger than min")
        counts, _ = np.histogram(data, int(bins), (low, high))
        counts = self._plain(counts.astype(self.dtype))
        return _nodiff.announce(_nodiff.Histc, (self, bins, min, max), counts)

    def multinomial(
        self, num_samples: int, replacement: bool = False, *, generator: Any = None
    ) -> Variable:
        """Category indices drawn from each row of weights (int64), as ``multinomial``."""
        from gradviz.autograd.creation import multinomial

        return multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Variable:
        """Fill with 1 (probability ``p``, a number or a Variable) or 0; returns self."""
        return _inplace.bernoulli_(self, p, generator)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Variable:
        """Fill with draws of the exponential distribution of rate ``lambd``; returns self."""
        return _inplace.exponential_(self, lambd, generator)

    def random_(self, from_: int = 0, to: int | None = None, *, generator: Any = None) -> Variable:
        """Fill with integers drawn from ``[from_, to)``; ``random_(to)`` draws from
        ``[0, to)``; with neither, from 0 up to the dtype's largest exact integer."""
        return _inplace.random_(self, from_, to, generator)
