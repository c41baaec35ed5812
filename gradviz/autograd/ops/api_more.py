"""More top-level functions that mirror Variable methods (``gradviz.floor``, ``gradviz.atan2``,
``gradviz.flip``, ``gradviz.median`` ...), and the ones with no method of their name
(``hstack``, ``vstack``, ``meshgrid``, ``broadcast_to``, ``tile``), as PyTorch's.
"""

from __future__ import annotations

from gradviz.autograd.ops.api import _mirror

floor = _mirror("floor", "The largest integer not above each element (zero gradient).")
ceil = _mirror("ceil", "The smallest integer not below each element (zero gradient).")
trunc = _mirror("trunc", "Each element rounded toward zero (zero gradient).")
frac = _mirror("frac", "x - trunc(x).")
reciprocal = _mirror("reciprocal", "1 / x.")
rsqrt = _mirror("rsqrt", "1 / sqrt(x).")
neg = _mirror("neg", "-x.")
log1p = _mirror("log1p", "log(1 + x), accurate for small x.")
expm1 = _mirror("expm1", "exp(x) - 1, accurate for small x.")
exp2 = _mirror("exp2", "2 ** x.")
erf = _mirror("erf", "The error function.")
erfinv = _mirror("erfinv", "The inverse error function.")
sinh = _mirror("sinh", "Hyperbolic sine.")
cosh = _mirror("cosh", "Hyperbolic cosine.")
asin = _mirror("asin", "Inverse sine.")
acos = _mirror("acos", "Inverse cosine.")
atan = _mirror("atan", "Inverse tangent.")
atan2 = _mirror("atan2", "The angle of the point (other, input), in (-pi, pi].")
hypot = _mirror("hypot", "sqrt(input**2 + other**2).")
fmod = _mirror("fmod", "C's remainder, of the dividend's sign.")
remainder = _mirror("remainder", "Python's remainder (input % other), of the divisor's sign.")
nan_to_num = _mirror("nan_to_num", "NaN and infinities replaced by finite numbers.")
logit = _mirror("logit", "log(x / (1 - x)), x clamped into [eps, 1 - eps] when eps is given.")

#: every mirrored function of this module, by name
MIRRORED = (
    "floor",
    "ceil",
    "trunc",
    "frac",
    "reciprocal",
    "rsqrt",
    "neg",
    "log1p",
    "expm1",
    "exp2",
    "erf",
    "erfinv",
    "sinh",
    "cosh",
    "asin",
    "acos",
    "atan",
    "atan2",
    "hypot",
    "fmod",
    "remainder",
    "nan_to_num",
    "logit",
)

#: every public function of this module, for the top-level namespaces
NAMES = MIRRORED
