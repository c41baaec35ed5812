"""The backward engine: the only place backward rules run and gradients are un-broadcast.

Order: a node's rule runs only after every consumer has contributed its gradient: nodes run
from the newest to the oldest, iteratively, so chains of any length work; when hooks listen, a
leaf is stored as soon as its gradient is complete (PyTorch's order, AccumulateGrad first).
Interior gradients live in a dict for the pass and are dropped after it; leaves accumulate into
``.grad`` across calls; non-leaves keep ``.grad`` only after ``retain_grad()``.
"""

from __future__ import annotations

import functools
import itertools
import weakref
from collections.abc import Callable, Iterator, Sequence
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import (
    BackwardError,
    GradvizError,
    OperandError,
    RequiresGradError,
    ShapeError,
)
from gradviz.autograd.scattered import ALONE as _ALONE
from gradviz.autograd.scattered import Scattered
from gradviz.autograd.scattered import refcount as _refcount
from gradviz.autograd.variable import WRITES, Variable, as_array, from_op

#: (a module global: ``np.ndarray`` is a full lookup each time, NumPy's module has ``__getattr__``)
_ndarray = np.ndarray

if TYPE_CHECKING:  # Variable.backward imports this module at load time: no cycle through ops
    from gradviz.autograd.function import Function


def backward(root: Variable, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    if not root.requires_grad:
        raise BackwardError(
            "element 0 of tensors does not require grad and does not have a grad_fn: "
            "this Variable was not computed from anything with requires_grad=True "
            "(or it was computed under no_grad)"
        )
    grad = _root_grad(root, grad)
    active = hooks.ACTIVE
    grad_hooks = _GRAD_HOOKS  # Variable.register_hook's (empty: one test per node)
    post_hooks = _POST_HOOKS  # and the leaves' post-accumulate ones
    fan_in = _begin(active, root, grad)
    # The order, PyTorch's: a Variable's id is larger than the ids of everything it was
    # computed from, so the largest waiting id has every consumer's share. Shares are summed
    # in ``shares`` (keyed by minus the id, as the heap is) until their Variable's turn. When
    # hooks listen (the order is seen), a leaf goes first once its last share is in, as
    # PyTorch runs AccumulateGrad; unseen, leaves simply wait for their id's turn.
    written, rewritten = WRITES.written, WRITES.rewritten  # no write happens during the pass
    heap: list[tuple[int, Variable]] = []
    # The one Variable waiting while the heap is empty (a chain's next node) waits here with
    # its gradient, out of the heap and ``shares`` (a chain takes no entry in either per node);
    # when a second Variable waits, both go to the heap.
    next_up, next_g = root, grad
    shares: dict[int, Any] = {}
    waiting: dict[int, int] = {}  # shares still to come, per leaf (hooks listening)
    tickets = itertools.count(_LEAF_FIRST)  # complete leaves go first, in the order completed
    # NaN and Inf flow through backward silently, as in PyTorch (no NumPy RuntimeWarnings).
    with np.errstate(all="ignore"):
        while True:
            if next_up is not None:
                variable, g, next_up = next_up, next_g, None
            elif heap:
                variable = heappop(heap)[1]
                g = shares.pop(-variable._id)
            else:
                break
            if grad_hooks and variable._id in grad_hooks:
                g = _run_grad_hooks(variable, g, shares)
            if active:
                for hook in active:
                    hook.backward_step(variable, g, fan_in.get(variable._id, 1) > 1)
            node = variable._node
            if node is None:
                accumulate(variable, g)
                if post_hooks and variable._id in post_hooks:
                    _run_post_hooks(variable)
                continue
            if variable._retains_grad:  # a copy, as PyTorch's clone: g flows on from here
                variable._grad = g.copy() if variable._grad is None else variable._grad + g
            if not active and (node.saved_tensors is None or written > variable._id or rewritten):
                _check_node(node, variable)  # freed, or written since (listened: checked already)

            # The rule (inlined: the per-op hot path); each input's share waits for its turn.
            grads = node.backward(node, g)
            if type(grads) is not tuple:
                grads = grads if isinstance(grads, list) else (grads,)
            inputs = node.inputs
            if len(grads) != len(inputs):
                _check_count(node, grads)  # trailing non-Variables may go without
                grads = grads[: len(inputs)]  # (and trailing Nones be extra)
            for i, share in enumerate(grads):  # (zip costs twice as much per node)
                arg = inputs[i]
                if share is None or not isinstance(arg, Variable) or not arg.requires_grad:
                    if active and share is None and isinstance(arg, Variable):
                        _counted(arg, fan_in, waiting, shares, heap, tickets)  # none given
                    continue
                data = arg._data
                if (  # identity tests: _conform decides exactly, and is rarely needed
                    type(share) is not _ndarray
                    or share.shape != data.shape
                    or share.dtype is not data.dtype
                    or (arg._node is None and (share is g or node._may_alias))
                ):
                    if type(share) is Scattered and share.add_into(shares, -arg._id):
                        if active:
                            _counted(arg, fan_in, waiting, shares, heap, tickets)
                        continue
                    share = _conform(share, arg, node, _position(node, arg, share, grads), g)
                key = -arg._id
                if arg is next_up:  # a second share of the one waiting (``h * h``)
                    next_g = np.asarray(next_g + share)  # (0-d arrays add to a NumPy scalar)
                elif key in shares:
                    total = shares[key]  # added into in place when the engine alone holds it
                    if total.base is None and _refcount(total) <= _ALONE and total.flags.writeable:
                        total += share
                    else:
                        shares[key] = total + share
                elif active:  # (next_up unused:) a leaf waits for its count
                    shares[key] = share
                    if arg._node is not None:
                        heappush(heap, (key, arg))
                elif next_up is None and not heap:
                    next_up, next_g = arg, share
                else:
                    if next_up is not None:  # it joins the heap (its share held there alone)
                        shares[-next_up._id], next_g = next_g, None
                        heappush(heap, (-next_up._id, next_up))
                        next_up = None
                    shares[key] = share
                    heappush(heap, (key, arg))
                if active:
                    _counted(arg, fan_in, waiting, shares, heap, tickets)
            if not retain_graph:
                node.saved_tensors = None
                if node._stores_attributes:
                    del node.__dict__  # what forward stored on ctx (making no dict when none)
    for hook in active:
        hook.backward_end(root)


class _Hooks(dict):
    """The hooks of one Variable id, each under its handle, in the order registered. The
    Variable holds them (its ``_hooks``, by id: an in-place op gives it a new one), so a hook
    that refers back to its Variable (a module's method) is collected with it, as PyTorch's."""

    __slots__ = ("__weakref__",)


#: The Variable ids that have hooks (``Variable.register_hook``), each to its hooks, weakly:
#: the engine's one test per node, and how a stand-in (an in-place op's old history, which
#: keeps the id) finds the hooks registered before the write, as in PyTorch.
_GRAD_HOOKS: dict[int, weakref.ref[_Hooks]] = {}
#: The leaf ids with hooks run after their ``.grad`` is accumulated
#: (``Variable.register_post_accumulate_grad_hook``), kept as ``_GRAD_HOOKS``.
_POST_HOOKS: dict[int, weakref.ref[_Hooks]] = {}


def _forget(table: dict[int, Any], key: int, ref: weakref.ref[_Hooks]) -> None:
    """The hooks of the Variable ``key`` are gone with it."""
    if table.get(key) is ref:
        table.pop(key, None)


class HookHandle:
    """What ``Variable.register_hook`` returns: ``remove()`` takes the hook off."""

    def __init__(self, key: int, hooks_of: _Hooks, table: dict[int, Any] = _GRAD_HOOKS):
        self._key, self._table = key, table
        self._hooks = weakref.ref(hooks_of)

    def remove(self) -> None:
        """Take the hook off (again, or after the Variable died: nothing happens)."""
        hooks_of = self._hooks()
        if hooks_of is not None:
            hooks_of.pop(self, None)
            if not hooks_of:
                self._table.pop(self._key, None)


def register_hook(variable: Variable, hook: Callable[[Variable], Any]) -> HookHandle:
    """Call ``hook(grad)``, ``grad`` a Variable on ``variable``'s gradient, each time backward
    computes it, before it flows on (or reaches ``.grad``); a returned Variable or array
    replaces it (PyTorch's ``Tensor.register_hook``)."""
    if not callable(hook):
        raise OperandError(f"register_hook: expected a callable, got {type(hook).__name__}")
    if not variable.requires_grad:
        raise OperandError("cannot register a hook on a Variable that does not require grad")
    return _register(variable, hook, _GRAD_HOOKS, variable._id)


def register_post_accumulate_hook(variable: Variable, hook: Callable[..., Any]) -> HookHandle:
    """Call ``hook(variable)`` each time backward has added into the leaf ``variable``'s
    ``.grad`` (PyTorch's ``Tensor.register_post_accumulate_grad_hook``: an optimizer step
    per parameter inside backward)."""
    if not callable(hook):
        raise OperandError(f"register_hook: expected a callable, got {type(hook).__name__}")
    if not variable.requires_grad:
        raise OperandError("cannot register a hook on a tensor that doesn't require gradient")
    if variable._node is not None:
        raise BackwardError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    return _register(variable, hook, _POST_HOOKS, ("post", variable._id))


def _register(variable: Variable, hook: Any, table: dict[int, Any], slot: Any) -> HookHandle:
    """Put ``hook`` in ``variable``'s own hooks under ``slot`` and its id in ``table``."""
    key = variable._id
    store = getattr(variable, "_hooks", None)
    if store is None:
        store = variable._hooks = {}
    hooks_of = store.get(slot)
    if hooks_of is None:
        hooks_of = store[slot] = _Hooks()
    if key not in table:
        table[key] = weakref.ref(hooks_of, functools.partial(_forget, table, key))
    handle = HookHandle(key, hooks_of, table)
    hooks_of[handle] = hook
    return handle


def _run_post_hooks(leaf: Variable) -> None:
    """The post-accumulate hooks of ``leaf``, in order (each is given the leaf)."""
    hooks_of = _POST_HOOKS[leaf._id]()
    for hook in list(hooks_of.values()) if hooks_of is not None else ():
        hook(leaf)


class GroupHook:
    """A gradient hook that also reads the gradients other Variables hold so far in the pass
    (a module's backward hooks, which see all of its outputs' gradients at once): registered
    with :func:`register_hook`, it is called as ``hook(variable, grad, pending)``, where
    ``pending(other)`` is ``other``'s gradient summed so far, or None when it has none, and
    ``pending.shares`` is the same object for every call of one backward pass."""

    __slots__ = ()

    def __call__(self, variable: Variable, grad: np.ndarray, pending: Pending) -> Any:
        raise NotImplementedError


class Pending:
    """What a :class:`GroupHook` reads the gradients of other Variables with."""

    __slots__ = ("shares",)

    def __init__(self, shares: dict[int, np.ndarray]) -> None:
        self.shares = shares  # keyed by minus the id, as backward keeps them

    def __call__(self, other: Variable) -> np.ndarray | None:
        return self.shares.get(-other._id)


def _run_grad_hooks(variable: Variable, g: np.ndarray, shares: dict[int, np.ndarray]) -> np.ndarray:
    """``variable``'s gradient through its hooks, in order. A leaf's becomes its own copy (a
    hook may have kept or returned an array someone else holds: PyTorch clones it then)."""
    ref = _GRAD_HOOKS.get(variable._id)
    hooks_of = None if ref is None else ref()
    for hook in list(hooks_of.values()) if hooks_of else ():
        if isinstance(hook, GroupHook):
            result = hook(variable, g, Pending(shares))
        else:  # a Variable on the gradient, as PyTorch hands a hook a tensor
            result = hook(from_op(g, None))
            if type(result) is Variable and result._data is g:
                result = g  # handed back as given: unchanged
        if result is not None:
            before, g = g, _hooked(hook, result, g)
            for watcher in hooks.ACTIVE:
                watcher.grad_hook(variable, hook, before, g)
    return g.copy() if variable._node is None and variable._grad is None else g


def _hooked(hook: Callable[[Variable], Any], result: Any, g: np.ndarray) -> np.ndarray:
    """What ``hook`` returned for the gradient ``g``, as the gradient: an array of ``g``'s
    shape and dtype (another float precision is cast back; anything else is refused)."""
    name = getattr(hook, "__name__", type(hook).__name__)
    try:
        new = as_array(result)
    except GradvizError:
        new = None
    if new is None:
        raise BackwardError(
            f"hook '{name}' returned a {type(result).__name__}; expected None or a NumPy array "
            f"of the gradient's shape {g.shape}"
        )
    if new.shape != g.shape:
        raise BackwardError(
            f"hook '{name}' has changed the size of value: the gradient has shape "
            f"{g.shape}, the hook returned shape {new.shape}"
        )
    if new.dtype.kind != "f":
        raise BackwardError(
            f"hook '{name}' has changed the type of value (was {g.dtype}, got {new.dtype})"
        )
    return new if new.dtype == g.dtype else new.astype(g.dtype)


#: Heap priorities of leaves whose gradient is complete (hooks listening) count up from here:
#: before every node, and among themselves in the order they completed (PyTorch's queue).
_LEAF_FIRST = -(1 << 62)


def _counted(
    variable: Variable,
    fan_in: dict[int, int],
    waiting: dict[int, int],
    shares: dict[int, np.ndarray],
    heap: list[tuple[int, Variable]],
    tickets: Iterator[int],
) -> None:
    """One consumer of ``variable`` gave its share, or none (hooks listening: the consumers
    were counted). Once the last has, a leaf goes to the front of the heap; a node that got
    nothing from anyone gives nothing to its own inputs, so they stop waiting for it."""
    stack = [variable]
    while stack:
        variable = stack.pop()
        if not variable.requires_grad:
            continue
        key = -variable._id
        left = waiting[key] = waiting.get(key, fan_in.get(variable._id, 1)) - 1
        if left:
            continue
        if variable._node is None:
            if key in shares:
                heappush(heap, (next(tickets), variable))
        elif key not in shares:
            stack.extend(variable._node.parents)


def _begin(active: tuple[hooks.Hook, ...], root: Variable, grad: np.ndarray) -> dict[int, int]:
    """Tell the hooks a pass begins; the number of consumers of each Variable, for their
    ``accumulated`` flags (counted only when someone listens)."""
    if not active:
        return {}
    consumers = _count_consumers(root)
    for hook in active:
        hook.backward_begin(root, grad)
    return consumers


def accumulate(leaf: Variable, g: np.ndarray) -> None:
    """Add a leaf's complete gradient to its ``.grad``."""
    grad = leaf._grad
    if grad is None:  # own it: a view may share memory with other grads
        if leaf._data.dtype.kind != "f":  # `x.requires_grad = True` on integers (not checked)
            raise RequiresGradError(
                f"only floating point Variables can require gradients, got a leaf of dtype "
                f"{leaf._data.dtype}; make it float first: x = x.float().requires_grad_()"
            )
        leaf._grad = g if g.base is None and g.flags.writeable else g.copy()
    elif grad.shape == g.shape:
        grad += g  # in place, as PyTorch's AccumulateGrad: whoever holds ``.grad`` sees the sum
    else:
        raise ShapeError(
            f"cannot add a gradient of shape {g.shape} into .grad of shape {grad.shape} "
            "(the Variable's data was given another shape since .grad was set)"
        )


def _conform(share: Any, arg: Variable, node: Function, index: int, g: np.ndarray) -> np.ndarray:
    """A rule's gradient for input ``index`` (``arg``) as the engine hands it on: an ndarray of
    the input's shape (un-broadcast) and dtype, never aliasing another array if ``arg`` is a
    leaf (it becomes ``.grad``). The loop calls this only when the gradient may not be so."""
    data = arg._data
    if type(share) is not np.ndarray:
        share = share.dense() if type(share) is Scattered else np.asarray(share)
    if share.shape != data.shape:
        share = unbroadcast(share, data.shape, node, index)
    if share.dtype != data.dtype:
        return share.astype(data.dtype)
    if arg._node is None and (
        share is g or (node._may_alias and _aliases_input(share, node.inputs))
    ):
        return share.copy()  # a leaf's .grad must not alias another array
    return share


_is_variable = Variable.__instancecheck__  # isinstance(x, Variable) for map(), in C


def _check_count(node: Function, grads: Sequence[Any]) -> None:
    """PyTorch's error when ``backward`` returned a wrong number of gradients.

    Trailing options that are not Variables (an axis, a shape) may be left out; extra trailing
    Nones are ignored, as PyTorch ignores them (the tutorial's ``LinearFunction`` called
    without its optional bias).
    """
    inputs, given = node.inputs, len(grads)
    if given <= len(inputs) and not any(map(_is_variable, inputs[given:])):
        return
    if given > len(inputs) and all(g is None for g in grads[len(inputs) :]):
        return
    raise BackwardError(
        f"function {type(node).__name__}.backward returned an incorrect number of gradients "
        f"(expected {len(inputs)}, got {given}): return one per input of forward, None "
        "where there is no gradient"
    )


def _position(node: Function, arg: Variable, share: Any, grads: Sequence[Any]) -> int:
    """The index of the input ``arg`` whose gradient is ``share`` (for error messages)."""
    pairs = enumerate(zip(node.inputs, grads, strict=False))
    return next(i for i, (a, g) in pairs if a is arg and g is share)


def _aliases_input(grad: np.ndarray, inputs: tuple[Any, ...]) -> bool:
    """Whether ``grad`` may share memory with an input's data (a rule returned a saved array)."""
    return any(isinstance(i, Variable) and np.may_share_memory(grad, i._data) for i in inputs)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...], node: Function, index: int) -> np.ndarray:
    """Sum ``grad`` over the axes along which input ``index`` of ``node`` was broadcast."""
    extra = grad.ndim - len(shape)
    if extra >= 0 and all(
        n == 1 or n == m for n, m in zip(shape, grad.shape[extra:], strict=False)
    ):
        axes = tuple(range(extra)) + tuple(
            extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
        )
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
        return grad.reshape(shape)
    raise ShapeError(
        f"{type(node).__name__}.backward returned a gradient of shape {grad.shape} for input "
        f"{index} of shape {shape}; it must have the input's shape or broadcast to it"
    )


