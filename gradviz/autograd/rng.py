"""The generator behind initialisation, dropout and shuffling; ``manual_seed`` resets it."""

from __future__ import annotations

import secrets

import numpy as np

from gradviz.autograd.errors import ArgumentError, OperandError

#: The seed of the default generator: random at start, as set by the last ``manual_seed``.
_initial_seed = secrets.randbits(63)
_generator = np.random.default_rng(_initial_seed)


def manual_seed(seed: int) -> np.random.Generator:
    """Make initialisation, dropout and shuffling reproducible (like ``torch.manual_seed``).

    As in PyTorch, any integer in ``[-2**63, 2**64)`` is a seed (negative ones are read modulo
    2**64, so -1 and 2**64 - 1 are the same seed) and floats are truncated to integers.
    """
    global _generator, _initial_seed
    _generator = _seeded(seed)
    _initial_seed = int(seed) % 2**64
    return _generator


def _seeded(seed: int) -> np.random.Generator:
    try:
        value = int(seed)
    except (TypeError, ValueError) as error:
        kind = OperandError if isinstance(error, TypeError) else ArgumentError
        raise kind(
            f"manual_seed: seed must be an integer, got {type(seed).__name__} {seed!r}"
        ) from None
    if not -(2**63) <= value < 2**64:
        raise ArgumentError(
            f"manual_seed: seed must be in [-2**63, 2**64) (a 64-bit integer), got {value}"
        )
    return np.random.default_rng(value % 2**64)


def default_generator() -> np.random.Generator:
    """The generator in use (replaced by every ``manual_seed`` call)."""
    return _generator


class Generator:
    """PyTorch's ``torch.Generator``: its own stream of random numbers, passed as ``generator=``
    to ``randn``, ``rand``, ``randint``, ``randperm`` and ``multinomial``."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.generator = np.random.default_rng()

    def manual_seed(self, seed: int) -> Generator:
        """Reseed this generator (the same seeds as ``gradviz.manual_seed``); returns self."""
        self.generator = _seeded(seed)
        return self


def pick(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator=`` (the default one for None)."""
    if generator is None:
        return _generator
    if not isinstance(generator, Generator):
        raise OperandError(f"generator must be a gradviz.Generator, got {type(generator).__name__}")
    return generator.generator
