"""Previews: the small pictures of values and gradients the page draws (node attributes
``preview``/``grad_preview``): which maps are cut, size caps, the one-byte quantization, and
that a trace keeps them only when it keeps arrays."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz.viz.capture.stats import array_preview
from gradviz.viz.page.html import page_data
from gradviz.viz.records.io import TraceFormatError
from gradviz.viz.records.preview import (
    LEVELS,
    PREVIEW_SIDE,
    PREVIEW_VALUES,
    preview_problem,
    preview_values,
)

RNG = np.random.default_rng(0)


def quantum(p) -> float:
    """Half a quantization step: the largest round-trip error."""
    return (p["max"] - p["min"]) / (LEVELS - 1) / 2 * (1 + 1e-9)


def test_activation_shows_the_first_samples_channels_at_full_size():
    a = RNG.standard_normal((32, 8, 12, 12)).astype(np.float32)
    p = array_preview(a)
    assert (p["grid"], p["maps"], p["total"], p["height"], p["width"], p["stride"]) == (
        "channels",
        8,
        8,
        12,
        12,
        1,
    )
    assert np.abs(preview_values(p) - a[0]).max() <= quantum(p)
    assert p["min"] == float(a[0].min())
    assert p["max"] == float(a[0].max())


def test_many_channels_keep_the_first_16_and_big_images_are_strided():
    p = array_preview(RNG.standard_normal((2, 64, 28, 28)))
    assert (p["maps"], p["total"]) == (16, 64)
    assert p["stride"] == 2
    assert (p["height"], p["width"]) == (14, 14)


def test_conv_kernels_are_filters_averaged_over_their_input_channels():
    w = RNG.standard_normal((16, 8, 3, 3))
    p = array_preview(w, filters=True)
    assert (p["grid"], p["maps"], p["total"], p["height"], p["width"]) == ("filters", 16, 16, 3, 3)
    assert np.abs(preview_values(p) - w.mean(axis=1)).max() <= quantum(p)
    assert array_preview(RNG.standard_normal((100, 1, 3, 3)), filters=True)["maps"] == 64


def test_an_attention_map_keeps_its_causal_mask():
    t = 32
    scores = np.where(np.tril(np.ones((t, t), bool)), RNG.standard_normal((t, t)), -np.inf)
    p = array_preview(np.stack([scores, scores]))  # (B, T, T): the first
    assert (p["grid"], p["maps"], p["height"], p["width"]) == ("map", 1, t, t)
    back = preview_values(p)[0]
    assert np.array_equal(np.isneginf(back), np.isneginf(scores))
    lower = np.tril_indices(t)
    assert np.abs(back[lower] - scores[lower]).max() <= quantum(p)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = array_preview((weights / weights.sum(axis=1, keepdims=True))[None, None])
    assert p["grid"] == "channels"
    assert p["min"] == 0.0


@pytest.mark.parametrize(
    ("shape", "stride", "size"),
    [
        ((128, 128), 2, (64, 64)),
        ((64, 256), 2, (32, 128)),
        ((300, 20), 3, (100, 7)),
        ((1000, 1), 8, (125, 1)),
        ((10, 64), 1, (10, 64)),
    ],
)
def test_matrices_are_strided_to_the_caps(shape, stride, size):
    p = array_preview(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    assert p["stride"] == stride
    assert (p["height"], p["width"]) == size
    assert p["height"] <= PREVIEW_SIDE
    assert p["width"] <= PREVIEW_SIDE
    assert p["height"] * p["width"] <= PREVIEW_VALUES
    source = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)[::stride, ::stride]
    assert np.abs(preview_values(p)[0] - source).max() <= quantum(p)


@pytest.mark.parametrize(
    "shape",
    [(1, 1), (3, 5), (7, 129, 3), (2, 3, 500, 500), (1, 16, 1, 4096), (257, 9), (5, 2, 1, 1)],
)
@pytest.mark.parametrize("filters", [False, True])
def test_every_preview_is_within_the_caps_and_well_formed(shape, filters):
    p = array_preview(RNG.standard_normal(shape).astype(np.float32), filters=filters)
    assert p["maps"] * p["height"] * p["width"] <= PREVIEW_VALUES
    assert max(p["height"], p["width"]) <= PREVIEW_SIDE
    assert len(base64.b64decode(p["data"])) == p["maps"] * p["height"] * p["width"]
    assert preview_problem(json.loads(json.dumps(p))) is None  # as a trace file holds it


def test_non_finite_constant_and_integer_arrays():
    a = np.array([[np.nan, np.inf], [-np.inf, 2.0]])
    back = preview_values(array_preview(a))[0]
    assert np.isnan(back[0, 0])
    assert back[0, 1] == np.inf
    assert back[1, 0] == -np.inf
    assert back[1, 1] == 2.0
    nothing = array_preview(np.full((2, 2), np.nan))
    assert nothing["min"] is None
    assert np.isnan(preview_values(nothing)).all()
    assert (preview_values(array_preview(np.full((3, 3), 0.25))) == 0.25).all()
    mask = array_preview(np.tril(np.ones((4, 4), bool)))
    assert np.array_equal(preview_values(mask)[0], np.tril(np.ones((4, 4))))
    assert preview_values(array_preview(np.arange(12).reshape(3, 4)))[0, 2, 3] == 11


@pytest.mark.parametrize(
    "array",
    [np.float32(1), np.ones(5), np.ones((0, 3)), np.ones((2,) * 6), np.ones((2, 2), complex)],
)
def test_no_preview_of_scalars_vectors_empty_6d_or_complex(array):
    assert array_preview(array) is None


def test_a_volume_or_video_shows_its_first_depth_slice():
    """(N, C, D, H, W) activations and (out, in, kD, kH, kW) kernels: the 4-D picture of the
    first depth slice (the page says so, from the node's shape)."""
    a = RNG.standard_normal((2, 5, 3, 6, 7))
    p = array_preview(a)
    assert (p["grid"], p["maps"], p["total"], p["height"], p["width"]) == ("channels", 5, 5, 6, 7)
    assert np.abs(preview_values(p) - a[0, :, 0]).max() <= quantum(p)
    w = RNG.standard_normal((4, 2, 3, 3, 3))
    p = array_preview(w, filters=True)
    assert (p["grid"], p["maps"], p["height"], p["width"]) == ("filters", 4, 3, 3)
    assert np.abs(preview_values(p) - w[:, :, 0].mean(axis=1)).max() <= quantum(p)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda p: p.pop("stride"), "must be null or an object"),
        (lambda p: p.update(grid="video"), "grid must be one of"),
        (lambda p: p.update(height=0), "integers >= 1"),
        (lambda p: p.update(maps=65, total=65), "more than 4096"),
        (lambda p: p.update(min=5.0), "min <= max"),
        (lambda p: p.update(data="not base64!"), "base64"),
        (lambda p: p.update(data=base64.b64encode(b"xy").decode()), "bytes, got 2"),
    ],
)
def test_malformed_previews_are_named(mutate, problem):
    p = array_preview(RNG.standard_normal((8, 8)))
    assert preview_problem(p) is None
    mutate(p)
    assert problem in preview_problem(p)


