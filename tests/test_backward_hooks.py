"""``Module.register_full_backward_hook`` and ``register_full_backward_pre_hook``, side by side
with PyTorch's (the oracle): what the hooks are given, when they fire, and what their results
change upstream."""

import contextlib
import copy
import importlib
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import gradviz
from gradviz import Variable, nn
from gradviz.autograd.errors import BackwardError, InplaceError
from gradviz.cli import cli

torch = pytest.importorskip("torch")
tnn = torch.nn

NO_INPUT_GRAD = "Full backward hook is firing when gradients are computed"


def twins(ours, theirs):
    """``ours`` in float64 with ``theirs``'s parameters (``theirs`` in float64 too)."""
    theirs.double()
    ours.double()
    for (name, p), (tname, tp) in zip(
        ours.named_parameters(), theirs.named_parameters(), strict=True
    ):
        assert name == tname
        p.numpy()[...] = tp.detach().numpy()
    return ours, theirs


def pair(shape, seed=0, requires_grad=True):
    data = np.random.default_rng(seed).standard_normal(shape)
    return (
        Variable(data.copy(), requires_grad=requires_grad),
        torch.tensor(data, requires_grad=requires_grad),
    )


def recorder(log, name=""):
    """A backward hook that keeps what it is given (as arrays, None kept)."""

    def hook(module, grad_input, grad_output):
        log.append((name, _arrays(grad_input), _arrays(grad_output)))

    return hook


def _arrays(grads):
    return tuple(
        None if g is None else g.detach().numpy().copy()  # a tensor or a Variable
        for g in grads
    )


def assert_same_calls(ours, theirs):
    assert len(ours) == len(theirs)
    for (name, gi, go), (tname, tgi, tgo) in zip(ours, theirs, strict=True):
        assert name == tname
        for got, want in ((gi, tgi), (go, tgo)):
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert (g is None) == (w is None)
                if g is not None:
                    assert isinstance(g, np.ndarray)
                    np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def assert_same_grads(ours, theirs):
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12, err_msg=name)


# --------------------------------------------------------------------------- what hooks see


def test_linear_hook_gets_grad_input_and_grad_output_as_torch():
    ours, theirs = twins(nn.Linear(4, 3), tnn.Linear(4, 3))
    log, tlog = [], []
    ours.register_full_backward_hook(recorder(log))
    theirs.register_full_backward_hook(recorder(tlog))
    x, tx = pair((2, 4))
    (ours(x) ** 2).sum().backward()
    (theirs(tx) ** 2).sum().backward()
    assert_same_calls(log, tlog)
    assert log[0][1][0].shape == (2, 4)
    assert log[0][2][0].shape == (2, 3)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)
    assert_same_grads(ours, theirs)


@pytest.mark.parametrize("traced", [False, True])
def test_sequential_hooks_fire_once_each_in_torch_order(traced):
    def build(mod):
        return mod.Sequential(mod.Linear(3, 5), mod.Tanh(), mod.Linear(5, 2))

    ours, theirs = twins(build(nn), build(tnn))
    log, tlog = [], []
    for model, into in ((ours, log), (theirs, tlog)):
        model.register_full_backward_hook(recorder(into, "seq"))
        for name, child in model.named_children():
            child.register_full_backward_hook(recorder(into, name))
    x, tx = pair((4, 3))
    with gradviz.trace() if traced else contextlib.nullcontext():  # the engine's other order
        ours(x).sum().backward()
    theirs(tx).sum().backward()
    assert [name for name, _, _ in log] == ["2", "1", "0", "seq"]
    assert_same_calls(log, tlog)


class TwoInputs(nn.Module):
    """``lin(a) * b * scale`` with a number in between (a non-Variable argument)."""

    def __init__(self, mod):
        super().__init__()
        self.lin = mod.Linear(3, 3)

    def forward(self, a, scale, b):
        return self.lin(a) * b * scale


class TorchTwoInputs(tnn.Module):
    def __init__(self):
        super().__init__()
        self.lin = tnn.Linear(3, 3)

    forward = TwoInputs.forward


