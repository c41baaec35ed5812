"""The legend of a picture: its visual vocabulary, the check's marks drawn in it and what to try
about them (one HTML-like table node)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from gradviz.viz.draw.labels import html_text
from gradviz.viz.draw.style import (
    BADGE,
    BUFFER_FILL,
    CONTAMINATED_FILL,
    DIM_FILL,
    DIM_TEXT,
    INPUT_FILL,
    LOSS_FILL,
    MAGNITUDE,
    MARK_FILL,
    NAN_FILL,
    OP_FILL,
    PARAM_FILL,
    RULE_LINE,
    WARN_LINE,
)
from gradviz.viz.records.text import number

__all__ = ["MARK_LEGEND", "legend_label"]

# ------------------------------------------------------------------------------ legend
#: per mark level drawn in a picture, its legend row: (swatch colour, text, swatch text)
MARK_LEGEND = {
    "detach": ("white", "dashed arrow: detach() (no gradient)", "- -"),
    "rule": (
        "white",
        f'<font color="{RULE_LINE}">dashed box &#8706; Op: the ops of the derivative of Op'
        '<br align="left"/>(create_graph=True: what PyTorch\'s OpBackward0 computes)'
        '<br align="left"/></font>',
        f'<font color="{RULE_LINE}">&#8706;</font>',
    ),
    "error": (MARK_FILL, "<b>check failed</b>"),
    "birth": (MARK_FILL, "<b>NaN/Inf born here</b>"),
    "contaminated": (CONTAMINATED_FILL, "carries the NaN/Inf on"),
    "warning": ("white", f'<font color="{WARN_LINE}"><b>warning (orange border)</b></font>'),
}


def legend_label(
    view: str,
    bins: tuple[float, float] | None,
    marks: Iterable[str] = (),
    advice: Iterable[str] = (),
) -> str:
    """The legend's table: the picture's vocabulary, the check's marks drawn in it and what
    to try about them."""

    def row(colour: str, text: str, swatch_text: str = "") -> str:
        return (
            f'<tr><td bgcolor="{colour}" border="1" width="26">{swatch_text}</td>'
            f'<td align="left"><font point-size="9">{text}</font></td></tr>'
        )

    rows = [
        row(INPUT_FILL, "input"),
        row(PARAM_FILL, "parameter (module path, shape)"),
        row(OP_FILL, "op: output shape, dtype" + (", mean, std" if view == "forward" else "")),
        row(LOSS_FILL, "loss"),
        row(DIM_FILL, f'<font color="{DIM_TEXT}">dimmed: requires_grad=False</font>'),
    ]
    if view == "backward":
        rows.append(row(BADGE, "backward step, in order", '<font color="white">#n</font>'))
        if bins is not None:
            lo, hi = bins
            clipped = getattr(bins, "clipped", (False, False))
            width = (hi - lo) / len(MAGNITUDE)
            for i, colour in enumerate(MAGNITUDE):
                if hi - lo < 1e-12:
                    if i != len(MAGNITUDE) // 2:
                        continue
                    text = f"|grad| {number(10**lo)}"
                else:
                    low, high = 10 ** (lo + i * width), 10 ** (lo + (i + 1) * width)
                    text = f"|grad| {number(low)} to {number(high)}"
                    if i == 0 and clipped[0]:
                        text = f"|grad| below {number(high)}"
                    if i == len(MAGNITUDE) - 1 and clipped[1]:
                        text = f"|grad| above {number(low)}"
                rows.append(row(colour, text + (" (log scale)" if i == 0 else "")))
            if any(clipped):
                rows.append(row("white", "colours span the 2nd to 98th percentile of |grad|"))
        rows.append(row(NAN_FILL, "NaN or Inf in the gradient"))
        rows.append(row("white", "grad = 0: computed, all zero"))
        rows.append(row("white", "no grad: not computed (dashed)", "- -"))
        rows.append(row("white", "arrows: gradient flow, loss to parameters", "&#8595;"))
    else:
        rows.append(row("white", "dashed box: module (path: class)", "[ ]"))
        rows.append(row("white", "arrows: data flow", "&#8595;"))
    marks = set(marks)
    if "buffer" in marks:
        rows.insert(2, row(BUFFER_FILL, "buffer (running statistics): module path, update"))
    rows += [row(*entry) for level, entry in MARK_LEGEND.items() if level in marks]
    for tip in advice:
        lines = textwrap.wrap(tip, 56)
        text = "".join(f'{html_text(x, 60)}<br align="left"/>' for x in lines)
        rows.append(row("white", text, "<i>try</i>"))
    return (
        '<<table border="0" cellborder="0" cellspacing="2" cellpadding="2">'
        + "".join(rows)
        + "</table>>"
    )
