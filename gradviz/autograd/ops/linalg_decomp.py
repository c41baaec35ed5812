"""Matrix functions and decompositions of ``gradviz.linalg``: inverse, determinant, slogdet,
Cholesky, solve, pseudo-inverse, eigh, SVD and QR, each one op with its backward (PyTorch's
formulas, real inputs, batched over leading dims).

A decomposition with several outputs is one op per output (``part`` says which): a backward
is linear in the output gradients, so the sum of the parts' gradients is the joint one, and a
graph shows only the outputs a loss uses. Arguments are checked in ``gradviz.linalg``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.errors import BackwardError, LinAlgError
from gradviz.autograd.function import Function


def mT(x: np.ndarray) -> np.ndarray:
    """The last two axes swapped (a matrix transpose of every matrix in a batch)."""
    return np.swapaxes(x, -1, -2)


def _right_solve(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``X`` with ``X @ a == b``."""
    return mT(np.linalg.solve(mT(a), mT(b)))


def factor(problem: str, compute: Any, *args: Any) -> Any:
    """``compute(*args)``; NumPy's LinAlgError becomes gradviz's, saying ``problem``."""
    try:
        return compute(*args)
    except np.linalg.LinAlgError:
        raise LinAlgError(problem) from None


_SINGULAR = "the input matrix is singular."


def cofactors(a: np.ndarray) -> np.ndarray:
    """The derivative of ``det(a)``: the cofactor matrix, from the SVD ``a = U S Vh`` as
    ``det(U) det(Vh) U diag(prod_{j != i} s_j) Vh``, defined for singular matrices too."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.prod(np.where(np.eye(n, dtype=bool), 1, s[..., None, :]), axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * ((u * others[..., None, :]) @ vh)


def _inverse_or_nan(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:  # singular: the gradient of log|det| is not finite
        return np.full(a.shape, np.nan, a.dtype)


class LinalgInvEx(Function):
    """``linalg.inv(A)``; the gradient is ``-A^-T G A^-T``."""

    @staticmethod
    def forward(ctx, a):
        out = factor(
            f"linalg.inv: The inversion could not be completed because {_SINGULAR}",
            np.linalg.inv,
            a,
        )
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        return -(mT(inverse) @ grad @ mT(inverse))


class LinalgDet(Function):
    """``linalg.det(A)``; the gradient is the cofactor matrix times the output's gradient."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.asarray(np.linalg.det(a))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad[..., None, None] * cofactors(a)


class LinalgSlogdet(Function):
    """One part of ``linalg.slogdet(A)``: the sign (part 0, zero gradient) or ``log|det A|``
    (part 1, gradient ``A^-T``)."""

    @staticmethod
    def forward(ctx, a, part):
        ctx.part = part
        ctx.save_for_backward(a)
        return np.asarray(np.linalg.slogdet(a)[part])

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if ctx.part == 0:
            return np.zeros(a.shape, grad.dtype), None
        return grad[..., None, None] * mT(_inverse_or_nan(a)), None


class LinalgCholeskyEx(Function):
    """``linalg.cholesky(A, upper)``: ``L`` with ``L L^T = A`` from A's lower triangle;
    PyTorch's backward ``L^-T Phi(L^T gL) L^-1``, a gradient for symmetric changes of A."""

    symmetric_inputs = (0,)  # (for the per-op check: see opcheck)

    @staticmethod
    def forward(ctx, a, upper):
        problem = (
            "linalg.cholesky: The factorization could not be completed because the input is not "
            "positive-definite."
        )
        low = factor(problem, np.linalg.cholesky, a)
        ctx.upper = upper
        ctx.save_for_backward(low)
        return mT(low).copy() if upper else low

    @staticmethod
    def backward(ctx, grad):
        (low,) = ctx.saved_tensors
        g = mT(grad) if ctx.upper else grad
        ga = np.tril(mT(low) @ g)
        ga = 0.5 * (ga + mT(np.tril(ga, -1)))
        ga = np.linalg.solve(mT(low), ga)
        return _right_solve(ga, low), None


class LinalgSolveEx(Function):
    """``linalg.solve(A, B)``: ``X`` with ``A X = B`` (``vector``: B a batch of vectors);
    gradients ``gB = A^-T G`` and ``gA = -gB X^T``."""

    @staticmethod
    def forward(ctx, a, b, vector):
        problem = f"linalg.solve: The solver failed because {_SINGULAR}"
        x = factor(problem, np.linalg.solve, a, b[..., None] if vector else b)
        ctx.vector = vector
        ctx.save_for_backward(a, x)
        return x[..., 0] if vector else x

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        g = grad[..., None] if ctx.vector else grad
        gb = np.linalg.solve(mT(a), g)
        ga = -gb @ mT(x) if ctx.needs_input_grad[0] else None
        return ga, (gb[..., 0] if ctx.vector else gb), None