def _root_grad(root: Variable, grad: Any) -> np.ndarray:
    if grad is None:
        if root._data.size != 1:
            raise BackwardError(
                f"grad can be implicitly created only for scalar outputs (this one has shape "
                f"{root.shape}); pass grad= with the same shape, or reduce it first, e.g. .sum()"
            )
        return np.array(1, dtype=root._data.dtype).reshape(root.shape)  # np.ones, 3x faster
    grad = np.array(as_array(grad), dtype=root.dtype)  # a copy: the caller keeps theirs
    if grad.shape != root.shape:
        raise ShapeError(f"grad has shape {grad.shape} but the output has shape {root.shape}")
    return grad


def _count_consumers(root: Variable) -> dict[int, int]:
    """For every Variable reachable from ``root`` that requires grad, its number of uses
    (checking each node on the way, as the pass would)."""
    counts: dict[int, int] = {}
    stack = [root]
    while stack:
        variable = stack.pop()
        node = variable._node
        if node is None:
            continue
        _check_node(node, variable)
        for parent in node.parents:
            if parent.requires_grad:
                key = parent._id
                if key in counts:
                    counts[key] += 1
                else:
                    counts[key] = 1
                    if parent._node is not None:  # leaves have nothing to visit
                        stack.append(parent)
    return counts


