"""gradviz: a NumPy deep-learning framework with PyTorch's names, built to be seen.

``gradviz.autograd`` holds the engine, ``nn``, ``optim`` and ``data``; the top level re-exports
them under PyTorch's names.
"""

import sys
import types

from gradviz._version import __version__
from gradviz.autograd import (
    ArgumentError,
    BackwardError,
    Function,
    GradcheckError,
    GradvizError,
    IndexRangeError,
    InplaceError,
    InputError,
    OperandError,
    RegistrationError,
    ShapeError,
    Variable,
    amax,
    amin,
    arange,
    argmax,
    argmin,
    cat,
    chunk,
    clamp,
    clip,
    concatenate,
    cos,
    cumsum,
    data,
    einsum,
    enable_grad,
    exp,
    flatten,
    full,
    functional,
    gather,
    get_default_dtype,
    gradcheck,
    is_grad_enabled,
    log,
    log_softmax,
    logsumexp,
    manual_seed,
    masked_fill,
    matmul,
    maximum,
    mean,
    minimum,
    multinomial,
    nn,
    no_grad,
    norm,
    ones,
    ones_like,
    optim,
    permute,
    rand,
    randint,
    randn,
    randperm,
    relu,
    reshape,
    set_default_dtype,
    set_grad_enabled,
    sigmoid,
    sin,
    softmax,
    sort,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    tanh,
    tensor,
    topk,
    transpose,
    tril,
    triu,
    unsqueeze,
    var,
    where,
    zeros,
    zeros_like,
)
from gradviz.autograd import dtypes as _dtypes
from gradviz.autograd.nn import Parameter
from gradviz.autograd.ops import api as _api
from gradviz.autograd.serialization import SaveFormatError, load, save

# Kept out of __all__, so `from gradviz import *` leaves Python's builtins of these names alone.
abs, max, min, pow, sum = _api.abs, _api.max, _api.min, _api.pow, _api.sum
# PyTorch's dtype names (`gradviz.float32`, `gradviz.long` ...), also kept out of __all__.
globals().update({_name: getattr(_dtypes, _name) for _name in _dtypes.NAMES})

# `from gradviz.utils.data import DataLoader` as PyTorch's `torch.utils.data`.
utils = types.ModuleType(f"{__name__}.utils", "PyTorch's `torch.utils`: `utils.data`.")
utils.data = data  # type: ignore[attr-defined]

# `import gradviz.nn`, `from gradviz.nn import functional as F`, `import gradviz.optim`,
# `from gradviz.optim import lr_scheduler` all work.
for _name, _module in {
    "nn": nn,
    "nn.functional": functional,
    "nn.utils": nn.utils,
    "optim": optim,
    "optim.lr_scheduler": optim.lr_scheduler,
    "data": data,
    "utils": utils,
    "utils.data": data,
    "functional": functional,
}.items():
    sys.modules[f"{__name__}.{_name}"] = _module

_VIZ_NAMES = {
    "trace": "gradviz.viz",
    "load_trace": "gradviz.viz",
    "Trace": "gradviz.viz",
    "render": "gradviz.viz",
    "diff": "gradviz.viz",
    "DiffReport": "gradviz.viz",
    "detect_anomaly": "gradviz.viz.diagnose",
}


def __getattr__(name: str) -> object:
    """Import the visualizer only when one of its names is used (the engine stays viz-free)."""
    if name in _VIZ_NAMES:
        import importlib

        return getattr(importlib.import_module(_VIZ_NAMES[name]), name)
    raise AttributeError(f"module 'gradviz' has no attribute {name!r}")


__all__ = [
    "ArgumentError",
    "BackwardError",
    "Function",
    "GradcheckError",
    "GradvizError",
    "IndexRangeError",
    "InplaceError",
    "InputError",
    "OperandError",
    "Parameter",
    "RegistrationError",
    "SaveFormatError",
    "ShapeError",
    "Variable",
    "__version__",
    "amax",
    "amin",
    "arange",
    "argmax",
    "argmin",
    "cat",
    "chunk",
    "clamp",
    "clip",
    "concatenate",
    "cos",
    "cumsum",
    "data",
    "einsum",
    "enable_grad",
    "exp",
    "flatten",
    "full",
    "functional",
    "gather",
    "get_default_dtype",
    "gradcheck",
    "is_grad_enabled",
    "load",
    "log",
    "log_softmax",
    "logsumexp",
    "manual_seed",
    "masked_fill",
    "matmul",
    "maximum",
    "mean",
    "minimum",
    "multinomial",
    "nn",
    "no_grad",
    "norm",
    "ones",
    "ones_like",
    "optim",
    "permute",
    "rand",
    "randint",
    "randn",
    "randperm",
    "relu",
    "reshape",
    "save",
    "set_default_dtype",
    "set_grad_enabled",
    "sigmoid",
    "sin",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "tanh",
    "tensor",
    "topk",
    "transpose",
    "tril",
    "triu",
    "unsqueeze",
    "var",
    "where",
    "zeros",
    "zeros_like",
]
