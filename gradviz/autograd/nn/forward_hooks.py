"""``Module.register_forward_pre_hook`` and ``register_forward_hook``: functions called around a
module's ``forward``, as in PyTorch (to read or replace its inputs and output); and the call
path every module hook goes through (the backward hooks' own part is in ``backward_hooks``)."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from typing import Any

from gradviz.autograd.errors import OperandError

PRE = "_forward_pre_hooks"
POST = "_forward_hooks"
BACKWARD_PRE = "_backward_pre_hooks"
BACKWARD = "_backward_hooks"
#: Whether any module was ever given a forward or backward hook (here, or in a copy or a
#: pickle); until then ``Module.__call__`` runs ``forward`` without looking for hooks (one
#: attribute load, as ``hooks.ACTIVE``).
USED = False
_keys = itertools.count()
#: The tables of each hook's options, by its table, as PyTorch's: the keys of the hooks
#: registered ``with_kwargs`` (and ``always_call``) map to True. A table holds the hooks
#: themselves (``module._forward_pre_hooks.values()``, as the pruning tutorial reads them).
OPTIONS = {
    PRE: ("_forward_pre_hooks_with_kwargs",),
    POST: ("_forward_hooks_with_kwargs", "_forward_hooks_always_called"),
    BACKWARD_PRE: (),
    BACKWARD: (),
}
#: The hooks of every module (``nn.modules.module.register_module_forward_hook`` ...), run
#: before each module's own, as in PyTorch; keyed by the same tables' names.
GLOBAL: dict[str, dict[int, Any]] = {
    name: {} for table in OPTIONS for name in (table, *OPTIONS[table])
}


class _Table:
    """A module's hook table, made empty on first read (``module._forward_hooks.clear()``,
    ``.values()``, as PyTorch's attributes, which always exist); until then the module keeps
    none, and calls run without looking for hooks."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, module: Any, owner: type | None = None) -> Any:
        global USED
        if module is None:
            return self
        USED = True  # (a hook may now be put in the table directly, as PyTorch allows)
        return _table(module, self.name)


