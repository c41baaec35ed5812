"""Values that are pictures, in a real browser (the harness of tests/test_html_page.py): the page
of a small CNN shows a convolution's channels and its kernels' gradient as filter grids (of a 3-d
CNN, the first depth slice of each, labelled so), the page
of a small causal attention shows its softmax weights as per-head heatmaps with the mask visible,
each with its colour scale, and no console error."""

from __future__ import annotations

import numpy as np
import pytest
import test_html_page as harness

import gradviz
import gradviz.nn.functional as F
from gradviz import nn, optim
from gradviz.viz.trace import write_page

pytestmark = pytest.mark.browser

browser = harness.browser  # one Chromium for this module
VIRIDIS_LOW = [68, 1, 84]  # the colour of the smallest value on a sequential scale
T, HEADS, WIDTH = 8, 2, 8


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, WIDTH)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.out = nn.Linear(WIDTH, 5)

    def forward(self, tokens):
        n = tokens.shape[0]
        q, k, v = self.qkv(self.embed(tokens)).split(WIDTH, dim=2)
        q, k, v = (z.reshape(n, T, HEADS, WIDTH // HEADS).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(n, T, WIDTH))


def step_page(path, model, x, target, loss_fn):
    gradviz.manual_seed(0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with gradviz.trace(arrays=True) as tr:
        loss_fn(model(x), target).backward()
        opt.step()
    write_page(tr, path)
    return tr


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    gradviz.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 3)
    )
    x = gradviz.tensor(np.random.default_rng(0).standard_normal((2, 1, 6, 6)), dtype="float32")
    path = tmp_path_factory.mktemp("page") / "cnn.html"
    return step_page(path, model, x, np.array([0, 2]), F.cross_entropy), path


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    gradviz.manual_seed(0)
    model = nn.Sequential(
        nn.Conv3d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2), nn.Flatten(), nn.Linear(72, 3)
    )
    x = gradviz.tensor(np.random.default_rng(0).standard_normal((2, 1, 4, 6, 6)), dtype="float32")
    path = tmp_path_factory.mktemp("page") / "video.html"
    return step_page(path, model, x, np.array([0, 2]), F.cross_entropy), path


@pytest.fixture(scope="module")
def attention(tmp_path_factory):
    gradviz.manual_seed(0)
    tokens = np.random.default_rng(0).integers(0, 5, (2, T))
    path = tmp_path_factory.mktemp("page") / "attention.html"

    def loss(logits, target):
        return F.cross_entropy(logits.reshape(-1, 5), target.reshape(-1))

    return step_page(path, Attention(), tokens, np.roll(tokens, -1, axis=1), loss), path


def select(page, graph, **attrs):
    """Click the first node whose attributes match ``attrs``; its id."""
    nid = next(n for n, a in graph.nodes(data=True) if all(a[k] == v for k, v in attrs.items()))
    view = (
        "forward"
        if page.locator(f'svg.view-forward:visible g.node[data-node="{nid}"]').count()
        else "backward"
    )
    page.locator(f'svg.view-{view}:visible g.node[data-node="{nid}"]').click()
    assert page.locator("#info-body .nid").text_content() == nid
    return nid


def shown_maps(page) -> list[list[int]]:
    """[width, height] of every visible picture canvas in the node panel."""
    return page.eval_on_selector_all(
        "#info-body canvas.gv-map",
        "cs => cs.filter(c => c.offsetParent).map(c => [c.width, c.height])",
    )


def legend(page) -> str:
    return page.locator("#info-body .gv-picture:visible .gv-scale").inner_text()


def test_a_convolution_shows_its_channels_and_its_kernels_gradient(browser, cnn):
    tr, path = cnn
    page = harness.opened(browser, path)
    select(page, tr.graph, op="Conv2d")
    assert shown_maps(page) == [[6, 6]] * 4  # sample 0's four channels, at full size
    panel = page.locator("#info-body").inner_text()
    assert "sample 0: all 4 channels" in panel
    assert "diverging, centred on 0" in legend(page)
    page.click('.gv-toggle button[data-which="gradient"]')
    assert page.locator('.gv-picture[data-which="gradient"]').is_visible()
    assert shown_maps(page) == [[6, 6]] * 4
    # the toggle stays on the gradient: the kernels' filters
    select(page, tr.graph, name="0.weight")
    assert shown_maps(page) == [[3, 3]] * 4
    assert "all 4 filters (1 input channel)" in page.locator("#info-body").inner_text()
    grad = tr.graph.nodes[select(page, tr.graph, name="0.weight")]["grad"]
    scale = legend(page)
    assert f"{grad['max']:.4g}" in scale or f"{grad['max']:.3e}" in scale
    assert page.problems == []
    page.close()


def test_a_3d_convolution_shows_the_first_depth_slice_of_its_channels(browser, video):
    tr, path = video
    page = harness.opened(browser, path)
    select(page, tr.graph, op="Conv3d")
    assert shown_maps(page) == [[6, 6]] * 4  # sample 0's four channels, depth slice 0
    panel = page.locator("#info-body").inner_text()
    assert "sample 0: all 4 channels (axis 1); depth slice 0 of 4 (axis 2)" in panel
    select(page, tr.graph, name="0.weight")
    assert shown_maps(page) == [[3, 3]] * 4
    panel = page.locator("#info-body").inner_text()
    assert "all 4 filters (1 input channel); depth slice 0 of 3 (axis 2)" in panel
    assert page.problems == []
    page.close()


def test_an_attention_softmax_shows_each_heads_causal_weights(browser, attention):
    tr, path = attention
    page = harness.opened(browser, path)
    select(page, tr.graph, op="Softmax")
    assert shown_maps(page) == [[T, T]] * HEADS  # one T x T map per head
    assert "sequential" in legend(page)
    assert "min 0, max 1" in legend(page)  # the first query attends only to itself
    # the masked weights (above the diagonal) are exactly 0: the lowest colour of the scale
    corners = page.eval_on_selector_all(
        "#info-body canvas.gv-map",
        f"""cs => cs.filter(c => c.offsetParent).map(c => {{
            const rgba = c.getContext("2d").getImageData(0, 0, {T}, {T}).data; // one read
            const at = (x, y) => Array.from(rgba.slice((y * {T} + x) * 4, (y * {T} + x) * 4 + 3));
            return [at({T - 1}, 0), at(0, {T - 1})];
        }})""",
    )
    for above, below in corners:
        assert above == VIRIDIS_LOW
        assert below != VIRIDIS_LOW
    page.click('.gv-toggle button[data-which="gradient"]')
    assert shown_maps(page) == [[T, T]] * HEADS
    assert "diverging, centred on 0" in legend(page)
    # the scores before the softmax show the mask as -inf
    select(page, tr.graph, op="MaskedFill")
    page.click('.gv-toggle button[data-which="value"]')
    assert "-inf" in legend(page)
    assert page.problems == []
    page.close()
