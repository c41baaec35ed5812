"""What Jupyter shows for each gradviz object (its ``_repr_*_`` methods), without a kernel:
a trace as its page in a sandboxed iframe, a Report as a table, a Variable as a short summary,
a picture as SVG laid out without a system ``dot``."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from html_demo import SCRIPT_NAME, demo_trace

import gradviz
from gradviz.viz.diagnose import Finding, Report
from gradviz.viz.draw import layout
from gradviz.viz.page.inline import InlineError, iframe_html


class _Iframes(HTMLParser):
    """The attributes of every element, by tag (what a browser would parse)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parsed(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Iframes()
    parser.feed(markup)
    return parser.tags


def page_views(iframe: str) -> list[str]:
    """The views of the page inside ``iframe``, in the order it offers them (the first opens)."""
    (_, attrs), *_ = parsed(iframe)
    found = re.search(r'id="gradviz-data">(.*?)</script>', attrs["srcdoc"])
    return list(json.loads(found.group(1))["views"])


@pytest.fixture(scope="module")
def demo():
    tr, _ = demo_trace()
    return tr


def test_iframe_holds_the_page_escaped_and_sandboxed():
    page = '<!doctype html><p title="a">x</p></iframe><script>alert(1)</script>&amp;'
    markup = iframe_html(page, 400)
    tags = parsed(markup)
    assert [tag for tag, _ in tags] == ["iframe"]  # nothing of the page leaks out of it
    attrs = tags[0][1]
    assert attrs["srcdoc"] == page  # what the browser reads back is the page, byte for byte
    assert attrs["sandbox"] == "allow-scripts"  # no allow-same-origin: an opaque origin
    assert "height: 400px" in attrs["style"]
    assert "width: 100%" in attrs["style"]


@pytest.mark.parametrize("height", [0, 100, 10_000, 500.0, True, "600"])
def test_iframe_refuses_a_bad_height(height):
    with pytest.raises(InlineError, match="height must be"):
        iframe_html("<p>", height)


def test_a_trace_displays_as_its_page(demo):
    markup = demo._repr_html_()
    assert markup.startswith('<iframe class="gradviz-page"')
    assert page_views(markup) == ["forward", "backward"]
    (_, attrs), *_ = parsed(markup)
    assert "trace.check() failed" not in attrs["srcdoc"]
    assert "unused.weight" in attrs["srcdoc"]  # a finding of the check is listed
    assert SCRIPT_NAME not in attrs["srcdoc"]  # hostile names stay escaped inside the page


def test_show_opens_on_the_view_asked_for(demo):
    shown = demo.show(view="backward", height=600)
    assert page_views(shown._repr_html_()) == ["backward", "forward"]
    assert "height: 600px" in shown.html
    assert repr(shown).startswith("InlinePage(view='backward', height=600")


def test_show_refuses_a_view_the_graph_lacks():
    x = gradviz.Variable([1.0, 2.0], requires_grad=True)
    with gradviz.trace() as tr:
        (x * 2).sum()  # no backward: there is no backward graph
    with pytest.raises(InlineError, match="view must be one of 'forward' for this graph"):
        tr.show(view="backward")
    with pytest.raises(ValueError, match="view must be one of"):
        tr.show(view="sideways")
    assert page_views(tr._repr_html_()) == ["forward"]


def test_an_empty_trace_displays_as_text():
    with gradviz.trace() as tr:
        pass
    assert tr._repr_html_() is None  # Jupyter falls back to repr()
    assert repr(tr).startswith("Trace(")


def test_a_loaded_trace_displays_as_its_page(demo, tmp_path):
    demo.save(tmp_path / "step.json")
    loaded = gradviz.load_trace(tmp_path / "step.json")
    markup = loaded.show(view="backward")._repr_html_()
    assert page_views(markup) == ["backward", "forward"]
    assert page_views(loaded._repr_html_()) == ["forward", "backward"]


def _report(*findings: Finding) -> Report:
    return Report(findings=findings, script="train.py", pass_index=2)


HOSTILE = "<script>alert(1)</script> | *x* [y](z)"


def test_a_report_displays_as_a_table_of_its_findings():
    report = _report(
        Finding("error", "gradcheck", f"backward is off ({HOSTILE})", "v3", "Cube", "", "a.py:4"),
        Finding("warning", "no_gradient", "fc.weight got no gradient", "v1", None, "fc"),
    )
    markup = report._repr_html_()
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", markup)
    assert len(rows) == 3  # the header and one row per finding
    cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[1])]
    assert cells == ["error", "Cube", "-", "a.py:4", f"backward is off ({HOSTILE})", "v3", "-"]
    assert "<script>" not in markup
    assert "gradviz check: train.py, backward call 2" in markup
    assert "1 error, 1 warning" in markup


def test_a_report_as_markdown_keeps_its_table_whole():
    report = _report(Finding("error", "gradcheck", HOSTILE, "v3", "Cube"))
    text = report._repr_markdown_()
    row = next(line for line in text.splitlines() if line.startswith("| error"))
    assert row.count(" | ") == 6  # seven cells: the | in the message is escaped
    assert "<script>" not in text
    assert "\\*x\\*" in text


