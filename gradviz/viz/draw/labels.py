"""The HTML-like labels of :mod:`gradviz.viz.draw.render`: node and module tables, and the legend.

:mod:`gradviz.viz.draw.render` assembles the graph (clusters, edges, the legend cluster) and owns
the visual vocabulary's documentation; this module builds the label tables and node attributes it
places. Every string that comes from user code goes through :func:`html_text` (HTML-escaped,
control characters dropped, long strings shortened) or :func:`attr_text` (a plain DOT
attribute, for tooltips) before it reaches a label.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

import graphviz

from gradviz.viz.diagnose.nan import is_mask
from gradviz.viz.diagnose.report import Level, Mark
from gradviz.viz.draw.scene import Group, Repeat, Rule, Scene
from gradviz.viz.draw.style import (
    BADGE,
    BUFFER_FILL,
    BUFFER_LINE,
    COLLAPSED_FILL,
    CONTAMINATED_FILL,
    DARK_BINS,
    DIM_FILL,
    DIM_LINE,
    DIM_TEXT,
    INPUT_FILL,
    LOSS_FILL,
    MAGNITUDE,
    MARK_FILL,
    MARK_LINE,
    NAN_FILL,
    NAN_LINE,
    OP_FILL,
    PARAM_FILL,
    WARN_LINE,
    bad_text,
    buffer_update_text,
    clean,
    stats_text,
    update_text,
    value_summary,
)
from gradviz.viz.records.schema import Kind, NodeView, node_view
from gradviz.viz.records.stats import is_bad
from gradviz.viz.records.stats import norm as grad_norm
from gradviz.viz.records.text import natural_key, number, shape_text

__all__ = [
    "Labels",
    "attr_text",
    "html_text",
    "path_and_class",
    "repeat_label",
    "repeat_tooltip",
    "rule_label",
    "rule_tooltip",
]

#: the step badge's size in points: per character of ``#n`` (bold 10 pt digits are ~5.6 pt wide)
#: plus a margin, and the height of a 10 pt title row (Graphviz's 1.2 line spacing, padding 1)
BADGE_CHAR = 6
BADGE_MARGIN = 4
BADGE_HEIGHT = 14

#: a collapsed module's margin (inches): its 3-d box's depth takes 4 pt at the top and right
BOX3D_MARGIN = "0.11,0.08"


def _count(items: list[Any], word: str) -> str:
    return f"{len(items)} {word}{'' if len(items) == 1 else 's'}"


#: a node without a ``grad`` attribute: not recorded (a live Variable's interior), unlike
#: ``grad=None``, recorded as not computed
_UNKNOWN = object()


def html_text(value: Any, limit: int = 48, middle: bool = False) -> str:
    """A user string as HTML-label text: escaped, no control characters, shortened (in the
    ``middle`` for module paths, whose end tells them apart)."""
    # A backslash would start a Graphviz escape (\N is the node id) even in HTML labels, with
    # or without an entity; a zero-width space after it keeps the text and breaks the escape.
    return html.escape(clean(value, limit, middle), quote=True).replace("\\", "&#92;&#8203;")


def attr_text(value: Any, limit: int = 400) -> str:
    """A user string as an escaped DOT attribute value (tooltips)."""
    # A tooltip is unescaped twice (an escString, where \N is the node id, then the tooltip's
    # own \n, \l, \r), so each backslash is written four times to come out as one.
    return graphviz.escape(clean(value, limit).replace("\\", "\\\\"))


def path_and_class(path: str, cls: str | None) -> str:
    """``<b>fc1</b>: Linear``; just the path when the class adds nothing (a loss module that
    the tracer names after its class)."""
    text = f"<b>{html_text(path, middle=True)}</b>"
    return text + (f": {html_text(cls)}" if cls and cls != path else "")


def repeat_label(repeat: Repeat) -> str:
    """``<b>blocks.0-11</b> (Block) x12`` (en dash, multiplication sign): a run of repeated
    blocks drawn as its first."""
    cls = f" ({html_text(repeat.cls)})" if repeat.cls else ""
    return f"<b>{html_text(repeat.span)}</b>{cls} {repeat.times}"


def repeat_tooltip(repeat: Repeat) -> str:
    """What a folded run of repeated blocks is, and whose statistics it shows."""
    first = ".".join(repeat.first)
    return (
        f"{repeat.span}: {len(repeat.members)} identical {repeat.cls or 'modules'} folded; "
        f"the statistics are those of the first, {first} (--no-fold draws each)"
    )


#: the partial-derivative sign that names a graph rule's cluster (``∂ Tanh``)
PARTIAL = "\u2202"


def rule_label(rule: Rule) -> str:
    """``∂ <b>Tanh</b> in 1``: the ops of an op's derivative, then where that op ran (its
    module; for a second derivative, the rule that recorded it: ``∂ Mul in ∂ Pow``)."""
    where = f"{PARTIAL} {rule.rule}" if rule.rule else rule.module
    text = f"{PARTIAL} <b>{html_text(rule.op)}</b>"
    return text + (f" in {html_text(where, middle=True)}" if where else "")


def rule_tooltip(rule: Rule) -> str:
    """What a graph rule's cluster is, for its tooltip."""
    if rule.rule:
        where = f", itself recorded by the derivative of {rule.rule}"
    else:
        where = f" in module {rule.module}" if rule.module else ""
    return (
        f"the derivative of {rule.op} ({rule.node}{where}) as recorded ops (create_graph=True): "
        f"what PyTorch's {rule.op}Backward0 computes"
    )


