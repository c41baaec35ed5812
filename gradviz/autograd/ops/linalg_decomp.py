"""Matrix functions and decompositions of ``gradviz.linalg``: inverse, determinant, slogdet,
Cholesky, solve, pseudo-inverse, eigh, SVD and QR, each one op with its backward (PyTorch's
formulas, real inputs, batched over leading dims).

A decomposition returns its factors as several outputs (one node, as PyTorch's
``LinalgSvdBackward0``); its backward gets None for a factor the loss does not use, as
PyTorch's undefined gradient, so ``svdvals`` takes the cheap path. Arguments are checked in
``gradviz.linalg``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import function
from gradviz.autograd.errors import BackwardError, LinAlgError
from gradviz.autograd.function import Function
from gradviz.autograd.variable import Variable, from_op


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


class _Several(Function):
    """A built-in op with several outputs: applied by ``Function``'s general path, which packs
    them into one node and an output node each (the one-output fast path refuses tuples)."""

    @classmethod
    def apply(cls, *args: Any, _into: Any = None) -> Any:
        return function._apply(cls, args, _into)


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

    @staticmethod
    def backward_graph(ctx, grad, out):
        return -(out.mT @ grad @ out.mT)


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

    @staticmethod
    def backward_graph(ctx, grad, out):
        a = ctx.inputs[0]
        try:
            inverse = LinalgInvEx.apply(a)
        except LinAlgError:
            raise BackwardError(
                "second derivatives (create_graph=True) through LinalgDet (linalg.det) of a "
                "singular matrix are not supported: its gradient is then the cofactor matrix, "
                "which has no rule"
            ) from None
        return (grad * out)[..., None, None] * inverse.mT


class LinalgSlogdet(_Several):
    """``linalg.slogdet(A)``: the sign (zero gradient) and ``log|det A|`` (gradient
    ``A^-T``), two outputs."""

    @staticmethod
    def forward(ctx, a):
        ctx.set_materialize_grads(False)  # (None for an output the loss does not use)
        ctx.save_for_backward(a)
        sign, logabs = np.linalg.slogdet(a)
        return np.asarray(sign), np.asarray(logabs)

    @staticmethod
    def backward(ctx, grad_sign, grad_logabs):
        (a,) = ctx.saved_tensors
        if grad_logabs is None:
            return None
        return grad_logabs[..., None, None] * mT(_inverse_or_nan(a))


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

    @staticmethod
    def backward_graph(ctx, grad, out):
        low, g = (out.mT, grad.mT) if ctx.upper else (out, grad)
        ga = (low.mT @ g).tril()
        ga = (ga + ga.tril(-1).mT) * 0.5
        ga = LinalgSolveEx.apply(low.mT, ga, False)
        return LinalgSolveEx.apply(low.mT, ga.mT, False).mT, None


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

    @staticmethod
    def backward_graph(ctx, grad, out):
        a = ctx.inputs[0]
        a = a if isinstance(a, Variable) else from_op(np.asarray(a), None)
        g, x = (grad.unsqueeze(-1), out.unsqueeze(-1)) if ctx.vector else (grad, out)
        gb = LinalgSolveEx.apply(a.mT, g, False)
        ga = -(gb @ x.mT) if ctx.needs_input_grad[0] else None
        return ga, (gb.squeeze(-1) if ctx.vector else gb), None


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

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, p, gt = ctx.inputs[0], out, grad.mT
        eye_m = np.eye(a.shape[-2], dtype=a.dtype)
        eye_n = np.eye(a.shape[-1], dtype=a.dtype)
        total = -(p.mT @ grad @ p.mT)
        total = total + (eye_m - a @ p) @ gt @ (p @ p.mT)
        return total + (p.mT @ p) @ gt @ (eye_n - p @ a), None, None, None


class LinalgEigh(_Several):
    """``linalg.eigh(A, UPLO)``: eigenvalues (ascending) and eigenvectors (as columns);
    PyTorch's backward ``V (diag(gw) + skew(V^T gV) / E) V^T`` with ``E[i, j] = w[j] - w[i]``,
    a gradient for symmetric changes of A."""

    symmetric_inputs = (0,)  # (for the per-op check: see opcheck)

    @staticmethod
    def forward(ctx, a, uplo):
        ctx.set_materialize_grads(False)  # (None for an output the loss does not use)
        w, v = np.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, grad_w, grad_v):
        w, v = ctx.saved_tensors
        if grad_v is None:
            return (v * grad_w[..., None, :]) @ mT(v), None
        vgv = mT(v) @ grad_v
        gaps = w[..., None, :] - w[..., :, None]
        n = w.shape[-1]
        gaps[..., range(n), range(n)] = 1
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = 0.5 * (vgv - mT(vgv)) / gaps
        if grad_w is not None:
            inner[..., range(n), range(n)] = grad_w
        return v @ inner @ mT(v), None


def _skew(x: np.ndarray) -> np.ndarray:
    return x - mT(x)


class LinalgSvd(_Several):
    """``linalg.svd(A, full_matrices)``: ``U``, ``S`` (descending) and ``Vh``; PyTorch's
    backward (of the first ``k = min(m, n)`` columns of full factors)."""

    @staticmethod
    def forward(ctx, a, full_matrices):
        ctx.set_materialize_grads(False)  # (None for an output the loss does not use)
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, grad_u, grad_s, grad_vh):
        u, s, vh = ctx.saved_tensors
        k = s.shape[-1]
        u, vh = u[..., :k], vh[..., :k, :]
        gu = None if grad_u is None else grad_u[..., :k]
        gvh = None if grad_vh is None else grad_vh[..., :k, :]
        if gu is None and gvh is None:
            return (u * grad_s[..., None, :]) @ vh, None
        return _svd_backward(u, s, vh, gu, grad_s, gvh), None


def _svd_backward(u, s, vh, gu, gs, gvh):
    """PyTorch's ``svd_backward`` (real case): ``U (skew(U^T gU) S / E + S skew(Vh gVh^T) / E
    + diag(gS)) Vh`` with ``E[j, k] = s_k^2 - s_j^2``, plus the terms of the columns outside
    a non-square matrix's factors."""
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    s2 = s * s
    gaps = s2[..., None, :] - s2[..., :, None]
    gaps[..., range(k), range(k)] = 1
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.zeros(gaps.shape, np.result_type(u, s))
        if gu is not None:
            inner = inner + _skew(mT(u) @ gu) * s[..., None, :] / gaps
        if gvh is not None:
            inner = inner + s[..., :, None] * _skew(vh @ mT(gvh)) / gaps
        if gs is not None:
            inner[..., range(k), range(k)] += gs
        if m > n and gu is not None:
            scaled = gu / s[..., None, :]
            return (u @ inner + scaled - u @ (mT(u) @ scaled)) @ vh
        if m < n and gvh is not None:
            scaled = gvh / s[..., :, None]
            return u @ (inner @ vh + scaled - (scaled @ mT(vh)) @ vh)
    return u @ inner @ vh


