"""Many steps, cheaply: the rows a recorded backward pass adds to the trace's timeline.

At the end of each recorded backward call the recorder hands over the records of the pass (the
root and everything it was computed from, plus the models' parameters, in recording order) and
the gradient statistics of its backward steps; :class:`StepRows` turns them into one
:class:`~gradviz.viz.records.timeline.Timeline` row per node, keyed structurally exactly as
:func:`~gradviz.viz.records.identity.structural_keys` keys the pass's graph, without building
the graph. The optimizer step that follows fills in the parameters' updates.
"""

from __future__ import annotations

import math
import struct
import weakref
from collections.abc import Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np

from gradviz.autograd.variable import Variable
from gradviz.viz.capture.naming import Naming
from gradviz.viz.records.graph import join_path
from gradviz.viz.records.identity import KeyMaker, NodeShape, module_path_in, use_order
from gradviz.viz.records.schema import NodeRecord, Step
from gradviz.viz.records.stats import KEYS
from gradviz.viz.records.timeline import FIELDS, ROW_DTYPE, Timeline, stats_values

_NO_UPDATE = (math.nan, math.nan)
_NO_STATS = (math.nan,) * len(KEYS)
#: a record's statistics as the values of the :data:`KEYS` columns, in order
_STATS = itemgetter(*KEYS)
#: the fields of a record that its timeline key and metadata depend on (with its parents)
_LAYOUT = attrgetter("kind", "op", "root", "module", "name", "shape", "dtype", "source")
#: ``ROW_DTYPE`` with its float columns (``FIELDS``, contiguous) seen as one array field
_PACKED = np.dtype(
    {
        "names": ["node", "values"],
        "formats": ["i4", ("f8", (len(FIELDS),))],
        "offsets": [ROW_DTYPE.fields["node"][1], ROW_DTYPE.fields[FIELDS[0]][1]],
        "itemsize": ROW_DTYPE.itemsize,
    }
)

__all__ = ["StepRows"]


class StepRows:
    """Appends recorded steps to ``timeline`` and fills in their updates.

    Most steps repeat the previous step's graph: when the records line up with the previous
    step's (same kinds, ops, modules, parameters, shapes, dtypes, sources and edges, under the
    same names), its keys and structure are reused and only the numbers are new."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._layout: list[tuple[Any, ...]] | None = None
        self._naming: Naming | None = None
        self._indices: list[int] = []
        self._shape: dict[str, NodeShape] = {}
        # how each key was made, to make it again under new names: a parameter's or buffer's
        # Variable id, or (top-level module index, module path within it)
        self._origins: dict[str, int | tuple[int, str]] = {}

    def add(
        self,
        index: int,
        loss: float | None,
        records: Sequence[NodeRecord],
        steps: Sequence[Step],
        naming: Naming,
        refs: Mapping[str, weakref.ref],
    ) -> dict[str, int]:
        """Append backward call ``index``: one row per record (in recording order). Returns
        ``{node id: its row}`` for :meth:`set_update`."""
        positions = {record.id: position for position, record in enumerate(records)}
        layout = [
            (
                _LAYOUT(r),
                r.var if r.kind == "param" else None,
                tuple([(positions.get(p), slot) for p, slot in r.parents]) if r.parents else (),
            )
            for r in records
        ]
        if layout != self._layout or naming is not self._naming:
            if self._naming is not None and naming is not self._naming:
                self._rename(naming)
            self._indices, self._shape = self._keys(records, naming, refs)
            self._layout, self._naming = layout, naming
        array = np.zeros(len(records), ROW_DTYPE)
        packed = array.view(_PACKED)  # the float columns as one block: one conversion
        packed["node"] = self._indices
        packed["values"] = _table(records, {step.node: step.grad for step in steps})
        self.timeline.add_rows(index, loss, array, self._shape)
        return positions

    def _keys(
        self,
        records: Sequence[NodeRecord],
        naming: Naming,
        refs: Mapping[str, weakref.ref],
    ) -> tuple[list[int], dict[str, NodeShape]]:
        """Each record's node index in the timeline (registering keys and metadata) and the
        step's structure, as :func:`~gradviz.viz.records.identity.structure` gives it."""
        prefixes, param_names, classes = naming
        maker = KeyMaker()
        keys: dict[str, str] = {}
        indices = []
        shape: dict[str, NodeShape] = {}
        by_id = {record.id: record for record in records}
        where = {r.id: _where(r, prefixes, param_names, refs) for r in records}

        def parents(nid: str) -> list[str]:
            order = sorted(by_id[nid].parents or (), key=lambda pair: pair[1])
            return [p for p, _ in order if p in by_id]

        for nid in use_order(list(by_id), parents, lambda n: by_id[n].kind == "input"):
            record = by_id[nid]
            module, name = where[nid]
            path = module_path_in(classes, module)  # the same in every step
            keys[nid] = maker.key(record.kind, record.op, path, name)
        for record in records:
            module, name = where[record.id]
            path = module_path_in(classes, module)
            key = keys[record.id]
            meta = {
                "kind": record.kind,
                "op": record.op,
                "module": module,
                "name": name,
                "shape": record.shape,
                "source": record.source,
            }
            indices.append(self.timeline.key_index(key, meta))
            if record.kind in ("param", "buffer") and record.var in param_names:
                self._origins[key] = record.var
            else:
                self._origins[key] = (record.root, record.module)
            shape[key] = NodeShape(
                record.kind, record.op, record.shape, record.dtype, path, _parents(record, keys)
            )
        return indices, shape

    def _rename(self, naming: Naming) -> None:
        """Rename the rows of earlier steps whose names changed: a model trained first has
        bare names (``0.weight``) until a bigger one runs and takes them (a GAN's
        discriminator becomes ``netD.0.weight``), and its rows go on under the new names."""
        prefixes, names, classes = naming
        renames: dict[str, tuple[str, dict[str, Any]]] = {}
        for key, origin in self._origins.items():
            if isinstance(origin, int):
                name = names.get(origin)
                if name is None:
                    continue
                new = f"{key.partition(':')[0]}:{name}"
                meta = {"module": name.rpartition(".")[0], "name": name}
            else:
                root, module = origin
                if not 0 <= root < len(prefixes):
                    continue
                full = join_path(prefixes[root], module)
                new = f"{module_path_in(classes, full)}/{key.rpartition('/')[2]}"
                meta = {"module": full}
            if new != key:
                renames[key] = (new, meta)
        done = self.timeline.rename_keys(renames)
        for old, new in done.items():
            self._origins[new] = self._origins.pop(old)

    def set_update(self, step: int, position: int, norm: float, ratio: float) -> None:
        """The update of the parameter in row ``position`` of recorded step ``step``."""
        rows = self.timeline.step_rows(step)
        rows["update_norm"][position] = norm
        rows["update_ratio"][position] = ratio