# ------------------------------------------------------------------------------ nodes
#: the magnitude colours span this fraction of the norms: the rest are clamped to the end bins
BULK = (0.02, 0.98)
#: below this many norms the colours span all of them
BULK_FROM = 10


class Bins(tuple):
    """``(lo, hi)``: the log10 range the magnitude colours span; ``clipped`` says whether
    norms outside it (below, above) were clamped into the end bins."""

    clipped: tuple[bool, bool]

    @classmethod
    def of(cls, logs: list[float]) -> Bins:
        """The range of the bulk of ``logs``: from the 2nd to the 98th percentile (at least one
        value trimmed at each end from ``BULK_FROM`` values on), so one near-zero bias does not
        squeeze every other node into the darkest colours."""
        logs = sorted(logs)
        n = len(logs)
        k = max(1, int(BULK[0] * n)) if n >= BULK_FROM else 0
        lo, hi = logs[k], logs[n - 1 - k]
        bins = cls((lo, hi))
        bins.clipped = (logs[0] < lo, logs[-1] > hi)
        return bins


class Labels:
    """Labels and node attributes (fill, border, tooltip) of one picture.

    ``marks`` holds the check findings drawn in this view only; ``bins`` is the log10 range of
    the gradient norms that the magnitude colours span (None: nothing to colour).
    """

    def __init__(self, scene: Scene, marks: Mapping[Any, list[Mark]]) -> None:
        self.scene = scene
        self.graph = scene.graph
        self.backward = scene.view == "backward"
        self.marks = marks
        self.bins = self._magnitude_bins()
        # every badge of a picture has the width its largest step number needs
        steps = [self.graph.nodes[n].get("step") for n in scene.nodes]
        digits = max((len(str(int(s))) for s in steps if s is not None), default=1)
        self.badge_width = BADGE_CHAR * (1 + digits) + BADGE_MARGIN

    def _magnitude_bins(self) -> Bins | None:
        """log10 range of the bulk of the non-zero, finite gradient norms drawn (None: nothing
        to colour)."""
        if not self.backward:
            return None
        logs = []
        for n in self.scene.nodes:
            if n == self.scene.root:  # the loss's own gradient (1) would stretch the scale
                continue
            norm = grad_norm(self.graph.nodes[n].get("grad"))
            if norm is not None and norm > 0 and math.isfinite(norm):
                logs.append(math.log10(norm))
        if not logs:
            return None
        return Bins.of(logs)

    def _fill_for(self, norm: float) -> tuple[str, str]:
        """(fill, font colour) of a non-zero gradient norm (an overflowed one: the largest)."""
        lo, hi = self.bins or (0.0, 0.0)
        if math.isinf(norm):  # finite elements whose norm overflows float64: the largest
            index = len(MAGNITUDE) - 1
        elif hi - lo < 1e-12 or math.isnan(norm):
            index = len(MAGNITUDE) // 2
        else:
            pos = (math.log10(norm) - lo) / (hi - lo)
            index = min(len(MAGNITUDE) - 1, max(0, int(pos * len(MAGNITUDE))))
        font = "white" if index >= len(MAGNITUDE) - DARK_BINS else "black"
        return MAGNITUDE[index], font

    def node(self, n: Any) -> dict[str, str]:
        """The attributes of graph node ``n`` drawn on its own."""
        a = node_view(self.graph, n)
        kind = a.kind
        is_root = n == self.scene.root
        dimmed = not a.requires_grad and kind != Kind.BUFFER
        dimmed = dimmed and (self.backward or kind != Kind.INPUT)
        title = _TITLES.get(kind, _input_title)(a)
        lines: list[str] = []
        attrs: dict[str, str] = {"tooltip": attr_text(self._tooltip(n, a, kind))}
        header_bg = None
        badge = ""
        fill = _FILLS.get(kind, OP_FILL)
        font = "black"
        if kind != Kind.OP:
            attrs["style"] = "filled,rounded"
        if is_root:
            fill = LOSS_FILL
            attrs["penwidth"] = "2"
        lines.append(f"{shape_text(a.shape)} {html_text(a.dtype or '', 16)}".strip())
        lines.extend(_inplace_lines(a))
        if not self.backward:
            _value_lines(a, attrs, lines)
        else:
            step = a.step
            if step is not None:
                badge = self.badge(step)
            if kind == Kind.PARAM:
                header_bg = PARAM_FILL
            if is_root:
                header_bg = LOSS_FILL
                summary = value_summary(a.value, a.shape)
                lines.append(summary.replace("value", "loss", 1))
                if is_bad(a.value):
                    lines.append(_bad_line(a.value))
                    attrs["color"] = NAN_LINE
            fill, font = self._gradient(a, is_root, attrs, lines, fill, font)
            update = a.update
            if kind == Kind.PARAM and update:
                lines.append(update_text(update))
        if kind == Kind.BUFFER:
            _buffer_look(a, attrs, lines)
        if dimmed:
            fill, font = DIM_FILL, DIM_TEXT
            attrs.update(style=_dashed(attrs), color=DIM_LINE, fontcolor=DIM_TEXT)
            header_bg = None
            lines.append("requires_grad=False")
        for mark in self.marks.get(n, ()):
            fill, font = _apply_mark(mark, attrs, lines, fill, font)
        attrs["fillcolor"] = fill
        if font != "black":
            attrs["fontcolor"] = font
        attrs["label"] = _table(title, lines, header_bg, badge)
        return attrs

    def group(self, group: Group) -> dict[str, str]:
        """The attributes of a collapsed module's box."""
        g = self.graph
        members = set(group.members)
        holds_root = self.scene.root in members
        ops = [m for m in group.members if g.nodes[m].get("kind", "op") == "op"]
        params = [m for m in group.members if g.nodes[m].get("kind") == "param"]
        ins = _ordered_shapes(
            g.nodes[p].get("shape")
            for m in group.members
            for p in sorted(g.predecessors(m), key=natural_key)
            if p in self.scene.selected and p not in members
        )
        outs = _ordered_shapes(
            g.nodes[m].get("shape")
            for m in group.members
            if m == self.scene.root
            or any(c in self.scene.selected and c not in members for c in g.successors(m))
        )
        title = path_and_class(group.path, self.scene.modules.get(group.path))
        tooltip = f"module {group.path} collapsed: {len(group.members)} nodes"
        repeat = self.scene.repeat_at(tuple(group.path.split(".")))
        if repeat is not None:
            title = repeat_label(repeat)
            tooltip = repeat_tooltip(repeat)
        lines = [_count(ops, "op") + (f", {_count(params, 'param')}" if params else "")]
        lines.append(f"in {html_text(', '.join(ins) or '-')}")
        lines.append(f"out {html_text(', '.join(outs) or '-')}")
        attrs = {
            "shape": "box3d",
            "margin": BOX3D_MARGIN,
            "fillcolor": COLLAPSED_FILL,
            "tooltip": attr_text(tooltip),
        }
        font = "black"
        if holds_root:
            attrs.update(fillcolor=LOSS_FILL, penwidth="2")
        if self.backward:
            grads = [g.nodes[m].get("grad") for m in (params or ops)]
            steps = [
                g.nodes[m].get("step") for m in group.members if g.nodes[m].get("step") is not None
            ]
            if steps:
                lines.append(f"steps #{min(steps)}-#{max(steps)}")
            if any(is_bad(s) for s in grads):
                attrs.update(fillcolor=NAN_FILL, color=NAN_LINE, penwidth="2")
                font = "white"
                lines.append("<b>NaN/Inf in gradients</b>")
            else:
                norms = [grad_norm(s) for s in grads if s is not None and s is not _UNKNOWN]
                norms = [x for x in norms if x is not None]
                if norms:
                    total = math.sqrt(sum(x * x for x in norms))
                    what = "params" if params else "max"
                    shown = total if params else max(norms)
                    lines.append(f"|grad| {what} {number(shown)}")
                    if shown > 0 and not holds_root:
                        attrs["fillcolor"], font = self._fill_for(shown)
        marked = [m for n in group.members for m in self.marks.get(n, ()) if m.level != Level.OK]
        serious = [m for m in marked if m.level in (Level.ERROR, Level.BIRTH)]
        if serious:
            attrs.update(fillcolor=MARK_FILL, color=MARK_LINE, penwidth="3")
            font = "white"
        elif any(m.level == Level.WARNING for m in marked):
            attrs.update(color=WARN_LINE, penwidth="3")
        if serious or any(m.level == Level.WARNING for m in marked):
            first = (serious or marked)[0]
            lines += _mark_lines(first.text) + (
                [f"and {len(marked) - 1} more"] if len(marked) > 1 else []
            )
        if font != "black":
            attrs["fontcolor"] = font
        attrs["label"] = _table(title, lines, None)
        return attrs

    def _gradient(
        self,
        a: NodeView,
        is_root: bool,
        attrs: dict[str, str],
        lines: list[str],
        fill: str,
        font: str,
    ) -> tuple[str, str]:
        """Draw node ``a``'s gradient in the backward view; returns the new (fill, font)."""
        grad = a.grad
        if not a.grad_recorded:
            return (fill if is_root else "white"), font
        if is_bad(grad):
            attrs.update(color=NAN_LINE, penwidth="2")
            lines.append(f"<b>grad has {bad_text(grad)}</b>")
            return NAN_FILL, "white"
        if grad is None:
            if a.requires_grad:
                attrs.update(style=_dashed(attrs), color=DIM_LINE, fontcolor=DIM_TEXT)
                lines.append("no grad (not computed)")
                fill = "white"
            return fill, font
        norm = grad_norm(grad) or 0.0
        if norm == 0:
            fill = "white"
            # a 0-element gradient is empty, as its value is, not "computed, all zero"
            lines.append("<b>grad empty</b>" if 0 in (a.shape or ()) else "<b>grad = 0</b>")
        else:
            if not is_root:
                fill, font = self._fill_for(norm)
            lines.append(_grad_line(grad, a.shape, norm))
        if a.accumulated:
            fan_in = sum(1 for c in self.graph.successors(a.id) if c in self.scene.selected)
            lines.append(f"sum of {fan_in} grads" if fan_in > 1 else "accumulated")
        if a.retained:
            lines.append("retain_grad: .grad kept")
        return fill, font

    def badge(self, step: int) -> str:
        """The step badge ``#n``: a cell of fixed size (so the slack of a long label cannot widen
        it), kept at the left of its column, holding a table that centres the number in it."""
        fill = _TABLE.format(f' bgcolor="{BADGE}"')
        return (
            f'<td fixedsize="true" width="{self.badge_width}" height="{BADGE_HEIGHT}" '
            f'align="left" cellpadding="0">{fill}'
            f'<tr><td><font color="white"><b>#{int(step)}</b></font></td></tr></table></td>'
        )

    def _tooltip(self, n: Any, a: NodeView, kind: str) -> str:
        bits = [f"{clean(n)}: {kind}"]
        if a.op:
            bits.append(f"op {a.op}")
        if a.name:
            bits.append(f"name {a.name}")
        if a.module:
            bits.append(f"module {a.module}")
        if a.source:
            bits.append(f"at {a.source}")
        rule = self.scene.rules.get(n)
        if rule is not None:
            bits.append(f"part of the derivative of {rule.op} ({rule.node})")
        bits.append(f"value: {stats_text(a.value, a.dtype)}")
        if self.backward:
            bits.append("grad: " + (stats_text(a.grad) if a.grad_recorded else "not recorded"))
        return " | ".join(bits)


