"""``gradviz.trace()``: record what a training step computes, and how its gradients flow.

::

    with gradviz.trace() as tr:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    tr.graph            # networkx.DiGraph of the step (pinned schema: docs/trace-schema.md)
    tr.steps            # the backward steps, in the order the engine ran them
    tr.render("backward", "step.svg")

The tracer is an :class:`gradviz.autograd.hooks.Hook`: it is installed on enter and uninstalled
in ``finally``. Per event it keeps plain records (statistics computed at event time, since the
engine may later change the same arrays in place); graphs are built from the records when a
backward pass ends. Records of Variables that were garbage collected, and of everything they
were computed from that nothing alive depends on, are dropped after each backward pass, so a
long traced run keeps only what a later graph can still need.
"""

from __future__ import annotations

import inspect
import os
import sys
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from gradviz.autograd import engine as _engine
from gradviz.autograd import grad_mode, hooks
from gradviz.autograd import variable as _variable_module
from gradviz.autograd.errors import GradvizError
from gradviz.autograd.nn.module import Module, Parameter
from gradviz.autograd.variable import Variable
from gradviz.viz.graph import NodeRecord, Step, ancestors, build_graph, join_path
from gradviz.viz.source import SourceLocator, is_internal
from gradviz.viz.stats import array_copy, array_stats

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
    """Something that explains a missing gradient later: a ``detach()`` call, or grad mode
    switched off (``no_grad_enter``) or back on (``no_grad_exit``).

    ``source`` is the user's line; ``after`` the id of the last node recorded before the event
    (None at the start); for ``detach``, ``node`` is the Variable detached and ``result`` the
    new leaf.
    """

    kind: str
    source: str | None
    after: str | None = None
    node: str | None = None
    result: str | None = None


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
        self._recorder: _Recorder | None = _Recorder(self, step, base_dir, on_capture)
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


# ============================================================================== the recorder
@dataclass
class _Root:
    """A top-level module (one called outside any other) and the paths of its descendants."""

    module: Module
    paths: dict[int, str] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    params: list[tuple[str, int]] = field(default_factory=list)
    # modules run inside this one but not registered in it (kept in a plain list, say)
    extras: dict[int, tuple[Module, str]] = field(default_factory=dict)

    def scan(self) -> None:
        self.paths = {}
        self.classes = {}
        for path, module in self.module.named_modules():
            self.paths[id(module)] = path
            self.classes[path] = type(module).__name__
        for key, (module, path) in self.extras.items():
            self.paths.setdefault(key, path)
            self.classes.setdefault(path, type(module).__name__)
        self.params = [(name, p._id) for name, p in self.module.named_parameters()]

    def add_extra(self, module: Module, path: str) -> None:
        self.extras[id(module)] = (module, path)
        self.paths[id(module)] = path
        self.classes.setdefault(path, type(module).__name__)


@dataclass
class _Backward:
    index: int
    root: str
    keep: bool
    steps: list[Step] = field(default_factory=list)
    grad_arrays: dict[str, Any] = field(default_factory=dict)


_EMPTY = inspect.Parameter.empty
#: op class -> (name, default) of its forward's positional parameters, shared by all traces
_SIGNATURES: dict[type, list[tuple[str, Any]]] = {}
_SIMPLE = (bool, int, float, str, type(None))


