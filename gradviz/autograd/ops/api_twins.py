"""Top-level twins of Variable methods PyTorch also has as functions, the in-place ones
(``gradviz.relu_(x)``, ``gradviz.sin_(x)`` ...) and ``detach_``, ``get_device``: each is
``input.name(...)``, as PyTorch's are (``gradviz.log10``, ``clone``, ``t`` ... are in
``api_alias``)."""

from __future__ import annotations

from gradviz.autograd.ops.api import _mirror

_DOCS = {
    "detach_": "input cut from the graph, in place.",
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
