"""Gradients as graphs: the backward pass of ``create_graph=True`` (PyTorch's higher-order
gradients), a loop of its own beside the engine's NumPy one, which it leaves untouched.

An op that supports it has a second rule beside its ``backward``: a staticmethod
``backward_graph(ctx, grad, out)`` written with Variable ops on the op's inputs (``ctx.inputs``)
and its output ``out``, so the gradient it returns is itself recorded (its ops appear in graphs
as any others) and can be differentiated again. This pass runs those rules in the engine's
order (by Variable id, newest first: every consumer's share is in before a Variable's turn),
with grad mode on; shares are added and un-broadcast by recorded ops; a leaf's ``.grad`` is a
Variable that carries its graph (``x.grad.grad_fn`` is not None), as in PyTorch.

Everything is checked before anything changes: an op without a graph rule on the way to the
inputs raises naming it, and no ``.grad`` is written until the pass is over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from heapq import heappop, heappush
from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.engine import _GRAD_HOOKS, _check_node
from gradviz.autograd.errors import BackwardError, ShapeError
from gradviz.autograd.function import Function
from gradviz.autograd.grad_mode import enable_grad
from gradviz.autograd.inplace import bump
from gradviz.autograd.variable import Variable, as_array, from_op

__all__ = ["backward", "grad", "graph_rule", "supported_ops"]


def graph_rule(op: type) -> Callable[..., Any] | None:
    """The graph rule of op class ``op``: a ``backward_graph`` it defines itself, or None (one
    inherited does not count: a subclass, an in-place op say, may change what backward does)."""
    rule = op.__dict__.get("backward_graph")
    return rule.__func__ if isinstance(rule, staticmethod) else rule


def supported_ops() -> list[str]:
    """The names of the built-in ops that ``create_graph=True`` can differentiate through."""
    found, stack = set(), [Function]
    while stack:
        op = stack.pop()
        stack.extend(op.__subclasses__())
        if op.__module__.startswith("gradviz.") and graph_rule(op) is not None:
            found.add(op.__name__)
    return sorted(found)


def backward(
    roots: list[Variable], weights: list[Any], inputs: list[Variable] | None, retain_graph: bool
) -> None:
    """``backward(create_graph=True)`` of ``roots``: each leaf's gradient (or each of
    ``inputs``', leaf or not) added to its ``.grad`` as a Variable with its graph."""
    if inputs is None:

        def wanted(v: Variable) -> bool:
            return v._node is None or v._retains_grad
    else:
        chosen = {x._id for x in inputs}

        def wanted(v: Variable) -> bool:
            return v._id in chosen

    found = _run(roots, weights, wanted, retain_graph)
    with enable_grad():  # (the copy into .grad is recorded under no_grad too, as PyTorch's)
        for variable, g in found.values():
            _accumulate(variable, g)


def grad(
    outputs: list[Variable], weights: list[Any], inputs: list[Variable], retain_graph: bool
) -> list[Variable | None]:
    """``grad(outputs, inputs, weights, create_graph=True)``: each input's gradient, a
    Variable with its graph (None for an input the outputs do not reach); no ``.grad`` is
    touched."""
    chosen = {x._id for x in inputs}
    found = _run(outputs, weights, lambda v: v._id in chosen, retain_graph)
    return [found[x._id][1] if x._id in found else None for x in inputs]


def _run(
    roots: list[Variable],
    weights: list[Any],
    wanted: Callable[[Variable], bool],
    retain_graph: bool,
) -> dict[int, tuple[Variable, Variable]]:
    """The pass: the complete gradient of every wanted Variable the roots reach, by id."""
    for i, root in enumerate(roots):
        if not root.requires_grad:
            raise BackwardError(
                f"element {i} of tensors does not require grad and does not have a grad_fn: "
                "this Variable was not computed from anything with requires_grad=True "
                "(or it was computed under no_grad)"
            )
    starts = [(root, _root_grad(root, w)) for root, w in zip(roots, weights, strict=True)]
    relevant = _plan(roots, wanted)
    for hook in hooks.ACTIVE:
        hook.create_graph(tuple(roots))
    shares: dict[int, Variable] = {}
    heap: list[tuple[int, Variable]] = []
    found: dict[int, tuple[Variable, Variable]] = {}
    with enable_grad(), np.errstate(all="ignore"):
        for root, g in starts:
            if root._id in relevant:
                _add(shares, heap, root, g)
        while heap:
            variable = heappop(heap)[1]
            g = _hooked(variable, shares.pop(variable._id))
            if wanted(variable):
                found[variable._id] = (variable, g)
            node = variable._node
            if node is None:
                continue
            listening = hooks.ACTIVE  # (the ops of the rule, for the tracer)
            for hook in listening:
                hook.rule_begin(node, variable)
            try:
                given = list(_shares(node, variable, g, relevant))
            finally:
                for hook in listening:
                    hook.rule_end(node)
            for arg, share in given:
                _add(shares, heap, arg, share)
            if not retain_graph:
                node.saved_tensors = None
    return found


