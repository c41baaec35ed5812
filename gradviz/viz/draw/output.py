"""Drawings -> files: the format a path asks for, the layout run on the DOT source, and the
bytes written atomically to exactly that path (nothing else is touched).

:func:`write` draws one view of a trace graph, :func:`write_views` several (each laid out in a
worker thread while the next is drawn), :func:`write_drawing` any prepared drawing (the diff's).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from gradviz.viz.diagnose.report import Mark
from gradviz.viz.draw.layout import Drawing, layout_workers, run_layout
from gradviz.viz.draw.render import DEFAULT_MAX_NODES, RenderError, build
from gradviz.viz.records.files import atomic_write

FORMATS = ("svg", "png", "dot")


@dataclass(frozen=True)
class Rendered:
    """What :func:`write` did: the file, its format, the layout program, the depth drawn."""

    path: Path
    format: str
    view: str
    program: str | None
    depth: int | None
    auto_collapsed: bool
    nodes: int
    note: str


def format_for(path: Path, fmt: str | None) -> str:
    """The format to write ``path`` in: ``fmt``, else its suffix (svg, png, dot or gv)."""
    if fmt is None:
        suffix = path.suffix.lower().lstrip(".")
        fmt = "dot" if suffix == "gv" else suffix
        if fmt not in FORMATS:
            raise RenderError(
                f"cannot tell the format from {path.name!r}: use a .svg, .png or .dot name, "
                "or pass format='svg' | 'png' | 'dot'"
            )
    fmt = fmt.lower() if isinstance(fmt, str) else fmt
    if fmt not in FORMATS:
        raise RenderError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def write(
    graph: nx.DiGraph,
    view: str,
    path: str | os.PathLike[str],
    format: str | None = None,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    marks: Mapping[Any, Iterable[Mark]] | None = None,
    fold: bool = True,
) -> Rendered:
    """Draw ``view`` of ``graph`` and write exactly ``path`` (format from its suffix unless
    given: svg, png or dot). Returns what was done; ``note`` is non-empty when the node budget
    collapsed modules. ``format="dot"`` needs no layout program. ``marks`` and ``fold``: see
    :func:`gradviz.viz.draw.render.build`."""
    return write_views(graph, [(view, path)], format, depth, max_nodes, marks, fold)[0]


def write_views(
    graph: nx.DiGraph,
    targets: Iterable[tuple[str, str | os.PathLike[str]]],
    format: str | None = None,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    marks: Mapping[Any, Iterable[Mark]] | None = None,
    fold: bool = True,
) -> list[Rendered]:
    """:func:`write` for each ``(view, path)`` of ``targets``: each view is laid out while the
    next is drawn. Files are written once every view is drawn, in order, each atomically."""
    drawn = []
    with layout_workers() as workers:
        for view, path in targets:
            path = Path(path)
            fmt = format_for(path, format)
            drawing = build(graph, view, depth=depth, max_nodes=max_nodes, marks=marks, fold=fold)
            layout = None if fmt == "dot" else workers.submit(run_layout, drawing.source, fmt)
            drawn.append((view, path, fmt, drawing, layout))
        results = [
            (d.source.encode(), None) if job is None else job.result() for *_, d, job in drawn
        ]
    return [
        _written(view, path, fmt, drawing, data, program)
        for (view, path, fmt, drawing, _), (data, program) in zip(drawn, results, strict=True)
    ]


def write_drawing(
    drawing: Drawing, view: str, path: str | os.PathLike[str], format: str | None = None
) -> Rendered:
    """Lay out a prepared ``drawing`` (unless ``format`` is dot) and write exactly ``path``."""
    path = Path(path)
    fmt = format_for(path, format)
    data, program = (
        (drawing.source.encode(), None) if fmt == "dot" else run_layout(drawing.source, fmt)
    )
    return _written(view, path, fmt, drawing, data, program)


def _written(
    view: str, path: Path, fmt: str, drawing: Drawing, data: bytes, program: str | None
) -> Rendered:
    atomic_write(path, data)
    return Rendered(path, fmt, view, program, drawing.depth, drawing.auto_collapsed,
                    drawing.node_count, drawing.note)  # fmt: skip
