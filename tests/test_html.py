"""viz/html.py on data: the page is one safe, self-contained file holding the graphs and the
trace (the browser tests in test_html_page.py drive it in Chromium)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from html.parser import HTMLParser

import networkx as nx
import pytest
from helpers import EXAMPLES, line_of
from html_demo import IMG_NAME, SCRIPT_NAME, demo_trace, node_named

import gradviz
from gradviz import nn
from gradviz.viz.draw import style
from gradviz.viz.draw.render import RenderError
from gradviz.viz.page import html as H
from gradviz.viz.page.svg import inline_svg
from gradviz.viz.runner import run_script
from gradviz.viz.trace import page_diagnosis, write_page


def diagnosed(obj, html=False, **options):
    """The page of ``obj`` with what its check found (as ``write_page`` makes it)."""
    data, svgs, program = H.page_data(obj, report=page_diagnosis(obj), **options)
    return (H.page_html(data, svgs), data, program) if html else (data, svgs, program)


@pytest.fixture(scope="module")
def demo():
    tr, _ = demo_trace()
    return tr


def markup(page: str) -> list[tuple[str, list[str]]]:
    """(tag, attribute names) of every start tag, as a browser's parser sees them."""
    tags: list[tuple[str, list[str]]] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append((tag, [name for name, _ in attrs]))

    Parser().feed(page)
    return tags


def embedded(page: str) -> dict:
    """The JSON data block of a page, parsed strictly (no NaN/Infinity extensions)."""
    match = re.search(
        r'<script type="application/json" id="gradviz-data">(.*?)</script>', page, re.S
    )
    assert match, "no data block"

    def reject(word):
        raise AssertionError(f"bare {word} in the data: JSON.parse would reject it")

    return json.loads(match.group(1), parse_constant=reject)


def test_one_self_contained_file(demo, tmp_path):
    result = write_page(demo, tmp_path / "step.html")
    assert [p.name for p in tmp_path.iterdir()] == ["step.html"]  # no temp files left
    page = (tmp_path / "step.html").read_text(encoding="utf-8")
    assert result.size == len(page.encode("utf-8"))
    assert result.views == ("forward", "backward")
    assert page.startswith("<!doctype html>")
    # nothing to fetch or run: no src/href attributes, no URLs but the SVG namespaces
    tags = markup(page)
    assert not {name for _, attrs in tags for name in attrs} & {"src", "href", "xlink:href"}
    assert not {tag for tag, _ in tags} & {"img", "iframe", "object", "embed", "link"}
    assert [tag for tag, _ in tags].count("script") == 2  # the data block and the viewer
    assert not re.search(r"https?://(?!www\.w3\.org/)", page)
    assert "<?xml" not in page
    assert "<!DOCTYPE svg" not in page
    data = embedded(page)
    assert [v["default"] for v in data["views"]["forward"]].count(True) == 1
    svgs = re.findall(r'<template id="gv-svg-(\d+)"><svg', page)
    assert len(svgs) == result.variants == sum(len(v) for v in data["views"].values())


def test_csp_admits_only_the_pages_own_script(demo):
    page, _, _ = diagnosed(demo, html=True)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp


def test_hostile_names_never_reach_markup(demo):
    page, _, _ = diagnosed(demo, html=True)
    for raw in ("</script><script>", "<script>window", "<img src=x", 'onerror="'):
        assert raw not in page
    block = page[page.index('id="gradviz-data">') : page.index("</script>")]
    assert "\u2028" not in block  # a line terminator JavaScript would choke on
    data = embedded(page)
    names = {n.get("name") for n in data["nodes"]}
    assert SCRIPT_NAME in names
    assert IMG_NAME in names


def test_json_for_script_escapes_what_could_end_or_confuse_the_block():
    text = H.json_for_script({"a": "</script>&<!--\u2028\u2029"})
    assert not set("<>&") & set(text)
    assert "\u2028" not in text
    assert "\u2029" not in text
    assert json.loads(text) == {"a": "</script>&<!--\u2028\u2029"}


def test_nodes_steps_and_histograms(demo):
    data, svgs, program = diagnosed(demo)
    assert program in ("dot", "graphviz-pure")
    assert [s[0] for s in data["steps"]] == [s.node for s in demo.steps]
    nodes = {n["id"]: n for n in data["nodes"]}
    w = nodes[node_named(demo.graph, "fc1.weight")]
    assert w["kind"] == "param"
    assert w["module"] == "fc1"
    assert w["shape"] == [4, 3]
    assert w["step"] == demo.graph.nodes[w["id"]]["step"]
    assert sum(w["hv"]["counts"]) == 12 == sum(w["hg"]["counts"]) == w["hv"]["n"]
    assert w["hv"]["lo"] <= w["value"]["mean"] <= w["hv"]["hi"]
    h = nodes[node_named(demo.graph, SCRIPT_NAME)]
    assert h["acc"] is True
    assert len(h["parents"]) == 1
    # every drawn node of every picture is a graph node, a collapsed module or the legend
    titles = set()
    for svg in svgs:
        titles |= set(re.findall(r'class="node">\s*<title>([^<]*)</title>', svg))
    stood = {k for v in data["views"].values() for x in v for k in x["stands"]}
    assert titles <= set(nodes) | stood | {"legend"}


