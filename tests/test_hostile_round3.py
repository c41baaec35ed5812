"""Hostile input, round 3: what a learner's scripts (a GPT with its own weight init, a CNN on
digits, makemore's hand-written updates) and odd-but-legal inputs did to the recorder, the
layers and the commands; each case ends in the right result or a GradvizError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import run_gradviz

import gradviz
from gradviz import nn
from gradviz.cli import cli
from gradviz.nn import functional as F


def _param_norms(tr) -> dict[str, float]:
    return {
        a["name"]: a["value"]["norm"] for _, a in tr.graph.nodes(data=True) if a["kind"] == "param"
    }


def test_a_parameter_initialised_twice_inside_the_trace_shows_its_last_value():
    """nanoGPT's ``self.apply(self._init_weights)`` re-initialises an Embedding (already
    filled with N(0, 1) by its constructor) to N(0, 0.02): the trace showed the N(0, 1) values,
    so |weight| was 50x too big and check warned of an update/weight ratio 50x too small."""
    gradviz.manual_seed(0)
    with gradviz.trace() as tr:
        emb = nn.Embedding(22, 32)
        nn.init.normal_(emb.weight, mean=0.0, std=0.02)
        lin = nn.Linear(32, 4)
        nn.init.normal_(lin.weight, std=0.02)
        nn.init.zeros_(lin.weight)  # a second write after the first one was seen
        truth = float(np.linalg.norm(emb.weight.numpy()))
        lin(emb(gradviz.randint(22, (4, 8)))).sum().backward()
    norms = _param_norms(tr)
    assert norms["emb.weight"] == pytest.approx(truth, rel=1e-6)  # loose layers: their names
    assert norms["lin.weight"] == 0.0
    (layer,) = (x for x in tr.check().layers if x.cls == "Embedding")
    assert layer.weight_norm == pytest.approx(truth, rel=1e-6)


LEAF_UPDATE_BUG = """\
import gradviz
gradviz.manual_seed(0)
x = gradviz.randn(16, 3)
y = gradviz.randn(16, 1)
w = gradviz.randn(3, 1, requires_grad=True)
for i in range(3):
    loss = ((x @ w - y) ** 2).mean()
    loss.backward()
    w -= 0.1 * w.grad  # the tutorials' update, without no_grad: raises after backward
