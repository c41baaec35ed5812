"""Module buffers in a trace (``register_buffer``: BatchNorm's running statistics): their change
during a step.

A buffer is written in place during a forward (a training BatchNorm moves its running mean and
variance), after its module was entered; the engine reports the write once it is done. So the
value of each buffer of a module is kept when the module is first entered in a step, and a write
measures the change from it: the ``update`` of the buffer's node in the step's pass, like a
parameter's optimizer update. Only buffers of at most ``MAX_KEPT`` elements are kept (running
statistics are one number per channel); a large buffer (a registered attention mask) is a
constant, and copying it at every step would cost more than it tells.
"""

from __future__ import annotations

import numpy as np

from gradviz.autograd.nn.module import Module
from gradviz.autograd.variable import Variable
from gradviz.viz.capture.stats import diff_norm, l2_norm
from gradviz.viz.records.schema import Pass

#: buffers with more elements than this are not kept: their in-place writes show no change
MAX_KEPT = 65_536


class BufferChanges:
    """The buffers' values at the start of the current step and their changes so far."""

    def __init__(self) -> None:
        self.base: dict[int, np.ndarray] = {}  # Variable._id -> its value at the step's start
        self.updates: dict[str, dict[str, float]] = {}  # node id -> {"norm", "ratio"}

    def entered(self, module: Module) -> None:
        """``module`` starts its forward: keep its buffers' values (once per step)."""
        base = self.base
        for buffer in module._buffers.values():
            if buffer is not None and buffer._id not in base and buffer._data.size <= MAX_KEPT:
                base[buffer._id] = buffer._data.copy()

    def written(self, nid: str, buffer: Variable) -> None:
        """Buffer ``buffer`` (node ``nid``) was written in place: its change in this step."""
        base = self.base.get(buffer._id)
        if base is None or base.shape != buffer._data.shape:
            return
        with np.errstate(all="ignore"):
            if buffer._data.dtype.kind == "f":
                norm, weight = diff_norm(buffer._data, base), l2_norm(base)
            else:  # an integer counter (num_batches_tracked)
                wide = base.astype(np.float64)
                norm, weight = l2_norm(buffer._data - wide), l2_norm(wide)
        ratio = norm / weight if weight > 0 else (0.0 if norm == 0 else float("inf"))
        self.updates[nid] = {"norm": norm, "ratio": ratio}

    def attach(self, new: Pass, nodes: frozenset[str]) -> None:
        """Give the buffers of pass ``new`` (its ``nodes``) their change in this step."""
        for nid, update in self.updates.items():
            if nid in nodes:
                new.set_update(nid, update)

    def next_step(self) -> None:
        """A backward ended: the next step's changes start from the values then."""
        self.base.clear()
        self.updates.clear()
