"""The timeline page in a real browser (Debian's headless Chromium, as tests/test_html_page.py):
scrubbing recolours the graph, sparklines have a point per recorded step, a marked step leads to
its finding, and nothing errs or loads from the network."""

from __future__ import annotations

import pytest
from test_html_page import browser, opened  # noqa: F401  (the browser fixture)
from timeline_demo import NAN_AT, STEPS, nan_script

from gradviz.viz.capture.policy import EveryStep
from gradviz.viz.runner import run_script

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timeline-page")
    tr = run_script(nan_script(folder), policy=EveryStep())
    path = folder / "nan5.timeline.html"
    tr.render("timeline", path)
    return tr, path


@pytest.fixture
def page(browser, demo):  # noqa: F811
    page = opened(browser, demo[1])
    page.wait_for_selector("body[data-timeline]")
    yield page
    assert page.problems == []  # no console error, page error, dialog or request
    page.close()


def node_id(tr, name):
    return next(n for n, a in tr.graph.nodes(data=True) if a.get("name") == name)


def shape_fill(page, node):
    return page.evaluate(
        """(id) => {
            const shown = 'svg.graph:not([style*="none"])';
            const g = document.querySelector(`${shown} g.node[data-node="${id}"]`);
            return getComputedStyle(g.querySelector(".tl-shape")).fill;
        }""",
        node,
    )


def scrub(page, index):
    page.locator("#tl-slider").evaluate(
        "(el, i) => { el.value = String(i); el.dispatchEvent(new Event('input')); }", index
    )


def step(page):
    return int(page.get_attribute("body", "data-tl-step"))


def test_opens_at_the_last_step_with_the_full_node_panel(page):
    assert step(page) == STEPS
    assert page.locator("#tl-slider").get_attribute("max") == str(STEPS - 1)
    assert page.locator("#info").is_visible()
    assert page.locator("#tl-heat").get_attribute("data-metric") == "grad_norm"
    names = page.locator("#tl-names .tl-name:not(.tl-loss-name)").all_inner_texts()
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert "loss (log)" in page.locator(".tl-loss-name").inner_text()


def test_scrubbing_recolours_the_graph(page, demo):
    tr, _ = demo
    weight = node_id(tr, "0.weight")
    last = shape_fill(page, weight)
    scrub(page, 0)
    assert step(page) == 1
    first = shape_fill(page, weight)
    assert first != last
    assert first.startswith("rgb(")
    page.locator("#stage").focus()
    page.keyboard.press("ArrowRight")
    assert step(page) == 2
    page.keyboard.press("ArrowLeft")
    assert step(page) == 1
    assert shape_fill(page, weight) == first
    box = page.locator("#tl-heat").bounding_box()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + 3)  # the heatmap's last column
    assert step(page) == STEPS
    assert shape_fill(page, weight) == last


def test_the_switch_colours_by_update_ratio_and_dims_nodes_without_one(page, demo):
    tr, _ = demo
    weight = node_id(tr, "0.weight")
    before = shape_fill(page, weight)
    page.click("#tl-ratio")
    assert page.locator("#tl-heat").get_attribute("data-metric") == "update_ratio"
    assert page.locator("#tl-ratio").get_attribute("class") == "on"
    assert shape_fill(page, weight) != before
    relu = next(n for n, a in tr.graph.nodes(data=True) if a.get("op") == "Relu")
    assert "tl-none" in page.locator(f'svg.view-forward g.node[data-node="{relu}"]').get_attribute(
        "class"
    )


def test_a_node_has_a_sparkline_point_per_recorded_step(page, demo):
    tr, _ = demo
    page.click(f'svg.view-forward g.node[data-node="{node_id(tr, "0.weight")}"]')
    assert page.locator("#tl-node-name").inner_text() == "0.weight"
    counts = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("svg.tl-spark")].map((s) => [
            s.dataset.column,
            [[...s.querySelectorAll("polyline")].reduce((n, p) => n + p.points.numberOfItems, 0),
             s.querySelectorAll("circle.bad").length],
        ]))"""
    )
    assert set(counts) >= {"value_norm", "value_mean", "value_std", "grad_norm", "update_ratio"}
    assert counts["value_norm"] == [STEPS, 1]  # the weight stayed finite; its step is marked
    assert counts["grad_norm"] == [STEPS - 1, 1]  # step 5's gradient was all NaN: a red dot
    assert all(sum(c) >= STEPS for c in counts.values())


def test_a_marked_step_leads_to_its_finding_and_node(page):
    marks = page.locator(".tl-mark")
    assert marks.count() == 1
    assert marks.get_attribute("data-step") == str(NAN_AT)
    assert "value of input has 1 NaN" in marks.get_attribute("title")
    marks.click()
    assert step(page) == NAN_AT
    finding = page.locator("#findings-list li.tl-current")
    text = f"step {NAN_AT}: value of input has 1 NaN (and 4 more nodes)"
    assert finding.inner_text().endswith(text)
    assert page.locator("#tl-node-name").inner_text() == "input"
    selected = page.locator("svg.graph:visible g.node.sel")
    assert "tl-bad" in selected.get_attribute("class")
    assert "NaN" in page.locator("#tl-status").inner_text()
    assert not page.locator("#info").is_visible()  # a summary step: no full panel
    page.click("#tl-to-full")
    assert step(page) == STEPS
    assert page.locator("#info").is_visible()


ONE_STEP = """
import gradviz
from gradviz import nn, optim

gradviz.manual_seed(0)
model = nn.Linear(3, 1)
opt = optim.SGD(model.parameters(), lr=0.1)
x, y = gradviz.randn(8, 3), gradviz.randn(8, 1)
opt.zero_grad()
loss = nn.functional.mse_loss(model(x), y)
loss.backward()
opt.step()
"""


def test_a_one_step_timeline_draws_its_loss_and_statistics_as_dots(browser, tmp_path):  # noqa: F811
    script = tmp_path / "one.py"
    script.write_text(ONE_STEP, encoding="utf-8")
    tr = run_script(script, policy=EveryStep())
    path = tmp_path / "one.timeline.html"
    tr.render("timeline", path)
    page = opened(browser, path)
    page.wait_for_selector("body[data-timeline]")
    dot = page.locator("#tl-loss circle.tl-dot")
    assert dot.count() == 1  # one point makes no line: a dot
    assert page.locator("#tl-loss polyline").count() == 0
    assert page.evaluate("getComputedStyle(document.querySelector('#tl-loss .tl-dot')).fill") == (
        "rgb(46, 125, 50)"
    )
    page.click(f'svg.view-forward g.node[data-node="{node_id(tr, "weight")}"]')
    dots = page.locator("svg.tl-spark[data-column='value_norm'] circle.tl-dot")
    assert dots.count() == 1
    assert page.problems == []
    page.close()
