"""The Cholesky factor and the lower-triangular solve, the two matrix ops behind
``distributions.MultivariateNormal`` (batched over leading dims, as PyTorch's)."""

from __future__ import annotations

import numpy as np

from gradviz.autograd.function import Function


def _transposed(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


class Cholesky(Function):
    """``L`` lower-triangular with ``L @ L.T = A`` for a symmetric positive-definite ``A``.
    The gradient is symmetric, as PyTorch's: ``sym(L^-T Phi(L^T gL) L^-1)``, ``Phi`` the lower
    triangle with the diagonal halved. So that it is the true derivative for any perturbation,
    the factor is that of ``A``'s symmetric part (the same ``A`` for a symmetric one)."""

    @staticmethod
    def forward(ctx, a):
        lower = np.linalg.cholesky(0.5 * (a + _transposed(a)))
        ctx.lower = lower
        return lower

    @staticmethod
    def backward(ctx, grad):
        lower = ctx.lower
        phi = np.tril(_transposed(lower) @ grad)
        phi[..., np.arange(phi.shape[-1]), np.arange(phi.shape[-1])] *= 0.5
        inner = np.linalg.solve(_transposed(lower), phi)  # L^-T Phi
        full = _transposed(
            np.linalg.solve(_transposed(lower), _transposed(inner))
        )  # (L^-T Phi) L^-1
        return 0.5 * (full + _transposed(full))


class SolveTriangular(Function):
    """``X = L^-1 B`` for lower-triangular ``L`` (..., n, n) and ``B`` (..., n, k), batch
    dims broadcast. Gradients: ``gB = L^-T gX``, ``gL = -tril(gB X^T)`` (only the lower
    triangle of ``L`` is read)."""

    @staticmethod
    def forward(ctx, lower, rhs):
        shape = np.broadcast_shapes(lower.shape[:-2], rhs.shape[:-2])
        lower = np.broadcast_to(lower, (*shape, *lower.shape[-2:]))
        rhs = np.broadcast_to(rhs, (*shape, *rhs.shape[-2:]))
        out = np.linalg.solve(np.tril(lower), rhs)
        ctx.lower, ctx.out = lower, out
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_rhs = np.linalg.solve(_transposed(np.tril(ctx.lower)), grad)
        grad_lower = -np.tril(grad_rhs @ _transposed(ctx.out))
        return grad_lower, grad_rhs
