"""Methods of ``Variable`` for PyTorch's matrix functions and shape helpers a ported script
reaches for (``det``, ``inverse``, ``slogdet``, ``matrix_power`` ...), a mixin.

Each is the top-level function of its name (``ops/api_math.py``, which ``variable.py`` hands
to this module once it can be imported): the checks and the math live there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable

_api: Any = None  # gradviz.autograd.ops.api_math, set by variable.py


class ExtraMethods:
    """det, inverse, logdet, slogdet, pinverse, matrix_power, vdot."""

    __slots__ = ()

    def det(self) -> Variable:
        """The determinant of each square matrix (``linalg.det``)."""
        return _api.det(self)

    def inverse(self) -> Variable:
        """The inverse of each square matrix (``linalg.inv``)."""
        return _api.inverse(self)

    def logdet(self) -> Variable:
        """``log(det)``: NaN for a negative determinant."""
        return _api.logdet(self)

    def slogdet(self) -> Any:
        """``(sign, logabsdet)`` of each square matrix."""
        return _api.slogdet(self)

    def pinverse(self, rcond: float = 1e-15) -> Variable:
        """The pseudo-inverse, singular values below ``rcond`` times the largest dropped."""
        return _api.pinverse(self, rcond)

    def matrix_power(self, n: int) -> Variable:
        """The matrix multiplied by itself ``n`` times (``n < 0``: its inverse's power)."""
        return _api.matrix_power(self, n)

    def vdot(self, other: Any) -> Variable:
        """The dot product with another 1-d Variable."""
        return _api.vdot(self, other)
