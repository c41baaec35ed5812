"""The interactive page inside a notebook: the same self-contained page, in an ``<iframe>``.

:func:`iframe_html` wraps any page :func:`gradviz.viz.page.html.page_html` builds (a trace's,
and any other page made the same way) for a notebook's ``text/html`` output. The page is the
iframe's ``srcdoc`` (escaped), so nothing is fetched, and ``sandbox="allow-scripts"`` lets only
the page's own script run, with an opaque origin: it cannot reach the notebook, its cookies or
its kernel. The page's Content-Security-Policy still forbids every network request. No Jupyter
extension is needed: any front end that shows HTML shows it.

:func:`inline_page` makes the page of a trace (``Trace.show()`` and ``Trace._repr_html_`` call
it) as an :class:`InlinePage`, which displays itself as the last expression of a cell.
"""

from __future__ import annotations

import html
from typing import Any

from gradviz.autograd.errors import GradvizError
from gradviz.viz.diagnose import Report
from gradviz.viz.page.html import page_data, page_html

__all__ = ["DEFAULT_HEIGHT", "InlineError", "InlinePage", "iframe_html", "inline_page"]

#: The iframe's height in CSS pixels unless asked otherwise (its width is the output's).
DEFAULT_HEIGHT = 560
#: The heights accepted: smaller hides the page's controls, larger is taller than a screen.
MIN_HEIGHT, MAX_HEIGHT = 240, 4000


class InlineError(GradvizError, ValueError):
    """A page cannot be shown inline with the options given (a bad height or view)."""


def iframe_html(page_html: str, height: int = DEFAULT_HEIGHT) -> str:
    """``page_html`` (a whole self-contained page) as a sandboxed ``<iframe srcdoc>`` as wide
    as the notebook's output and ``height`` CSS pixels tall."""
    if isinstance(height, bool) or not isinstance(height, int):
        raise InlineError(f"height must be an int (CSS pixels), got {type(height).__name__}")
    if not MIN_HEIGHT <= height <= MAX_HEIGHT:
        raise InlineError(
            f"height must be between {MIN_HEIGHT} and {MAX_HEIGHT} pixels, got {height}"
        )
    style = (
        f"width: 100%; height: {height}px; box-sizing: border-box; "
        "border: 1px solid #d0d0d0; border-radius: 4px"
    )
    return (
        f'<iframe class="gradviz-page" title="gradviz interactive page" '
        f'sandbox="allow-scripts" referrerpolicy="no-referrer" style="{style}" '
        f'srcdoc="{html.escape(page_html, quote=True)}"></iframe>'
    )


class InlinePage:
    """An interactive page to show in a notebook: the last expression of a cell displays it
    (``IPython.display.display(page)`` anywhere else). ``html`` is the iframe's markup,
    ``page`` the page itself (what ``write_html`` would write)."""

    def __init__(self, page: str, height: int, view: str) -> None:
        self.page = page
        self.height = height
        self.view = view
        self.html = iframe_html(page, height)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"InlinePage(view={self.view!r}, height={self.height}, size={len(self.page):,})"


def inline_page(
    obj: Any,
    *,
    view: str = "forward",
    height: int = DEFAULT_HEIGHT,
    depth: int | None = None,
    pass_index: int | None = None,
    report: Report | Exception | None = None,
) -> InlinePage:
    """The page of ``obj`` (a Trace, a loaded trace or a trace graph; see
    :func:`gradviz.viz.page.html.page_data`, which takes ``depth``, ``pass_index`` and
    ``report``) opening on ``view`` ("forward" or "backward"), ``height`` pixels tall."""
    iframe_html("", height)  # check the height before the layout work
    data, svgs, _ = page_data(obj, pass_index, depth, report=report)
    views = data["views"]
    if view not in views:
        shown = " and ".join(repr(v) for v in views)
        raise InlineError(f"view must be one of {shown} for this graph, got {view!r}")
    # the page opens on the first of its views
    data["views"] = {view: views[view], **{k: v for k, v in views.items() if k != view}}
    return InlinePage(page_html(data, svgs), height, view)
