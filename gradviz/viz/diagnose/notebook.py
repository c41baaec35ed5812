"""A :class:`~gradviz.viz.diagnose.report.Report` as a notebook shows it: an HTML table
(``Report._repr_html_``) or Markdown (``Report._repr_markdown_``).

The same content as the terminal report (:mod:`gradviz.viz.diagnose.text`): a headline, one
row per finding (severity, op, module, line, the message, the node the pictures mark -- the id
the interactive page and ``tr.graph`` use -- and what to try), notes, and the per-layer health
table.
Every string from the user's code is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from gradviz.viz.records.text import number

#: At most this many findings and layers are shown (the Report keeps them all).
MAX_ROWS = 60

_SEVERITY_COLOURS = {"error": "#b00020", "warning": "#a05a00"}
_FINDING_HEAD = ("severity", "op", "module", "line", "finding", "node", "try")
_LAYER_HEAD = ("layer", "module", "class", "|grad|", "grad rms", "|weight|", "update/weight")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(report: Any) -> list[str]:
    """The headline lines: what was checked, the gradient check's counts, the verdict."""
    step = f", backward call {report.pass_index}" if report.pass_index is not None else ""
    lines = [f"gradviz check: {report.script or 'the trace'}{step}"]
    checks = report.gradchecks
    if checks:
        counts = {s: sum(1 for c in checks if c.status == s) for s in ("passed", "failed")}
        text = f"gradient check: {_plural(len(checks), 'op')}, {counts['passed']} passed"
        if counts["failed"]:
            text += f", {counts['failed']} FAILED"
        lines.append(text)
    errors, warnings = len(report.errors), len(report.warnings)
    lines.append(f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}")
    return lines


def _finding_rows(report: Any) -> list[tuple[str, ...]]:
    return [
        (
            f.severity,
            f.op or "-",
            f.module or "-",
            f.source or "-",
            f.message,
            f.node or "-",
            "; ".join(f.advice) or "-",
        )
        for f in report.findings[:MAX_ROWS]
    ]


def _layer_rows(report: Any) -> list[tuple[str, ...]]:
    rows = []
    for layer in report.layers[:MAX_ROWS]:
        numbers = (layer.grad_norm, layer.grad_rms, layer.weight_norm, layer.update_ratio)
        flags = " ".join(f"({flag})" for flag in layer.flags)
        cells = tuple("-" if x is None else number(x) for x in numbers)
        module = " ".join(x for x in (layer.module or "(top)", flags) if x)
        rows.append((str(layer.index), module, layer.cls or "-", *cells))
    return rows


def _more(shown: int, total: int, what: str) -> str:
    return f"... {total - shown:,} more {what} (all in the Report)" if total > shown else ""


# ------------------------------------------------------------------------------ HTML
def _html_table(head: tuple[str, ...], rows: list[tuple[str, ...]], colour: Callable) -> str:
    cell = "padding: 2px 8px; text-align: left; vertical-align: top; border-top: 1px solid #ddd"
    out = ['<table style="border-collapse: collapse; margin: 6px 0">', "<thead><tr>"]
    out += [f'<th style="{cell}">{html.escape(h)}</th>' for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        style = colour(row)
        out.append(f'<tr style="{style}">' if style else "<tr>")
        out += [f'<td style="{cell}">{html.escape(c)}</td>' for c in row]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _severity_style(row: tuple[str, ...]) -> str:
    colour = _SEVERITY_COLOURS.get(row[0])
    return f"color: {colour}" if colour else ""


def report_html(report: Any) -> str:
    """The report as one HTML block: headline, findings table, notes, layer table."""
    head = summary(report)
    verdict = _SEVERITY_COLOURS["error"] if report.errors else "#1b5e20"
    parts = [f"<b>{html.escape(head[0])}</b>"]
    parts += [f"<div>{html.escape(line)}</div>" for line in head[1:-1]]
    parts.append(f'<div style="color: {verdict}; font-weight: bold">{html.escape(head[-1])}</div>')
    if report.findings:
        rows = _finding_rows(report)
        parts.append(_html_table(_FINDING_HEAD, rows, _severity_style))
        parts.append(html.escape(_more(len(rows), len(report.findings), "findings")))
    parts += [f"<div>note: {html.escape(note)}</div>" for note in report.notes]
    if report.layers:
        rows = _layer_rows(report)
        parts.append(_html_table(_LAYER_HEAD, rows, lambda row: ""))
        parts.append(html.escape(_more(len(rows), len(report.layers), "layers")))
    style = "font-family: monospace; font-size: 12px; line-height: 1.45"
    return f'<div class="gradviz-report" style="{style}">{"".join(parts)}</div>'


# ------------------------------------------------------------------------------ Markdown
def _md(text: str) -> str:
    """A table cell's text: Markdown and HTML characters escaped, one line."""
    text = html.escape(" ".join(text.split()), quote=False)
    for char in "\\`*_[]|#":
        text = text.replace(char, "\\" + char)
    return text


def _md_table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return lines


def report_markdown(report: Any) -> str:
    """The report as Markdown: headline, findings table, notes, layer table."""
    head = summary(report)
    lines = [f"**{_md(head[0])}**", ""] + [f"{_md(line)}  " for line in head[1:]]
    if report.findings:
        lines += ["", *_md_table(_FINDING_HEAD, _finding_rows(report))]
        more = _more(min(MAX_ROWS, len(report.findings)), len(report.findings), "findings")
        lines += [_md(more)] if more else []
    lines += [f"\nnote: {_md(note)}" for note in report.notes]
    if report.layers:
        lines += ["", *_md_table(_LAYER_HEAD, _layer_rows(report))]
        more = _more(min(MAX_ROWS, len(report.layers)), len(report.layers), "layers")
        lines += [_md(more)] if more else []
    return "\n".join(lines) + "\n"
