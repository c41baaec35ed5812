"""The tutorial notebook (examples/autograd_seen.ipynb) executed in a real Jupyter kernel, and
its inline page driven in a real headless Chromium inside a notebook-like host page.

The kernel is ipykernel's ``python3`` with this checkout first on ``PYTHONPATH``, so it imports
the gradviz under test. The browser is Debian's /usr/bin/chromium through Playwright, as in
tests/test_html_page.py.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest
from helpers import EXAMPLES, chromium

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]'")

NOTEBOOK = EXAMPLES / "autograd_seen.ipynb"
ROOT = Path(__file__).resolve().parent.parent
HOST = "http://notebook.invalid/"


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in code_cells(nb):
        assert cell.outputs == [], f"outputs committed in cell {cell.id}"
        assert cell.execution_count is None, f"execution count committed in cell {cell.id}"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook, run top to bottom in a fresh kernel (a cell that raises fails here)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("notebook"))}},
    )
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    client.execute(env={**os.environ, "PYTHONPATH": path, "JUPYTER_PLATFORM_DIRS": "1"})
    return nb


def results(nb, ends_with: str) -> list[dict]:
    """The rich outputs (mime type -> data) of the code cells whose source ends with
    ``ends_with``."""
    found = [
        o.data
        for c in code_cells(nb)
        if c.source.rstrip().endswith(ends_with)
        for o in c.outputs
        if o.output_type in ("execute_result", "display_data")
    ]
    assert found, f"no cell ending with {ends_with!r} showed anything"
    return found


@pytest.mark.slow
def test_the_notebook_runs_in_a_real_kernel_without_errors(executed):
    kernel = executed.metadata.get("language_info", {}).get("name")
    assert kernel == "python"
    for cell in code_cells(executed):
        assert cell.execution_count is not None
        assert not [o for o in cell.outputs if o.output_type == "error"]
    text = "".join(
        o.text for c in code_cells(executed) for o in c.outputs if o.output_type == "stream"
    )
    assert "by engine:  {'w': 6.0, 'b': 3.0}" in text
    assert "bias.grad = Variable([2., 2., 2.])" in text
    assert "GradcheckError" not in text
    assert "gradcheck: Jacobian mismatch" in text
    assert re.search(r"learned: weight 3\.0\d+, bias 0\.5\d+", text)


@pytest.mark.slow
def test_a_trace_shows_as_the_inline_page(executed):
    shown = ("\ntr", 'tr.show(view="backward")', "height=520)")
    for data in [d for end in shown for d in results(executed, end)]:
        page = data["text/html"]
        assert page.startswith('<iframe class="gradviz-page"')
        assert 'sandbox="allow-scripts"' in page
        assert "srcdoc=" in page
        assert "gradviz-data" in page
        assert data["text/plain"].startswith(("Trace(", "InlinePage("))


@pytest.mark.slow
def test_pictures_are_svg_and_reports_are_tables(executed):
    for cell_end in ('view="forward")', "report=tr.check())", "report=report)"):
        for data in results(executed, cell_end):
            assert "<svg" in data["image/svg+xml"]
    (report,) = results(executed, "\nreport")
    assert "<table" in report["text/html"]
    assert "Cube" in report["text/html"]
    assert "FAILED" in report["text/html"]
    assert report["text/plain"].startswith("gradviz check:")  # the terminal's text
    assert "| error | Cube |" in report["text/markdown"]
    (variable,) = results(executed, "\nw")
    assert 'class="gradviz-variable"' in variable["text/html"]
    assert variable["text/plain"] == "Variable([2.], name='w', requires_grad=True)"


# ------------------------------------------------------------------------------ browser
def host_page(iframe: str) -> str:
    """A page laid out like a notebook, with ``iframe`` as a cell's output."""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>notebook</title>
<style>
body {{ font-family: sans-serif; margin: 0; background: #fafafa; }}
.cell {{ margin: 12px 24px; display: grid; grid-template-columns: 70px 1fr; row-gap: 6px; }}
.prompt {{ color: #303f9f; font: 13px monospace; padding-top: 6px; }}
.prompt.out {{ color: #d84315; }}
.input {{ background: #f5f5f5; border: 1px solid #e0e0e0; padding: 6px 8px; margin: 0;
  font: 13px monospace; }}
.output {{ background: #fff; }}
</style></head>
<body>
<div class="cell">
  <div class="prompt">In [12]:</div>
  <pre class="input">tr.show(view="backward", height=520)</pre>
  <div class="prompt out">Out[12]:</div>
  <div class="output">{iframe}</div>
</div>
</body></html>"""


def page_data_of(iframe: str) -> dict:
    """The trace data the page embeds, read back from the iframe's markup."""
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', iframe).group(1))
    found = re.search(r'<script type="application/json" id="gradviz-data">(.*?)</script>', srcdoc)
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def browser():
    with chromium(1100, 720) as context:
        yield context


@pytest.fixture
def notebook_page(browser, executed):
    """The host page with the training step's inline page (the notebook's last page) as an
    output; every request is answered by the test (the host page) or refused and recorded."""
    (data,) = results(executed, "height=520)")
    iframe = data["text/html"]
    page = browser.new_page()
    requests: list[str] = []
    problems: list[str] = []

    def answer(route):
        requests.append(route.request.url)
        if route.request.url == HOST:
            route.fulfill(status=200, content_type="text/html", body=host_page(iframe))
        else:
            route.abort()

    page.route("**/*", answer)
    page.on("request", lambda r: requests.append(r.url) if r.url != HOST else None)
    page.on(
        "console",
        lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else 0,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(HOST)
    frame = page.frame_locator("iframe.gradviz-page")
    frame.locator("body[data-ready]").wait_for()
    yield page, frame, page_data_of(iframe), requests, problems
    page.close()


@pytest.mark.slow
@pytest.mark.browser
def test_the_inline_page_works_inside_a_notebook_output(notebook_page):
    page, frame, data, requests, problems = notebook_page
    box = page.locator("iframe.gradviz-page").bounding_box()
    assert box["height"] == 520
    assert box["width"] > 900
    assert frame.locator("body").get_attribute("data-view") == "backward"
    weight = next(n for n in data["nodes"] if n.get("name") == "fc.weight")
    frame.locator(f'svg.view-backward:visible g.node[data-node="{weight["id"]}"]').click()
    assert frame.locator("#info-name").text_content() == "fc.weight"
    panel = frame.locator("#info-body").inner_text()
    assert "fc (Linear)" in panel
    assert f"{weight['value']['norm']:.4g}" in panel
    assert f"{weight['grad']['norm']:.4g}" in panel
    assert frame.locator("#info-body svg.hist").count() == 2  # value and gradient histograms
    assert problems == []
    assert requests == [HOST]  # the page itself loaded nothing


@pytest.mark.slow
@pytest.mark.browser
def test_the_inline_page_cannot_reach_the_notebook(notebook_page):
    page, frame, _, requests, problems = notebook_page
    page.evaluate("window.__secret = 42")
    # the sandbox gives the page an opaque origin: the host's globals and storage are out of reach
    assert (
        frame.locator("body").evaluate(
            "() => { try { return parent.__secret } catch (e) { return 'blocked' } }"
        )
        == "blocked"
    )
    assert frame.locator("body").evaluate("() => origin") == "null"
    assert problems == []
    assert requests == [HOST]
