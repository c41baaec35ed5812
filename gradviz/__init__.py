"""gradviz: a NumPy deep-learning framework with PyTorch's names, built to be seen.

``gradviz.autograd`` holds the engine, ``nn``, ``optim`` and ``data``; the top level re-exports
them under PyTorch's names.
"""

import sys

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
    arange,
    cat,
    concatenate,
    data,
    enable_grad,
    full,
    functional,
    get_default_dtype,
    gradcheck,
    is_grad_enabled,
    manual_seed,
    nn,
    no_grad,
    ones,
    ones_like,
    optim,
    rand,
    randn,
    set_default_dtype,
    set_grad_enabled,
    stack,
    zeros,
    zeros_like,
)
from gradviz.autograd.nn import Parameter
from gradviz.autograd.serialization import SaveFormatError, load, save

# `import gradviz.nn`, `from gradviz.nn import functional as F`, `import gradviz.optim`,
# `from gradviz.optim import lr_scheduler` all work.
for _name, _module in {
    "nn": nn,
    "nn.functional": functional,
    "nn.utils": nn.utils,
    "optim": optim,
    "optim.lr_scheduler": optim.lr_scheduler,
    "data": data,
    "functional": functional,
}.items():
    sys.modules[f"{__name__}.{_name}"] = _module

_VIZ_NAMES = {
    "trace": "gradviz.viz",
    "load_trace": "gradviz.viz",
    "Trace": "gradviz.viz",
    "render": "gradviz.viz",
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
    "arange",
    "cat",
    "concatenate",
    "data",
    "enable_grad",
    "full",
    "functional",
    "get_default_dtype",
    "gradcheck",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "randn",
    "save",
    "set_default_dtype",
    "set_grad_enabled",
    "stack",
    "zeros",
    "zeros_like",
]