def _add(shares: dict[int, Variable], heap: list, variable: Variable, share: Variable) -> None:
    """Add ``share`` to what ``variable`` has so far (a recorded Add), or queue it."""
    key = variable._id
    if key in shares:
        shares[key] = shares[key] + share
    else:
        shares[key] = share
        heappush(heap, (-key, variable))


def _plan(roots: list[Variable], wanted: Callable[[Variable], bool]) -> set[int]:
    """The ids of the Variables from which a wanted one is reached (the only ones given a
    gradient), checking every node on the way: a graph rule, saved arrays still there, inputs
    not written in place since."""
    seen: dict[int, Variable] = {}
    stack = list(roots)
    while stack:
        v = stack.pop()
        if v._id in seen:
            continue
        seen[v._id] = v
        if v._node is not None:
            _check_node(v._node, v)  # (may point the node at inputs as they were then)
            stack.extend(p for p in v._node.parents if p.requires_grad)
    relevant: set[int] = set()
    missing: dict[str, None] = {}
    for v in sorted(seen.values(), key=lambda v: v._id):  # inputs before what uses them
        node = v._node
        if not (wanted(v) or (node and any(p._id in relevant for p in node.parents))):
            continue
        relevant.add(v._id)
        if node is not None:
            if graph_rule(type(node)) is None:
                missing[type(node).__name__] = None
            _check_unwritten(node, v)
    if "BackwardHookFunction" in missing:
        raise BackwardError(
            "second derivatives (create_graph=True) through a module with backward hooks "
            "(register_full_backward_hook or register_full_backward_pre_hook) are not "
            "supported: remove those hooks (handle.remove()) for this pass, or read the "
            "gradients with Variable.register_hook on the module's output instead"
        )
    if missing:
        names = ", ".join(missing)
        raise BackwardError(
            f"second derivatives (create_graph=True) through {names} are not supported; "
            f"supported ops: {', '.join(supported_ops())}"
        )
    return relevant


def _check_unwritten(node: Function, out: Variable) -> None:
    """A graph rule reads the op's inputs and output as they are now: refuse when one it
    reads was written in place after the op ran. An op may say what its rule reads:
    ``_rule_reads = "inputs"`` (not the output), or ``""`` (only the gradient and constants,
    as ``add_``'s and ``x[i] = v``'s); by default, both."""
    reads = getattr(node, "_rule_reads", "inputs and output")
    looked_at = (*node.parents, out) if reads == "inputs and output" else node.parents
    for v in looked_at if reads else ():
        vc = v._vc
        if vc is not None and vc.written > out._id and np.may_share_memory(v._data, vc.array):
            raise BackwardError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{v.dtype} {tuple(v.shape)}], used by "
                f"{type(node).__name__}, was written (by {vc.last_op}) after it ran; "
                "create_graph=True reads it again. Write into a copy until backward has run"
            )


def _shares(
    node: Function, out: Variable, g: Variable, relevant: set[int]
) -> Iterator[tuple[Variable, Variable]]:
    """Run ``node``'s graph rule; each input's share, in its shape and dtype. The rule sees
    ``ctx.needs_input_grad`` true only for inputs that lead somewhere wanted."""
    inputs, needs = node.inputs, node.needs_input_grad
    asked = tuple(
        bool(n) and isinstance(a, Variable) and a._id in relevant
        for a, n in zip(inputs, needs, strict=False)
    )
    node.needs_input_grad = asked
    try:
        grads = graph_rule(type(node))(node, g, out)
    finally:
        node.needs_input_grad = needs
    if not isinstance(grads, tuple | list):
        grads = (grads,)
    for index, (arg, share) in enumerate(zip(inputs, grads, strict=False)):
        if share is not None and index < len(asked) and asked[index]:
            yield arg, _conform(share, arg, node, index)


