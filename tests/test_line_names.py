"""Op results are named after the variable their line assigns (``h = self.fc1(x).relu()``: the
Relu is ``h``), so a learner finds the code's names on the graph; a name only ever marks a value
the variable held."""

import sys

import numpy as np

import gradviz
import gradviz.nn as nn
import gradviz.nn.functional as F
from gradviz.viz.draw.render import build


def _named(tr) -> dict[str, list[str]]:
    """``{name: [op, ...]}`` of the named op nodes of the trace's graph, in recording order."""
    out: dict[str, list[str]] = {}
    for _, a in tr.graph.nodes(data=True):
        if a["kind"] == "op" and a["name"]:
            out.setdefault(a["name"], []).append(a["op"])
    return out


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(3, 4), nn.Linear(4, 1)

    def forward(self, x):
        h = self.fc1(x).relu()
        return self.fc2(h)


def test_the_last_op_of_an_assigning_line_takes_its_variable_s_name():
    gradviz.manual_seed(0)
    net, x = Net(), gradviz.randn(5, 3)
    with gradviz.trace() as tr:
        out = net(x)
        loss = ((out - 1) ** 2).mean()
        loss.backward()
    # ``out = net(x)`` runs no op itself: the Linear of ``return self.fc2(h)`` is its value
    assert _named(tr) == {"h": ["Relu"], "out": ["Linear"], "loss": ["Mean"]}
    root = tr.graph.graph["root"]
    assert tr.graph.nodes[root]["name"] == "loss"
    assert "loss = <b>Mean</b>" in build(tr.graph, "forward").source


def test_ops_inside_a_function_call_name_only_its_result():
    gradviz.manual_seed(0)
    q, k, v = (gradviz.randn(2, 4, 3, requires_grad=True) for _ in range(3))
    with gradviz.trace() as tr:
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y.sum().backward()
    assert _named(tr) == {"y": ["MatMul"]}  # not the scores' MatMul, Mul, MaskedFill, Softmax


def test_a_line_run_again_names_its_last_value_and_a_tuple_names_each_element():
    w = gradviz.randn(3, requires_grad=True)
    with gradviz.trace() as tr:
        x = w
        for _ in range(3):  # no backward in between: only the value x holds at the loss
            x = x * 2
        a, b = x.relu(), x.tanh()  # each element its target (read from the call's columns)
        c, d = [x.exp(), x.sin()]  # a list assigns no one name
        (a + b + c + d).sum().backward()
    ops = [a["op"] for _, a in tr.graph.nodes(data=True) if a["kind"] == "op"]
    assert ops.count("Mul") == 3
    tuples = {"a": ["Relu"], "b": ["Tanh"]} if sys.version_info >= (3, 11) else {}
    assert _named(tr) == {"x": ["Mul"], **tuples}
    last_mul = [n for n, a in tr.graph.nodes(data=True) if a.get("op") == "Mul"][-1]
    assert tr.graph.nodes[last_mul]["name"] == "x"


def test_each_step_names_its_own_ops():
    w = gradviz.randn(3, requires_grad=True)
    opt = gradviz.optim.SGD([w], lr=0.1)
    with gradviz.trace(detail="summary", keep_full=2) as tr:
        for _ in range(3):
            opt.zero_grad()
            loss = (w * np.float32(2)).sum()
            loss.backward()
            opt.step()
    for p in tr.passes:
        assert _named(type("T", (), {"graph": p.graph})()) == {"loss": ["Sum"]}


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        x = x + self.fc(x).relu()
        return x


def test_each_call_of_a_forward_names_its_own_result():
    # the second block's frame may reuse the first's memory: its ops must not take the name
    # from the first block's result
    gradviz.manual_seed(0)
    model = nn.Sequential(Residual(), Residual(), Residual())
    with gradviz.trace() as tr:
        model(gradviz.randn(2, 3)).sum().backward()
    assert _named(tr) == {"x": ["Add", "Add", "Add"]}


def _pair(x):
    return x.relu(), x.tanh()  # a tuple: each element named by the line that unpacks it


def _scaled(x):
    return _doubled(x) + 1


def _doubled(x):
    return x * 2


def test_a_returned_value_is_named_by_the_line_that_assigns_the_call():
    w = gradviz.randn(3, requires_grad=True)
    with gradviz.trace() as tr:
        z = _scaled(w)  # through two returns: the Mul is _scaled's, the Add is z
        a, b = _pair(z)
        (a * b).sum().backward()
    tuples = {"a": ["Relu"], "b": ["Tanh"]} if sys.version_info >= (3, 11) else {}
    assert _named(tr) == {"z": ["Add"], **tuples}


def test_lambdas_pass_their_value_on_and_comprehensions_name_no_element():
    w = gradviz.randn(3, requires_grad=True)
    double = lambda v: v * 2  # noqa: E731  (the line assigns the function, not a result)
    with gradviz.trace() as tr:
        h = double(w)
        parts = [h.relu(), h.tanh()]
        (parts[0] + parts[1]).sum().backward()
    assert _named(tr) == {"h": ["Mul"]}


