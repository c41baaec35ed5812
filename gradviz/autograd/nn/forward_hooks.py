"""``Module.register_forward_pre_hook`` and ``register_forward_hook``: functions called around a
module's ``forward``, as in PyTorch (to read or replace its inputs and output)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from gradviz.autograd.errors import OperandError

PRE = "_forward_pre_hooks"
POST = "_forward_hooks"
#: Whether any module was ever given a forward hook (here, or in a copy or a pickle); until
#: then ``Module.__call__`` runs ``forward`` without looking for hooks (one attribute load, as
#: ``hooks.ACTIVE``).
USED = False
_keys = itertools.count()


class ForwardHookMethods:
    """The forward-hook methods of ``Module``."""

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before every forward; a result other than None replaces
        ``args``. Returns a handle whose ``remove()`` takes the hook off."""
        return add_hook(self, PRE, hook, prepend)

    def register_forward_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every forward; a result other than None
        replaces the output. Returns a handle whose ``remove()`` takes the hook off."""
        return add_hook(self, POST, hook, prepend)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A copied or unpickled module keeps its forward hooks running."""
        global USED
        self.__dict__.update(state)
        if state.get(PRE) or state.get(POST):
            USED = True


class RemovableHandle:
    """What the ``register_*_hook`` methods return: ``remove()`` takes the hook off (also as a
    context manager: off at the end of the ``with`` block)."""

    def __init__(self, table: dict[int, Any], key: int) -> None:
        self._table = table
        self.id = key

    def remove(self) -> None:
        """Take the hook off (a second call does nothing)."""
        self._table.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def add_hook(module: Any, table_name: str, hook: Any, prepend: bool) -> RemovableHandle:
    """Put ``hook`` in ``module``'s table (made on first use), last or first."""
    global USED
    if not callable(hook):
        raise OperandError(f"a hook must be callable, got {type(hook).__name__}")
    table = module.__dict__.get(table_name)
    if table is None:
        table = {}
        object.__setattr__(module, table_name, table)
    key = next(_keys)
    table[key] = hook
    if prepend:
        rest = [(k, v) for k, v in table.items() if k != key]
        table.clear()
        table[key] = hook
        table.update(rest)
    USED = True
    return RemovableHandle(table, key)


def run_forward(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``module.forward`` with its hooks: a pre-hook's non-None result replaces the arguments
    (a non-tuple is one argument), a hook's non-None result replaces the output."""
    for hook in list(module.__dict__.get(PRE, {}).values()):
        result = hook(module, args)
        if result is not None:
            args = result if isinstance(result, tuple) else (result,)
    output = module.forward(*args, **kwargs)
    for hook in list(module.__dict__.get(POST, {}).values()):
        result = hook(module, args, output)
        if result is not None:
            output = result
    return output
