"""gradviz: a NumPy deep-learning framework with PyTorch's names, built to be seen.

``gradviz.autograd`` holds the engine, ``nn``, ``optim`` and ``data``; the top level re-exports
them under PyTorch's names.
"""

import sys

from gradviz.autograd import (
    BackwardError,
    Function,
    GradcheckError,
    GradvizError,
    OperandError,
    ShapeError,
    Variable,
    cat,
    concatenate,
    data,
    enable_grad,
    functional,
    get_default_dtype,
    gradcheck,
    is_grad_enabled,
    manual_seed,
    nn,
    no_grad,
    optim,
    set_default_dtype,
    set_grad_enabled,
    stack,
)
from gradviz.autograd.nn import Parameter

# `import gradviz.nn`, `from gradviz.nn import functional as F`, `import gradviz.optim` all work.
for _name, _module in {
    "nn": nn,
    "nn.functional": functional,
    "optim": optim,
    "data": data,
    "functional": functional,
}.items():
    sys.modules[f"{__name__}.{_name}"] = _module

__version__ = "0.1.0"

__all__ = [
    "BackwardError",
    "Function",
    "GradcheckError",
    "GradvizError",
    "OperandError",
    "Parameter",
    "ShapeError",
    "Variable",
    "__version__",
    "cat",
    "concatenate",
    "data",
    "enable_grad",
    "functional",
    "get_default_dtype",
    "gradcheck",
    "is_grad_enabled",
    "manual_seed",
    "nn",
    "no_grad",
    "optim",
    "set_default_dtype",
    "set_grad_enabled",
    "stack",
]