"""


def _script(folder: Path, body: str, name: str = "train.py") -> Path:
    script = folder / name
    script.write_text(body, encoding="utf-8")
    return script


@pytest.mark.parametrize("command", ["render", "check"])
def test_a_script_failing_after_its_backward_still_gets_the_step_drawn(tmp_path, command):
    """The learner's classic bug (an update without no_grad) raises right after backward:
    render and check said 'nothing was drawn' though the step they draw was captured
    (timeline wrote it); now they draw it, say so and still exit 1."""
    script = _script(tmp_path, LEAF_UPDATE_BUG)
    out = tmp_path / "out"
    args = [command, str(script), "-o", str(out), "--format", "dot"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "a leaf Variable that requires grad" in result.output
    done = "drawn" if command == "render" else "checked"
    assert f"backward call 1 was captured before it and is {done} above" in result.output
    assert "nothing was" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["train.backward.dot", "train.forward.dot"]


def test_a_script_failing_before_the_chosen_step_still_draws_nothing(tmp_path):
    script = _script(tmp_path, LEAF_UPDATE_BUG)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["render", str(script), "-o", str(out), "--step", "2"])
    assert result.exit_code == 1
    assert "nothing was drawn" in result.output
    assert not out.exists() or not list(out.iterdir())


def test_the_last_step_of_a_script_that_fails_is_drawn_in_a_real_console_run(tmp_path):
    """--step -1: the last backward call before the failure (a NaN guard that raises)."""
    body = LEAF_UPDATE_BUG.replace(
        "    w -= 0.1 * w.grad  # the tutorials' update, without no_grad: raises after backward\n",
        "    if i == 1:\n        raise SystemExit('loss went bad')\n",
    )
    script = _script(tmp_path, body)
    done = run_gradviz(
        "render", str(script), "-o", "out", "--step", "-1", "--format", "json", cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    assert "backward call 2 was captured before it and is drawn above" in done.stderr
    assert gradviz.load_trace(tmp_path / "out" / "train.trace.json").get_pass().index == 2


def test_backward_takes_create_graph_positionally_and_by_name():
    """PyTorch's create_graph=True (a gradient penalty) was Python's TypeError 'unexpected
    keyword argument'; it is accepted in both places, with and without inputs= (the second
    derivatives themselves: test_second_derivatives)."""
    x = gradviz.randn(3, requires_grad=True)
    (x * x).sum().backward(None, None, False)
    (x * x).sum().backward(create_graph=True)
    (x * x).sum().backward(None, None, True, inputs=[x])
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())
    assert x.grad.grad_fn is not None


def test_a_float16_overflow_is_named_with_the_largest_float16():
    """A half-precision model whose loss is scaled past 65504: check said 'overflow?' and
    advised float64; it now names float16's largest value and advises float32."""
    gradviz.manual_seed(0)
    net = nn.Linear(4, 1).half()
    x, y = gradviz.randn(8, 4).half(), gradviz.randn(8, 1).half()
    with gradviz.trace() as tr, np.errstate(over="ignore"):
        loss = ((net(x) - y) ** 2).mean() * 1e5
        loss.backward()
    (finding,) = [f for f in tr.check().errors if f.op == "Mul"]
    assert "float16 holds at most 65504" in finding.message
    assert any("float32" in a for a in finding.advice)


class _Head(nn.Module):
    """Karpathy's attention head: its causal mask a buffer made by ops (``torch.tril``)."""

    def __init__(self) -> None:
        super().__init__()
        self.key = nn.Linear(4, 4, bias=False)
        self.register_buffer("tril", gradviz.tril(gradviz.ones(3, 3)))
        self.register_buffer("scale", gradviz.ones(1) * 0.5)

    def forward(self, x):
        k = self.key(x)
        wei = (k @ k.transpose(-2, -1)) * self.scale
        wei = wei.masked_fill(self.tril[:3, :3] == 0, float("-inf"))
        return F.softmax(wei, dim=-1) @ k


def test_a_buffer_made_by_ops_before_the_step_is_drawn_as_the_buffer():
    """Under gradviz render (a trace from the script's first line) the mask was drawn as the
    Tril and Mul ops of the constructor, outside its module, not as the buffer 'tril'."""
    gradviz.manual_seed(0)
    x = gradviz.randn(2, 3, 4)
    with gradviz.trace() as tr:
        head = _Head()  # made inside the trace, as in a script that gradviz runs
        head(x).pow(2).mean().backward()
    nodes = dict(tr.graph.nodes(data=True))
    buffers = {a["name"]: a for a in nodes.values() if a["kind"] == "buffer"}
    assert sorted(buffers) == ["scale", "tril"]
    assert buffers["tril"]["shape"] == (3, 3)
    assert not [a for a in nodes.values() if a.get("op") in ("Tril", "Ones")]
    assert "Mul" not in [a.get("op") for a in nodes.values() if a["shape"] == (1,)]


# ------------------------------------------------------ a loss that diverges in the warm-up steps
#: a GPT with a learning rate 1e4 times too high: the loss jumps in the first steps, then drifts
DIVERGED = [2.9, 17.0, 119.6, 156.9, 313.1, 560.9, 440.3, 477.2, 577.4, 901.8, 969.3, 1030.3]
DIVERGED += [900.0 - 10 * i for i in range(40)]


