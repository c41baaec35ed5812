"""``MultivariateNormal``, given by a covariance matrix, a precision matrix or the lower
Cholesky factor ``scale_tril``: ``rsample`` is ``loc + scale_tril @ eps``, ``log_prob`` solves
with the factor (``linalg.cholesky`` and ``linalg.solve_triangular``: they show in the graph)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from gradviz.autograd import linalg
from gradviz.autograd.creation import randn
from gradviz.autograd.distributions import constraints
from gradviz.autograd.distributions.continuous import _noise
from gradviz.autograd.distributions.distribution import Distribution, lazy_property
from gradviz.autograd.errors import ArgumentError, ShapeError
from gradviz.autograd.variable import Variable

_MATRICES = ("covariance_matrix", "precision_matrix", "scale_tril")


def _solve(lower: Variable, rhs: Variable) -> Variable:
    """``lower^-1 @ rhs`` for lower-triangular ``lower``, batch dims broadcast."""
    return linalg.solve_triangular(lower, rhs, upper=False)


def _mahalanobis(lower: Variable, x: Variable) -> Variable:
    """``x^T (L L^T)^-1 x`` over the last axis: the squared length of ``L^-1 x``."""
    return _solve(lower, x.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _eye(n: int, like: Variable) -> Variable:
    return Variable(np.eye(n, dtype=like.dtype))


class MultivariateNormal(Distribution):
    """The normal distribution over vectors with mean ``loc`` (..., n) and covariance ``S``
    (..., n, n), given as exactly one of ``covariance_matrix``, ``precision_matrix`` (``S^-1``)
    or ``scale_tril`` (the lower Cholesky factor ``L``, ``S = L L^T``)."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Variable,
        covariance_matrix: Variable | None = None,
        precision_matrix: Variable | None = None,
        scale_tril: Variable | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(loc, Variable) or loc.dim() < 1:
            raise ArgumentError("loc must be at least one-dimensional.")
        matrices = (covariance_matrix, precision_matrix, scale_tril)
        given = {k: v for k, v in zip(_MATRICES, matrices, strict=True) if v is not None}
        if len(given) != 1:
            raise ArgumentError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        ((name, matrix),) = given.items()
        if matrix.dim() < 2:
            raise ArgumentError(
                f"{name} matrix must be at least two-dimensional, with optional leading batch "
                "dimensions"
            )
        n = loc.shape[-1]
        if matrix.shape[-2:] != (n, n):
            raise ShapeError(
                f"MultivariateNormal: {name} must be ({n}, {n}) for a loc of size {n}, got "
                f"{matrix.shape}"
            )
        batch = np.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        self.__dict__[name] = matrix.expand(*batch, n, n)
        self.loc = loc.expand(*batch, n)
        super().__init__(batch, (n,), validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    @lazy_property
    def scale_tril(self) -> Variable:
        """The lower Cholesky factor ``L`` of the covariance."""
        n = self._event_shape[0]
        return self._unbroadcasted_scale_tril.expand(*self._batch_shape, n, n)

    @lazy_property
    def covariance_matrix(self) -> Variable:
        """``L @ L^T``."""
        lower = self._unbroadcasted_scale_tril
        n = self._event_shape[0]
        return (lower @ lower.mT).expand(*self._batch_shape, n, n)

    @lazy_property
    def precision_matrix(self) -> Variable:
        """The inverse covariance, ``L^-T @ L^-1``."""
        lower = self._unbroadcasted_scale_tril
        n = self._event_shape[0]
        inverse = _solve(lower, _eye(n, lower))
        return (inverse.mT @ inverse).expand(*self._batch_shape, n, n)

    @property
    def mean(self) -> Variable:
        """``loc``."""
        return self.loc

    @property
    def mode(self) -> Variable:
        """``loc``."""
        return self.loc

    @property
    def variance(self) -> Variable:
        """The covariance's diagonal."""
        rows = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return rows.expand(*self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """``loc + L @ eps`` with ``eps`` standard normal noise (an input of the graph)."""
        shape = self._extended_shape(sample_shape)
        eps = _noise(randn, shape, self.loc, "eps")
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value: Variable) -> Variable:
        """``-(n log(2 pi) + mahalanobis) / 2 - log det L``."""
        if self._validate_args:
            self._validate_sample(value)
        lower = self._unbroadcasted_scale_tril
        distance = _mahalanobis(lower, value - self.loc)
        half_log_det = lower.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + distance) - half_log_det

    def entropy(self) -> Variable:
        """``n (1 + log(2 pi)) / 2 + log det L``, one per distribution of the batch."""
        lower = self._unbroadcasted_scale_tril
        half_log_det = lower.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        n = self._event_shape[0]
        out = 0.5 * n * (1.0 + math.log(2 * math.pi)) + half_log_det
        return out.expand(*self._batch_shape) if self._batch_shape else out


def _precision_to_scale_tril(precision: Variable) -> Variable:
    """The lower Cholesky factor of ``precision^-1``, by PyTorch's flips (no inverse of the
    precision itself)."""
    flipped = linalg.cholesky(precision.flip((-2, -1)))
    inverse = flipped.flip((-2, -1)).mT
    return _solve(inverse, _eye(precision.shape[-1], precision))


def kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Variable:
    """``KL(p || q)``: ``log det Lq - log det Lp + (tr(Sq^-1 Sp) + mahalanobis - n) / 2``."""
    if p.event_shape != q.event_shape:
        raise ArgumentError(
            "KL-divergence between two Multivariate Normals with different event shapes "
            "cannot be computed"
        )
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = lq.diagonal(dim1=-2, dim2=-1).log().sum(-1) - lp.diagonal(
        dim1=-2, dim2=-1
    ).log().sum(-1)
    term2 = _solve(lq, lp).pow(2).sum((-2, -1))
    term3 = _mahalanobis(lq, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - p.event_shape[0])
