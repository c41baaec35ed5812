"""The autograd engine, with ``nn``, ``optim`` and ``data``. Knows nothing about drawing."""

# ``variable`` first: it loads engine, ops and inplace at its end, once Variable exists.
from gradviz.autograd import variable  # noqa: F401, I001
from gradviz.autograd import functional, hooks
from gradviz.autograd.creation import (
    arange,
    full,
    ones,
    ones_like,
    rand,
    randn,
    zeros,
    zeros_like,
)
from gradviz.autograd.errors import (
    ArgumentError,
    BackwardError,
    GradcheckError,
    GradvizError,
    InplaceError,
    IndexRangeError,
    InputError,
    OperandError,
    RegistrationError,
    ShapeError,
)
from gradviz.autograd.function import Function
from gradviz.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from gradviz.autograd.gradcheck import gradcheck
from gradviz.autograd.ops import concatenate, stack
from gradviz.autograd.rng import manual_seed
from gradviz.autograd.variable import Variable, get_default_dtype, set_default_dtype

cat = concatenate

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
    "RegistrationError",
    "ShapeError",
    "Variable",
    "arange",
    "cat",
    "concatenate",
    "enable_grad",
    "full",
    "functional",
    "get_default_dtype",
    "gradcheck",
    "hooks",
    "is_grad_enabled",
    "manual_seed",
    "no_grad",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "set_default_dtype",
    "set_grad_enabled",
    "stack",
    "zeros",
    "zeros_like",
]
