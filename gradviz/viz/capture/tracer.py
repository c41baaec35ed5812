"""The capture-side container of a trace: what a :class:`~gradviz.viz.capture.recorder.Recorder`
records into, and how a recording starts and stops.

:class:`Capture` installs its recorder (the engine hook that keeps plain records, see there) on
enter and uninstalls it in ``finally``; graphs are built from the records when someone looks at
them. Module paths and parameter names are resolved in :mod:`gradviz.viz.capture.naming`, op
option labels in :mod:`gradviz.viz.capture.options`. The user-facing :class:`gradviz.Trace`
(``check()``, ``render()``, ``save()``) builds on it in :mod:`gradviz.viz.trace`.
"""

from __future__ import annotations

import os
from collections import deque
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import GradvizError
from gradviz.viz.capture.policy import EveryPass, EveryStep, Policy, PolicyError
from gradviz.viz.capture.recorder import Recorder
from gradviz.viz.records.graph import build_graph
from gradviz.viz.records.schema import MAX_EVENTS, Event, Pass, Step
from gradviz.viz.records.timeline import Timeline

if TYPE_CHECKING:
    from typing_extensions import Self

    from gradviz.viz.records.io import SavedTrace

__all__ = ["DETAILS", "Capture", "TraceError"]

#: What a recorded step keeps: "full" (every node's records, the graph on demand: a Pass) or
#: "summary" (its timeline rows, plus full passes of the last ``keep_full`` steps).
DETAILS = ("full", "summary")


class TraceError(GradvizError, RuntimeError):
    """A Trace used the wrong way (entered twice, no such pass)."""


