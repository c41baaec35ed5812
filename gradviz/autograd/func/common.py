"""What the function transforms share: picking the differentiated arguments (``argnums``),
giving each a fresh Variable to differentiate with respect to, running backward passes to them,
and telling whether a result must keep its graph (an enclosing transform, or a Variable the
function closed over, will differentiate it again).

A differentiated argument that already requires grad (an enclosing ``grad`` or ``jacrev`` made
it, or the caller did) is passed as ``x.view_as(x)``: still connected to ``x``, so the gradient,
found with ``create_graph=True``, can be differentiated again (``grad(grad(f))``). Any other is
passed as a new leaf of its values, and its results are plain Variables without a graph.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, BackwardError, InputError
from gradviz.autograd.func import pytree
from gradviz.autograd.grad_mode import enable_grad
from gradviz.autograd.grads import _leaves, grad
from gradviz.autograd.variable import Variable, from_op

#: PyTorch's words when a function given to vmap draws random numbers with randomness="error".
RANDOM_ERROR = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
    "of vmap"
)


def check_randomness(randomness: Any) -> None:
    """``randomness`` is one of vmap's three words."""
    if randomness not in ("error", "different", "same"):
        raise InputError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}"
        )


def rng_state() -> tuple[Any, Any]:
    """The default generator and its state, to see whether a call drew random numbers."""
    from gradviz.autograd import rng

    generator = rng.default_generator()
    return generator, generator.bit_generator.state


def check_no_random(before: tuple[Any, Any]) -> None:
    """Raise PyTorch's error if the default generator moved since ``before``."""
    if rng_state() != before:
        raise InputError(RANDOM_ERROR)


def positions(argnums: Any, count: int) -> list[int]:
    """The checked, non-negative positions ``argnums`` (an int or a tuple of ints) names among
    ``count`` positional arguments."""
    if not isinstance(argnums, int | tuple):
        raise InputError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    items = (argnums,) if isinstance(argnums, int) else argnums
    if not items:
        raise InputError("argnums must be non-empty")
    if len(set(items)) != len(items):
        raise InputError(f"argnums elements must be unique, got {argnums}")
    found = []
    for argnum in items:
        if not isinstance(argnum, int):
            raise InputError(f"argnum must be int, got: {type(argnum)}")
        if not -count <= argnum < count:
            raise InputError(f"Got argnum={argnum}, but only {count} positional inputs")
        found.append(argnum % count)
    return found


def prepared(value: Any, outer: bool) -> Variable:
    """The Variable the function gets for differentiated leaf ``value`` (see the module)."""
    if not isinstance(value, Variable):
        raise ArgumentError(f"Thing passed to transform API must be Tensor, got {type(value)}")
    if outer and value.requires_grad:
        return value.view_as(value)
    return value.detach().requires_grad_()


class Differentiated:
    """The arguments of one call with those ``argnums`` names made differentiable: ``args``
    to call with, ``fresh`` (their leaves, in order) and how to nest results like them."""

    def __init__(self, args: tuple[Any, ...], argnums: Any, outer: bool) -> None:
        self.places = positions(argnums, len(args))
        self.single = isinstance(argnums, int)
        chosen = args[self.places[0]] if self.single else tuple(args[i] for i in self.places)
        leaves, self.spec = pytree.flatten(chosen)
        self.fresh = [prepared(leaf, outer) for leaf in leaves]
        new = pytree.unflatten(self.fresh, self.spec)
        replaced = dict(zip(self.places, [new] if self.single else new, strict=True))
        self.args = tuple(replaced.get(i, arg) for i, arg in enumerate(args))

    def nest(self, per_leaf: list[Any]) -> Any:
        """One result per fresh leaf, nested as the differentiated arguments."""
        return pytree.unflatten(per_leaf, self.spec)


