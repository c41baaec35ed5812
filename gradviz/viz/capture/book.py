"""How the recorder makes its records: one :class:`~gradviz.viz.records.schema.NodeRecord` per
Variable or constant array it sees, with its value summarised (statistics, and a copy and a
picture when arrays are kept) at event time in the steps its policy may keep, or later, when a
kept pass uses a record made in another step (:meth:`RecordBook._complete`).

:class:`RecordBook` is the record-keeping half of :class:`~gradviz.viz.capture.recorder.Recorder`
(which adds the engine's events and the policy); the recorder's lock is held around every call.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd.nn.module import Module, Parameter
from gradviz.autograd.variable import Variable
from gradviz.viz.capture.live import history
from gradviz.viz.capture.naming import ModuleNames, walks_as_module
from gradviz.viz.capture.options import option_label
from gradviz.viz.capture.source import SourceLocator
from gradviz.viz.capture.state import ThreadState
from gradviz.viz.capture.stats import array_copy, array_preview, array_stats
from gradviz.viz.records.graph import reachable
from gradviz.viz.records.schema import Derivative, NodeRecord, OpCall

_DTYPE_NAMES: dict[np.dtype, str] = {}


def _dtype_name(dtype: np.dtype) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


#: What :meth:`RecordBook._summary` gives while values are not summarised.
_UNSUMMARISED: tuple[Any, Any, Any] = (None, None, None)


def renamed(record: NodeRecord, name: str | None) -> NodeRecord:
    """``record`` with another ``name`` (``dataclasses.replace``, positionally: it runs for most
    ops of a line that assigns a name)."""
    r = record
    return NodeRecord(
        r.id,
        r.seq,
        r.kind,
        r.op,
        name,
        r.shape,
        r.dtype,
        r.requires_grad,
        r.root,
        r.module,
        r.source,
        r.value,
        r.parents,
        r.args,
        r.var,
        r.array,
        r.detached_from,
        r.preview,
        r.derivative_of,
    )


#: the in-place ops that rescale a gradient written by hand (clipping it)
RESCALES = frozenset({"mul_", "div_", "clamp_"})


class RecordBook:
    """The records of a trace, the live objects they stand for, and how they are made."""

    # set by the recorder
    names: ModuleNames
    local: ThreadState
    locate: Callable[[], str | None]
    _source: SourceLocator
    calls: dict[str, OpCall]
    #: whether records made now get their values summarised (see ``Policy.summarises``)
    summarising: bool

    def __init__(self, arrays: bool, max_array_size: int) -> None:
        self.arrays = arrays
        self.max_array_size = max_array_size
        self.records: dict[str, NodeRecord] = {}
        self.refs: dict[str, weakref.ref] = {}  # node id -> the Variable or ndarray
        self.var_nodes: dict[int, str] = {}  # Variable._id -> node id
        self.consts: dict[int, tuple[weakref.ref, str]] = {}  # id(ndarray) -> (ref, node id)
        self.results: dict[int, str] = {}  # id(an op result's array) -> its node id
        # Variable._id -> (ref, the line that created it, the module running then)
        self.created: dict[int, tuple[weakref.ref, str | None, tuple[int, str]]] = {}
        self.fresh: set[str] = set()  # leaves whose value was summarised in this step
        self.versions: dict[str, int] = {}  # node id -> the leaf's version when summarised
        # (the records' count when made, the parameters' .grad arrays then, by id)
        self._grads: tuple[int, dict[int, weakref.ref]] = (-1, {})
        self.count = 0
        self.step_start = 0  # the seq of the first record after the last backward call
        self.last: str | None = None

    def _new_id(self) -> str:
        self.count += 1
        nid = f"v{self.count}"
        self.last = nid
        return nid

    def _module(self) -> tuple[int, str]:
        stack = self.local.stack
        return stack[-1] if stack else (-1, "")

    def _summary(self, data: np.ndarray, filters: bool = False) -> tuple[Any, Any, Any]:
        """A record's ``(value, array, preview)``: its statistics, and a copy and a picture
        when arrays are kept; Nones while :attr:`summarising` is off (see :meth:`_complete`)."""
        if not self.summarising:
            return _UNSUMMARISED
        if not self.arrays:
            return array_stats(data), None, None
        return (
            array_stats(data),
            array_copy(data, self.max_array_size),
            array_preview(data, filters=filters),
        )

    def _complete(self, records: list[NodeRecord]) -> None:
        """Summarise the records of a kept pass made while summarising was off (a constant or
        a result first used in a step that was not kept), from their live arrays."""
        for i, r in enumerate(records):
            if r.value is not None:
                continue
            ref = self.refs.get(r.id)
            live = ref() if ref is not None else None
            data = live._data if isinstance(live, Variable) else live
            if isinstance(data, np.ndarray) and data.shape == r.shape:
                value, array, preview = self._summary(data, filters=r.kind == "param")
                if value is not None:
                    records[i] = self.records[r.id] = dataclasses.replace(
                        r, value=value, array=array, preview=preview
                    )

    def _leaf(
        self,
        var: Variable,
        detached_from: str | None = None,
        unused: tuple[Module, str] | None = None,
    ) -> str:
        """Record a leaf Variable (data, parameter, detached result) at its first use, or a
        parameter no op used (``unused``: its top-level module and name) when a pass ends."""
        nid = self._new_id()
        entry = self.created.get(var._id)
        if entry is not None:
            source, (root, module) = entry[1], entry[2]
        elif detached_from is not None:  # made by detach() just now
            source, (root, module) = self.locate(), self._module()
        elif unused is not None:  # created before the trace: its `self.<name> = ...` line
            source, root, module = self._source.assignment(*unused), -1, ""
        else:  # created before the trace: where it is first used, outside any module
            source, root, module = self.locate(), -1, ""
        data = var._data
        name = var.name
        is_param = var.requires_grad or isinstance(var, Parameter)
        if is_param:
            kind = "param"
            if name is None and not isinstance(var, Parameter):  # made outside any module
                # at the line that made it, unless used on that line: then the line assigns
                # a value computed from it (`out = f(torch.randn(3, requires_grad=True))`)
                if entry is not None and self.locate() != source:
                    name = self._source.assigned_name(source)
                if name is None:  # or as the code calls it now (made by `return ...`)
                    name = self._source.bound_name(var)
        else:
            kind = "buffer" if var._id in self.names.buffer_ids else "input"
            if kind == "input" and name is None and entry is not None:  # its line's variable
                name = self._source.made_name(source)  # (eps = torch.randn_like(std))
            if kind == "input" and name is None:  # as the loop calls it (`xb`), if it does
                name = self._source.bound_name(var, outside_modules=True)
        value, array, preview = self._summary(data, filters=is_param)
        self.records[nid] = NodeRecord(
            id=nid,
            seq=self.count,
            kind=kind,
            op=None,
            name=name,
            shape=data.shape,
            dtype=_dtype_name(data.dtype),
            requires_grad=var.requires_grad,
            root=root,
            module=module,
            source=source,
            value=value,
            var=var._id,
            array=array,
            detached_from=detached_from,
            preview=preview,
        )
        self.var_nodes[var._id] = nid
        self.refs[nid] = weakref.ref(var)
        self.fresh.add(nid)
        self.versions[nid] = var._version
        return nid

    def _now_a_leaf(self, nid: str, var: Variable) -> str:
        """``var``, recorded as an op's result or as data that needs no gradient, now requires
        grad as a leaf (``W1 = torch.randn(...) * 0.1``, then ``W1.requires_grad = True``, as
        makemore does), or is a module's buffer (``register_buffer("tril", torch.tril(...))``):
        a parameter or buffer node of its own from here on, made where ``var`` was."""
        was = self.records[nid]
        self.created.setdefault(var._id, (weakref.ref(var), was.source, (was.root, was.module)))
        return self._leaf(var)

    def _stale(self, nid: str, leaf: Variable) -> bool:
        """Whether the summary of ``leaf`` (recorded as ``nid``) is older than its value: a
        parameter or buffer after a step or a write, a leaf frozen since, or data written in
        place since (``x[i][j] = 1`` through a view, ``x.unsqueeze_(0)``)."""
        record = self.records[nid]
        if record.kind == "input" and leaf._version != self.versions.get(nid, 0):
            return True
        return nid not in self.fresh and (
            leaf.requires_grad
            or leaf._id in self.names.buffer_ids
            or record.requires_grad  # frozen since
        )

    def _rescaled(self, variable: Variable) -> None:
        """A ``mul_``/``div_``/``clamp_`` after backward: if it wrote a parameter's gradient
        (d2l.ai's ``param.grad[:] *= theta / norm``), the gradients were clipped by hand."""
        pending = self.local.pending
        if pending is not None and pending.clip_norm is None and self._a_gradient(variable):
            pending.clip_norm = "by hand"

    def _a_gradient(self, variable: Variable) -> bool:
        """Whether ``variable``'s array is (a view of) the ``.grad`` of a recorded parameter."""
        data = variable._data
        array = data if data.base is None else data.base
        if self._grads[0] != self.count:  # made once per new record, not per write
            grads = {}
            for nid, record in self.records.items():
                if record.kind == "param":
                    ref = self.refs.get(nid)
                    param = ref() if ref is not None else None
                    if param is not None and param._grad is not None:
                        grads[id(param._grad)] = weakref.ref(param._grad)
            self._grads = (self.count, grads)
        held = self._grads[1].get(id(array))
        return held is not None and held() is array

    def _refresh(self, nid: str, var: Variable) -> None:
        """A parameter or buffer used again after a backward or an optimizer step, a buffer or
        data written in place, or a leaf frozen or unfrozen since: new statistics and flag."""
        r = self.records[nid]
        data = var._data
        value, array, preview = self._summary(data, filters=r.kind == "param")
        self.records[nid] = NodeRecord(  # positional: a parameter is refreshed at every step
            r.id,
            r.seq,
            r.kind,
            r.op,
            r.name,
            data.shape,
            r.dtype,
            var.requires_grad,  # requires_grad_(False) freezes a layer between steps
            r.root,
            r.module,
            r.source,
            value,
            r.parents,
            r.args,
            r.var,
            array,
            r.detached_from,
            preview,
            r.derivative_of,
        )
        self.fresh.add(nid)
        self.versions[nid] = var._version

    def _constant(self, array: np.ndarray) -> str:
        """A non-Variable ndarray operand: the node of the op result whose array it is (an
        index the op took as an array, ``torch.take(h, h.argmax(1))``), else an input node, one
        per array object, in the module that made it (an LSTM's masks, an Embedding's padding
        row: a collapsed module holds them), or outside any (an array passed to the model)."""
        nid = self._result(array)
        if nid is not None:
            return nid
        entry = self.consts.get(id(array))
        if entry is not None and entry[0]() is array:
            return entry[1]
        root, module = self._module()
        if id(array) in self.local.passed_in:
            root, module = -1, ""
        nid = self._new_id()
        value, copy, preview = self._summary(array)
        self.records[nid] = NodeRecord(
            id=nid,
            seq=self.count,
            kind="input",
            op=None,
            name=self._source.bound_name(array, array=True),  # `ix` of `X[ix]`, if named
            shape=array.shape,
            dtype=_dtype_name(array.dtype),
            requires_grad=False,
            root=root,
            module=module,
            source=self.locate(),
            value=value,
            array=copy,
            preview=preview,
        )
        ref = weakref.ref(array)
        self.consts[id(array)] = (ref, nid)
        self.refs[nid] = ref
        return nid

    def _result(self, array: np.ndarray) -> str | None:
        """The node of the op result whose array ``array`` is, if one is recorded and alive."""
        nid = self.results.get(id(array))
        if nid is None:
            return None
        ref = self.refs.get(nid)
        live = ref() if ref is not None else None
        return nid if live is not None and live._data is array else None

    def _option(
        self, op: type, slot: int, arg: Any, parents: list[tuple[str, int]], args: list[str]
    ) -> None:
        """An operand of ``op`` in ``slot`` that is neither a Variable nor an array: its label
        (``axis=1``) into ``args``; when it is a tuple (an index of parts,
        ``x[rows, h.argmax(1)]``), the op results among its arrays into ``parents`` (other
        arrays in it are not drawn)."""
        text = option_label(op, slot, arg)
        if text is not None:
            args.append(text)
        if type(arg) is tuple:
            for part in arg:
                nid = self._result(part) if type(part) is np.ndarray else None
                if nid is not None:
                    parents.append((nid, slot))

    def rename(self, nid: str, name: str | None) -> None:
        """Name node ``nid`` as its line's variable (None: drop the name a line gave it, its
        variable does not hold the result)."""
        if nid in self.records:
            self.records[nid] = renamed(self.records[nid], name)

    def sees_write(self, target: Variable, args: tuple[Any, ...]) -> bool:
        """The hook's question (here, beside the records it reads): draw an unrecorded write
        into ``target`` when the trace knows ``target`` (not ``p.data += ...``, a Variable made
        for the write) and an op made a Variable written (``y[mask] = net(x).max(1).values``;
        not ``X[i] = torch.tensor(row)``, a dataset filled row by row)."""
        i = target._id
        if not (i in self.var_nodes or i in self.created or i in self.names.buffer_ids):
            return False
        for arg in args:
            nid = self.var_nodes.get(arg._id) if isinstance(arg, Variable) else None
            record = self.records.get(nid) if nid is not None else None
            if record is not None and record.kind == "op":
                return True
        return False

    def inplace_from(self, node: Any, inputs: tuple[Any, ...], output: Variable) -> None:
        """The hook event: the write :meth:`sees_write` asked for, drawn as an op."""
        self.op(node, inputs, output)  # type: ignore[attr-defined]  # (the Recorder's)

    def _unknown(self, var: Variable) -> str:
        """Record a Variable first seen now: a leaf, or an op result computed before the trace
        started (its history is walked iteratively and recorded, without source lines)."""
        if var._node is None:
            return self._leaf(var)
        order = history(var, known=lambda v: v._id in self.var_nodes)
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
                    self._option(type(node), slot, arg, parents, args)
            self._op_record(item, node.name(), parents, args, None, (-1, ""), item.name)
        return self.var_nodes[var._id]

    def _op_record(
        self,
        output: Variable,
        op: str,
        parents: list[tuple[str, int]],
        args: list[str],
        source: str | None,
        module: tuple[int, str],
        name: str | None = None,
        derivative_of: Derivative | None = None,
    ) -> str:
        nid = self._new_id()
        data = output._data
        value, array, preview = self._summary(data)
        self.records[nid] = NodeRecord(  # positional: one per op
            nid,
            self.count,
            "op",
            op,
            name,
            data.shape,
            _dtype_name(data.dtype),
            output.requires_grad,
            module[0],
            module[1],
            source,
            value,
            tuple(parents),
            tuple(args),
            output._id,
            array,
            None,
            preview,
            derivative_of,
        )
        self.var_nodes[output._id] = nid
        self.refs[nid] = weakref.ref(output)
        self.results[id(data)] = nid
        return nid

    def _parameter_records(self, roots: set[int]) -> list[NodeRecord]:
        """The records of every parameter of the models ``roots`` (root module indices), so
        that a pass shows and counts them all; one that no op used is recorded now, at the line
        that created it."""
        out = []
        seen: set[int] = set()
        for index, root in enumerate(self.names.roots):
            if index not in roots:
                continue
            # a parameter functional_call gave a stand-in for is shown only if an op used it
            stood_for = {name for name, _ in root.stand_ins.values()}
            known = None if stood_for else self._recorded_parameters(root.module, seen)
            if known is not None:
                out += known
                continue
            for name, p in root.module.named_parameters():
                if p._id in seen or name in stood_for:
                    continue
                seen.add(p._id)
                nid = self.var_nodes.get(p._id)
                if nid is None:
                    nid = self._leaf(p, unused=(root.module, name))
                out.append(self.records[nid])
        return out

    def _recorded_parameters(self, model: Module, seen: set[int]) -> list[NodeRecord] | None:
        """The records of the parameters of ``model`` not in ``seen`` (added to it) when every
        one of them is recorded, found without naming them (a walk of the modules' own tables,
        as ``named_parameters()`` walks them); None when one is not recorded yet (it is
        recorded by name) or when ``model`` lists its members its own way."""
        if not walks_as_module(model):
            return None
        var_nodes, records = self.var_nodes, self.records
        out = []
        mine: set[int] = set()
        modules: set[int] = set()
        stack = [model]
        while stack:
            module = stack.pop()
            if id(module) in modules:
                continue
            modules.add(id(module))
            for p in module._parameters.values():
                if p is None or p._id in seen or p._id in mine:
                    continue
                nid = var_nodes.get(p._id)
                if nid is None:
                    return None
                mine.add(p._id)
                out.append(records[nid])
            stack += [child for child in module._modules.values() if child is not None]
        seen |= mine
        return out

    def _sweep(self) -> None:
        """Forget records no later graph can need: dead, and not an ancestor of a live one."""
        records = self.records
        keep = reachable(records, [nid for nid, ref in self.refs.items() if ref() is not None])
        if len(keep) < len(records):
            for nid in [n for n in records if n not in keep]:
                record = records.pop(nid)
                self.refs.pop(nid, None)
                if record.var is not None and self.var_nodes.get(record.var) == nid:
                    del self.var_nodes[record.var]
            self.consts = {k: v for k, v in self.consts.items() if v[1] in records}
            self.results = {k: v for k, v in self.results.items() if v in records}
            self.calls = {k: v for k, v in self.calls.items() if k in records}
            self.fresh &= keep
            self.versions = {k: v for k, v in self.versions.items() if k in records}
        self.created = {k: v for k, v in self.created.items() if v[0]() is not None}
