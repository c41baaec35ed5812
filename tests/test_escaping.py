"""Names from user code reach every output escaped: terminal escape sequences in the text report
and summary, lone surrogates in SVG, HTML, JSON and text, backslashes in SVG tooltips."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

import gradviz
from gradviz.viz.draw import output
from gradviz.viz.summary import summary
from gradviz.viz.trace import write_page

OSC52 = "\x1b]52;c;Y2xpcGJvYXJk\x07"  # sets the terminal's clipboard
CLEAR = "\x1b[2J"  # clears the screen
XLINK = "{http://www.w3.org/1999/xlink}title"


def traced(name: str) -> gradviz.Trace:
    w = gradviz.Variable([[1.0, 2.0]], requires_grad=True, name=name)
    with gradviz.trace() as tr:
        (w * 2).sum().backward()
    return tr


def test_summary_shows_terminal_escapes_escaped():
    text = summary(traced(f"w{OSC52}{CLEAR}"))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "w\\x1b]52;c;Y2xpcGJvYXJk\\x07\\x1b[2J" in text


def test_report_shows_terminal_escapes_escaped():
    report = traced("w").check()
    report = dataclasses.replace(report, script=f"train{CLEAR}.py", notes=(f"see {OSC52}",))
    for color in (False, True):
        text = report.format(color=color)
        assert "\x07" not in text
        assert "train\\x1b[2J.py" in text
        assert "see \\x1b]52;c;Y2xpcGJvYXJk\\x07" in text
    assert "\x1b" not in report.format(color=False)


def test_a_lone_surrogate_is_written_escaped_everywhere(tmp_path):
    name = "bad\ud800name"
    tr = traced(name)
    assert "bad\\ud800name" in summary(tr)
    tr.check().format().encode("utf-8")
    output.write(tr.graph, "forward", tmp_path / "f.dot")
    assert "ud800name" in (tmp_path / "f.dot").read_text(encoding="utf-8")
    output.write(tr.graph, "forward", tmp_path / "f.svg")
    ET.parse(tmp_path / "f.svg")
    write_page(tr, tmp_path / "p.html")
    assert "bad\\ud800name" in (tmp_path / "p.html").read_text(encoding="utf-8")
    tr.save(tmp_path / "t.json")
    loaded = gradviz.load_trace(tmp_path / "t.json")
    assert [a["name"] for _, a in loaded.graph.nodes(data=True) if a["kind"] == "param"] == [name]


@pytest.mark.parametrize("name", ["C:\\new\\N", "a\\\\b", "end\\"])
def test_backslashes_survive_into_svg_tooltips(tmp_path, name):
    output.write(traced(name).graph, "forward", tmp_path / "f.svg")
    titles = [e.get(XLINK) for e in ET.parse(tmp_path / "f.svg").iter() if e.get(XLINK)]
    assert any(f"name {name} |" in t for t in titles), titles
