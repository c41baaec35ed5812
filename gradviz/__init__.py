"""gradviz: a NumPy deep-learning framework with PyTorch's names, built to be seen.

``gradviz.autograd`` holds the engine, ``nn``, ``optim`` and ``data``; the top level re-exports
them under PyTorch's names.
"""

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
    enable_grad,
    functional,
    get_default_dtype,
    gradcheck,
    is_grad_enabled,
    manual_seed,
    no_grad,
    set_default_dtype,
    set_grad_enabled,
    stack,
)

__version__ = "0.1.0"

__all__ = [
    "BackwardError",
    "Function",
    "GradcheckError",
    "GradvizError",
    "OperandError",
    "ShapeError",
    "Variable",
    "__version__",
    "cat",
    "concatenate",
    "enable_grad",
    "functional",
    "get_default_dtype",
    "gradcheck",
    "is_grad_enabled",
    "manual_seed",
    "no_grad",
    "set_default_dtype",
    "set_grad_enabled",
    "stack",
]
