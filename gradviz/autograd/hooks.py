"""The one narrow channel from the engine to anything that watches it (the tracer).

The engine reads ``hooks.ACTIVE`` (this module's attribute, every time) and does nothing more when
it is empty: one attribute load and one truth test per op and per backward step. A subscriber
subclasses :class:`Hook`, overrides the events it wants, and calls :func:`install` /
:func:`uninstall` (ideally in ``try``/``finally``). Events pass live objects; a subscriber that
keeps values must copy or summarise them at event time, because the engine may later accumulate
into the same arrays in place. :func:`paused` silences every hook for a block: gradviz's own
checks (``gradcheck``, the per-op check) run their ops under it, so no trace records them.
:func:`inner_passes` marks the backward passes a function transform runs for its result (a
Jacobian's rows): watchers see them as part of the caller's step, not as backward calls.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from gradviz.autograd.function import Function
    from gradviz.autograd.nn.module import Module
    from gradviz.autograd.optim import Optimizer
    from gradviz.autograd.variable import Variable

#: The installed hooks, in installation order. Empty in normal runs.
ACTIVE: tuple[Hook, ...] = ()


class Hook:
    """Base class of engine subscribers; every event is a no-op until overridden."""

    def variable_created(self, variable: Variable) -> None:
        """A Variable was built by its public constructor (data, parameters)."""

    def op(self, node: Function, inputs: tuple[Any, ...], output: Variable) -> None:
        """An op ran forward. ``node`` is the Function instance (its class name is the op name);
        ``inputs`` are the arguments as given (Variables, arrays, numbers, options)."""

    def detach(self, source: Variable, result: Variable) -> None:
        """``source.detach()`` returned ``result``, which shares data but has no history."""

    def inplace(self, variable: Variable, op: str) -> None:
        """``variable``'s array was overwritten by an unrecorded in-place ``op`` (``"sub_"``),
        e.g. a parameter update under ``no_grad``; its ``_version`` went up. Recorded in-place
        writes arrive as ``op`` events of ``Add_``-style nodes instead."""

    def sees_write(self, target: Variable, args: tuple[Any, ...]) -> bool:
        """Whether to get :meth:`inplace_from` for an unrecorded in-place write of ``args``
        into ``target`` (asked before the write: a True costs a copy of ``target``)."""
        return False

    def inplace_from(self, node: Function, inputs: tuple[Any, ...], output: Variable) -> None:
        """An unrecorded in-place write into ``output`` (which takes no gradient) of another
        Variable (``y[mask] = net(x)`` under ``no_grad``), as an op on ``inputs[0]``, a stand-in
        for the value before it; the ``inplace`` event of the write follows. Sent to the hooks
        whose :meth:`sees_write` said so."""

    def grad_mode(self, enabled: bool) -> None:
        """Graph recording was switched on or off (``no_grad`` entered or left)."""

    def module_enter(self, module: Module, args: tuple[Any, ...]) -> None:
        """A Module's ``__call__`` is about to run ``forward``."""

    def module_exit(self, module: Module, output: Any) -> None:
        """A Module's ``forward`` returned (or raised: then ``output`` is None)."""

    def reparametrized(self, module: Module, tensors: dict[str, Variable]) -> None:
        """``func.functional_call`` runs ``module`` with ``tensors`` (by dotted name,
        ``"fc1.weight"``) in place of its own parameters and buffers."""

    def backward_begin(self, root: Variable, grad: np.ndarray) -> None:
        """``root.backward(grad)`` starts."""

    def backward_step(self, variable: Variable, grad: np.ndarray, accumulated: bool) -> None:
        """All gradient for ``variable`` has arrived (summed from several consumers when
        ``accumulated``); its backward rule runs next, or, for a leaf, it is stored in ``.grad``."""

    def grad_hook(
        self, variable: Variable, hook: Any, before: np.ndarray, after: np.ndarray
    ) -> None:
        """``hook``, registered on ``variable`` by ``register_hook``, was given the gradient
        ``before`` and returned ``after`` in its place (the next hook, or the engine, takes it
        from here)."""

    def backward_end(self, root: Variable) -> None:
        """The backward pass started from ``root`` finished."""

    def create_graph(self, roots: tuple[Variable, ...]) -> None:
        """A ``create_graph=True`` pass starts from ``roots``: their gradients are computed by
        recorded ops (``op`` events, as any), not by a backward pass."""

    def rule_begin(self, node: Function, output: Variable) -> None:
        """In a ``create_graph=True`` pass, ``node``'s graph rule (``backward_graph``) starts
        for its output ``output``: the ``op`` events until :meth:`rule_end` are the ops of
        that rule (the derivative of ``node``'s op, as recorded ops, PyTorch's
        ``TanhBackward0``), its gradients' sums to the inputs' shapes included."""

    def rule_end(self, node: Function) -> None:
        """``node``'s graph rule has returned (or raised): ops are no longer its."""

    def optimizer_step(self, optimizer: Optimizer, phase: str) -> None:
        """``optimizer.step()`` is about to update parameters (``"begin"``) or has (``"end"``)."""

    def grad_clipped(self, max_norm: float, total_norm: float) -> None:
        """``nn.utils.clip_grad_norm_`` scaled the gradients to at most ``max_norm`` (they had
        ``total_norm``; below ``max_norm`` they were left as they were)."""


#: This thread's depth of :func:`inner_passes` blocks.
_inner = threading.local()


@contextlib.contextmanager
def inner_passes() -> Iterator[None]:
    """The backward passes inside the block are a function transform's own (``jacobian``'s
    rows, ``hessian``'s): a watcher that counts backward calls (the tracer's steps) leaves them
    out, as it leaves out ``create_graph`` passes. Usable as a decorator; blocks nest."""
    depth = getattr(_inner, "depth", 0)
    _inner.depth = depth + 1
    try:
        yield
    finally:
        _inner.depth = depth


def in_inner_pass() -> bool:
    """Whether this thread is inside an :func:`inner_passes` block."""
    return getattr(_inner, "depth", 0) > 0


#: Guards ACTIVE and the pause state below against threads installing or pausing at once.
_lock = threading.Lock()
#: How many :func:`paused` blocks are open (in any thread), and the hooks they hold back.
_pauses = 0
_held: tuple[Hook, ...] = ()


def install(hook: Hook) -> None:
    """Subscribe ``hook`` to engine events (from the end of any :func:`paused` block)."""
    global ACTIVE, _held
    with _lock:
        if _pauses:
            if hook not in _held:
                _held = (*_held, hook)
        elif hook not in ACTIVE:
            ACTIVE = (*ACTIVE, hook)


def uninstall(hook: Hook) -> None:
    """Unsubscribe ``hook``; unknown hooks are ignored."""
    global ACTIVE, _held
    with _lock:
        _held = tuple(h for h in _held if h is not hook)
        ACTIVE = tuple(h for h in ACTIVE if h is not hook)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Deliver no event inside the block: ``ACTIVE`` is empty there, and restored on exit.

    For gradviz's own computations (``gradcheck``, the per-op check), which must not show up in
    a trace of the user's run. Blocks nest, and may be open in several threads at once: the
    hooks come back when the last one closes; hooks installed or uninstalled meanwhile take
    effect then. ``ACTIVE`` is one tuple for the whole process (the engine's one attribute load
    per op), so a pause silences the events of every thread while it lasts; keep it short.
    """
    global ACTIVE, _pauses, _held
    with _lock:
        if not _pauses:
            _held, ACTIVE = ACTIVE, ()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if not _pauses:
                ACTIVE, _held = (*_held, *(h for h in ACTIVE if h not in _held)), ()
