"""``linalg.matrix_exp``: the exponential of (a batch of) square matrices, by scaling and
squaring with the [13/13] Padé approximant (Higham, 2005, as SciPy's ``expm``), computed in
float64.

Its gradient is PyTorch's: the top right block of ``exp([[A^T, G], [0, A^T]])``, the
Fréchet derivative of the exponential at ``A^T`` in the direction ``G``.
"""

from __future__ import annotations

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops.shape import concatenate
from gradviz.autograd.variable import Variable

#: the coefficients of the [13/13] Padé approximant of exp
_B = (
    *(64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0),
    *(129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0),
    *(40840800.0, 960960.0, 16380.0, 182.0, 1.0),
)  # fmt: skip
#: the largest 1-norm for which the approximant is exact to float64's precision
_THETA_13 = 5.371920351148152


def expm(a: np.ndarray) -> np.ndarray:
    """``exp`` of each square matrix of ``a`` (its last two dims), in ``a``'s dtype."""
    n = a.shape[-1]
    if a.size == 0:
        return np.zeros(a.shape, a.dtype) + np.eye(n, dtype=a.dtype)
    x = a.astype(np.float64)
    with np.errstate(all="ignore"):  # (NaN and inf give NaN, as PyTorch's)
        norm = np.abs(x).sum(-2).max(-1)
        steps = np.ceil(np.log2(norm / _THETA_13))
        squarings = np.where(np.isfinite(steps) & (steps > 0), steps, 0).astype(np.int64)
        x = x / (2.0**squarings)[..., None, None]
        eye = np.eye(n)
        x2 = x @ x
        x4 = x2 @ x2
        x6 = x4 @ x2
        b = _B
        u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4)
        u += x @ (b[3] * x2 + b[1] * eye)
        v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2
        v += b[0] * eye
        out = np.linalg.solve(v - u, v + u)
        for i in range(int(squarings.max())):
            out = np.where((squarings > i)[..., None, None], out @ out, out)
    return out.astype(a.dtype, copy=False)


def _block(at: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """``[[A^T, G], [0, A^T]]`` of each matrix."""
    n = at.shape[-1]
    m = np.zeros((*at.shape[:-2], 2 * n, 2 * n), at.dtype)
    m[..., :n, :n] = m[..., n:, n:] = at
    m[..., :n, n:] = grad
    return m


class MatrixExp(Function):
    """``linalg.matrix_exp(A)``; the gradient is the top right block of
    ``exp([[A^T, G], [0, A^T]])`` (as PyTorch's)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return expm(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        return expm(_block(np.swapaxes(a, -1, -2), grad))[..., :n, n:]

    @staticmethod
    def backward_graph(ctx, grad, out):
        at = ctx.inputs[0].mT
        n = at.shape[-1]
        zeros = Variable(np.zeros(at.shape, at.dtype))
        top = concatenate([at, grad], -1)
        block = concatenate([top, concatenate([zeros, at], -1)], -2)
        return MatrixExp.apply(block)[..., :n, n:]