class LinalgPinv(Function):
    """``linalg.pinv(A, atol, rtol, hermitian)``: singular values at most
    ``max(atol, rtol * largest)`` count as zero; PyTorch's backward (exact where the rank does
    not change); with ``hermitian``, A's lower triangle is read and the gradient is the one for
    symmetric changes."""

    @staticmethod
    def symmetric_inputs(args: list[Any]) -> tuple[int, ...]:
        """For the per-op check: input 0 when ``hermitian`` (see opcheck)."""
        return (0,) if args[3] else ()

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        if hermitian:
            w, v = np.linalg.eigh(a)
            left, s, right = v, np.abs(w), mT(v * np.sign(w)[..., None, :])
        else:
            left, s, right = np.linalg.svd(a, full_matrices=False)
        top = (
            s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros((*s.shape[:-1], 1), a.dtype)
        )
        tol = np.maximum(atol, rtol * top)
        with np.errstate(divide="ignore"):
            inverse = np.where(s > tol, 1 / np.where(s > tol, s, 1), 0).astype(a.dtype)
        out = (mT(right) * inverse[..., None, :]) @ mT(left)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, p = ctx.saved_tensors
        gt = mT(grad)
        eye_m = np.eye(a.shape[-2], dtype=a.dtype)
        eye_n = np.eye(a.shape[-1], dtype=a.dtype)
        out = -mT(p) @ grad @ mT(p)
        out = out + (eye_m - a @ p) @ gt @ (p @ mT(p))
        out = out + (mT(p) @ p) @ gt @ (eye_n - p @ a)
        return out, None, None, None


class LinalgEigh(Function):
    """One part of ``linalg.eigh(A, UPLO)``: eigenvalues (part 0, ascending) or eigenvectors
    (part 1, as columns); PyTorch's backward ``V (diag(gw) + skew(V^T gV) / E) V^T`` with
    ``E[i, j] = w[j] - w[i]``, a gradient for symmetric changes of A."""

    symmetric_inputs = (0,)  # (for the per-op check: see opcheck)

    @staticmethod
    def forward(ctx, a, uplo, part):
        w, v = np.linalg.eigh(a, UPLO=uplo)
        ctx.part = part
        ctx.save_for_backward(w, v)
        return (w, v)[part]

    @staticmethod
    def backward(ctx, grad):
        w, v = ctx.saved_tensors
        if ctx.part == 0:
            return (v * grad[..., None, :]) @ mT(v), None, None
        vgv = mT(v) @ grad
        gaps = w[..., None, :] - w[..., :, None]
        n = w.shape[-1]
        gaps[..., range(n), range(n)] = 1
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = 0.5 * (vgv - mT(vgv)) / gaps
        return v @ inner @ mT(v), None, None


def _skew(x: np.ndarray) -> np.ndarray:
    return x - mT(x)


class LinalgSvd(Function):
    """One part of ``linalg.svd(A, full_matrices)``: ``U`` (part 0), ``S`` (part 1, descending)
    or ``Vh`` (part 2); PyTorch's backward (the first ``k = min(m, n)`` columns of full
    factors)."""

    @staticmethod
    def forward(ctx, a, full_matrices, part):
        factors = np.linalg.svd(a, full_matrices=full_matrices)
        ctx.part = part
        ctx.save_for_backward(*factors)
        return factors[part]

    @staticmethod
    def backward(ctx, grad):
        u, s, vh = ctx.saved_tensors
        k = s.shape[-1]
        u, vh = u[..., :k], vh[..., :k, :]
        if ctx.part == 1:
            return (u * grad[..., None, :]) @ vh, None, None
        m, n = u.shape[-2], vh.shape[-1]
        s2 = s * s
        gaps = s2[..., None, :] - s2[..., :, None]
        gaps[..., range(k), range(k)] = 1
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.part == 0:
                gu = grad[..., :k]
                inner = _skew(mT(u) @ gu) * s[..., None, :] / gaps
                if m > n:
                    scaled = gu / s[..., None, :]
                    inner = u @ inner + scaled - u @ (mT(u) @ scaled)
                    return inner @ vh, None, None
            else:
                gvh = grad[..., :k, :]
                inner = s[..., :, None] * _skew(vh @ mT(gvh)) / gaps
                if m < n:
                    scaled = gvh / s[..., :, None]
                    inner = inner @ vh + scaled - (scaled @ mT(vh)) @ vh
                    return u @ inner, None, None
        return u @ inner @ vh, None, None


def _copyltu(m: np.ndarray) -> np.ndarray:
    low = np.tril(m, -1)
    return low + mT(low) + np.eye(m.shape[-1], dtype=m.dtype) * m


def _qr_square_backward(q, r, gq, gr):
    """The gradient of ``A = QR`` for ``m >= n`` (reduced): ``(gQ + Q copyltu(M)) R^-T`` with
    ``M = R gR^T - gQ^T Q``."""
    m = r @ mT(gr) - mT(gq) @ q
    return _right_solve(gq + q @ _copyltu(m), mT(r))


class LinalgQr(Function):
    """One part of ``linalg.qr(A, mode)``: ``Q`` (part 0) or ``R`` (part 1); the backward for
    ``mode="reduced"``, or ``"complete"`` with no more rows than columns, as PyTorch's."""

    @staticmethod
    def forward(ctx, a, mode, part):
        factors = np.linalg.qr(a, mode=mode)
        if mode == "r":
            factors = (np.zeros((0,), a.dtype), factors)
        ctx.part, ctx.mode = part, mode
        ctx.save_for_backward(a, *factors)
        return factors[part]

    @staticmethod
    def backward(ctx, grad):
        a, q, r = ctx.saved_tensors
        m, n = a.shape[-2], a.shape[-1]
        if ctx.mode == "r":
            raise BackwardError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                "through linalg.qr."
            )
        if ctx.mode == "complete" and m > n:
            raise BackwardError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
            )
        gq = grad if ctx.part == 0 else np.zeros(q.shape, grad.dtype)
        gr = grad if ctx.part == 1 else np.zeros(r.shape, grad.dtype)
        if m >= n:
            return _qr_square_backward(q, r, gq, gr), None, None
        y, gv = a[..., m:], gr[..., m:]
        gx = _qr_square_backward(q, r[..., :m], gq + y @ mT(gv), gr[..., :m])
        return np.concatenate([gx, q @ gv], axis=-1), None, None