class ForwardHookMethods:
    """The forward-hook methods of ``Module``."""

    _forward_pre_hooks = _Table()
    _forward_hooks = _Table()
    _backward_pre_hooks = _Table()
    _backward_hooks = _Table()
    _forward_pre_hooks_with_kwargs = _Table()
    _forward_hooks_with_kwargs = _Table()
    _forward_hooks_always_called = _Table()

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before every forward; a result other than None replaces
        ``args``. With ``with_kwargs``: ``hook(module, args, kwargs)``, whose result is None or
        a new ``(args, kwargs)``. Returns a handle whose ``remove()`` takes the hook off."""
        return add_hook(self, PRE, (hook, with_kwargs), prepend)

    def register_forward_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs``); a result other than None replaces the output. With
        ``always_call`` it is also called, with output None, when forward raises (its own error
        then only warns). Returns a handle whose ``remove()`` takes the hook off."""
        return add_hook(self, POST, (hook, with_kwargs, always_call), prepend)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A copied or unpickled module keeps its hooks running."""
        global USED
        self.__dict__.update(state)
        if any(state.get(name) for name in (PRE, POST, BACKWARD_PRE, BACKWARD)):
            USED = True


class RemovableHandle:
    """What the ``register_*_hook`` methods return: ``remove()`` takes the hook off (also as a
    context manager: off at the end of the ``with`` block)."""

    def __init__(self, table: dict[int, Any], key: int, extra: tuple[dict[int, Any], ...] = ()):
        self._tables = (table, *extra)
        self.id = key

    def remove(self) -> None:
        """Take the hook off (a second call does nothing)."""
        for table in self._tables:
            table.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def add_hook(module: Any, table_name: str, hook: tuple[Any, ...], prepend: bool) -> RemovableHandle:
    """Put ``hook`` (the function and its options: ``with_kwargs``, and ``always_call`` for a
    forward hook) in ``module``'s tables (made on first use), the function last or first and
    each option that holds in its own table; a module None means every module's (the global
    hooks)."""
    global USED
    function, *flags = hook
    if not callable(function):
        raise OperandError(f"a hook must be callable, got {type(function).__name__}")
    table = _table(module, table_name)
    key = next(_keys)
    table[key] = function
    if prepend:
        rest = [(k, v) for k, v in table.items() if k != key]
        table.clear()
        table[key] = function
        table.update(rest)
    extra = tuple(_table(module, name) for name in OPTIONS[table_name])
    for options, flag in zip(extra, flags, strict=True):
        if flag:
            options[key] = True
    USED = True
    return RemovableHandle(table, key, extra)


def _table(module: Any, name: str) -> dict[int, Any]:
    table = GLOBAL[name] if module is None else module.__dict__.get(name)
    if table is None:
        table = {}
        object.__setattr__(module, name, table)
    return table


def run_forward(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``module.forward`` with its hooks: a pre-hook's non-None result replaces the arguments
    (a non-tuple is one argument), a hook's non-None result replaces the output. With backward
    hooks, the inputs (after the pre-hooks) and the output (after the hooks) pass through
    identity ops that collect their gradients (PyTorch's order)."""
    table = module.__dict__
    backward = None
    if table.get(BACKWARD) or table.get(BACKWARD_PRE) or GLOBAL[BACKWARD] or GLOBAL[BACKWARD_PRE]:
        backward = module._backward_hook_call()
    for hook, with_kwargs in hooks_of(module, PRE):
        if with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                args, kwargs = _args_and_kwargs(result)
            continue
        result = hook(module, args)
        if result is not None:
            args = result if isinstance(result, tuple) else (result,)
    if backward is not None:
        args = backward.setup_input_hook(args)
    try:
        output = module.forward(*args, **kwargs)
    except Exception:
        _call_always_called(module, args, kwargs)
        raise
    for hook, with_kwargs, _ in hooks_of(module, POST):
        result = hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
        if result is not None:
            output = result
    if backward is not None:
        output = backward.setup_output_hook(output)
    return output


def hooks_of(module: Any, table_name: str) -> list[tuple[Any, ...]]:
    """The hooks a call of ``module`` runs from one table, each with its options (``(hook,
    with_kwargs)`` ...): every module's, then its own."""
    found = []
    for source in (GLOBAL, module.__dict__):
        table = source.get(table_name)
        if table:
            options = [source.get(name) or {} for name in OPTIONS[table_name]]
            found += [(hook, *(key in o for o in options)) for key, hook in table.items()]
    return found


def _call_always_called(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Forward raised: call the hooks registered with ``always_call`` (output None), as
    PyTorch does; an error of theirs is a warning, the forward's error goes on."""
    for hook, with_kwargs, always_call in hooks_of(module, POST):
        if not always_call:
            continue
        try:
            hook(module, args, kwargs, None) if with_kwargs else hook(module, args, None)
        except Exception as error:
            warnings.warn(
                "forward hook with ``always_call=True`` raised an exception that was silenced "
                f"as another error was raised in forward: {error}",
                stacklevel=3,
            )


def _args_and_kwargs(result: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        raise OperandError(
            "forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got "
            f"{type(result).__name__}"
        )
    args = result[0] if isinstance(result[0], tuple) else (result[0],)
    return args, result[1]


def register_module_forward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Call ``hook(module, args)`` before the forward of every module, before the module's own
    pre-hooks; a result other than None replaces ``args``. Returns a handle."""
    return add_hook(None, PRE, (hook, False), False)


def register_module_forward_hook(
    hook: Callable[..., Any], *, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    """Call ``hook(module, args, output)`` after the forward of every module, before the
    module's own hooks (``hook(module, args, kwargs, output)`` with ``with_kwargs``); a result
    other than None replaces the output. Returns a handle."""
    return add_hook(None, POST, (hook, with_kwargs, always_call), False)
