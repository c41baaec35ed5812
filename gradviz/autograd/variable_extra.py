"""Methods of ``Variable`` for PyTorch's matrix functions and shape helpers a ported script
reaches for (``det``, ``inverse``, ``slogdet``, ``matrix_power`` ...), a mixin.

Each is the top-level function of its name (``ops/api_math.py``, which ``variable.py`` hands
to this module once it can be imported): the checks and the math live there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradviz.autograd.variable_elementwise import ElementwiseMethods

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable

_api: Any = None  # gradviz.autograd.ops.api_math, set by variable.py


class ExtraMethods(ElementwiseMethods):
    """det, inverse, logdet, slogdet, pinverse, matrix_power, vdot; movedim, moveaxis,
    swapaxes, swapdims, tile, ravel, tensor_split, hsplit, vsplit, dsplit, rot90, argwhere,
    aminmax, msort."""

    __slots__ = ()

    def det(self) -> Variable:
        """The determinant of each square matrix (``linalg.det``)."""
        return _api.det(self)

    def inverse(self) -> Variable:
        """The inverse of each square matrix (``linalg.inv``)."""
        return _api.inverse(self)

    def logdet(self) -> Variable:
        """``log(det)``: NaN for a negative determinant."""
        return _api.logdet(self)

    def slogdet(self) -> Any:
        """``(sign, logabsdet)`` of each square matrix."""
        return _api.slogdet(self)

    def pinverse(self, rcond: float = 1e-15) -> Variable:
        """The pseudo-inverse, singular values below ``rcond`` times the largest dropped."""
        return _api.pinverse(self, rcond)

    def matrix_power(self, n: int) -> Variable:
        """The matrix multiplied by itself ``n`` times (``n < 0``: its inverse's power)."""
        return _api.matrix_power(self, n)

    def matrix_exp(self) -> Variable:
        """The exponential of each square matrix (``linalg.matrix_exp``)."""
        return _api.matrix_exp(self)

    def svd(self, some: bool = True, compute_uv: bool = True) -> Any:
        """``(U, S, V)`` with ``self = U diag(S) V^T`` (``torch.svd``)."""
        return _api.svd(self, some, compute_uv)

    def qr(self, some: bool = True) -> Any:
        """``(Q, R)`` with ``self = Q R`` (``torch.qr``)."""
        return _api.qr(self, some)

    def cholesky(self, upper: bool = False) -> Variable:
        """The Cholesky factor (``torch.cholesky``)."""
        return _api.cholesky(self, upper)

    def vdot(self, other: Any) -> Variable:
        """The dot product with another 1-d Variable."""
        return _api.vdot(self, other)

    def movedim(self, source: Any, destination: Any) -> Variable:
        """The dims ``source`` moved to the places ``destination``."""
        return _api.movedim(self, source, destination)

    def moveaxis(self, source: Any, destination: Any) -> Variable:
        """The dims ``source`` moved to the places ``destination`` (``movedim``)."""
        return _api.movedim(self, source, destination)

    def swapaxes(self, axis0: int, axis1: int) -> Variable:
        """Two dims swapped."""
        return _api.swapaxes(self, axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> Variable:
        """Two dims swapped."""
        return _api.swapdims(self, dim0, dim1)

    def tile(self, *dims: Any) -> Variable:
        """Repeated ``dims[i]`` times along each dim (missing leading dims count 1)."""
        return _api.tile(self, dims[0] if len(dims) == 1 else dims)

    def ravel(self) -> Variable:
        """Every element in one dim."""
        return _api.ravel(self)

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Variable, ...]:
        """Views: ``n`` near-equal sections, or the pieces between indices, along ``dim``."""
        return _api.tensor_split(self, indices_or_sections, dim)

    def hsplit(self, indices_or_sections: Any) -> tuple[Variable, ...]:
        """``tensor_split`` along dim 1 (dim 0 when 1-d)."""
        return _api.hsplit(self, indices_or_sections)

    def vsplit(self, indices_or_sections: Any) -> tuple[Variable, ...]:
        """``tensor_split`` along dim 0."""
        return _api.vsplit(self, indices_or_sections)

    def dsplit(self, indices_or_sections: Any) -> tuple[Variable, ...]:
        """``tensor_split`` along dim 2."""
        return _api.dsplit(self, indices_or_sections)

    def rot90(self, k: int = 1, dims: Any = (0, 1)) -> Variable:
        """Rotated by 90 degrees ``k`` times in the plane of ``dims``."""
        return _api.rot90(self, k, dims)

    def argwhere(self) -> Variable:
        """The indices of the nonzero elements, one row each."""
        return _api.argwhere(self)

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> Any:
        """``(min, max)`` over ``dim`` (every element when None)."""
        return _api.aminmax(self, dim=dim, keepdim=keepdim)

    def msort(self) -> Variable:
        """The values sorted along dim 0."""
        return _api.msort(self)

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Variable:
        """The sum over ``dim`` with NaN counted as zero."""
        return _api.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Variable:
        """The mean over ``dim`` of the elements that are not NaN."""
        return _api.nanmean(self, dim, keepdim, dtype=dtype)

    def quantile(
        self, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear"
    ) -> Variable:
        """The ``q``-th quantiles over ``dim``."""
        return _api.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(
        self, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear"
    ) -> Variable:
        """The ``q``-th quantiles over ``dim`` of the elements that are not NaN."""
        return _api.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def cov(self, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Variable:
        """The covariance matrix of the variables in the rows."""
        return _api.cov(self, correction=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self) -> Variable:
        """The correlation coefficients of the variables in the rows."""
        return _api.corrcoef(self)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """``(values, indices)`` of the ``k``-th smallest along ``dim``."""
        return _api.kthvalue(self, k, dim, keepdim)

    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """``(values, indices)`` of the most frequent value along ``dim``."""
        return _api.mode(self, dim, keepdim)

    def unique_consecutive(
        self, return_inverse: bool = False, return_counts: bool = False, dim: Any = None
    ) -> Any:
        """The first of each run of equal consecutive elements (and inverse, counts)."""
        return _api.unique_consecutive(self, return_inverse, return_counts, dim)

    def clamp_min(self, min: Any) -> Variable:
        """``max(self, min)`` elementwise."""
        return _api.clamp_min(self, min)

    def clamp_max(self, max: Any) -> Variable:
        """``min(self, max)`` elementwise."""
        return _api.clamp_max(self, max)

    def floor_divide(self, other: Any) -> Variable:
        """``self // other``."""
        return _api.floor_divide(self, other)

    def true_divide(self, other: Any) -> Variable:
        """``self / other``."""
        return _api.true_divide(self, other)

    def bitwise_and(self, other: Any) -> Variable:
        """``self & other``."""
        return _api.bitwise_and(self, other)

    def bitwise_or(self, other: Any) -> Variable:
        """``self | other``."""
        return _api.bitwise_or(self, other)

    def bitwise_xor(self, other: Any) -> Variable:
        """``self ^ other``."""
        return _api.bitwise_xor(self, other)

    def bitwise_not(self) -> Variable:
        """``~self``."""
        return _api.bitwise_not(self)

    def sgn(self) -> Variable:
        """The sign of each element."""
        return _api.sgn(self)

    def copysign(self, other: Any) -> Variable:
        """``|self|`` with the sign of ``other``."""
        return _api.copysign(self, other)

    def bernoulli(self, p: float | None = None, *, generator: Any = None) -> Variable:
        """1 with probability ``self`` (or ``p``) for each element, else 0."""
        return _api.bernoulli(self, p, generator=generator)
