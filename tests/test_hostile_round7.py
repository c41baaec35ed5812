"""Hostile input, round 7: PyTorch's tutorials a learner copies (DCGAN, seq2seq, the
checkpointing and saving recipes) and scripts that misuse the command line; each case ends in
PyTorch's result or a GradvizError that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.viz.runner import run_script

GAN_STEP = """\
import gradviz as torch
from gradviz import nn
torch.manual_seed(0)
G, D = nn.Linear(2, 3), nn.Linear(3, 1)
opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
for i in range(3):
    G.zero_grad()
    output = D(G(torch.randn(4, 2))).view(-1)
    errG = nn.functional.binary_cross_entropy_with_logits(output, torch.ones(4))
    errG.backward()
    D_G_z2 = output.sigmoid().mean().item()
    opt_g.step()
"""


def _updates(trace) -> dict[str, dict | None]:
    graph = trace.passes[-1].graph
    return {a["name"]: a.get("update") for _, a in graph.nodes(data=True) if a["kind"] == "param"}


def test_a_statistic_logged_between_backward_and_step_does_not_end_the_step(tmp_path):
    """Was: the DCGAN tutorial's ``D_G_z2 = output.mean().item()`` after ``errG.backward()``
    ran an op on the step's graph, taken for the next forward: the step ended before
    ``optimizerG.step()``, and no update of the generator was shown."""
    script = tmp_path / "gan.py"
    script.write_text(GAN_STEP, encoding="utf-8")
    updates = _updates(run_script(script))  # (loose layers G and D: named as the script does)
    assert updates["G.weight"] is not None
    assert updates["G.weight"]["ratio"] > 0
    assert updates["G.bias"]["ratio"] > 0


TWO_OPTIMIZERS = """\
import gradviz as torch
from gradviz import nn
torch.manual_seed(0)
encoder, decoder = nn.Linear(2, 3), nn.Linear(3, 1)
eo = torch.optim.SGD(encoder.parameters(), lr=0.1)
do = torch.optim.SGD(decoder.parameters(), lr=0.1)
for i in range(3):
    eo.zero_grad(); do.zero_grad()
    loss = decoder(encoder(torch.randn(4, 2))).pow(2).mean()
    loss.backward()
    eo.step(); do.step()
"""


def test_a_step_made_by_two_optimizers_shows_both_updates(tmp_path):
    """Was: the seq2seq tutorial's ``encoder_optimizer.step(); decoder_optimizer.step()``:
    the capture ended at the first optimizer's step, and the decoder's parameters showed no
    update (``update/weight -`` in gradviz check)."""
    script = tmp_path / "seq2seq.py"
    script.write_text(TWO_OPTIMIZERS, encoding="utf-8")
    updates = _updates(run_script(script))
    assert set(updates) == {"encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"}
    ratios = [u["ratio"] if u is not None else np.nan for u in updates.values()]
    assert np.all(np.asarray(ratios) > 0)


GAN_TIMELINE = """\
import gradviz as torch
from gradviz import nn
torch.manual_seed(0)
netD = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
netG = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 3))
opt_d = torch.optim.SGD(netD.parameters(), lr=0.1)
opt_g = torch.optim.SGD(netG.parameters(), lr=0.1)
real = torch.randn(5, 3)
for i in range(3):
    netD.zero_grad()
    errD = netD(real).mean()
    errD.backward()
    opt_d.step()
    netG.zero_grad()
    errG = -netD(netG(torch.randn(5, 4))).mean()
    errG.backward()
    opt_g.step()
"""


def test_a_model_named_anew_when_a_bigger_one_appears_keeps_one_timeline_row(tmp_path):
    """Was: DCGAN's discriminator, trained first, got bare names (``0.weight``) in the
    timeline's first step and ``netD.0.weight`` once the bigger generator ran: each of its
    parameters had two rows, and the generator's ``0.weight`` was drawn in the row of the
    discriminator's first steps."""
    from gradviz.viz.capture.policy import EveryStep

    script = tmp_path / "gan.py"
    script.write_text(GAN_TIMELINE, encoding="utf-8")
    timeline = run_script(script, policy=EveryStep(), detail="summary").timeline
    params = {k for k in timeline.keys if k.startswith("param:")}
    names = {f"param:netG.{i}.{w}" for i in (0, 1, 2) for w in ("weight", "bias")}
    assert params == names | {f"param:netD.{i}.{w}" for i in (0, 1) for w in ("weight", "bias")}
    rows = timeline.rows_array()
    index = timeline.keys.index("param:netG.0.weight")
    assert set(rows["step"][rows["node"] == index]) == {2, 4, 6}  # the generator's steps
    index = timeline.keys.index("param:netD.0.weight")
    assert set(rows["step"][rows["node"] == index]) == {1, 2, 3, 4, 5, 6}
    assert timeline.nodes["param:netD.0.weight"]["name"] == "netD.0.weight"


