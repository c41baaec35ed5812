"""``Module.register_full_backward_hook`` and ``register_full_backward_pre_hook``: functions
called with a module's gradients, as in PyTorch (to read or replace them, layer by layer).

The design is PyTorch's (``torch.utils.hooks.BackwardHook``): when a module has backward
hooks, each call passes the module's Variable inputs, and then its Variable outputs, through
an identity op, ``BackwardHookFunction``, and puts a gradient hook on what comes out. The
first of a call's outputs whose gradient backward computes gathers the gradients of all of
them (``grad_output``) and runs the pre-hooks; the first of its inputs gathers ``grad_input``
and runs the hooks. The identity ops are in traced graphs under that name, inside the
module's cluster. A module without backward hooks gets none of this.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd import engine, grad_mode
from gradviz.autograd.errors import BackwardError
from gradviz.autograd.function import Function
from gradviz.autograd.inplace import counter
from gradviz.autograd.nn.forward_hooks import (
    BACKWARD,
    BACKWARD_PRE,
    RemovableHandle,
    add_hook,
    hooks_of,
)
from gradviz.autograd.variable import Variable, from_op

Grads = tuple[Any, ...]


class BackwardHookMethods:
    """The backward-hook methods of ``Module``."""

    def register_full_backward_hook(
        self, hook: Callable[[Any, Grads, Grads], Grads | None], prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` each time the gradients with respect
        to the module's inputs are computed: tuples of Variables, one per positional argument
        (``grad_input``; None where it is not a Variable that requires grad) and one per output
        (``grad_output``). A returned tuple replaces ``grad_input``. If no input requires grad,
        the hook runs when ``grad_output`` is computed, with ``grad_input`` all None. Inputs and
        outputs must not be modified in place. Returns a handle whose ``remove()`` takes the
        hook off."""
        return add_hook(self, BACKWARD, (hook,), prepend)

    def register_full_backward_pre_hook(
        self, hook: Callable[[Any, Grads], Grads | None], prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` each time the gradients with respect to the
        module's outputs are computed, before they flow into it; a returned tuple replaces
        ``grad_output``. Returns a handle whose ``remove()`` takes the hook off."""
        return add_hook(self, BACKWARD_PRE, (hook,), prepend)

    def _backward_hook_call(self) -> BackwardHook:
        """The backward hooks of one call, as registered now (PyTorch's snapshot)."""
        return BackwardHook(
            self,
            [hook for hook, *_ in hooks_of(self, BACKWARD)],
            [hook for hook, *_ in hooks_of(self, BACKWARD_PRE)],
        )


def register_module_full_backward_pre_hook(
    hook: Callable[[Any, Grads], Grads | None],
) -> RemovableHandle:
    """Call ``hook(module, grad_output)`` for every module, before its own backward pre-hooks
    (``Module.register_full_backward_pre_hook``). Returns a handle."""
    return add_hook(None, BACKWARD_PRE, (hook,), False)


def register_module_full_backward_hook(
    hook: Callable[[Any, Grads, Grads], Grads | None],
) -> RemovableHandle:
    """Call ``hook(module, grad_input, grad_output)`` for every module, before its own
    backward hooks (``Module.register_full_backward_hook``). Returns a handle."""
    return add_hook(None, BACKWARD, (hook,), False)


class BackwardHookFunction(Function):
    """The identity a module with backward hooks puts on each Variable input and output (its
    gradient is the one the hooks see; PyTorch's ``BackwardHookFunctionBackward``)."""

    #: Why an in-place write into its output is refused (``gradviz.autograd.inplace``).
    inplace_refusal = (
        "Output 0 of BackwardHookFunction is a view and is being modified inplace "
        "({method}): it is an input or output of a module with backward hooks "
        "(register_full_backward_hook), which would then see wrong gradients. Modifying the "
        "inputs inplace inside forward, or the output after it, is not allowed with backward "
        "hooks: clone it first (x = x.clone())"
    )

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        return x.view()

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> np.ndarray | None:
        return None if ctx.__dict__.pop("drop", False) else grad


BackwardHookFunction._may_alias = False  # returns the gradient it is given, as built-in ops do


class BackwardHook:
    """The backward hooks of one module call: wraps its inputs and outputs, and runs the
    user's hooks once their gradients are gathered."""

    def __init__(self, module: Any, user_hooks: list[Any], user_pre_hooks: list[Any]) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: Grads | None = None
        self.changed_by: Any = None  # the user's hook whose result replaced gradients last
        self.n_inputs = self.n_outputs = -1
        self.input_index: list[int] | None = None
        self.output_index: list[int] | None = None

    def setup_input_hook(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """``args`` with each Variable passed through the identity (if any requires grad)."""
        args, self.input_index = self._wrap(args, self._input_grads, zeros=True)
        self.n_inputs = len(args)
        return args

    def setup_output_hook(self, output: Any) -> Any:
        """``output`` (a Variable or a tuple) with each Variable passed through the identity."""
        if not isinstance(output, Variable | tuple):
            warnings.warn(
                "For backward hooks to be called, module output should be a Variable or a "
                f"tuple of Variables but received {type(output)}",
                stacklevel=_user_level(),
            )
        values = output if isinstance(output, tuple) else (output,)
        values, self.output_index = self._wrap(values, self._output_grads)
        self.n_outputs = len(values)
        return values if isinstance(output, tuple) else values[0]

    def _wrap(
        self, values: tuple[Any, ...], fire: Callable[[Grads], Any], zeros: bool = False
    ) -> tuple[tuple[Any, ...], list[int] | None]:
        """``values`` with the Variables that require grad wrapped and gathered by one hook;
        the positions of the Variables (None when none requires grad, or grad is off). With
        ``zeros``, a Variable given no gradient is given zeros (PyTorch's ``grad_input``)."""
        index = [i for i, v in enumerate(values) if isinstance(v, Variable)]
        if not grad_mode.is_grad_enabled() or not any(values[i].requires_grad for i in index):
            return values, None
        out = list(values)
        members = []
        for i in index:
            if values[i].requires_grad:
                out[i] = wrapped = BackwardHookFunction.apply(values[i])
                wrapped._vc = counter(values[i])  # a view: writes into either are seen
                members.append((i, wrapped))
        filled = [(i, values[i]) for i in index] if zeros else []
        gather = Gather(self.module, members, len(values), fire, filled)
        for _, wrapped in members:
            engine.register_hook(wrapped, gather)
        return (tuple(out) if type(values) is tuple else type(values)(*out)), index

    def _output_grads(self, grad_outputs: Grads) -> Grads:
        """The pre-hooks, given the gradients of the outputs; their (replaced) gradients."""
        grad_outputs = self._replaced(
            self.user_pre_hooks, grad_outputs, lambda hook, g: hook(self.module, g), "pre hook"
        )
        self.grad_outputs = grad_outputs
        if self.input_index is None:  # no input requires grad: the hooks run now
            self._hooks_without_inputs()
        return grad_outputs

    def _hooks_without_inputs(self) -> None:
        warnings.warn(
            "Full backward hook is firing when gradients are computed with respect to module "
            "outputs since no inputs require gradients.",
            stacklevel=_user_level(),
        )
        grad_inputs = (None,) * self.n_inputs
        for hook in self.user_hooks:
            result = hook(self.module, grad_inputs, _shown(self.grad_outputs))
            if result is not None and not (
                isinstance(result, tuple) and all(g is None for g in result)
            ):
                raise BackwardError(
                    "Backward hook for Modules where no input requires gradient should always "
                    "return None or None for all gradients."
                )
        self.grad_outputs = None

    def _input_grads(self, grad_inputs: Grads) -> Grads | None:
        """The hooks, given the gradients of the inputs; their (replaced) gradients, or None
        when the gradient did not come through the module's output this pass."""
        if self.grad_outputs is None:
            return None
        shown = _shown(self.grad_outputs)
        grad_inputs = self._replaced(
            self.user_hooks, grad_inputs, lambda hook, g: hook(self.module, g, shown), "hook"
        )
        self.grad_outputs = None
        return grad_inputs

    def _replaced(self, hooks: list[Any], grads: Grads, call: Any, kind: str) -> Grads:
        """``grads`` through ``hooks`` in order (``call(hook, grads)``), each returned tuple
        replacing them; PyTorch's error when one has the wrong length."""
        name = "grad_output" if kind == "pre hook" else "grad_input"
        for hook in hooks:
            shown = _shown(grads)
            result = call(hook, shown)
            if result is None:
                continue
            result = _as_tuple(result)
            if len(result) != len(grads):
                raise BackwardError(
                    f"Backward {kind} returned an invalid number of {name}, got "
                    f"{len(result)}, but expected {len(grads)}"
                )
            given = zip(result, shown, grads, strict=True)  # handed back as given: unchanged
            grads, self.changed_by = tuple(g if r is s else r for r, s, g in given), hook
        return grads


_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _user_level() -> int:
    """The ``stacklevel`` of the caller's first frame outside gradviz (the user's line that
    called the module, or ``backward``), for a warning issued by that caller."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def _shown(grads: Grads) -> Grads:
    """The gradients as a user's hook is given them: Variables sharing the arrays (tensors in
    PyTorch), None where there is none."""
    return tuple(from_op(g, None) if type(g) is np.ndarray else g for g in grads)


def _as_tuple(result: Any) -> Grads:
    return result if isinstance(result, tuple) else (result,)


class Gather(engine.GroupHook):
    """The gradient hook on a call's wrapped inputs (or outputs): the first of them whose
    gradient is complete reads the others' (complete too: every op that used them ran later,
    so backward has run it already), hands the tuple to ``fire`` and gives each its share of
    the result as it comes."""

    __slots__ = ("fire", "members", "module", "pass_", "replaced", "size", "zeros")

    def __init__(
        self,
        module: Any,
        members: list[tuple[int, Variable]],
        size: int,
        fire: Callable[[Grads], Any],  # a method of the call's BackwardHook
        zeros: list[tuple[int, Variable]],
    ) -> None:
        self.module = module
        self.members = members  # (position, wrapped Variable)
        self.size = size
        self.fire = fire
        self.zeros = zeros  # (position, Variable) given zeros when no gradient came (inputs)
        self.pass_: dict[int, Any] | None = None  # the pass being served, until all are served
        self.replaced: dict[int, Any] = {}  # id -> the gradient to hand on (None: unchanged)

    @property
    def __name__(self) -> str:
        """The name of the user's hook that replaced the gradient (the tracer's events)."""
        by = self.fire.__self__.changed_by
        return getattr(by, "__name__", None) or type(by).__name__

    @property
    def __code__(self) -> Any:
        """The code of the user's hook that replaced the gradient (where the events point)."""
        by = self.fire.__self__.changed_by
        return getattr(by, "__code__", None) or getattr(type(by).__call__, "__code__", None)

    def __call__(self, variable: Variable, grad: np.ndarray, pending: engine.Pending) -> Any:
        key = variable._id
        if self.pass_ is not pending.shares or key not in self.replaced:
            self._gather(key, grad, pending)
        result = self.replaced.pop(key)
        if not self.replaced:
            self.pass_ = None
        return result

    def _gather(self, key: int, grad: np.ndarray, pending: engine.Pending) -> None:
        given = [grad if v._id == key else pending(v) for _, v in self.members]
        packed: list[Any] = [None] * self.size
        for i, v in self.zeros:  # PyTorch's grad_input: zeros for a Variable given none
            packed[i] = np.zeros_like(v._data)
        for (i, _), g in zip(self.members, given, strict=True):
            if g is not None:
                packed[i] = g
        result = self.fire(tuple(packed))
        self.pass_ = pending.shares
        self.replaced = {}
        for (i, v), g in zip(self.members, given, strict=True):
            if g is None:
                continue  # no gradient came this pass: it will not be asked for
            new = None if result is None else result[i]
            if new is not None and new is not packed[i]:
                new = self._checked(new, g, i)
            elif new is None and result is not None:
                v._node.drop = True  # the hook gave None: no gradient flows on from here
            self.replaced[v._id] = None if new is packed[i] else new

    def _checked(self, new: Any, g: np.ndarray, i: int) -> Any:
        shape = np.shape(new._data if isinstance(new, Variable) else new)
        if shape != g.shape:
            raise BackwardError(
                f"a backward hook of {type(self.module).__name__} returned a gradient of shape "
                f"{shape} at position {i}; the gradient there has shape {g.shape}"
            )
        return new
