"""A :class:`~gradviz.viz.diagnose.report.Report` as a terminal reads it.

A headline (what was checked, how many errors and warnings), one line per finding (severity,
op, module path, ``file:line``, then the message with its numbers; errors first), notes, and the
per-layer health table with a line about the ReLUs. Text that comes from the user's code (names,
module paths, file names) is shown with the characters a terminal would act on escaped.
"""

from __future__ import annotations

import shutil
import textwrap
from typing import Any

from gradviz.viz.style import number, printable

_COLORS = {"error": "\x1b[1;31m", "warning": "\x1b[33m", "ok": "\x1b[32m", "dim": "\x1b[2m"}
_RESET = "\x1b[0m"


def _paint(text: str, what: str, color: bool) -> str:
    return f"{_COLORS[what]}{text}{_RESET}" if color else text


def _n(x: Any) -> str:
    return "-" if x is None else number(x)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def format_report(report: Any, color: bool = False, width: int | None = None) -> str:
    width = width or max(80, min(140, shutil.get_terminal_size((120, 24)).columns))
    lines: list[str] = []
    what = printable(report.script or "the trace")
    step = f", backward call {report.pass_index}" if report.pass_index is not None else ""
    lines.append(f"gradviz check: {what}{step}")
    checks = report.gradchecks
    if checks:
        counts = {
            s: sum(1 for c in checks if c.status == s) for s in ("passed", "failed", "skipped")
        }
        text = f"gradient check: {_plural(len(checks), 'op')}, {counts['passed']} passed"
        if counts["failed"]:
            text += ", " + _paint(f"{counts['failed']} FAILED", "error", color)
        if counts["skipped"]:
            text += f", {counts['skipped']} skipped"
        lines.append("  " + text)
    errors, warnings = len(report.errors), len(report.warnings)
    verdict = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    lines.append("  " + (_paint(verdict, "error", color) if errors else verdict))
    if report.findings:
        lines.append("")
        lines += _findings(report.findings, color, width)
    for note in report.notes:
        lines.append(f"note: {printable(note)}")
    skipped = [c for c in checks if c.status == "skipped" and c.custom]
    for c in skipped:
        text = f"gradient check of {c.op} ({c.source or c.node}) skipped: {c.reason}"
        lines.append(f"note: {printable(text)}")
    if report.layers:
        lines.append("")
        lines += _layer_table(report.layers)
    if report.relus:
        cells = []
        for r in report.relus:
            where = f"module {r.module}" if r.module else (r.source or r.node)
            cells.append(f"{r.dead_units}/{r.units} in {where}")
        cells_text = printable(", ".join(cells))
        lines.append("dead ReLU units (zero for every row of the batch): " + cells_text)
    return "\n".join(lines)


def _grouped(findings: Any) -> list[tuple[str, str, str, str, str]]:
    """Rows of the findings; two or more update-ratio warnings the same way (above or below)
    become one row (the Report keeps one Finding per parameter)."""
    ratios = {
        side: [
            f for f in findings if f.kind == "update_ratio" and (f.numbers["ratio"] > 1e-3) == up
        ]
        for side, up in (("below", False), ("above", True))
    }
    rows = []
    for f in findings:
        if f.kind == "update_ratio":
            side = "above" if f.numbers["ratio"] > 1e-3 else "below"
            chosen = ratios[side]
            if len(chosen) >= 2:
                if f is chosen[0]:
                    why = f.message.rpartition(" (")[2].rstrip(")")
                    cells = ", ".join(
                        f"{c.message.split(':')[0]} {number(c.numbers['ratio'])}" for c in chosen
                    )
                    message = (
                        f"update/weight 10x or more {side} the usual ~1e-3 for {len(chosen)} "
                        f"weights ({why}): {cells}"
                    )
                    rows.append(("warning", "-", "-", "-", printable(message)))
                continue
        cells = (f.op or "-", f.module or "-", f.source or "-", f.message)
        rows.append((f.severity, *(printable(str(cell)) for cell in cells)))
    return rows


def _findings(findings: Any, color: bool, width: int) -> list[str]:
    rows = _grouped(findings)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    widths = [min(w, cap) for w, cap in zip(widths, (7, 22, 18, 26), strict=True)]
    out = []
    for row in rows:
        head = "  ".join(f"{cell:<{w}}" for cell, w in zip(row[:4], widths, strict=True))
        indent = len(head) + 2
        body_width = width - indent
        if body_width < 40:  # a narrow terminal: the message on its own lines
            out.append(_paint(head, row[0], color).rstrip())
            out += ["    " + part for part in textwrap.wrap(row[4], width - 4)]
            continue
        parts = textwrap.wrap(row[4], body_width) or [""]
        out.append(
            _paint(head.split("  ")[0], row[0], color) + head[len(row[0]) :] + "  " + parts[0]
        )
        out += [" " * indent + part for part in parts[1:]]
    return out


def _layer_table(layers: Any) -> list[str]:
    header = (
        "layer",
        "module",
        "class",
        "params",
        "|grad|",
        "grad rms",
        "|weight|",
        "update/weight",
        "",
    )
    rows = [header]
    for layer in layers:
        rows.append(
            (
                str(layer.index),
                printable(layer.module or "(top)"),
                printable(layer.cls or "-"),
                printable(",".join(layer.params)),
                _n(layer.grad_norm),
                _n(layer.grad_rms),
                _n(layer.weight_norm),
                _n(layer.update_ratio),
                " ".join(f"<- {flag}" for flag in layer.flags),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    numeric = {0, 4, 5, 6, 7}
    out = []
    for row in rows:
        cells = [
            f"{cell:>{w}}" if i in numeric else f"{cell:<{w}}"
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return out