def _table(records: Sequence[NodeRecord], grads: Mapping[str, Any]) -> np.ndarray:
    """The float columns of the rows of ``records``: value and gradient statistics (``grads``
    by node id), NaN updates. Statistics packed as C doubles in one call; statistics made by
    hand (a key left out, a None) go through :func:`stats_values`."""
    values: list[Any] = []
    try:
        for r in records:
            value, grad = r.value, grads.get(r.id)
            values += _STATS(value) if value else _NO_STATS
            values += _STATS(grad) if grad else _NO_STATS
            values += _NO_UPDATE
        flat = np.frombuffer(struct.pack(f"{len(values)}d", *values), np.float64)
    except (KeyError, TypeError, struct.error):
        values = []
        for r in records:
            values += stats_values(r.value)
            values += stats_values(grads.get(r.id))
            values += _NO_UPDATE
        flat = np.array(values, np.float64)
    return flat.reshape(len(records), len(FIELDS))


def _where(
    record: NodeRecord,
    prefixes: Sequence[str],
    param_names: Mapping[int, str],
    refs: Mapping[str, weakref.ref],
) -> tuple[str, str | None]:
    """The module path and name of ``record`` as the graph build resolves them."""
    if record.kind == "param":
        full = param_names.get(record.var) if record.var is not None else None
        if full is not None:
            return full.rpartition(".")[0], full
        ref = refs.get(record.id)
        var = ref() if ref is not None else None
        if isinstance(var, Variable) and var.name is not None:  # named after its first use
            name = var.name
        else:
            name = record.name
    else:
        name = record.name
    if 0 <= record.root < len(prefixes):
        return join_path(prefixes[record.root], record.module), name
    return record.module, name


def _parents(record: NodeRecord, keys: Mapping[str, str]) -> tuple[Any, ...]:
    """``(parent key, slots)`` in slot order, as :func:`~gradviz.viz.records.identity.structure`
    reads them off the graph's edges (a parent filling several slots is one edge)."""
    if not record.parents:
        return ()
    slots: dict[str, tuple[int, ...]] = {}
    for parent, slot in record.parents:
        if parent in keys:
            slots[parent] = (*slots.get(parent, ()), slot)
    return tuple(sorted(((keys[p], s) for p, s in slots.items()), key=lambda pair: pair[1]))