class _Recorder(hooks.Hook):
    """Implements the engine hooks and keeps the records behind a :class:`Trace`."""

    def __init__(
        self,
        trace: Trace,
        step: int | None,
        base_dir: str | os.PathLike[str] | None,
        on_capture: Callable[[], None] | None,
    ) -> None:
        self.trace = trace
        self.step = step
        self.on_capture = on_capture
        self.locate = SourceLocator(base_dir).locate
        self.arrays = trace.arrays
        self.max_array_size = trace.max_array_size
        self.records: dict[str, NodeRecord] = {}
        self.refs: dict[str, weakref.ref] = {}  # node id -> the Variable or ndarray
        self.var_nodes: dict[int, str] = {}  # Variable._id -> node id
        self.consts: dict[int, tuple[weakref.ref, str]] = {}  # id(ndarray) -> (ref, node id)
        # Variable._id -> (ref, the line that created it, the module running then)
        self.created: dict[int, tuple[weakref.ref, str | None, tuple[int, str]]] = {}
        self.fresh: set[str] = set()  # leaves whose value was summarised in this step
        self.count = 0
        self.last: str | None = None
        self.stack: list[tuple[int, str]] = []  # (root index, path) of running modules
        self.roots: list[_Root] = []
        self.grad_enabled = True
        self.backward: _Backward | None = None
        self.pending: Pass | None = None  # the pass whose optimizer step is awaited
        self.updated: set[str] = set()
        self.before: dict[str, tuple[Variable, np.ndarray]] = {}
        self.after_backward = False  # a kept pass ended; the next op/backward ends the step
        self.awaiting_capture = False
        self.closed = False
        self.naming: tuple[list[str], dict[int, str], dict[str, str]] | None = None
        self.calls: dict[str, OpCall] = {}  # op node id -> its call (ops that record a graph)

    # --------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.grad_enabled = grad_mode.enabled
        hooks.install(self)

    def finish(self) -> None:
        """The trace ended: drop a half-finished backward; forget live objects."""
        self.backward = None
        self.before.clear()
        self.stack.clear()

    def forward_graph(self) -> nx.DiGraph:
        return self._build(list(self.records.values()))

    def _capture_complete(self) -> None:
        """The kept pass and what followed it are recorded: stop recording, tell the runner."""
        self.awaiting_capture = False
        self.after_backward = False
        self.pending = None
        self.closed = True
        hooks.uninstall(self)
        if self.on_capture is not None:
            self.on_capture()

    def _end_of_step(self) -> None:
        self.after_backward = False
        self.pending = None
        self.updated.clear()
        if self.awaiting_capture:
            self._capture_complete()

    # ----------------------------------------------------------------------------- records
    def _new_id(self) -> str:
        self.count += 1
        nid = f"v{self.count}"
        self.last = nid
        return nid

    def _module(self) -> tuple[int, str]:
        return self.stack[-1] if self.stack else (-1, "")

    def _leaf(self, var: Variable, detached_from: str | None = None) -> str:
        """Record a leaf Variable (data, parameter, detached result) at its first use."""
        nid = self._new_id()
        entry = self.created.get(var._id)
        if entry is not None:
            source, (root, module) = entry[1], entry[2]
        elif detached_from is not None:  # made by detach() just now
            source, (root, module) = self.locate(), self._module()
        else:  # created before the trace: where it is first used, outside any module
            source, root, module = self.locate(), -1, ""
        data = var.data
        is_param = var.requires_grad or isinstance(var, Parameter)
        self.records[nid] = NodeRecord(
            id=nid,
            seq=self.count,
            kind="param" if is_param else "input",
            op=None,
            name=var.name,
            shape=data.shape,
            dtype=_dtype_name(data.dtype),
            requires_grad=var.requires_grad,
            root=root,
            module=module,
            source=source,
            value=array_stats(data),
            var=var._id,
            array=array_copy(data, self.max_array_size) if self.arrays else None,
            detached_from=detached_from,
        )
        self.var_nodes[var._id] = nid
        self.refs[nid] = weakref.ref(var)
        self.fresh.add(nid)
        return nid

    def _refresh(self, nid: str, var: Variable) -> None:
        """A parameter used again after a backward or an optimizer step: new statistics."""
        r = self.records[nid]
        data = var.data
        self.records[nid] = NodeRecord(
            r.id,
            r.seq,
            r.kind,
            r.op,
            r.name,
            data.shape,
            r.dtype,
            r.requires_grad,
            r.root,
            r.module,
            r.source,
            array_stats(data),
            r.parents,
            r.args,
            r.var,
            array_copy(data, self.max_array_size) if self.arrays else None,
            r.detached_from,
        )
        self.fresh.add(nid)

    def _constant(self, array: np.ndarray) -> str:
        """A non-Variable ndarray operand: an input node, one per array object."""
        entry = self.consts.get(id(array))
        if entry is not None and entry[0]() is array:
            return entry[1]
        nid = self._new_id()
        self.records[nid] = NodeRecord(
            id=nid,
            seq=self.count,
            kind="input",
            op=None,
            name=None,
            shape=array.shape,
            dtype=_dtype_name(array.dtype),
            requires_grad=False,
            root=-1,
            module="",
            source=self.locate(),
            value=array_stats(array),
            array=array_copy(array, self.max_array_size) if self.arrays else None,
        )
        ref = weakref.ref(array)
        self.consts[id(array)] = (ref, nid)
        self.refs[nid] = ref
        return nid

    def _unknown(self, var: Variable) -> str:
        """Record a Variable first seen now: a leaf, or an op result computed before the trace
        started (its history is walked iteratively and recorded, without source lines)."""
        if var._node is None:
            return self._leaf(var)
        order: list[Variable] = []
        seen = {var._id}
        stack: list[tuple[Variable, bool]] = [(var, False)]
        while stack:
            item, expanded = stack.pop()
            if expanded:
                order.append(item)
                continue
            stack.append((item, True))
            node = item._node
            if node is None:
                continue
            for arg in reversed(node.inputs):
                if (
                    isinstance(arg, Variable)
                    and arg._id not in seen
                    and arg._id not in self.var_nodes
                ):
                    seen.add(arg._id)
                    stack.append((arg, False))
        for item in order:
            node = item._node
            if node is None:
                self._leaf(item)
                continue
            parents = []
            args = []
            for slot, arg in enumerate(node.inputs):
                if isinstance(arg, Variable):
                    parents.append((self.var_nodes[arg._id], slot))
                elif type(arg) is np.ndarray:
                    parents.append((self._constant(arg), slot))
                else:
                    text = self._option(type(node), slot, arg)
                    if text is not None:
                        args.append(text)
            self._op_record(item, type(node).__name__, parents, args, None, (-1, ""))
        return self.var_nodes[var._id]

    def _op_record(
        self,
        output: Variable,
        op: str,
        parents: list[tuple[str, int]],
        args: list[str],
        source: str | None,
        module: tuple[int, str],
    ) -> str:
        nid = self._new_id()
        data = output.data
        self.records[nid] = NodeRecord(
            id=nid,
            seq=self.count,
            kind="op",
            op=op,
            name=output.name,
            shape=data.shape,
            dtype=_dtype_name(data.dtype),
            requires_grad=output.requires_grad,
            root=module[0],
            module=module[1],
            source=source,
            value=array_stats(data),
            parents=tuple(parents),
            args=tuple(args),
            var=output._id,
            array=array_copy(data, self.max_array_size) if self.arrays else None,
        )
        self.var_nodes[output._id] = nid
        self.refs[nid] = weakref.ref(output)
        return nid

    def _option(self, cls: type, slot: int, value: Any) -> str | None:
        """``"axis=1"`` for an option argument; None when it is None or the default."""
        if value is None:
            return None
        spec = _SIGNATURES.get(cls)
        if spec is None:
            spec = _SIGNATURES[cls] = _positional(cls)
        name = None
        if slot < len(spec):
            name, default = spec[slot]
            if (
                default is not _EMPTY
                and isinstance(value, _SIMPLE)
                and type(value) is type(default)
                and value == default
            ):
                return None
        text = _short_repr(value)
        return f"{name}={text}" if name else text

    # ------------------------------------------------------------------------------- events
    def variable_created(self, variable: Variable) -> None:
        self.created[variable._id] = (weakref.ref(variable), self.locate(), self._module())

    def op(self, node: Any, inputs: tuple[Any, ...], output: Variable) -> None:
        if self.after_backward:
            self._end_of_step()
        var_nodes = self.var_nodes
        parents = []
        args = []
        for slot, arg in enumerate(inputs):
            if isinstance(arg, Variable):
                nid = var_nodes.get(arg._id)
                if nid is None:
                    nid = self._unknown(arg)
                elif arg.requires_grad and arg._node is None and nid not in self.fresh:
                    self._refresh(nid, arg)
                parents.append((nid, slot))
            elif type(arg) is np.ndarray:
                parents.append((self._constant(arg), slot))
            elif arg is not None:
                text = self._option(type(node), slot, arg)
                if text is not None:
                    args.append(text)
        nid = self._op_record(
            output, type(node).__name__, parents, args, self.locate(), self._module()
        )
        if output.requires_grad and self._keeps_calls():
            self.calls[nid] = (
                type(node),
                tuple(a.data if isinstance(a, Variable) else a for a in inputs),
                node.needs_input_grad,
            )

    def _keeps_calls(self) -> bool:
        """Whether this op may belong to a pass that is kept (the runner keeps one)."""
        step = self.step
        return step is None or step < 0 or self.trace.backward_calls >= step - 1

    def detach(self, source: Variable, result: Variable) -> None:
        origin = self.var_nodes.get(source._id)
        if origin is None:
            origin = self._unknown(source)
        nid = self._leaf(result, detached_from=origin)
        self.trace._events.append(
            Event("detach", self.records[nid].source, after=self.last, node=origin, result=nid)
        )

    def grad_mode(self, enabled: bool) -> None:
        if enabled == self.grad_enabled:
            return
        self.grad_enabled = enabled
        kind = "no_grad_exit" if enabled else "no_grad_enter"
        self.trace._events.append(Event(kind, self.locate(), after=self.last))

    def module_enter(self, module: Module, args: tuple[Any, ...]) -> None:
        if self.stack:
            index = self.stack[-1][0]
            path = self._path_in(index, module, self.stack[-1][1])
        else:
            index, path = self._find_root(module)
        self.stack.append((index, path))

    def module_exit(self, module: Module, output: Any) -> None:
        if self.stack:
            self.stack.pop()

    def backward_begin(self, root: Variable, grad: np.ndarray) -> None:
        if self.closed:
            return
        if self.after_backward:
            self._end_of_step()
            if self.closed:
                return
        if _called_by_gradviz():  # gradcheck's own backward calls are not training steps
            self.backward = None
            return
        self.trace.backward_calls += 1
        index = self.trace.backward_calls
        step = self.step
        keep = step is None or step == -1 or step == index
        nid = self.var_nodes.get(root._id)
        if nid is None:
            nid = self._unknown(root)
        self.backward = _Backward(index, nid, keep)

    def backward_step(self, variable: Variable, grad: np.ndarray, accumulated: bool) -> None:
        current = self.backward
        if current is None or not current.keep or self.closed:
            return
        nid = self.var_nodes.get(variable._id)
        if nid is None:
            nid = self._unknown(variable)
        current.steps.append(Step(len(current.steps) + 1, nid, array_stats(grad), accumulated))
        if self.arrays:
            current.grad_arrays[nid] = array_copy(grad, self.max_array_size)

    def backward_end(self, root: Variable) -> None:
        current, self.backward = self.backward, None
        if current is None or self.closed:
            return
        self.fresh.clear()
        if current.keep:
            records = ancestors(self.records, current.root)
            build = self._builder(
                records,
                root=current.root,
                pass_index=current.index,
                steps=current.steps,
                grad_arrays=current.grad_arrays,
            )
            nodes = frozenset(r.id for r in records)
            new = Pass(current.index, steps=current.steps, build=build, nodes=nodes)
            calls = self.calls
            new.calls = {r.id: calls[r.id] for r in records if r.id in calls}
            everything = list(self.records.values())
            new.context = lambda: self._build(
                everything, root=current.root, pass_index=current.index, steps=current.steps
            )
            new.params = self._param_list
            if self.step is None:
                for older in self.trace.passes:  # diagnosis data: the latest pass only
                    older.calls = older.context = None
                self.trace.passes.append(new)
            else:
                self.trace.passes[:] = [new]
            self.pending = new
            self.updated.clear()
            self.after_backward = True
            self.awaiting_capture = self.step is not None and self.step > 0
        self._sweep()

    def optimizer_step(self, optimizer: Any, phase: str) -> None:
        if self.closed:
            return
        pending = self.pending
        if phase == "begin":
            self.before.clear()
            if pending is None:
                return
            for group in optimizer.param_groups:
                for p in group["params"]:
                    nid = self.var_nodes.get(p._id)
                    if (
                        nid is not None
                        and p.grad is not None
                        and nid in pending
                        and nid not in self.updated
                    ):
                        self.before[nid] = (p, p.data.copy())
            return
        self.fresh.clear()  # parameters changed: summarise them again at their next use
        if pending is not None:
            records = self.records
            calls = pending.calls
            swap: dict[int, np.ndarray] = {}
            for nid, (p, old) in self.before.items():
                # the weight norm before the step: the value summarised at the forward, unless
                # NaN/Inf were left out of it
                value = records[nid].value if nid in records else None
                with np.errstate(all="ignore"):
                    if value and value["norm"] is not None and not value["nan"] + value["inf"]:
                        weight = value["norm"]
                    else:
                        weight = _norm(old)
                    if calls and self.step is not None:
                        # The runner keeps one pass: its ops keep the pre-step values. (Under
                        # gradviz.trace() they see the updated ones: keeping a copy per step
                        # costs page faults, ~20% of a traced step. The gradient check stays
                        # exact either way: it re-runs forward and backward on the same arrays.)
                        swap[id(p.data)] = old
                        norm = _diff_norm(p.data, old)
                    else:
                        norm = _norm(np.subtract(p.data, old, out=old))
                ratio = norm / weight if weight > 0 else (0.0 if norm == 0 else float("inf"))
                pending.set_update(nid, {"norm": norm, "ratio": ratio})
                self.updated.add(nid)
            if swap and calls:
                for nid, (cls, values, needs) in calls.items():
                    if any(id(v) in swap for v in values):
                        values = tuple(swap.get(id(v), v) for v in values)
                        calls[nid] = (cls, values, needs)
        self.before.clear()
        if self.awaiting_capture:
            self._capture_complete()

    def _param_list(self) -> list[tuple[str, str | None, bool]]:
        """Every parameter of the modules seen: (name, node id or None, requires_grad)."""
        _, names, _ = self._naming()
        out = []
        seen: set[int] = set()
        for root in self.roots:
            for local, p in root.module.named_parameters():
                if p._id not in seen:
                    seen.add(p._id)
                    name = names.get(p._id, local)
                    out.append((name, self.var_nodes.get(p._id), bool(p.requires_grad)))
        return out

    # ------------------------------------------------------------------------------ modules
    def _find_root(self, module: Module) -> tuple[int, str]:
        for index, root in enumerate(self.roots):
            path = root.paths.get(id(module))
            if path is not None:
                return index, path
        root = _Root(module)
        root.scan()
        self.roots.append(root)
        self.naming = None
        return len(self.roots) - 1, ""

    def _path_in(self, index: int, module: Module, parent: str) -> str:
        root = self.roots[index]
        path = root.paths.get(id(module))
        if path is None:
            root.scan()  # the model may have grown since
            self.naming = None
            path = root.paths.get(id(module))
        if path is None:  # not registered (kept in a plain list?): name it by its class
            path = join_path(parent, type(module).__name__)
            root.add_extra(module, path)
            self.naming = None
        return path

    def _naming(self) -> tuple[list[str], dict[int, str], dict[str, str]]:
        if self.naming is None:
            self.naming = self._compute_naming()
        return self.naming

    def _compute_naming(self) -> tuple[list[str], dict[int, str], dict[str, str]]:
        """Prefixes of the top-level modules, parameter names and the module table.

        The top-level module with the most parameters (the first on a tie) is the model: its
        paths are used as they are (``fc1``, ``0``); any other top-level module (a loss module,
        say) is prefixed with its class name (``CrossEntropyLoss``).
        """
        roots = self.roots
        if not roots:
            return [], {}, {}
        main = max(range(len(roots)), key=lambda i: (len(roots[i].params), -i))
        prefixes = []
        used: set[str] = set()
        for index, root in enumerate(roots):
            if index == main:
                prefixes.append("")
                continue
            base = type(root.module).__name__
            name, n = base, 1
            while name in used:
                n += 1
                name = f"{base}_{n}"
            used.add(name)
            prefixes.append(name)
        names: dict[int, str] = {}
        modules: dict[str, str] = {}
        for index in [main, *(i for i in range(len(roots)) if i != main)]:
            root = roots[index]
            for name, var_id in root.params:
                names.setdefault(var_id, join_path(prefixes[index], name))
            for path, cls in root.classes.items():
                modules.setdefault(join_path(prefixes[index], path), cls)
        return prefixes, names, modules

    # -------------------------------------------------------------------------------- graphs
    def _build(self, records: list[NodeRecord], **kwargs: Any) -> nx.DiGraph:
        return self._builder(records, **kwargs)()

    def _builder(self, records: list[NodeRecord], **kwargs: Any) -> Callable[[], nx.DiGraph]:
        """A function building the graph of ``records`` with today's names and module paths."""
        prefixes, param_names, modules = self._naming()
        names = {}
        refs = self.refs
        for record in records:  # a Variable named after its op ran
            ref = refs.get(record.id)
            var = ref() if ref is not None else None
            if isinstance(var, Variable) and var.name is not None and var.name != record.name:
                names[record.id] = var.name
        script = self.trace.script

        def build() -> nx.DiGraph:
            return build_graph(
                records,
                script=script,
                modules=modules,
                prefixes=prefixes,
                param_names=param_names,
                names=names,
                **kwargs,
            )

        return build

    def _sweep(self) -> None:
        """Forget records no later graph can need: dead, and not an ancestor of a live one."""
        records = self.records
        keep: set[str] = set()
        stack = [nid for nid, ref in self.refs.items() if ref() is not None]
        while stack:
            nid = stack.pop()
            if nid in keep:
                continue
            keep.add(nid)
            record = records.get(nid)
            if record is not None:
                stack.extend(p for p, _ in record.parents if p not in keep)
        if len(keep) < len(records):
            for nid in [n for n in records if n not in keep]:
                record = records.pop(nid)
                self.refs.pop(nid, None)
                if record.var is not None and self.var_nodes.get(record.var) == nid:
                    del self.var_nodes[record.var]
            self.consts = {k: v for k, v in self.consts.items() if v[1] in records}
            self.calls = {k: v for k, v in self.calls.items() if k in records}
            self.fresh &= keep
        self.created = {k: v for k, v in self.created.items() if v[0]() is not None}


