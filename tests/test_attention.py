"""Embedding, scaled_dot_product_attention and MultiheadAttention: behaviour and errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz import functional as F
from gradviz.autograd.errors import ArgumentError, GradvizError, IndexRangeError


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(6, 4, padding_idx=-2)
    assert emb.padding_idx == 4
    np.testing.assert_array_equal(emb.weight.numpy()[4], 0)
    out = emb(np.array([[4, 1, 1], [0, 4, 5]]))
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [1, 2, 0, 0, 0, 1])


def test_embedding_out_of_range_names_layer_index_and_size():
    emb = nn.Embedding(10, 3)
    with pytest.raises(IndexRangeError, match=r"Embedding\(10, 3\).*index 12.*num_embeddings=10"):
        emb(np.array([1, 12]))
    with pytest.raises(IndexError, match="index -1"):
        F.embedding(np.array([-1]), emb.weight)
    assert issubclass(IndexRangeError, GradvizError)


def test_embedding_rejects_float_indices_and_bad_padding_idx():
    with pytest.raises(GradvizError, match="integer"):
        F.embedding(np.array([0.0]), Variable(np.ones((3, 2))))
    with pytest.raises(ArgumentError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)


def test_embedding_is_one_node_in_the_graph():
    emb = nn.Embedding(5, 2)
    with gradviz.trace() as tr:
        emb(np.array([0, 3])).sum().backward()
    ops = [a["op"] for _, a in tr.graph.nodes(data=True) if a["kind"] == "op"]
    assert ops.count("Embedding") == 1


def test_mha_num_heads_must_divide_embed_dim():
    with pytest.raises(ArgumentError, match=r"embed_dim \(10\).*num_heads \(3\)"):
        nn.MultiheadAttention(10, 3)


def test_mha_parameters_and_init():
    mha = nn.MultiheadAttention(8, 2)
    names = dict(mha.named_parameters())
    assert list(names) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert names["in_proj_weight"].shape == (24, 8)
    np.testing.assert_array_equal(names["in_proj_bias"].numpy(), 0)
    np.testing.assert_array_equal(names["out_proj.bias"].numpy(), 0)
    bound = np.sqrt(6 / (24 + 8))
    assert np.abs(names["in_proj_weight"].numpy()).max() <= bound
    assert "in_proj_bias" not in dict(nn.MultiheadAttention(8, 2, bias=False).named_parameters())


def test_mha_shapes_and_need_weights():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    q, kv = Variable(np.ones((3, 4, 8), np.float32)), Variable(np.ones((3, 5, 8), np.float32))
    out, weights = mha(q, kv, kv)
    assert out.shape == (3, 4, 8)
    assert weights.shape == (3, 4, 5)
    out, weights = mha(q, kv, kv, average_attn_weights=False)
    assert weights.shape == (3, 2, 4, 5)
    assert mha(q, kv, kv, need_weights=False)[1] is None
    out, weights = mha(
        *(Variable(np.ones(shape, np.float32)) for shape in ((4, 8), (5, 8), (5, 8)))
    )
    assert out.shape == (4, 8)
    assert weights.shape == (4, 5)


def test_mha_is_causal_needs_a_mask():
    mha = nn.MultiheadAttention(4, 1)
    x = Variable(np.ones((3, 1, 4)))
    with pytest.raises(ArgumentError, match="attn_mask"):
        mha(x, x, x, is_causal=True)


def test_sdpa_causal_rows_ignore_the_future():
    x = Variable(np.random.default_rng(0).normal(size=(1, 4, 3)), requires_grad=True)
    v = Variable(np.random.default_rng(1).normal(size=(1, 4, 3)), requires_grad=True)
    out = F.scaled_dot_product_attention(x, x, v, is_causal=True)
    np.testing.assert_allclose(out.numpy()[0, 0], v.numpy()[0, 0])
    with pytest.raises(ArgumentError, match="is_causal"):
        F.scaled_dot_product_attention(x, x, v, attn_mask=np.ones((4, 4), bool), is_causal=True)


def test_causal_attention_passes_anomaly_mode_and_check():
    x = Variable(np.random.default_rng(2).normal(size=(2, 5, 4)), requires_grad=True)
    with gradviz.detect_anomaly():
        F.scaled_dot_product_attention(x, x, x, is_causal=True).sum().backward()
    with gradviz.trace() as tr:
        F.scaled_dot_product_attention(x, x, x, is_causal=True).sum().backward()
    assert not [f for f in tr.check().findings if f.kind.startswith("nan")]


def test_check_passes_embedding_with_padding_idx():
    emb = nn.Embedding(5, 2, padding_idx=0)
    with gradviz.trace() as tr:
        (emb(np.array([[0, 3, 0]])) * Variable(np.arange(6.0).reshape(1, 3, 2))).sum().backward()
    report = tr.check()
    assert {c.status for c in report.gradchecks if c.op == "Embedding"} == {"passed"}
    assert report.ok, report.format()


def test_softmax_over_no_element_and_attention_over_an_empty_batch_are_empty():
    assert gradviz.randn(2, 0).softmax(-1).shape == (2, 0)
    assert gradviz.randn(2, 0).log_softmax(-1).shape == (2, 0)
    x = gradviz.randn(0, 1, 8, requires_grad=True)
    out, _ = nn.MultiheadAttention(8, 2)(x, x, x)
    out.sum().backward()
    assert out.shape == (0, 1, 8)
    assert x.grad.shape == (0, 1, 8)


def _input_names(tr) -> set[str]:
    return {a.get("name") for _, a in tr.graph.nodes(data=True) if a["kind"] == "input"}


def test_attention_masks_are_drawn_named_after_their_argument():
    """Was: the mask MultiheadAttention merges from attn_mask and key_padding_mask (and the one
    scaled_dot_product_attention inverts) was drawn as an unnamed ``input``."""
    gradviz.manual_seed(0)
    x = gradviz.randn(2, 5, 8, requires_grad=True)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    pad = gradviz.tensor([[False] * 5, [False] * 3 + [True] * 2])
    with gradviz.trace() as tr:
        mha(x, x, x, attn_mask=causal, key_padding_mask=pad)[0].sum().backward()
    assert "attn_mask + key_padding_mask" in _input_names(tr)
    keep = gradviz.ones(5, 5, dtype=gradviz.bool).tril()
    for name, mask in (("~attn_mask", {"attn_mask": keep}), ("~causal_mask", {"is_causal": True})):
        with gradviz.trace() as tr:
            F.scaled_dot_product_attention(x, x, x, **mask).sum().backward()
        assert name in _input_names(tr)
