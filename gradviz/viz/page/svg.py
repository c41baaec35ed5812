"""Graphviz's SVG as markup a page can inline: no XML prolog, doctype or comments, and
checked, on the parsed markup, to hold nothing that runs or loads (a script, an embedded
object, a link, an ``on*`` attribute). User text that merely mentions them (a Variable named
``href=x``) is escaped text in the SVG and passes."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from gradviz.viz.draw.render import RenderError

__all__ = ["inline_svg"]

#: Elements that run or embed something, and attributes that load or run something.
_UNSAFE_TAGS = frozenset({"script", "foreignobject", "iframe", "object", "embed"})
_UNSAFE_ATTRS = frozenset({"href", "src"})


def inline_svg(data: bytes) -> str:
    """Graphviz's SVG as inline markup: no XML prolog, doctype or comments; checked to hold
    nothing that runs or loads."""
    text = data.decode("utf-8", "replace")
    start = text.find("<svg")
    if start < 0:
        raise RenderError("the layout program returned no SVG")
    text = re.sub(r"<!--.*?-->", "", text[start:], flags=re.S).strip()
    if not _safe_markup(text):
        raise RenderError("refusing to embed an SVG with a script, an embedded object or a link")
    return text


def _safe_markup(svg: str) -> bool:
    """Whether the SVG parses and has no element or attribute that runs or loads anything."""
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError:
        return False
    for element in root.iter():
        if _local(element.tag) in _UNSAFE_TAGS:
            return False
        for name in element.attrib:
            local = _local(name)
            if local in _UNSAFE_ATTRS or local.startswith("on"):
                return False
    return True


def _local(name: str) -> str:
    """``{namespace}tag`` or ``tag`` as the lower-case local name."""
    return name.rpartition("}")[2].lower()
