"""``optim.swa_utils`` side by side with PyTorch's (the SWA and EMA recipes): the averaged
weights and buffers, ``SWALR``'s rates and ``update_bn``'s statistics."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz.optim import swa_utils

torch = pytest.importorskip("torch")
tswa = pytest.importorskip("torch.optim.swa_utils")

RNG = np.random.default_rng(7)
XS = [RNG.normal(size=(8, 3)).astype(np.float32) for _ in range(4)]
YS = [RNG.normal(size=(8, 1)).astype(np.float32) for _ in range(4)]


def _model(lib):
    return lib.nn.Sequential(
        lib.nn.Linear(3, 5), lib.nn.BatchNorm1d(5), lib.nn.ReLU(), lib.nn.Linear(5, 1)
    )


def _run(lib, swa, make_averaged):
    """The tutorial's loop: SGD with a cosine schedule, then SWALR and averaging from epoch 3."""
    lib.manual_seed(0)
    model = _model(lib)
    if lib is gradviz:
        model.load_state_dict({k: gradviz.tensor(v) for k, v in _WEIGHTS.items()})
    averaged = make_averaged(swa, model)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    swa_schedule = swa.SWALR(opt, swa_lr=0.05, anneal_epochs=2, anneal_strategy="linear")
    rates = []
    for epoch in range(6):
        for x, y in zip(XS, YS, strict=True):
            loss = lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch >= 2:
            averaged.update_parameters(model)
            swa_schedule.step()
        else:
            schedule.step()
        rates.append(opt.param_groups[0]["lr"])
    swa.update_bn([(lib.tensor(x), lib.tensor(y)) for x, y in zip(XS, YS, strict=True)], averaged)
    state = {k: np.asarray(v.detach().numpy(), float) for k, v in averaged.state_dict().items()}
    return rates, state


torch.manual_seed(0)
_WEIGHTS = {k: v.detach().numpy().copy() for k, v in _model(torch).state_dict().items()}


@pytest.mark.parametrize(
    "make",
    [
        lambda swa, m: swa.AveragedModel(m),
        lambda swa, m: swa.AveragedModel(m, multi_avg_fn=swa.get_ema_multi_avg_fn(0.9)),
        lambda swa, m: swa.AveragedModel(m, avg_fn=swa.get_ema_avg_fn(0.8), use_buffers=True),
        lambda swa, m: swa.AveragedModel(m, avg_fn=swa.get_swa_avg_fn()),
    ],
    ids=["swa", "ema_multi", "ema_buffers", "swa_avg_fn"],
)
def test_averaged_model_swalr_and_update_bn_as_pytorchs(make):
    """Was: no `gradviz.optim.swa_utils` (ModuleNotFoundError)."""
    theirs_rates, theirs = _run(torch, tswa, make)
    ours_rates, ours = _run(gradviz, swa_utils, make)
    np.testing.assert_allclose(ours_rates, theirs_rates, rtol=1e-12)
    assert sorted(ours) == sorted(theirs)
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key], value, rtol=1e-4, atol=1e-5, err_msg=key)


def test_swa_utils_refuse_what_pytorch_refuses():
    model = gradviz.nn.Linear(2, 1)
    opt = gradviz.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="Invalid decay value"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        swa_utils.SWALR(opt, swa_lr=0.01, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(opt, swa_lr=0.01, anneal_epochs=-1)
    with pytest.raises(ValueError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(
            model, avg_fn=swa_utils.get_swa_avg_fn(), multi_avg_fn=swa_utils.get_swa_multi_avg_fn()
        )
