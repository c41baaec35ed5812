"""The elementwise math methods of ``Variable`` beyond the basic ones (``floor``, ``log1p``,
``erf``, ``atan2``, ``fmod``, ``logit``, ``nan_to_num`` ...) and the in-place ``relu_``,
``sigmoid_``, ``tanh_``, ``exp_``, ``log_``, ``sqrt_``, ``abs_``, a mixin.

Each checks its arguments as PyTorch does and applies one op of ``gradviz.autograd.ops.special``
(or an existing op), which ``variable.py`` hands to this module once it can be imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd.errors import OperandError

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable

_special: Any = None  # gradviz.autograd.ops.special, set by variable.py
_trig: Any = None  # gradviz.autograd.ops.trig, likewise
_unary_inplace: Any = None  # gradviz.autograd.inplace_unary, set by variable.py


def _gamma() -> Any:
    """``gradviz.autograd.ops.gamma`` (imported on first use: it needs ``Variable``)."""
    from gradviz.autograd.ops import gamma

    return gamma


def _gamma_sample() -> Any:
    """``gradviz.autograd.ops.gamma_sample`` (imported on first use: it needs ``Variable``)."""
    from gradviz.autograd.ops import gamma_sample

    return gamma_sample


def other_operand(self: Any, other: Any, op: str, numbers: bool) -> Any:
    """``other`` of a binary op: a Variable or an array (a list becomes one); a Python number
    only where PyTorch takes a Scalar (``numbers``)."""
    if isinstance(other, self._plain | np.ndarray):
        return other
    if isinstance(other, list | tuple):
        return self._plain(np.asarray(other))
    if isinstance(other, np.generic):
        other = other.item()
    if numbers and isinstance(other, int | float):  # (a bool too: PyTorch's Scalar)
        return other
    expected = "a Variable or a number" if numbers else "a Variable"
    raise OperandError(
        f"{op}(): argument 'other' (position 1) must be {expected}, not {type(other).__name__}"
    )


def _float_argument(value: Any, op: str, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise OperandError(f"{op}(): argument '{name}' must be float, not {type(value).__name__}")
    return float(value)


class MathMethods:
    """Rounding, reciprocals, special functions, inverse trigonometry and their PyTorch
    relatives, with PyTorch's names, dtypes and gradients."""

    __slots__ = ()

    def floor(self) -> Variable:
        """The largest integer not above each element (integers unchanged); zero gradient."""
        return _special.Floor.apply(self)

    def ceil(self) -> Variable:
        """The smallest integer not below each element; zero gradient."""
        return _special.Ceil.apply(self)

    def trunc(self) -> Variable:
        """Each element rounded toward zero; zero gradient."""
        return _special.Trunc.apply(self)

    fix = trunc

    def frac(self) -> Variable:
        """``x - trunc(x)`` (floating inputs only); gradient 1."""
        return _special.Frac.apply(self)

    def reciprocal(self) -> Variable:
        """``1 / x`` (integers give the default float dtype)."""
        return _special.Reciprocal.apply(self)

    def rsqrt(self) -> Variable:
        """``1 / sqrt(x)``."""
        return _special.Rsqrt.apply(self)

    def neg(self) -> Variable:
        """``-x``."""
        return -self

    negative = neg

    def log1p(self) -> Variable:
        """``log(1 + x)``, accurate for small x."""
        return _special.Log1p.apply(self)

    def expm1(self) -> Variable:
        """``exp(x) - 1``, accurate for small x."""
        return _special.Expm1.apply(self)

    def exp2(self) -> Variable:
        """``2 ** x``."""
        return _special.Exp2.apply(self)

    def erf(self) -> Variable:
        """The error function."""
        return _special.Erf.apply(self)

    def erfinv(self) -> Variable:
        """The inverse error function on (-1, 1) (+-inf at +-1, NaN outside)."""
        return _special.Erfinv.apply(self)

    def sinh(self) -> Variable:
        """Hyperbolic sine."""
        return _special.Sinh.apply(self)

    def cosh(self) -> Variable:
        """Hyperbolic cosine."""
        return _special.Cosh.apply(self)

    def asin(self) -> Variable:
        """Inverse sine (NaN outside [-1, 1])."""
        return _special.Asin.apply(self)

    def acos(self) -> Variable:
        """Inverse cosine (NaN outside [-1, 1])."""
        return _special.Acos.apply(self)

    def atan(self) -> Variable:
        """Inverse tangent."""
        return _special.Atan.apply(self)

    arcsin, arccos, arctan = asin, acos, atan

    def tan(self) -> Variable:
        """Tangent."""
        return _trig.Tan.apply(self)

    def asinh(self) -> Variable:
        """Inverse hyperbolic sine."""
        return _trig.Asinh.apply(self)

    def acosh(self) -> Variable:
        """Inverse hyperbolic cosine (NaN below 1)."""
        return _trig.Acosh.apply(self)

    def atanh(self) -> Variable:
        """Inverse hyperbolic tangent (NaN outside [-1, 1])."""
        return _trig.Atanh.apply(self)

    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def atan2(self, other: Any) -> Variable:
        """The angle of the point ``(other, self)`` elementwise, in (-pi, pi]."""
        return _special.Atan2.apply(self, other_operand(self, other, "atan2", numbers=False))

    arctan2 = atan2

    def hypot(self, other: Any) -> Variable:
        """``sqrt(self**2 + other**2)`` elementwise (floating inputs)."""
        return _special.Hypot.apply(self, other_operand(self, other, "hypot", numbers=False))

    def fmod(self, other: Any) -> Variable:
        """C's remainder ``self - other * trunc(self / other)``, of the dividend's sign."""
        return _special.Fmod.apply(self, other_operand(self, other, "fmod", numbers=True))

    def remainder(self, other: Any) -> Variable:
        """Python's remainder ``self % other``, of the divisor's sign."""
        return self % other_operand(self, other, "remainder", numbers=True)

    def nan_to_num(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Variable:
        """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0
        and the dtype's largest and smallest values); the gradient passes where x is finite."""
        check = _float_argument
        nan = check(nan, "nan_to_num", "nan")
        return _special.NanToNum.apply(
            self,
            0.0 if nan is None else nan,
            check(posinf, "nan_to_num", "posinf"),
            check(neginf, "nan_to_num", "neginf"),
        )

    def logit(self, eps: float | None = None) -> Variable:
        """``log(x / (1 - x))``; with ``eps``, x is first clamped into ``[eps, 1 - eps]``."""
        return _special.Logit.apply(self, _float_argument(eps, "logit", "eps"))

    def lgamma(self) -> Variable:
        """``log |Gamma(x)|`` (inf at 0 and the negative integers)."""
        return _gamma().Lgamma.apply(self)

    def digamma(self) -> Variable:
        """``d/dx log Gamma(x)`` (PyTorch's poles: -inf at +0, inf at -0, NaN at -1, -2 ...)."""
        return _gamma().Digamma.apply(self)

    def polygamma(self, n: int) -> Variable:
        """The n-th derivative of digamma (n >= 0)."""
        return _gamma().Polygamma.apply(self, _gamma().polygamma_order(n))

    def mvlgamma(self, p: int) -> Variable:
        """The multivariate log-gamma of dimension ``p >= 1``."""
        return _gamma().Mvlgamma.apply(self, _gamma().mvlgamma_order(p))

    def igamma(self, other: Any) -> Variable:
        """The regularized lower incomplete gamma function ``P(self, other)``."""
        other = other_operand(self, other, "igamma", numbers=False)
        return _gamma_sample().Igamma.apply(self, other)

    def igammac(self, other: Any) -> Variable:
        """The regularized upper incomplete gamma function ``Q(self, other) = 1 - P``."""
        other = other_operand(self, other, "igammac", numbers=False)
        return _gamma_sample().Igammac.apply(self, other)

    # ------------------------------------------------------------------------------ in place
    def relu_(self) -> Variable:
        """``relu`` in place; returns self."""
        return _unary_inplace.relu_(self)

    def sigmoid_(self) -> Variable:
        """``sigmoid`` in place (floating Variables); returns self."""
        return _unary_inplace.sigmoid_(self)

    def tanh_(self) -> Variable:
        """``tanh`` in place (floating Variables); returns self."""
        return _unary_inplace.tanh_(self)

    def exp_(self) -> Variable:
        """``exp`` in place (floating Variables); returns self."""
        return _unary_inplace.exp_(self)

    def log_(self) -> Variable:
        """``log`` in place (floating Variables); returns self."""
        return _unary_inplace.log_(self)

    def sqrt_(self) -> Variable:
        """``sqrt`` in place (floating Variables); returns self."""
        return _unary_inplace.sqrt_(self)

    def abs_(self) -> Variable:
        """``abs`` in place; returns self."""
        return _unary_inplace.abs_(self)
