"""Repeated blocks fold: a run of identical sibling modules (same class, ops and shapes) is drawn
once, labelled ``blocks.0-11 (Block) x12`` (en dash, multiplication sign), at every depth, with
the stream through the blocks entering the first and leaving it; ``fold=False`` draws every
instance."""

from __future__ import annotations

import re

import pytest
from gpt_blocks import gpt_trace
from helpers import dot_edges, dot_nodes
from test_render import nested, node

from gradviz.viz.diagnose.report import Level, Mark
from gradviz.viz.draw import render as R
from gradviz.viz.page.html import page_data

FOLDED = "<b>enc.block0\u2013block2</b> (Block) \u00d73"


def test_identical_blocks_are_drawn_once_with_the_chain_through_them():
    g = nested(blocks=3, per_block=4)
    dot = R.build(g, "forward")
    assert FOLDED in dot.source
    drawn = set(dot_nodes(dot.source))
    assert {"v2", "v3", "v4", "v5", "v6"} <= drawn  # block 0: 4 ops and its weight
    assert not drawn & {f"v{k}" for k in range(7, 17)}  # blocks 1 and 2
    edges = set(dot_edges(dot.source))
    assert ("v1", "v2") in edges  # into the first block
    assert ("v5", "v17") in edges  # out of the last block, drawn from the first
    assert ("v5", "v2") not in edges  # block to block: not drawn (no loop back)
    assert dot.folds == [
        {
            "span": "enc.block0\u2013block2",
            "class": "Block",
            "instances": ["enc.block0", "enc.block1", "enc.block2"],
            "box": None,
            "cluster": "cluster_2",
        }
    ]


def test_fold_false_draws_every_instance_and_two_blocks_stay_apart():
    g = nested(blocks=3, per_block=4)
    plain = R.build(g, "forward", fold=False)
    assert "\u00d7" not in plain.source
    assert len(dot_nodes(plain.source)) == 1 + 3 * 5 + 1
    assert not plain.folds
    two = R.build(nested(blocks=2, per_block=4), "forward")
    assert "\u00d7" not in two.source  # two blocks side by side read well


def test_a_block_with_other_shapes_breaks_the_run():
    g = nested(blocks=3, per_block=4)
    g.nodes["v12"]["shape"] = (2, 4)  # an op of enc.block2
    source = R.build(g, "forward").source
    assert "\u00d7" not in source


def test_collapsed_depth_shows_one_box_with_the_first_instance_statistics():
    g = nested(blocks=3, per_block=4)
    d1 = R.build(g, "backward", depth=1)
    assert len(dot_nodes(d1.source)) == 1 + 1 + 1  # x, the folded box, the loss
    assert FOLDED in d1.source
    assert "4 ops, 1 param<" in d1.source  # the first instance's
    assert "steps #97-#100" in d1.source
    assert "the statistics are those of the first, enc.block0" in d1.source
    assert d1.folds[0]["box"] == "m1"
    assert d1.stands_for["m1"] == ("v2", "v3", "v4", "v5", "v6")
    # the whole run inside one collapsed module: nothing is folded, the box holds them all
    d0 = R.build(g, "forward", depth=0)
    assert "\u00d7" not in d0.source
    assert "12 ops, 3 params" in d0.source


def test_a_leaf_feeding_one_instance_folds_with_it():
    g = nested(blocks=3, per_block=4)
    for b, first_op in enumerate((2, 7, 12)):  # a mask made at each call, outside any module
        node(g, f"v{30 + b}", "input", name=None, grad=None)
        g.add_edge(f"v{30 + b}", f"v{first_op}", arg=1)
    source = R.build(g, "forward").source
    drawn = set(dot_nodes(source))
    assert "v30" in drawn
    assert not drawn & {"v31", "v32"}


def test_a_twelve_block_gpt_reads_in_one_screen():
    tr = gpt_trace(12)
    g = tr.graph
    label = "<b>blocks.0\u201311</b> (Block) \u00d712"
    for view in ("forward", "backward"):
        full = R.build(g, view)
        plain = R.build(g, view, fold=False)
        assert label in full.source
        assert not re.search(r"blocks\.[1-9]", full.source)  # only blocks.0 is drawn
        assert full.node_count * 5 < plain.node_count
        d2 = R.build(g, view, depth=2)
        assert label in d2.source
        assert "blocks.0.attn</b>: SelfAttention" in d2.source
        assert d2.node_count < 30
        d1 = R.build(g, view, depth=1)
        assert label in d1.source
        assert d1.node_count < 20
    # the stream: embeddings -> blocks.0 -> final LayerNorm, drawn from blocks.0's last Add
    dot = R.build(g, "forward", depth=2)
    ln = next(n for n, a in g.nodes(data=True) if a["op"] == "LayerNorm" and a["module"] == "ln")
    (into_ln,) = [a for a, b in dot_edges(dot.source) if b == ln and g.nodes[a]["kind"] == "op"]
    assert g.nodes[into_ln]["op"] == "Add"
    assert g.nodes[into_ln]["module"] == "blocks.0"


@pytest.mark.parametrize("fold", [True, False])
def test_the_page_embeds_each_folded_picture_with_its_unfolded_twin(fold):
    tr = gpt_trace(3)
    data, svgs, _ = page_data(tr, depth=1, fold=fold)
    variants = data["views"]["forward"]
    folded = [v for v in variants if "folds" in v]
    twins = [v for v in variants if "unfolded" in v]
    if not fold:
        assert not folded
        assert not twins
        return
    assert folded
    assert len(folded) == len(twins)
    for i, v in enumerate(variants):
        if "folds" in v:
            twin = variants[v["twin"]]
            assert twin["unfolded"] == i
            assert twin["depth"] == v["depth"]
            assert v["folds"][0]["instances"] == ["blocks.0", "blocks.1", "blocks.2"]
    assert len(svgs) == sum(len(v) for v in data["views"].values())


def test_a_failed_check_in_a_folded_instance_shows_on_the_first():
    g = nested(blocks=3, per_block=4)
    marks = {"v12": [Mark(Level.ERROR, "gradient check failed")]}  # an op of enc.block2
    source = R.build(g, "forward", marks=marks).source
    assert "in enc.block2.lin: gradient check failed" in source
    plain = R.build(g, "forward", marks=marks, fold=False).source
    assert "gradient check failed" in plain
    assert "in enc.block2.lin" not in plain


def test_trace_render_takes_fold(tmp_path):
    tr = gpt_trace(3)
    tr.render("forward", tmp_path / "folded.dot")
    tr.render("forward", tmp_path / "plain.dot", fold=False)
    assert "(Block) \u00d73" in (tmp_path / "folded.dot").read_text()
    plain = (tmp_path / "plain.dot").read_text()
    assert "\u00d7" not in plain
    assert "blocks.2.attn" in plain


def test_two_numbered_blocks_fold_but_a_blocks_two_layernorms_do_not():
    source = R.build(gpt_trace(2).graph, "forward").source
    assert "<b>blocks.0\u20131</b> (Block) \u00d72" in source
    assert "<b>blocks.0.ln1</b>" in source
    assert "<b>blocks.0.ln2</b>" in source
    assert source.count("\u00d7") == 1  # only the blocks fold