def test_a_loss_that_diverged_during_the_warm_up_fires_when_it_ends():
    """The watchdog waits 10 steps before comparing with a running median; a loss that went
    from 2.9 to ~500 in those steps then fell back slowly never fired ('no loss spike')."""
    from gradviz.viz.diagnose.watchdog import WARMUP, Watchdog

    dog = Watchdog()
    fired = [t for step, loss in enumerate(DIVERGED, 1) if (t := dog.observe(step, loss, 1.0))]
    assert [(t.step, t.kind) for t in fired] == [(WARMUP, "loss_spike")]
    assert "over the first 10 steps" in fired[0].message
    assert "its median 17 over the first 3" in fired[0].message
    # a start that is noisy but does not diverge stays quiet, as before; so does a first
    # batch of one sample that happened to fit (batch size 1: per-sample losses vary 100x)
    noisy = [1.0, 1.0, 1.0, 100.0, 1.0, 0.9, 0.9, 0.8, 0.8, 0.7] + [0.7] * 20
    lucky = [0.001, 0.5, 0.3, 0.6, 0.4, 0.5, 0.45, 0.5, 0.4, 0.5] + [0.4] * 20
    for losses in (noisy, lucky):
        dog = Watchdog()
        assert not [s for s, loss in enumerate(losses, 1) if dog.observe(s, loss, 1.0)]


DIVERGING_SCRIPT = """\
import gradviz
x = gradviz.ones(8, 1)
w = gradviz.ones(1, 1, requires_grad=True)
for step in range(30):
    loss = ((x @ w - 3) ** 2).mean()
    loss.backward()
    lr = 2.0 if step < 4 else 0.0  # too high at first, then the schedule stops the run away
    with gradviz.no_grad():
        w -= lr * w.grad
    w.grad = None
"""


