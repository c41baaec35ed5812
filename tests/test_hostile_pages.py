"""Hostile but realistic content in the pictures and pages: deep module paths, a node feeding
200 parallel branches, a weight that is already NaN, a 300-character name in the node panel."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import chromium

import gradviz
from gradviz import nn, optim
from gradviz.viz.page.html import write_html


class Leaf(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        for i in range(4):
            setattr(self, f"p_{i}", nn.Parameter(gradviz.randn(2)))

    def forward(self, x):
        for i in range(4):
            x = x * getattr(self, f"p_{i}")
        return x


class Deep(nn.Module):
    """A module path ``inner.inner. ... .inner`` ``depth`` levels deep, then a Leaf."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.inner = Deep(depth - 1) if depth > 0 else Leaf()

    def forward(self, x):
        return self.inner(x)


def test_parameters_deep_in_modules_keep_their_names_in_the_picture():
    gradviz.manual_seed(0)
    net = Deep(10)
    with gradviz.trace() as tr:
        net(gradviz.randn(3, 2)).sum().backward()
    source = gradviz.render(tr, view="forward").source
    titles = re.findall(r"<b>(inner\.[^<]*)</b>", source)
    params = [t for t in titles if t.endswith(tuple(f"p_{i}" for i in range(4)))]
    # each parameter is told apart by the end of its path, shortened in the middle
    assert sorted(t[-3:] for t in params) == ["p_0", "p_1", "p_2", "p_3"]
    assert all("..." in t and len(t) <= 48 for t in params)


def test_a_node_feeding_200_branches_is_laid_out_with_a_bounded_simplex():
    w = gradviz.randn(2, requires_grad=True)
    loss = sum((w * float(i)).sum() for i in range(200))
    assert "nslimit=1" in gradviz.render(loss, view="forward").source
    small = (w * 2.0).sum()
    assert "nslimit" not in gradviz.render(small, view="forward").source


def test_an_update_of_a_nan_weight_is_not_said_to_be_of_a_zero_weight():
    gradviz.manual_seed(0)
    layer = nn.Linear(2, 1)
    layer.weight.numpy()[0, 0] = np.nan
    opt = optim.SGD(layer.parameters(), lr=0.1)
    with gradviz.trace() as tr:
        layer(gradviz.randn(4, 2)).sum().backward()
        opt.step()
    weight = next(a for _, a in tr.graph.nodes(data=True) if a.get("name") == "weight")
    assert np.isnan(weight["update"]["ratio"])
    source = gradviz.render(tr, view="backward").source
    assert "weight was 0" not in source
    assert "update/weight nan" in source


@pytest.mark.browser
def test_a_long_name_in_the_node_panel_stays_inside_it(tmp_path):
    gradviz.manual_seed(0)
    w = nn.Parameter(gradviz.randn(2))
    with gradviz.trace() as tr:
        h = w * 2.0
        h.name = "x" * 300
        h.sum().backward()
    path = tmp_path / "long.html"
    write_html(tr.graph, path)
    with chromium(1280, 800) as context:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready]")
        wid = next(n for n, a in tr.graph.nodes(data=True) if a.get("kind") == "param")
        page.locator(f'svg.view-forward:visible g.node[data-node="{wid}"]').click()
        param = page.locator("#info-body .links .chip", has_text="xxxxx")
        param.wait_for()
        chip, side = param.bounding_box(), page.locator("#side").bounding_box()
        assert chip["x"] + chip["width"] <= side["x"] + side["width"]
        assert errors == []


@pytest.mark.browser
def test_a_scalar_loss_shows_as_scalar_in_the_node_panel(tmp_path):
    w = nn.Parameter(gradviz.randn(3))
    with gradviz.trace() as tr:
        loss = w.sum()
        loss.backward()
    path = tmp_path / "scalar.html"
    write_html(tr.graph, path)
    loss_id = next(n for n, a in tr.graph.nodes(data=True) if a.get("op") == "Sum")
    with chromium(1280, 800) as context:
        page = context.new_page()
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready]")
        page.locator(f'svg.view-forward:visible g.node[data-node="{loss_id}"]').click()
        shape = page.locator("#info-body tr", has_text="shape")
        shape.wait_for()
        assert shape.inner_text().split() == ["shape", "scalar"]


def test_the_gradient_of_an_empty_parameter_is_drawn_empty_not_zero():
    empty = nn.Parameter(gradviz.Variable(np.zeros((0, 3), np.float32)))
    w = nn.Parameter(gradviz.randn(3))
    with gradviz.trace() as tr:
        (empty.sum() + (w * 0.0).sum()).backward()
    source = gradviz.render(tr, view="backward").source
    assert source.count("<b>grad empty</b>") == 1  # the (0, 3) parameter
    assert source.count("<b>grad = 0</b>") == 1  # w, multiplied by zero
