"""A trace as JSON and back (docs/trace-schema.md): records in, text out; text in, records out.

A loaded trace has the same ``passes``, ``graph``, ``steps`` and ``events`` as the live one it
was saved from (graphs compare equal node by node, edge by edge, attribute by attribute), so it
renders the same pictures. This module only converts: :func:`gradviz.viz.trace.save_trace` writes
the text (atomically) and :func:`gradviz.load_trace` makes a ``Trace`` of what
:func:`read_trace` returns. A file that is not a gradviz trace, is malformed, or comes from a
newer gradviz is rejected with a :class:`TraceFileError`.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import networkx as nx

from gradviz._version import __version__
from gradviz.autograd.errors import GradvizError
from gradviz.viz.records.preview import preview_problem
from gradviz.viz.records.schema import (
    EDGE_ATTRS,
    GRAPH_ATTRS,
    KINDS,
    MAX_EVENTS,
    NODE_ATTRS,
    Event,
    Pass,
    Step,
    node_attrs,
    node_view,
)
from gradviz.viz.records.stats import KEYS
from gradviz.viz.records.timeline import TIMELINE_FORMAT, Timeline, from_json, json_number

__all__ = [
    "FORMAT",
    "VERSION",
    "SavedTrace",
    "TraceFileError",
    "TraceFormatError",
    "TraceVersionError",
    "read_trace",
    "trace_from_dict",
    "trace_text",
    "trace_to_dict",
]

FORMAT = "gradviz-trace"
_SURROGATE = re.compile("[\ud800-\udfff]")
#: 2: the timeline of recorded steps (``timeline``) and the recording ``detail``/``keep_full``
VERSION = 2


class TraceFileError(GradvizError, ValueError):
    """A trace file that cannot be loaded."""


class TraceFormatError(TraceFileError):
    """Not a gradviz trace, or one with missing or ill-typed fields."""


class TraceVersionError(TraceFileError):
    """A trace written by a newer gradviz (a schema version this one does not know)."""


class TraceLike(Protocol):
    """What :func:`trace_to_dict` reads of a trace (a live or a loaded one)."""

    script: str | None
    backward_calls: int
    arrays: bool
    max_array_size: int
    passes: list[Pass]
    detail: str
    keep_full: int
    timeline: Timeline

    @property
    def graph(self) -> nx.DiGraph: ...

    @property
    def events(self) -> list[Event]: ...


@dataclass(frozen=True)
class SavedTrace:
    """The records of a trace file: what :func:`read_trace` returns."""

    script: str | None
    backward_calls: int
    arrays: bool
    max_array_size: int
    passes: Sequence[Pass]
    forward: nx.DiGraph | None
    events: Sequence[Event]
    detail: str = "full"
    keep_full: int = 2
    timeline: Timeline | None = None


# --------------------------------------------------------------------------------- writing
def graph_to_dict(graph: nx.DiGraph) -> dict[str, Any]:
    """A trace graph as JSON-ready data: graph attributes, nodes in order, edges in order."""
    nodes = []
    for nid in graph.nodes:
        view = node_view(graph, nid)
        entry: dict[str, Any] = {"id": nid}
        for key in NODE_ATTRS:
            value = getattr(view, key)
            entry[key] = list(value) if key in ("shape", "args") and value is not None else value
        nodes.append(entry)
    edges = [
        {"source": u, "target": v, "arg": a.get("arg"), "slots": list(a.get("slots", ()))}
        for u, v, a in graph.edges(data=True)
    ]
    return {
        "attrs": {key: graph.graph.get(key) for key in GRAPH_ATTRS},
        "nodes": nodes,
        "edges": edges,
    }


def trace_to_dict(trace: TraceLike) -> dict[str, Any]:
    """The whole trace as JSON-ready data."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "gradviz": __version__,
        "script": trace.script,
        "backward_calls": trace.backward_calls,
        "arrays": trace.arrays,
        "max_array_size": trace.max_array_size,
        "detail": trace.detail,
        "keep_full": trace.keep_full,
        "timeline": trace.timeline.to_dict(),
        "passes": [
            {
                "index": p.index,
                "loss": json_number(p.loss),
                "graph": graph_to_dict(p.graph),
                "steps": [
                    {
                        "index": s.index,
                        "node": s.node,
                        "grad": s.grad,
                        "accumulated": s.accumulated,
                        "retained": s.retained,
                    }
                    for s in p.steps
                ],
                **_stale_to_dict(p),
            }
            for p in trace.passes
        ],
        "forward": None if trace.passes else graph_to_dict(trace.graph),
        "events": [
            {
                "kind": e.kind,
                "source": e.source,
                "after": e.after,
                "node": e.node,
                "result": e.result,
                "op": e.op,
                "version": e.version,
            }
            for e in trace.events
        ],
    }


