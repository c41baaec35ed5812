"""A :class:`~gradviz.viz.diagnose.report.Report` as a terminal reads it.

A headline (what was checked, how many errors and warnings), one line per finding (severity,
op, module path, ``file:line``, then the message with its numbers; errors first), notes, and the
per-layer health table with a line about the ReLUs. Text that comes from the user's code (names,
module paths, file names) is shown with the characters a terminal would act on escaped.
"""

from __future__ import annotations

import shutil
import textwrap
from collections import Counter
from typing import Any

from gradviz.viz.records.text import number, one_line, printable

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
    rows = _grouped(report.findings)
    errors = sum(1 for r in rows if r[0] == "error")
    warnings = len(rows) - errors
    verdict = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    if len(rows) < len(report.findings):
        verdict += f" ({len(report.findings):,} findings; repeats grouped, one line per kind)"
    lines.append("  " + (_paint(verdict, "error", color) if errors else verdict))
    if rows:
        lines.append("")
        lines += _findings(rows, color, width)
    for note in report.notes:
        lines.append(f"note: {printable(note)}")
    skipped = [c for c in checks if c.status == "skipped" and c.custom]
    for c in skipped:
        text = f"gradient check of {c.op} ({c.source or c.node}) skipped: {c.reason}"
        lines.append(f"note: {printable(text)}")
    if report.layers:
        lines.append("")
        trained = {p.name.rpartition(".")[0] for p in report.params if p.requires_grad}
        lines += _layer_table(report.layers, trained)
        learning = [layer for layer in report.layers if layer.module in trained]
        if learning and all(layer.update_ratio is None for layer in learning):
            lines += textwrap.wrap(NO_UPDATE, 100)
    dead = [r for r in report.relus if r.dead_units]
    if dead:
        cells = []
        calls = Counter(r.module for r in dead)
        for r in dead:
            where = f"module {r.module}" if r.module else (r.source or r.node)
            if r.module and calls[r.module] > 1 and r.source:  # one ReLU module called twice
                where += f" at {r.source}"
            cells.append(f"{r.dead_units}/{r.units} in {where}")
        text = _first_few(cells, SHOWN)
        lines.append("dead ReLU units (zero for every row of the batch): " + printable(text))
    return "\n".join(lines)


#: a kind with this many findings or more is printed as one line
GROUP_FROM = 4
#: how many names or places a grouped line lists before "and N more"
SHOWN = 5
#: the layer table shows this many rows at each end when it is longer than twice that
TABLE_ENDS = 20

#: severity, op, module, line, message, what to try
Row = tuple[str, str, str, str, str, str]


def _advice(f: Any) -> str:
    return "; ".join(f.advice)


def _first_few(items: list[str], shown: int) -> str:
    """``a, b, c and 12 more``."""
    if len(items) <= shown:
        return ", ".join(items)
    return ", ".join(items[:shown]) + f" and {len(items) - shown:,} more"


def _subject(f: Any) -> str:
    """What a grouped line lists for one finding: the parameter its message starts with, else
    its op, module and line."""
    if f.kind in ("no_gradient", "update_ratio"):
        return f.message.split(":")[0].split(" got ")[0]
    if f.kind == "grad_not_zeroed":  # its optimizer, last in the message
        return f.message.rpartition(" (")[2].rstrip(")")
    parts = (f.op, f.module and f"in {f.module}", f.source and f"at {f.source}")
    return " ".join(x for x in parts if x) or str(f.node)


def _side(f: Any) -> str:
    return "above" if f.numbers["ratio"] > 1e-3 else "below"


