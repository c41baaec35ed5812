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