def _blocks(torch=None):
    """Four Linear-Tanh blocks in gradviz and, given torch, the same weights in PyTorch."""
    gradviz.manual_seed(0)
    ours = nn.Sequential(*[nn.Sequential(nn.Linear(3, 3), nn.Tanh()) for _ in range(4)])
    if torch is None:
        return ours, None
    theirs = torch.nn.Sequential(
        *[torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh()) for _ in range(4)]
    )
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def test_activation_checkpointing_gives_pytorchs_values_and_gradients():
    """Was: ``from torch.utils.checkpoint import checkpoint`` (the memory-saving recipe) was a
    ModuleNotFoundError: 'gradviz.utils' is not a package."""
    torch = pytest.importorskip("torch")
    from gradviz.utils.checkpoint import checkpoint, checkpoint_sequential

    ours, theirs = _blocks(torch)
    data = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    x, tx = gradviz.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y = checkpoint(ours[0], x, use_reentrant=False) * 2
    y = checkpoint_sequential(ours[1:], 2, y, use_reentrant=False)
    ty = torch.utils.checkpoint.checkpoint(theirs[0], tx, use_reentrant=False) * 2
    ty = torch.utils.checkpoint.checkpoint_sequential(theirs[1:], 2, ty, use_reentrant=False)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5)
    grads = {k: p.grad.numpy() for k, p in ours.named_parameters()}
    for k, p in theirs.named_parameters():
        np.testing.assert_allclose(grads[k], p.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_checkpoint_keeps_pytorchs_checks_and_its_reentrant_pitfall():
    from gradviz.utils.checkpoint import checkpoint, checkpoint_sequential

    block, _ = _blocks()
    x = gradviz.randn(2, 3)  # no input requires grad: the reentrant variant cuts the graph
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
        y = checkpoint(block, x.requires_grad_())
    assert y.requires_grad
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        assert not checkpoint(block, gradviz.randn(2, 3), use_reentrant=True).requires_grad
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        assert checkpoint(block, gradviz.randn(2, 3), use_reentrant=False).requires_grad
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(lambda a, scale: a * scale, x, scale=2, use_reentrant=True)
    assert checkpoint(lambda a, scale: a * scale, x, scale=2, use_reentrant=False).shape == (2, 3)
    with pytest.raises(gradviz.ArgumentError, match="at most as many segments as functions"):
        checkpoint_sequential(block, 5, x, use_reentrant=False)
    with pytest.raises(gradviz.ArgumentError, match="positive int, got 0"):
        checkpoint_sequential(block, 0, x, use_reentrant=False)


def test_torchscript_is_refused_with_how_to_save_a_model_instead():
    """Was: the saving tutorial's ``torch.jit.script(model)`` was an AttributeError: module
    'gradviz' has no attribute 'jit'."""
    import gradviz.jit

    assert not gradviz.jit.is_scripting()
    assert not gradviz.jit.is_tracing()
    for call in (gradviz.jit.script, gradviz.jit.trace, gradviz.jit.load):
        with pytest.raises(gradviz.OperandError, match=r"gradviz.save\(model.state_dict\(\)"):
            call(nn.Linear(2, 2))


def test_the_layer_table_counts_the_parameters_of_a_layer_with_many():
    """Was: gradviz check's table listed an LSTM's 16 parameter names in one cell, a line of
    over 300 characters."""
    gradviz.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    with gradviz.trace() as tr:
        out, _ = lstm(gradviz.randn(5, 2, 3))
        out.sum().backward()
    text = str(tr.check())
    row = next(line for line in text.splitlines() if " LSTM " in line)
    assert "16 params" in row
    assert len(row) < 100
    assert "weight,bias" in str(_linear_report())


def _linear_report():
    with gradviz.trace() as tr:
        nn.Linear(2, 1)(gradviz.randn(3, 2)).sum().backward()
    return tr.check()


def test_a_collapsed_module_has_room_for_its_title_and_counts_in_english(tmp_path):
    """Was: ``1 ops, 1 params`` on a collapsed Embedding, and the title of a collapsed module
    (a bold ``CrossEntropyLoss``) touching the top edge of its 3-d box: the box's depth took
    the node's 2 pt margin."""
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Embedding(5, 2), nn.Flatten(), nn.Linear(4, 3))
    with gradviz.trace() as tr:
        loss = nn.CrossEntropyLoss()(model(gradviz.tensor([[1, 2]])), gradviz.tensor([0]))
        loss.backward()
    tr.render("forward", tmp_path / "f.dot", depth=0)
    source = (tmp_path / "f.dot").read_text(encoding="utf-8")
    assert "1 op, 1 param<" in source  # the Embedding
    assert "1 op<" in source  # the loss
    assert "1 ops" not in source
    assert "1 params" not in source
    boxes = [line for line in source.splitlines() if "shape=box3d" in line]
    assert boxes
    assert all('margin="0.11,0.08"' in line for line in boxes)