def _check_node(node: Function, variable: Variable) -> None:
    """Before ``node``'s rule runs for its output ``variable``: raise if the graph was freed or
    a saved array was written in place since; point it at the history its inputs had then."""
    when = variable._id  # the node ran just before its output got this id
    if variable._vc is not None and variable._vc.stamp > when:
        _check_saved(node, variable, when, "output 0")
    if node.saved_tensors is None:
        raise BackwardError(
            f"Trying to backward through the graph a second time (at op "
            f"{type(node).__name__}): its saved arrays were freed by the first backward. "
            "Specify retain_graph=True on the first backward call if you need to backward "
            "twice; if a value computed before that backward is used again (an RNN's hidden "
            "state carried to the next batch), detach it instead: h = h.detach()"
        )
    for parent in node.parents:
        vc = parent._vc
        if vc is not None:
            if vc.stamp > when:
                _input_as_used(node, parent, variable)
            elif vc.rewritten > parent._id:
                _check_view(node, parent, when)


def _input_as_used(node: Function, parent: Variable, out: Variable) -> Variable:
    """``parent`` was written in place, or given a new history, after ``node`` made ``out``.

    If ``node`` saved the written array, raise. If ``parent`` was rebased, point ``node`` at
    the Variable that stood for it when ``node`` ran.
    """
    vc, when = parent._vc, out._id
    if vc.written > when:
        index = next(i for i, p in enumerate(node.parents) if p is parent)
        _check_saved(node, parent, when, f"input {index}")
    for time, owner, before, _ in vc.rebases:
        if owner is parent and time > when:
            node.parents = tuple(before if p is parent else p for p in node.parents)
            node.inputs = tuple(before if a is parent else a for a in node.inputs)
            return before
    return parent


