"""``no_grad`` and ``enable_grad``: switch graph recording off and on, per thread.

As in PyTorch, grad mode belongs to the thread that sets it: ``no_grad`` in one thread leaves
recording on in the others, and a new thread starts with recording on.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from gradviz.autograd import hooks

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    """This thread's grad mode. The class attribute is every thread's starting value, so a
    thread that never set it reads ``True`` without an ``__init__`` call."""

    enabled: bool = True
    inference: bool = False


#: Read by ``Function.apply`` on every op (``_state.enabled``): when False, ops record no graph.
_state = _State()

#: The threads (by ident) that switched grad mode off and have not switched it on again: while
#: none has, every thread records, and the per-op tests read ``not _OFF or _state.enabled``,
#: skipping the thread-local read (several times the cost of a plain attribute's).
_OFF: set[int] = set()


def is_grad_enabled() -> bool:
    """Whether ops in this thread currently record a graph for backward."""
    return _state.enabled


def is_inference_mode_enabled() -> bool:
    """Whether this thread is inside ``inference_mode()`` (and not ``inference_mode(False)``)."""
    return _state.inference


def _switch(mode: bool) -> None:
    """Switch graph recording on or off in this thread."""
    enabled = bool(mode)
    if enabled:  # the thread-local first, then the set (and the reverse to switch off), so
        _state.enabled = True  # ``not _OFF`` never holds while a thread has recording off
        _OFF.discard(threading.get_ident())
    else:
        _OFF.add(threading.get_ident())
        _state.enabled = False
    for hook in hooks.ACTIVE:
        hook.grad_mode(enabled)


class _GradMode:
    """Context manager and decorator that sets grad mode and restores the previous one."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = _state.enabled
        _switch(self.mode)

    def __exit__(self, *exc: object) -> None:
        _switch(self._previous)

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Ops inside record no graph: outputs do not require grad. Also usable as a decorator."""

    mode = False


class inference_mode(_GradMode):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (``mode=False``: recording
    left on). Also usable as a decorator."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode

    def __enter__(self) -> None:
        self._previous_inference = _state.inference
        _state.inference = not self.mode
        super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        _state.inference = self._previous_inference

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(not self.mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class set_grad_enabled(_GradMode):
    """Switch graph recording on or off in this thread, now (``set_grad_enabled(False)``), or
    for a ``with`` block or a decorated function, after which the previous mode is back
    (``with torch.set_grad_enabled(phase == "train"):``, as PyTorch's)."""

    def __init__(self, mode: bool) -> None:
        self._previous = _state.enabled
        self.mode = bool(mode)
        _switch(self.mode)

    def __enter__(self) -> None:
        _switch(self.mode)

    def __call__(self, func: F) -> F:
        _switch(self._previous)  # a decorator: the mode is the function's only
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class enable_grad(_GradMode):
    """Turn graph recording back on inside a ``no_grad`` region."""

    mode = True


#: PyTorch's warning for ``Variable(x, volatile=True)``, the ``no_grad`` of PyTorch 0.3
VOLATILE_REMOVED = (
    "volatile was removed and now has no effect. Use `with gradviz.no_grad():` instead."
)