def _grouped(findings: Any) -> list[Row]:
    """One row per finding; the findings of a kind become one row when there are
    ``GROUP_FROM`` or more (their count, the first message, the others by name), and so do
    two or more update-ratio warnings the same way (above or below). The Report keeps every
    Finding."""
    kinds: dict[tuple[str, str], list[Any]] = {}
    for f in findings:
        key = (f.kind, _side(f) if f.kind == "update_ratio" else f.severity)
        kinds.setdefault(key, []).append(f)
    rows: list[Row] = []
    for f in findings:
        ratio = f.kind == "update_ratio"
        same = kinds[(f.kind, _side(f) if ratio else f.severity)]
        if ratio and len(same) >= 2:
            if f is same[0]:
                rows.append(_ratio_row(same, _side(f)))
        elif len(same) >= GROUP_FROM:
            if f is same[0]:
                rows.append(_kind_row(same))
        else:
            row = (f.severity, f.op or "-", f.module or "-", f.source or "-", f.message)
            rows.append((*row, _advice(f)))
    # names may hold terminal escape sequences, and newlines that would split the row
    return [tuple(one_line(str(cell)) for cell in row) for row in rows]


def _kind_row(same: list[Any]) -> Row:
    first = same[0]
    others = _first_few([_subject(f) for f in same[1:]], SHOWN)
    kind = first.kind.replace("_", " ")
    message = f"{len(same):,} {kind} findings, the first: {first.message}; also {others}"
    where = (first.op or "-", first.module or "-", first.source or "-")
    return (first.severity, *where, message, _advice(first))


def _ratio_row(chosen: list[Any], side: str) -> Row:
    why = chosen[0].message.rpartition(" (")[2].rstrip(")")
    cells = _first_few(
        [f"{c.message.split(':')[0]} {number(c.numbers['ratio'])}" for c in chosen], 2 * SHOWN
    )
    message = (
        f"update/weight 10x or more {side} the usual ~1e-3 for {len(chosen)} "
        f"weights ({why}): {cells}"
    )
    return ("warning", "-", "-", "-", message, _advice(chosen[0]))


def _findings(rows: list[Row], color: bool, width: int) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    widths = [min(w, cap) for w, cap in zip(widths, (7, 22, 18, 26), strict=True)]
    out = []
    for row in rows:
        head = "  ".join(f"{cell:<{w}}" for cell, w in zip(row[:4], widths, strict=True))
        indent = len(head) + 2
        body_width = width - indent
        if body_width < 40:  # a narrow terminal: the message on its own lines
            out.append(_paint(head, row[0], color).rstrip())
            indent, body_width = 4, width - 4
            parts = textwrap.wrap(row[4], body_width)
            out += [" " * indent + part for part in parts]
        else:
            parts = textwrap.wrap(row[4], body_width) or [""]
            first = head[len(row[0]) :] + "  " + parts[0]
            out.append(_paint(head.split("  ")[0], row[0], color) + first)
            out += [" " * indent + part for part in parts[1:]]
        if row[5]:
            tip = textwrap.wrap("try: " + row[5], body_width)
            out += [" " * indent + _paint(part, "dim", color) for part in tip]
    return out


#: Under a layer table without one update: why, and how to see one.
NO_UPDATE = (
    "update/weight -: no parameter changed between this backward call and the next forward: "
    "no optimizer step ran after it (the script has none, or it accumulates gradients over "
    "several backward calls: check the one just before optimizer.step(), gradviz check --step N)"
)


#: A layer's parameter names longer than this are counted instead (an LSTM has 16).
PARAMS_WIDTH = 30


def _params_cell(params: Any) -> str:
    text = one_line(",".join(params))
    return text if len(text) <= PARAMS_WIDTH else f"{len(params)} params"


def _layer_table(layers: Any, trained: set[str]) -> list[str]:
    """The layer rows; a layer none of whose parameters requires grad is marked frozen."""
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
    hidden = len(layers) - 2 * TABLE_ENDS
    if hidden > 0:
        layers = [*layers[:TABLE_ENDS], *layers[-TABLE_ENDS:]]
    for layer in layers:
        rows.append(
            (
                str(layer.index),
                one_line(layer.module or "(top)"),
                one_line(layer.cls or "-"),
                _params_cell(layer.params),
                _n(layer.grad_norm),
                _n(layer.grad_rms),
                _n(layer.weight_norm),
                _n(layer.update_ratio),
                " ".join(
                    f"<- {flag}"
                    for flag in (*layer.flags, *(() if layer.module in trained else ("frozen",)))
                ),
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
    if hidden > 0:
        out.insert(1 + TABLE_ENDS, f"  ... {hidden:,} more layers (all in Report.layers)")
    return out