def trace_text(trace: TraceLike) -> str:
    """``trace`` as the text of a trace file."""
    text = json.dumps(trace_to_dict(trace), indent=1, ensure_ascii=False)
    # a lone surrogate (a name from undecodable bytes) has no UTF-8: its JSON escape loads back
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


# --------------------------------------------------------------------------------- reading
def read_trace(path: Path) -> SavedTrace:
    """Read a trace file written by ``Trace.save``.

    Raises :class:`TraceFormatError` for a file that is not a gradviz trace or is malformed,
    :class:`TraceVersionError` for one from a newer gradviz (both are ``ValueError``\\ s).
    """
    if path.exists() and not path.is_file():  # a folder, a device (/dev/zero reads forever)
        raise TraceFormatError(f"{path}: not a gradviz trace (not a regular file)")
    try:
        text = path.read_text(encoding="utf-8-sig")  # an editor's byte-order mark is no error
    except UnicodeDecodeError as error:
        raise TraceFormatError(f"{path}: not a gradviz trace (not UTF-8 text: {error})") from None
    try:
        data = json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise TraceFormatError(f"{path}: {_TOO_DEEP}") from None
    except ValueError as error:  # JSONDecodeError, and Python's limit on the digits of an int
        raise TraceFormatError(f"{path}: not a gradviz trace (invalid JSON: {error})") from None
    try:
        _check_depth(data)
        return trace_from_dict(data)
    except TraceFileError as error:
        raise type(error)(f"{path}: {error}") from None


def trace_from_dict(data: Any) -> SavedTrace:
    """The inverse of :func:`trace_to_dict`, with every field checked."""
    if isinstance(data, dict) and data.get("format") == TIMELINE_FORMAT[0]:
        raise TraceFormatError(
            "a timeline file (the JSON of 'gradviz timeline'), not a trace; a trace file comes "
            "from 'gradviz render SCRIPT --format json' or Trace.save"
        )
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TraceFormatError(f'not a gradviz trace (expected "format": "{FORMAT}")')
    version = data.get("version")
    if type(version) is not int:
        raise TraceFormatError(f'"version" must be an integer, got {version!r}')
    if version > VERSION:
        raise TraceVersionError(
            f"trace schema version {version} is newer than this gradviz "
            f"({__version__}) reads (version {VERSION}); upgrade gradviz"
        )
    if version < 1:
        raise TraceFormatError(f"unknown trace schema version {version}")
    script = _get(data, "script", (str, type(None)))
    backward_calls = _count(data, "backward_calls")
    arrays = _get(data, "arrays", bool)
    max_array_size = _count(data, "max_array_size")
    passes, seen = [], set()
    for index, entry in enumerate(_get(data, "passes", list)):
        where = f"passes[{index}]"
        _check(isinstance(entry, dict), f"{where} must be an object")
        graph = graph_from_dict(_get(entry, "graph", dict, where), f"{where}.graph")
        steps = []
        for number, step in enumerate(_get(entry, "steps", list, where), 1):
            at = f"{where}.steps[{number - 1}]"
            _check(isinstance(step, dict), f"{at} must be an object")
            node = _get(step, "node", str, at)
            _check(node in graph, f"{at}.node {node!r} is not a node of the graph")
            steps.append(
                Step(
                    index=_count(step, "index", at),
                    node=node,
                    grad=_stats(step.get("grad"), f"{at}.grad"),
                    accumulated=_get(step, "accumulated", bool, at),
                    retained="retained" in step and _get(step, "retained", bool, at),
                )
            )
        kept = Pass(_count(entry, "index", where), graph, steps)
        _check(kept.index >= 1, f"{where}.index must be a backward call number (1, 2, ...)")
        _check(kept.index not in seen, f"{where}.index is repeated")
        seen.add(kept.index)
        if "loss" in entry:  # version 2
            kept.loss = _loss(entry["loss"], f"{where}.loss")
        if "stale_grads" in entry:  # added later: an older file's passes did not record it
            kept.stale_grads = _stale(entry["stale_grads"], f"{where}.stale_grads")
        passes.append(kept)
    forward = data.get("forward")
    events = deque(maxlen=MAX_EVENTS)
    for index, entry in enumerate(_get(data, "events", list)):
        where = f"events[{index}]"
        _check(isinstance(entry, dict), f"{where} must be an object")
        events.append(
            Event(
                kind=_get(entry, "kind", str, where),
                source=_get(entry, "source", (str, type(None)), where),
                after=_get(entry, "after", (str, type(None)), where),
                node=_get(entry, "node", (str, type(None)), where),
                result=_get(entry, "result", (str, type(None)), where),
                # added with in-place writes: older trace files have neither
                op=_get(entry, "op", (str, type(None)), where) if "op" in entry else None,
                version=(
                    _get(entry, "version", (int, type(None)), where) if "version" in entry else None
                ),
            )
        )
    return SavedTrace(
        script=script,
        backward_calls=backward_calls,
        arrays=arrays,
        max_array_size=max_array_size,
        passes=passes,
        forward=None if forward is None else graph_from_dict(forward, "forward"),
        events=events,
        **_steps_from_dict(data, version, passes),
    )


