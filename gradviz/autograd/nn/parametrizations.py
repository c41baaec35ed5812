"""``nn.utils.parametrizations.weight_norm`` and ``spectral_norm``: the weight computed from
its parameters on every forward, as ops the graph shows (a norm, a division, a product).

``weight_norm`` (Salimans and Kingma) keeps a magnitude ``original0`` (g) and a direction
``original1`` (v): ``weight = v * g / ||v||``, the norm over every dim but ``dim``.
``spectral_norm`` (Miyato et al.) divides the weight by its largest singular value, estimated
by power iteration on the vectors ``_u`` and ``_v`` (buffers, updated in training mode only).
"""

from __future__ import annotations

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, IndexRangeError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.nn.conv_transpose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from gradviz.autograd.nn.module import Module
from gradviz.autograd.nn.parametrize import register_parametrization
from gradviz.autograd.variable import Variable

__all__ = ["spectral_norm", "weight_norm"]


def norm_except_dim(v: Variable, dim: int) -> Variable:
    """PyTorch's ``norm_except_dim(v, 2, dim)``: the 2-norm over every dim but ``dim``, kept
    as size-1 dims (``dim=-1``: the norm of the whole tensor, a 0-d Variable)."""
    if dim == -1:
        return v.norm()
    if not -v.ndim <= dim < v.ndim:
        raise IndexRangeError(
            f"Dimension out of range (expected to be in range of [{-v.ndim}, {v.ndim - 1}], "
            f"but got {dim})"
        )
    axis = dim % v.ndim
    others = tuple(a for a in range(v.ndim) if a != axis)
    return v.norm(2, others, keepdim=True) if others else v.abs()


def weight_of(g: Variable, v: Variable, dim: int) -> Variable:
    """PyTorch's ``_weight_norm(v, g, dim)``: ``v * (g / norm_except_dim(v, dim))``."""
    return v * (g / norm_except_dim(v, dim))


def as_matrix(weight: Variable, dim: int) -> Variable:
    """``weight`` with ``dim`` first and the rest flattened: (size of ``dim``, everything
    else), as spectral normalisation sees it."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.reshape(weight.shape[0], -1)


def normalized(x: np.ndarray, eps: float) -> np.ndarray:
    """``F.normalize(x, dim=0, eps=eps)`` of a vector, as an array."""
    return x / max(float(np.sqrt((x * x).sum())), eps)


def random_unit(size: int, dtype: np.dtype, eps: float) -> Variable:
    """A random unit vector (normal draws from ``manual_seed``'s stream, normalised)."""
    draws = rng.default_generator().normal(0.0, 1.0, size).astype(dtype)
    return Variable(normalized(draws, eps))


def check_iterations(n_power_iterations: int) -> None:
    """Spectral normalisation's check of its number of power iterations per forward."""
    if n_power_iterations <= 0:
        raise ArgumentError(
            "Expected n_power_iterations to be positive, but got "
            f"n_power_iterations={n_power_iterations}"
        )


def sigma_of(matrix: Variable, u: Variable, v: Variable) -> Variable:
    """The spectral norm estimate ``u . (matrix @ v)``, of clones of the buffers ``u`` and
    ``v`` (as PyTorch's: the next power iteration writes the buffers in place)."""
    return u.clone() @ (matrix @ v.clone())


class _WeightNorm(Module):
    """The weight from its magnitude ``g`` and its direction ``v`` (see ``weight_norm``)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Variable, weight_v: Variable) -> Variable:
        return weight_of(weight_g, weight_v, self.dim)

    def right_inverse(self, weight: Variable) -> tuple[Variable, Variable]:
        with no_grad():
            return norm_except_dim(weight, self.dim), weight


class _SpectralNorm(Module):
    """The weight divided by its largest singular value (see ``spectral_norm``)."""

    def __init__(
        self, weight: Variable, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.ndim
        if not -ndim <= dim < ndim:
            raise IndexRangeError(
                f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but "
                f"got {dim})"
            )
        check_iterations(n_power_iterations)
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = as_matrix(weight.detach(), self.dim)
            h, w = matrix.shape
            self.register_buffer("_u", random_unit(h, weight.dtype, eps))
            self.register_buffer("_v", random_unit(w, weight.dtype, eps))
            self._power_method(matrix, 15)

    def _power_method(self, matrix: Variable, iterations: int) -> None:
        """Move ``_u`` and ``_v`` towards the top singular vectors, in place."""
        m = matrix.numpy()
        with no_grad():
            for _ in range(iterations):
                self._u.copy_(normalized(m @ self._v.numpy(), self.eps))
                self._v.copy_(normalized(m.T @ self._u.numpy(), self.eps))

    def forward(self, weight: Variable) -> Variable:
        if weight.ndim == 1:
            return weight / weight.norm().clamp(min=self.eps)
        matrix = as_matrix(weight, self.dim)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        return weight / sigma_of(matrix, self._u, self._v)

    def right_inverse(self, value: Variable) -> Variable:
        return value


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||``: ``parametrizations.<name>.
    original0`` (g, the norm over every dim but ``dim``; ``dim=None``: of the whole tensor) and
    ``original1`` (v), both trained."""
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Divide ``module.<name>`` by its spectral norm on every forward: ``parametrizations.
    <name>.original`` is the weight trained; ``dim`` (0, or 1 for transposed convolutions) is
    the output dim."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Variable):
        raise ArgumentError(
            f"Module '{type(module).__name__}' has no parameter or buffer with name '{name}'"
        )
    if dim is None:
        dim = 1 if isinstance(module, ConvTranspose1d | ConvTranspose2d | ConvTranspose3d) else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
