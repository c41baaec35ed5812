"""Rows of the op table (``test_ops.py``) for the matrix functions and decompositions of
``gradviz.linalg`` (``ops/linalg_decomp.py``), each against NumPy's ``linalg``, and for the
new ops of ``gradviz.special`` (erfc, sinc, entr, i0, xlogy).

Inputs are made well conditioned inside each row (a shifted diagonal, a symmetric or
positive-definite matrix built from the drawn one), so gradcheck probes smooth points; the
free signs of singular and eigen vectors are fixed (or squared away) before comparing.
``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import gradviz
import gradviz.special
from gradviz import linalg as L


def _shift(a: Any, k: float = 4.0) -> Any:
    """``a + k I`` (a Variable or an array, in its own dtype)."""
    if isinstance(a, np.ndarray):
        return a + k * np.eye(a.shape[-1], dtype=a.dtype)
    return a + gradviz.eye(a.shape[-1], dtype=a.dtype) * k


def _spd(a: Any) -> Any:
    return _shift(a @ np.swapaxes(a, -1, -2) if isinstance(a, np.ndarray) else a @ a.mT, 1.0)


def _sym(a: Any) -> Any:
    return a + (np.swapaxes(a, -1, -2) if isinstance(a, np.ndarray) else a.mT)


def _column_signs(u: Any) -> Any:
    """The sign of each column's largest entry, as a row to multiply by."""
    data = u.numpy() if isinstance(u, gradviz.Variable) else u
    top = np.take_along_axis(data, np.abs(data).argmax(-2)[..., None, :], -2)
    return np.sign(top).astype(data.dtype)


