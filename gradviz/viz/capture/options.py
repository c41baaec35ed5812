"""An op's option arguments as short labels: ``Sum(x, 1)`` -> ``"axis=1"``.

Arguments that are neither Variables nor arrays (axes, shapes, flags) become node attribute
``args``. They are named after the op's ``forward`` parameters, left out when they are None or
equal to the default, and shown by a short ``repr`` without memory addresses, so labels stay
deterministic.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

_EMPTY = inspect.Parameter.empty
#: op class -> (name, default) of its forward's positional parameters, shared by all traces
_SIGNATURES: dict[type, list[tuple[str, Any]]] = {}
_SIMPLE = (bool, int, float, str, type(None))


def option_label(cls: type, slot: int, value: Any) -> str | None:
    """``"axis=1"`` for an option argument; None when it is None or the default."""
    if value is None:
        return None
    spec = _SIGNATURES.get(cls)
    if spec is None:
        spec = _SIGNATURES[cls] = _positional(cls)
    name = None
    if slot < len(spec):
        name, default = spec[slot]
        if (
            default is not _EMPTY
            and isinstance(value, _SIMPLE)
            and type(value) is type(default)
            and value == default
        ):
            return None
    text = _short_repr(value)
    return f"{name}={text}" if name else text


def _positional(cls: type) -> list[tuple[str, Any]]:
    """``(name, default)`` of ``cls.forward``'s positional parameters after ``ctx``."""
    try:
        parameters = list(inspect.signature(cls.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    out = []
    for parameter in parameters:
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            break
        out.append((parameter.name, parameter.default))
    return out


def _short_repr(value: Any, limit: int = 40) -> str:
    if isinstance(value, np.dtype):
        text = str(value)
    elif isinstance(value, type):
        text = value.__name__
    else:
        try:
            text = repr(value)
        except Exception:
            text = type(value).__name__
        if " at 0x" in text or " object at " in text:  # no memory addresses: deterministic
            text = type(value).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
