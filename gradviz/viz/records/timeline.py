"""A training timeline: per recorded step, per node, the summary statistics of its value and
gradient, and per parameter its update; plus the loss of each step.

Nodes are matched across steps by their structural key (:mod:`gradviz.viz.records.identity`), so
``"param:0.weight"`` or ``"blocks.0.attn/MatMul#1"`` is one series over the whole run. The rows
live in one NumPy structured array (:data:`ROW_DTYPE`, the node as an index into ``keys``), which
keeps a thousand steps of a model small; ``rows()`` gives them as dicts and ``to_csv`` writes them.
A step whose graph differs from the previous recorded step's (a data-dependent branch, a changed
batch size) is listed in ``changed_steps``; its nodes keep their own keys, never merged wrongly.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from gradviz.viz.records.files import atomic_write
from gradviz.viz.records.identity import structural_keys, structure
from gradviz.viz.records.schema import node_view
from gradviz.viz.records.stats import KEYS

__all__ = ["FIELDS", "ROW_DTYPE", "Timeline", "to_dict"]

#: The numeric columns of a row, in order: value and gradient statistics, then the update.
FIELDS: tuple[str, ...] = (
    *(f"value_{key}" for key in KEYS),
    *(f"grad_{key}" for key in KEYS),
    "update_norm",
    "update_ratio",
)
#: One row per (step, node); absent statistics are NaN.
ROW_DTYPE = np.dtype([("step", "i8"), ("node", "i4"), *((name, "f8") for name in FIELDS)])
#: What the timeline keeps of each node (from the latest step that had it).
NODE_META = ("kind", "op", "module", "name", "shape", "source")


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


@dataclass
class Timeline:
    """Per-step summary statistics of a run (see the module docstring).

    ``steps`` are the recorded backward-call numbers (1-based, ascending), ``loss[i]`` the loss
    of ``steps[i]`` (NaN when the step had no scalar root), ``keys`` the structural keys in
    first-seen order with ``nodes[key]`` their metadata, ``data`` the rows.
    """

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    data: np.ndarray = field(default_factory=lambda: np.zeros(0, ROW_DTYPE))
    changed_steps: list[int] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _chunks: list[np.ndarray] = field(default_factory=list, repr=False)
    _structure: Any = field(default=None, repr=False)

    # -- building -------------------------------------------------------------------------------
    def key_index(self, key: str, meta: Mapping[str, Any]) -> int:
        """The row index of ``key``, registering it (and refreshing its metadata)."""
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.keys)
            self.keys.append(key)
        self.nodes[key] = {name: meta.get(name) for name in NODE_META}
        return index

    def add_rows(self, step: int, loss: float | None, rows: np.ndarray) -> None:
        """Append one recorded step: its loss and its rows (``ROW_DTYPE``, ``step`` filled in)."""
        if self.steps and step <= self.steps[-1]:
            raise ValueError(f"steps must be added in order: {step} after {self.steps[-1]}")
        rows["step"] = step
        self.steps.append(step)
        self.loss.append(_float(loss))
        self._chunks.append(rows)

    def add_graph(self, step: int, graph: nx.DiGraph, loss: float | None = None) -> None:
        """Append one step from a full graph (a pass of ``gradviz.trace()``): every node's value
        and gradient statistics and every parameter's update, keyed structurally."""
        shape = structure(graph)
        if self._structure is not None and shape != self._structure:
            self.changed_steps.append(step)
        self._structure = shape
        keys = structural_keys(graph)
        rows = np.zeros(len(keys), ROW_DTYPE)
        for row, (node, key) in zip(rows, keys.items(), strict=True):
            view = node_view(graph, node)
            row["node"] = self.key_index(key, {name: getattr(view, name) for name in NODE_META})
            for prefix, stats in (("value", view.value), ("grad", view.grad)):
                for stat in KEYS:
                    row[f"{prefix}_{stat}"] = _float((stats or {}).get(stat))
            update = view.update or {}
            row["update_norm"] = _float(update.get("norm"))
            row["update_ratio"] = _float(update.get("ratio"))
        self.add_rows(step, loss, rows)

    @classmethod
    def from_graphs(cls, graphs: Iterable[tuple[int, nx.DiGraph, float | None]]) -> Timeline:
        """A timeline of ``(step, graph, loss)`` triples (e.g. every pass of a full trace)."""
        timeline = cls()
        for step, graph, loss in graphs:
            timeline.add_graph(step, graph, loss)
        return timeline

    # -- reading --------------------------------------------------------------------------------
    def rows_array(self) -> np.ndarray:
        """All rows as one structured array (``ROW_DTYPE``), in step order."""
        if self._chunks:
            self.data = np.concatenate([self.data, *self._chunks])
            self._chunks.clear()
        return self.data

    def rows(self) -> list[dict[str, Any]]:
        """One dict per (step, node): ``step``, ``node`` (the structural key) and :data:`FIELDS`
        (None where absent)."""
        return [
            {
                "step": int(row["step"]),
                "node": self.keys[row["node"]],
                **{name: None if math.isnan(row[name]) else float(row[name]) for name in FIELDS},
            }
            for row in self.rows_array()
        ]

    def series(self, key: str, column: str) -> np.ndarray:
        """``column`` of node ``key`` at every recorded step (NaN where the step lacks it)."""
        data = self.rows_array()
        out = np.full(len(self.steps), np.nan)
        if key not in self._index:
            raise KeyError(f"no node {key!r} in the timeline")
        mine = data[data["node"] == self._index[key]]
        out[np.searchsorted(self.steps, mine["step"])] = mine[column]
        return out

    def to_csv(self, path: str | Any) -> None:
        """Write the rows as CSV (a header, then one line per row; empty cells where absent)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("step", "node", *FIELDS))
        for row in self.rows():
            writer.writerow(["" if value is None else value for value in row.values()])
        atomic_write(path, buffer.getvalue())


#: ``format`` and ``version`` of :func:`to_dict`'s JSON.
TIMELINE_FORMAT = ("gradviz-timeline", 1)


def _cell(value: float) -> float | str | None:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(f"{value:.6g}")


def _column(values: np.ndarray) -> list[float | str | None]:
    """Floats with 6 significant digits, None where NaN (absent), Inf as ``"Infinity"``."""
    return [_cell(v) for v in values.tolist()]


def to_dict(timeline: Timeline) -> dict[str, Any]:
    """The timeline as columnar JSON-ready data: ``steps``, ``loss``, ``keys``, ``nodes``,
    ``changed_steps`` and ``columns`` (``step``, ``node`` as an index into ``keys``, then each
    of :data:`FIELDS`, one entry per row; None where absent, ``"Infinity"`` for Inf, e.g. the
    update ratio of a weight that was 0)."""
    data = timeline.rows_array()
    columns: dict[str, list[Any]] = {
        "step": data["step"].tolist(),
        "node": data["node"].tolist(),
    }
    for name in FIELDS:
        columns[name] = _column(data[name])
    return {
        "format": TIMELINE_FORMAT[0],
        "version": TIMELINE_FORMAT[1],
        "steps": list(timeline.steps),
        "loss": _column(np.asarray(timeline.loss, dtype=np.float64)),
        "keys": list(timeline.keys),
        "nodes": {key: dict(meta) for key, meta in timeline.nodes.items()},
        "changed_steps": list(timeline.changed_steps),
        "columns": columns,
    }