def _stale_to_dict(p: Pass) -> dict[str, Any]:
    """A pass's ``stale_grads`` as ``[[node, optimizer], ...]`` (left out when not recorded)."""
    stale = getattr(p, "stale_grads", None)
    return {} if stale is None else {"stale_grads": [list(pair) for pair in stale]}


def _stale(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    _check(isinstance(value, list), f"{where} must be a list of [node, optimizer] pairs")
    for pair in value:
        ok = isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)
        _check(ok, f"{where} must be a list of [node, optimizer] pairs, got {pair!r}")
    return tuple((node, optimizer) for node, optimizer in value)


def _steps_from_dict(data: dict[str, Any], version: int, passes: list[Pass]) -> dict[str, Any]:
    """``detail``, ``keep_full`` and ``timeline`` of a trace file; a version 1 file has none:
    its timeline is made of its passes."""
    if version < 2:
        graphs = ((p.index, p.graph, None) for p in passes)  # the loss: the root's value
        return {"detail": "full", "keep_full": 2, "timeline": Timeline.from_graphs(graphs)}
    detail = _get(data, "detail", str)
    _check(detail in ("full", "summary"), f'"detail" must be "full" or "summary", not {detail!r}')
    keep_full = _count(data, "keep_full")
    try:
        timeline = Timeline.from_dict(_get(data, "timeline", dict))
    except ValueError as error:
        raise TraceFormatError(f"malformed trace: timeline: {error}") from None
    return {"detail": detail, "keep_full": keep_full, "timeline": timeline}