class _Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(6, 2, padding_idx=0)
        self.rnn = nn.LSTM(2, 3, batch_first=True)

    def forward(self, tokens, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(self.emb(tokens), lengths, batch_first=True)
        _, (h, _) = self.rnn(packed)
        return h[-1]


def test_constants_a_module_makes_are_drawn_inside_it_and_the_models_input_outside(tmp_path):
    """Was: an LSTM run on a packed batch drew each step's mask (an (N, 1) bool array it
    makes) as an input outside the LSTM, 40 of them around a collapsed ``rnn: LSTM`` box in
    the names tutorial, and an Embedding its padding row."""
    gradviz.manual_seed(0)
    model = _Tagger()
    tokens = np.array([[1, 2, 3], [4, 0, 0]])  # an array given to the model: its input
    with gradviz.trace() as tr:
        model(tokens, [3, 1]).sum().backward()
    inputs = [a for _, a in tr.graph.nodes(data=True) if a["kind"] == "input"]
    masks = [a for a in inputs if a["dtype"] == "bool"]
    assert masks
    assert {a["module"] for a in masks} == {"rnn"}
    assert [a["module"] for a in inputs if a["shape"] == (2,)] == ["emb"]  # the padding row
    tokens = [a for a in inputs if a["shape"] == (2, 3) and a["dtype"] == "int64"]
    assert [a["module"] for a in tokens] == [""]
    tr.render("forward", tmp_path / "f.dot", depth=0)
    # (named as the script names the array it passes: ``tokens``)
    assert (tmp_path / "f.dot").read_text(encoding="utf-8").count("<b>tokens</b>") == 1


def test_a_leaf_used_at_every_step_of_a_long_loop_is_drawn_again_beside_each_use():
    """Was: a weight used at each of 60 steps of a hand-written RNN sent an edge to every
    step; the layout program routes each through every rank it spans, in time growing with
    the square of the length: 40 s for 60 steps, over 10 minutes for a 5,000-op loop."""
    import re

    w = gradviz.randn(3, requires_grad=True)
    h = gradviz.ones(3)
    for _ in range(40):
        h = (h * w).tanh()
    source = gradviz.render(h.sum(), view="forward").source
    copies = re.findall(r"^\t(\w+_use\d+) \[", source, re.MULTILINE)
    assert len(copies) == 39
    original = copies[0].rpartition("_use")[0]
    assert len(re.findall(rf"^\t{original} -> ", source, re.MULTILINE)) == 1
    assert source.count("used 40 times") == 39
    few = gradviz.randn(3, requires_grad=True)
    source = gradviz.render(sum((few * float(i)).sum() for i in range(8)), view="forward").source
    assert "_use" not in source  # up to 8 uses: one node, its edges


def test_a_step_that_made_the_weights_nan_is_not_said_to_have_changed_nothing():
    """Was: data holding a NaN at step 1, then ``opt.step()``: the parameters became NaN, and
    gradviz check's table showed ``update/weight -`` under "no parameter changed between this
    backward call and the next forward (gradients accumulated over micro-batches?)"."""
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = gradviz.optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.randn(8, 3)
    x[0, 0] = float("nan")
    with gradviz.trace() as tr:
        model(x).pow(2).mean().backward()
        opt.step()
    report = tr.check()
    assert all(np.isnan(layer.update_ratio) for layer in report.layers)
    text = str(report)
    assert "no parameter changed" not in text
    assert text.splitlines()[-1].rstrip().endswith("nan")


def test_the_summary_of_one_parameter_says_tensor():
    """Was: ``parameters: 1 tensors, 3 values`` for a loop over one weight."""
    from gradviz.viz.summary import summary

    w = nn.Parameter(gradviz.ones(1))
    with gradviz.trace() as tr:
        (w * 2.0).sum().backward()
    assert "parameters: 1 tensor, 1 value\n" in summary(tr)


def test_the_summary_lines_up_gradients_after_long_shapes():
    """Was: ``main.0.weight (16, 32, 4, 4)  |grad|`` two columns right of ``main.1.weight
    (32,)         |grad|`` in a DCGAN generator's summary."""
    from gradviz.viz.summary import summary

    gradviz.manual_seed(0)
    model = nn.Sequential(nn.ConvTranspose2d(16, 32, 4), nn.BatchNorm2d(32))
    with gradviz.trace() as tr:
        model(gradviz.randn(2, 16, 1, 1)).sum().backward()
    rows = [line for line in summary(tr).splitlines() if "|grad|" in line and "(" in line]
    assert len(rows) == 4
    assert len({row.index("|grad|") for row in rows}) == 1


def test_drawing_a_trace_that_recorded_nothing_says_where_the_code_goes(tmp_path):
    """Was: a trace whose ``with`` block ran nothing (the training loop written after it)
    drew a picture holding only the legend, as a page too, without a word."""
    with gradviz.trace() as tr:
        pass
    for view, name in (("forward", "f.svg"), ("backward", "b.png"), ("html", "p.html")):
        with pytest.raises(gradviz.GradvizError, match=r"inside 'with gradviz\.trace"):
            tr.render(view, tmp_path / name)
    with pytest.raises(gradviz.GradvizError, match="nothing was recorded in this trace"):
        gradviz.render(tr)
    assert not list(tmp_path.iterdir())


VAE_STEP = """\
import gradviz as torch
from gradviz import nn
torch.manual_seed(0)
enc = nn.Linear(4, 4)
data = torch.rand(3, 4)
mu = enc(data)
eps = torch.randn_like(mu)
z = mu + eps * 0.5
loss = nn.functional.mse_loss(z, torch.Variable(data.numpy()))
loss.backward()
"""


def test_an_input_made_on_a_line_of_its_own_is_named_after_its_variable(tmp_path):
    """Was: the VAE tutorial's ``eps = torch.randn_like(std)`` and DCGAN's ``label =
    torch.full(...)`` were drawn as unnamed inputs; an input made inside an expression
    (``loss = f(..., Variable(x))``) stays unnamed."""
    script = tmp_path / "vae.py"
    script.write_text(VAE_STEP, encoding="utf-8")
    graph = run_script(script).passes[-1].graph
    names = sorted(str(a["name"]) for _, a in graph.nodes(data=True) if a["kind"] == "input")
    assert names == ["None", "data", "eps"]


def test_diff_does_not_call_the_update_of_a_zero_initialised_bias_new():
    """Was: DCGAN's BatchNorm bias starts at 0, so its first update/weight is undefined
    (``update 0.00113 (weight was 0)``); gradviz diff compared it as 0: ``update/weight
    0 -> 0.841 (new)``, the largest change, as if the first step had not moved it."""
    gradviz.manual_seed(0)
    layer = nn.Linear(2, 1)
    nn.init.zeros_(layer.bias)
    opt = gradviz.optim.SGD(layer.parameters(), lr=0.1)
    graphs = []
    for _ in range(2):
        with gradviz.trace() as tr:
            layer(gradviz.randn(4, 2)).pow(2).mean().backward()
            opt.step()
        opt.zero_grad()
        graphs.append(tr.graph)
    bias = [a for _, a in graphs[0].nodes(data=True) if a.get("name") == "bias"]
    assert bias[0]["update"]["norm"] > 0  # the first step moved it, from 0
    report = gradviz.diff(*graphs)
    fields = {(c.key, c.field) for c in report.changes}
    assert ("param:bias", "update/weight") not in fields
    assert ("param:weight", "update/weight") in fields
