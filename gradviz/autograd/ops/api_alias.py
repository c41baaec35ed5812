"""Top-level functions that PyTorch also has under another name or as a composition of others
(``gradviz.log2``, ``clone``, ``subtract``, ``greater``, ``concat``, ``empty_like``,
``randint_like``, ``unravel_index``, ``broadcast_shapes``, ``atleast_2d`` ...), as PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import creation
from gradviz.autograd.errors import OperandError, ShapeError
from gradviz.autograd.ops.api import _mirror, as_variable
from gradviz.autograd.ops.shape import concatenate
from gradviz.autograd.torch_types import Size, check_factory
from gradviz.autograd.variable import Variable

#: top-level twins of methods of these names (``gradviz.log2(x)`` is ``x.log2()``)
MIRRORED = (
    *("log2", "log10", "clone", "detach", "t", "multiply", "divide", "subtract"),
    *("negative", "absolute", "fix", "greater", "greater_equal", "less", "less_equal"),
    *("not_equal", "logaddexp", "logaddexp2", "fliplr", "flipud", "diag_embed"),
)
globals().update({name: _mirror(name, f"PyTorch's torch.{name}.") for name in MIRRORED})


def concat(tensors: Any, dim: int = 0) -> Variable:
    """``cat``'s other name: the Variables joined along ``dim``."""
    return concatenate(tensors, dim)


def empty_like(
    input: Any,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    memory_format: Any = None,
) -> Variable:
    """A Variable of ``input``'s shape and dtype (or ``dtype``); zeros here."""
    x = as_variable(input, "empty_like")
    check_factory("empty_like", device, layout, pin_memory, memory_format, ndim=x.ndim, like=True)
    return creation.zeros_like(x, requires_grad, dtype=dtype)


def randint_like(
    input: Any,
    *args: Any,
    dtype: Any = None,
    generator: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    memory_format: Any = None,
) -> Variable:
    """Integers from ``[low, high)`` (``randint_like(x, high)`` or ``(x, low, high)``) in
    ``input``'s shape and dtype (or ``dtype``)."""
    x = as_variable(input, "randint_like")
    check_factory("randint_like", device, layout, pin_memory, memory_format, ndim=x.ndim, like=True)
    out = creation.randint(*args, x.shape, generator=generator)
    return out.to(x.dtype if dtype is None else dtype).requires_grad_(requires_grad)


def unravel_index(indices: Any, shape: Any) -> tuple[Variable, ...]:
    """The coordinates in an array of ``shape`` of each flat index (one int64 Variable per
    dim; a negative or too large index wraps around, as PyTorch's)."""
    flat = as_variable(indices, "unravel_index")._data
    if flat.dtype.kind not in "iu":
        raise OperandError(f"expected 'indices' to be integer dtype, but got {flat.dtype}")
    sizes = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    rest, coords = flat.astype(np.int64), []
    for size in reversed(sizes):
        coords.append(np.remainder(rest, size))
        rest = np.floor_divide(rest, size)
    return tuple(Variable(c) for c in reversed(coords))


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape that ``shapes`` broadcast to (an int is a 1-d shape)."""
    out: tuple[int, ...] = ()
    for index, shape in enumerate(shapes):
        shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
        try:
            out = np.broadcast_shapes(out, shape)
        except ValueError:
            raise ShapeError(
                f"Shape mismatch: objects cannot be broadcast to a single shape: argument "
                f"{index} had {shape}, the others {out}"
            ) from None
    return Size(out)


#: the shape of a Variable of fewer dims, by (dims wanted, dims it has), as PyTorch's
_AT_LEAST = {
    (1, 0): lambda shape: (1,),
    (2, 0): lambda shape: (1, 1),
    (2, 1): lambda shape: (1, *shape),
    (3, 0): lambda shape: (1, 1, 1),
    (3, 1): lambda shape: (1, *shape, 1),
    (3, 2): lambda shape: (*shape, 1),
}


def _at_least(ndim: int, tensors: tuple[Any, ...]) -> Any:
    """Each Variable with dims of 1 added up to ``ndim`` dims; one Variable for one given,
    else a tuple (as for one list or tuple given)."""
    single = len(tensors) == 1 and not isinstance(tensors[0], list | tuple)
    items = tensors[0] if len(tensors) == 1 and not single else tensors
    out = []
    for item in items:
        x = as_variable(item, f"atleast_{ndim}d")
        if x.ndim < ndim:
            x = x.reshape(_AT_LEAST[ndim, x.ndim](x.shape))
        out.append(x)
    return out[0] if single else tuple(out)


def atleast_1d(*tensors: Any) -> Any:
    """Each Variable as at least 1-d."""
    return _at_least(1, tensors)


def atleast_2d(*tensors: Any) -> Any:
    """Each Variable as at least 2-d (a 1-d one as a row)."""
    return _at_least(2, tensors)


def atleast_3d(*tensors: Any) -> Any:
    """Each Variable as at least 3-d (1-d ``(n,)`` as ``(1, n, 1)``, 2-d as ``(m, n, 1)``)."""
    return _at_least(3, tensors)


#: every public function of this module, for the top-level namespaces
NAMES = (
    *MIRRORED,
    *("concat", "empty_like", "randint_like", "unravel_index", "broadcast_shapes"),
    *("atleast_1d", "atleast_2d", "atleast_3d"),
)
