"""``gradviz.linalg``: PyTorch's ``torch.linalg`` on real inputs, batched over leading dims.

Matrix functions and decompositions are one op each (``ops/linalg_decomp.py``, with their
backward); ``matrix_power``, ``multi_dot`` and the matrix norms are compositions of existing
ops (``linalg_norms.py``). Arguments are refused as PyTorch refuses them, in its words.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from gradviz.autograd.errors import InputError, OperandError, ShapeError
from gradviz.autograd.errors import LinAlgError as LinAlgError  # torch.linalg.LinAlgError
from gradviz.autograd.linalg_norms import matrices, torch_name
from gradviz.autograd.linalg_norms import matrix_norm as matrix_norm  # the namespace's norms
from gradviz.autograd.linalg_norms import norm as norm
from gradviz.autograd.linalg_norms import vector_norm as vector_norm
from gradviz.autograd.ops import linalg_decomp as _ops
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.indexing import where
from gradviz.autograd.ops.matrix_exp import MatrixExp
from gradviz.autograd.ops.promotion import result_type
from gradviz.autograd.variable import Variable


def inv(A: Any) -> Variable:
    """The inverse of each square matrix (one op, ``LinalgInvEx``)."""
    return _ops.LinalgInvEx.apply(matrices(A, "linalg.inv"))


def det(A: Any) -> Variable:
    """The determinant of each square matrix (one op; exact gradient at singular ones too)."""
    return _ops.LinalgDet.apply(matrices(A, "linalg.det"))


class SlogdetResult(NamedTuple):
    """``(sign, logabsdet)``, as PyTorch's ``torch.return_types.linalg_slogdet``."""

    sign: Variable
    logabsdet: Variable


def slogdet(A: Any) -> SlogdetResult:
    """The sign and ``log|det|`` of each square matrix (one op, two outputs)."""
    x = matrices(A, "linalg.slogdet")
    return SlogdetResult(*_ops.LinalgSlogdet.apply(x))


def logdet(A: Any) -> Variable:
    """``log(det(A))``: NaN (and a zero gradient) where the determinant is negative, -inf
    where it is 0 (a composition: ``logabsdet`` with NaN filled in where the sign is negative,
    as PyTorch's)."""
    sign, logabs = slogdet(matrices(A, "logdet"))
    return logabs.masked_fill(sign.detach() < 0, math.nan)


def cholesky(A: Any, *, upper: bool = False) -> Variable:
    """The Cholesky factor of each symmetric positive-definite matrix, from its lower
    triangle: ``L`` with ``L @ L.mT == A`` (``upper``: ``L.mT``)."""
    return _ops.LinalgCholeskyEx.apply(matrices(A, "linalg.cholesky"), bool(upper))


def solve(A: Any, B: Any, *, left: bool = True) -> Variable:
    """``X`` with ``A @ X == B`` (``left=False``: ``X @ A == B``); B a matrix, or a (batch
    of) vector(s) when its shape is A's without the last dim; batch dims broadcast."""
    a = matrices(A, "linalg.solve")
    b = as_variable(B, "linalg.solve")
    if a.dtype != b.dtype:
        raise InputError(
            "linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{torch_name(a.dtype)} and B of type {torch_name(b.dtype)} instead"
        )
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    rows = b.shape[-1] if vector else (b.shape[-2] if left else b.shape[-1]) if b.ndim else -1
    if rows != a.shape[-1] or (not vector and b.ndim < 2):
        shown = f"{b.shape[-1]}x1" if vector or b.ndim < 2 else "x".join(map(str, b.shape[-2:]))
        raise ShapeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation "
            f"{'AX' if left else 'XA'} = B ({a.shape[-2]}x{a.shape[-1]} and {shown})"
        )
    if left or vector:
        return _ops.LinalgSolveEx.apply(a, b, vector)
    return _ops.LinalgSolveEx.apply(a.mT, b.mT, False).mT


