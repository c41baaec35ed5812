"""PyTorch's ``torch.jit``: TorchScript compiles a model to a program saved with its code.
gradviz has no compiler and saves data only, so ``script``, ``trace``, ``save`` and ``load``
say how to save and restore a model instead; ``is_scripting()`` and ``is_tracing()``, asked by
model code, are False."""

from __future__ import annotations

from typing import Any

from gradviz.autograd.errors import OperandError

__all__ = ["is_scripting", "is_tracing", "load", "save", "script", "trace"]

_HOW = (
    "gradviz has no TorchScript: save the weights with gradviz.save(model.state_dict(), path) "
    "and restore them into a model built by your code with "
    "model.load_state_dict(gradviz.load(path)); gradviz.compile(model) returns the model"
)


def _refuse(name: str) -> OperandError:
    return OperandError(f"jit.{name}(): {_HOW}")


def script(obj: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Refused: see the module docstring."""
    raise _refuse("script")


def trace(func: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Refused: see the module docstring."""
    raise _refuse("trace")


def save(m: Any = None, f: Any = None, *args: Any, **kwargs: Any) -> None:
    """Refused: see the module docstring."""
    raise _refuse("save")


def load(f: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Refused: see the module docstring."""
    raise _refuse("load")


def is_scripting() -> bool:
    """False: nothing runs under TorchScript."""
    return False


def is_tracing() -> bool:
    """False: nothing runs under the TorchScript tracer."""
    return False