@pytest.mark.parametrize("b_requires_grad", [True, False])
def test_two_inputs_and_a_number_as_torch(b_requires_grad):
    ours, theirs = twins(TwoInputs(nn), TorchTwoInputs())
    log, tlog = [], []
    ours.register_full_backward_hook(recorder(log))
    theirs.register_full_backward_hook(recorder(tlog))
    a, ta = pair((2, 3), 1)
    b, tb = pair((2, 3), 2, requires_grad=b_requires_grad)
    ours(a, 2.0, b).sum().backward()
    theirs(ta, 2.0, tb).sum().backward()
    assert_same_calls(log, tlog)
    grad_input = log[0][1]
    assert grad_input[1] is None  # the number
    if not b_requires_grad:  # a Variable given no gradient: zeros, as PyTorch gives
        np.testing.assert_array_equal(grad_input[2], np.zeros((2, 3)))


class Pair(nn.Module):
    """Two outputs (a tuple): the second one is often left unused."""

    def forward(self, a):
        return a * 2, a * 3


class TorchPair(tnn.Module):
    forward = Pair.forward


def test_tuple_output_with_an_unused_output_gives_none_as_torch():
    log, tlog = [], []
    pres, tpres = [], []
    ours, theirs = Pair(), TorchPair()
    ours.register_full_backward_hook(recorder(log))
    theirs.register_full_backward_hook(recorder(tlog))
    ours.register_full_backward_pre_hook(lambda m, go: pres.append(_arrays(go)))
    theirs.register_full_backward_pre_hook(lambda m, go: tpres.append(_arrays(go)))
    a, ta = pair((3,))
    ours(a)[0].sum().backward()
    theirs(ta)[0].sum().backward()
    assert_same_calls(log, tlog)
    assert pres[0][1] is None
    assert tpres[0][1] is None
    np.testing.assert_array_equal(pres[0][0], tpres[0][0].copy())


def test_a_module_called_twice_fires_twice_as_torch():
    ours, theirs = twins(nn.Linear(3, 3), tnn.Linear(3, 3))
    log, tlog = [], []
    ours.register_full_backward_hook(recorder(log))
    theirs.register_full_backward_hook(recorder(tlog))
    x, tx = pair((2, 3))
    (ours(ours(x)) ** 2).sum().backward()
    (theirs(theirs(tx)) ** 2).sum().backward()
    assert len(log) == 2
    assert_same_calls(log, tlog)
    assert_same_grads(ours, theirs)


def test_an_identity_module_and_a_repeated_output_as_torch():
    class Twice(nn.Module):
        def forward(self, x):
            return x, x

    class TorchTwice(tnn.Module):
        forward = Twice.forward

    for ours, theirs in ((nn.Identity(), tnn.Identity()), (Twice(), TorchTwice())):
        log, tlog = [], []
        ours.register_full_backward_hook(recorder(log))
        theirs.register_full_backward_hook(recorder(tlog))
        x, tx = pair((3,))
        out, tout = ours(x), theirs(tx)
        if isinstance(out, tuple):
            out, tout = out[0] * 2 + out[1] * 5, tout[0] * 2 + tout[1] * 5
        (out * 3).sum().backward()
        (tout * 3).sum().backward()
        assert_same_calls(log, tlog)
        np.testing.assert_allclose(x.grad, tx.grad.numpy())