def _buffer_look(a: NodeView, attrs: dict[str, str], lines: list[str]) -> None:
    """A buffer: dashed teal border, and its change during the step's forward."""
    attrs.update(style="filled,rounded,dashed", color=BUFFER_LINE)
    if a.update:
        lines.append(buffer_update_text(a.update))


def _dashed(attrs: Mapping[str, str]) -> str:
    style = attrs.get("style", "filled")
    return style if "dashed" in style else style + ",dashed"


def _grad_line(grad: Mapping[str, Any], shape: Any, norm: float) -> str:
    """``grad -4`` for a one-element gradient (its sign is what scalar code is read by, as
    micrograd draws it), else ``|grad| 0.49`` (its norm)."""
    if shape is not None and math.prod(shape) == 1 and grad.get("mean") is not None:
        return f"grad {number(grad['mean'])}"
    return f"|grad| {number(norm)}"


def _value_lines(a: NodeView, attrs: dict[str, str], lines: list[str]) -> None:
    """A forward node's value statistics, and its NaN/Inf (a mask's -inf is intended)."""
    summary = value_summary(a.value, a.shape, a.dtype)
    if summary:
        lines.append(summary)
    if is_mask(a.op, a.value, a.args):
        lines.append(f"{bad_text(a.value)} (a mask)")
    elif is_bad(a.value):
        lines.append(_bad_line(a.value))
        attrs.update(color=NAN_LINE, penwidth="2")


