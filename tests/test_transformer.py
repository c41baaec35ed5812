"""The Transformer layers without PyTorch: the stacks' copies, the init, the errors, and a
traced step of a TransformerEncoder classifier (its layers folded, the check clean)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradviz
from gradviz import nn, optim
from gradviz.autograd.errors import (
    ArgumentError,
    GradvizError,
    InputError,
    OperandError,
    ShapeError,
)
from gradviz.nn import functional as F
from gradviz.viz.draw import render as R


def test_a_stack_holds_deep_copies_of_its_layer():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    encoder = nn.TransformerEncoder(layer, 3)
    assert encoder.num_layers == len(encoder.layers) == 3
    assert all(copy is not layer for copy in encoder.layers)
    first, second = encoder.layers[0].linear1.weight, encoder.layers[1].linear1.weight
    assert first is not second
    np.testing.assert_array_equal(first.numpy(), layer.linear1.weight.numpy())
    with gradviz.no_grad():
        first.add_(1.0)
    np.testing.assert_array_equal(second.numpy(), layer.linear1.weight.numpy())
    assert len(list(encoder.parameters())) == 3 * len(list(layer.parameters()))
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2, nn.LayerNorm(8))
    assert [k for k in decoder.state_dict() if k.endswith("in_proj_weight")] == [
        "layers.0.self_attn.in_proj_weight",
        "layers.0.multihead_attn.in_proj_weight",
        "layers.1.self_attn.in_proj_weight",
        "layers.1.multihead_attn.in_proj_weight",
    ]


def test_transformer_initialises_every_matrix_xavier_uniform():
    gradviz.manual_seed(0)
    model = nn.Transformer(8, 2, 1, 1, 16)
    assert (model.d_model, model.nhead, model.batch_first) == (8, 2, False)
    for name, p in model.named_parameters():
        if p.ndim > 1:
            bound = math.sqrt(6 / sum(p.shape))
            assert np.abs(p.numpy()).max() <= bound, name
            assert np.abs(p.numpy()).max() > 0.5 * bound, name
        elif name.endswith(("norm1.weight", "norm.weight")):
            np.testing.assert_array_equal(p.numpy(), 1.0)


class LinearEncoder(nn.Module):
    """An encoder that is one Linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, src, **masks):
        return self.fc(src)


class FirstOfMemory(nn.Module):
    """A decoder that answers every target position with the memory's first position."""

    def forward(self, tgt, memory, **masks):
        return tgt * 0.0 + memory[:1]


def test_transformer_takes_a_custom_encoder_and_decoder():
    encoder = LinearEncoder()
    before = encoder.fc.weight.numpy().copy()
    model = nn.Transformer(8, 2, custom_encoder=encoder, custom_decoder=FirstOfMemory())
    assert model.encoder is encoder
    assert not np.array_equal(encoder.fc.weight.numpy(), before)  # re-drawn, as in PyTorch
    src = np.ones((3, 2, 8), np.float32)
    out = model(src, np.zeros((4, 2, 8), np.float32))
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(encoder(src).numpy()[:1], (4, 2, 8)))


def test_bad_sizes_and_activations_name_the_layer():
    with pytest.raises(ArgumentError, match=r"EncoderLayer: d_model \(10\).*nhead \(3\)"):
        nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(ArgumentError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerDecoderLayer(8, 2, activation="tanh")
    with pytest.raises(OperandError, match="TransformerEncoderLayer: activation must be"):
        nn.TransformerEncoderLayer(8, 2, activation=3)
    with pytest.raises(OperandError, match="TransformerDecoderLayer: dim_feedforward"):
        nn.TransformerDecoderLayer(8, 2, 16.5)
    with pytest.raises(OperandError, match="TransformerEncoder: expected a Module"):
        nn.TransformerEncoder("layer", 2)
    with pytest.raises(InputError, match="TransformerDecoder: num_layers must be >= 0"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2), -1)


