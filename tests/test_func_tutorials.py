"""PyTorch's ``torch.func`` tutorials, their core code run with ``import gradviz as torch``:
"Per-sample-gradients", "Model ensembling", "Jacobians, Hessians, hvp, vhp, and more", and a
MAML-style inner step; and ``gradviz render`` of a script using ``functional_call``.

Sizes are small; each result is checked against the tutorial's own reference (a loop of
separate backward calls, a loop over models, ``autograd.grad`` rows, the closed form).
"""

from __future__ import annotations

import copy
import json
import textwrap
from functools import partial

import numpy as np
import pytest
from click.testing import CliRunner

import gradviz as torch
import gradviz.nn.functional as F
from gradviz import nn
from gradviz.cli import cli
from gradviz.func import (
    functional_call,
    grad,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    stack_module_state,
    vjp,
    vmap,
)


class SimpleCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 6, 3, 1)
        self.fc1 = nn.Linear(6 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def test_per_sample_gradients_tutorial():
    torch.manual_seed(0)
    batch_size = 5
    data = torch.randn(batch_size, 1, 12, 12, dtype=torch.float64)
    targets = torch.randint(10, (batch_size,))
    model = SimpleCNN().double()

    def loss_fn(predictions, targets):
        return F.nll_loss(predictions, targets)

    def compute_grad(sample, target):
        prediction = model(sample.unsqueeze(0))
        loss = loss_fn(prediction, target.unsqueeze(0))
        return torch.autograd.grad(loss, list(model.parameters()))

    per_sample_grads = [compute_grad(data[i], targets[i]) for i in range(batch_size)]
    per_sample_grads = [torch.stack(shards) for shards in zip(*per_sample_grads, strict=True)]

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        predictions = functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return loss_fn(predictions, target.unsqueeze(0))

    ft_compute_sample_grad = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))
    ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)

    assert list(ft_per_sample_grads) == [k for k, _ in model.named_parameters()]
    for want, got in zip(per_sample_grads, ft_per_sample_grads.values(), strict=True):
        assert got.shape == (batch_size, *want.shape[1:])
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    assert all(p.grad is None for p in model.parameters())  # the model's own are untouched


class SimpleMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 8)
        self.fc2 = nn.Linear(8, 8)
        self.fc3 = nn.Linear(8, 3)

    def forward(self, x):
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def test_model_ensembling_tutorial():
    torch.manual_seed(0)
    num_models = 4
    data = torch.randn(6, 5, 1, 4, 4)
    models = [SimpleMLP() for _ in range(num_models)]
    minibatches = data[:num_models]
    loop_different = [model(mb) for model, mb in zip(models, minibatches, strict=True)]
    minibatch = data[0]
    loop_same = [model(minibatch) for model in models]

    params, buffers = stack_module_state(models)
    base_model = copy.deepcopy(models[0])

    def fmodel(params, buffers, x):
        return functional_call(base_model, (params, buffers), (x,))

    assert [p.size(0) for p in params.values()] == [num_models] * 6
    predictions1_vmap = vmap(fmodel)(params, buffers, minibatches)
    assert torch.allclose(predictions1_vmap, torch.stack(loop_different), atol=1e-6)
    predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
    assert torch.allclose(predictions2_vmap, torch.stack(loop_same), atol=1e-6)
    predictions2_vmap.sum().backward()  # the stacked parameters are leaves that learn
    assert params["fc1.weight"].grad.shape == (num_models, 8, 16)


def predict(weight, bias, x):
    return F.linear(x, weight, bias).tanh()


