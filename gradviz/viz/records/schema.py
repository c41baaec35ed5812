"""THE schema of a trace, once: node, edge and graph attributes, and the plain records a trace is
made of (a recorded node, a backward step, a pass, an event, an op call).

The capture stage makes these records, :mod:`gradviz.viz.records.graph` builds the pinned
``networkx`` graph from them, :mod:`gradviz.viz.records.io` converts them to and from JSON, and the
diagnoses and views read them. docs/trace-schema.md describes the same schema for users.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import networkx as nx

from gradviz.viz.records.preview import Preview
from gradviz.viz.records.stats import Stats

_TEXT = (str, type(None))
#: ``ndarray.tolist()``: nested lists, or a number for a 0-d array
_ARRAY = (list, float, int, bool, complex, type(None))
#: Every node carries exactly these attributes, with values of these types, and this default
#: when a route has nothing to say (``array``/``grad_array`` and ``preview``/``grad_preview``
#: are None unless the trace kept arrays). docs/trace-schema.md describes each.
NODE_SCHEMA: dict[str, tuple[tuple[type, ...], Any]] = {
    "kind": ((str,), "op"),
    "op": (_TEXT, None),
    "name": (_TEXT, None),
    "shape": ((tuple,), ()),
    "dtype": (_TEXT, None),
    "requires_grad": ((bool,), True),
    "module": ((str,), ""),
    "source": (_TEXT, None),
    "value": ((dict, type(None)), None),
    "grad": ((dict, type(None)), None),
    "step": ((int, type(None)), None),
    "accumulated": ((bool,), False),
    "retained": ((bool,), False),
    "update": ((dict, type(None)), None),
    "args": ((tuple,), ()),
    "detached_from": (_TEXT, None),
    "derivative_of": ((dict, type(None)), None),
    "array": (_ARRAY, None),
    "grad_array": (_ARRAY, None),
    "preview": ((dict, type(None)), None),
    "grad_preview": ((dict, type(None)), None),
}
NODE_ATTRS = tuple(NODE_SCHEMA)


def add_edge(graph: nx.DiGraph, parent: Any, child: Any, slot: int) -> None:
    """Record that ``parent`` fills argument ``slot`` of ``child``'s op call: one edge per pair,
    ``arg`` the first slot, ``slots`` all of them in order (``x * x``: slots ``(0, 1)``)."""
    edge = graph.get_edge_data(parent, child)
    if edge is None:
        graph.add_edge(parent, child, arg=slot, slots=(slot,))
    else:
        edge["slots"] = (*edge["slots"], slot)


#: A graph attribute of live graphs only (``gradviz.render(loss)``, never saved): the nodes
#: whose gradient was not recorded (a Variable computed from others keeps no ``.grad`` unless it
#: called ``retain_grad()``). Their ``grad`` is None, drawn as "not recorded", not "no grad".
GRAD_NOT_RECORDED = "grad_not_recorded"


def node_attrs(**given: Any) -> dict[str, Any]:
    """The attributes of a new graph node: every schema attribute, in schema order, the default
    for those not ``given``. Every route that makes graph nodes (the graph build, live graphs, a
    loaded trace) goes through here."""
    unknown = set(given).difference(NODE_SCHEMA)
    if unknown:
        raise TypeError(f"not node attributes of the trace schema: {sorted(unknown)}")
    return {key: given.get(key, default) for key, (_, default) in NODE_SCHEMA.items()}


@dataclass(frozen=True, slots=True)
class NodeView:
    """A graph node as the readers (JSON writer, pictures, page) see it: every schema attribute
    with the defaults applied (graphs made by hand may leave attributes out), and whether its
    gradient was recorded at all (``grad_recorded``: False for a live graph's interior nodes
    and for a node without a ``grad`` attribute)."""

    id: Any
    kind: str
    op: str | None
    name: str | None
    shape: tuple[int, ...] | None
    dtype: str | None
    requires_grad: bool
    module: str
    source: str | None
    value: Stats | None
    grad: Stats | None
    step: int | None
    accumulated: bool
    retained: bool
    update: dict[str, float] | None
    args: tuple[str, ...]
    detached_from: str | None
    derivative_of: dict[str, str | None] | None
    array: Any
    grad_array: Any
    preview: Preview | None
    grad_preview: Preview | None
    grad_recorded: bool


def node_view(graph: nx.DiGraph, node: Any) -> NodeView:
    """Node ``node`` of ``graph`` with the schema's defaults applied, once."""
    a = graph.nodes[node]
    op = a.get("op")
    get = a.get
    return NodeView(
        id=node,
        kind=get("kind") or ("op" if op else "input"),
        op=op,
        name=get("name"),
        shape=get("shape"),
        dtype=get("dtype"),
        requires_grad=get("requires_grad", True),
        module=get("module") or "",
        source=get("source"),
        value=get("value"),
        grad=get("grad"),
        step=get("step"),
        accumulated=bool(get("accumulated")),
        retained=bool(get("retained")),
        update=get("update"),
        args=tuple(get("args") or ()),
        detached_from=get("detached_from"),
        derivative_of=get("derivative_of"),
        array=get("array"),
        grad_array=get("grad_array"),
        preview=get("preview"),
        grad_preview=get("grad_preview"),
        grad_recorded="grad" in a and node not in graph.graph.get(GRAD_NOT_RECORDED, ()),
    )


#: Graph-level attributes.
GRAPH_ATTRS = ("root", "modules", "pass", "script")
#: Edge attributes: ``arg`` is the first argument slot the parent fills in the child's op call,
#: ``slots`` all of them (``x * x`` is one edge with slots ``(0, 1)``).
EDGE_ATTRS = ("arg", "slots")


