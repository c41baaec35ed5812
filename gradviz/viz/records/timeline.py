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

import bisect
import csv
import io
import itertools
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import networkx as nx
import numpy as np

from gradviz.autograd.errors import ArgumentError, GradvizError
from gradviz.viz.records.files import atomic_write
from gradviz.viz.records.identity import structural_keys, structure
from gradviz.viz.records.schema import node_view
from gradviz.viz.records.stats import KEYS

__all__ = [
    "FIELDS",
    "ROW_DTYPE",
    "Timeline",
    "TimelineKeyError",
    "from_json",
    "json_number",
    "root_loss",
    "row",
    "stats_values",
]

#: The numeric columns of a row, in order: value and gradient statistics, then the update.
FIELDS: tuple[str, ...] = (
    *(f"value_{key}" for key in KEYS),
    *(f"grad_{key}" for key in KEYS),
    "update_norm",
    "update_ratio",
)
#: One row per (step, node); absent statistics are NaN.
ROW_DTYPE = np.dtype([("step", "i8"), ("node", "i4"), *((name, "f8") for name in FIELDS)])
#: ``format`` and ``version`` of :meth:`Timeline.to_dict`'s JSON.
TIMELINE_FORMAT = ("gradviz-timeline", 1)
#: What the timeline keeps of each node (from the latest step that had it).
NODE_META = ("kind", "op", "module", "name", "shape", "source")