def test_findings_fall_back_to_what_the_graph_shows(demo):
    data, _, _ = H.page_data(demo)
    assert data["findingsSource"] == "basic"
    texts = [f["text"] for f in data["findings"]]
    assert "unused.weight has a gradient of exactly zero" in texts
    assert all(f["node"] in {n["id"] for n in data["nodes"]} for f in data["findings"])


def drawn_node(svg: str, node_id: str) -> str:
    """The markup Graphviz wrote for one node of an SVG (empty when it is not drawn)."""
    match = re.search(
        rf'class="node">\s*<title>{node_id}</title>(.*?)(?=<g id="(?:node|edge|clust)|</svg>)',
        svg,
        re.S,
    )
    return match.group(1) if match else ""


def default_svg(data: dict, svgs: list[str], view: str) -> str:
    return svgs[next(v["svg"] for v in data["views"][view] if v["default"])]


def test_buggy_layer_page_lists_and_marks_the_failed_gradient_check():
    tr = run_script(EXAMPLES / "buggy_layer.py")
    data, svgs, _ = diagnosed(tr)
    assert data["findingsSource"] == "check"
    dense = next(n["id"] for n in data["nodes"] if n.get("op") == "DenseFunction")
    first = data["findings"][0]
    assert first["severity"] == "error"
    assert first["kind"] == "gradcheck"
    assert first["node"] == dense
    assert first["source"] == line_of("buggy_layer", "DenseFunction.apply(")
    assert first["text"].startswith("DenseFunction: backward disagrees with finite differences")
    assert "2.weight" in first["text"]
    # the pictures carry the marks, as gradviz check's do: dark red, the finding in bold
    for view in ("backward", "forward"):
        drawn = drawn_node(default_svg(data, svgs, view), dense)
        assert f'fill="{style.MARK_FILL}"' in drawn
        assert "gradcheck FAILED: rel. error 0.969" in drawn
    weight = next(n["id"] for n in data["nodes"] if n.get("name") == "2.weight")
    assert "wrong gradient from" in drawn_node(default_svg(data, svgs, "backward"), weight)
    assert "check failed" in default_svg(data, svgs, "backward")  # the legend row
    # without the check: the basic findings and no marks
    plain, plain_svgs, _ = H.page_data(tr)
    assert plain["findingsSource"] == "basic"
    assert style.MARK_FILL not in drawn_node(default_svg(plain, plain_svgs, "backward"), dense)


def test_a_finding_about_a_detached_parameter_can_be_clicked():
    tr = run_script(EXAMPLES / "detached.py")
    data, _, _ = diagnosed(tr)
    cut = [f for f in data["findings"] if f["kind"] == "no_gradient"]
    assert cut
    # pictures_graph adds what detach() cut off, so the page has the node the finding names
    assert {f["node"] for f in cut} <= {n["id"] for n in data["nodes"]}


