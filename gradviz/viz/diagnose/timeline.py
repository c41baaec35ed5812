"""Findings over many steps: what a :class:`~gradviz.viz.records.timeline.Timeline` shows went
wrong, and at which recorded step.

- ``nan``: a value or a gradient has NaN/Inf, at the first step of each run of such steps,
  naming the first node (in recording order) that has them; Inf in the value of a fill
  (``masked_fill``, ``where``: a causal mask) is deliberate, as for ``gradviz check``;
- ``loss_spike``: the loss exceeds ``SPIKE`` times the running median of the last ``WINDOW``
  recorded losses, after ``WARMUP`` recorded steps, or their median at the end of the warm-up
  exceeds ``SPIKE`` times the median of the first three (the rule of the flight recorder,
  :class:`~gradviz.viz.diagnose.watchdog.Watchdog`), per model and loss: two models, or two
  losses, trained in turn are watched apart;
- ``dead_relu``: every output of a ReLU is zero (the whole layer is dead on that batch), at the
  first step of each run; summary statistics cannot tell single dead units apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradviz.viz.diagnose.nan import FILL_OPS
from gradviz.viz.diagnose.watchdog import SPIKE, WARMUP, WINDOW, ModelWatchdogs, step_key
from gradviz.viz.records.timeline import Timeline

__all__ = ["SPIKE", "WARMUP", "WINDOW", "StepFinding", "non_finite", "timeline_findings"]


@dataclass(frozen=True)
class StepFinding:
    """One finding at one recorded step: ``key`` is the node's structural key (None: the run as
    a whole, e.g. a loss spike)."""

    step: int
    kind: str
    severity: str
    message: str
    key: str | None = None


def timeline_findings(timeline: Timeline) -> list[StepFinding]:
    """Every finding of ``timeline``, by step (see the module docstring)."""
    found = [*_non_finite(timeline), *_spikes(timeline), *_dead(timeline)]
    order = {"nan": 0, "loss_spike": 1, "dead_relu": 2}
    return sorted(found, key=lambda f: (f.step, order[f.kind]))


def _label(timeline: Timeline, key: str) -> str:
    meta = timeline.nodes.get(key, {})
    what = meta.get("name") or meta.get("op") or meta.get("kind") or key
    module = meta.get("module")
    return f"{what} (module {module})" if module and not meta.get("name") else str(what)


def non_finite(timeline: Timeline, prefix: str) -> np.ndarray:
    """Per row of ``timeline.rows_array()``: whether its ``prefix`` ("value" or "grad") has
    NaN/Inf, leaving out the Inf a fill writes on purpose."""
    data = timeline.rows_array()
    bad = (data[f"{prefix}_nan"] > 0) | (data[f"{prefix}_inf"] > 0)
    if prefix == "value":
        fills = np.array([timeline.nodes[k].get("op") in FILL_OPS for k in timeline.keys])
        if len(fills):  # a timeline of no node has no fills (and ~False would be -1)
            bad &= ~(fills[data["node"]] & ~(data["value_nan"] > 0))
    return bad


def _non_finite(timeline: Timeline) -> list[StepFinding]:
    data = timeline.rows_array()
    found: list[StepFinding] = []
    for what, prefix in (("value", "value"), ("gradient", "grad")):
        bad = non_finite(timeline, prefix)
        bad_steps = set(np.unique(data["step"][bad]).tolist())
        previous = None
        for step in timeline.steps:
            if step in bad_steps and previous not in bad_steps:
                rows = data[(data["step"] == step) & bad]
                first = rows[0]  # a step's rows are in recording order
                key = timeline.keys[first["node"]]
                counts = _counts(first[f"{prefix}_nan"], first[f"{prefix}_inf"])
                others = f" (and {len(rows) - 1} more nodes)" if len(rows) > 1 else ""
                message = f"{what} of {_label(timeline, key)} has {counts}{others}"
                found.append(StepFinding(step, "nan", "error", message, key))
            previous = step
    return found


def _counts(nan: float, inf: float) -> str:
    parts = [f"{int(n)} {word}" for n, word in ((nan, "NaN"), (inf, "Inf")) if n > 0]
    return ", ".join(parts)


def _step_keys(timeline: Timeline) -> list[frozenset[str]]:
    """Per recorded step, its :func:`~gradviz.viz.diagnose.watchdog.step_key`, read from its
    parameters' rows and its last row only (a step has far more nodes than parameters)."""
    data = timeline.rows_array()
    node = data["node"]
    starts = np.searchsorted(data["step"], timeline.steps, side="left")
    stops = np.searchsorted(data["step"], timeline.steps, side="right")
    is_param = np.array([timeline.nodes[k].get("kind") == "param" for k in timeline.keys], bool)
    rows = np.flatnonzero(is_param[node]) if len(is_param) else np.zeros(0, np.int64)
    firsts, ends = np.searchsorted(rows, starts), np.searchsorted(rows, stops)
    params, keys = node[rows].tolist(), timeline.keys
    found = []
    for start, stop, first, end in zip(starts, stops, firsts, ends, strict=True):
        last = [keys[node[stop - 1]]] if stop > start else []
        found.append(step_key([keys[i] for i in params[first:end]] + last, timeline.nodes))
    return found


def _spikes(timeline: Timeline) -> list[StepFinding]:
    watchdogs = ModelWatchdogs()
    found: list[StepFinding] = []
    steps = zip(timeline.steps, timeline.loss, _step_keys(timeline), strict=True)
    for step, value, key in steps:
        finite = value if math.isfinite(value) else None  # NaN/Inf are the nan finding's
        fired = watchdogs.observe(step, key, finite, None)
        if fired is not None:
            found.append(StepFinding(step, "loss_spike", "warning", f"loss spike: {fired.message}"))
    return found


def _dead(timeline: Timeline) -> list[StepFinding]:
    data = timeline.rows_array()
    found: list[StepFinding] = []
    for index, key in enumerate(timeline.keys):
        if timeline.nodes[key].get("op") != "Relu":
            continue
        mine = data[data["node"] == index]
        was_dead = False
        for step, top in zip(mine["step"].tolist(), mine["value_max"].tolist(), strict=True):
            dead = top == 0
            if dead and not was_dead:
                message = f"every output of {_label(timeline, key)} is zero: the layer is dead"
                found.append(StepFinding(step, "dead_relu", "warning", message, key))
            was_dead = dead
    return found