class TimelineKeyError(GradvizError, KeyError):
    """A node or a column that the timeline does not have (a KeyError)."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0])


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


_NO_STATS = (math.nan,) * len(KEYS)


def stats_values(stats: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """A statistics dict as the values of the :data:`KEYS` columns (NaN where absent)."""
    if not stats:
        return _NO_STATS
    try:  # KEYS, in order
        values = (
            stats["min"],
            stats["max"],
            stats["mean"],
            stats["std"],
            stats["norm"],
            stats["nan"],
            stats["inf"],
        )
    except KeyError:  # statistics made by hand may leave some out
        values = tuple(map(stats.get, KEYS))
    if None in values:  # statistics with no finite element
        return tuple(_float(value) for value in values)
    return values


def row(
    node: int,
    value: Mapping[str, Any] | None,
    grad: Mapping[str, Any] | None,
    update: Mapping[str, float] | None = None,
) -> tuple[Any, ...]:
    """One row as a tuple for ``np.array(rows, ROW_DTYPE)`` (step 0: :meth:`Timeline.add_rows`
    fills it in): node index, value and gradient statistics, the update (NaN where absent)."""
    norm, ratio = (update["norm"], update["ratio"]) if update else (math.nan, math.nan)
    return (0, node, *stats_values(value), *stats_values(grad), norm, ratio)


def root_loss(graph: nx.DiGraph) -> float | None:
    """The loss of a step's graph: the value of its root when that is one number (a scalar),
    else None."""
    root = graph.graph.get("root")
    if root is None or root not in graph:
        return None
    view = node_view(graph, root)
    if view.shape is None or math.prod(view.shape) != 1 or not view.value:
        return None
    if view.value.get("nan"):
        return math.nan
    return view.value.get("mean")


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

    def __repr__(self) -> str:  # the lists and rows of a long run would fill a screen
        steps = f"{self.steps[0]}..{self.steps[-1]}" if self.steps else "none"
        rows = len(self.data) + sum(len(chunk) for chunk in self._chunks)
        return (
            f"Timeline(steps={len(self.steps)} ({steps}), nodes={len(self.keys)}, rows={rows}, "
            f"changed_steps={self.changed_steps[:5]}{'...' if len(self.changed_steps) > 5 else ''})"
        )

    # -- building -------------------------------------------------------------------------------
    def key_index(self, key: str, meta: Mapping[str, Any]) -> int:
        """The row index of ``key``, registering it (and refreshing its metadata)."""
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.keys)
            self.keys.append(key)
        if self.nodes.get(key) != meta:
            self.nodes[key] = {name: meta.get(name) for name in NODE_META}
        return index

    def rename_keys(self, renames: Mapping[str, tuple[str, Mapping[str, Any]]]) -> dict[str, str]:
        """Give nodes new keys (``{old: (new, metadata to change)}``), their rows kept; a new
        key another node already has is skipped. Returns ``{old: new}`` as done."""
        staying = set(self._index) - set(renames)
        done: dict[str, str] = {}
        for old, (new, _) in renames.items():
            if old in self._index and new not in staying and new not in done.values():
                done[old] = new
        indices = {old: self._index.pop(old) for old in done}
        for old, new in done.items():
            index = self._index[new] = indices[old]
            self.keys[index] = new
            self.nodes[new] = {**self.nodes.pop(old), **renames[old][1]}
        return done

    def add_rows(self, step: int, loss: float | None, rows: np.ndarray, shape: Any = None) -> None:
        """Append one recorded step: its loss and its rows (``ROW_DTYPE``, ``step`` filled in).
        ``shape`` (:func:`~gradviz.viz.records.identity.structure` of the step's graph) lists the
        step in ``changed_steps`` when it differs from the previous step's. Steps come in
        order, except from several threads, whose steps may end out of order."""
        position = bisect.bisect_left(self.steps, step)
        if position < len(self.steps) and self.steps[position] == step:
            raise ValueError(f"step {step} is already in the timeline")
        if shape is not None:
            if self._structure is not None and shape != self._structure:
                self.changed_steps.append(step)
            self._structure = shape
        rows["step"] = step
        self.steps.insert(position, step)
        self.loss.insert(position, _float(loss))
        self._chunks.append(rows)

    def until(self, step: int) -> Timeline:
        """A copy holding the recorded steps up to ``step`` (the timeline as it was then)."""
        count = int(np.searchsorted(self.steps, step, side="right"))
        data = self.rows_array()
        rows = data[data["step"] <= step].copy()
        keys = list(self.keys)
        return Timeline(
            steps=self.steps[:count],
            loss=self.loss[:count],
            keys=keys,
            nodes={k: dict(v) for k, v in self.nodes.items()},
            data=rows,
            changed_steps=[s for s in self.changed_steps if s <= step],
            _index=dict(self._index),
        )

    def step_rows(self, step: int) -> np.ndarray:
        """The rows of recorded step ``step`` (a view: writing it writes the timeline)."""
        for chunk in reversed(self._chunks):  # the latest steps are looked up
            if len(chunk) and chunk["step"][0] == step:
                return chunk
        data = self.data
        start, stop = np.searchsorted(data["step"], (step, step + 1))
        return data[start:stop]

    def add_graph(self, step: int, graph: nx.DiGraph, loss: float | None = None) -> None:
        """Append one step from a full graph (a pass of ``gradviz.trace()``): every node's value
        and gradient statistics and every parameter's update, keyed structurally."""
        keys = structural_keys(graph)
        rows = []
        for node, key in keys.items():
            view = node_view(graph, node)
            index = self.key_index(key, {name: getattr(view, name) for name in NODE_META})
            rows.append(row(index, view.value, view.grad, view.update))
        if loss is None:
            loss = root_loss(graph)
        rows = np.array(rows, ROW_DTYPE) if rows else np.zeros(0, ROW_DTYPE)
        self.add_rows(step, loss, rows, structure(graph))

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
            data = np.concatenate([self.data, *self._chunks])
            if np.any(np.diff(data["step"]) < 0):  # steps of several threads
                data = data[np.argsort(data["step"], kind="stable")]
            self.data = data
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
        if not isinstance(key, str) or key not in self._index:  # a list: unhashable
            raise TimelineKeyError(f"no node {key!r} in the timeline (give one node key)")
        if column not in FIELDS:
            raise TimelineKeyError(f"no column {column!r}; the columns are {', '.join(FIELDS)}")
        mine = data[data["node"] == self._index[key]]
        out[np.searchsorted(self.steps, mine["step"])] = mine[column]
        return out

    def to_csv(self, path: str | os.PathLike[str] | IO[str] | None = None) -> str | None:
        """Write the rows as CSV (a header, then one line per row; empty cells where absent) to
        the file ``path`` (atomically) or to an open text file; without one, return the text
        (as ``DataFrame.to_csv`` does)."""
        if not (path is None or hasattr(path, "write") or isinstance(path, str | os.PathLike)):
            raise ArgumentError(
                "to_csv takes a file path, an open text file or nothing (to get the text), "
                f"got {type(path).__name__}"
            )
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("step", "node", *FIELDS))
        for row in self.rows():
            writer.writerow(["" if value is None else value for value in row.values()])
        if path is None:
            return buffer.getvalue()
        if hasattr(path, "write"):
            path.write(buffer.getvalue())
        else:
            atomic_write(path, buffer.getvalue())
        return None

    # -- JSON -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The timeline as JSON-ready data, columnar (one list per column, docs/trace-schema.md):
        NaN is ``null``, infinities ``"Infinity"``/``"-Infinity"``."""
        data = self.rows_array()
        columns: dict[str, list[Any]] = {
            "step": data["step"].tolist(),
            "node": data["node"].tolist(),
        }
        for name in FIELDS:
            columns[name] = [json_number(value) for value in data[name].tolist()]
        return {
            "format": TIMELINE_FORMAT[0],
            "version": TIMELINE_FORMAT[1],
            "steps": list(self.steps),
            "loss": [json_number(value) for value in self.loss],
            "keys": list(self.keys),
            "nodes": {
                key: {**meta, "shape": _list(meta.get("shape"))} for key, meta in self.nodes.items()
            },
            "changed_steps": list(self.changed_steps),
            "columns": columns,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timeline:
        """The inverse of :meth:`to_dict`; ValueError (naming the field) for data it did not
        write: every field is checked, so a hand-edited file fails here, not in a page."""
        _need(isinstance(data, Mapping), "not an object")
        keys = _strings(_field(data, "keys", list), "keys")
        _need(len(set(keys)) == len(keys), "keys are repeated")
        nodes = _field(data, "nodes", dict)
        _need(set(keys) == set(nodes), "keys and nodes disagree")
        steps = _integers(_field(data, "steps", list), "steps")
        _need(all(a < b for a, b in itertools.pairwise(steps)), "steps must be increasing")
        loss = [from_json(value) for value in _field(data, "loss", list)]
        _need(len(loss) == len(steps), "steps and loss disagree")
        changed = _integers(_field(data, "changed_steps", list), "changed_steps")
        _need(set(changed) <= set(steps), "changed_steps names a step that is not in steps")
        rows = _rows(_field(data, "columns", dict), len(keys), set(steps))
        timeline = cls(
            steps=steps,
            loss=loss,
            keys=keys,
            nodes={key: _node_meta(nodes[key], key) for key in keys},
            data=rows,
            changed_steps=changed,
        )
        timeline._index = {key: index for index, key in enumerate(keys)}
        return timeline


def _need(condition: bool, problem: str) -> None:
    if not condition:
        raise ValueError(f"not a timeline: {problem}")


def _field(data: Mapping[str, Any], key: str, kind: type) -> Any:
    _need(key in data, f"no {key!r}")
    _need(
        type(data[key]) is kind,
        f"{key!r} must be a{'n' if kind is dict else ''} {'object' if kind is dict else 'list'}",
    )
    return data[key]


def _strings(values: list[Any], where: str) -> list[str]:
    _need(all(type(value) is str for value in values), f"{where} must be strings")
    return values


def _integers(values: list[Any], where: str, low: int = 0) -> list[int]:
    ok = all(type(value) is int and low <= value < 2**63 for value in values)
    _need(ok, f"{where} must be integers >= {low}")
    return values


def _node_meta(meta: Any, key: str) -> dict[str, Any]:
    """A node's metadata: text (or null) fields and a shape (a list of sizes, or null)."""
    _need(isinstance(meta, dict), f"nodes[{key!r}] must be an object")
    for name in NODE_META:
        value = meta.get(name)
        if name == "shape":
            _need(value is None or type(value) is list, f"nodes[{key!r}].shape must be a list")
            _integers(value or [], f"nodes[{key!r}].shape")
        else:
            _need(value is None or type(value) is str, f"nodes[{key!r}].{name} must be text")
    return {**meta, "shape": _tuple(meta.get("shape"))}


