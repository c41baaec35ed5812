"""The user-facing API of the visualizer: ``gradviz.trace()``, ``Trace``, ``load_trace``,
``render``.

::

    with gradviz.trace() as tr:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    tr.graph            # networkx.DiGraph of the step (pinned schema: docs/trace-schema.md)
    tr.steps            # the backward steps, in the order the engine ran them
    tr.render("backward", "step.svg")
    tr                  # in a notebook: the interactive page inline (tr.show(...) for options)

A :class:`Trace` is the capture-side :class:`~gradviz.viz.capture.tracer.Capture` (recording,
passes, events) plus what users do with one: ``check()`` (the diagnoses), ``render()`` (the
pictures and the page), ``show()`` (the page in a notebook) and ``save()`` (a trace file). It
sits above every stage, so no stage imports a later one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from gradviz.viz.capture.live import caller_variables, graph_from_variable
from gradviz.viz.capture.tracer import Capture, TraceError
from gradviz.viz.diagnose import Report, check, pictures_graph
from gradviz.viz.diagnose.timeline import timeline_findings
from gradviz.viz.draw import output
from gradviz.viz.draw import render as draw
from gradviz.viz.draw.layout import Drawing
from gradviz.viz.page.html import HtmlPage, write_html
from gradviz.viz.page.inline import DEFAULT_HEIGHT, InlinePage, iframe_html, inline_page
from gradviz.viz.page.timeline import timeline_html, write_timeline_html
from gradviz.viz.records.files import atomic_write
from gradviz.viz.records.io import read_trace, trace_text
from gradviz.viz.records.timeline import Timeline

__all__ = [
    "Trace",
    "TraceError",
    "load_trace",
    "page_diagnosis",
    "render",
    "save_trace",
    "trace",
    "write_page",
    "write_timeline_page",
]


#: what :meth:`Trace.render` draws
_VIEWS = ("forward", "backward", "html", "timeline")
#: file names of a picture, never of a page
_PICTURE_SUFFIXES = (".svg", ".png", ".dot", ".gv")


class Trace(Capture):
    """The result of tracing: backward passes with their graphs, and events.

    Use :func:`trace` (or :func:`load_trace` for a saved one). ``passes`` holds one
    :class:`~gradviz.viz.records.schema.Pass` per backward call; ``graph`` and ``steps`` are the
    last pass's. Before any backward, ``graph`` is the forward graph of everything recorded and
    ``steps`` is empty.
    """

    def render(
        self,
        view: str,
        path: str | os.PathLike[str],
        format: str | None = None,
        depth: int | None = None,
        pass_index: int | None = None,
        fold: bool = True,
    ) -> Any:
        """Draw ``view`` ("forward" or "backward") of the graph to exactly ``path``
        (see :func:`gradviz.viz.draw.output.write`); ``pass_index`` picks a pass (default: last).
        ``view="html"`` (or ``format="html"``) writes the interactive page of both views
        (see :func:`write_page`); ``view="timeline"`` the page of every recorded step
        (see :func:`write_timeline_page`). ``fold=False`` draws every instance of repeated
        blocks (default: ``blocks.0-11 (Block) x12`` drawn once)."""
        if view not in _VIEWS:
            raise draw.RenderError(
                f"view must be 'forward', 'backward', 'html' or 'timeline', got {view!r}"
            )
        if format is not None and not isinstance(format, str):
            raise draw.RenderError(f"format must be a string such as 'svg', got {format!r}")
        fmt = (format or "").lower()
        if view in ("html", "timeline") and fmt not in ("", "html"):
            raise draw.RenderError(
                f"the {view} view is an HTML page, not {format}: drop format= (or pass 'html'), "
                "or draw the 'forward' or 'backward' view"
            )
        page = view in ("html", "timeline") or fmt == "html"
        if page and Path(path).suffix.lower() in _PICTURE_SUFFIXES:
            raise draw.RenderError(
                f"the {view} view is an HTML page: name the file .html, got {Path(path).name!r}"
            )
        if view == "timeline":
            if pass_index is not None:  # the page draws the last pass, under every step
                raise draw.RenderError(
                    "the timeline page draws the last pass; pass_index is for the 'forward', "
                    "'backward' and 'html' views"
                )
            return write_timeline_page(self, path, depth=depth)
        _something_recorded(self)
        if page:
            return write_page(self, path, pass_index=pass_index, depth=depth, fold=fold)
        graph = self.graph if pass_index is None else self.get_pass(pass_index).graph
        return output.write(graph, view, path, format=format, depth=depth, fold=fold)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the trace as JSON (docs/trace-schema.md), atomically."""
        save_trace(self, path)

    def check(
        self, pass_index: int | None = None, *, seed: int = 0, gradcheck: bool = True
    ) -> Report:
        """Diagnose a pass (default: the last): per-op gradient check, NaN/Inf birth, why a
        parameter got no gradient, gradient health, broadcasts. Returns a
        :class:`gradviz.viz.diagnose.Report` (see there)."""
        return check(self, pass_index, seed=seed, gradcheck=gradcheck)

    def show(
        self,
        view: str = "forward",
        height: int = DEFAULT_HEIGHT,
        *,
        depth: int | None = None,
        pass_index: int | None = None,
        check: bool = True,
    ) -> InlinePage:
        """The interactive page (see :meth:`render` with ``"html"``) for a notebook, opening on
        ``view``, ``height`` pixels tall: the last expression of a cell shows it inline, in a
        sandboxed iframe that loads nothing from the network. ``check=False``: list only what
        the graph shows by itself, without running ``check()``. ``view="timeline"``: the
        timeline page of every recorded step (see :func:`write_timeline_page`)."""
        report = page_diagnosis(self, pass_index) if check else None
        if view == "timeline":
            iframe_html("", height)  # check the height before the layout work
            timeline = self.timeline
            if not timeline.steps:
                raise TraceError("no backward pass was recorded, so there is no timeline to show")
            findings = timeline_findings(timeline)
            page, _, _ = timeline_html(self, timeline, findings, depth=depth, report=report)
            return InlinePage(page, height, view)
        return inline_page(
            self, view=view, height=height, depth=depth, pass_index=pass_index, report=report
        )

    def _repr_html_(self) -> str | None:
        """Jupyter shows a trace as its interactive page (nothing recorded: as text)."""
        if self.graph.number_of_nodes() == 0:
            return None
        return self.show()._repr_html_()