def conv_step(arrays: bool) -> gradviz.Trace:
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3))
    x = Variable(RNG.standard_normal((2, 1, 4, 4)).astype(np.float32))
    with gradviz.trace(arrays=arrays, max_array_size=10) as tr:
        model(x).sum().backward()
    return tr


def test_a_trace_that_keeps_arrays_keeps_previews_of_any_size():
    graph = conv_step(arrays=True).graph
    by_name = {a["name"]: a for _, a in graph.nodes(data=True) if a["name"]}
    kernel = by_name["0.weight"]
    assert kernel["array"] is None  # over max_array_size: the copy is dropped, the preview kept
    assert kernel["preview"]["grid"] == kernel["grad_preview"]["grid"] == "filters"
    assert kernel["grad_preview"]["maps"] == 4
    conv = next(a for _, a in graph.nodes(data=True) if a["op"] == "Conv2d")
    assert conv["preview"]["grid"] == "channels"
    assert conv["grad_preview"]["maps"] == 4
    assert by_name["3.weight"]["preview"]["grid"] == "map"
    assert by_name["0.bias"]["preview"] is None  # a vector: its histogram says it all


def test_an_ordinary_trace_keeps_no_previews():
    graph = conv_step(arrays=False).graph
    assert all(
        a["preview"] is None and a["grad_preview"] is None for _, a in graph.nodes(data=True)
    )


def test_trace_files_keep_previews_and_check_them(tmp_path):
    path = tmp_path / "step.trace.json"
    conv_step(arrays=True).save(path)
    loaded = gradviz.load_trace(path)
    kernel = next(a for _, a in loaded.graph.nodes(data=True) if a["name"] == "0.weight")
    assert kernel["grad_preview"]["grid"] == "filters"
    data = json.loads(path.read_text())
    nodes = data["passes"][0]["graph"]["nodes"]
    for node in nodes:  # a file written before previews existed
        del node["preview"], node["grad_preview"]
    path.write_text(json.dumps(data))
    assert all(a["preview"] is None for _, a in gradviz.load_trace(path).graph.nodes(data=True))
    nodes[0]["preview"] = {"grid": "map"}
    path.write_text(json.dumps(data))
    with pytest.raises(TraceFormatError, match=r"nodes\[0\]\.preview must be null or an object"):
        gradviz.load_trace(path)


def test_the_page_data_carries_the_previews_of_each_node():
    tr = conv_step(arrays=True)
    nodes = {n["id"]: n for n in page_data(tr)[0]["nodes"]}
    for nid, attrs in tr.graph.nodes(data=True):
        for key, attr in (("pv", "preview"), ("pg", "grad_preview")):
            given = attrs[attr]
            if given is None:
                assert key not in nodes[nid]
            else:
                assert nodes[nid][key]["data"] == given["data"]
    assert sum("pv" in n for n in nodes.values()) >= 5
