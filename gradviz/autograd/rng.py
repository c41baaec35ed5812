"""The generator behind initialisation, dropout and shuffling; ``manual_seed`` resets it."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Make initialisation, dropout and shuffling reproducible (like ``torch.manual_seed``)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The generator in use (replaced by every ``manual_seed`` call)."""
    return _generator
