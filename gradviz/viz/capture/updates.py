"""Optimizer updates: how far each parameter moved in one optimizer step (the update norm) and
how far relative to its size (update norm / weight norm).

The recorder copies each parameter the step is about to change (:meth:`Updates.copy`) and
measures it after the step (:meth:`Updates.measure`). Copies go into one buffer per parameter,
reused step after step, and given to a pool shared by every trace when the trace ends
(:meth:`Updates.release`), where the next trace takes them: a fresh parameter-sized array at
every step (or every trace: ``with gradviz.trace(): step()`` in a loop) costs page faults, more
than the copy itself.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Container, Mapping
from typing import Any

import numpy as np

from gradviz.viz.capture.stats import diff_norm, l2_norm
from gradviz.viz.records.schema import OpCall
from gradviz.viz.records.stats import Stats

#: The pool keeps at most this many bytes of buffers between traces.
POOL_BYTES = 64 << 20
_pool: dict[tuple[tuple[int, ...], np.dtype], list[np.ndarray]] = {}
_pool_bytes = 0
_pool_lock = threading.Lock()


def _take(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A free buffer of ``shape`` and ``dtype`` from the pool (a new one when none is free)."""
    global _pool_bytes
    with _pool_lock:
        free = _pool.get((shape, dtype))
        if free:
            buffer = free.pop()
            _pool_bytes -= buffer.nbytes
            return buffer
    return np.empty(shape, dtype)


def _give_back(buffer: np.ndarray) -> None:
    """Give ``buffer`` to the pool (dropped when the pool is full)."""
    global _pool_bytes
    with _pool_lock:
        if _pool_bytes + buffer.nbytes <= POOL_BYTES:
            _pool.setdefault((buffer.shape, buffer.dtype), []).append(buffer)
            _pool_bytes += buffer.nbytes


__all__ = ["Updates", "learning_rate", "swap_arrays"]


def learning_rate(optimizer: Any) -> float | None:
    """The learning rate of ``optimizer``'s first parameter group (None when it has none)."""
    groups = getattr(optimizer, "param_groups", None) or [{}]
    lr = groups[0].get("lr")
    return float(lr) if isinstance(lr, int | float) else None


class Updates:
    """Per-parameter copies taken before an optimizer step, and the update measured after."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def copy(self, node: str, data: np.ndarray, keep: bool) -> np.ndarray:
        """A copy of parameter ``node``'s array before the step; ``keep``: a new array its
        owner keeps (else a buffer reused at the next step)."""
        if keep:
            return data.copy()
        buffer = self._buffers.get(node)
        if buffer is None or buffer.shape != data.shape or buffer.dtype != data.dtype:
            if buffer is not None:
                _give_back(buffer)
            buffer = self._buffers[node] = _take(data.shape, data.dtype)
        np.copyto(buffer, data)
        return buffer

    def release(self) -> None:
        """The trace ended: give the buffers to the pool for the next trace."""
        for buffer in self._buffers.values():
            _give_back(buffer)
        self._buffers.clear()

    def take(
        self,
        optimizer: Any,
        var_nodes: Mapping[int, str],
        wanted: Container[str],
        done: Container[str],
        keep: bool,
    ) -> dict[str, tuple[Any, np.ndarray]]:
        """``{node id: (parameter, copy)}`` of the parameters with a gradient that ``optimizer``
        is about to change, recorded as a node in ``wanted`` and not already in ``done``."""
        before = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                nid = var_nodes.get(p._id)
                if nid is not None and p._grad is not None and nid in wanted and nid not in done:
                    before[nid] = (p, self.copy(nid, p._data, keep))
        return before

    @staticmethod
    def measure(
        data: np.ndarray, old: np.ndarray, value: Stats | None, keep: bool
    ) -> tuple[float, float]:
        """``(update norm, update / weight ratio)`` of a parameter now ``data``, ``old`` before
        the step; ``value``: its statistics summarised at the forward (their norm is the weight
        norm unless NaN/Inf were left out of it). ``old`` is overwritten unless ``keep``.
        Call it under ``np.errstate(all="ignore")`` (once for all the parameters of a step):
        NaN and Inf measure as NaN and Inf."""
        if value and value["norm"] is not None and not value["nan"] + value["inf"]:
            weight = value["norm"]
        else:
            weight = l2_norm(old)
        if keep:
            norm = diff_norm(data, old)
        else:
            norm = l2_norm(np.subtract(data, old, out=old))
        if weight > 0 or math.isnan(weight):  # a NaN weight has no ratio, it was not 0
            ratio = norm / weight
        else:
            ratio = 0.0 if norm == 0 else float("inf")
        return norm, ratio


def swap_arrays(calls: dict[str, OpCall], swap: dict[int, Any]) -> None:
    """In the kept op calls, replace each array ``id`` in ``swap`` by its pre-step copy."""
    for nid, (cls, values, needs) in calls.items():
        if any(id(v) in swap for v in values):
            calls[nid] = (cls, tuple(swap.get(id(v), v) for v in values), needs)
