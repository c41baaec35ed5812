"""One training step as ONE self-contained interactive HTML page.

``write_html(trace, "step.html", report=trace.check())`` (``gradviz.viz.trace.write_page``,
``Trace.render("html", path)`` and ``gradviz render SCRIPT --format html`` diagnose, then call
it) writes a page that opens from disk in any browser, with
no network at view time: the forward and backward graphs laid out by Graphviz (the SVG of
:func:`gradviz.viz.draw.render.build`, inlined), the trace data as JSON, and a small plain-JS viewer
(:data:`SCRIPTS` and ``page.css`` beside this module, inlined). The viewer pans and
zooms, shows a node's statistics, histograms and pictures on click, replays backward step by
step, searches, lists what ``trace.check()`` found (the pictures mark it as ``gradviz check``'s
do) and expands collapsed modules (an SVG is embedded per module depth that fits the budget).

Safety: every user string reaches the page either through the SVG (escaped by ``render``) or
through the JSON block, where ``<``, ``>``, ``&``, U+2028 and U+2029 are written as ``\\u003c``
... so no ``</script>`` can end it; the viewer only ever sets ``textContent``. A
Content-Security-Policy admits exactly the page's own script (by its SHA-256) and no network.

Non-finite numbers are written as the strings ``"Infinity"``, ``"-Infinity"`` and ``"NaN"``
(``JSON.parse`` rejects the bare words); the viewer reads them back with ``Number()``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from gradviz._version import __version__
from gradviz.viz.diagnose import Finding, Report, pictures_graph
from gradviz.viz.diagnose.nan import is_mask
from gradviz.viz.diagnose.report import Mark
from gradviz.viz.draw import style
from gradviz.viz.draw.layout import layout_workers, run_layout
from gradviz.viz.draw.render import DEFAULT_MAX_NODES, RenderError, check_depth, draw_scene
from gradviz.viz.draw.scene import Scene
from gradviz.viz.page.svg import inline_svg
from gradviz.viz.records.files import atomic_write
from gradviz.viz.records.schema import node_view
from gradviz.viz.records.text import natural_key

__all__ = ["HtmlPage", "page_data", "page_html", "write_html"]

#: Bins of the value and gradient histograms.
HIST_BINS = 24
#: The picture shown first has at most this many boxes when a module depth allows it.
PAGE_BUDGET = 300
#: At most this many module-depth variants are embedded per view (each is one layout).
MAX_VARIANTS = 4


@dataclass(frozen=True)
class HtmlPage:
    """What :func:`write_html` did: the file, its size, the layout program, the pictures."""

    path: Path
    size: int
    program: str | None
    views: tuple[str, ...]
    variants: int
    note: str


# ------------------------------------------------------------------------------ inputs
def _resolve(obj: Any, pass_index: int | None) -> tuple[nx.DiGraph, list[Any], Any]:
    """(graph, steps, trace or None) of a Trace, a Pass or a trace graph."""
    if isinstance(obj, nx.DiGraph):
        return obj, _steps_from_graph(obj), None
    get_pass = getattr(obj, "get_pass", None)
    if callable(get_pass) and getattr(obj, "passes", None):
        chosen = get_pass(pass_index)
        return chosen.graph, list(chosen.steps), obj
    graph = getattr(obj, "graph", None)
    if isinstance(graph, nx.DiGraph):
        steps = getattr(obj, "steps", None)
        return graph, list(steps) if steps else _steps_from_graph(graph), obj
    raise RenderError(f"write_html takes a Trace or a trace graph, got {type(obj).__name__}")


def _steps_from_graph(graph: nx.DiGraph) -> list[dict[str, Any]]:
    """Backward steps rebuilt from the nodes' ``step`` attributes (a bare graph)."""
    stepped = [(a["step"], n) for n, a in graph.nodes(data=True) if a.get("step") is not None]
    return [
        {"node": n, "accumulated": bool(graph.nodes[n].get("accumulated"))}
        for _, n in sorted(stepped, key=lambda x: x[0])
    ]