def _conform(share: Any, arg: Variable, node: Function, index: int) -> Variable:
    """A rule's gradient for input ``index`` as a Variable of the input's shape (summed over
    the broadcast axes by recorded ops) and dtype."""
    if not isinstance(share, Variable):
        share = from_op(np.asarray(share), None)  # a constant
    shape = arg.shape
    if share.shape != shape:
        extra = share.ndim - len(shape)
        if extra < 0 or any(
            n != 1 and n != m for n, m in zip(shape, share.shape[extra:], strict=True)
        ):
            raise ShapeError(
                f"{type(node).__name__}.backward_graph returned a gradient of shape "
                f"{share.shape} for input {index} of shape {shape}; it must have the input's "
                "shape or broadcast to it"
            )
        axes = tuple(range(extra)) + tuple(
            extra + i for i, n in enumerate(shape) if n == 1 and share.shape[extra + i] != 1
        )
        if axes:
            share = share.sum(dim=axes, keepdim=True)
        share = share.reshape(shape)
    if share.dtype != arg.dtype:
        share = share.to(arg.dtype)
    return share


def _root_grad(root: Variable, weight: Any) -> Variable:
    """The gradient the pass starts from: ones for a scalar, else ``weight`` (a Variable,
    which may carry a graph of its own, or an array) of the root's shape."""
    if weight is None:
        if root._data.size != 1:
            raise BackwardError(
                f"grad can be implicitly created only for scalar outputs (this one has shape "
                f"{root.shape}); pass grad= with the same shape, or reduce it first, e.g. .sum()"
            )
        seed = from_op(np.ones(root.shape, dtype=root.dtype), None)
        seed.name = "grad_output"  # (what a trace labels the 1 the gradient starts from)
        return seed
    g = weight if isinstance(weight, Variable) else from_op(np.array(as_array(weight)), None)
    if g.shape != root.shape:
        raise ShapeError(f"grad has shape {g.shape} but the output has shape {root.shape}")
    return g if g.dtype == root.dtype else g.to(root.dtype)


def _hooked(variable: Variable, g: Variable) -> Variable:
    """``g`` through the hooks registered on ``variable`` (``register_hook``), in order; each
    gets the gradient Variable, graph and all, and may return a replacement."""
    ref = _GRAD_HOOKS.get(variable._id)
    hooks_of = None if ref is None else ref()
    for hook in list(hooks_of.values()) if hooks_of else ():  # (a module's backward hooks
        result = hook(g)  # come with BackwardHookFunction: refused by _plan)
        if result is not None:
            new = result if isinstance(result, Variable) else from_op(as_array(result), None)
            if new.shape != g.shape:
                raise BackwardError(
                    f"hook '{getattr(hook, '__name__', type(hook).__name__)}' has changed the "
                    f"size of value: the gradient has shape {g.shape}, the hook returned shape "
                    f"{new.shape}"
                )
            g = new
    return g


def _accumulate(variable: Variable, g: Variable) -> None:
    """Add ``g`` to ``variable.grad`` as PyTorch's AccumulateGrad does with a graph: a copy
    the first time (a recorded ``clone``), then ``grad + g`` (a new Variable, not in place)."""
    held = variable.grad if variable._grad is not None else None
    if held is None:
        total = g.clone() if g.requires_grad else from_op(g._data.copy(), None)
    elif held.shape != g.shape:
        raise ShapeError(
            f"cannot add a gradient of shape {g.shape} into .grad of shape {held.shape} "
            "(the Variable's data was given another shape since .grad was set)"
        )
    else:
        total = held + g
    variable._grad = total._data  # (a new array: the optimizers read and write it)
    variable._grad_seen = _Held(total)


class _Held:
    """What ``.grad`` hands out, held strongly (it holds the given-out Variable weakly
    otherwise): a gradient with a graph lives as long as the ``.grad`` array it wraps."""

    __slots__ = ("variable",)

    def __init__(self, variable: Variable) -> None:
        self.variable = variable

    def __call__(self) -> Variable:
        return self.variable


def reset_grad(param: Variable, set_to_none: bool) -> None:
    """``zero_grad`` of one parameter: its ``.grad`` to None, or zeroed in place. A gradient
    with a graph (``create_graph=True``) zeroed in place counts as written, so a graph that
    reads it refuses to run backward (PyTorch's ``detach_`` then ``zero_``)."""
    seen = getattr(param, "_grad_seen", None)  # (unset until .grad is first read)
    held = seen() if seen is not None else None
    param._grad_seen = None  # (a gradient with a graph: let go)
    if set_to_none or param._grad is None:
        param._grad = None
        return
    if held is not None and held.requires_grad and held._data is param._grad:
        bump(held, "zero_grad(set_to_none=False)")
    param._grad.fill(0)  # in place, as PyTorch's grad.zero_()
