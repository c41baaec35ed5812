"""Optimizer steps taken inside a backward pass: a ``register_post_accumulate_grad_hook`` hook
that steps each parameter as soon as its ``.grad`` is in (PyTorch's optimizer-in-backward
recipe). The recorder's usual measure waits for the step after the pass; these are copied when
they begin and measured, as that step's update, when the pass ends."""

from __future__ import annotations

from typing import Any


def begin(recorder: Any, optimizer: Any, local: Any, phase: str) -> None:
    """Copy the parameters ``optimizer`` is about to change, during the running pass."""
    if phase != "begin" or local.backward is None or recorder.policy.closed:
        return
    before = recorder.updates.take(optimizer, recorder.var_nodes, recorder.records, (), True)
    local.in_backward.append((optimizer, before))


def measure(recorder: Any, local: Any, kept: bool) -> None:
    """The pass ended: measure each update taken inside it as the step's (if it was kept)."""
    for optimizer, before in local.in_backward if kept else ():
        local.before = before
        recorder._after_update(optimizer, local)
    if local.in_backward:
        recorder.fresh.clear()  # the parameters changed: summarise them again at their use
        local.stepped = local.stepped or (bool(local.trained) and local.trained <= local.updated)
    local.in_backward.clear()
