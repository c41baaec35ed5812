"""How record values read as text (numbers, shapes, terminal-safe strings), the same in the
diagnoses, the pictures and the summary."""

from __future__ import annotations

import math
import re
from typing import Any


def natural_key(node_id: Any) -> tuple:
    """Sort key of node ids: ``v2`` before ``v10``."""
    match = re.fullmatch(r"([A-Za-z_]*)(\d+)", str(node_id))
    return (0, match.group(1), int(match.group(2))) if match else (1, str(node_id), 0)


def number(x: Any) -> str:
    if x is None:
        return "?"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    return f"{x:.2e}"


def shape_text(shape: Any) -> str:
    if shape is None:
        return "?"
    shape = tuple(shape)
    if not shape:
        return "scalar"
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def one_line(text: str) -> str:
    """:func:`printable` for what must stay on one line (a name in a table row, a finding): a
    newline is written as its escape too."""
    return printable(text.replace("\n", "\\n"))


def printable(text: str) -> str:
    """Text for a terminal: every character that is not printable (escape sequences, other
    controls, bidi overrides, lone surrogates) written as its Python escape; newlines kept."""
    return "\n".join(
        "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line)
        for line in text.split("\n")
    )
