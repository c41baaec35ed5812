"""PyTorch's older matrix decompositions at the top level, ``torch.svd``, ``torch.qr`` and
``torch.cholesky`` (and their methods), as ``gradviz.linalg``'s with the old arguments and
results: ``svd`` returns ``V``, not ``Vh``, and takes ``some`` and ``compute_uv``; ``qr``
takes ``some``. ``qr`` and ``cholesky`` warn once that they are deprecated, as PyTorch's do."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from gradviz.autograd import linalg
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable

#: the functions that said they are deprecated (once each, as PyTorch's TORCH_WARN_ONCE)
_WARNED: set[str] = set()


def _deprecated(name: str) -> None:
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(
            f"torch.{name} is deprecated in favor of torch.linalg.{name} and will be removed "
            "in a future PyTorch release.",
            UserWarning,
            stacklevel=3,
        )


class SvdLegacyResult(NamedTuple):
    """``(U, S, V)``, as PyTorch's ``torch.svd``."""

    U: Variable
    S: Variable
    V: Variable


def svd(input: Any, some: bool = True, compute_uv: bool = True) -> SvdLegacyResult:
    """``input = U diag(S) V^T``: the reduced factors (``some``), or the full ones; with
    ``compute_uv=False`` only ``S`` (with its gradient), and zero-filled full-size ``U``
    and ``V``."""
    A = as_variable(input, "svd")
    if not compute_uv:  # S keeps its gradient, as PyTorch's (that of linalg.svdvals)
        m, n = A.shape[-2], A.shape[-1]
        return SvdLegacyResult(
            Variable(np.zeros((*A.shape[:-2], m, m), A.dtype)),
            linalg.svdvals(A),
            Variable(np.zeros((*A.shape[:-2], n, n), A.dtype)),
        )
    U, S, Vh = linalg.svd(A, full_matrices=not some)
    return SvdLegacyResult(U, S, Vh.mT)


def qr(input: Any, some: bool = True) -> linalg.QrResult:
    """``input = Q R``: ``linalg.qr`` in mode ``"reduced"`` (``some``) or ``"complete"``."""
    _deprecated("qr")
    return linalg.qr(as_variable(input, "qr"), "reduced" if some else "complete")


def cholesky(input: Any, upper: bool = False) -> Variable:
    """The Cholesky factor ``L`` (``U = L^T`` with ``upper``) of each positive-definite matrix."""
    _deprecated("cholesky")
    return linalg.cholesky(as_variable(input, "cholesky"), upper=upper)
