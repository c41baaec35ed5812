"""A gradient that is zero but for one slice (what slicing ops' rules return), and when the
backward engine alone holds a share so that another can be added into it in place."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


def _refs_when_alone() -> int:
    """The reference count the backward loop sees for a share its ``shares`` dict alone holds
    (counted as the loop counts it: the dict, the local name, the call's argument)."""
    shares = {0: np.empty(1)}
    total = shares[0]
    return refcount(total)


#: A share held by nothing but the engine (no other holder, no view into it: a view refers to
#: its base) can take the next share in place, as PyTorch's input buffer accumulates: one
#: array less per fan-in (each residual connection).
refcount = sys.getrefcount
ALONE = _refs_when_alone()


class Scattered:
    """A gradient that is zero but for ``values`` at the basic index ``where`` of an array of
    ``shape``, as the rules of slicing ops (``split``, ``x[a:b]``) return it: the engine adds
    it into the share it already holds (one slice read and written) rather than adding a
    zero-padded copy (the whole array allocated, zeroed and added)."""

    __slots__ = ("shape", "values", "where")

    def __init__(self, shape: tuple[int, ...], where: Any, values: np.ndarray) -> None:
        self.shape, self.where, self.values = shape, where, values

    def dense(self) -> np.ndarray:
        """The gradient as an ndarray: zeros, and ``values`` at ``where``."""
        out = np.zeros(self.shape, dtype=self.values.dtype)
        out[self.where] = self.values
        return out

    def add_into(self, shares: dict[int, np.ndarray], key: int) -> bool:
        """Add into ``shares[key]`` in place if the engine alone holds that array (as the
        backward loop's own in-place accumulation requires); whether it did."""
        total = shares.get(key)
        if (
            total is None
            or total.base is not None
            or refcount(total) > ALONE
            or not total.flags.writeable
            or total.shape != self.shape
            or total.dtype != self.values.dtype
        ):
            return False
        total[self.where] += self.values
        return True


def dense(grad: Any) -> Any:
    """A rule's gradient as an array (a :class:`Scattered` one made dense), for callers of
    backward rules other than the engine."""
    return grad.dense() if type(grad) is Scattered else grad