def solve_triangular(
    A: Any, B: Any, *, upper: bool | None = None, left: bool = True, unitriangular: bool = False
) -> Variable:
    """``X`` with ``T @ X == B`` (``left=False``: ``X @ T == B``), ``T`` the upper or lower
    triangle of A (``upper`` is required; ones on the diagonal when ``unitriangular``), in the
    operands' promoted dtype; a composition: the triangle, then ``LinalgSolveEx``, so A's
    gradient stays in its triangle. A singular triangle is refused (PyTorch returns inf or
    NaN)."""
    if upper is None:
        raise OperandError(
            'linalg_solve_triangular() missing 1 required positional arguments: "upper"'
        )
    a = matrices(A, "linalg.solve_triangular")
    b = as_variable(B, "linalg.solve_triangular")
    if b.ndim < 2:
        raise ShapeError(
            "linalg.solve_triangular: The input tensor B must have at least 2 dimensions."
        )
    if a.dtype != b.dtype:
        dtype = result_type(a._data, b._data)
        a, b = a.to(dtype), b.to(dtype)
    if (b.shape[-2] if left else b.shape[-1]) != a.shape[-1]:
        raise ShapeError(
            f"linalg.solve_triangular: Incompatible shapes of A and B for the equation "
            f"{'AX' if left else 'XA'} = B ({a.shape[-2]}x{a.shape[-1]} and "
            f"{b.shape[-2]}x{b.shape[-1]})"
        )
    if unitriangular:
        ones = Variable(np.eye(a.shape[-1], dtype=a.dtype))
        tri = (a.triu(1) if upper else a.tril(-1)) + ones
    else:
        tri = a.triu() if upper else a.tril()
    if left:
        return _ops.LinalgSolveEx.apply(tri, b, False)
    return _ops.LinalgSolveEx.apply(tri.mT, b.mT, False).mT


def pinv(
    A: Any, *, atol: float | None = None, rtol: float | None = None, hermitian: bool = False
) -> Variable:
    """The Moore-Penrose pseudo-inverse: singular values at most ``max(atol, rtol * largest)``
    count as zero; ``rtol`` defaults to ``eps * max(m, n)`` when neither is given, and to 0
    when only ``atol`` is (one op, ``LinalgPinv``)."""
    x = as_variable(A, "linalg.pinv")
    if x.ndim < 2 or x.dtype.kind != "f" or x.dtype == np.float16:
        shape = list(x.shape)
        raise InputError(
            f"linalg.pinv({torch_name(x.dtype)}{{{shape}}}): expected a tensor with 2 or more "
            "dimensions of float, double, cfloat or cdouble types"
        )
    if hermitian:
        matrices(x, "linalg.pinv")
    if rtol is None:
        rtol = float(np.finfo(x.dtype).eps) * max(x.shape[-2:]) if not atol else 0.0
    return _ops.LinalgPinv.apply(x, float(atol or 0.0), float(rtol), bool(hermitian))


def pinverse(input: Any, rcond: float = 1e-15) -> Variable:
    """``torch.pinverse``: ``linalg.pinv(input, rtol=rcond)``."""
    return pinv(input, rtol=rcond)


def matrix_power(A: Any, n: int) -> Variable:
    """``A`` multiplied by itself ``n`` times by repeated squaring (a composition of matmuls;
    ``n < 0``: of the inverse; ``n == 0``: the identity, with a zero gradient)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise OperandError(
            f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}"
        )
    x = matrices(A, "linalg.matrix_power", floating=n < 0)
    if n < 0:
        x, n = inv(x), -n
    if n == 0:
        eye = np.broadcast_to(np.eye(x.shape[-1], dtype=x.dtype), x.shape)
        return x * 0 + Variable(eye)
    result = None
    while n:
        if n & 1:
            result = x if result is None else result @ x
        n >>= 1
        if n:
            x = x @ x
    return result


def matrix_exp(A: Any) -> Variable:
    """The exponential of each square matrix, ``sum(A^k / k!)`` (scaling and squaring with a
    Padé approximant; the gradient is PyTorch's, an exponential of a block matrix)."""
    return MatrixExp.apply(matrices(A, "linalg.matrix_exp"))


def multi_dot(tensors: Any) -> Variable:
    """The product of a list of matrices in the cheapest order (the first may be 1-d, a row;
    the last 1-d, a column); a composition of matmuls."""
    if not isinstance(tensors, list | tuple) or len(tensors) < 2:
        count = len(tensors) if isinstance(tensors, list | tuple) else 1
        raise InputError(f"multi_dot(): expected at least 2 tensors but got {count}")
    xs = [as_variable(t, "multi_dot") for t in tensors]
    for position, name, allowed in ((0, "first", (1, 2)), (-1, "last", (1, 2))):
        if xs[position].ndim not in allowed:
            raise ShapeError(
                f"multi_dot(): the {name} tensor must be 1D or 2D but got {xs[position].ndim}D"
            )
    for i, x in enumerate(xs[1:-1], start=1):
        if x.ndim != 2:
            raise ShapeError(f"multi_dot(): tensor {i} must be 2D but got {x.ndim}D")
    for i, x in enumerate(xs):
        if x.dtype != xs[0].dtype:
            raise InputError(
                "multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                f"{torch_name(xs[0].dtype).lower()} and tensor {i} {torch_name(x.dtype).lower()}"
            )
    first, last = xs[0].ndim == 1, xs[-1].ndim == 1
    mats = [xs[0].reshape(1, -1) if first else xs[0], *xs[1:-1]]
    mats.append(xs[-1].reshape(-1, 1) if last else xs[-1])
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise ShapeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(xs[i].shape)} and "
                f"{list(xs[i + 1].shape)} cannot be multiplied"
            )
    out = _chain(mats, _order([m.shape[0] for m in mats] + [mats[-1].shape[1]]), 0, len(mats) - 1)
    if first and last:
        return out.reshape(())
    return out.reshape(-1) if first or last else out


