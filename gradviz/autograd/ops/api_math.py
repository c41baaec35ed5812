"""Top-level functions of PyTorch's tensor math that a ported script reaches for: the matrix
functions PyTorch keeps at the top (``gradviz.det``, ``logdet``, ``slogdet``, ``pinverse``,
``matrix_power``, ``vdot``, ``chain_matmul`` ...), each the function of ``gradviz.linalg``.
"""

from __future__ import annotations

from gradviz.autograd import linalg as _linalg

det = _linalg.det
inverse = _linalg.inv
logdet = _linalg.logdet
slogdet = _linalg.slogdet
pinverse = _linalg.pinverse
matrix_power = _linalg.matrix_power
vdot = _linalg.vdot
chain_matmul = _linalg.chain_matmul

#: every public function of this module, for the top-level namespaces
NAMES = ("det", "inverse", "logdet", "slogdet", "pinverse", "matrix_power", "vdot", "chain_matmul")