class StrValued(str, Enum):
    """An enum whose members are their strings: graph attributes, JSON and DOT see plain text
    (``Kind.OP == "op"``, ``f"{Kind.OP}" == "op"``, and the two hash alike)."""

    def __str__(self) -> str:
        return str(self.value)

    __format__ = str.__format__


class Kind(StrValued):
    """A node's ``kind``: a leaf that requires grad (or a Parameter), a module's buffer (from
    ``register_buffer``: BatchNorm's running statistics), any other leaf, or the result of an
    op."""

    INPUT = "input"
    PARAM = "param"
    OP = "op"
    BUFFER = "buffer"


KINDS = tuple(kind.value for kind in Kind)


@dataclass(frozen=True, slots=True)
class Derivative:
    """The op whose derivative an op recorded by a graph rule is part of (``create_graph=True``:
    the rule of ``Tanh`` records a ``Mul`` and a ``Sub``): the recorded op ``node``, its ``op``
    name, its top-level module ``root`` and ``module`` path as :class:`NodeRecord` holds them
    (a graph resolves them to the dotted path), and ``rule``: when that op was itself recorded
    by a graph rule (a second derivative), the op that rule differentiated, else None.

    The op's name and module are kept here because the op itself is often not in the graph of
    the derivative: ``Sum``'s rule only expands the gradient, ``Linear``'s reads the weight."""

    node: str
    op: str | None
    root: int
    module: str
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """One recorded Variable (or constant ndarray operand) and how it was made.

    ``module`` is the path relative to top-level module number ``root`` (-1: outside any
    module); the full dotted path is resolved when a graph is built, once every top-level
    module is known. ``parents`` are ``(node id, argument slot)`` pairs in argument order.
    ``var`` is the Variable's engine id (None for a constant ndarray). ``derivative_of``:
    for an op recorded by a graph rule, the op it is the derivative of (else None).
    """

    id: str
    seq: int
    kind: str
    op: str | None
    name: str | None
    shape: tuple[int, ...]
    dtype: str
    requires_grad: bool
    root: int
    module: str
    source: str | None
    value: Stats | None
    parents: tuple[tuple[str, int], ...] = ()
    args: tuple[str, ...] = ()
    var: int | None = None
    array: Any = None
    detached_from: str | None = None
    preview: Preview | None = None
    derivative_of: Derivative | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One backward step: the ``index``-th (1-based) node whose gradient was complete, the
    statistics of that gradient, whether it was summed from several consumers (fan-in), and
    whether the user's code keeps it in ``.grad`` of a non-leaf (``retain_grad()``)."""

    index: int
    node: str
    grad: Stats | None
    accumulated: bool
    retained: bool = False


#: At most this many events are kept (the most recent ones).
MAX_EVENTS = 10_000

#: What an op was called with, kept for the diagnoses of the latest pass: the Function class,
#: the arguments as given with each Variable replaced by its array (no copy: only the optimizer
#: writes arrays in place, and the tracer swaps in the pre-step copy it takes anyway), and
#: ``needs_input_grad``.
OpCall = tuple[type, tuple[Any, ...], tuple[bool, ...]]


@dataclass(frozen=True, slots=True)
class Event:
    """Something that explains a gradient later: a ``detach()`` call, grad mode switched off
    (``no_grad_enter``) or back on (``no_grad_exit``), an unrecorded in-place write
    (``inplace``: ``w -= lr * w.grad`` under ``no_grad``).

    ``source`` is the user's line; ``after`` the id of the last node recorded before the event
    (None at the start); for ``detach``, ``node`` is the Variable detached and ``result`` the
    new leaf; for ``inplace``, ``node`` is the Variable written, ``op`` the method
    (``"sub_"``) and ``version`` its version after the write; for ``grad_hook``, ``node``'s
    gradient hook ``op`` (its name; ``source`` where it is defined) made its gradient exactly
    zero or non-finite in a recorded backward pass; for ``create_graph``, ``node``'s gradient
    was computed as recorded ops (``grad(u, x, create_graph=True)`` at ``source``).
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
        #: the loss: the value of the root when it is one number (None: not a scalar)
        self.loss: float | None = None
        #: the learning rate of that optimizer's first parameter group (None: unknown)
        self.learning_rate: float | None = None
        #: the ``max_norm`` of a ``clip_grad_norm_`` between this pass and its optimizer step,
        #: or "by hand" for a gradient rescaled in place there (None: none seen), so that the
        #: advice does not tell a clipped step to clip
        self.clip_norm: float | str | None = None
        #: the parameter nodes the optimizers that stepped after this pass hold (None: no step
        #: seen): a parameter outside them is not trained by this loss (a GAN's generator in
        #: the discriminator's step), so no gradient is expected
        self.stepped: frozenset[str] | None = None
        #: whether every op of the graph ran before the backward call before this one (a
        #: second ``backward(retain_graph=True)`` over one graph): its op calls were that
        #: call's to keep
        self.reran = False
        #: ``(parameter node, optimizer)`` of each parameter whose ``.grad`` this backward call
        #: added into while it still held a gradient the optimizer (its class name, ``"Adam #2"``
        #: for a second Adam) had stepped with: not zeroed after ``optimizer.step()`` (None: not
        #: recorded, a trace file written before this existed)
        self.stale_grads: tuple[tuple[str, str], ...] | None = None

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
        """Attach an update (``{"norm", "ratio"}``) to ``node``: a parameter's optimizer step,
        or a buffer's in-place change during the step's forward."""
        self._updates[node] = update
        if self._graph is not None:
            self._graph.nodes[node]["update"] = update

    def __repr__(self) -> str:
        nodes = self.graph.number_of_nodes()
        return f"Pass(index={self.index}, nodes={nodes}, steps={len(self.steps)})"