def _bad_line(stats: Mapping[str, Any] | None) -> str:
    """The NaN/Inf count of a value, in bold dark red."""
    return f'<font color="{NAN_LINE}"><b>{bad_text(stats)}</b></font>'


def _inplace_lines(a: NodeView) -> list[str]:
    """``in-place · v2`` under a recorded in-place write (an op named ``Add_``), else nothing."""
    return [
        "<i>" + arg.replace(", version ", " · v") + "</i>"
        for arg in a.args
        if arg.startswith("in-place, version ")
    ]


def _op_title(a: NodeView) -> str:
    op = f"<b>{html_text(a.op or '?', 32)}</b>"
    return f"{html_text(a.name, 32)} = {op}" if a.name else op


def _param_title(a: NodeView) -> str:
    return f"<b>{html_text(a.name or 'parameter', middle=True)}</b>"


def _input_title(a: NodeView) -> str:
    return f"<b>{html_text(a.name)}</b>" if a.name else "input"


#: A node's title and fill by its kind.
_TITLES = {
    Kind.OP: _op_title,
    Kind.PARAM: _param_title,
    Kind.INPUT: _input_title,
    Kind.BUFFER: _param_title,
}
_FILLS = {
    Kind.INPUT: INPUT_FILL,
    Kind.PARAM: PARAM_FILL,
    Kind.OP: OP_FILL,
    Kind.BUFFER: BUFFER_FILL,
}