def graph_from_dict(data: Any, where: str = "graph") -> nx.DiGraph:
    """A trace graph from :func:`graph_to_dict` data."""
    _check(isinstance(data, dict), f"{where} must be an object")
    attrs = _get(data, "attrs", dict, where)
    graph = nx.DiGraph()
    for key in GRAPH_ATTRS:
        _check(key in attrs, f"{where}.attrs has no {key!r}")
    _check(isinstance(attrs["root"], (str, type(None))), f"{where}.attrs.root must be a string")
    modules = attrs["modules"]
    _check(
        isinstance(modules, dict) and all(isinstance(v, str) for v in modules.values()),
        f"{where}.attrs.modules must map module paths to class names",
    )
    _check(type(attrs["pass"]) in (int, type(None)), f"{where}.attrs.pass must be an integer")
    _check(isinstance(attrs["script"], (str, type(None))), f"{where}.attrs.script must be text")
    graph.graph.update({key: attrs[key] for key in GRAPH_ATTRS})
    for index, node in enumerate(_get(data, "nodes", list, where)):
        at = f"{where}.nodes[{index}]"
        _check(isinstance(node, dict), f"{at} must be an object")
        nid = _get(node, "id", str, at)
        _check(":" not in nid and nid not in graph, f"{at}.id {nid!r} is repeated or has ':'")
        for key in NODE_ATTRS:
            _check(key in node or key in _ADDED, f"{at} has no {key!r}")
        _check(node["kind"] in KINDS, f"{at}.kind must be one of {KINDS}, got {node['kind']!r}")
        shape = node["shape"]
        _check(
            isinstance(shape, list)
            and all(type(n) is int and n >= 0 for n in shape)
            and math.prod(shape) <= MAX_SIZE,
            f"{at}.shape must be a list of sizes (integers >= 0, at most {MAX_SIZE:,} elements)",
        )
        args = node["args"]
        _check(
            isinstance(args, list) and all(isinstance(a, str) for a in args),
            f"{at}.args must be a list of strings",
        )
        for key in ("op", "name", "module", "source", "dtype", "detached_from"):
            _check(isinstance(node[key], (str, type(None))), f"{at}.{key} must be text or null")
        _check(type(node["requires_grad"]) is bool, f"{at}.requires_grad must be true or false")
        _check(type(node["accumulated"]) is bool, f"{at}.accumulated must be true or false")
        _check(type(node.get("retained", False)) is bool, f"{at}.retained must be true or false")
        _check(type(node["step"]) in (int, type(None)), f"{at}.step must be an integer or null")
        update = node["update"]
        _check(
            update is None
            or (
                isinstance(update, dict)
                and set(update) == {"norm", "ratio"}
                and all(_is_number(v) for v in update.values())
            ),
            f"{at}.update must be null or {{norm, ratio}}",
        )
        for key in _PREVIEWS:
            problem = preview_problem(node[key]) if node.get(key) is not None else None
            _check(problem is None, f"{at}.{key} {problem}")
        _check(_is_derivative(node.get("derivative_of")), f"{at}.derivative_of {_DERIVATIVE}")
        attrs_out = {key: node.get(key) for key in NODE_ATTRS}
        attrs_out["shape"] = tuple(shape)
        attrs_out["args"] = tuple(args)
        attrs_out["value"] = _stats(node["value"], f"{at}.value")
        attrs_out["grad"] = _stats(node["grad"], f"{at}.grad")
        graph.add_node(nid, **node_attrs(**attrs_out))
    for index, edge in enumerate(_get(data, "edges", list, where)):
        at = f"{where}.edges[{index}]"
        _check(isinstance(edge, dict), f"{at} must be an object")
        for key in ("source", "target", *EDGE_ATTRS):
            _check(key in edge, f"{at} has no {key!r}")
        source, target = edge["source"], edge["target"]
        _check(
            source in graph and target in graph,
            f"{at} joins unknown nodes {source!r} -> {target!r}",
        )
        _check(source != target, f"{at} joins {source!r} to itself")
        slots = edge["slots"]
        _check(
            type(edge["arg"]) is int
            and isinstance(slots, list)
            and all(type(s) is int for s in slots),
            f"{at}.arg must be an integer and slots a list of integers",
        )
        graph.add_edge(source, target, arg=edge["arg"], slots=tuple(slots))
    if not nx.is_directed_acyclic_graph(graph):
        cycle = " -> ".join(str(u) for u, _ in nx.find_cycle(graph))
        raise TraceFormatError(f"malformed trace: {where}.edges form a cycle ({cycle})")
    root = attrs["root"]
    _check(root is None or root in graph, f"{where}.attrs.root {root!r} is not a node")
    return graph


