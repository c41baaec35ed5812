"""How far each optimizer step (or update written by hand) moved the parameters: the
recorder's half that copies parameters before a step and measures them after it.

:class:`UpdateMeasures` is mixed into :class:`~gradviz.viz.capture.recorder.Recorder`: the
parameters of the awaited step are copied when an optimizer step begins (or, for a parameter no
optimizer has stepped, when its backward pass ends: ``w -= lr * w.grad`` under ``no_grad``) and
each update's norm and update-to-weight ratio is set on the step's pass and timeline row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.variable import Variable
from gradviz.viz.capture.state import ThreadState
from gradviz.viz.capture.updates import learning_rate, swap_arrays
from gradviz.viz.records.schema import NodeRecord, Step

__all__ = ["UpdateMeasures"]


class UpdateMeasures:
    """The recorder's parameter-update measures (its attributes are the recorder's)."""

    updates: Any
    var_nodes: dict[int, str]
    records: dict[str, NodeRecord]
    refs: dict[str, Any]
    optimized: set[int]
    rows: Any
    policy: Any

    def _before_update(self, optimizer: Any, local: ThreadState) -> None:
        """Copy the parameters of the awaited step that ``optimizer`` is about to change."""
        local.before.clear()
        if local.awaited is None:
            return
        positions = local.awaited[1]
        # The runner keeps one pass: its ops keep the pre-step values. (Under gradviz.trace()
        # they see the updated ones: a copy per step and parameter costs page faults. The
        # gradient check stays exact either way: it re-runs forward and backward on the same
        # arrays.)
        keep = self._keeps_step_values(local)
        local.before = self.updates.take(optimizer, self.var_nodes, positions, local.updated, keep)

    def _after_update(self, optimizer: Any, local: ThreadState) -> None:
        """Measure the updates of the parameters copied before the step."""
        pending = local.pending
        if pending is not None:
            pending.optimizer = type(optimizer).__name__
            pending.learning_rate = learning_rate(optimizer)
            held = {self.var_nodes.get(p._id) for g in optimizer.param_groups for p in g["params"]}
            pending.stepped = (pending.stepped or frozenset()) | (held - {None})
        for nid, (p, _) in local.before.items():
            self.optimized.add(p._id)
            local.by_hand.pop(nid, None)
        self._measure_updates(local.before, local, changed_only=False)
        local.before.clear()

    def _copy_for_hand_updates(
        self, records: list[NodeRecord], steps: list[Step], local: ThreadState
    ) -> None:
        """Copy the parameters of a kept pass that got a gradient and that no optimizer has
        stepped yet: a hand-written update (``w -= lr * w.grad`` under ``no_grad``) is
        measured against the copy when the step ends (a first optimizer step takes over)."""
        local.by_hand.clear()
        candidates = [r for r in records if r.kind == "param" and r.var not in self.optimized]
        if not candidates:
            return
        with_grad = {s.node for s in steps}
        keep = self._keeps_step_values(local)
        for r in candidates:
            if r.id not in with_grad:
                continue
            ref = self.refs.get(r.id)
            p = ref() if ref is not None else None
            if isinstance(p, Variable):
                local.by_hand[r.id] = (p, self.updates.copy(r.id, p._data, keep))

    def _measure_by_hand(self, local: ThreadState) -> None:
        """The awaited step ends: the update of each parameter changed by hand since its pass."""
        if local.by_hand:
            mine = {nid: v for nid, v in local.by_hand.items() if nid not in local.updated}
            local.by_hand.clear()
            self._measure_updates(mine, local, changed_only=True)

    def _keeps_step_values(self, local: ThreadState) -> bool:
        """Whether the kept op calls take the parameters' pre-step values (the runner's one
        pass with calls to check), so the copies are new arrays rather than reused buffers."""
        return bool(self.policy.keeps_one and local.pending is not None and local.pending.calls)

    def _measure_updates(
        self, before: dict[str, tuple[Any, np.ndarray]], local: ThreadState, changed_only: bool
    ) -> None:
        """Record the update of each parameter against its copy from ``before`` (on the awaited
        step's pass and timeline row); ``changed_only``: skip a parameter that did not move."""
        pending = local.pending
        calls = pending.calls if pending is not None else None
        keep = self._keeps_step_values(local)
        swap: dict[int, np.ndarray] = {}
        with np.errstate(all="ignore"):  # NaN and Inf measure as NaN and Inf
            for nid, (p, old) in before.items():
                record = self.records.get(nid)
                value = record.value if record is not None else None
                norm, ratio = self.updates.measure(p._data, old, value, keep)
                if changed_only and norm == 0:
                    continue
                if keep:
                    swap[id(p._data)] = old
                if pending is not None:
                    pending.set_update(nid, {"norm": norm, "ratio": ratio})
                awaited = local.awaited
                if self.rows is not None and awaited is not None and nid in awaited[1]:
                    self.rows.set_update(awaited[0], awaited[1][nid], norm, ratio)
                local.updated.add(nid)
        if swap and calls:
            swap_arrays(calls, swap)