def _ordered_shapes(shapes: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for shape in shapes:
        text = shape_text(shape)
        if text not in out:
            out.append(text)
            if len(out) > 3:
                break
    return out[:3] + (["..."] if len(out) > 3 else [])


_TABLE = '<table border="0" cellborder="0" cellspacing="0" cellpadding="1"{}>'


def _table(title: str, lines: list[str], header_bg: str | None, badge: str = "") -> str:
    """An HTML-like label: a title row over small-print lines, the title on ``header_bg`` and
    after the step ``badge`` (a cell from :meth:`Labels.badge`) when there is one."""
    bg = f' bgcolor="{header_bg}"' if header_bg else ""
    if header_bg:
        title = f'<font color="black">{title}</font>'
    if badge:
        # Graphviz shares the width that longer lines leave over among the columns a row spans,
        # so a badge in a column of the label would stretch. The title row is a table of its
        # own: the fixed-size badge, the title and an empty cell take a third of the slack each
        # (the title stays centred in what the badge leaves) and the table's background fills
        # around the badge.
        head = (
            f'<td cellpadding="0">{_TABLE.format(bg)}'
            f'<tr>{badge}<td>{title}</td><td cellpadding="0"></td></tr></table></td>'
        )
    else:
        head = f"<td{bg}>{title}</td>"
    rows = [f"<tr>{head}</tr>"]
    for line in lines:
        rows.append(f'<tr><td colspan="1"><font point-size="9">{line}</font></td></tr>')
    return f"<{_TABLE.format('')}{''.join(rows)}</table>>"


def _mark_lines(text: str, width: int = 44) -> list[str]:
    """A mark's text as escaped label lines of at most ``width`` characters."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return [html_text(line, width + 8) for line in lines[:4]]


def _apply_mark(
    mark: Mark, attrs: dict[str, str], lines: list[str], fill: str, font: str
) -> tuple[str, str]:
    """Draw one check finding on a node; returns the new (fill, font colour)."""
    draw = _MARK_STYLES.get(mark.level, _text_mark)
    return draw(_mark_lines(mark.text), attrs, lines, fill, font)


def _serious_mark(
    text: list[str], attrs: dict[str, str], lines: list[str], fill: str, font: str
) -> tuple[str, str]:
    attrs.update(color=MARK_LINE, penwidth="3")
    lines += [f"<b>{line}</b>" for line in text]
    return MARK_FILL, "white"


def _contaminated_mark(
    text: list[str], attrs: dict[str, str], lines: list[str], fill: str, font: str
) -> tuple[str, str]:
    lines += text
    return (fill, font) if fill == NAN_FILL else (CONTAMINATED_FILL, "black")


def _warning_mark(
    text: list[str], attrs: dict[str, str], lines: list[str], fill: str, font: str
) -> tuple[str, str]:
    attrs.update(color=WARN_LINE, penwidth="3")
    if fill in MAGNITUDE or fill == NAN_FILL:  # orange text would not read on these
        lines += [f"<b>{line}</b>" for line in text]
    else:
        lines += [f'<font color="{WARN_LINE}"><b>{line}</b></font>' for line in text]
    return fill, font


def _text_mark(
    text: list[str], attrs: dict[str, str], lines: list[str], fill: str, font: str
) -> tuple[str, str]:
    lines += text  # ok, note: a line of text only
    return fill, font


#: How a mark is drawn on a node, by its level.
_MARK_STYLES = {
    Level.ERROR: _serious_mark,
    Level.BIRTH: _serious_mark,
    Level.CONTAMINATED: _contaminated_mark,
    Level.WARNING: _warning_mark,
}
