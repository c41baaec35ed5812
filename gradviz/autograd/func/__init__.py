"""PyTorch's ``torch.func`` (also ``gradviz.func``): function transforms over Variables.

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` and ``hessian`` take
derivatives of functions (built on ``gradviz.autograd.grad``); ``vmap`` maps a function over a
dimension (a loop here, one call per example); ``functional_call`` runs a module with other
tensors as its parameters and ``stack_module_state`` stacks several models' parameters. They
compose as PyTorch's do: ``vmap(grad(loss), in_dims=(None, None, 0, 0))`` gives per-sample
gradients.
"""

from gradviz.autograd.func.stateless import functional_call, stack_module_state
from gradviz.autograd.func.transforms import (
    grad,
    grad_and_value,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    vjp,
)
from gradviz.autograd.func.vmapping import vmap

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "stack_module_state",
    "vjp",
    "vmap",
]
