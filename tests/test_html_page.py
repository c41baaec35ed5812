"""The interactive page in a real browser: Debian's /usr/bin/chromium, headless, driven by
Python Playwright (never a browser Playwright downloads itself). .ci/run installs chromium.

Each test opens the page of a tiny traced step (tests/html_demo.py) from a file:// URL.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import CHROMIUM, EXAMPLES, chromium
from html_demo import IMG_NAME, SCRIPT_NAME, demo_trace, node_named

from gradviz.viz.draw.style import MARK_FILL
from gradviz.viz.page.html import write_html
from gradviz.viz.runner import run_script
from gradviz.viz.trace import write_page

pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does)",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api", reason="pip install playwright")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tr, _ = demo_trace()
    path = tmp_path_factory.mktemp("page") / "demo.html"
    write_page(tr, path)
    return tr, path


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module, with a fresh profile."""
    with chromium(1280, 800) as context:
        yield context


@pytest.fixture(scope="module")
def buggy(tmp_path_factory):
    """The page of examples/buggy_layer.py's first step, diagnosed by ``trace.check()``."""
    tr = run_script(EXAMPLES / "buggy_layer.py")
    path = tmp_path_factory.mktemp("page") / "buggy_layer.html"
    write_page(tr, path)
    return tr, path


def opened(browser, path: Path):
    """A page loaded from ``path``; ``page.problems`` collects console errors, page errors,
    dialogs and requests that left the file."""
    page = browser.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on(
        "request",
        lambda r: problems.append(f"request: {r.url}") if not r.url.startswith("file:") else None,
    )
    page.problems = problems
    page.goto(Path(path).as_uri())
    page.wait_for_selector("body[data-ready]")
    return page


@pytest.fixture
def page(browser, demo):
    """The demo page, loaded (see :func:`opened`)."""
    page = opened(browser, demo[1])
    yield page
    page.close()


def node(page, node_id: str, view: str = "forward"):
    return page.locator(f'svg.view-{view}:visible g.node[data-node="{node_id}"]')


def test_loads_from_a_file_url_without_errors(page, demo):
    tr, _ = demo
    assert page.url.startswith("file://")
    assert page.title() == "gradviz · training step"
    assert page.locator("svg.view-forward").count() == 1
    shown = page.locator("svg.view-forward:visible g.node:not(.inert)").count()
    assert shown == tr.graph.number_of_nodes()
    assert page.problems == []


def test_clicking_a_node_shows_its_statistics(page, demo):
    tr, _ = demo
    w = node_named(tr.graph, "fc1.weight")
    node(page, w).click()
    assert page.locator("#info-name").text_content() == "fc1.weight"
    panel = page.locator("#info-body").inner_text()
    value, grad = tr.graph.nodes[w]["value"], tr.graph.nodes[w]["grad"]
    assert "fc1 (Linear)" in panel
    assert f"{value['norm']:.4g}" in panel
    assert f"{grad['norm']:.4g}" in panel
    assert "values (12 elements)" in panel  # histograms, arrays were kept
    assert "gradient (12 elements)" in panel
    assert page.locator("#info-body svg.hist rect").count() > 2
    # its counterpart is highlighted in the backward graph
    assert "sel" in node(page, w).get_attribute("class")
    page.click("#btn-backward")
    assert "sel" in node(page, w, "backward").get_attribute("class")
    assert page.problems == []


def test_replay_walks_every_step_in_backward_order(page, demo):
    tr, _ = demo
    page.click("#btn-backward")
    slider = page.locator("#rp-slider")
    assert slider.get_attribute("max") == str(len(tr.steps))
    h = node_named(tr.graph, SCRIPT_NAME)  # fed by two ops: partial in between
    lit, partial_at = [], []
    for k in range(len(tr.steps) + 1):
        slider.evaluate(
            "(el, k) => { el.value = String(k); el.dispatchEvent(new Event('input')); }", k
        )
        current = page.locator("svg.view-backward:visible g.node.r-current")
        if k == 0:
            assert current.count() == 0
            assert page.locator("svg.view-backward:visible g.node.r-none").count() > 3
            continue
        assert current.count() == 1
        lit.append(current.get_attribute("data-node"))
        if "r-partial" in node(page, h, "backward").get_attribute("class"):
            partial_at.append(k)
    assert lit == [s.node for s in tr.steps]
    consumers = sorted(tr.graph.nodes[c]["step"] for c in tr.graph.successors(h))
    assert partial_at == list(range(consumers[0], consumers[1]))
    # the last step accumulates into a parameter's .grad
    assert ".grad" in page.locator("#rp-status").text_content()
    assert "r-leaf" in page.locator("g.node.r-current").get_attribute("class")
    # arrow keys step back and forth
    page.locator("#stage").focus()
    page.keyboard.press("ArrowLeft")
    assert page.locator("g.node.r-current").get_attribute("data-node") == tr.steps[-2].node
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    assert page.locator("g.node.r-current").get_attribute("data-node") == tr.steps[0].node
    assert page.locator("#rp-label").text_content() == f"step 1 / {len(tr.steps)}"
    assert page.problems == []