def _inputs(tr) -> list[str | None]:
    return [a["name"] for _, a in tr.graph.nodes(data=True) if a["kind"] == "input"]


def test_an_input_is_named_as_the_code_calls_it_and_a_temporary_is_not():
    gradviz.manual_seed(0)
    net = Net()
    loader = gradviz.data.DataLoader(
        gradviz.data.TensorDataset(np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32)),
        batch_size=4,
    )
    with gradviz.trace() as tr:
        for inputs, targets in loader:
            loss = F.mse_loss(net(inputs), targets) + net(gradviz.ones(1, 3)).sum()
            loss.backward()
    # the batch's two Variables by their loop names; the one made inside the line has none
    assert sorted(_inputs(tr), key=str) == [None, "inputs", "targets"]
    assert "<b>targets</b>" in build(tr.graph, "forward").source


def test_a_function_a_transform_calls_does_not_take_the_transform_s_name():
    """``grads = vmap(grad(loss_fn))(...)``: loss_fn's returned loss is not ``grads`` (before,
    a per-sample pass drew its loss as ``grads = Sum``); a plain call still names it."""
    w = gradviz.randn(3)

    def loss_fn(v, x):
        return (v * x).sum()

    with gradviz.trace() as tr:  # the pass drawn: the first example's gradient
        grads = gradviz.func.vmap(gradviz.func.grad(loss_fn), in_dims=(None, 0))(w, w + 1)
    assert grads.shape == (3, 3)
    assert "Sum" not in _named(tr).get("grads", [])
    with gradviz.trace() as tr:
        plain = loss_fn(w.requires_grad_(), w.detach())
        plain.backward()
    assert _named(tr) == {"plain": ["Sum"]}


class _Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(4, 12)

    def forward(self, x):
        q, k, v = self.qkv(x).split(4, dim=-1)
        q, k, v = (z.unsqueeze(1) for z in (q, k, v))  # reassigned: the splits keep q, k, v
        return F.scaled_dot_product_attention(q, k, v)


def test_a_line_unpacking_a_value_names_each_variable_it_fills():
    """Was: ``q, k, v = self.qkv(x).split(...)`` (nanoGPT) and ``a, b = x.unbind(-1)`` named
    nothing: an unpacked value's elements are made inside gradviz, not by the line's parts."""
    gradviz.manual_seed(0)
    attention, x = _Attention(), gradviz.randn(2, 3, 4)
    with gradviz.trace() as tr:
        y = attention(x)
        a, b = y.sum((1, 2, 3)).unbind(-1)
        c, d = y.sum(-1).chunk(2, dim=0)
        c = c * 2  # a later value of c is named by its own line
        (a + b + c.sum() + d.sum()).backward()
    named = _named(tr)
    assert {k: named[k] for k in "qkvab"} == {
        "q": ["Split"],
        "k": ["Split"],
        "v": ["Split"],
        "a": ["Index"],
        "b": ["Index"],
    }
    assert named["c"] == ["Split", "Mul"]
    assert named["d"] == ["Split"]
    assert "Linear" not in [op for ops in named.values() for op in ops]  # qkv(x): no variable


def test_leaves_made_inside_a_call_do_not_take_the_name_of_its_result():
    """``out = f(torch.randn(2, 3, requires_grad=True), ...)``: ``out`` is the call's result,
    not each leaf made in its arguments; a leaf made on its own line keeps that line's name."""
    w = gradviz.randn(4, 3, requires_grad=True)
    with gradviz.trace() as tr:
        b = gradviz.zeros(4, requires_grad=True)
        out = F.linear(gradviz.randn(2, 3, requires_grad=True), w, b)
        out.sum().backward()
    params = sorted(
        (a["shape"], a["name"]) for _, a in tr.graph.nodes(data=True) if a["kind"] == "param"
    )
    assert params == [((2, 3), None), ((4,), "b"), ((4, 3), "w")]
    assert _named(tr) == {"out": ["Linear"]}


class _HandLinear:
    """A layer written by hand, as makemore's: no Module, attributes set in ``__init__``."""

    def __init__(self, fan_in, fan_out):
        self.weight = gradviz.randn(fan_in, fan_out) / fan_in**0.5
        self.bias = gradviz.zeros(fan_out)

    def __call__(self, x):
        self.out = x @ self.weight + self.bias
        return self.out


def test_attributes_of_hand_written_layers_name_their_values():
    with gradviz.trace() as tr:
        layer = _HandLinear(3, 2)
        for p in (layer.weight, layer.bias):
            p.requires_grad = True
        layer(gradviz.randn(4, 3)).sum().backward()
    params = {a["shape"]: a["name"] for _, a in tr.graph.nodes(data=True) if a["kind"] == "param"}
    assert params == {(3, 2): "weight", (2,): "bias"}
