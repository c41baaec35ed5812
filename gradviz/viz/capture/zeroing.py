"""Gradients never zeroed between training steps: which parameters' ``.grad`` still holds a
gradient from before an optimizer step when the next backward call adds into it.

PyTorch's leaves accumulate into ``.grad`` across backward calls; ``optimizer.zero_grad()``
(``model.zero_grad()``, ``p.grad = None``, ``p.grad.zero_()``) resets it. :class:`StaleGrads`
notes, after each optimizer step, the parameters it held that had a gradient; at the next
backward call those whose ``.grad`` is still there and not all zeros are stale (the step's
gradient is added to the previous one's). Several backward calls between one reset and one
step (gradient accumulation on purpose) are never stale: no step came between them.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

__all__ = ["StaleGrads"]


class StaleGrads:
    """The parameters whose ``.grad`` was last seen holding a gradient an optimizer stepped
    with, and by which optimizer (its class name; ``"Adam #2"`` for a second Adam)."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[weakref.ref[Any], str]] = {}  # engine id -> (param, label)
        self._labels: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._classes: dict[str, int] = {}

    def stepped(self, optimizer: Any) -> None:
        """``optimizer.step()`` ended: its parameters with a gradient hold a stepped one."""
        label = self._label(optimizer)
        for group in optimizer.param_groups:
            for p in group["params"]:
                if getattr(p, "_grad", None) is not None:
                    self._held[p._id] = (weakref.ref(p), label)

    def found(self, var_nodes: dict[int, str]) -> tuple[tuple[str, str], ...]:
        """A backward call begins: ``(parameter node, optimizer)`` for each parameter whose
        ``.grad`` still holds a stepped gradient (it will be added to); those reset since the
        step (None, or all zeros) are forgotten."""
        out = []
        for var_id, (ref, label) in list(self._held.items()):
            p = ref()
            grad = None if p is None else p._grad
            if grad is None or not np.any(grad):
                del self._held[var_id]
            elif var_id in var_nodes:
                out.append((var_nodes[var_id], label))
        return tuple(out)

    def _label(self, optimizer: Any) -> str:
        label = self._labels.get(optimizer)
        if label is None:
            name = type(optimizer).__name__
            count = self._classes[name] = self._classes.get(name, 0) + 1
            label = self._labels[optimizer] = name if count == 1 else f"{name} #{count}"
        return label