def test_jacobians_hessians_tutorial():
    torch.manual_seed(0)
    D = 5
    weight = torch.randn(D, D, dtype=torch.float64)
    bias = torch.randn(D, dtype=torch.float64)
    x = torch.randn(D, dtype=torch.float64)
    xp = x.clone().requires_grad_()
    unit_vectors = torch.eye(D, dtype=torch.float64)
    rows = [torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0] for vec in unit_vectors]
    jacobian = torch.stack(rows)

    _, vjp_fn = vjp(partial(predict, weight, bias), x)
    (ft_jacobian,) = vmap(vjp_fn)(unit_vectors)
    assert torch.allclose(ft_jacobian, jacobian)
    assert torch.allclose(jacrev(predict, argnums=2)(weight, bias, x), jacobian)
    assert torch.allclose(jacfwd(predict, argnums=2)(weight, bias, x), jacobian)
    ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
    s = 1 - predict(weight, bias, x) ** 2  # d tanh = 1 - tanh^2
    assert torch.allclose(ft_jac_bias, torch.diag(s))
    assert torch.allclose(ft_jac_weight, torch.einsum("i,ij,k->ijk", s, unit_vectors, x))

    hess_api = hessian(predict, argnums=2)(weight, bias, x)
    hess_fwdfwd = jacfwd(jacfwd(predict, argnums=2), argnums=2)(weight, bias, x)
    hess_revrev = jacrev(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
    t = predict(weight, bias, x)  # d2 tanh(Wx+b)_i / dx_j dx_k = -2 t (1 - t^2) W_ij W_ik
    want = torch.einsum("i,ij,ik->ijk", -2 * t * (1 - t**2), weight, weight)
    for got in (hess_api, hess_fwdfwd, hess_revrev):
        assert torch.allclose(got, want)


def test_batch_jacobian_and_batch_hessian_tutorial():
    torch.manual_seed(0)
    batch_size, din, dout = 4, 3, 2
    weight = torch.randn(dout, din, dtype=torch.float64)
    bias = torch.randn(dout, dtype=torch.float64)
    x = torch.randn(batch_size, din, dtype=torch.float64)
    batch_jacobian0 = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))(weight, bias, x)

    def predict_with_output_summed(weight, bias, x):
        return predict(weight, bias, x).sum(0)

    batch_jacobian1 = jacrev(predict_with_output_summed, argnums=2)(weight, bias, x).movedim(1, 0)
    assert batch_jacobian0.shape == (batch_size, dout, din)
    assert torch.allclose(batch_jacobian0, batch_jacobian1)
    batch_hess = vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))(weight, bias, x)
    assert batch_hess.shape == (batch_size, dout, din, din)
    one = hessian(predict, argnums=2)(weight, bias, x[1])
    assert torch.allclose(batch_hess[1], one)


def test_hvp_tutorial():
    torch.manual_seed(0)

    def hvp(f, primals, tangents):
        return jvp(grad(f), primals, tangents)[1]

    def hvp_revrev(f, primals, tangents):
        _, vjp_fn = vjp(grad(f), *primals)
        return vjp_fn(*tangents)

    def f(x):
        return x.sin().sum()

    x = torch.randn(256, dtype=torch.float64)
    tangent = torch.randn(256, dtype=torch.float64)
    want = tangent * -x.sin()  # the Hessian of sum(sin x) is diag(-sin x)
    assert torch.allclose(hvp(f, (x,), (tangent,)), want)
    assert torch.allclose(hvp_revrev(f, (x,), (tangent,))[0], want)


def test_maml_inner_step_differentiates_through_the_update():
    torch.manual_seed(0)
    model = nn.Linear(3, 1).double()
    params = dict(model.named_parameters())
    x, y = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
    lr = 0.1

    def loss(params, x, y):
        return F.mse_loss(functional_call(model, params, (x,)), y)

    def adapted_loss(params):
        grads = grad(loss)(params, x, y)
        fast = {k: p - lr * grads[k] for k, p in params.items()}
        return loss(fast, x, y)

    meta = adapted_loss(params)
    meta.backward()
    got = {k: p.grad.numpy().copy() for k, p in params.items()}
    want = {k: torch.autograd.grad(adapted_loss(params), p)[0].numpy() for k, p in params.items()}
    by_func = grad(adapted_loss)({k: p.detach() for k, p in params.items()})
    for k in params:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-10)
        np.testing.assert_allclose(by_func[k].numpy(), want[k], rtol=1e-10)
    # against finite differences of the whole adapted loss, for the bias
    b = params["bias"].detach().numpy()

    def at(value):
        return adapted_loss(
            {"weight": params["weight"].detach(), "bias": torch.tensor(value)}
        ).item()

    eps = 1e-6
    numeric = (at(b + eps) - at(b - eps)) / (2 * eps)
    np.testing.assert_allclose(got["bias"], [numeric], rtol=1e-6)


