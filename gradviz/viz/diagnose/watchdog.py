"""The flight recorder's trigger: the first step where training went wrong.

:class:`Watchdog` is fed one recorded step at a time (its loss, the total gradient norm and the
nodes whose value or gradient holds a NaN/Inf) and fires a :class:`Trigger` on the first step
where the loss or a gradient is non-finite, or where the loss or the total gradient norm exceeds
``spike`` times its running median over the last ``window`` steps (after ``warmup`` steps, so
the first steps of training, which move fast, do not fire), or where the warm-up ends with the
loss's median over it above ``spike`` times its median over the first three steps (it
diverged from the start).
:class:`ModelWatchdogs` keeps one per model and loss (:func:`step_key`), so that two models (or
two losses) trained in turn are not compared with each other.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gradviz.viz.records.text import number

__all__ = ["SPIKE", "WARMUP", "WINDOW", "ModelWatchdogs", "Trigger", "Watchdog", "step_key"]

#: fire when a value exceeds this many times its running median
SPIKE = 10.0
#: the running median is over this many recent steps
WINDOW = 50
#: no spike fires during the first steps
WARMUP = 10
#: a window whose upper quartile exceeds its lower quartile this many times is noisy: a spike's
#: message says so (the loss of one sample per step swings that much; a smooth one does not)
NOISY = 4


@dataclass(frozen=True)
class Trigger:
    """What fired at ``step``: ``kind`` is ``"nan_loss"``, ``"nan_grad"``, ``"loss_spike"`` or
    ``"grad_spike"``; ``node`` the structural key it is about (a non-finite gradient's node),
    ``value`` and ``median`` the numbers of a spike."""

    step: int
    kind: str
    message: str
    node: str | None = None
    value: float | None = None
    median: float | None = None


class Watchdog:
    """Feed :meth:`observe` each recorded step in order; it returns the trigger, if any."""

    def __init__(self, spike: float = SPIKE, window: int = WINDOW, warmup: int = WARMUP) -> None:
        if not spike > 1:
            raise ValueError(f"spike must be a factor above 1, got {spike}")
        self.spike = spike
        self.warmup = warmup
        self.losses: deque[float] = deque(maxlen=window)
        self.norms: deque[float] = deque(maxlen=window)

    def observe(
        self,
        step: int,
        loss: float | None,
        grad_norm: float | None,
        bad_nodes: tuple[str, ...] = (),
    ) -> Trigger | None:
        """The trigger of ``step``, or None; the step's numbers join the running medians."""
        fired = self._non_finite(step, loss, bad_nodes) or self._spike(step, loss, grad_norm)
        for history, value in ((self.losses, loss), (self.norms, grad_norm)):
            if value is not None and math.isfinite(value):
                history.append(value)
        if fired is None and loss is not None and len(self.losses) == self.warmup:
            fired = self._diverged(step)
        return fired

    def _diverged(self, step: int) -> Trigger | None:
        """The warm-up just ended: a loss whose median over it exceeds ``spike`` times its
        median over the first three steps diverged from the start (a learning rate far too
        high), which the running median, made of those steps, would never call a spike. (Three,
        not one: a first batch of one lucky sample is no start to compare with.)"""
        start = float(sorted(list(self.losses)[:3])[1])
        median = float(sorted(self.losses)[len(self.losses) // 2])
        if not (start > 0 and median > self.spike * start):
            return None
        message = (
            f"the loss's median {number(median)} over the first {len(self.losses)} steps is "
            f"{number(median / start)}x its median {number(start)} over the first 3: it "
            "diverged from the start"
        )
        return Trigger(step, "loss_spike", message, value=median, median=start)

    def _non_finite(self, step: int, loss: float | None, bad: tuple[str, ...]) -> Trigger | None:
        if loss is not None and not math.isfinite(loss):
            return Trigger(step, "nan_loss", f"the loss is {loss}", bad[0] if bad else None)
        if bad:
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            return Trigger(step, "nan_grad", f"NaN/Inf in {bad[0]}{more}", bad[0])
        return None

    def _spike(self, step: int, loss: float | None, grad_norm: float | None) -> Trigger | None:
        for kind, what, value, history in (
            ("loss_spike", "the loss", loss, self.losses),
            ("grad_spike", "the total gradient norm", grad_norm, self.norms),
        ):
            if value is None or len(history) < self.warmup:
                continue
            median = float(sorted(history)[len(history) // 2])
            if median > 0 and value > self.spike * median:
                message = (
                    f"{what} {number(value)} is {number(value / median)}x its running median "
                    f"{number(median)} (over the last {len(history)} steps)"
                )
                ordered = sorted(history)
                low, high = ordered[len(ordered) // 4], ordered[3 * len(ordered) // 4]
                if high > NOISY * low:  # the window's middle half spans a wide range: noise?
                    spread = number(high / low) if low > 0 else "an unbounded range"
                    message += (
                        f"; the middle half of those steps spans {spread}x: a noisy series "
                        "(one sample per step?) may need a higher --spike than "
                        f"{number(self.spike)}"
                    )
                return Trigger(step, kind, message, value=value, median=median)
        return None


def step_key(keys: Sequence[str], nodes: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """What a recorded step trained, from its nodes' keys in recording order (``nodes``: their
    metadata): the parameters it reached and its loss, the last node recorded, by module and op
    (``/Add#5`` counts as ``/Add``: a graph unrolled a data-dependent number of times, an RNN over
    sequences of varying length, ends in the same loss at another position). A parameter counts
    with the line that made it: two models of free leaves (``w = torch.zeros(3,
    requires_grad=True)`` in two functions) trained one after the other are two models."""
    params = {_param_id(key, nodes[key]) for key in keys if nodes[key].get("kind") == "param"}
    loss = {key.rpartition("#")[0] or key for key in keys[-1:]}
    return frozenset(params | loss)


def _param_id(key: str, meta: Mapping[str, Any]) -> str:
    return f"{key}@{meta.get('source')}"


class ModelWatchdogs:
    """One :class:`Watchdog` per :func:`step_key`: per model, and per loss.

    Two models trained in turn, or two losses of different scales backpropagated one after the
    other (two heads on one trunk, a penalty on its own), each get their own running medians;
    one watchdog for all would call every step of the larger loss a spike of the smaller one's
    median.
    """

    def __init__(self, spike: float = SPIKE) -> None:
        Watchdog(spike)  # check the factor now
        self.spike = spike
        self._dogs: dict[Hashable, Watchdog] = {}

    def observe(
        self,
        step: int,
        key: Hashable,
        loss: float | None,
        grad_norm: float | None,
        bad_nodes: tuple[str, ...] = (),
    ) -> Trigger | None:
        """:meth:`Watchdog.observe` of the steps of ``key`` (see :func:`step_key`)."""
        dog = self._dogs.get(key)
        if dog is None:
            dog = self._dogs[key] = Watchdog(self.spike)
        return dog.observe(step, loss, grad_norm, bad_nodes)