def test_play_advances_and_pauses(page, demo):
    tr, _ = demo
    page.clock.install()  # a fake clock: the test drives time, it never sleeps
    page.click("#rp-play")
    step = page.locator("body")
    assert step.get_attribute("data-step") == "0"
    for _ in range(100):
        page.clock.run_for(100)
        if step.get_attribute("data-step") == "2":
            break
    assert step.get_attribute("data-step") == "2"
    page.click("#rp-play")  # pause
    page.clock.run_for(60_000)
    assert step.get_attribute("data-step") == "2"
    lit = page.locator("svg.view-backward:visible g.node.r-current").get_attribute("data-node")
    assert lit == tr.steps[1].node


def test_search_finds_and_selects_a_node(page):
    page.fill("#search", "bias")
    assert page.locator("#search-count").text_content() == "3 matches"
    assert page.locator("svg.view-forward:visible g.node.match").count() == 3
    page.press("#search", "Enter")
    assert page.locator("#info-name").text_content().endswith(".bias")
    page.fill("#search", "MseLoss")
    assert page.locator("#search-count").text_content() == "1 match"
    page.fill("#search", "")
    assert page.locator("g.node.match").count() == 0


def test_hostile_names_show_as_text_and_run_nothing(page):
    page.fill("#search", "window.__pwned")
    assert page.locator("#search-count").text_content() == "2 matches"
    page.press("#search", "Enter")
    assert page.locator("#info-name").text_content() == SCRIPT_NAME
    page.press("#search", "Enter")
    assert page.locator("#info-name").text_content() == IMG_NAME
    page.click("#btn-backward")
    page.keyboard.press("End")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#side img, #side script, #replay script").count() == 0
    assert page.problems == []  # no dialog opened, nothing requested


def test_findings_pan_zoom_and_fit(page):
    findings = page.locator("#findings-list li.clickable")
    assert findings.count() >= 2  # unused.weight and unused.bias: gradient exactly zero
    findings.first.click()
    assert page.locator("#info-name").text_content().startswith("unused.")
    svg = page.locator("svg.view-forward:visible")
    before = svg.evaluate("s => s.style.transform")
    page.mouse.move(400, 400)
    page.mouse.wheel(0, -400)
    zoomed = svg.evaluate("s => s.style.transform")
    assert zoomed != before
    page.mouse.move(300, 300)
    page.mouse.down()
    page.mouse.move(380, 340, steps=4)
    page.mouse.up()
    assert svg.evaluate("s => s.style.transform") != zoomed
    page.click("#fit")
    assert page.problems == []


def test_clicking_the_failed_gradient_check_selects_its_op(browser, buggy):
    tr, path = buggy
    dense = next(n for n, a in tr.graph.nodes(data=True) if a.get("op") == "DenseFunction")
    page = opened(browser, path)
    page.click("#btn-backward")
    shape = node(page, dense, "backward").locator("polygon").first
    assert shape.get_attribute("fill") == MARK_FILL  # dark red, as gradviz check draws it
    finding = page.locator("#findings-list li.clickable.sev-error")
    assert finding.count() == 1
    text = finding.text_content()
    assert text.startswith("error DenseFunction: backward disagrees")
    assert f" {tr.graph.nodes[dense]['source']}try: compare your backward" in text
    assert page.locator("#info-name").count() == 0  # nothing selected yet
    finding.click()
    assert page.locator("#info-name").text_content() == "DenseFunction"
    assert page.locator("#info-body .nid").text_content() == dense
    assert "sel" in node(page, dense, "backward").get_attribute("class")
    assert page.problems == []
    page.close()


def test_a_collapsed_module_expands_on_double_click(browser, tmp_path):
    tr, _ = demo_trace()
    path = tmp_path / "collapsed.html"
    write_html(tr, path, depth=0)  # each module drawn as one box
    page = browser.new_page()
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready]")
    groups = page.locator("svg.view-forward:visible g.node.group")
    assert groups.count() == 4  # and the loss module, MSELoss
    fc1 = node_named(tr.graph, "fc1.weight")
    assert node(page, fc1).count() == 0
    box = groups.filter(has_text="fc1")
    box.click()
    assert page.locator("#info-body .name").first.text_content() == "fc1"
    box.dblclick()
    assert page.locator("svg.view-forward:visible g.node.group").count() == 0
    assert node(page, fc1).count() == 1
    assert "sel" in node(page, fc1).get_attribute("class")  # the module's members stay marked
    page.close()


def test_a_step_without_modules_offers_no_depth_to_choose(browser, tmp_path):
    import gradviz

    w = gradviz.randn(3, requires_grad=True)
    with gradviz.trace() as tr:
        (w * 2).sum().backward()
    path = tmp_path / "flat.html"
    write_page(tr, path)
    page = opened(browser, path)
    depth = page.locator("#depth")
    assert depth.is_disabled()
    shown = page.locator("svg.view-forward:visible g.node:not(.inert)").count()
    assert depth.locator("option").all_text_contents() == [f"{shown} boxes"]
    assert page.problems == []
    page.close()