def write_timeline_page(
    trace: Trace,
    path: str | os.PathLike[str],
    *,
    depth: int | None = None,
    timeline: Timeline | None = None,
) -> HtmlPage:
    """Write the timeline page of ``trace`` to exactly ``path``: its last pass drawn and
    diagnosed as :func:`write_page` does, ``timeline`` (default: ``trace.timeline``) on a strip
    under it, and the steps where :func:`~gradviz.viz.diagnose.timeline.timeline_findings`
    found something marked (see :func:`gradviz.viz.page.timeline.write_timeline_html`)."""
    timeline = trace.timeline if timeline is None else timeline
    if not timeline.steps:
        raise TraceError("no backward pass was recorded, so there is no timeline to draw")
    return write_timeline_html(
        trace,
        timeline,
        timeline_findings(timeline),
        path,
        depth=depth,
        report=page_diagnosis(trace),
    )


def page_diagnosis(obj: Any, pass_index: int | None = None) -> Report | Exception | None:
    """What the page of ``obj`` lists as findings: ``trace.check()`` for a trace with a
    backward pass, None for anything else, the error when the check raised (the page must not
    fail for a diagnosis that did; it lists the error)."""
    if not getattr(obj, "passes", None):
        return None
    try:
        return obj.check(pass_index)
    except Exception as error:
        return error


def write_page(
    trace_or_graph: Any,
    path: str | os.PathLike[str],
    *,
    pass_index: int | None = None,
    depth: int | None = None,
    check: bool = True,
    **options: Any,
) -> HtmlPage:
    """Diagnose ``trace_or_graph`` as ``gradviz check`` does (``check=False``: do not) and write
    its interactive page to exactly ``path`` (see :func:`gradviz.viz.page.html.write_html`,
    which takes the other ``options``)."""
    report = page_diagnosis(trace_or_graph, pass_index) if check else None
    return write_html(
        trace_or_graph, path, pass_index=pass_index, depth=depth, report=report, **options
    )


