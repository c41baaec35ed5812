"""``gradviz.trace()``: record what a training step computes, and how its gradients flow.

::

    with gradviz.trace() as tr:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    tr.graph            # networkx.DiGraph of the step (pinned schema: docs/trace-schema.md)
    tr.steps            # the backward steps, in the order the engine ran them
    tr.render("backward", "step.svg")

A :class:`Trace` installs its :class:`~gradviz.viz.recorder.Recorder` (the engine hook that
keeps plain records, see there) on enter and uninstalls it in ``finally``; graphs are built
from the records when someone looks at them. Module paths and parameter names are resolved in
:mod:`gradviz.viz.naming`, op option labels in :mod:`gradviz.viz.options`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx

from gradviz.autograd import hooks
from gradviz.autograd.errors import GradvizError
from gradviz.viz.graph import Step, build_graph

if TYPE_CHECKING:
    from gradviz.viz.recorder import Recorder

__all__ = ["Event", "Pass", "Step", "Trace", "TraceError", "trace"]

#: At most this many events are kept (the most recent ones).
MAX_EVENTS = 10_000

#: What an op was called with, kept for the diagnoses of the latest pass: the Function class,
#: the arguments as given with each Variable replaced by its array (no copy: only the optimizer
#: writes arrays in place, and the tracer swaps in the pre-step copy it takes anyway), and
#: ``needs_input_grad``.
OpCall = tuple[type, tuple[Any, ...], tuple[bool, ...]]


class TraceError(GradvizError, RuntimeError):
    """A Trace used the wrong way (entered twice, no such pass)."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that explains a gradient later: a ``detach()`` call, grad mode switched off
    (``no_grad_enter``) or back on (``no_grad_exit``), an unrecorded in-place write
    (``inplace``: ``w -= lr * w.grad`` under ``no_grad``).

    ``source`` is the user's line; ``after`` the id of the last node recorded before the event
    (None at the start); for ``detach``, ``node`` is the Variable detached and ``result`` the
    new leaf; for ``inplace``, ``node`` is the Variable written, ``op`` the method
    (``"sub_"``) and ``version`` its version after the write.
    """

    kind: str
    source: str | None
    after: str | None = None
    node: str | None = None
    result: str | None = None
    op: str | None = None
    version: int | None = None


class Pass:
    """One backward call: ``index`` (1-based count of backward calls in the trace), ``graph``
    (the loss and everything it was computed from) and ``steps`` (the backward steps).

    A live pass builds its graph from the records on first access, so tracing a long run only
    pays for the graphs someone looks at.
    """

    def __init__(
        self,
        index: int,
        graph: nx.DiGraph | None = None,
        steps: list[Step] | None = None,
        *,
        build: Callable[[], nx.DiGraph] | None = None,
        nodes: frozenset[str] | None = None,
    ) -> None:
        self.index = index
        self.steps: list[Step] = list(steps or [])
        self._graph = graph
        self._build = build
        self._nodes = nodes
        self._updates: dict[str, dict[str, float]] = {}
        # For the diagnoses (tr.check()), kept for the latest live pass only: each op's
        # (Function class, arguments with Variables replaced by their arrays, needs_input_grad),
        # a builder of the graph of every record alive at this backward (what a parameter cut
        # off from the loss still computed), and the model's parameters as
        # (name, node id or None, requires_grad).
        self.calls: dict[str, OpCall] | None = None
        self.context: Callable[[], nx.DiGraph] | None = None
        self.params: Callable[[], list[tuple[str, str | None, bool]]] | None = None
        #: the class name of the optimizer whose step followed this pass (None: no step seen)
        self.optimizer: str | None = None

    @property
    def graph(self) -> nx.DiGraph:
        if self._graph is None:
            self._graph = self._build() if self._build is not None else nx.DiGraph()
            self._build = None
            for nid, update in self._updates.items():
                self._graph.nodes[nid]["update"] = update
        return self._graph

    def __contains__(self, node: str) -> bool:
        if self._graph is None and self._nodes is not None:
            return node in self._nodes
        return node in self.graph

    def set_update(self, node: str, update: dict[str, float]) -> None:
        """Attach an optimizer update (``{"norm", "ratio"}``) to parameter ``node``."""
        self._updates[node] = update
        if self._graph is not None:
            self._graph.nodes[node]["update"] = update

    def __repr__(self) -> str:
        nodes = self.graph.number_of_nodes()
        return f"Pass(index={self.index}, nodes={nodes}, steps={len(self.steps)})"


class Trace:
    """The result of tracing: backward passes with their graphs, and events.

    Use :func:`trace` (or :func:`gradviz.load_trace` for a saved one). ``passes`` holds one
    :class:`Pass` per backward call; ``graph`` and ``steps`` are the last pass's. Before any
    backward, ``graph`` is the forward graph of everything recorded and ``steps`` is empty.
    """

    def __init__(
        self,
        arrays: bool = False,
        max_array_size: int = 10_000,
        *,
        step: int | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        script: str | None = None,
        on_capture: Callable[[], None] | None = None,
    ) -> None:
        """``step``, ``base_dir``, ``script`` and ``on_capture`` serve the script runner:
        keep only the ``step``-th backward pass (-1: the last one), show source paths relative
        to ``base_dir``, and call ``on_capture`` once that pass and the optimizer step after it
        were recorded."""
        if step is not None and (not isinstance(step, int) or step == 0 or step < -1):
            raise ValueError(f"step must be a backward call number (1, 2, ...) or -1, got {step}")
        self.arrays = bool(arrays)
        self.max_array_size = int(max_array_size)
        self.script = script
        self.passes: list[Pass] = []
        self.backward_calls = 0
        self._events: deque[Event] = deque(maxlen=MAX_EVENTS)
        self._forward: nx.DiGraph | None = None
        # imported here: the recorder builds this module's Pass and Event objects
        from gradviz.viz.recorder import Recorder

        self._recorder: Recorder | None = Recorder(self, step, base_dir, on_capture)
        self._state = "new"

    # ------------------------------------------------------------------------- recording
    def __enter__(self) -> Trace:
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
    def steps(self) -> list[Step]:
        """The last pass's backward steps; [] before any backward."""
        return self.passes[-1].steps if self.passes else []

    def get_pass(self, pass_index: int | None = None) -> Pass:
        """The pass of backward call ``pass_index`` (1-based, as ``Pass.index``); a negative
        number counts from the end of ``passes``; None is the last one."""
        if not self.passes:
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

    def render(
        self,
        view: str,
        path: str | os.PathLike[str],
        format: str | None = None,
        depth: int | None = None,
        pass_index: int | None = None,
    ) -> Any:
        """Draw ``view`` ("forward" or "backward") of the graph to exactly ``path``
        (see :func:`gradviz.viz.render.write`); ``pass_index`` picks a pass (default: last).
        ``view="html"`` (or ``format="html"``) writes the interactive page of both views
        (see :func:`gradviz.viz.html.write_html`)."""
        from gradviz.viz import render

        if view == "html" or (format or "").lower() == "html":
            from gradviz.viz.html import write_html

            return write_html(self, path, pass_index=pass_index, depth=depth)
        graph = self.graph if pass_index is None else self.get_pass(pass_index).graph
        return render.write(graph, view, path, format=format, depth=depth)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the trace as JSON (docs/trace-schema.md), atomically."""
        from gradviz.viz.io import save_trace

        save_trace(self, path)

    def check(self, pass_index: int | None = None, *, seed: int = 0, gradcheck: bool = True) -> Any:
        """Diagnose a pass (default: the last): per-op gradient check, NaN/Inf birth, why a
        parameter got no gradient, gradient health, broadcasts. Returns a
        :class:`gradviz.viz.diagnose.Report` (see there)."""
        from gradviz.viz.diagnose import check

        return check(self, pass_index, seed=seed, gradcheck=gradcheck)

    def __repr__(self) -> str:
        return (
            f"Trace(passes={[p.index for p in self.passes]}, backward_calls="
            f"{self.backward_calls}, nodes={self.graph.number_of_nodes()}, state={self._state})"
        )


def trace(arrays: bool = False, max_array_size: int = 10_000) -> Trace:
    """Record the ops, backward steps and optimizer updates run inside ``with``.

    ``arrays=True`` also copies values and gradients of arrays with at most ``max_array_size``
    elements (node attributes ``array`` and ``grad_array``).
    """
    return Trace(arrays=arrays, max_array_size=max_array_size)