def _count(value: Any, low: int, problem: str) -> int:
    """``value`` as an int when it is an integer (a NumPy one too, as PyTorch takes) of at
    least ``low``, else :class:`PolicyError` (``True`` or ``1.0`` would pass for 1)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= low:
        return int(value)
    raise PolicyError(f"{problem}, got {value!r}")


class Capture:
    """The result of tracing: backward passes with their graphs, and events.

    Use :func:`gradviz.trace` (or :func:`gradviz.load_trace` for a saved one). ``passes`` holds one
    :class:`Pass` per backward call; ``graph`` and ``steps`` are the last pass's. Before any
    backward, ``graph`` is the forward graph of everything recorded and ``steps`` is empty.
    """

    def __init__(
        self,
        arrays: bool = False,
        max_array_size: int = 10_000,
        *,
        steps: int | str = "all",
        every: int = 1,
        detail: str = "full",
        keep_full: int = 2,
        policy: Policy | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        script: str | None = None,
    ) -> None:
        """``steps``, ``every``, ``detail`` and ``keep_full``: see :func:`gradviz.trace`.
        ``policy``, ``base_dir`` and ``script`` serve the script runner: what to keep (default:
        :class:`EveryStep` of ``steps`` and ``every``; the runner keeps one step, see
        :mod:`gradviz.viz.capture.policy`) and source paths relative to ``base_dir``."""
        if detail not in DETAILS:
            raise PolicyError(f'detail must be "full" or "summary", got {detail!r}')
        keep_full = _count(keep_full, 0, "keep_full must be an integer >= 0")
        max_array_size = _count(  # a saved trace could not be loaded back
            max_array_size, 0, "max_array_size must be an integer >= 0"
        )
        if steps != "all":
            steps = _count(steps, 1, 'steps must be a positive integer or "all"')
        every = _count(every, 1, "every must be a positive integer")
        if policy is None:
            limit = None if steps == "all" else steps
            policy = EveryPass() if limit is None and every == 1 else EveryStep(limit, every)
        self.arrays = bool(arrays)
        self.max_array_size = max_array_size
        self.script = script
        self.detail = detail
        self.keep_full = keep_full
        # summary detail: the timeline, recorded as it goes (full detail: made of the passes)
        self._timeline: Timeline | None = Timeline() if detail == "summary" else None
        self._graphs_timeline: tuple[tuple[int, ...], Timeline] | None = None
        self.passes: list[Pass] = []
        self.backward_calls = 0
        self._events: deque[Event] = deque(maxlen=MAX_EVENTS)
        self._forward: nx.DiGraph | None = None
        self._recorder: Recorder | None = Recorder(self, policy, base_dir)
        self._state = "new"

    @classmethod
    def from_saved(cls, saved: SavedTrace) -> Self:
        """A finished trace made of the records of a trace file (it cannot record)."""
        loaded = cls.__new__(cls)
        loaded.script = saved.script
        loaded.backward_calls = saved.backward_calls
        loaded.arrays = saved.arrays
        loaded.max_array_size = saved.max_array_size
        loaded.passes = list(saved.passes)
        loaded.detail = saved.detail
        loaded.keep_full = saved.keep_full
        loaded._timeline = saved.timeline
        loaded._graphs_timeline = None
        loaded._forward = saved.forward
        loaded._events = deque(saved.events, maxlen=MAX_EVENTS)
        loaded._recorder = None
        loaded._state = "loaded"
        return loaded

    # ------------------------------------------------------------------------- recording
    def __enter__(self) -> Self:
        if self._recorder is None:
            raise TraceError("a loaded Trace cannot record: use gradviz.trace() to record")
        if self._state != "new":
            raise TraceError("a Trace records once: use a new gradviz.trace() for another run")
        self._state = "recording"
        self._recorder.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop recording (``__exit__`` calls it; safe to call twice)."""
        if self._recorder is not None:
            hooks.uninstall(self._recorder)
            if self._state == "recording":
                self._state = "done"
                self._forward = None  # built again from the final records
                self._recorder.finish()

    @property
    def recording(self) -> bool:
        """Whether engine events are being recorded now."""
        return self._recorder is not None and self._recorder in hooks.ACTIVE

    def write_source(self, error: BaseException) -> str | None:
        """For a "modified by an inplace operation" error, the line of the write it names."""
        counter = getattr(error, "version_counter", None)
        if counter is None or self._recorder is None:
            return None
        return self._recorder.writes.get(counter)

    # ------------------------------------------------------------------------- results
    @property
    def events(self) -> list[Event]:
        """Detach calls and no_grad regions, in order (the most recent ``MAX_EVENTS``)."""
        return list(self._events)

    @property
    def graph(self) -> nx.DiGraph:
        """The last pass's graph; before any backward, the forward graph of all records."""
        if self.passes:
            return self.passes[-1].graph
        if self._recorder is not None and (self._forward is None or self._state == "recording"):
            self._forward = self._recorder.forward_graph()
        if self._forward is None:
            self._forward = build_graph(())
        return self._forward

    @property
    def timeline(self) -> Timeline:
        """Per recorded step, per node: value and gradient statistics, parameter updates, and
        the loss (see :class:`~gradviz.viz.records.timeline.Timeline`). Summary detail records
        it as it goes; full detail makes it of the passes (``Timeline.from_graphs``)."""
        if self._timeline is not None:
            return self._timeline
        indices = tuple(p.index for p in self.passes)
        cached = self._graphs_timeline
        if cached is not None and cached[0] == indices and not self.recording:
            return cached[1]
        timeline = Timeline.from_graphs((p.index, p.graph, p.loss) for p in self.passes)
        self._graphs_timeline = indices, timeline
        return timeline

    @property
    def steps_recorded(self) -> list[int]:
        """The backward-call numbers recorded (one timeline step each), ascending."""
        if self._timeline is not None:
            return list(self._timeline.steps)
        return [p.index for p in self.passes]

    @property
    def steps(self) -> list[Step]:
        """The last pass's backward steps; [] before any backward."""
        return self.passes[-1].steps if self.passes else []

    def get_pass(self, pass_index: int | None = None) -> Pass:
        """The pass of backward call ``pass_index`` (1-based, as ``Pass.index``); a negative
        number counts from the end of ``passes``; None is the last one."""
        if not self.passes:
            if self._timeline is not None and self._timeline.steps:
                raise TraceError(
                    f"no full pass was kept ({len(self._timeline.steps)} steps recorded in "
                    f"summary detail with keep_full={self.keep_full}): use keep_full >= 1 "
                    'or detail="full"'
                )
            raise TraceError("no backward pass was recorded")
        if pass_index is None:
            return self.passes[-1]
        if pass_index < 0 and -pass_index <= len(self.passes):
            return self.passes[pass_index]
        for candidate in self.passes:
            if candidate.index == pass_index:
                return candidate
        kept = ", ".join(str(p.index) for p in self.passes)
        raise TraceError(f"no pass {pass_index} in this trace (passes kept: {kept})")

    def __repr__(self) -> str:
        return (
            f"Trace(passes={[p.index for p in self.passes]}, backward_calls="
            f"{self.backward_calls}, nodes={self.graph.number_of_nodes()}, state={self._state})"
        )