def trace(
    arrays: bool = False,
    max_array_size: int = 10_000,
    *,
    steps: int | str = "all",
    every: int = 1,
    detail: str = "full",
    keep_full: int = 2,
) -> Trace:
    """Record the ops, backward steps and optimizer updates run inside ``with``.

    ``arrays=True`` also copies values and gradients of arrays with at most ``max_array_size``
    elements (node attributes ``array`` and ``grad_array``), and keeps a small picture of every
    2-D to 4-D one, of any size (``preview`` and ``grad_preview``: the page draws them).

    Many steps: backward calls 1, 1 + ``every``, 1 + 2 * ``every``, ... are recorded, up to call
    ``steps`` (then recording stops, after that call's optimizer step) or to the end of the
    ``with`` block (``steps="all"``). Each recorded step adds to ``tr.timeline`` (one row per
    node: value and gradient statistics, parameter updates; the loss) and to
    ``tr.steps_recorded``. ``detail="full"`` keeps every recorded step's full pass in
    ``tr.passes``; ``detail="summary"`` keeps only those of the last ``keep_full`` steps.
    """
    return Trace(
        arrays=arrays,
        max_array_size=max_array_size,
        steps=steps,
        every=every,
        detail=detail,
        keep_full=keep_full,
    )


def save_trace(trace: Capture, path: str | os.PathLike[str]) -> Path:
    """Write ``trace`` to exactly ``path`` (a temporary file, then an atomic rename)."""
    path = Path(path)
    atomic_write(path, trace_text(trace))
    return path


def load_trace(path: str | os.PathLike[str]) -> Trace:
    """Read a trace saved by :meth:`Trace.save`.

    Raises :class:`~gradviz.viz.records.io.TraceFormatError` for a file that is not a gradviz
    trace or is malformed, :class:`~gradviz.viz.records.io.TraceVersionError` for one from a
    newer gradviz (both are ``ValueError``\\ s).
    """
    return Trace.from_saved(read_trace(Path(path)))


def render(
    obj: Any,
    view: str = "backward",
    depth: int | None = None,
    params: Mapping[str, Any] | None = None,
    report: Report | None = None,
    fold: bool = True,
) -> Drawing:
    """``gradviz.render(loss)``: the graph behind a Variable as a Digraph (shown inline in
    Jupyter), like torchviz's ``make_dot``. Also takes a trace graph or anything with ``.graph``
    (a Trace). ``params`` (``dict(model.named_parameters())``) names the parameters.
    ``report`` (``tr.check()`` of the Trace ``obj``) draws what it found on the nodes, as
    ``gradviz check``'s pictures do; ``fold=False`` draws every instance of repeated blocks."""
    if isinstance(obj, nx.DiGraph):
        graph = obj
    elif report is not None and callable(getattr(obj, "get_pass", None)):
        graph = pictures_graph(obj, report, report.pass_index)
    elif isinstance(getattr(obj, "graph", None), nx.DiGraph):
        if isinstance(obj, Trace):
            _something_recorded(obj)
        graph = obj.graph
    elif hasattr(obj, "parents") and hasattr(obj, "data"):
        graph = graph_from_variable(obj, params, caller_variables())
    else:
        raise draw.RenderError(
            f"render() takes a Variable, a Trace or a trace graph, got {type(obj).__name__}"
        )
    marks = report.marks() if report is not None else None
    return draw.build(graph, view, depth=depth, marks=marks, fold=fold)


def _something_recorded(trace: Trace) -> None:
    """Refuse to draw a trace that recorded nothing (an empty picture says nothing)."""
    if not trace.passes and trace.graph.number_of_nodes() == 0:
        raise TraceError(
            "nothing was recorded in this trace, so there is nothing to draw: run the model "
            "(and loss.backward()) inside 'with gradviz.trace() as tr:'"
        )
