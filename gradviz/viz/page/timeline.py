"""The timeline page: the interactive page of one training step (:mod:`gradviz.viz.page.html`)
plus a strip of every recorded step under it.

``write_timeline_html(trace, timeline, findings, "run.timeline.html")`` writes the page of the
trace's last pass (graph, node panel, backward replay, findings, as ``gradviz render --format
html`` does) and adds: the loss curve and a heatmap of each parameter's gradient norm or
update/weight ratio over the steps (log colour scale), a slider that recolours the graph with a
step's statistics, sparklines of the selected node's statistics over all steps, and the steps
where :func:`~gradviz.viz.diagnose.timeline.timeline_findings` found something marked on the
strip and listed with the findings (a mark selects the step and the node).

The strip's data rides in the page's JSON block (``data["timeline"]``) and its viewer
(``timeline.js``, ``timeline.css``) is inlined after the page's own; the Content-Security-Policy
admits both scripts by their SHA-256. Numbers keep 4 significant digits; a missing statistic is
``null``; Inf is ``"Infinity"``.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from gradviz.viz.diagnose import Report
from gradviz.viz.diagnose.timeline import SPIKE, WINDOW, StepFinding, non_finite
from gradviz.viz.draw.render import DEFAULT_MAX_NODES, RenderError
from gradviz.viz.page.html import HtmlPage, page_data, page_html
from gradviz.viz.records.files import atomic_write
from gradviz.viz.records.identity import structural_keys
from gradviz.viz.records.timeline import Timeline

__all__ = ["SERIES", "timeline_data", "timeline_html", "write_timeline_html"]

#: The per-node series the page keeps: the heatmap's two and the sparklines'.
SERIES = (
    "grad_norm",
    "update_ratio",
    "value_norm",
    "value_mean",
    "value_std",
    "grad_mean",
    "grad_std",
)


def _asset(name: str) -> str:
    return (Path(__file__).parent / name).read_text(encoding="utf-8")


def _number(x: float) -> Any:
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return float(f"{x:.4g}")


def _matrix(timeline: Timeline, column: str) -> np.ndarray:
    """``column`` as a (keys, steps) matrix, NaN where a step lacks the node."""
    data = timeline.rows_array()
    out = np.full((len(timeline.keys), len(timeline.steps)), np.nan)
    out[data["node"], np.searchsorted(timeline.steps, data["step"])] = data[column]
    return out


def _label(meta: dict[str, Any], key: str) -> str:
    if meta.get("name"):
        return str(meta["name"])
    what = meta.get("op") or meta.get("kind") or key
    return f"{meta['module']}/{what}" if meta.get("module") else str(what)


def _quiet(series: dict[str, np.ndarray], params: list[int]) -> set[int]:
    """The parameters with neither a gradient nor an optimizer update in any recorded step (a
    DQN's target network, a frozen backbone): their heatmap rows would be empty."""
    moved = ~np.isnan(series["grad_norm"]) | ~np.isnan(series["update_ratio"])
    return {i for i in params if not moved[i].any()}


def timeline_data(
    timeline: Timeline, findings: Sequence[StepFinding], graph: nx.DiGraph
) -> dict[str, Any]:
    """The strip's JSON-ready data: steps, loss, one row per structural key (label, kind, the
    :data:`SERIES` over the steps, whether a step had NaN/Inf), which node of ``graph`` (the
    page's pass) each key is, the heatmap's rows (the parameters, those with neither gradient
    nor update last; every node when there are none) and the findings."""
    data = timeline.rows_array()
    flags = non_finite(timeline, "value") | non_finite(timeline, "grad")
    bad = np.zeros((len(timeline.keys), len(timeline.steps)))
    bad[data["node"], np.searchsorted(timeline.steps, data["step"])] = flags
    series = {name: _matrix(timeline, name) for name in SERIES}
    keys = timeline.keys
    params = [i for i, key in enumerate(keys) if timeline.nodes[key].get("kind") == "param"]
    quiet = _quiet(series, params)
    node_of = {key: str(n) for n, key in structural_keys(graph).items()}
    index = {key: i for i, key in enumerate(keys)}
    return {
        "steps": list(timeline.steps),
        "loss": [_number(v) for v in timeline.loss],
        "keys": [
            {
                "label": _label(timeline.nodes[key], key),
                "kind": timeline.nodes[key].get("kind"),
                "node": node_of.get(key),
                "bad": [int(v > 0) for v in bad[i].tolist()],
                "quiet": i in quiet,
                **{name: [_number(v) for v in series[name][i].tolist()] for name in SERIES},
            }
            for i, key in enumerate(keys)
        ],
        "rows": [i for i in params if i not in quiet] + sorted(quiet) or list(range(len(keys))),
        "full": graph.graph.get("pass"),
        "changed": list(timeline.changed_steps),
        "spike": {"factor": SPIKE, "window": WINDOW},
        "findings": [
            {
                "step": f.step,
                "kind": f.kind,
                "severity": f.severity,
                "text": f.message,
                "key": index.get(f.key) if f.key else None,
            }
            for f in findings
        ],
    }


def _page_findings(data: dict[str, Any], strip: dict[str, Any]) -> None:
    """List the step findings after the page's own (``step N: ...``, selecting their node or,
    for a loss spike, the loss); ``strip["findings"][i]["item"]`` is its index in the list."""
    listed = data.setdefault("findings", [])
    for finding in strip["findings"]:
        key = finding["key"]
        node = strip["keys"][key]["node"] if key is not None else data.get("root")
        finding["item"] = len(listed)
        listed.append(
            {
                "severity": finding["severity"],
                "kind": finding["kind"],
                "text": f"step {finding['step']}: {finding['text']}",
                "node": node,
            }
        )


def _digest(script: str) -> str:
    return base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def _with_strip(page: str) -> str:
    """The page with the strip's CSS, markup and script added, and its script admitted by the
    Content-Security-Policy."""
    script = _asset("timeline.js")
    csp = "script-src 'sha256-"
    head, body = "</head>", "</body>"
    if page.count(csp) != 1 or head not in page or body not in page:
        raise RenderError("the page template changed: cannot add the timeline strip")
    page = page.replace(csp, f"script-src 'sha256-{_digest(script)}' 'sha256-", 1)
    page = page.replace(head, f"<style>\n{_asset('timeline.css')}\n</style>\n{head}", 1)
    tail = f"{_STRIP}<script>{script}</script>\n{body}"
    return page[: page.rindex(body)] + tail + page[page.rindex(body) + len(body) :]


def timeline_html(
    trace: Any,
    timeline: Timeline,
    findings: Sequence[StepFinding],
    *,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    report: Report | Exception | None = None,
) -> tuple[str, dict[str, Any], str | None]:
    """The timeline page (see the module docstring) of ``trace``'s last pass and ``timeline``:
    its markup, its data and the layout program; ``report`` is what ``trace.check()`` found for
    the last pass (as for :func:`gradviz.viz.page.html.write_html`)."""
    data, svgs, program = page_data(trace, None, depth, max_nodes, report)
    strip = timeline_data(timeline, findings, trace.graph)
    _page_findings(data, strip)
    data["timeline"] = strip
    script = data.get("script") or "training"
    return _with_strip(page_html(data, svgs, f"{script} timeline")), data, program


def write_timeline_html(
    trace: Any,
    timeline: Timeline,
    findings: Sequence[StepFinding],
    path: str | Path,
    *,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    report: Report | Exception | None = None,
) -> HtmlPage:
    """Write :func:`timeline_html` to exactly ``path``, atomically."""
    path = Path(path)
    page, data, program = timeline_html(
        trace, timeline, findings, depth=depth, max_nodes=max_nodes, report=report
    )
    raw = page.encode("utf-8", "backslashreplace")
    atomic_write(path, raw)
    return HtmlPage(
        path=path,
        size=len(raw),
        program=program,
        views=tuple(data["views"]),
        variants=sum(len(v) for v in data["views"].values()),
        note="; ".join(data["notes"]),
    )


_STRIP = """<section id="tl" aria-label="training timeline">
  <div id="tl-bar">
    <span class="tl-title">timeline</span>
    <span class="seg" role="group" aria-label="heatmap statistic">
      <button type="button" id="tl-grad" data-metric="grad_norm">|grad|</button>
      <button type="button" id="tl-ratio" data-metric="update_ratio">update / weight</button>
    </span>
    <input id="tl-slider" type="range" min="0" max="0" value="0" aria-label="recorded step">
    <span id="tl-label"></span>
    <span id="tl-status"></span>
    <span id="tl-scale"></span>
  </div>
  <div id="tl-plots">
    <div id="tl-names"></div>
    <div id="tl-area" tabindex="0" aria-label="loss and heatmap: click to pick a step">
      <svg id="tl-loss" role="img" aria-label="loss"></svg>
      <canvas id="tl-heat"></canvas>
      <div id="tl-marks"></div>
      <div id="tl-cursor"></div>
    </div>
  </div>
</section>
"""