def _check_view(node: Function, view: Variable, when: int) -> None:
    """``node`` (which ran at ``when``) read ``view`` after a recorded write rewrote the memory
    that ``view`` looks into, made after ``view`` was: its value changed, its history did not.
    PyTorch rebuilds a view's history there; gradviz refuses rather than give a wrong gradient.
    """
    vc = view._vc
    if view._data is vc.array or not np.may_share_memory(view._data, vc.array):
        return  # the owner itself, or a stand-in holding a copy: nothing stale
    for time, owner, _, writer in vc.rebases:
        if view._id < time < when and writer not in (None, node) and owner is not view:
            raise BackwardError(
                f"a view [{view.dtype} {tuple(view.shape)}] (output of {view.op}) was used by "
                f"{type(node).__name__} after the Variable it looks into was modified by a "
                f"recorded in-place operation ({type(writer).__name__}); gradviz does not "
                "rebuild a view's history as PyTorch does. Take the view after the write"
            )


def _check_saved(node: Function, variable: Variable, when: int, role: str) -> None:
    """Raise when ``node`` saved an array that was written in place after it ran."""
    vc = variable._vc
    if vc.written <= when:
        return
    saved = [*(node.saved_tensors or ()), *node.__dict__.values()]
    if not any(isinstance(a, np.ndarray) and np.may_share_memory(a, vc.array) for a in saved):
        return
    error = BackwardError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{variable.dtype} {tuple(variable.shape)}], which is {role} of "
        f"{type(node).__name__}, is at version {vc.version}; expected version "
        f"{vc.version_at(when)} instead (last written by {vc.last_op}). Hint: write into a "
        "copy, or use the out-of-place op, until backward has run"
    )
    error.version_counter = vc  # lets a watcher (the tracer) name the line of the write
    raise error
