"""The tracer's engine subscriber: turns engine events into plain records behind a trace.

:class:`Recorder` is the :class:`gradviz.autograd.hooks.Hook` a
:class:`~gradviz.viz.capture.tracer.Capture` installs. Per op it keeps a
:class:`~gradviz.viz.records.schema.NodeRecord` (made by its half in
:mod:`~gradviz.viz.capture.book`; statistics computed at event time: the engine may later
change the same arrays in place), per backward step a
:class:`~gradviz.viz.records.schema.Step`, per optimizer step the update of each parameter, per
step the in-place change of each buffer (BatchNorm's running statistics move in a training
forward); when
a kept backward pass ends it adds a :class:`~gradviz.viz.records.schema.Pass` to the trace, whose
graph is built from the records on first access. Records of Variables that were garbage
collected, and of everything they were computed from that nothing alive depends on, are dropped
after each backward pass, so a long traced run keeps only what a later graph can still need.

``op`` runs once per op while tracing: keep it cheap (``bench/trace_overhead.py``).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from gradviz.autograd import grad_mode, hooks
from gradviz.autograd.amp import loss_scale
from gradviz.autograd.nn.module import Module
from gradviz.autograd.variable import Variable
from gradviz.viz.capture import in_backward
from gradviz.viz.capture.book import RESCALES, RecordBook, renamed
from gradviz.viz.capture.buffers import BufferChanges
from gradviz.viz.capture.measure import UpdateMeasures
from gradviz.viz.capture.naming import ModuleNames
from gradviz.viz.capture.policy import Policy
from gradviz.viz.capture.source import LineNames, SourceLocator
from gradviz.viz.capture.state import Backward, ThreadState
from gradviz.viz.capture.stats import array_copy, array_preview, array_stats
from gradviz.viz.capture.steps import StepRows
from gradviz.viz.capture.updates import Updates
from gradviz.viz.capture.zeroing import StaleGrads
from gradviz.viz.records.graph import ancestors
from gradviz.viz.records.schema import Derivative, Event, NodeRecord, OpCall, Pass, Step

if TYPE_CHECKING:  # the capture that installs this recorder (it imports this module)
    from gradviz.viz.capture.tracer import Capture


class Recorder(RecordBook, UpdateMeasures, hooks.Hook):
    """Implements the engine hooks and keeps the records behind a :class:`Capture`.

    Threads may share a trace: every event handler runs under one lock, and what a thread is in
    the middle of (its module stack, backward pass, optimizer step) is per thread.
    """

    def __init__(
        self,
        trace: Capture,
        policy: Policy,
        base_dir: str | os.PathLike[str] | None,
    ) -> None:
        self.trace = trace
        self.policy = policy
        self._source = SourceLocator(base_dir)
        self.locate = self._source.locate
        self.line_names = LineNames(self._source, self.rename)
        self.names = ModuleNames()
        self.lock = threading.RLock()
        self.states: list[ThreadState] = []  # every thread's, for finish()
        self.local = ThreadState(self.states)
        RecordBook.__init__(self, trace.arrays, trace.max_array_size)
        self.calls: dict[str, OpCall] = {}  # op node id -> its call (ops that record a graph)
        self.writes: dict[Any, str | None] = {}  # a version counter -> its last write's line
        self.buffers = BufferChanges()
        # summary detail: the rows of each recorded step, added to the timeline as it goes
        summary = trace.detail == "summary"
        self.rows = StepRows(trace._timeline) if summary and trace._timeline is not None else None
        self.updates = Updates()
        self.optimized: set[int] = set()  # the Variable ids an optimizer has stepped
        self.stale = StaleGrads()  # .grad not zeroed since an optimizer step
        #: how many full passes to keep (None: all of them)
        self.keep_full: int | None = None if trace.detail == "full" else trace.keep_full
        self.summarising = policy.summarises(trace.backward_calls)

    # --------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.local.grad_enabled = grad_mode.is_grad_enabled()
        hooks.install(self)

    def finish(self) -> None:
        """The trace ended: measure updates written by hand since the last kept pass; drop
        half-finished backward passes; forget live objects."""
        with self.lock:
            for state in self.states:
                self._measure_by_hand(state)
                state.backward = None
                state.before.clear()
                state.stack.clear()
                state.rules.clear()
            self.updates.release()

    def forward_graph(self) -> nx.DiGraph:
        with self.lock:
            records = list(self.records.values())
        return self._builder(records)()

    def _capture_complete(self) -> None:
        """The kept pass and what followed it are recorded: stop recording, tell the policy."""
        self._forget_step(self.local)
        self.policy.close()
        hooks.uninstall(self)
        self.policy.captured()

    def _end_of_step(self) -> None:
        self._forget_step(self.local)
        if self.policy.awaiting:
            self._capture_complete()

    def _forget_step(self, local: ThreadState) -> None:
        """The step ends: measure what was updated by hand, await no optimizer step."""
        self._measure_by_hand(local)
        local.after_backward = local.stepped = False
        local.pending = local.awaited = None
        local.logged.clear()
        local.trained = frozenset()

    def _logs_the_step(self, inputs: tuple[Any, ...], output: Variable) -> bool:
        """After a kept backward pass: end the step at an op that starts the next one; True
        for an op that only reads the ended step (logging)."""
        if not self.local.after_backward:
            return False
        if self._ends_the_step(inputs, output):
            self._end_of_step()
            return False
        return True

    def _ends_the_step(self, inputs: tuple[Any, ...], output: Variable) -> bool:
        """Whether an op after a kept backward pass starts the next step: one whose result
        needs a gradient (a forward), or any op once an optimizer stepped; not one that only
        reads the ended step's results (``D_x = output.mean().item()``: logging)."""
        local = self.local
        if not (output.requires_grad or local.stepped):
            return False
        read = False
        for arg in inputs:
            if isinstance(arg, Variable):
                nid = self.var_nodes.get(arg._id)
                record = self.records.get(nid) if nid is not None else None
                if arg._node is None or record is None or record.kind != "op":
                    return True
                if record.seq >= self.step_start and nid not in local.logged:
                    return True
                read = True
        return not read

    # ------------------------------------------------------------------------------- events
    def variable_created(self, variable: Variable) -> None:
        with self.lock:
            self.created[variable._id] = (weakref.ref(variable), self.locate(), self._module())

    def op(self, node: Any, inputs: tuple[Any, ...], output: Variable) -> None:
        local = self.local
        with self.lock:
            # the next forward ends the step, not an op that records no graph: the gradient
            # norm logged or the ``w -= lr * w.grad`` under no_grad before the optimizer step
            # belong to the step they measure or update
            logging = self._logs_the_step(inputs, output)
            var_nodes = self.var_nodes
            parents = []
            args = []
            for slot, arg in enumerate(inputs):
                if isinstance(arg, Variable):
                    nid = var_nodes.get(arg._id)
                    if nid is None:
                        nid = self._unknown(arg)
                    elif (
                        arg._node is None
                        and arg.requires_grad
                        and self.records[nid].kind != "param"
                    ):
                        nid = self._now_a_leaf(nid, arg)
                    elif (  # a buffer made by ops (``torch.tril(...)`` in ``__init__``)
                        arg._node is None
                        and arg._id in self.names.buffer_ids
                        and self.records[nid].kind not in ("buffer", "param")
                    ):
                        nid = self._now_a_leaf(nid, arg)
                    elif arg._node is None and self._stale(nid, arg):
                        self._refresh(nid, arg)
                    parents.append((nid, slot))
                elif type(arg) is np.ndarray:
                    parents.append((self._constant(arg), slot))
                elif arg is not None:
                    self._option(type(node), slot, arg, parents, args)
            source = self.locate()
            frame = self._source.frame
            if output._vc is not None and output._node is node:  # a recorded in-place write
                args.append(f"in-place, version {output._version}")
                self.writes[output._vc] = source
            name, replaced = (
                (output.name, None)
                if output.name is not None
                else self.line_names.name(source, frame)
            )
            rule = local.rules[-1] if local.rules else None  # (create_graph=True: whose rule)
            module = self._module()
            nid = self._op_record(output, node.name(), parents, args, source, module, name, rule)
            if logging:
                local.logged.add(nid)
            if output.name is None and (name is not None or self.line_names.unpacking):
                self.line_names.recorded(nid, output._id)
                if replaced in self.records:
                    self.records[replaced] = renamed(self.records[replaced], None)
            if (
                output.requires_grad
                and node._own_check
                and self.keep_full != 0
                and self.policy.keeps_calls(self.trace.backward_calls)
            ):
                self.calls[nid] = (
                    type(node),
                    tuple(a._data if isinstance(a, Variable) else a for a in inputs),
                    node.needs_input_grad,
                )

    def detach(self, source: Variable, result: Variable) -> None:
        with self.lock:
            origin = self.var_nodes.get(source._id)
            if origin is None:
                origin = self._unknown(source)
            nid = self._leaf(result, detached_from=origin)
            self.trace._events.append(
                Event("detach", self.records[nid].source, after=self.last, node=origin, result=nid)
            )

    def inplace(self, variable: Variable, op: str) -> None:
        with self.lock:
            nid = self.var_nodes.get(variable._id)
            known = nid is not None
            if op in RESCALES and self.local.after_backward:
                self._rescaled(variable)
            if not (known or variable._id in self.created or variable._id in self.names.buffer_ids):
                return  # ``p.data -= ...``: a write through a Variable made for it, which no
                # op used and no later gradient can depend on (PyTorch's autograd skips it too)
            if nid is None:
                nid = self._unknown(variable)
            if variable._id in self.names.buffer_ids:  # a running statistic moved
                if known:
                    self._refresh(nid, variable)
                self.buffers.written(nid, variable)
            else:  # a leaf written again (``nn.init.normal_`` after the constructor's init):
                self.fresh.discard(nid)  # summarise its new value at its next use
            source = self.writes[variable._vc] = self.locate()
            self.trace._events.append(
                Event(
                    "inplace", source, after=self.last, node=nid, op=op, version=variable._version
                )
            )

    def create_graph(self, roots: tuple[Variable, ...]) -> None:
        with self.lock:
            source = self.locate()
            for root in roots:
                nid = self.var_nodes.get(root._id)
                if nid is not None:
                    event = Event("create_graph", source, after=self.last, node=nid)
                    self.trace._events.append(event)

    def rule_begin(self, node: Any, output: Variable) -> None:
        """The ops recorded until ``rule_end`` are the derivative of ``output``'s op."""
        with self.lock:
            nid = self.var_nodes.get(output._id)
            if nid is None:
                nid = self._unknown(output)
            r = self.records[nid]
            rule = r.derivative_of.op if r.derivative_of is not None else None
            self.local.rules.append(Derivative(nid, r.op, r.root, r.module, rule))

    def rule_end(self, node: Any) -> None:
        with self.lock:
            if self.local.rules:
                self.local.rules.pop()

    def grad_mode(self, enabled: bool) -> None:
        local = self.local
        with self.lock:
            if enabled == local.grad_enabled:
                return
            local.grad_enabled = enabled
            kind = "no_grad_exit" if enabled else "no_grad_enter"
            self.trace._events.append(Event(kind, self.locate(), after=self.last))

    def module_enter(self, module: Module, args: tuple[Any, ...]) -> None:
        local = self.local
        with self.lock:
            known = len(self.names.buffer_ids)
            if local.stack:
                index = local.stack[-1][0]
                path = self.names.path_in(index, module, local.stack[-1][1])
            else:
                index, path = self.names.find_root(module, self._source.bound_name)
                local.passed_in = {id(a) for a in args if type(a) is np.ndarray}
            local.stack.append((index, path))
            if len(self.names.buffer_ids) != known:
                self._rekind_buffers()
            self.buffers.entered(module)

    def _rekind_buffers(self) -> None:
        """Buffers recorded before their module was first called (written in place by its
        ``__init__``) were taken for inputs: they are buffers."""
        records = self.records
        for var_id in self.names.buffer_ids:
            nid = self.var_nodes.get(var_id)
            if nid is not None and records[nid].kind == "input":
                records[nid] = dataclasses.replace(records[nid], kind="buffer")

    def reparametrized(self, module: Module, tensors: dict[str, Variable]) -> None:
        with self.lock:
            known = len(self.names.buffer_ids)
            self.names.reparametrized(module, tensors, self._source.bound_name)
            if len(self.names.buffer_ids) != known:
                self._rekind_buffers()

    def module_exit(self, module: Module, output: Any) -> None:
        local = self.local
        with self.lock:
            if local.stack:
                local.stack.pop()

    def backward_begin(self, root: Variable, grad: np.ndarray) -> None:
        if hooks.in_inner_pass():  # a transform's own pass (a Jacobian row): not a step
            return
        local = self.local
        with self.lock:
            if self.policy.closed:
                return
            if local.after_backward:
                self._end_of_step()
                if self.policy.closed:
                    return
            self.trace.backward_calls += 1
            index = self.trace.backward_calls
            self.summarising = self.policy.summarises(index)
            keep = self.policy.keeps(index)
            scaled, scale = root._id, loss_scale(root)
            if scale is not None:  # scaler.scale(loss).backward(): the step of the loss
                root = root.parents[0]
            nid = self.var_nodes.get(root._id)
            if nid is None:
                nid = self._unknown(root)
            data = root._data
            loss = float(data.reshape(-1)[0]) if keep and data.size == 1 else None
            local.backward = Backward(index, nid, keep, loss)
            local.backward.stale = self.stale.found(self.var_nodes)
            if scale is not None:
                local.backward.scaled, local.backward.unscale = scaled, 1.0 / scale

    def backward_step(self, variable: Variable, grad: np.ndarray, accumulated: bool) -> None:
        local = self.local
        with self.lock:
            current = local.backward
            if current is None or not current.keep or self.policy.closed or hooks.in_inner_pass():
                return
            if current.scaled is not None:  # gradients as the optimizer sees them, unscaled
                if variable._id == current.scaled:
                    return
                grad = grad * grad.dtype.type(current.unscale)
            nid = self.var_nodes.get(variable._id)
            if nid is None:
                nid = self._unknown(variable)
            stats, kept = array_stats(grad), variable.retains_grad  # kept: retain_grad()
            current.steps.append(Step(len(current.steps) + 1, nid, stats, accumulated, kept))
            if self.arrays:
                current.grad_arrays[nid] = array_copy(grad, self.max_array_size)
                filters = self.records[nid].kind == "param"
                current.grad_previews[nid] = array_preview(grad, filters=filters)

    def grad_hook(
        self, variable: Variable, hook: Any, before: np.ndarray, after: np.ndarray
    ) -> None:
        """An event when the hook made the gradient exactly zero or non-finite (the diagnoses
        blame it, not the op below)."""
        with self.lock:
            current = self.local.backward
            if current is None or not current.keep or self.policy.closed:
                return
            zeroed = not after.any() and before.any()
            if not zeroed and not (np.isfinite(before).all() and not np.isfinite(after).all()):
                return
            nid = self.var_nodes.get(variable._id)
            if nid is None:
                nid = self._unknown(variable)
            where = self._source.defined_at(hook)
            event = Event("grad_hook", where, after=self.last, node=nid, op=_name(hook))
            self.trace._events.append(event)

    def backward_end(self, root: Variable) -> None:
        if hooks.in_inner_pass():
            return
        local = self.local
        with self.lock:
            current, local.backward = local.backward, None
            if current is None or self.policy.closed:
                return
            self.fresh.clear()
            self.line_names.forget()  # first: a line still running (vmap(grad(f))) named none
            if current.keep:
                records = ancestors(self.records, current.root, self.step_start)
                known = {r.id for r in records}
                used = {r.root for r in records}  # the models this pass ran
                records += [r for r in self._parameter_records(used) if r.id not in known]
                records.sort(key=lambda r: r.seq)
                self._complete(records)
                if self.rows is not None:
                    naming = self.names.resolve()
                    args = (current.loss, records, current.steps, naming, self.refs)
                    positions = self.rows.add(current.index, *args)
                else:
                    positions = {r.id: position for position, r in enumerate(records)}
                local.awaited = current.index, positions
                local.pending = self._keep_pass(current, records)
                local.updated.clear()
                with_grad = {step.node for step in current.steps}
                local.trained = frozenset(
                    r.id for r in records if r.kind == "param" and r.id in with_grad
                )
                self._copy_for_hand_updates(records, current.steps, local)
                local.after_backward = True
                self.policy.pass_kept()
                self.policy.recorded(current.index, self.trace)
            in_backward.measure(self, local, current.keep)  # steps taken inside the pass
            self.step_start = self.count + 1  # what is recorded from here on is the next step's
            self.policy.backward_done(current.index)
            if self.policy.awaiting:
                local.after_backward = True  # the capture is complete at the end of this step
            self.buffers.next_step()
            self._sweep()

    def _keep_pass(self, current: Backward, records: list[NodeRecord]) -> Pass | None:
        """Add the full detail of a recorded backward call to the trace's passes (only the
        last ``keep_full``, when set); None when no full pass is kept."""
        if self.keep_full == 0:
            return None
        used = frozenset(r.root for r in records)  # the models this pass ran
        build = self._builder(
            records,
            root=current.root,
            pass_index=current.index,
            steps=current.steps,
            grad_arrays=current.grad_arrays,
            grad_previews=current.grad_previews,
        )
        nodes = frozenset(r.id for r in records)
        new = Pass(current.index, steps=current.steps, build=build, nodes=nodes)
        ops = [r.seq for r in records if r.kind == "op"]
        new.reran = bool(ops) and max(ops) < self.step_start
        self.buffers.attach(new, nodes)
        new.loss = current.loss
        with_grad = {step.node for step in current.steps}  # (stale: the ones it added into)
        new.stale_grads = tuple(pair for pair in current.stale if pair[0] in with_grad)
        calls = self.calls
        new.calls = {r.id: calls[r.id] for r in records if r.id in calls}
        everything = list(self.records.values())
        new.context = lambda: self._builder(
            everything, root=current.root, pass_index=current.index, steps=current.steps
        )()
        new.params = lambda: self.names.parameters(self.var_nodes, used, nodes)
        passes = self.trace.passes
        if self.policy.keeps_one:
            passes[:] = [new]
            return new
        if passes:  # diagnosis data: the latest pass only (older ones were cleared before)
            passes[-1].calls = passes[-1].context = None
        if passes and self.policy.drops(passes[-1].index):  # (only the latest can be dropped)
            passes.pop()
        passes.append(new)
        if self.keep_full is not None:
            del passes[: -self.keep_full]
        return new

    def optimizer_step(self, optimizer: Any, phase: str) -> None:
        local = self.local
        with self.lock:
            if self.policy.closed or local.backward is not None:  # closed, or inside a pass
                return in_backward.begin(self, optimizer, local, phase)  # (which sees which)
            if phase == "begin":
                self._before_update(optimizer, local)
                return
            self.stale.stepped(optimizer)
            self.fresh.clear()  # parameters changed: summarise them again at their next use
            self._after_update(optimizer, local)
            if self.policy.awaiting:
                # a second optimizer may step the rest (seq2seq's encoder and decoder): the
                # capture ends when all are stepped, else at the next op or backward
                if local.trained <= local.updated:
                    self._capture_complete()
                else:
                    local.stepped = True

    def grad_clipped(self, max_norm: float, total_norm: float) -> None:
        with self.lock:
            pending = self.local.pending
            if pending is not None and self.local.after_backward:
                pending.clip_norm = max_norm

    # -------------------------------------------------------------------------------- graphs
    def _builder(self, records: list[NodeRecord], **kwargs: Any) -> Callable[[], nx.DiGraph]:
        """A function building the graph of ``records`` with today's names and module paths."""
        return self.names.builder(records, self.refs, self.trace.script, **kwargs)


def _name(hook: Any) -> str:
    """A hook's name as its code reads it: ``<lambda>``, a function's name, or the class of a
    callable object."""
    return getattr(hook, "__name__", None) or type(hook).__name__