def _rows(columns: dict[str, Any], nkeys: int, steps: set[int]) -> np.ndarray:
    """The rows of the columnar ``columns``; each row's node in ``range(nkeys)``, its step in
    ``steps``."""
    step = _integers(_field(columns, "step", list), "columns.step")
    node = _integers(_field(columns, "node", list), "columns.node")
    size = len(step)
    rows = np.zeros(size, ROW_DTYPE)
    for name in FIELDS:
        values = _field(columns, name, list)
        _need(len(values) == size, f"column {name!r} has {len(values)} rows, not {size}")
        if name.endswith(("_nan", "_inf")):  # counts: null (absent) or whole numbers >= 0
            ok = all(v is None or (type(v) in (int, float) and 0 <= v < 2**63) for v in values)
            _need(ok, f"column {name!r} must hold counts (numbers >= 0 or null)")
        rows[name] = [from_json(value) for value in values]
    _need(len(node) == size, f"column 'node' has {len(node)} rows, not {size}")
    _need(all(index < nkeys for index in node), "a row names a node that is not in keys")
    _need(set(step) <= steps, "a row names a step that is not in steps")
    rows["step"], rows["node"] = step, node
    if size and np.any(np.diff(rows["step"]) < 0):
        raise ValueError("not a timeline: the rows are not in step order")
    return rows


def json_number(value: float | None) -> float | str | None:
    """A float as JSON: NaN (and None) as null, infinities as ``"Infinity"``/``"-Infinity"``."""
    if value is None:
        return None
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def from_json(value: Any) -> float:
    """The inverse of :func:`json_number` (null is NaN); ValueError for anything else."""
    if value is None:
        return math.nan
    if isinstance(value, str) and value in ("Infinity", "-Infinity"):
        return float(value)
    if type(value) not in (int, float):
        raise ValueError(f"not a timeline: {value!r} is not a number")
    return float(value)


def _list(shape: Any) -> list[int] | None:
    return None if shape is None else list(shape)


def _tuple(shape: Any) -> tuple[int, ...] | None:
    return None if shape is None else tuple(int(n) for n in shape)
