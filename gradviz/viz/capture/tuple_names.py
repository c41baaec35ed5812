"""Names for the elements of a tuple a line assigns or returns: ``mu, logvar = f(h), g(h)``
names ``f``'s result ``mu`` and ``g``'s ``logvar``; ``return self.fc21(h1), self.fc22(h1)``
passes each element to the line that called the function (``mu, logvar = self.encode(x)``),
``yield X[i], y[i]`` to the loop over the generator (``for X, y in data_iter(...):``).

Which element an op belongs to is read from the call the user's frame is making: the column
span of its instruction (``co_positions``, Python 3.11 and later; none on 3.10).
"""

from __future__ import annotations

import ast
import functools
import itertools
from dataclasses import dataclass
from types import FrameType


@dataclass(frozen=True)
class TupleLine:
    """A one-line statement with a tuple: ``kind`` is "assign" (``a, b = f(x), g(x)``),
    "return" (``return f(x), g(x)``) or "unpack" (``a, b = f(x)``); ``names`` the targets
    (none for "return"); ``spans`` the column span of each element of the value."""

    kind: str
    names: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Element:
    """Element ``index`` of the tuple a line returns, named by the line that called it."""

    index: int


@functools.lru_cache(maxsize=4096)
def tuple_line(text: str) -> TupleLine | None:
    """The :class:`TupleLine` of a line's text, or None for any other line."""
    stripped = text.strip()
    try:  # (a `for` line gets a body to parse)
        body = ast.parse(stripped + " pass" if stripped.endswith(":") else stripped).body
    except SyntaxError:  # a statement over several lines
        return None
    if len(body) != 1:
        return None
    statement, indent = body[0], len(text) - len(text.lstrip())
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Yield):
        statement = statement.value  # `yield X[i], y[i]`: the loop over the generator names
    if isinstance(statement, ast.Return | ast.Yield) and isinstance(statement.value, ast.Tuple):
        return TupleLine("return", (), _spans(statement.value, indent))
    if isinstance(statement, ast.For):  # `for X, y in data_iter(...):`
        statement = ast.Assign(targets=[statement.target], value=ast.Call())
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
        return None
    target = statement.targets[0]
    if not (isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts)):
        return None
    names = tuple(e.id for e in target.elts)  # type: ignore[attr-defined]
    value = statement.value
    if isinstance(value, ast.Tuple) and len(value.elts) == len(names):
        return TupleLine("assign", names, _spans(value, indent))
    if isinstance(value, ast.Call):
        return TupleLine("unpack", names, ())
    return None


def _spans(value: ast.Tuple, indent: int) -> tuple[tuple[int, int], ...]:
    return tuple(
        (e.col_offset + indent, (e.end_col_offset or e.col_offset) + indent) for e in value.elts
    )


def element(line: TupleLine, frame: FrameType) -> int | None:
    """The index of the element of ``line`` whose span holds the call ``frame`` is making."""
    positions = getattr(frame.f_code, "co_positions", None)
    if positions is None:  # Python 3.10
        return None
    position = next(itertools.islice(positions(), frame.f_lasti // 2, None), None)
    if position is None or position[2] is None or position[3] is None:
        return None
    start, end = position[2], position[3]
    for index, (low, high) in enumerate(line.spans):
        if low <= start and end <= high:
            return index
    return None