def test_a_failing_check_is_said_in_the_panel(demo, monkeypatch):
    def broken(pass_index=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(demo, "check", broken)
    data, svgs, _ = diagnosed(demo)
    assert data["findingsSource"] == "check-failed"
    assert data["findings"][-1] == {
        "severity": "info",
        "text": "trace.check() failed: boom",
        "node": None,
    }
    texts = [f["text"] for f in data["findings"]]
    assert "unused.weight has a gradient of exactly zero" in texts  # the basics still show
    assert all(style.MARK_FILL not in svg for svg in svgs)


def test_non_finite_numbers_are_strings(demo):
    graph = demo.graph.copy()
    w = node_named(graph, "fc2.weight")
    graph.nodes[w]["update"] = {"norm": 1.0, "ratio": math.inf}
    graph.nodes[w]["value"] = {**graph.nodes[w]["value"], "mean": -math.inf, "std": math.nan}
    data, _, _ = H.page_data(graph)
    node = next(n for n in data["nodes"] if n["id"] == w)
    assert node["update"]["ratio"] == "Infinity"
    assert node["value"]["mean"] == "-Infinity"
    assert node["value"]["std"] == "NaN"
    json.dumps(data, allow_nan=False)


def test_trace_render_html_loaded_trace_and_bare_graph(demo, tmp_path):
    demo.render("html", tmp_path / "a.html")
    demo.save(tmp_path / "t.json")
    write_page(gradviz.load_trace(tmp_path / "t.json"), tmp_path / "b.html")
    write_page(demo.graph, tmp_path / "c.html")
    steps = [embedded(p.read_text())["steps"] for p in sorted(tmp_path.glob("*.html"))]
    assert steps[0] == steps[1] == steps[2]
    assert len(steps[0]) == len(demo.steps)


def test_forward_only_trace_has_one_view(tmp_path):
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    with gradviz.trace() as tr:
        net(gradviz.Variable([[1.0, 2.0]]))
    result = write_page(tr, tmp_path / "f.html")
    assert result.views == ("forward",)
    data = embedded((tmp_path / "f.html").read_text())
    assert data["findingsSource"] == "basic"  # trace.check() needs a backward pass
    assert data["steps"] == []
    assert data["root"] is None


def test_nested_modules_embed_one_picture_per_depth():
    block = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    net = nn.Sequential(block, nn.Sequential(nn.Linear(4, 4), nn.ReLU()), nn.Linear(4, 1))
    with gradviz.trace() as tr:
        net(gradviz.Variable([[1.0, 2.0, 3.0, 4.0]])).sum().backward()
    data, svgs, _ = diagnosed(tr)
    depths = [v["depth"] for v in data["views"]["backward"]]
    assert depths == [0, 1, None]  # collapsed, one level, everything
    assert next(v for v in data["views"]["backward"] if v["default"])["depth"] is None
    shallow = data["views"]["backward"][0]
    assert set(shallow["groups"].values()) == {"0", "1", "2"}
    assert all(len(shallow["stands"][g]) > 1 for g in shallow["groups"])
    assert len(svgs) == 6
    small, _, _ = diagnosed(tr, depth=1)
    assert next(v for v in small["views"]["forward"] if v["default"])["depth"] == 1


def test_page_budget_shows_a_collapsed_picture_first(monkeypatch):
    monkeypatch.setattr(H, "PAGE_BUDGET", 1)  # nothing fits: the fewest boxes first
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    with gradviz.trace() as tr:
        net(gradviz.Variable([[1.0, 2.0]])).sum().backward()
    data, _, _ = diagnosed(tr)
    views = data["views"]["forward"]
    assert [v["depth"] for v in views] == [0, None]
    assert views[0]["default"]
    assert not views[1]["default"]


def test_not_a_trace_is_an_error(tmp_path):
    with pytest.raises(RenderError, match="Trace or a trace graph"):
        H.write_html(42, tmp_path / "x.html")
    assert not list(tmp_path.iterdir())


def test_an_svg_that_could_run_script_is_refused():
    with pytest.raises(RenderError, match="refusing"):
        inline_svg(b"<svg><script>alert(1)</script></svg>")
    assert inline_svg(b"<?xml?>\n<!-- c -->\n<svg><g/></svg>") == "<svg><g/></svg>"


def test_empty_graph_still_writes_a_page(tmp_path):
    result = H.write_html(nx.DiGraph(), tmp_path / "e.html")
    assert result.views == ("forward",)


def test_a_note_both_views_share_is_said_once():
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    with gradviz.trace() as tr:
        net(gradviz.Variable([[1.0, 2.0]])).sum().backward()
    data, _, _ = H.page_data(tr, max_nodes=3)  # both views over the budget
    assert len(data["notes"]) == 1
    assert data["notes"][0].startswith("the graph has 4 ops")


@pytest.mark.parametrize(
    "svg",
    [
        b'<svg xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="javascript:x()"/></svg>',
        b'<svg><a href="https://example.com"/></svg>',
        b'<svg><g onclick="x()"/></svg>',
        b'<svg><foreignObject><div xmlns="http://www.w3.org/1999/xhtml"/></foreignObject></svg>',
        b"<svg><SCRIPT>x()</SCRIPT></svg>",
        b"<svg><g>not closed</svg>",
    ],
)
def test_markup_that_runs_or_loads_is_refused(svg):
    with pytest.raises(RenderError, match="refusing"):
        inline_svg(svg)


def test_names_that_look_like_markup_are_embedded(tmp_path):
    w = gradviz.Variable([[1.0, 2.0]], requires_grad=True, name="href=x <script>")
    with gradviz.trace() as tr:
        (w * 2).sum().backward()
    page = write_page(tr, tmp_path / "p.html")
    text = page.path.read_text()
    assert "href=x &lt;script&gt;" in text
    assert "href=x <script>" not in text


def test_the_page_runs_no_diagnosis_itself(demo, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the page must not run trace.check()")

    monkeypatch.setattr(demo, "check", forbidden)
    data, _, _ = H.page_data(demo)  # no report given: the basics only
    assert data["findingsSource"] == "basic"