def _order(sizes: list[int]) -> list[list[int]]:
    """Where to split each sub-chain of matrices ``i..j`` (``sizes[i] x sizes[i+1]`` each) so
    the product costs the fewest multiplications (the textbook dynamic program)."""
    n = len(sizes) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = min(
                (cost[i][k] + cost[k + 1][j] + sizes[i] * sizes[k + 1] * sizes[j + 1], k)
                for k in range(i, j)
            )
    return split


def _chain(mats: list[Variable], split: list[list[int]], i: int, j: int) -> Variable:
    if i == j:
        return mats[i]
    k = split[i][j]
    return _chain(mats, split, i, k) @ _chain(mats, split, k + 1, j)


def chain_matmul(*matrices: Any) -> Variable:
    """``torch.chain_matmul``: the product of 2-d matrices (``linalg.multi_dot`` of them)."""
    if not matrices:
        raise InputError("chain_matmul(): Expected one or more matrices")
    xs = [as_variable(m, "chain_matmul") for m in matrices]
    for x in xs:
        if x.ndim != 2:
            raise ShapeError(f"Tensor dimension is {x.ndim}, expected 2 instead.")
    return xs[0].clone() if len(xs) == 1 else multi_dot(xs)


def vdot(input: Any, other: Any) -> Variable:
    """The dot product of two 1-d Variables of one dtype (real: as ``dot``)."""
    x, y = as_variable(input, "vdot"), as_variable(other, "vdot")
    if x.ndim != 1 or y.ndim != 1:
        raise ShapeError(f"1D tensors expected, but got {x.ndim}D and {y.ndim}D tensors")
    if x.dtype != y.dtype:
        raise InputError(
            "dot : expected both vectors to have same dtype, but found "
            f"{torch_name(x.dtype)} and {torch_name(y.dtype)}"
        )
    if x.shape != y.shape:
        raise ShapeError(
            f"inconsistent tensor size, expected tensor [{x.shape[0]}] and src [{y.shape[0]}] "
            f"to have the same number of elements, but got {x.shape[0]} and {y.shape[0]} "
            "elements respectively"
        )
    return x.dot(y)


class EighResult(NamedTuple):
    """``(eigenvalues, eigenvectors)``, as PyTorch's ``linalg_eigh``."""

    eigenvalues: Variable
    eigenvectors: Variable


def _uplo(UPLO: Any) -> str:
    if UPLO not in ("L", "U"):
        raise InputError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO


