"""Top-level twins of Variable methods PyTorch also has as functions (``gradviz.log10(x)``,
``gradviz.clone(x)``, ``gradviz.t(x)``, ``gradviz.divide(a, b)``, ``gradviz.relu_(x)`` ...):
each is ``input.name(...)``, as PyTorch's are."""

from __future__ import annotations

from gradviz.autograd.ops.api import _mirror

_DOCS = {
    "log10": "The base-10 logarithm.",
    "log2": "The base-2 logarithm.",
    "clone": "A copy that keeps the graph (the gradient flows back to input).",
    "detach": "The same values, cut from the graph.",
    "detach_": "input cut from the graph, in place.",
    "t": "The transpose of a matrix (a 0-d or 1-d input as it is).",
    "negative": "-x (``neg``).",
    "divide": "input / other (``div``), rounded with rounding_mode.",
    "multiply": "input * other (``mul``).",
    "arccos": "Inverse cosine (``acos``).",
    "arcsin": "Inverse sine (``asin``).",
    "arctan": "Inverse tangent (``atan``).",
    "arctan2": "The angle of the point (other, input) (``atan2``).",
    "fix": "Each element rounded toward zero (``trunc``).",
    "get_device": "The device index: -1, the CPU's.",
    "abs_": "|x|, in place.",
    "clamp_": "x clamped into [min, max], in place.",
    "clip_": "x clamped into [min, max], in place (``clamp_``).",
    "exp_": "exp(x), in place.",
    "log_": "log(x), in place.",
    "neg_": "-x, in place.",
    "relu_": "max(x, 0), in place.",
    "sigmoid_": "The logistic sigmoid, in place.",
    "sqrt_": "sqrt(x), in place.",
    "tanh_": "tanh(x), in place.",
    "fill_": "Every element set to value, in place.",
    "zero_": "Every element set to 0, in place.",
}

#: in-place forms PyTorch also has at the top (``torch.sin_(x)``)
_INPLACE = (
    "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_",
    "asin_", "asinh_", "atan_", "atanh_", "cos_", "cosh_", "erf_", "erfc_", "expm1_", "i0_",
    "log1p_", "negative_", "reciprocal_", "rsqrt_", "sin_", "sinc_", "sinh_", "tan_",
    "floor_", "ceil_", "trunc_", "fix_", "frac_", "exp2_", "clamp_min_", "clamp_max_",
    "deg2rad_", "rad2deg_", "square_", "ldexp_", "round_",
)  # fmt: skip
_DOCS.update({name: f"``{name[:-1]}``, in place." for name in _INPLACE})

globals().update({name: _mirror(name, doc) for name, doc in _DOCS.items()})

#: the names this module adds to the top-level package
NAMES = list(_DOCS)
