"""The flight recorder (``gradviz watch``): record a whole run cheaply, catch the step where
training went wrong, and keep that step in full.

:class:`FlightRecorder` is the capture policy: every backward call in summary detail (with the
full detail of the last ``keep`` calls), each recorded step fed to a
:class:`~gradviz.viz.diagnose.watchdog.Watchdog`. On a trigger it keeps the trigger step's full
pass and the one before it and, unless told to go on, completes the capture there (the script
runner then stops the script). :func:`write_trigger` writes what a trigger leaves behind.
"""

from __future__ import annotations

import bisect
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradviz.viz.capture.policy import EveryStep
from gradviz.viz.diagnose.nan import FILL_OPS
from gradviz.viz.diagnose.watchdog import SPIKE, ModelWatchdogs, Trigger, step_key
from gradviz.viz.records.io import SavedTrace
from gradviz.viz.records.schema import Pass
from gradviz.viz.records.timeline import Timeline
from gradviz.viz.trace import Trace, write_timeline_page

__all__ = ["Caught", "FlightRecorder", "write_trigger"]

#: at most this many triggers are kept in full with ``go_on`` (each holds two passes)
MAX_CAUGHT = 20


@dataclass
class Caught:
    """A trigger and what was kept of it: its full pass and the latest kept one before it
    of the same model and loss (:func:`~gradviz.viz.diagnose.watchdog.step_key`; two models
    trained in turn: the same model's)."""

    trigger: Trigger
    current: Pass | None
    previous: Pass | None


class FlightRecorder(EveryStep):
    """Every backward call recorded and watched (see the module docstring); ``caught`` lists
    the triggers in order."""

    def __init__(self, spike: float = SPIKE, go_on: bool = False) -> None:
        super().__init__()
        self.watchdogs = ModelWatchdogs(spike)  # two models trained in turn: one each
        self.go_on = go_on
        self.caught: list[Caught] = []
        self.dropped = 0  # triggers after the first MAX_CAUGHT: counted, not kept
        self._keys: dict[int, frozenset[str]] = {}  # step_key of the steps whose pass is kept

    def recorded(self, index: int, capture: Any) -> None:
        timeline: Timeline | None = capture._timeline
        at = bisect.bisect_left(timeline.steps, index) if timeline is not None else 0
        if timeline is None or at == len(timeline.steps) or timeline.steps[at] != index:
            return  # (steps of several threads may end out of order: not always the last)
        loss, grad_norm, bad = step_health(timeline, index)
        keys = [timeline.keys[i] for i in timeline.step_rows(index)["node"].tolist()]
        key = step_key(keys, timeline.nodes)
        kept = {p.index for p in capture.passes}
        self._keys = {i: k for i, k in self._keys.items() if i in kept}
        self._keys[index] = key
        trigger = self.watchdogs.observe(index, key, loss, grad_norm, bad)
        if trigger is None:
            return
        if len(self.caught) >= MAX_CAUGHT:
            self.dropped += 1
            return
        passes = [p for p in capture.passes if p.index <= index]
        current = passes[-1] if passes and passes[-1].index == index else None
        same = [p for p in passes[:-1] if self._keys.get(p.index) == key]
        previous = same[-1] if current is not None and same else None
        self.caught.append(Caught(trigger, current, previous))
        if not self.go_on:
            self.steps = index  # the capture is complete after this step's optimizer step
            self.awaiting = True


def step_health(timeline: Timeline, step: int) -> tuple[float | None, float, tuple[str, ...]]:
    """The loss of recorded ``step``, its total parameter-gradient norm and the nodes whose
    value or gradient holds a NaN/Inf (in recording order; a mask's -inf left out)."""
    rows = timeline.step_rows(step)
    keys = [timeline.keys[i] for i in rows["node"].tolist()]
    loss = timeline.loss[timeline.steps.index(step)]
    params = np.array([timeline.nodes[k].get("kind") == "param" for k in keys], dtype=bool)
    norms = rows["grad_norm"][params]
    norms = norms[np.isfinite(norms)]
    total = math.hypot(*norms.tolist())  # (no overflow at squares above 1e308)
    fills = np.array([timeline.nodes[k].get("op") in FILL_OPS for k in keys], dtype=bool)
    value_bad = (rows["value_nan"] > 0) | ((rows["value_inf"] > 0) & ~fills)
    grad_bad = (rows["grad_nan"] > 0) | (rows["grad_inf"] > 0)
    bad = tuple(k for k, b in zip(keys, (value_bad | grad_bad).tolist(), strict=True) if b)
    if math.isnan(loss) and not bad:  # no scalar root (backward(grad) of a tensor): no loss;
        return None, total, bad  # a NaN loss is a root whose value holds the NaN: in ``bad``
    return loss, total, bad


def _step_trace(trace: Trace, caught: Caught) -> Trace:
    """A trace of the trigger step's full pass (and the recorded one before it), with the
    timeline up to the trigger."""
    passes = [p for p in (caught.previous, caught.current) if p is not None]
    saved = SavedTrace(
        script=trace.script,
        backward_calls=caught.trigger.step,
        arrays=trace.arrays,
        max_array_size=trace.max_array_size,
        passes=passes,
        forward=None,
        events=(),
        detail="full",
        keep_full=len(passes),
        timeline=trace.timeline.until(caught.trigger.step),
    )
    return Trace.from_saved(saved)


def write_trigger(
    trace: Trace, caught: Caught, outdir: str | os.PathLike[str], stem: str
) -> tuple[list[Path], Any]:
    """Write what trigger ``caught`` leaves behind in ``outdir``: the trace of its step
    (``<stem>.step<N>.trace.json``), the check's marked pictures
    (``<stem>.step<N>.forward.svg``, ``.backward.svg``), the diff against the step before
    (``<stem>.step<N>.diff.svg``) and the timeline page up to it
    (``<stem>.step<N>.timeline.html``). Returns the files and the check's report (None when
    the step's full pass was not kept)."""
    from gradviz.viz.diagnose import pictures_graph
    from gradviz.viz.diagnose.diff import compare
    from gradviz.viz.draw.diff import write_diff
    from gradviz.viz.draw.output import write_views

    outdir = Path(outdir)
    base = outdir / f"{stem}.step{caught.trigger.step}"
    step_trace = _step_trace(trace, caught)
    written = [Path(f"{base}.trace.json")]
    step_trace.save(written[0])
    report = None
    if caught.current is not None:
        report = step_trace.check()
        graph = pictures_graph(step_trace, report)
        views = [(view, Path(f"{base}.{view}.svg")) for view in ("forward", "backward")]
        written += [done.path for done in write_views(graph, views, marks=report.marks())]
        if caught.previous is not None:
            path = Path(f"{base}.diff.svg")
            names = (f"step {caught.previous.index}", f"step {caught.current.index}")
            write_diff(compare(caught.previous.graph, caught.current.graph, names), path)
            written.append(path)
        path = Path(f"{base}.timeline.html")
        write_timeline_page(step_trace, path)
        written.append(path)
    return written, report
