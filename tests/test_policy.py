"""The capture policy: what a recording keeps (every pass, or step N then stop), and the one
check of a step number."""

from __future__ import annotations

import pytest

from gradviz.viz.capture.policy import (
    CaptureStep,
    CaptureSteps,
    EveryKth,
    EveryPass,
    EveryStep,
    PolicyError,
    check_step,
)


@pytest.mark.parametrize("step", [1, 2, 10, -1])
def test_step_numbers_that_name_a_backward_call(step):
    assert check_step(step) == step


@pytest.mark.parametrize("step", [0, -2, 1.0, "1", True, None])
def test_other_step_numbers_are_refused(step):
    with pytest.raises(ValueError, match="backward call number"):
        check_step(step)
    with pytest.raises(ValueError, match="backward call number"):
        CaptureStep(step)


def test_every_pass_keeps_everything_and_never_closes():
    policy = EveryPass()
    assert all(policy.keeps(i) for i in range(1, 5))
    assert policy.keeps_calls(100)
    policy.pass_kept()
    assert not policy.awaiting
    assert not policy.closed
    assert not policy.keeps_one


def test_capture_step_keeps_its_pass_then_closes_and_calls_back():
    seen = []
    policy = CaptureStep(3, on_capture=lambda: seen.append("captured"))
    assert [i for i in range(1, 6) if policy.keeps(i)] == [3]
    assert not policy.keeps_calls(1)  # ops of the first pass cannot belong to pass 3
    assert policy.keeps_calls(2)
    policy.pass_kept()
    assert policy.awaiting
    policy.close()
    assert policy.closed
    assert not policy.awaiting
    policy.captured()
    assert seen == ["captured"]


def test_capture_last_step_keeps_every_pass_and_waits_for_the_end():
    policy = CaptureStep(-1)
    assert all(policy.keeps(i) for i in range(1, 5))
    policy.pass_kept()
    assert not policy.awaiting  # the last pass is known only when the script ends
    assert policy.keeps_one


def test_every_step_keeps_every_k_th_call_up_to_n_then_awaits_the_end_of_call_n():
    seen = []
    policy = EveryStep(steps=7, every=3, on_capture=lambda: seen.append("captured"))
    assert [i for i in range(1, 12) if policy.keeps(i)] == [1, 4, 7]
    assert policy.keeps_calls(3)  # the ops before call 4
    assert not policy.keeps_calls(4)
    policy.backward_done(6)
    assert not policy.awaiting
    policy.backward_done(7)
    assert policy.awaiting
    assert not policy.keeps_one
    policy.captured()
    assert seen == ["captured"]


def test_every_step_without_a_limit_never_awaits():
    policy = EveryStep(every=2)
    assert [i for i in range(1, 8) if policy.keeps(i)] == [1, 3, 5, 7]
    policy.backward_done(1000)
    assert not policy.awaiting


@pytest.mark.parametrize("options", [{"steps": 0}, {"every": 0}, {"every": 1.5}, {"steps": True}])
def test_every_step_refuses_what_names_no_step(options):
    with pytest.raises(PolicyError, match="positive integer"):
        EveryStep(**options)


@pytest.mark.parametrize(
    ("policy", "summarised"),
    [
        # after k backward calls: the forward of call k + 1, and the optimizer step after call k
        (EveryPass(), [0, 1, 2, 3, 4, 5, 6]),
        (CaptureStep(-1), [0, 1, 2, 3, 4, 5, 6]),
        (CaptureStep(4), [3, 4]),
        (EveryStep(every=3), [0, 1, 3, 4, 6]),
        (EveryStep(5, every=2), [0, 1, 2, 3, 4, 5]),
        (CaptureSteps((2, 5)), [1, 2, 4, 5]),
        (EveryKth(every=4, steps=6), [0, 1, 4, 5, 6]),
    ],
)
def test_values_are_summarised_around_the_passes_a_policy_may_keep(policy, summarised):
    assert [k for k in range(7) if policy.summarises(k)] == summarised


def test_asking_whether_the_timeline_policy_summarises_changes_nothing_it_keeps():
    policy = EveryKth(every=4, steps=6)
    assert [policy.summarises(k) for k in range(7)]
    policy.pass_kept()
    assert not policy.awaiting  # summarises() did not count as keeping pass 6