def split_aux(output: Any, has_aux: bool, api: str) -> tuple[Any, Any]:
    """``(output, aux)`` of a function called with ``has_aux``; ``(output, None)`` otherwise."""
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise InputError(
            f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    return output


def keeps_graph(outputs: list[Any], fresh: list[Variable], outer: bool) -> bool:
    """Whether results must keep their graph: grad mode was on when the transform was called
    and ``outputs`` reach a Variable that requires grad other than the fresh leaves (an
    argument of an enclosing transform, a parameter the function closed over)."""
    if not outer:
        return False
    mine = {x._id for x in fresh}
    reached = _leaves([o for o in outputs if isinstance(o, Variable) and o.requires_grad])
    return any(leaf._id not in mine for leaf in reached)


def depends(output: Variable, fresh: list[Variable]) -> bool:
    """Whether ``output`` was computed from any of ``fresh``."""
    ids = {x._id for x in fresh}
    seen: set[int] = set()
    stack = [output] if output.requires_grad else []
    while stack:
        v = stack.pop()
        if v._id in ids:
            return True
        if v._id in seen or v._node is None:
            continue
        seen.add(v._id)
        stack.extend(a for a in v._node.inputs if isinstance(a, Variable) and a.requires_grad)
    return False


def zeros(shape: tuple[int, ...], like: Variable) -> Variable:
    """A Variable of zeros of ``shape`` in ``like``'s dtype, without a graph."""
    return from_op(np.zeros(shape, dtype=like._data.dtype), None)


#: How many derivative transforms are running their function now (0: none, the user's call).
_depth = 0


@contextmanager
def running() -> Iterator[None]:
    """Around a transform's call of its function: a transform called inside is nested."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


def outermost() -> bool:
    """Whether no derivative transform encloses the current call."""
    return _depth == 0


def pull(
    outputs: list[Variable],
    weights: list[Any],
    fresh: list[Variable],
    create: bool,
    lenient: bool = False,
) -> list[Variable]:
    """sum_i weights[i] . d outputs[i] / d fresh, one per fresh leaf (zeros where nothing
    reaches it), with a graph when ``create``. Outputs that need no grad add nothing.

    ``lenient`` (no enclosing transform needs the graph; only a Variable the function uses
    requires grad): where an op has no second-derivative rule, the gradients come without a
    graph, and a warning says so, rather than an error."""
    pairs = [(o, w) for o, w in zip(outputs, weights, strict=True) if o.requires_grad]
    if not pairs:
        return [zeros(x.shape, x) for x in fresh]
    try:
        with enable_grad():
            return list(
                grad(
                    [o for o, _ in pairs],
                    fresh,
                    [w for _, w in pairs],
                    retain_graph=True,
                    create_graph=create,
                    allow_unused=True,
                    materialize_grads=True,
                )
            )
    except BackwardError as error:
        if not (create and str(error).startswith("second derivatives")):
            raise
        if not lenient:
            raise BackwardError(f"{error}. {_WHY_GRAPH}") from None
        reason = str(error).partition("; supported ops")[0]
        warnings.warn(
            f"gradviz.func: this derivative has no graph and cannot be differentiated again: "
            f"{reason}. {_WHY_GRAPH}",
            UserWarning,
            stacklevel=4,
        )
        return pull(outputs, weights, fresh, False)


#: Why a transform asked for second derivatives, and how to do without them.
_WHY_GRAPH = (
    "(gradviz.func keeps the graph of a derivative, to be differentiated again, when an "
    "enclosing transform differentiates it or when an argument or a Variable the function "
    "uses requires grad; if the result is not differentiated again, pass such Variables "
    "detached, x.detach(), or call requires_grad_(False) on the parameters it uses)"
)


def detached(value: Any, keep: bool) -> Any:
    """``value`` with each Variable leaf detached, unless ``keep``."""
    if keep:
        return value
    leaves, spec = pytree.flatten(value)
    return pytree.unflatten(
        [leaf.detach() if isinstance(leaf, Variable) else leaf for leaf in leaves], spec
    )


def check_tensor_outputs(flat: list[Any], api: str) -> None:
    """PyTorch's check that a function returned one or more Variables and nothing else."""
    if not flat or (len(flat) == 1 and flat[0] is None):
        raise InputError(
            f"{api}: Expected f to be a function that has non-empty output (got output = {flat})"
        )
    for o in flat:
        if not isinstance(o, Variable):
            raise InputError(
                f"{api}: expected f(*primals) to return only tensors, got unsupported type "
                f"{type(o)}"
            )
