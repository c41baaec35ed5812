"""Reproducibility as PyTorch's: the default generator's seed and state (saved with a
checkpoint, restored on resume) and the deterministic-algorithms switch."""

from __future__ import annotations

import contextlib
import json
import secrets
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, OperandError
from gradviz.autograd.variable import Variable

_deterministic = False
_warn_only = False


def initial_seed() -> int:
    """PyTorch's ``torch.initial_seed``: the seed of the default generator (the last
    ``manual_seed``, else the random one it started from)."""
    return rng._initial_seed


def seed() -> int:
    """PyTorch's ``torch.seed``: reseed the default generator with a random seed; returns it."""
    value = secrets.randbits(63)
    rng.manual_seed(value)
    return value


def get_rng_state() -> Variable:
    """PyTorch's ``torch.get_rng_state``: the default generator's state as a uint8 Variable
    (save it with a checkpoint; ``set_rng_state`` goes back to it and the same numbers follow)."""
    text = json.dumps(rng.default_generator().bit_generator.state, sort_keys=True)
    return Variable(np.frombuffer(text.encode(), dtype=np.uint8).copy())


def set_rng_state(new_state: Variable | np.ndarray) -> None:
    """PyTorch's ``torch.set_rng_state``: go back to a state ``get_rng_state`` returned."""
    array = np.asarray(getattr(new_state, "_data", new_state))
    try:
        if array.dtype != np.uint8 or array.ndim != 1:
            raise ValueError
        rng.default_generator().bit_generator.state = json.loads(array.tobytes().decode())
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise ArgumentError(
            "set_rng_state: expected a state get_rng_state() returned (a 1-d uint8 tensor), "
            f"got dtype {array.dtype}, shape {array.shape}"
        ) from None


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """PyTorch's switch, accepted: every gradviz op is deterministic on the CPU already."""
    global _deterministic, _warn_only
    if not isinstance(mode, bool) or not isinstance(warn_only, bool):
        raise OperandError(
            f"use_deterministic_algorithms: mode and warn_only must be bools, got {mode!r}, "
            f"{warn_only!r}"
        )
    _deterministic, _warn_only = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    """Whether ``use_deterministic_algorithms(True)`` was called last."""
    return _deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether ``use_deterministic_algorithms`` was last given ``warn_only=True``."""
    return _warn_only


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """PyTorch's other switch: ``"default"``/0 off, ``"warn"``/1 warn only, ``"error"``/2 on."""
    modes = {"default": 0, "warn": 1, "error": 2}
    level = modes.get(debug_mode, debug_mode) if isinstance(debug_mode, str) else debug_mode
    if level not in (0, 1, 2) or isinstance(level, bool):
        raise ArgumentError(
            "invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
            f"got {debug_mode!r}"
        )
    use_deterministic_algorithms(level > 0, warn_only=level == 1)


def get_deterministic_debug_mode() -> int:
    """0 off, 1 warn only, 2 on (as ``set_deterministic_debug_mode``)."""
    return 0 if not _deterministic else 1 if _warn_only else 2


@contextlib.contextmanager
def fork_rng(devices: Any = None, enabled: bool = True, **kwargs: Any) -> Iterator[None]:
    """PyTorch's ``torch.random.fork_rng``: the default generator's state is put back when the
    block ends, so the numbers drawn inside do not change the ones after it."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def random_module(package: str) -> types.ModuleType:
    """``<package>.random``: PyTorch's ``torch.random`` (seeding and ``fork_rng``)."""
    module = types.ModuleType(f"{package}.random", "PyTorch's torch.random: seeding, fork_rng.")
    module.manual_seed = rng.manual_seed  # type: ignore[attr-defined]
    for function in (seed, initial_seed, get_rng_state, set_rng_state, fork_rng):
        setattr(module, function.__name__, function)
    return module
