"""Top-level functions that mirror Variable methods, as PyTorch's ``torch.exp(x)`` mirrors
``x.exp()``: ``gradviz.exp``, ``gradviz.where``, ``gradviz.einsum`` ...

Each takes its input first (a Variable, an array or numbers) and calls the method of that name;
the math stays in the op classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError, OperandError, ShapeError
from gradviz.autograd.variable import Variable


def as_variable(x: Any, op: str) -> Variable:
    """``x`` as a Variable (arrays and numbers become one); anything else names ``op``."""
    if isinstance(x, Variable):
        return x
    try:
        return Variable(x)
    except OperandError:
        raise OperandError(
            f"{op}(): argument 'input' (position 1) must be a Variable, a NumPy array or "
            f"numbers, not {type(x).__name__}"
        ) from None


def _mirror(name: str, doc: str) -> Callable[..., Any]:
    """``name(input, *args, **kwargs)``: ``input.name(*args, **kwargs)``."""

    def function(input: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(as_variable(input, name), name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{doc} Same as ``input.{name}(...)``."
    function.__module__ = "gradviz"
    return function


def matmul(input: Any, other: Any) -> Variable:
    """Matrix product with NumPy's broadcasting rules (``input @ other``)."""
    return as_variable(input, "matmul") @ other


def mm(input: Any, mat2: Any) -> Variable:
    """Product of two matrices (2-d only, as ``torch.mm``)."""
    return _checked_product("mm", 2, input, mat2)


def bmm(input: Any, mat2: Any) -> Variable:
    """Batched product of (b, n, m) and (b, m, p) (3-d only, as ``torch.bmm``)."""
    return _checked_product("bmm", 3, input, mat2)


def _checked_product(op: str, ndim: int, input: Any, mat2: Any) -> Variable:
    a, b = as_variable(input, op), as_variable(mat2, op)
    if a.ndim != ndim or b.ndim != ndim:
        raise ShapeError(f"{op}(): expected {ndim}-d operands, got shapes {a.shape} and {b.shape}")
    if ndim == 3 and a.shape[0] != b.shape[0]:
        raise ShapeError(f"{op}(): batch sizes differ: {a.shape} and {b.shape}")
    return a @ b