_ENGINE_FILES = frozenset(
    os.path.abspath(module.__file__) for module in (_engine, _variable_module)
)


def _called_by_gradviz() -> bool:
    """Whether ``backward`` was called by gradviz's own code (``gradcheck``), not the user's."""
    frame = sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename) in _ENGINE_FILES:
        frame = frame.f_back
    return frame is not None and is_internal(frame.f_code.co_filename)


_DTYPE_NAMES: dict[np.dtype, str] = {}


def _dtype_name(dtype: np.dtype) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def _norm(array: np.ndarray) -> float:
    flat = array.reshape(-1)
    total = float(np.dot(flat, flat))
    if not np.isfinite(total):
        wide = flat.astype(np.float64)
        total = float(np.dot(wide, wide))
    return float(np.sqrt(total))


_BLOCK = 1 << 15
_BLOCKS: dict[np.dtype, np.ndarray] = {}


def _diff_norm(new: np.ndarray, old: np.ndarray) -> float:
    """``_norm(new - old)`` block by block through one small reused buffer: a parameter-sized
    temporary would page-fault back in at every step."""
    if new.shape != old.shape or not (new.flags.c_contiguous and old.flags.c_contiguous):
        return _norm(new - old)
    buffer = _BLOCKS.get(new.dtype)
    if buffer is None:
        buffer = _BLOCKS[new.dtype] = np.empty(_BLOCK, dtype=new.dtype)
    a, b = new.reshape(-1), old.reshape(-1)
    total = 0.0
    for start in range(0, a.size, _BLOCK):
        stop = min(start + _BLOCK, a.size)
        part = np.subtract(a[start:stop], b[start:stop], out=buffer[: stop - start])
        total += _norm(part) ** 2
    return float(np.sqrt(total))


def _positional(cls: type) -> list[tuple[str, Any]]:
    """``(name, default)`` of ``cls.forward``'s positional parameters after ``ctx``."""
    try:
        parameters = list(inspect.signature(cls.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    out = []
    for parameter in parameters:
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            break
        out.append((parameter.name, parameter.default))
    return out


def _short_repr(value: Any, limit: int = 40) -> str:
    if isinstance(value, np.dtype):
        text = str(value)
    elif isinstance(value, type):
        text = value.__name__
    else:
        try:
            text = repr(value)
        except Exception:
            text = type(value).__name__
        if " at 0x" in text or " object at " in text:  # no memory addresses: deterministic
            text = type(value).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