def test_watch_catches_a_run_that_diverged_in_its_first_steps(tmp_path):
    script = _script(tmp_path, DIVERGING_SCRIPT)
    done = run_gradviz("watch", str(script), "-o", "out", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "step 10: loss_spike" in done.stdout
    assert (tmp_path / "out" / "train.step10.timeline.html").is_file()


class _MaybeDeep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first, self.last = nn.Linear(4, 4), nn.Linear(4, 1)

    def forward(self, x, deep: bool):
        return self.last(self.first(x) if deep else x)


def test_a_layer_skipped_in_this_step_is_said_unused_not_cut_from_the_loss():
    """A model of data-dependent depth skips a layer in step 2: check said its parameters'
    'last use is MseLoss' (step 1's loss) 'whose result is unused or reaches the loss only as
    plain data' and advised cross_entropy instead of argmax."""
    gradviz.manual_seed(0)
    model = _MaybeDeep()
    opt = gradviz.optim.SGD(model.parameters(), lr=0.1)
    x, y = gradviz.randn(8, 4), gradviz.randn(8, 1)
    with gradviz.trace() as tr:
        for deep in (True, False):
            loss = F.mse_loss(model(x, deep), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    found = [f for f in tr.check().findings if f.kind == "no_gradient"]
    assert len(found) == 2
    for f in found:
        assert "no op of this step's forward used it" in f.message
        assert "an earlier step" in f.message
        assert "plain data" not in f.message
        assert not any("cross_entropy" in a for a in f.advice)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizers_take_pytorchs_implementation_flags_and_default_lr(name):
    """``AdamW(..., fused=True)``, ``foreach=``, ``capturable=`` (choices of how PyTorch runs
    the same update) were TypeError; ``SGD(params)`` needs no lr since PyTorch 2."""
    torch = pytest.importorskip("torch")
    import inspect

    w = nn.Parameter(gradviz.ones(3))
    theirs_takes = inspect.signature(getattr(torch.optim, name)).parameters
    every = {"foreach": False, "capturable": False, "differentiable": False, "fused": None}
    flags = {k: v for k, v in every.items() if k in theirs_takes}
    opt = getattr(gradviz.optim, name)([w], **flags)
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(3))])
    assert opt.param_groups[0]["lr"] == theirs.param_groups[0]["lr"]
    w.grad = gradviz.ones(3)
    opt.step()
    with pytest.raises(gradviz.GradvizError, match="differentiable=True"):
        getattr(gradviz.optim, name)([w], differentiable=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'fusedd'"):
        getattr(gradviz.optim, name)([w], fusedd=True)


def test_an_optimizers_repr_shows_its_groups_settings_now():
    """nanoGPT's two groups (weight decay 0.1 and 0) and a learning rate set by hand: the repr
    showed the constructor's lr and weight_decay, which no group had any more."""
    lin = nn.Linear(2, 2)
    groups = [
        {"params": [lin.weight], "weight_decay": 0.1},
        {"params": [lin.bias], "weight_decay": 0.0},
    ]
    opt = gradviz.optim.AdamW(groups, lr=6e-4)
    for group in opt.param_groups:
        group["lr"] = 1e-4
    text = repr(opt)
    assert text.startswith("AdamW(lr=0.0001, betas=(0.9, 0.999), eps=1e-08, ")
    assert "weight_decay=[0.1, 0.0]" in text
    assert repr(gradviz.optim.SGD([lin.bias], lr=0.1)) == (
        "SGD(lr=0.1, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)"
    )


def test_optimizer_step_takes_a_closure_as_pytorch():
    """``opt.step(closure)`` (PyTorch's API for optimizers that re-evaluate the loss) was a
    TypeError; it evaluates the closure with gradients on, steps, and returns its loss."""
    w = nn.Parameter(gradviz.ones(2))
    opt = gradviz.optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with gradviz.no_grad():  # PyTorch's step turns gradients on for the closure
        loss = opt.step(closure)
    assert loss.item() == 2.0
    np.testing.assert_allclose(w.numpy(), [0.8, 0.8])
    assert opt.step() is None


DEVICE_LINES = """\
import gradviz as torch
import gradviz.cuda
from gradviz.backends import cudnn
device = (
    "cuda" if torch.cuda.is_available()
    else "mps" if torch.backends.mps.is_available()
    else torch.accelerator.current_accelerator().type if torch.accelerator.is_available()
    else "cpu"
)
torch.cuda.manual_seed(1337)
torch.cuda.manual_seed_all(1337)
cudnn.benchmark = True
torch.backends.cudnn.deterministic = True
model = torch.nn.Linear(2, 1).to(device)
print(device, torch.cuda.device_count(), model(torch.ones(1, 2, device=device)).shape)
"""


def test_the_tutorials_device_selection_runs_on_the_cpu(tmp_path):
    """``torch.device("cuda" if torch.cuda.is_available() else "cpu")``, in nearly every
    PyTorch tutorial, was AttributeError: module 'gradviz' has no attribute 'cuda'."""
    import subprocess
    import sys

    script = _script(tmp_path, DEVICE_LINES)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cpu", "0", "(1,", "1)"]


def test_cuda_of_a_module_or_variable_says_gradviz_runs_on_the_cpu():
    with pytest.raises(gradviz.GradvizError, match="CPU only"):
        nn.Linear(2, 2).cuda()
    with pytest.raises(gradviz.GradvizError, match="CPU only"):
        gradviz.ones(2).cuda()


def test_trunc_normal_draws_inside_its_bounds():
    """``nn.init.trunc_normal_(w, std=0.02)`` (GPT-2 and ViT inits) was AttributeError."""
    gradviz.manual_seed(0)
    w = nn.Parameter(gradviz.empty(200, 50))
    assert nn.init.trunc_normal_(w, std=0.02) is w
    assert w.numpy().std() == pytest.approx(0.02, rel=0.05)
    nn.init.trunc_normal_(w, mean=1.0, std=1.0, a=0.5, b=1.2)
    assert w.numpy().min() >= 0.5
    assert w.numpy().max() <= 1.2
    with pytest.raises(gradviz.GradvizError):
        nn.init.trunc_normal_(w, a=1.0, b=0.0)


def test_advice_does_not_tell_a_script_that_clips_to_clip():
    """A step that already ran clip_grad_norm_(..., 1.0) was told 'clip gradients with
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)' for its high update/weight ratio."""
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = gradviz.optim.SGD(model.parameters(), lr=0.5)
    x, y = gradviz.randn(16, 4), gradviz.randn(16, 1) * 10
    with gradviz.trace() as tr:
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    found = [f for f in tr.check().findings if f.kind == "update_ratio"]
    assert found
    for f in found:
        assert not any("clip_grad_norm_(model.parameters(), 1.0)" in a for a in f.advice)
        assert any("already clipped to a norm of 1" in a for a in f.advice)


RETRY_LOOP = """\
import gradviz
w = gradviz.ones(3, requires_grad=True)
opt = gradviz.optim.SGD([w], lr=0.1)
step = 0
while step < 50:
    try:
        loss = (w * w).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
    except:  # noqa: E722  (a retry loop that swallows everything, the runner's stop too)
        continue
print("finished", step)
"""


def test_a_script_that_swallows_the_stop_in_a_retry_loop_still_ends(tmp_path):
    """The bare ``except:`` caught the runner's stop at every op after the capture, so gradviz
    render wrote the pictures and then never returned (the loop retried for ever); now the
    script runs on to its end, untraced, as it would without gradviz."""
    script = _script(tmp_path, RETRY_LOOP)
    done = run_gradviz(
        "render", str(script), "-o", "out", "--format", "dot", cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "finished 50" in done.stdout
    assert (tmp_path / "out" / "train.backward.dot").is_file()
    assert "update/weight" in done.stdout  # the step drawn is the first one, as asked


def test_a_dataset_indexed_each_step_keeps_its_key_across_steps():
    """makemore's ``Yb = Y[ix]``: Y lives across steps, ix is new in each; in step 1 ix was
    recorded first, in later steps Y (kept from step 1) came first, so their keys swapped and
    ``gradviz diff train.py@1 train.py@150`` said the structure changed (a shape changed from
    (32,) to (325,) and an op was rewired) on an unchanged model."""
    gradviz.manual_seed(0)
    X, Y = gradviz.randn(100, 3), gradviz.randint(0, 4, (100,))
    lin = nn.Linear(3, 4)
    opt = gradviz.optim.SGD(lin.parameters(), lr=0.1)
    with gradviz.trace(detail="summary", keep_full=3) as tr:
        for _ in range(3):
            ix = gradviz.randint(0, 100, (8,))
            loss = F.cross_entropy(lin(X[ix]), Y[ix])
            opt.zero_grad()
            loss.backward()
            opt.step()
    report = gradviz.diff(tr.get_pass(1).graph, tr.get_pass(3).graph)
    assert not report.structure_changed, report
    shapes = {k: m["shape"] for k, m in tr.timeline.nodes.items() if m["kind"] == "input"}
    assert sorted(shapes.values()) == [(8,), (100,), (100, 3)]


def test_diff_of_steps_captured_before_the_script_failed_compares_them(tmp_path):
    """The steps asked for were captured, then the script raised (the update without
    no_grad): diff said 'nothing was compared'; now it compares them, says the script failed
    after, and exits 1 as the help says for a failed script."""
    body = LEAF_UPDATE_BUG.replace(
        "    w -= 0.1 * w.grad  # the tutorials' update, without no_grad: raises after backward\n",
        "    if i == 1:\n        w -= 0.1 * w.grad  # raises after the second backward\n",
    )
    script = _script(tmp_path, body)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["diff", f"{script}@1", f"{script}@2", "-o", str(out), "--format", "dot"]
    )
    assert result.exit_code == 1, result.output
    assert "train.py@1 vs train.py@2: same structure" in result.output
    assert "a leaf Variable that requires grad" in result.output
    assert "after the steps compared above were captured" in result.output
    assert (out / "train@1-vs-train@2.diff.dot").is_file()