def test_a_report_as_plain_text_is_the_terminal_report():
    pretty = pytest.importorskip("IPython.lib.pretty")
    report = _report(Finding("warning", "no_gradient", "fc.weight got no gradient", "v1"))
    assert pretty.pretty(report) == report.format()


def test_a_checked_report_of_a_real_step_shows_its_layers(demo):
    markup = demo.check()._repr_html_()
    assert "|grad|" in markup
    assert "fc1" in markup
    assert "Linear" in markup


def test_a_variable_displays_a_short_summary_and_keeps_its_repr():
    w = gradviz.Variable(np.array([1.0, 3.0, np.nan], np.float32), requires_grad=True, name="w")
    assert "grad None" in w._repr_html_()
    (w * 2).sum().backward()
    markup = w._repr_html_()
    assert "<b>w</b> Variable (3,) float32 · leaf · requires grad" in markup
    assert "data min 1 · mean 2 · max 3 · 1 NaN" in markup
    assert "grad min 2 · mean 2 · max 2" in markup
    assert repr(w) == "Variable([ 1.,  3., nan], name='w', requires_grad=True)"
    m = gradviz.Variable(np.ones((2, 3)), requires_grad=True)
    y = m @ gradviz.Variable(np.ones((3,)))
    assert "Variable (2,) float64 · op <b>MatMul</b> · requires grad" in y._repr_html_()
    assert "data min 3 · mean 3 · max 3" in y._repr_html_()


def test_a_variable_names_are_escaped_and_big_ones_are_sampled():
    big = gradviz.Variable(np.arange(3_000_000, dtype=np.float32), name="<b>x</b>")
    markup = big._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in markup
    assert "(sampled)" in markup
    assert "value 7" in gradviz.Variable(7.0)._repr_html_()


def test_the_variable_summary_does_not_import_the_visualizer():
    code = (
        "import sys, gradviz.autograd as ag\n"
        "ag.Variable([1.0], requires_grad=True)._repr_html_()\n"
        "print([m for m in sys.modules if m.startswith('gradviz.viz')])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_pictures_display_as_svg_without_a_system_dot(monkeypatch):
    real_which = layout.shutil.which
    monkeypatch.setattr(
        layout.shutil, "which", lambda name: None if name == "dot" else real_which(name)
    )
    assert layout.find_layout_program()[0] == "graphviz-pure"
    w = gradviz.Variable([2.0], requires_grad=True, name="w")
    drawing = gradviz.render(w * gradviz.Variable([3.0]) + 1.0, view="forward")
    bundle = drawing._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"]
    assert "<svg" in bundle["image/svg+xml"]
    assert ">w<" in bundle["image/svg+xml"]
    assert drawing._repr_svg_() == bundle["image/svg+xml"]


def test_render_marks_what_a_report_found():
    batch = gradviz.Variable(np.ones((2, 3), np.float32))
    bias = gradviz.Variable(np.zeros(3, np.float32), requires_grad=True, name="bias")
    with gradviz.trace() as tr:
        (batch + bias).sum().backward()
    plain = gradviz.render(tr, "backward")
    marked = gradviz.render(tr, "backward", report=tr.check())
    note = "broadcast: argument 1 (3,) to (2, 3), grad"  # the label's first line
    assert note not in plain.source
    assert note in marked.source


def test_a_module_displays_as_pytorchs_nested_repr():
    model = gradviz.nn.Sequential(gradviz.nn.Linear(2, 3), gradviz.nn.ReLU())
    assert repr(model) == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n)"
    )


def test_show_picks_a_pass():
    w = gradviz.Variable([1.0, 2.0], requires_grad=True, name="w")
    with gradviz.trace() as tr:
        (w * 2).sum().backward()
        (w * w).sum().backward()
    (_, first), *_ = parsed(tr.show(pass_index=1).html)
    (_, last), *_ = parsed(tr.show().html)
    assert '"pass":1' in first["srcdoc"]
    assert '"pass":2' in last["srcdoc"]


def test_source_lines_in_a_notebook_name_the_cell(monkeypatch):
    import types

    from gradviz.viz.capture.source import SourceLocator

    cell_file = "/tmp/ipykernel_4242/123456.py"
    shell = types.SimpleNamespace(compile=types.SimpleNamespace(_filename_map={cell_file: 3}))
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    locator = SourceLocator("/somewhere/else")
    assert locator.display(cell_file) == "In [3]"
    assert locator.display("/tmp/ipykernel_4242/999.py") == "In [ ]"  # a cell IPython forgot


def test_a_trace_of_many_steps_shows_its_timeline_inline():
    model = gradviz.nn.Linear(3, 1)
    opt = gradviz.optim.SGD(model.parameters(), lr=0.1)
    with gradviz.trace(detail="summary") as tr:
        for _ in range(4):
            opt.zero_grad()
            x, y = gradviz.randn(4, 3), gradviz.randn(4, 1)
            gradviz.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
    shown = tr.show("timeline", height=480)
    assert shown.view == "timeline"
    assert '<section id="tl"' in shown.page
    assert 'sandbox="allow-scripts"' in shown.html
    assert 'height="480"' in shown.html or "height: 480px" in shown.html
