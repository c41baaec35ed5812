"""Top-level functions of PyTorch's tensor math that a ported script reaches for: the matrix
functions PyTorch keeps at the top (``gradviz.det``, ``logdet``, ``slogdet``, ``pinverse``,
``matrix_power``, ``vdot``, ``chain_matmul``), each the function of ``gradviz.linalg``; the
shape helpers of ``api_shape`` (``movedim``, ``tensor_split`` ...), the statistics of
``api_stats`` (``quantile``, ``cov`` ...), the elementwise names of ``api_pointwise``
(``clamp_min``, ``copysign`` ...) and ``api_elementwise`` (``tan``, ``fmax`` ...), and the
draws of ``api_random`` (``normal``, ``bernoulli``, ``poisson``).
"""

from __future__ import annotations

from gradviz.autograd import linalg as _linalg
from gradviz.autograd import linalg_legacy as _legacy
from gradviz.autograd.ops import api_elementwise as _elementwise
from gradviz.autograd.ops import api_pointwise as _pointwise
from gradviz.autograd.ops import api_random as _random
from gradviz.autograd.ops import api_shape as _shape
from gradviz.autograd.ops import api_stats as _stats
from gradviz.autograd.ops.api_more import tile as tile  # (top-level already; Variable.tile)

det = _linalg.det
inverse = _linalg.inv
logdet = _linalg.logdet
slogdet = _linalg.slogdet
pinverse = _linalg.pinverse
matrix_power = _linalg.matrix_power
matrix_exp = _linalg.matrix_exp
vdot = _linalg.vdot
chain_matmul = _linalg.chain_matmul
svd, qr, cholesky = _legacy.svd, _legacy.qr, _legacy.cholesky  # PyTorch's older forms

# the shape helpers (``movedim``, ``tensor_split`` ...), statistics (``quantile``, ``cov`` ...)
# elementwise names (``clamp_min``, ``tan`` ...) and draws (``normal``, ``bernoulli`` ...)
for _module in (_shape, _stats, _pointwise, _random, _elementwise):
    globals().update({_name: getattr(_module, _name) for _name in _module.NAMES})

MATRIX = (
    *("det", "inverse", "logdet", "slogdet", "pinverse", "matrix_power", "vdot", "chain_matmul"),
    *("svd", "qr", "cholesky", "matrix_exp"),
)

#: every public function of this module, for the top-level namespaces
NAMES = (
    *MATRIX,
    *_shape.NAMES,
    *_stats.NAMES,
    *_pointwise.NAMES,
    *_random.NAMES,
    *_elementwise.NAMES,
)
