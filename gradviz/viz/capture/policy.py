"""What a recording keeps. The recorder records; a policy decides which backward passes are kept
and when the capture is complete.

- :class:`EveryPass` (``gradviz.trace()``): every backward pass, until the ``with`` block ends.
- :class:`EveryStep` (``gradviz.trace(steps=N, every=K)``): backward calls 1, 1 + K, 1 + 2K, ...
  up to call N (or to the end: ``steps="all"``); after call N and its optimizer step the capture
  is complete and recording stops.
- :class:`CaptureStep` (the script runner): the ``step``-th backward pass (-1: the last one) and
  the optimizer step after it; then the capture is complete, recording stops and ``on_capture``
  is called.
- :class:`EveryKth` (``gradviz timeline``): every ``every``-th pass (1, 1+K, 1+2K, ...) and, with
  ``steps``, the ``steps``-th; after the ``steps``-th pass and its optimizer step the capture is
  complete, as with :class:`CaptureStep`.

:func:`check_step` is the one place that validates a step number (the runner, the CLI and
:class:`CaptureStep` all call it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradviz.autograd.errors import GradvizError

__all__ = [
    "CaptureStep",
    "CaptureSteps",
    "EveryPass",
    "EveryStep",
    "Policy",
    "PolicyError",
    "check_step",
]


class PolicyError(GradvizError, ValueError):
    """Recording options that name no recording (``steps=0``, ``every=-1``)."""


def check_step(step: Any) -> int:
    """``step`` if it names a backward call (1, 2, ... or -1 for the last one), else ValueError."""
    if isinstance(step, bool) or not isinstance(step, int) or step == 0 or step < -1:
        raise ValueError(f"step must be a backward call number (1, 2, ...) or -1, got {step!r}")
    return step


class Policy:
    """What to keep of a recording. ``closed`` is True once the capture is complete (nothing more
    is recorded); ``awaiting`` while the kept pass waits for its optimizer step."""

    #: Keep one pass only (a new kept pass replaces the old one); its op calls keep the
    #: arguments as they were before the optimizer step.
    keeps_one = False
    #: Called once the capture is complete (see :meth:`captured`).
    on_capture: Callable[[], None] | None = None

    def __init__(self) -> None:
        self.awaiting = False
        self.closed = False

    def keeps(self, index: int) -> bool:
        """Whether backward call ``index`` (1-based) is kept."""
        return True

    def keeps_calls(self, backward_calls: int) -> bool:
        """Whether an op run after ``backward_calls`` backward calls may belong to a kept pass
        (its call is kept for the gradient check)."""
        return True

    def summarises(self, backward_calls: int) -> bool:
        """Whether what is recorded after ``backward_calls`` backward calls gets its values
        summarised (statistics, and copies and previews when arrays are kept): the forward of
        a pass that may be kept and the optimizer step after a kept one. A record made
        otherwise is summarised if and when a kept pass uses it."""
        return True

    def pass_kept(self) -> None:
        """A kept pass ended: from now on the capture may be complete at the end of the step."""

    def drops(self, index: int) -> bool:
        """Whether the kept pass of backward call ``index`` is dropped once a later one is kept
        (it was kept only in case it was the last)."""
        return False

    def backward_done(self, index: int) -> None:
        """Backward call ``index`` ended (kept or not)."""

    def recorded(self, index: int, capture: Any) -> None:
        """Backward call ``index`` was recorded: its timeline rows and full pass (when kept)
        are in ``capture`` (called with the recorder's lock held: read, never record)."""

    def close(self) -> None:
        """The capture is complete: record nothing more."""
        self.awaiting = False
        self.closed = True

    def captured(self) -> None:
        """Called once recording stopped after :meth:`close`: calls ``on_capture`` (the script
        runner stops the script there)."""
        if self.on_capture is not None:
            self.on_capture()


class EveryPass(Policy):
    """Every backward pass (``gradviz.trace()``)."""


class CaptureStep(Policy):
    """The ``step``-th backward pass (-1: the last one) and the optimizer step after it; then
    call ``on_capture`` (a step counted from the start is complete once its optimizer step, or
    the next op, was recorded)."""

    keeps_one = True

    def __init__(self, step: int, on_capture: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.step = check_step(step)
        self.on_capture = on_capture

    def keeps(self, index: int) -> bool:
        return self.step in (-1, index)

    def keeps_calls(self, backward_calls: int) -> bool:
        return self.step < 0 or backward_calls >= self.step - 1

    def summarises(self, backward_calls: int) -> bool:
        return self.step < 0 or self.step - 1 <= backward_calls <= self.step

    def pass_kept(self) -> None:
        self.awaiting = self.step > 0


class EveryStep(Policy):
    """Backward calls 1, 1 + ``every``, 1 + 2 * ``every``, ... up to call ``steps`` (None: to
    the end of the trace); the capture is complete once call ``steps`` and the optimizer step
    after it (or the next op) were recorded, and then ``on_capture`` is called (the script
    runner stops the script there)."""

    def __init__(
        self,
        steps: int | None = None,
        every: int = 1,
        on_capture: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.on_capture = on_capture
        for name, value in (("steps", steps), ("every", every)):
            if value is not None and (type(value) is not int or value < 1):
                raise PolicyError(f"{name} must be a positive integer, got {value!r}")
        self.steps = steps
        self.every = every

    def keeps(self, index: int) -> bool:
        return (index - 1) % self.every == 0 and (self.steps is None or index <= self.steps)

    def summarises(self, backward_calls: int) -> bool:
        return self.keeps(backward_calls + 1) or (backward_calls > 0 and self.keeps(backward_calls))

    def keeps_calls(self, backward_calls: int) -> bool:
        return self.keeps(backward_calls + 1)

    def backward_done(self, index: int) -> None:
        if self.steps is not None and index >= self.steps:
            self.awaiting = True


class CaptureSteps(Policy):
    """Several backward passes of one run (``gradviz diff train.py@1 train.py@50``), each with
    the optimizer step after it; the capture is complete after the last one's optimizer step
    (then ``on_capture`` is called). With -1 among the steps the last pass is kept too (every
    pass is kept until a later one replaces it) and the script runs to its end. Op calls are
    not kept (no gradient check)."""

    def __init__(
        self, steps: tuple[int, ...], on_capture: Callable[[], None] | None = None
    ) -> None:
        super().__init__()
        self.steps = frozenset(check_step(step) for step in steps) - {-1}
        self.last = -1 in steps
        self.on_capture = on_capture
        self.kept = 0

    def keeps(self, index: int) -> bool:
        return self.last or index in self.steps

    def keeps_calls(self, backward_calls: int) -> bool:
        return False

    def summarises(self, backward_calls: int) -> bool:
        return self.last or backward_calls + 1 in self.steps or backward_calls in self.steps

    def pass_kept(self) -> None:
        self.kept += 1
        self.awaiting = not self.last and self.kept == len(self.steps)

    def drops(self, index: int) -> bool:
        return self.last and index not in self.steps


class EveryKth(Policy):
    """Every ``every``-th backward pass (1, 1+every, ...) up to the ``steps``-th (None: to the
    end of the run), which is always kept; once it and its optimizer step are recorded the
    capture is complete and ``on_capture`` is called."""

    def __init__(
        self, every: int = 1, steps: int | None = None, on_capture: Callable[[], None] | None = None
    ) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a whole number of steps (1, 2, ...), got {every!r}")
        if steps is not None and check_step(steps) < 0:
            steps = None  # -1: to the end, as CaptureStep(-1)
        self.every = every
        self.steps = steps
        self.on_capture = on_capture
        self._last = 0

    def keeps(self, index: int) -> bool:
        keep = self._kept(index)
        if keep:
            self._last = index
        return keep

    def _kept(self, index: int) -> bool:
        if self.steps is not None and index > self.steps:
            return False
        return (index - 1) % self.every == 0 or index == self.steps

    def summarises(self, backward_calls: int) -> bool:
        return self._kept(backward_calls + 1) or (backward_calls > 0 and self._kept(backward_calls))

    def pass_kept(self) -> None:
        self.awaiting = self._last == self.steps