# --------------------------------------------------------------------------------- checks
#: Node attributes added after version 1 was first written: a file without them reads as None.
_ADDED = ("preview", "grad_preview", "derivative_of", "retained")
_PREVIEWS = ("preview", "grad_preview")
_DERIVATIVE = "must be null or {node, op, module, rule} (text; op and rule may be null)"
#: No gradviz trace nests containers deeper than this (the schema's deepest is a node's
#: ``update`` or ``value`` statistics, 7 levels down).
MAX_DEPTH = 10
#: ``array`` and ``grad_array`` (``trace(arrays=True)``) nest one list per dim of the array,
#: and NumPy allows 64 dims: they may go this much deeper.
MAX_ARRAY_DIMS = 64
_ARRAY_KEYS = frozenset({"array", "grad_array"})
_TOO_DEEP = f"malformed trace: nested deeper than a gradviz trace can be ({MAX_DEPTH} levels)"
#: Integers with more digits than this are kept as :class:`_Huge` (no field of a trace is
#: that large), so the field check names the field instead of converting 5,000 digits.
MAX_DIGITS = 20
#: The most elements a recorded shape can describe.
MAX_SIZE = 2**63 - 1


class _Huge:
    """An integer too long for any field of a trace; fails every type check."""

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))

    def __repr__(self) -> str:
        return f"a {self.digits}-digit number"


def _parse_int(text: str) -> int | _Huge:
    return int(text) if len(text) <= MAX_DIGITS else _Huge(text)


def _check_depth(data: Any) -> None:
    """Reject containers nested deeper than :data:`MAX_DEPTH`, naming where (no recursion)."""
    if not isinstance(data, (dict, list)):
        return
    todo: list[tuple[Any, int, str]] = [(data, 1, "trace")]
    while todo:
        value, depth, where = todo.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(item, (dict, list)):
                at = f"{where}.{key}" if isinstance(value, dict) else f"{where}[{key}]"
                if depth >= MAX_DEPTH:
                    raise TraceFormatError(f"{_TOO_DEEP} at {at}")
                array = isinstance(value, dict) and key in _ARRAY_KEYS
                todo.append((item, depth + 1 - (MAX_ARRAY_DIMS if array else 0), at))


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise TraceFormatError(f"malformed trace: {message}")


def _get(data: dict[str, Any], key: str, types: Any, where: str = "trace") -> Any:
    if key not in data:
        raise TraceFormatError(f"malformed trace: {where} has no {key!r}")
    value = data[key]
    allowed = types if isinstance(types, tuple) else (types,)
    # bool is an int in Python; a count must not be true/false, nor a flag 0/1
    ok = any(type(value) is t for t in allowed)
    if not ok:
        names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
        raise TraceFormatError(f"malformed trace: {where}.{key} must be {names}, got {value!r}")
    return value


def _count(data: dict[str, Any], key: str, where: str = "trace") -> int:
    value = _get(data, key, int, where)
    if value < 0:
        raise TraceFormatError(f"malformed trace: {where}.{key} must be >= 0, got {value}")
    return value


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _is_derivative(value: Any) -> bool:
    """Whether ``value`` is a node's ``derivative_of``: null, or the op a graph rule's op is
    the derivative of."""
    if value is None:
        return True
    text, maybe = (str,), (str, type(None))
    types = {"node": text, "op": maybe, "module": text, "rule": maybe}
    return (
        isinstance(value, dict)
        and set(value) == set(types)
        and all(type(value[k]) in t for k, t in types.items())
    )


def _loss(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        return from_json(value)
    except ValueError:
        raise TraceFormatError(f"malformed trace: {where} must be a number or null") from None


def _stats(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    _check(
        isinstance(value, dict) and set(value) - {"distinct"} == set(KEYS),
        f"{where} must have {KEYS}",
    )
    for key in ("min", "max", "mean", "std", "norm"):
        _check(value[key] is None or _is_number(value[key]), f"{where}.{key} must be a number")
    for key in ("std", "norm"):  # NaN fails both comparisons
        _check(value[key] is None or value[key] >= 0, f"{where}.{key} must be >= 0")
    for key in ("nan", "inf"):
        _check(type(value[key]) is int and value[key] >= 0, f"{where}.{key} must be a count (>= 0)")
    out = {key: value[key] for key in KEYS}
    if "distinct" in value:  # integer arrays
        distinct = value["distinct"]
        _check(
            distinct is None or (type(distinct) is int and distinct >= 0),
            f"{where}.distinct must be a count (>= 0)",
        )
        out["distinct"] = distinct
    return out
