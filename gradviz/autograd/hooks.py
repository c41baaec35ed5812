"""The one narrow channel from the engine to anything that watches it (the tracer).

The engine reads ``hooks.ACTIVE`` (this module's attribute, every time) and does nothing more when
it is empty: one attribute load and one truth test per op and per backward step. A subscriber
subclasses :class:`Hook`, overrides the events it wants, and calls :func:`install` /
:func:`uninstall` (ideally in ``try``/``finally``). Events pass live objects; a subscriber that
keeps values must copy or summarise them at event time, because the engine may later accumulate
into the same arrays in place.
"""

from __future__ import annotations

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

    def grad_mode(self, enabled: bool) -> None:
        """Graph recording was switched on or off (``no_grad`` entered or left)."""

    def module_enter(self, module: Module, args: tuple[Any, ...]) -> None:
        """A Module's ``__call__`` is about to run ``forward``."""

    def module_exit(self, module: Module, output: Any) -> None:
        """A Module's ``forward`` returned (or raised: then ``output`` is None)."""

    def backward_begin(self, root: Variable, grad: np.ndarray) -> None:
        """``root.backward(grad)`` starts."""

    def backward_step(self, variable: Variable, grad: np.ndarray, accumulated: bool) -> None:
        """All gradient for ``variable`` has arrived (summed from several consumers when
        ``accumulated``); its backward rule runs next, or, for a leaf, it is stored in ``.grad``."""

    def backward_end(self, root: Variable) -> None:
        """The backward pass started from ``root`` finished."""

    def optimizer_step(self, optimizer: Optimizer, phase: str) -> None:
        """``optimizer.step()`` is about to update parameters (``"begin"``) or has (``"end"``)."""


def install(hook: Hook) -> None:
    """Subscribe ``hook`` to engine events."""
    global ACTIVE
    if hook not in ACTIVE:
        ACTIVE = (*ACTIVE, hook)


def uninstall(hook: Hook) -> None:
    """Unsubscribe ``hook``; unknown hooks are ignored."""
    global ACTIVE
    ACTIVE = tuple(h for h in ACTIVE if h is not hook)