def _copyltu(m: np.ndarray) -> np.ndarray:
    low = np.tril(m, -1)
    return low + mT(low) + np.eye(m.shape[-1], dtype=m.dtype) * m


def _qr_square_backward(q, r, gq, gr):
    """The gradient of ``A = QR`` for ``m >= n`` (reduced): ``(gQ + Q copyltu(M)) R^-T`` with
    ``M = R gR^T - gQ^T Q``."""
    m = r @ mT(gr) - mT(gq) @ q
    return _right_solve(gq + q @ _copyltu(m), mT(r))


class LinalgQr(_Several):
    """``linalg.qr(A, mode)``: ``Q`` and ``R`` (Q empty for ``mode="r"``); the backward for
    ``mode="reduced"``, or ``"complete"`` with no more rows than columns, as PyTorch's."""

    @staticmethod
    def forward(ctx, a, mode):
        factors = np.linalg.qr(a, mode=mode)
        if mode == "r":
            factors = (np.zeros((0,), a.dtype), factors)
        ctx.mode = mode
        ctx.save_for_backward(a, *factors)
        return tuple(factors)

    @staticmethod
    def backward(ctx, grad_q, grad_r):
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
        if m >= n:
            return _qr_square_backward(q, r, grad_q, grad_r), None
        y, gv = a[..., m:], grad_r[..., m:]
        gx = _qr_square_backward(q, r[..., :m], grad_q + y @ mT(gv), grad_r[..., :m])
        return np.concatenate([gx, q @ gv], axis=-1), None