def numel(input: Variable) -> int:
    """Number of elements of ``input``."""
    return as_variable(input, "numel").numel()


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a Variable (gradviz's tensor)."""
    return isinstance(obj, Variable)


def allclose(
    input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """Whether ``|input - other| <= atol + rtol * |other|`` everywhere (broadcast)."""
    a, b = as_variable(input, "allclose"), as_variable(other, "allclose")
    if a.dtype != b.dtype:  # PyTorch compares one dtype only
        raise InputError(f"allclose(): {b.dtype} did not match {a.dtype}")
    return bool(np.allclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


exp = _mirror("exp", "Elementwise e**x.")
log = _mirror("log", "Elementwise natural logarithm.")
sqrt = _mirror("sqrt", "Elementwise square root.")
abs = _mirror("abs", "Elementwise absolute value (gradient 0 at 0, as in PyTorch).")
sin = _mirror("sin", "Elementwise sine.")
cos = _mirror("cos", "Elementwise cosine.")
tanh = _mirror("tanh", "Elementwise hyperbolic tangent.")
sigmoid = _mirror("sigmoid", "1 / (1 + exp(-x)), stable for large |x|.")
relu = _mirror("relu", "max(x, 0) (gradient 0 at 0, as in PyTorch).")
square = _mirror("square", "x ** 2.")
clamp = _mirror("clamp", "Values clamped into [min, max].")
clip = _mirror("clip", "Values clamped into [min, max] (an alias of clamp).")
pow = _mirror("pow", "input ** exponent.")
max = _mirror("max", "Largest value, or (values, indices) along dim.")
min = _mirror("min", "Smallest value, or (values, indices) along dim.")
sum = _mirror("sum", "Sum over dim (every axis when None).")
mean = _mirror("mean", "Mean over dim (every axis when None).")
amax = _mirror("amax", "Largest values over dim (ties share the gradient).")
amin = _mirror("amin", "Smallest values over dim (ties share the gradient).")
argmax = _mirror("argmax", "Indices of the largest values (int64).")
argmin = _mirror("argmin", "Indices of the smallest values (int64).")
logsumexp = _mirror("logsumexp", "log(sum(exp(x))) over dim, computed stably.")
var = _mirror("var", "Variance over dim (correction=1 by default).")
std = _mirror("std", "Standard deviation over dim (correction=1 by default).")
norm = _mirror("norm", "Vector p-norm over dim (p=2 by default).")
cumsum = _mirror("cumsum", "Running sums along dim.")
tril = _mirror("tril", "Lower triangle of the last two axes.")
triu = _mirror("triu", "Upper triangle of the last two axes.")
softmax = _mirror("softmax", "exp(x) normalised along dim.")
log_softmax = _mirror("log_softmax", "log(softmax(x)) along dim, computed stably.")
reshape = _mirror("reshape", "Same data, new shape.")
flatten = _mirror("flatten", "Axes start_dim..end_dim merged into one.")
transpose = _mirror("transpose", "Two axes swapped.")
permute = _mirror("permute", "Axes reordered.")
squeeze = _mirror("squeeze", "Size-1 axes dropped.")
unsqueeze = _mirror("unsqueeze", "A size-1 axis inserted.")
split = _mirror("split", "Pieces along dim (a tuple of Variables).")
chunk = _mirror("chunk", "At most chunks equal pieces along dim (a tuple of Variables).")
index_select = _mirror("index_select", "The entries at a 1-d integer index along dim.")
unbind = _mirror("unbind", "The slices along dim, that dim removed (a tuple of Variables).")
gather = _mirror("gather", "Values along dim at an int64 index.")
sort = _mirror("sort", "(values, indices) of the values along dim in order.")
topk = _mirror("topk", "(values, indices) of the k largest (or smallest) values along dim.")
masked_fill = _mirror("masked_fill", "value where mask is true, input elsewhere.")
maximum = _mirror("maximum", "Elementwise larger value (ties split the gradient 0.5/0.5).")
minimum = _mirror("minimum", "Elementwise smaller value (ties split the gradient 0.5/0.5).")
eq = _mirror("eq", "input == other elementwise (a bool Variable).")
ne = _mirror("ne", "input != other elementwise (a bool Variable).")
lt = _mirror("lt", "input < other elementwise (a bool Variable).")
le = _mirror("le", "input <= other elementwise (a bool Variable).")
gt = _mirror("gt", "input > other elementwise (a bool Variable).")
ge = _mirror("ge", "input >= other elementwise (a bool Variable).")
isnan = _mirror("isnan", "True where the value is NaN.")
isinf = _mirror("isinf", "True where the value is infinite.")
isfinite = _mirror("isfinite", "True where the value is neither NaN nor infinite.")
all = _mirror("all", "Whether every element (along dim) is nonzero.")
any = _mirror("any", "Whether some element (along dim) is nonzero.")
prod = _mirror("prod", "Product over dim (every element when None).")
sign = _mirror("sign", "-1, 0 or 1 by the sign (zero gradient).")
round = _mirror("round", "Round half to even at decimals digits (zero gradient).")
count_nonzero = _mirror("count_nonzero", "Number of nonzero elements over dim (int64).")
diag = _mirror("diag", "1-d: a diagonal matrix; 2-d: the diagonal.")
outer = _mirror("outer", "Outer product of two 1-d inputs.")
lerp = _mirror("lerp", "input + weight * (end - input).")
add = _mirror("add", "input + alpha * other.")
sub = _mirror("sub", "input - alpha * other.")
bincount = _mirror("bincount", "Counts (or summed weights) of each value of a 1-d int input.")
unique = _mirror("unique", "The distinct values, with inverse indices and counts if asked.")
nonzero = _mirror("nonzero", "Indices of the nonzero elements (int64).")


def equal(input: Any, other: Any) -> bool:
    """Whether ``input`` and ``other`` have the same shape and values (``torch.equal``)."""
    from gradviz.autograd.ops.counting import equal as same

    return same(as_variable(input, "equal"), as_variable(other, "equal"))


#: every mirrored function, by name (``abs``, ``sum``, ``max``, ``min``, ``pow``, ``all``,
#: ``any`` and ``round`` stay out of ``gradviz.__all__``, so ``from gradviz import *`` keeps
#: the builtins)
BUILTIN_NAMES = frozenset({"abs", "sum", "max", "min", "pow", "all", "any", "round"})
MIRRORED = (
    "pow",
    "max",
    "min",
    "exp",
    "log",
    "sqrt",
    "abs",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "square",
    "clamp",
    "clip",
    "sum",
    "mean",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "logsumexp",
    "var",
    "std",
    "norm",
    "cumsum",
    "tril",
    "triu",
    "softmax",
    "log_softmax",
    "reshape",
    "flatten",
    "transpose",
    "permute",
    "squeeze",
    "unsqueeze",
    "split",
    "chunk",
    "unbind",
    "index_select",
    "gather",
    "sort",
    "topk",
    "masked_fill",
    "maximum",
    "minimum",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "isnan",
    "isinf",
    "isfinite",
    "all",
    "any",
    "prod",
    "sign",
    "round",
    "count_nonzero",
    "diag",
    "outer",
    "lerp",
    "add",
    "sub",
    "bincount",
    "unique",
    "nonzero",
)
