"""PyTorch as the oracle for nn, losses and optimizers (skipped unless torch is installed).

A gradviz MLP and a torch MLP of the same shape share weights (copied from gradviz into torch);
outputs, losses, every parameter gradient and three optimizer steps must agree in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn, optim

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture(autouse=True)
def float64_parameters():
    """New gradviz parameters in float64 for this module only (restored afterwards)."""
    previous = gradviz.get_default_dtype()
    gradviz.set_default_dtype(np.float64)
    yield
    gradviz.set_default_dtype(previous)


def layers(lib, out_features: int, approximate: str = "none") -> list:
    """The same stack for either library: every activation the brief lists, in turn."""
    kwargs = {"dtype": torch.float64} if lib is torch.nn else {}
    return [
        lib.Linear(4, 8, **kwargs),
        lib.ReLU(),
        lib.Linear(8, 8, **kwargs),
        lib.Tanh(),
        lib.Linear(8, 8, **kwargs),
        lib.GELU(approximate=approximate),
        lib.Linear(8, 8, **kwargs),
        lib.LeakyReLU(0.1),
        lib.Linear(8, 8, **kwargs),
        lib.Sigmoid(),
        lib.Linear(8, out_features, **kwargs),
    ]


def twin_models(out_features: int, approximate: str = "none", final=None):
    """A gradviz Sequential and a torch Sequential with identical float64 weights."""
    gradviz.manual_seed(0)
    ours_layers, theirs_layers = (
        layers(nn, out_features, approximate),
        layers(torch.nn, out_features, approximate),
    )
    if final is not None:
        ours_layers.append(final[0])
        theirs_layers.append(final[1])
    ours, theirs = nn.Sequential(*ours_layers), torch.nn.Sequential(*theirs_layers)
    copy_weights(ours, theirs)
    return ours, theirs


def copy_weights(ours, theirs) -> None:
    their_params = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(their_params)
    with torch.no_grad():
        for name, p in ours.named_parameters():
            assert p.dtype == np.float64
            their_params[name].copy_(torch.from_numpy(p.numpy()))


def assert_close(ours, theirs) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)


def assert_same_params(ours, theirs, what: str) -> None:
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(
            getattr(p, what), getattr(q, what).detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=name
        )


def inputs(n: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 4))


def loss_case(name: str, reduction: str = "mean"):
    """(output features, gradviz loss, torch loss, target array, optional final layers)."""
    rng = np.random.default_rng(1)
    if name == "mse":
        return (
            3,
            nn.MSELoss(reduction),
            torch.nn.MSELoss(reduction=reduction),
            rng.normal(size=(6, 3)),
            None,
        )
    if name == "cross_entropy":
        target = rng.integers(0, 5, size=6)
        return (
            5,
            nn.CrossEntropyLoss(reduction),
            torch.nn.CrossEntropyLoss(reduction=reduction),
            target,
            None,
        )
    if name == "bce":
        target = rng.integers(0, 2, size=(6, 1)).astype(np.float64)
        final = (nn.Sigmoid(), torch.nn.Sigmoid())
        return 1, nn.BCELoss(reduction), torch.nn.BCELoss(reduction=reduction), target, final
    if name == "bce_with_logits":
        target = rng.uniform(size=(6, 1))  # soft labels work too
        return (
            1,
            nn.BCEWithLogitsLoss(reduction),
            torch.nn.BCEWithLogitsLoss(reduction=reduction),
            target,
            None,
        )
    raise ValueError(name)


LOSSES = ["mse", "cross_entropy", "bce", "bce_with_logits"]


# -------------------------------------------------------------------------- forward, backward


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_mlp_output_matches(approximate):
    ours, theirs = twin_models(3, approximate)
    x = inputs()
    assert_close(ours(Variable(x)).numpy(), theirs(torch.from_numpy(x)))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss_name", LOSSES)
def test_loss_and_every_parameter_gradient_match(loss_name, reduction):
    out_features, our_loss_fn, their_loss_fn, target, final = loss_case(loss_name, reduction)
    ours, theirs = twin_models(out_features, final=final)
    x = inputs()
    our_loss = our_loss_fn(ours(Variable(x)), Variable(target))
    their_loss = their_loss_fn(theirs(torch.from_numpy(x)), torch.from_numpy(target))
    assert_close(our_loss.numpy(), their_loss)
    our_loss.backward()
    their_loss.backward()
    assert_same_params(ours, theirs, "grad")


@pytest.mark.parametrize("loss_name", LOSSES)
def test_unreduced_loss_and_input_gradient_match(loss_name):
    out_features, our_loss_fn, their_loss_fn, target, final = loss_case(loss_name, "none")
    ours, theirs = twin_models(out_features, final=final)
    x = inputs()
    our_x = Variable(x, requires_grad=True)
    their_x = torch.from_numpy(x.copy()).requires_grad_()
    our_loss = our_loss_fn(ours(our_x), Variable(target))
    their_loss = their_loss_fn(theirs(their_x), torch.from_numpy(target))
    assert_close(our_loss.numpy(), their_loss)
    weights = np.random.default_rng(2).normal(size=our_loss.shape)
    our_loss.backward(weights)
    their_loss.backward(torch.from_numpy(weights))
    assert_close(our_x.grad, their_x.grad)
    assert_same_params(ours, theirs, "grad")


# ------------------------------------------------------------------------------ optimizers


OPTIMIZERS = {
    "sgd": (
        lambda ps: optim.SGD(ps, lr=0.1),
        lambda ps: torch.optim.SGD(ps, lr=0.1),
    ),
    "sgd_momentum_dampening": (
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01),
    ),
    "sgd_nesterov_weight_decay": (
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    "adam": (
        lambda ps: optim.Adam(ps, lr=0.01),
        lambda ps: torch.optim.Adam(ps, lr=0.01),
    ),
    "adam_weight_decay": (
        lambda ps: optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("loss_name", ["mse", "cross_entropy"])
@pytest.mark.parametrize("optimizer_name", list(OPTIMIZERS))
def test_three_optimizer_steps_match(optimizer_name, loss_name):
    make_ours, make_theirs = OPTIMIZERS[optimizer_name]
    out_features, our_loss_fn, their_loss_fn, target, final = loss_case(loss_name)
    ours, theirs = twin_models(out_features, final=final)
    our_opt, their_opt = make_ours(ours.parameters()), make_theirs(theirs.parameters())
    for step in range(3):
        x = inputs(seed=10 + step)  # a new batch each step
        our_opt.zero_grad()
        their_opt.zero_grad()
        our_loss = our_loss_fn(ours(Variable(x)), Variable(target))
        their_loss = their_loss_fn(theirs(torch.from_numpy(x)), torch.from_numpy(target))
        assert_close(our_loss.numpy(), their_loss)
        our_loss.backward()
        their_loss.backward()
        our_opt.step()
        their_opt.step()
        assert_same_params(ours, theirs, "data")


def test_param_groups_and_a_parameter_without_grad_match():
    ours, theirs = twin_models(3)
    our_params, their_params = list(ours.parameters()), list(theirs.parameters())
    # the last layer's bias never gets a gradient: both libraries must leave it alone
    our_opt = optim.SGD(
        [{"params": our_params[:4]}, {"params": our_params[4:-1], "lr": 0.05}],
        lr=0.1,
        momentum=0.9,
        weight_decay=0.01,
    )
    their_opt = torch.optim.SGD(
        [{"params": their_params[:4]}, {"params": their_params[4:-1], "lr": 0.05}],
        lr=0.1,
        momentum=0.9,
        weight_decay=0.01,
    )
    target = np.random.default_rng(3).normal(size=(6, 3))
    for step in range(3):
        x = inputs(seed=20 + step)
        our_opt.zero_grad()
        their_opt.zero_grad()
        nn.MSELoss()(ours(Variable(x)), Variable(target)).backward()
        torch.nn.MSELoss()(theirs(torch.from_numpy(x)), torch.from_numpy(target)).backward()
        our_opt.step()
        their_opt.step()
        assert_same_params(ours, theirs, "data")


# ----------------------------------------------------------------------- names and reprs


def test_names_and_repr_match_pytorch():
    class OurNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = nn.Sequential(*layers(nn, 2)[:4])
            self.head = nn.Linear(8, 2)

    class TheirNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = torch.nn.Sequential(*layers(torch.nn, 2)[:4])
            self.head = torch.nn.Linear(8, 2)

    ours, theirs = OurNet(), TheirNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert repr(ours).replace("OurNet", "Net") == repr(theirs).replace("TheirNet", "Net")
    ours_seq, theirs_seq = nn.Sequential(*layers(nn, 2)), torch.nn.Sequential(*layers(torch.nn, 2))
    assert repr(ours_seq) == repr(theirs_seq)
    assert repr(ours_seq[3:7]) == repr(theirs_seq[3:7])
    assert list(ours_seq[3:7].state_dict()) == list(theirs_seq[3:7].state_dict())