def test_per_sample_gradients_match_torch():
    real = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = SimpleMLP().double()
    theirs = copy.deepcopy(model)
    data = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    targets = torch.randint(3, (3,))

    def loss_of(lib, mod, params, x, t):
        out = lib.func.functional_call(mod, params, (x.unsqueeze(0),))
        return lib.nn.functional.cross_entropy(out, t.unsqueeze(0))

    ours = vmap(grad(partial(loss_of, torch, model)), in_dims=(None, 0, 0))(
        {k: v.detach() for k, v in model.named_parameters()}, data, targets
    )
    tmodel = _torch_mlp(real, theirs)
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    expected = real.func.vmap(real.func.grad(partial(loss_of, real, tmodel)), in_dims=(None, 0, 0))(
        tparams, real.tensor(data.numpy()), real.tensor(targets.numpy())
    )
    for k in expected:
        np.testing.assert_allclose(ours[k].numpy(), expected[k].numpy(), rtol=1e-10, atol=1e-13)


def _torch_mlp(real, ours):
    """PyTorch's twin of ``ours`` (a SimpleMLP): the same names and values."""

    class MLP(real.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = real.nn.Linear(16, 8)
            self.fc2 = real.nn.Linear(8, 8)
            self.fc3 = real.nn.Linear(8, 3)

        def forward(self, x):
            x = real.relu(self.fc1(x.flatten(1)))
            return self.fc3(real.relu(self.fc2(x)))

    twin = MLP().double()
    values = dict(ours.named_parameters())
    with real.no_grad():
        for name, p in twin.named_parameters():
            p.copy_(real.tensor(values[name].numpy()))
    return twin


def test_render_draws_functional_call_parameters_under_their_module_names(tmp_path):
    script = tmp_path / "fc.py"
    script.write_text(
        textwrap.dedent(
            """
            import gradviz as torch
            from gradviz import nn
            from gradviz.func import functional_call

            model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
            with torch.no_grad():
                model(torch.randn(1, 3))  # the trace meets the model with its own first
            params = {k: torch.randn(*v.shape, requires_grad=True)
                      for k, v in model.named_parameters()}
            loss = functional_call(model, params, (torch.randn(2, 3),)).sum()
            loss.backward()
            """
        ),
        encoding="utf-8",
    )
    done = CliRunner().invoke(cli, ["render", str(script), "--format", "json", "-o", str(tmp_path)])
    assert done.exit_code == 0, done.output
    trace = json.loads((tmp_path / "fc.trace.json").read_text(encoding="utf-8"))
    text = json.dumps(trace)
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f'"name": "{name}"' in text, name
    assert "parameters: 4 tensors" in done.output  # the stand-ins, not also the model's own
    assert "not computed" not in done.output
    rows = [line.split()[0] for line in done.output.splitlines() if line.startswith("  ")]
    assert sorted(rows) == ["0.bias", "0.weight", "2.bias", "2.weight"]


def _maml_net(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 3, 3),
        nn.BatchNorm2d(3, momentum=1, affine=True, track_running_stats=False),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(3 * 3 * 3, 4),
    ).double()


def _maml_by_func(lib, net, data, steps=2):
    """functorch's MAML-Omniglot example: an inner loop of grad over functional_call per task,
    the tasks mapped with vmap, the query losses' sum differentiated (second order)."""
    F = lib.nn.functional

    def loss_for_task(net, n_inner_iter, x_spt, y_spt, x_qry, y_qry):
        params = dict(net.named_parameters())
        buffers = dict(net.named_buffers())

        def compute_loss(new_params, buffers, x, y):
            return F.cross_entropy(lib.func.functional_call(net, (new_params, buffers), x), y)

        new_params = params
        for _ in range(n_inner_iter):
            grads = lib.func.grad(compute_loss)(new_params, buffers, x_spt, y_spt)
            new_params = {k: new_params[k] - g * 1e-1 for k, g in grads.items()}
        qry_logits = lib.func.functional_call(net, (new_params, buffers), x_qry)
        qry_acc = (qry_logits.argmax(dim=1) == y_qry).sum() / x_qry.size(0)
        return F.cross_entropy(qry_logits, y_qry), qry_acc

    losses, accs = lib.func.vmap(partial(loss_for_task, net, steps))(*data)
    assert accs.shape == (2,)
    losses.sum().backward()
    return {k: p.grad.detach().numpy().copy() for k, p in net.named_parameters()}