# ------------------------------------------------------------------------------ numbers
def _num(x: Any) -> Any:
    """A float for JSON: 6 significant digits; non-finite as a string."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return float(f"{x:.6g}")


def _plain(value: Any) -> Any:
    """JSON-ready data: tuples as lists, NumPy scalars as numbers, non-finite as strings."""
    kind = type(value)  # the common exact types first: this runs once per value of the page
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): _plain(v) for k, v in value.items()}
    if kind is float:
        return _num(value)
    if kind is int:
        return value
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _num(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _histogram(array: Any) -> dict[str, Any] | None:
    """``{"lo", "hi", "counts", "n"}`` of the finite elements of a kept array, or None."""
    if array is None:
        return None
    try:
        data = np.asarray(array, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    data = data[np.isfinite(data)]
    if data.size == 0:
        return None
    lo, hi = float(data.min()), float(data.max())
    if hi - lo <= 1e-12 * max(1.0, abs(lo)):
        return {"lo": _num(lo), "hi": _num(hi), "counts": [int(data.size)], "n": int(data.size)}
    # np.histogram's bins, without its per-call overhead (this runs twice per node)
    index = ((data - lo) * (HIST_BINS / (hi - lo))).astype(np.intp)
    np.minimum(index, HIST_BINS - 1, out=index)
    counts = np.bincount(index, minlength=HIST_BINS)
    return {"lo": _num(lo), "hi": _num(hi), "counts": counts.tolist(), "n": int(data.size)}


# ------------------------------------------------------------------------------ data
def _node_data(graph: nx.DiGraph, n: Any) -> dict[str, Any]:
    a = node_view(graph, n)
    entry: dict[str, Any] = {
        "id": str(n),
        "kind": a.kind,
        "op": a.op,
        "name": a.name,
        "shape": list(a.shape) if a.shape is not None else None,
        "dtype": a.dtype,
        "rg": bool(a.requires_grad),
        "module": a.module,
        "source": a.source,
        "value": a.value,
        "grad": a.grad,
        "step": a.step,
        "acc": a.accumulated,
        "update": a.update,
        "args": list(a.args),
        "detached": a.detached_from,
        "deriv": a.derivative_of,
        "parents": [
            str(p)
            for p in sorted(
                graph.predecessors(n),
                key=lambda p: (_slot(graph.edges[p, n].get("arg")), natural_key(p)),
            )
        ],
        "hv": _histogram(a.array),
        "hg": _histogram(a.grad_array),
        "pv": a.preview,
        "pg": a.grad_preview,
    }
    # drop what is empty: the page treats a missing key as None (a 0-d shape [] is kept)
    kept = ("id", "kind", "shape") if a.shape is not None else ("id", "kind")
    return {k: v for k, v in entry.items() if v not in (None, [], "") or k in kept}


def _slot(arg: Any) -> tuple:
    return (0, arg) if isinstance(arg, int) else (1, 0)


def _findings(
    trace: Any,
    graph: nx.DiGraph,
    pass_index: int | None,
    report: Report | Exception | None,
) -> tuple[nx.DiGraph, dict[str, list[Mark]], str, list[dict[str, Any]]]:
    """(the graph to draw, its marks, where the findings came from, the findings).

    With a ``report`` (what ``trace.check()`` found), its findings are listed and its marks
    drawn on ``pictures_graph`` (which adds what a ``detach()`` cut off), as ``gradviz check``
    does. Else the findings are the basics the graph shows by itself (NaN/Inf, parameters
    without a gradient), and a diagnosis that raised (``report`` is the error) is listed too."""
    if isinstance(report, Report) and trace is not None:
        pictures = pictures_graph(trace, report, pass_index)
        return pictures, report.marks(), "check", [_finding(f) for f in report.findings]
    if isinstance(report, Exception):
        failed = {"severity": "info", "text": f"trace.check() failed: {report}", "node": None}
        return graph, {}, "check-failed", [*_basic_findings(graph), failed]
    return graph, {}, "basic", _basic_findings(graph)


def _basic_findings(graph: nx.DiGraph) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for n, a in graph.nodes(data=True):
        label = a.get("name") or a.get("op") or a.get("kind") or "node"
        for what in ("value", "grad"):
            stats = a.get(what)
            if what == "value" and is_mask(a.get("op"), stats, a.get("args")):
                continue
            if stats and (stats.get("nan") or stats.get("inf")):
                found.append(
                    {
                        "severity": "error",
                        "kind": "nan",
                        "text": f"{what} of {label} has {style.bad_text(stats)}",
                        "node": str(n),
                    }
                )
    root = graph.graph.get("root")
    if root is not None:
        for n, a in graph.nodes(data=True):
            if a.get("kind") != "param" or not a.get("requires_grad", True):
                continue
            grad = a.get("grad")
            if grad is None:
                text = f"{a.get('name') or n} got no gradient"
            elif grad.get("norm") == 0:
                text = f"{a.get('name') or n} has a gradient of exactly zero"
            else:
                continue
            found.append({"severity": "warning", "kind": "no-grad", "text": text, "node": str(n)})
    return found


def _finding(f: Finding) -> dict[str, Any]:
    """A finding of ``trace.check()`` as the page lists it (the op first, as the terminal
    report's columns put it)."""
    return {
        "severity": f.severity,
        "kind": f.kind,
        "text": f"{f.op}: {f.message}" if f.op else f.message,
        "node": f.node,
        "source": f.source,
        "advice": list(f.advice),
    }


def _variants(
    graph: Any,
    views: list[str],
    depth: int | None,
    max_nodes: int,
    marks: Any,
    fold: bool,
    workers: ThreadPoolExecutor,
) -> tuple[dict[str, list[dict[str, Any]]], list[str], list[Future[tuple[bytes, str]]]]:
    """Each view's pictures (its depths, and unfolded twins): their page entries, the notes to
    show, and their layouts started in ``workers`` (entry ``svg`` indexes that list)."""
    jobs: list[Future[tuple[bytes, str]]] = []
    variants: dict[str, list[dict[str, Any]]] = {}
    notes: list[str] = []
    for view in views:
        scene = Scene(graph, view, fold=fold)  # one scene, drawn at each depth the page embeds
        drawings = [
            draw_scene(scene, d, max_nodes, marks) for d in _depths(scene, depth, max_nodes)
        ]
        chosen = drawings[0]
        note = chosen.note.replace(f"the {view} graph", "the graph")
        if note and note not in notes:
            notes.append(note)
        drawings.sort(key=lambda d: math.inf if d.depth is None else d.depth)
        drawings += _unfolded(graph, view, drawings, max_nodes, marks)
        entries = []
        for drawing in drawings:
            entries.append(
                {
                    "svg": len(jobs),
                    "depth": drawing.depth,
                    "default": drawing is chosen,
                    "nodes": drawing.node_count,
                    "stands": {
                        k: [str(n) for n in v]
                        for k, v in drawing.stands_for.items()
                        if len(v) != 1 or str(v[0]) != k
                    },
                    "groups": dict(drawing.groups),
                    **_fold_entry(drawing, drawings),
                }
            )
            jobs.append(workers.submit(run_layout, drawing.source, "svg"))
        variants[view] = entries
    return variants, notes, jobs


def page_data(
    obj: Any,
    pass_index: int | None = None,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    report: Report | Exception | None = None,
    fold: bool = True,
) -> tuple[dict[str, Any], list[str], str | None]:
    """(the page's JSON data, its SVG pictures, the layout program): everything but markup.
    ``report`` is what ``trace.check()`` found, or the error it raised (None, or an error: the
    findings panel lists only NaN/Inf and parameters without a gradient, and the error); the
    page runs no diagnosis itself. ``fold``: repeated blocks drawn once, each folded picture
    with its unfolded twin (see :func:`_unfolded`) so the page can unfold any instance."""
    graph, steps, trace = _resolve(obj, pass_index)
    graph, marks, source, findings = _findings(trace, graph, pass_index, report)
    root = graph.graph.get("root")
    views = ["forward"] + (["backward"] if root is not None and root in graph else [])
    with layout_workers() as workers:  # each picture laid out while the next is drawn
        variants, notes, jobs = _variants(graph, views, depth, max_nodes, marks, fold, workers)
        laid_out = [job.result() for job in jobs]
    svgs = [inline_svg(data) for data, _ in laid_out]
    program = laid_out[0][1] if laid_out else None

    step_list = []
    for step in steps:
        node = step["node"] if isinstance(step, Mapping) else step.node
        acc = step["accumulated"] if isinstance(step, Mapping) else step.accumulated
        step_list.append([str(node), bool(acc)])
    modules = graph.graph.get("modules") or {}
    script = graph.graph.get("script") or (getattr(trace, "script", None) if trace else None)
    data = {
        "format": "gradviz-page",
        "version": 1,
        "gradviz": __version__,
        "script": script,
        "pass": graph.graph.get("pass"),
        "root": None if root is None else str(root),
        "program": program,
        "modules": {str(k): str(v) for k, v in modules.items()},
        "nodes": [_node_data(graph, n) for n in sorted(graph.nodes, key=natural_key)],
        "steps": step_list,
        "views": variants,
        "findings": findings,
        "findingsSource": source,
        "arrays": bool(getattr(trace, "arrays", False)),
        "notes": notes,
        "colours": {
            "input": style.INPUT_FILL,
            "param": style.PARAM_FILL,
            "buffer": style.BUFFER_FILL,
            "op": style.OP_FILL,
            "loss": _css_colour(style.LOSS_FILL),
            "dim": style.DIM_FILL,
            "nan": style.NAN_FILL,
            "collapsed": style.COLLAPSED_FILL,
            "rule": style.RULE_LINE,
            "magnitude": list(style.MAGNITUDE),
        },
    }
    return _plain(data), svgs, program


def _unfolded(
    graph: nx.DiGraph,
    view: str,
    drawings: list[Any],
    max_nodes: int,
    marks: Mapping[Any, list[Mark]] | None,
) -> list[Any]:
    """The unfolded twin of each drawing with folded repeated blocks: the same depth with
    every instance drawn (what the page's "unfold" control shows); ``twin_of`` is the folded
    drawing."""
    folded = [d for d in drawings if d.folds]
    if not folded:
        return []
    plain = Scene(graph, view, fold=False)
    twins = []
    for drawing in folded:
        twin = draw_scene(plain, drawing.depth, max_nodes, marks)
        twin.twin_of = drawing
        twins.append(twin)
    return twins


def _fold_entry(drawing: Any, drawings: list[Any]) -> dict[str, Any]:
    """A variant's folding: a folded one's ``folds`` (see ``Drawing.folds``) and the index of
    its unfolded twin; an unfolded twin's ``unfolded`` (the index of its folded one)."""
    twin_of = getattr(drawing, "twin_of", None)
    if twin_of is not None:
        return {"unfolded": next(i for i, d in enumerate(drawings) if d is twin_of)}
    if not drawing.folds:
        return {}
    twin = next(i for i, d in enumerate(drawings) if getattr(d, "twin_of", None) is drawing)
    return {"folds": list(drawing.folds), "twin": twin}


def _depths(scene: Scene, depth: int | None, max_nodes: int) -> list[int | None]:
    """The module depths to embed for one view, the one shown first at the front.

    First: ``depth`` when given, else the deepest depth whose picture has at most
    ``PAGE_BUDGET`` boxes (readable on a screen), else the one with the fewest boxes.
    Then the other depths that fit ``max_nodes``, nearest first, up to ``MAX_VARIANTS``.
    """
    check_depth(depth)
    candidates: list[int | None] = [*range(scene.max_depth), None]
    if depth is not None:
        first: int | None = None if depth >= scene.max_depth else depth
    else:
        fitting = [d for d in candidates if scene.count(d) <= PAGE_BUDGET]
        first = fitting[-1] if fitting else candidates[0]
    position = candidates.index(first)
    others = sorted(
        (d for d in candidates if d != first and scene.count(d) <= max_nodes),
        key=lambda d: abs(candidates.index(d) - position),
    )
    return [first, *others[: MAX_VARIANTS - 1]]


def _css_colour(colour: str) -> str:
    """A Graphviz (X11) colour name that CSS lacks, as hex."""
    return _X11.get(colour.lower(), colour)


_X11 = {"darkolivegreen1": "#caff70"}


# ------------------------------------------------------------------------------ markup
#: The viewer's scripts, inlined in this order as one ``<script>``: page.js sets up the data,
#: the pictures and ``window.gvPage``; the others add to it; start.js starts the page.
SCRIPTS = ("page.js", "panel.js", "replay.js", "images.js", "start.js", "fold.js")


def _asset(name: str) -> str:
    return resources.files("gradviz.viz").joinpath("page", name).read_text(encoding="utf-8")


def json_for_script(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: ``<``, ``>``, ``&``,
    U+2028 and U+2029 written as ``\\u`` escapes (strings only ever hold them)."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_html(data: dict[str, Any], svgs: list[str], title: str | None = None) -> str:
    """The page's HTML: :func:`page_data`'s data and pictures, the viewer's script and CSS."""
    script = "\n".join(_asset(name) for name in SCRIPTS)  # one hash
    css = _asset("page.css")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    name = title or data.get("script") or "training step"
    templates = "\n".join(
        f'<template id="gv-svg-{i}">{svg}</template>' for i, svg in enumerate(svgs)
    )
    return _TEMPLATE.format(
        csp=html.escape(csp, quote=False),  # no double quote in it; single quotes stay
        title=html.escape(f"gradviz · {name}"),
        css=css,
        templates=templates,
        data=json_for_script(data),
        script=script,
    )


def write_html(
    trace_or_graph: Any,
    path: str | Path,
    *,
    pass_index: int | None = None,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    title: str | None = None,
    report: Report | Exception | None = None,
    fold: bool = True,
) -> HtmlPage:
    """Write the interactive page of a Trace (its last pass unless ``pass_index``), a loaded
    trace or a trace graph to exactly ``path``, atomically.

    ``depth`` is the module depth shown first (default: every module expanded, or the deepest
    that fits ``max_nodes`` ops); the page can switch to any other depth that fits the budget.
    The findings panel lists what ``report`` (``trace.check()``) found, and the pictures mark it;
    without a report it lists what the graph shows by itself (see :func:`page_data`).
    Repeated blocks are drawn once unless ``fold=False``; a folded block's "unfold" control
    shows any instance. :func:`gradviz.viz.trace.write_page` diagnoses a trace and writes its
    page.
    """
    path = Path(path)
    data, svgs, program = page_data(trace_or_graph, pass_index, depth, max_nodes, report, fold)
    page = page_html(data, svgs, title)
    raw = page.encode("utf-8", "backslashreplace")  # a lone surrogate in a file name
    atomic_write(path, raw)
    views = tuple(data["views"])
    return HtmlPage(
        path=path,
        size=len(raw),
        program=program,
        views=views,
        variants=sum(len(v) for v in data["views"].values()),
        note="; ".join(data["notes"]),
    )


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gradviz">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<header id="bar">
  <span class="brand">gradviz</span>
  <span id="title" class="title"></span>
  <span class="seg" role="group" aria-label="view">
    <button type="button" id="btn-forward" data-view="forward">Forward</button>
    <button type="button" id="btn-backward" data-view="backward">Backward</button>
  </span>
  <label class="depth">modules <select id="depth"></select></label>
  <span class="search">
    <input id="search" type="search" placeholder="search name, op, module  ( / )"
      autocomplete="off" spellcheck="false">
    <span id="search-count"></span>
  </span>
  <span class="zoom">
    <button type="button" id="zoom-out" title="zoom out (-)">&minus;</button>
    <button type="button" id="zoom-in" title="zoom in (+)">+</button>
    <button type="button" id="fit" title="fit to screen (f)">Fit</button>
  </span>
</header>
<main>
  <div id="stage" tabindex="0" aria-label="graph: drag to pan, wheel to zoom">
    <div id="canvas"></div>
    <div id="note" hidden></div>
  </div>
  <aside id="side">
    <section id="info"><h2>Node</h2><div id="info-body"></div></section>
    <section id="findings"><h2>Findings <span id="findings-count"></span></h2>
      <ul id="findings-list"></ul></section>
    <section id="legend"><h2>Legend</h2><div id="legend-body"></div></section>
  </aside>
</main>
<footer id="replay">
  <button type="button" id="rp-first" title="before the first step (Home)">|&#9664;</button>
  <button type="button" id="rp-prev" title="previous step (&larr;)">&#9664;</button>
  <button type="button" id="rp-play" title="play / pause (space)">&#9654; play</button>
  <button type="button" id="rp-next" title="next step (&rarr;)">&#9654;|</button>
  <input id="rp-slider" type="range" min="0" max="0" value="0" aria-label="backward step">
  <span id="rp-label"></span>
  <span id="rp-status"></span>
  <button type="button" id="rp-off" title="show the whole picture (Esc)">show all</button>
</footer>
{templates}
<script type="application/json" id="gradviz-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""