def eigh(A: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix, read from
    its ``UPLO`` triangle (one op, with PyTorch's backward)."""
    x, uplo = matrices(A, "linalg.eigh"), _uplo(UPLO)
    return EighResult(*_ops.LinalgEigh.apply(x, uplo))


def eigvalsh(A: Any, UPLO: str = "L") -> Variable:
    """The eigenvalues (ascending) of each symmetric matrix."""
    return _ops.LinalgEigh.apply(matrices(A, "linalg.eigvalsh"), _uplo(UPLO))[0]


class SvdResult(NamedTuple):
    """``(U, S, Vh)``, as PyTorch's ``linalg_svd``."""

    U: Variable
    S: Variable
    Vh: Variable


def svd(A: Any, full_matrices: bool = True, *, driver: str | None = None) -> SvdResult:
    """``A = U @ diag(S) @ Vh``, singular values descending (one op, with
    PyTorch's backward: the first min(m, n) columns of full factors); one op."""
    x = matrices(A, "linalg.svd", square=False)
    return SvdResult(*_ops.LinalgSvd.apply(x, bool(full_matrices)))


def svdvals(A: Any, *, driver: str | None = None) -> Variable:
    """The singular values of each matrix, descending."""
    return _ops.LinalgSvd.apply(matrices(A, "linalg.svdvals", square=False), False)[1]


class QrResult(NamedTuple):
    """``(Q, R)``, as PyTorch's ``linalg_qr``."""

    Q: Variable
    R: Variable


def qr(A: Any, mode: str = "reduced") -> QrResult:
    """``A = Q @ R`` with orthonormal columns in Q and R upper triangular; ``mode`` is
    "reduced", "complete" or "r" (Q empty); one op, with PyTorch's backward."""
    if mode not in ("reduced", "complete", "r"):
        raise InputError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    x = matrices(A, "linalg.qr", square=False)
    return QrResult(*_ops.LinalgQr.apply(x, mode))


def matmul(input: Any, other: Any) -> Variable:
    """``input @ other`` (``gradviz.matmul``)."""
    return as_variable(input, "linalg.matmul") @ other


def diagonal(A: Any, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Variable:
    """The ``offset``-th diagonal of each matrix over the last two dims, a view."""
    return as_variable(A, "linalg.diagonal").diagonal(offset, dim1, dim2)


def vecdot(x: Any, y: Any, *, dim: int = -1) -> Variable:
    """The dot product of vectors along ``dim``, batch dims broadcast (``(x * y).sum(dim)``)."""
    a, b = as_variable(x, "linalg.vecdot"), as_variable(y, "linalg.vecdot")
    if a.dtype.kind != "f":
        raise InputError(
            "linalg.vecdot: Expected a floating point or complex tensor as input. Got "
            f"{torch_name(a.dtype)}"
        )
    if a.dtype != b.dtype:
        raise InputError(
            "linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
            f"{torch_name(a.dtype)} and y of type {torch_name(b.dtype)} instead"
        )
    return (a * b).sum(dim)


def cross(input: Any, other: Any, *, dim: int = -1) -> Variable:
    """The cross product of 3-vectors along ``dim``."""
    return as_variable(input, "linalg.cross").cross(other, dim)


def _tolerance(s: np.ndarray, shape: tuple[int, ...], atol: Any, rtol: Any) -> np.ndarray:
    """Singular values at most this count as zero: ``max(atol, rtol * largest)``, ``rtol``
    ``eps * max(m, n)`` when neither is given, as PyTorch's."""
    if rtol is None:
        rtol = float(np.finfo(s.dtype).eps) * max(shape[-2:]) if not atol else 0.0
    top = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros((*s.shape[:-1], 1))
    return np.maximum(atol or 0.0, rtol * top)


def matrix_rank(
    A: Any, *, atol: float | None = None, rtol: float | None = None, hermitian: bool = False
) -> Variable:
    """The number of singular values above the tolerance of each matrix (int64, no
    gradient)."""
    x = as_variable(A, "linalg.matrix_rank")
    if x.dtype.kind != "f" or x.dtype == np.float16:
        raise InputError("This function doesn't handle types other than float and double")
    if x.ndim < 2:
        raise ShapeError(
            "torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions."
        )
    data = x._data
    if hermitian:
        s = np.abs(np.linalg.eigvalsh(matrices(x, "linalg.matrix_rank")._data))
    else:
        s = np.linalg.svd(data, compute_uv=False)
    rank = Variable((s > _tolerance(s, data.shape, atol, rtol)).sum(-1).astype(np.int64))
    return nodiff.announce(nodiff.MatrixRank, (x, atol, rtol, hermitian), rank)


def cond(A: Any, p: Any = None) -> Variable:
    """The condition number in norm ``p``: None or 2 the ratio of the extreme singular values
    (-2 its inverse, any matrix), else ``norm(A, p) * norm(inv(A), p)`` (square matrices; inf
    for a singular one); a composition of the norms."""
    x = matrices(A, "linalg.cond", square=False)
    if p is None or p in (2, -2):
        s = svdvals(x)
        big, small = s.amax(-1), s.amin(-1)
        with np.errstate(divide="ignore", invalid="ignore"):  # a singular matrix: inf, as PyTorch
            return big / small if p != -2 else small / big
    if p not in ("fro", "nuc", 1, -1, math.inf, -math.inf) or isinstance(p, bool):
        raise InputError(f"linalg.cond got an invalid norm type: {p}")
    x = matrices(x, f"linalg.cond(ord={p})")
    singular = np.linalg.matrix_rank(x._data) < x.shape[-1]
    if not np.any(singular):
        return matrix_norm(x, p) * matrix_norm(inv(x), p)
    eye = np.broadcast_to(np.eye(x.shape[-1], dtype=x.dtype), x.shape)
    safe = where(np.asarray(singular)[..., None, None], eye, x)
    return (matrix_norm(safe, p) * matrix_norm(inv(safe), p)).masked_fill(singular, math.inf)


#: the public names of the namespace
NAMES = (
    "LinAlgError",
    "cond",
    "cross",
    "diagonal",
    "matmul",
    "matrix_rank",
    "vecdot",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
    "svdvals",
    "vector_norm",
)
__all__ = list(NAMES)
