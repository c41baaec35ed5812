"""``gradviz.special``: the functions of PyTorch's ``torch.special`` that NumPy computes
cheaply (no SciPy): ``expit``, ``logit``, ``erf``, ``erfc``, ``erfinv``, ``gammaln``,
``digamma`` (``psi``), ``polygamma``, ``multigammaln``, ``gammainc``, ``gammaincc``,
``xlogy``, ``sinc``, ``entr``, ``i0``, ``i0e``, ``i1``, ``i1e``, ``ndtr``, ``log_softmax``,
``softmax``, ``logsumexp``, ``log1p``, ``expm1``, ``exp2``, ``round``.

``erfc``, ``xlogy``, ``sinc`` and ``entr`` are ops of their own (``ops/special.py``), so are
the Bessel functions (``ops/bessel.py``); the gamma family's are in ``ops/gamma.py``; ``ndtr``
is a composition of erfc; the others are the Variable methods of their names.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.errors import OperandError
from gradviz.autograd.ops import bessel as _bessel
from gradviz.autograd.ops import special as _ops
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable


def expit(input: Any) -> Variable:
    """The logistic sigmoid ``1 / (1 + exp(-x))``."""
    return as_variable(input, "special.expit").sigmoid()


def logit(input: Any, eps: float | None = None) -> Variable:
    """``log(x / (1 - x))``, x first clamped into ``[eps, 1 - eps]`` when ``eps`` is given."""
    return as_variable(input, "special.logit").logit(eps)


def erf(input: Any) -> Variable:
    """The error function."""
    return as_variable(input, "special.erf").erf()


def erfc(input: Any) -> Variable:
    """The complementary error function ``1 - erf(x)`` (accurate where it is tiny)."""
    return _ops.Erfc.apply(as_variable(input, "special.erfc"))


def erfinv(input: Any) -> Variable:
    """The inverse error function on (-1, 1)."""
    return as_variable(input, "special.erfinv").erfinv()


def gammaln(input: Any) -> Variable:
    """``log |Gamma(x)|`` (``lgamma``)."""
    return as_variable(input, "special.gammaln").lgamma()


def digamma(input: Any) -> Variable:
    """The logarithmic derivative of the gamma function."""
    return as_variable(input, "special.digamma").digamma()


psi = digamma


def polygamma(n: int, input: Any) -> Variable:
    """The n-th derivative of digamma (n first, as PyTorch's)."""
    return as_variable(input, "special.polygamma").polygamma(n)


def multigammaln(input: Any, p: int) -> Variable:
    """The multivariate log-gamma of dimension ``p`` (``mvlgamma``)."""
    return as_variable(input, "special.multigammaln").mvlgamma(p)


def gammainc(input: Any, other: Any) -> Variable:
    """The regularized lower incomplete gamma function ``P(input, other)`` (``igamma``)."""
    return as_variable(input, "special.gammainc").igamma(other)


def gammaincc(input: Any, other: Any) -> Variable:
    """The regularized upper incomplete gamma function ``Q(input, other)`` (``igammac``)."""
    return as_variable(input, "special.gammaincc").igammac(other)


def xlogy(input: Any, other: Any) -> Variable:
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN); either may be
    a number."""
    if not isinstance(input, Variable) and not isinstance(other, Variable):
        raise OperandError("special.xlogy(): expected a Variable as input or other, got numbers")
    return _ops.Xlogy.apply(_operand(input), _operand(other))


def _operand(value: Any) -> Any:
    if isinstance(value, Variable | np.ndarray):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise OperandError(
            f"special.xlogy(): expected a Variable or a number, got {type(value).__name__}"
        )
    return value


def sinc(input: Any) -> Variable:
    """``sin(pi x) / (pi x)``, 1 at 0."""
    return _ops.Sinc.apply(as_variable(input, "special.sinc"))


def entr(input: Any) -> Variable:
    """``-x ln x`` elementwise: 0 at 0, -inf for negative x."""
    return _ops.Entr.apply(as_variable(input, "special.entr"))


def i0(input: Any) -> Variable:
    """The modified Bessel function of the first kind, order 0."""
    return _bessel.I0.apply(as_variable(input, "special.i0"))


def i0e(input: Any) -> Variable:
    """``exp(-|x|) i0(x)``: the order-0 modified Bessel function, exponentially scaled."""
    return _bessel.I0e.apply(as_variable(input, "special.i0e"))


def i1(input: Any) -> Variable:
    """The modified Bessel function of the first kind, order 1."""
    return _bessel.I1.apply(as_variable(input, "special.i1"))


def i1e(input: Any) -> Variable:
    """``exp(-|x|) i1(x)``: the order-1 modified Bessel function, exponentially scaled."""
    return _bessel.I1e.apply(as_variable(input, "special.i1e"))


def ndtr(input: Any) -> Variable:
    """The standard normal distribution function ``erfc(-x / sqrt(2)) / 2``."""
    x = as_variable(input, "special.ndtr")
    return erfc(x * (-1 / math.sqrt(2))) * 0.5


def softmax(input: Any, dim: int, *, dtype: Any = None) -> Variable:
    """``exp(x)`` normalised along ``dim``, in ``dtype`` if given."""
    return as_variable(input, "special.softmax").softmax(dim, dtype)


def log_softmax(input: Any, dim: int, *, dtype: Any = None) -> Variable:
    """``log(softmax(x))`` along ``dim``, computed stably."""
    return as_variable(input, "special.log_softmax").log_softmax(dim, dtype)


def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Variable:
    """``log(sum(exp(x)))`` over ``dim``, computed stably."""
    return as_variable(input, "special.logsumexp").logsumexp(dim, keepdim)


def log1p(input: Any) -> Variable:
    """``log(1 + x)``, accurate for small x."""
    return as_variable(input, "special.log1p").log1p()


def expm1(input: Any) -> Variable:
    """``exp(x) - 1``, accurate for small x."""
    return as_variable(input, "special.expm1").expm1()


def exp2(input: Any) -> Variable:
    """``2 ** x``."""
    return as_variable(input, "special.exp2").exp2()


def round(input: Any, *, decimals: int = 0) -> Variable:
    """Rounded half to even (at ``decimals`` digits)."""
    return as_variable(input, "special.round").round(decimals)


__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log1p",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlogy",
]
