"""The flight recorder's trigger fires on the first bad step, and only then."""

import math

import pytest

from gradviz.viz.diagnose.watchdog import Watchdog


def _feed(dog, losses, norms=None):
    norms = norms or [1.0] * len(losses)
    for step, (loss, norm) in enumerate(zip(losses, norms, strict=True), 1):
        fired = dog.observe(step, loss, norm)
        if fired:
            return fired
    return None


def test_a_loss_spike_fires_after_the_warmup_with_its_numbers():
    fired = _feed(Watchdog(), [1.0, 0.9, 0.8] * 5 + [8.5, 20.0])
    assert fired.step == 17
    assert fired.kind == "loss_spike"
    assert fired.median == pytest.approx(0.9)
    assert "x its running median" in fired.message


def test_no_spike_during_warmup_or_smooth_training():
    assert _feed(Watchdog(), [100.0, 1.0, 50.0]) is None
    assert _feed(Watchdog(), [1 / step for step in range(1, 200)]) is None


def test_a_gradient_norm_spike_fires():
    fired = _feed(Watchdog(spike=5), [1.0] * 30, [1.0] * 20 + [6.0] + [1.0] * 9)
    assert (fired.step, fired.kind) == (21, "grad_spike")


def test_non_finite_loss_or_gradient_fires_at_once():
    dog = Watchdog()
    assert dog.observe(1, 1.0, 1.0) is None
    assert dog.observe(2, math.nan, 1.0).kind == "nan_loss"
    fired = Watchdog().observe(1, 1.0, 1.0, bad_nodes=("param:0.weight", "0/Linear#0"))
    assert (fired.kind, fired.node) == ("nan_grad", "param:0.weight")
    assert "(and 1 more)" in fired.message


def test_spike_factor_must_exceed_one():
    with pytest.raises(ValueError, match="above 1"):
        Watchdog(spike=1)


def test_a_spike_in_a_noisy_series_says_a_higher_spike_may_be_needed():
    # per-sample losses of examples/regression.py's first 18 steps (one sample per step)
    swinging = [0.475, 0.302, 0.322, 0.28, 0.313, 0.075, 0.091, 0.111, 0.166, 0.241, 0.074]
    swinging += [0.097, 0.002, 0.18, 0.004, 0.065, 0.003, 0.001]
    noisy = _feed(Watchdog(), [*swinging, 6.2])
    assert noisy.kind == "loss_spike"
    assert (
        "a noisy series (one sample per step?) may need a higher --spike than 10" in noisy.message
    )
    smooth = _feed(Watchdog(), [1.0, 0.9, 0.8] * 5 + [8.5, 20.0])
    assert "noisy" not in smooth.message
