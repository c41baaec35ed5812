"""More top-level functions that mirror Variable methods (``gradviz.floor``, ``gradviz.atan2``,
``gradviz.flip``, ``gradviz.median`` ...), and the ones with no method of their name
(``hstack``, ``vstack``, ``meshgrid``, ``broadcast_to``, ``tile``), as PyTorch's.
"""

from __future__ import annotations

import warnings
from typing import Any

from gradviz.autograd.errors import OperandError, ShapeError
from gradviz.autograd.ops.api import _mirror, as_variable
from gradviz.autograd.ops.shape import concatenate
from gradviz.autograd.variable import Variable

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
lgamma = _mirror("lgamma", "log |Gamma(x)|.")
digamma = _mirror("digamma", "The logarithmic derivative of the gamma function.")
mvlgamma = _mirror("mvlgamma", "The multivariate log-gamma of dimension p.")
igamma = _mirror("igamma", "The regularized lower incomplete gamma function P(input, other).")
igammac = _mirror("igammac", "The regularized upper incomplete gamma function Q(input, other).")
sinh = _mirror("sinh", "Hyperbolic sine.")
cosh = _mirror("cosh", "Hyperbolic cosine.")
asin = _mirror("asin", "Inverse sine.")
acos = _mirror("acos", "Inverse cosine.")
atan = _mirror("atan", "Inverse tangent.")
arcsin, arccos, arctan = asin, acos, atan
tan = _mirror("tan", "Tangent.")
asinh = arcsinh = _mirror("asinh", "Inverse hyperbolic sine.")
acosh = arccosh = _mirror("acosh", "Inverse hyperbolic cosine.")
atanh = arctanh = _mirror("atanh", "Inverse hyperbolic tangent.")
atan2 = arctan2 = _mirror("atan2", "The angle of the point (other, input), in (-pi, pi].")
hypot = _mirror("hypot", "sqrt(input**2 + other**2).")
fmod = _mirror("fmod", "C's remainder, of the dividend's sign.")
remainder = _mirror("remainder", "Python's remainder (input % other), of the divisor's sign.")
nan_to_num = _mirror("nan_to_num", "NaN and infinities replaced by finite numbers.")
logit = _mirror("logit", "log(x / (1 - x)), x clamped into [eps, 1 - eps] when eps is given.")
dot = _mirror("dot", "Inner product of two 1-d Variables.")
mv = _mirror("mv", "Product of a matrix and a vector.")
mul = _mirror("mul", "input * other.")
div = _mirror("div", "input / other, rounded toward zero or down with rounding_mode.")
flip = _mirror("flip", "The elements in reverse order along dims.")
roll = _mirror("roll", "Elements shifted along dims, wrapping around.")
narrow = _mirror("narrow", "The view of length entries from start along dim.")
repeat_interleave = _mirror("repeat_interleave", "Each element repeated along dim.")
cumprod = _mirror("cumprod", "Running products along dim.")
median = _mirror("median", "The lower median, or (values, indices) along dim.")
masked_select = _mirror("masked_select", "The elements where mask is true, 1-d.")
argsort = _mirror("argsort", "The indices that sort the values along dim.")
logical_and = _mirror("logical_and", "Nonzero in both (bool).")
logical_or = _mirror("logical_or", "Nonzero in either (bool).")
logical_xor = _mirror("logical_xor", "Nonzero in exactly one (bool).")
logical_not = _mirror("logical_not", "True where zero (bool).")


def polygamma(n: int, input: Any) -> Variable:
    """The n-th derivative of digamma at ``input`` (n first, as PyTorch's). Same as
    ``input.polygamma(n)``."""
    return as_variable(input, "polygamma").polygamma(n)


def tile(input: Any, dims: Any) -> Variable:
    """``input`` repeated ``dims[i]`` times along each dim (missing leading dims count 1)."""
    x = as_variable(input, "tile")
    dims = tuple(dims) if isinstance(dims, list | tuple) else (dims,)
    return x.repeat(*((1,) * (x.ndim - len(dims)) + dims))


def broadcast_to(input: Any, size: Any) -> Variable:
    """``input`` expanded to ``size`` (-1 keeps a size)."""
    return as_variable(input, "broadcast_to").expand(*size)


def hstack(tensors: Any) -> Variable:
    """Join along dim 1 (1-d inputs: along dim 0)."""
    joined = [_at_least(as_variable(t, "hstack"), 1) for t in _sequence(tensors, "hstack")]
    return concatenate(joined, 0 if all(t.ndim == 1 for t in joined) else 1)


def vstack(tensors: Any) -> Variable:
    """Join along dim 0, 0-d and 1-d inputs first made rows."""
    joined = [_at_least(as_variable(t, "vstack"), 2) for t in _sequence(tensors, "vstack")]
    return concatenate(joined, 0)


def _sequence(tensors: Any, op: str) -> list[Any]:
    if not isinstance(tensors, list | tuple):
        raise OperandError(
            f"{op}(): argument 'tensors' must be a tuple or list of Variables, not "
            f"{type(tensors).__name__}"
        )
    return list(tensors)


def _at_least(x: Variable, ndim: int) -> Variable:
    if x.ndim >= ndim:
        return x
    if ndim == 2 and x.ndim == 1:
        return x.reshape(1, -1)
    return x.reshape(*(1,) * ndim)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Variable, ...]:
    """Coordinate grids of 0-d or 1-d inputs: ``indexing="ij"`` (each input along its own
    dim) or ``"xy"`` (the first two swapped); each output an expanded view."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(
            "meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise OperandError(
            f'meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    grid = [as_variable(t, "meshgrid") for t in tensors]
    for t in grid:
        if t.ndim > 1:
            raise ShapeError(
                f"meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D"
            )
        if t.dtype != grid[0].dtype:
            raise OperandError("meshgrid expects all tensors to have the same dtype")
    sizes = [max(t.numel(), 1) if t.ndim else 1 for t in grid]
    axes = list(range(len(grid)))
    if indexing == "xy" and len(grid) >= 2:
        axes[0], axes[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for t, axis in zip(grid, axes, strict=True):
        shape = [1] * len(grid)
        shape[axis] = -1
        out.append(t.reshape(*shape).expand(*sizes))
    return tuple(out)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Variable:
    """``log(1 + exp(beta * x)) / beta`` (x itself past ``threshold``), as ``F.softplus``."""
    from gradviz.autograd.functional import softplus as function

    return function(as_variable(input, "softplus"), beta, threshold)


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
    "lgamma",
    "digamma",
    "mvlgamma",
    "igamma",
    "igammac",
    "sinh",
    "cosh",
    "asin",
    "acos",
    "atan",
    "tan",
    "asinh",
    "acosh",
    "atanh",
    "atan2",
    "hypot",
    "fmod",
    "remainder",
    "nan_to_num",
    "logit",
    "dot",
    "mv",
    "mul",
    "div",
    "flip",
    "roll",
    "narrow",
    "repeat_interleave",
    "cumprod",
    "median",
    "masked_select",
    "argsort",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
)

#: PyTorch's other names of mirrored functions (``arcsin`` for ``asin`` ...)
ALIASES = ("arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh")

#: every public function of this module, for the top-level namespaces
NAMES = (
    *MIRRORED,
    *ALIASES,
    "polygamma",
    "tile",
    "broadcast_to",
    "hstack",
    "vstack",
    "meshgrid",
    "softplus",
)