def _maml_by_loop(lib, net, data, steps=2):
    """The same meta-gradient with autograd.grad(create_graph=True), task by task."""
    F = lib.nn.functional
    for p in net.parameters():
        p.grad = None
    total = 0
    for task in range(2):
        x_spt, y_spt, x_qry, y_qry = (d[task] for d in data)
        params = dict(net.named_parameters())
        for _ in range(steps):
            out = lib.func.functional_call(net, params, x_spt)
            gs = lib.autograd.grad(
                F.cross_entropy(out, y_spt), list(params.values()), create_graph=True
            )
            params = {k: p - 0.1 * g for (k, p), g in zip(params.items(), gs, strict=True)}
        total = total + F.cross_entropy(lib.func.functional_call(net, params, x_qry), y_qry)
    total.backward()
    return {k: p.grad.detach().numpy().copy() for k, p in net.named_parameters()}


def _maml_data():
    rng = np.random.default_rng(0)
    return [
        rng.standard_normal((2, 5, 1, 8, 8)),
        rng.integers(0, 4, (2, 5)),
        rng.standard_normal((2, 5, 1, 8, 8)),
        rng.integers(0, 4, (2, 5)),
    ]


def test_maml_omniglot_example_matches_the_loop_of_second_order_gradients():
    torch.manual_seed(0)
    net = _maml_net(torch)
    data = [torch.tensor(a) for a in _maml_data()]
    by_func = _maml_by_func(torch, net, data)
    by_loop = _maml_by_loop(torch, net, data)
    for k, want in by_loop.items():
        np.testing.assert_allclose(by_func[k], want, rtol=1e-10, atol=1e-14, err_msg=k)
    # BatchNorm removes the conv bias's effect: its meta-gradient is zero
    np.testing.assert_allclose(by_func["0.bias"], 0, atol=1e-12)


def test_maml_omniglot_example_matches_pytorch():
    real = pytest.importorskip("torch")
    theirs = _maml_net(real)
    ours = _maml_net(torch)
    ours.load_state_dict(
        {k: torch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    got = _maml_by_func(torch, ours, [torch.tensor(a) for a in _maml_data()])
    # against PyTorch's own loop of autograd.grad(create_graph=True): torch 2.13's torch.func
    # version of this example differs from that loop by up to 1e-2 (and gives the conv bias,
    # which BatchNorm cancels, a nonzero meta-gradient)
    want = _maml_by_loop(real, theirs, [real.tensor(a) for a in _maml_data()])
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-9, atol=1e-13, err_msg=k)


def test_check_does_not_call_stood_in_parameters_unconnected(tmp_path):
    script = tmp_path / "psg.py"
    script.write_text(
        textwrap.dedent(
            """
            import gradviz as torch
            from gradviz import nn
            import gradviz.nn.functional as F
            from gradviz.func import functional_call, grad, vmap

            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
            params = {k: v.detach() for k, v in model.named_parameters()}

            def loss(params, xb, yb):
                out = functional_call(model, params, (xb.unsqueeze(0),))
                return F.cross_entropy(out, yb.unsqueeze(0))

            per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(
                params, torch.randn(5, 3), torch.randint(2, (5,))
            )
            """
        ),
        encoding="utf-8",
    )
    done = CliRunner().invoke(cli, ["check", str(script), "--format", "dot", "-o", str(tmp_path)])
    assert "backward call 1" in done.output, done.output
    assert "not connected to the loss" not in done.output
    assert "got no gradient" not in done.output


def test_a_line_whose_transform_runs_backward_names_nothing_in_that_pass():
    """Was: ``ys``' per-example slice drawn as ``per_sample = Index``: the line had not
    assigned ``per_sample`` yet when ``grad``'s backward pass ran inside ``vmap``."""
    model = nn.Linear(3, 1)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss_fn(params, x, y):
        pred = functional_call(model, params, (x.unsqueeze(0),))
        return ((pred - y) ** 2).mean()

    xs, ys = torch.randn(4, 3), torch.randn(4, 1)
    with torch.trace() as tr:
        per_sample = vmap(grad(loss_fn), in_dims=(None, 0, 0))(params, xs, ys)
    names = {a.get("name") for _, a in tr.get_pass(1).graph.nodes(data=True)}
    assert "pred" in names
    assert "per_sample" not in names
    assert per_sample["weight"].shape == (4, 1, 3)