def _svd_part(part: int) -> Any:
    def fn(a: Any) -> Any:
        u, s, vh = L.svd(a, full_matrices=False)
        signs = _column_signs(u.numpy())
        return (u * gradviz.tensor(signs), s, vh * gradviz.tensor(np.swapaxes(signs, -1, -2)))[part]

    def ref(a: np.ndarray) -> np.ndarray:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        signs = _column_signs(u)
        return (u * signs, s, vh * np.swapaxes(signs, -1, -2))[part]

    return fn, ref


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    gc = {"atol": 1e-5, "rtol": 1e-4}
    table = [
        Case(
            "LinalgInvEx",
            "linalg_inv",
            ((2, 3, 3),),
            lambda a: L.inv(_shift(a)),
            lambda a: np.linalg.inv(_shift(a)),
            rtol=1e-8,
            atol=1e-10,
        ),
        Case("LinalgDet", "linalg_det", ((2, 3, 3),), L.det, np.linalg.det, rtol=1e-8),
        Case(
            "LinalgDet",
            "linalg_det_singular",
            ((3, 2),),
            lambda a: L.det(a @ a.mT),
            lambda a: np.linalg.det(a @ a.T),
            rtol=1e-6,
            atol=1e-8,
            gradcheck=gc,
        ),
        Case(
            "LinalgSlogdet",
            "linalg_slogdet_logabsdet",
            ((2, 3, 3),),
            lambda a: L.slogdet(a).logabsdet,
            lambda a: np.linalg.slogdet(a)[1],
            rtol=1e-8,
        ),
        Case(
            "LinalgSlogdet",
            "linalg_slogdet_sign",
            ((2, 3, 3),),
            lambda a: L.slogdet(a).sign * a.sum(),
            lambda a: np.linalg.slogdet(a)[0] * a.sum(),
            rtol=1e-8,
        ),
        Case(
            "LinalgCholeskyEx",
            "linalg_cholesky",
            ((2, 3, 3),),
            lambda a: L.cholesky(_spd(a)),
            lambda a: np.linalg.cholesky(_spd(a)),
            rtol=1e-8,
            atol=1e-10,
        ),
        Case(
            "LinalgCholeskyEx",
            "linalg_cholesky_upper",
            ((3, 3),),
            lambda a: L.cholesky(_spd(a), upper=True),
            lambda a: np.linalg.cholesky(_spd(a)).T,
            rtol=1e-8,
            atol=1e-10,
        ),
        Case(
            "LinalgSolveEx",
            "linalg_solve",
            ((2, 3, 3), (3, 2)),
            lambda a, b: L.solve(_shift(a), b),
            lambda a, b: np.linalg.solve(_shift(a), b),
            rtol=1e-8,
            atol=1e-10,
        ),
        Case(
            "LinalgSolveEx",
            "linalg_solve_vectors",
            ((2, 3, 3), (2, 3)),
            lambda a, b: L.solve(_shift(a), b),
            lambda a, b: np.linalg.solve(_shift(a), b[..., None])[..., 0],
            rtol=1e-8,
            atol=1e-10,
        ),
        Case(
            "LinalgPinv",
            "linalg_pinv_tall",
            ((4, 3),),
            L.pinv,
            np.linalg.pinv,
            rtol=1e-8,
            atol=1e-10,
        ),
        Case(
            "LinalgPinv",
            "linalg_pinv_wide",
            ((2, 2, 3),),
            L.pinv,
            np.linalg.pinv,
            rtol=1e-8,
            atol=1e-10,
        ),
        Case(
            "LinalgPinv",
            "linalg_pinv_hermitian",
            ((3, 3),),
            lambda a: L.pinv(_sym(a), hermitian=True),
            lambda a: np.linalg.pinv(_sym(a)),
            rtol=1e-8,
            atol=1e-10,
        ),
        Case(
            "LinalgEigh",
            "linalg_eigh_values",
            ((2, 3, 3),),
            lambda a: L.eigvalsh(_sym(a)),
            lambda a: np.linalg.eigvalsh(_sym(a)),
            rtol=1e-8,
            atol=1e-10,
        ),
        Case(
            "LinalgEigh",
            "linalg_eigh_vectors",
            ((3, 3),),
            lambda a: L.eigh(_sym(a)).eigenvectors ** 2,  # each column's sign is free
            lambda a: np.linalg.eigh(_sym(a))[1] ** 2,
            rtol=1e-8,
            atol=1e-10,
        ),
    ]
    for part, name in enumerate(("U", "S", "Vh")):
        for shape, tag in (((4, 3), "tall"), ((2, 3, 5), "wide")):
            fn, ref = _svd_part(part)
            table.append(
                Case(
                    "LinalgSvd",
                    f"linalg_svd_{name}_{tag}",
                    (shape,),
                    fn,
                    ref,
                    rtol=1e-8,
                    atol=1e-10,
                )
            )
    for part, name in enumerate(("Q", "R")):
        for shape, tag in (((4, 3), "tall"), ((2, 3, 3), "square"), ((3, 5), "wide")):
            table.append(
                Case(
                    "LinalgQr",
                    f"linalg_qr_{name}_{tag}",
                    (shape,),
                    lambda a, part=part: L.qr(a)[part],
                    lambda a, part=part: np.linalg.qr(a)[part],
                    rtol=1e-8,
                    atol=1e-10,
                )
            )
    table += [
        Case(
            "Erfc",
            "special_erfc",
            ((3, 4),),
            gradviz.special.erfc,
            lambda x: np.vectorize(math.erfc)(x),
            rtol=1e-12,
        ),
        Case("Sinc", "special_sinc", ((3, 4),), gradviz.special.sinc, np.sinc, rtol=1e-10),
        Case(
            "Entr",
            "special_entr",
            ((3, 4),),
            gradviz.special.entr,
            lambda x: -x * np.log(x),
            ranges=Uniform(0.1, 2.0),
        ),
        Case("I0", "special_i0", ((3, 4),), gradviz.special.i0, np.i0, ranges=Uniform(-4.0, 4.0)),
        Case(
            "Xlogy",
            "special_xlogy",
            ((3, 4), (4,)),
            gradviz.special.xlogy,
            lambda x, y: x * np.log(y),
            ranges=(Uniform(), Uniform(0.2, 2.0)),
        ),
    ]
    return table