def test_bad_inputs_name_the_layer_and_the_shapes():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(ShapeError, match=r"src of shape \(S, N, 8\).*got \(3, 2, 5\)"):
        layer(np.zeros((3, 2, 5), np.float32))
    with pytest.raises(InputError, match="only bool and floating types of src_mask"):
        layer(np.zeros((3, 2, 8), np.float32), src_mask=np.zeros((3, 3), int))
    decoder = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
    with pytest.raises(ShapeError, match=r"memory of shape \(N, S, 8\).*got \(2, 4\)"):
        decoder(np.zeros((2, 3, 8), np.float32), np.zeros((2, 4), np.float32))
    with pytest.raises(ShapeError, match=r"memory batched as tgt \(2, 3, 8\)"):
        decoder(np.zeros((2, 3, 8), np.float32), np.zeros((4, 8), np.float32))
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ShapeError, match=r"batch number of src and tgt.*\(3, 2, 8\).*\(4, 5, 8\)"):
        model(np.zeros((3, 2, 8), np.float32), np.zeros((4, 5, 8), np.float32))
    with pytest.raises(ShapeError, match="feature number of src and tgt must be equal to d_model"):
        model(np.zeros((3, 2, 8), np.float32), np.zeros((4, 2, 6), np.float32))
    with pytest.raises(GradvizError, match="need attn_mask if specifying the is_causal hint"):
        layer(np.zeros((3, 2, 8), np.float32), is_causal=True)
    with pytest.raises(InputError, match="generate_square_subsequent_mask: sz must be >= 0"):
        nn.Transformer.generate_square_subsequent_mask(-1)


class Classifier(nn.Module):
    """Features (N, 5, 4) -> a 2-layer TransformerEncoder -> the mean over positions -> 3
    classes."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 8)
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(8, 3)

    def forward(self, x, padding):
        return self.head(self.encoder(self.embed(x), src_key_padding_mask=padding).mean(1))


def _classifier_step() -> gradviz.Trace:
    gradviz.manual_seed(0)
    model = Classifier()
    opt = optim.SGD(model.parameters(), lr=0.01)
    x = gradviz.tensor(np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32))
    padding = np.array([[False] * 5, [False] * 3 + [True] * 2])
    with gradviz.trace() as tr:
        loss = F.cross_entropy(model(x, padding), gradviz.tensor(np.array([0, 2])))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return tr


def test_a_traced_encoder_step_folds_its_two_layers_and_checks_clean():
    tr = _classifier_step()
    folded = "<b>encoder.layers.0\u20131</b> (TransformerEncoderLayer) \u00d72"
    for view in ("forward", "backward"):
        drawing = R.build(tr.graph, view)
        assert folded in drawing.source
        assert "encoder.layers.0.self_attn" in drawing.source
        assert "encoder.layers.1." not in drawing.source  # drawn once
        plain = R.build(tr.graph, view, fold=False).source
        assert "encoder.layers.1.norm2" in plain
    shallow = R.build(tr.graph, "forward", depth=1).source
    assert "encoder.layers</b>: ModuleList" in shallow
    report = tr.check()
    assert not [f for f in report.findings if f.level == "error"], report.findings
    statuses = {c.status for c in report.gradchecks}
    assert "failed" not in statuses
    assert "MaskedFill" in {c.op for c in report.gradchecks if c.status == "passed"}


def test_a_traced_seq2seq_step_with_a_causal_mask_checks_clean():
    """The float causal mask's -inf is a masked fill, not Inf in the data."""
    gradviz.manual_seed(0)
    model = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True)
    rng = np.random.default_rng(0)
    src, tgt = (gradviz.tensor(rng.standard_normal((2, n, 8)).astype(np.float32)) for n in (4, 3))
    causal = nn.Transformer.generate_square_subsequent_mask(3)
    with gradviz.trace() as tr:
        model(src, tgt, tgt_mask=causal, tgt_is_causal=True).square().mean().backward()
    report = tr.check()
    assert not [f for f in report.findings if f.level == "error"], report.findings
    assert "failed" not in {c.status for c in report.gradchecks}
    assert "decoder.layers.0.multihead_attn" in R.build(tr.graph, "forward").source