def test_every_backward_fires_again_with_retain_graph():
    ours = nn.Linear(2, 2)
    log = []
    ours.register_full_backward_hook(recorder(log))
    x = Variable(np.ones((1, 2), np.float32), requires_grad=True)
    y = ours(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert len(log) == 2


# ------------------------------------------------------------------------ what hooks change


def test_a_hook_replacing_grad_input_changes_upstream_grads_as_torch():
    def build(mod):
        return mod.Sequential(mod.Linear(3, 4), mod.ReLU(), mod.Linear(4, 2))

    ours, theirs = twins(build(nn), build(tnn))

    def ours_hook(module, grad_input, grad_output):
        return (grad_input[0] * 3.0,)

    def theirs_hook(module, grad_input, grad_output):
        return (grad_input[0] * 3.0,)

    ours[2].register_full_backward_hook(ours_hook)
    theirs[2].register_full_backward_hook(theirs_hook)
    x, tx = pair((5, 3))
    (ours(x) ** 2).sum().backward()
    (theirs(tx) ** 2).sum().backward()
    assert_same_grads(ours, theirs)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_a_hook_returning_none_for_an_input_stops_its_gradient_as_torch():
    ours, theirs = twins(nn.Linear(2, 2), tnn.Linear(2, 2))
    ours.register_full_backward_hook(lambda m, gi, go: (None,))
    theirs.register_full_backward_hook(lambda m, gi, go: (None,))
    x, tx = pair((1, 2))
    ours(x).sum().backward()
    theirs(tx).sum().backward()
    assert x.grad is None
    assert tx.grad is None
    assert_same_grads(ours, theirs)  # the module's own parameters still get theirs


def test_a_pre_hook_replacing_grad_output_changes_the_modules_grads_as_torch():
    ours, theirs = twins(nn.Linear(3, 2), tnn.Linear(3, 2))
    seen, tseen = [], []
    ours.register_full_backward_pre_hook(lambda m, go: (go[0] * -2.0,))
    theirs.register_full_backward_pre_hook(lambda m, go: (go[0] * -2.0,))
    ours.register_full_backward_hook(recorder(seen))  # sees the replaced grad_output
    theirs.register_full_backward_hook(recorder(tseen))
    x, tx = pair((4, 3))
    (ours(x) ** 2).sum().backward()
    (theirs(tx) ** 2).sum().backward()
    assert_same_calls(seen, tseen)
    assert_same_grads(ours, theirs)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_a_wrong_number_of_gradients_is_refused_as_torch():
    ours, theirs = nn.Linear(2, 2), tnn.Linear(2, 2)
    ours.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    theirs.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    x, tx = pair((1, 2))
    x, tx = x.float(), tx.float()
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        theirs(tx).sum().backward()
    with pytest.raises(BackwardError, match="invalid number of grad_input, got 2, but expected 1"):
        ours(x).sum().backward()


def test_a_gradient_of_the_wrong_shape_names_the_module():
    ours = nn.Linear(2, 2)
    ours.register_full_backward_pre_hook(lambda m, go: (np.ones(3),))
    x = Variable(np.ones((1, 2), np.float32), requires_grad=True)
    with pytest.raises(BackwardError, match="backward hook of Linear returned a gradient of shape"):
        ours(x).sum().backward()


# -------------------------------------------------------------------- registration, removal


def test_remove_stops_the_hook_and_prepend_puts_it_first():
    ours = nn.Linear(2, 2)
    calls = []
    first = ours.register_full_backward_hook(lambda *a: calls.append("first"))
    ours.register_full_backward_hook(lambda *a: calls.append("early"), prepend=True)
    pre = ours.register_full_backward_pre_hook(lambda *a: calls.append("pre"))
    x = Variable(np.ones((1, 2), np.float32), requires_grad=True)
    ours(x).sum().backward()
    assert calls == ["pre", "early", "first"]
    first.remove()
    pre.remove()
    calls.clear()
    ours(x).sum().backward()
    assert calls == ["early"]


def test_hooks_of_a_call_are_those_registered_when_it_ran_as_torch():
    ours, theirs = nn.Linear(2, 2), tnn.Linear(2, 2)
    calls, tcalls = [], []
    handle = ours.register_full_backward_hook(lambda *a: calls.append(1))
    thandle = theirs.register_full_backward_hook(lambda *a: tcalls.append(1))
    x, tx = pair((1, 2))
    y, ty = ours(x.float()).sum(), theirs(tx.float()).sum()
    handle.remove()
    thandle.remove()
    y.backward()
    ty.backward()
    assert calls == tcalls == [1]


def test_hooks_leave_state_dict_save_and_copies_alone(tmp_path):
    plain, hooked = nn.Linear(3, 2), nn.Linear(3, 2)
    hooked.load_state_dict(plain.state_dict())
    log = []
    hooked.register_full_backward_hook(recorder(log))
    hooked.register_full_backward_pre_hook(lambda m, go: None)
    assert list(hooked.state_dict()) == list(plain.state_dict()) == ["weight", "bias"]
    gradviz.save(hooked.state_dict(), tmp_path / "w.pt")
    restored = nn.Linear(3, 2)
    restored.load_state_dict(gradviz.load(tmp_path / "w.pt"))
    np.testing.assert_array_equal(restored.weight.numpy(), hooked.weight.numpy())
    twin = copy.deepcopy(hooked)  # a copy keeps its hooks running, as forward hooks do
    x = Variable(np.ones((1, 3), np.float32), requires_grad=True)
    twin(x).sum().backward()
    assert len(log) == 1


@pytest.mark.parametrize("hooked", [False, True])
def test_identity_ops_only_for_a_module_with_backward_hooks(hooked):
    layer = nn.Linear(2, 2)
    if hooked:
        layer.register_full_backward_pre_hook(lambda m, go: None)
    with gradviz.trace() as tr:
        layer(Variable(np.ones((1, 2), np.float32), requires_grad=True)).sum().backward()
    ops = [data.get("op") for _, data in tr.graph.nodes(data=True)]
    assert ops.count("BackwardHookFunction") == (2 if hooked else 0)
    assert ops.count("Linear") == 1


# ------------------------------------------------------------------ no input requires grad


def test_inputs_without_grad_still_fire_with_none_and_warn_as_torch():
    ours, theirs = twins(nn.Linear(3, 2), tnn.Linear(3, 2))
    log, tlog = [], []
    ours.register_full_backward_hook(recorder(log))
    theirs.register_full_backward_hook(recorder(tlog))
    x, tx = pair((2, 3), requires_grad=False)
    with pytest.warns(UserWarning, match=NO_INPUT_GRAD):
        theirs(tx).sum().backward()
    with pytest.warns(UserWarning, match=NO_INPUT_GRAD) as record:
        ours(x).sum().backward()
    assert record[0].filename == __file__  # the user's backward() line
    assert log[0][1] == (None,)
    assert_same_calls(log, tlog)
    assert_same_grads(ours, theirs)


def test_inputs_without_grad_a_hook_may_not_return_gradients():
    ours = nn.Linear(2, 2)
    ours.register_full_backward_hook(lambda m, gi, go: (np.ones((1, 2)),))
    x = Variable(np.ones((1, 2), np.float32))
    with (
        pytest.warns(UserWarning, match=NO_INPUT_GRAD),
        pytest.raises(BackwardError, match="should always return None or None for all"),
    ):
        ours(x).sum().backward()


# ----------------------------------------------------------------------- in-place is refused


class AddOneInPlace(nn.Module):
    def forward(self, x):
        return x.add_(1)


class TorchAddOneInPlace(tnn.Module):
    forward = AddOneInPlace.forward


def test_writing_an_input_in_place_in_forward_is_refused_as_torch():
    ours, theirs = AddOneInPlace(), TorchAddOneInPlace()
    ours.register_full_backward_hook(lambda *a: None)
    theirs.register_full_backward_hook(lambda *a: None)
    x, tx = pair((2,))
    with pytest.raises(RuntimeError, match="Output 0 of BackwardHookFunction is a view"):
        theirs(tx * 1)
    with pytest.raises(InplaceError, match="Output 0 of BackwardHookFunction is a view") as caught:
        ours(x * 1)
    assert "clone it first" in str(caught.value)
    plain = AddOneInPlace()  # without hooks, the same write is recorded as usual
    assert plain(x * 1).requires_grad


def test_writing_the_output_in_place_is_refused_as_torch():
    ours, theirs = nn.Linear(2, 2), tnn.Linear(2, 2)
    ours.register_full_backward_hook(lambda *a: None)
    theirs.register_full_backward_hook(lambda *a: None)
    x, tx = pair((1, 2))
    ty = theirs(tx.float())
    with pytest.raises(RuntimeError, match="Output 0 of BackwardHookFunction is a view"):
        ty += 1
    y = ours(x.float())
    with pytest.raises(InplaceError, match="Output 0 of BackwardHookFunction is a view"):
        y += 1


def test_a_non_variable_output_warns_as_torch():
    class Dict(nn.Module):
        def forward(self, x):
            return {"y": x * 2}

    ours = Dict()
    ours.register_full_backward_hook(lambda *a: None)
    with pytest.warns(UserWarning, match="For backward hooks to be called, module output") as w:
        ours(Variable(np.ones(2), requires_grad=True))
    assert w[0].filename == __file__


# ------------------------------------------------------------------------ traced and drawn


def zero_the_input_gradient(module, grad_input, grad_output):
    return (grad_input[0] * 0,)


def test_check_blames_a_module_hook_that_zeroes_a_gradient():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    model[2].register_full_backward_hook(zero_the_input_gradient)
    x = gradviz.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    with gradviz.trace() as tr:
        model(x).pow(2).mean().backward()
    (event,) = [e for e in tr.events if e.kind == "grad_hook"]
    assert event.op == "zero_the_input_gradient"
    assert "test_backward_hooks.py:" in event.source
    assert not model[0].weight.grad.any()
    (found,) = [f for f in tr.check().by_kind("no_gradient") if "0.weight" in f.message]
    assert "gradient hook zero_the_input_gradient at " in found.message
    assert "(a backward hook of module 2)" in found.message


SCRIPT = """
    import numpy as np
    import gradviz
    from gradviz import nn

    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    seen = []
    model[0].register_full_backward_hook(lambda m, gi, go: seen.append(go[0].shape))
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32), requires_grad=True)
    loss = nn.MSELoss()(model(x), gradviz.Variable(np.zeros((5, 1), dtype=np.float32)))
    loss.backward()
    assert seen == [(5, 4)], seen
"""


@pytest.mark.parametrize("command", ["render", "check"])
def test_a_script_with_a_backward_hook_renders_and_checks(tmp_path, command):
    script = tmp_path / "hooked.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    args = [command, str(script), "-o", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, [*args, "--format", "dot"] if command == "render" else args)
    assert result.exit_code == 0, result.output
    if command == "render":
        assert "BackwardHookFunction 2" in result.stdout
        forward = (tmp_path / "out" / "hooked.forward.dot").read_text()
        assert forward.count("BackwardHookFunction") >= 2  # named, in the module's cluster
    else:
        assert "0 errors" in result.stdout


def test_hooks_are_given_variables_and_may_return_them():
    layer = nn.Linear(2, 2)
    given = []

    def halve(module, grad_input, grad_output):
        given.append((grad_input, grad_output))
        return tuple(g * 0.5 for g in grad_input)

    layer.register_full_backward_hook(halve)
    x = Variable(np.ones((1, 2), np.float32), requires_grad=True)
    layer(x).sum().backward()
    grad_input, grad_output = given[0]
    assert all(isinstance(g, Variable) for g in (*grad_input, *grad_output))
    np.testing.assert_allclose(x.grad, 0.5 * layer.weight.numpy().sum(0, keepdims=True))


def test_global_module_hooks_run_for_every_module_before_its_own_as_pytorchs():
    """``nn.modules.module.register_module_forward_hook`` and friends (the feature-extraction
    posts' way to see every layer): each module's call, the global hooks before its own."""

    def run(lib, x):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
        mm = importlib.import_module(f"{lib.__name__}.nn.modules.module")
        seen = []
        net[2].register_forward_hook(lambda m, i, o: seen.append("own forward"))
        net[2].register_full_backward_hook(lambda m, gi, go: seen.append("own backward"))
        handles = [
            mm.register_module_forward_pre_hook(
                lambda m, i: seen.append(f"pre {type(m).__name__}")
            ),
            mm.register_module_forward_hook(lambda m, i, o: seen.append(f"fwd {type(m).__name__}")),
            mm.register_module_full_backward_pre_hook(
                lambda m, go: seen.append(f"bpre {type(m).__name__} {tuple(go[0].shape)}")
            ),
            mm.register_module_full_backward_hook(
                lambda m, gi, go: seen.append(f"bwd {type(m).__name__}")
            ),
        ]
        try:
            net(lib.tensor(x, requires_grad=True)).sum().backward()
        finally:
            for handle in handles:
                handle.remove()
        net(lib.tensor(x))  # the hooks are off
        return seen

    x = np.ones((2, 3), np.float32)
    assert run(gradviz, x) == run(torch, x)


def test_hook_tables_exist_on_every_module_and_clear_as_pytorchs():
    """Was: AttributeError for `module._forward_hooks` on a module with no hook (scripts reset
    hooks with `m._forward_hooks.clear()`), and tuples, not hooks, in the tables."""

    def run(lib):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
        seen = []
        tables = [dict(m._forward_hooks) for m in net.modules()]
        net[0].register_forward_hook(lambda m, i, o: seen.append("hook"))
        net[1]._forward_pre_hooks[7] = lambda m, i: seen.append("put in the table")
        net(lib.ones(1, 2))
        hooks = [type(h).__name__ for h in net[0]._forward_hooks.values()]
        for m in net.modules():
            m._forward_hooks.clear()
            m._forward_pre_hooks.clear()
        net(lib.ones(1, 2))
        return tables, seen, hooks

    assert run(gradviz) == run(torch)
