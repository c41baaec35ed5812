"""What one thread of a traced program is in the middle of, as the recorder sees it: its module
stack, its backward call, the step whose optimizer step it awaits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradviz.autograd import grad_mode
from gradviz.autograd.variable import Variable
from gradviz.viz.records.schema import Derivative, Pass, Step

__all__ = ["Backward", "ThreadState"]


@dataclass
class Backward:
    """A backward call in progress: its number, root node, whether it is recorded, its loss,
    the backward steps so far (and their gradients' arrays when the trace copies arrays)."""

    index: int
    root: str
    keep: bool
    loss: float | None = None
    steps: list[Step] = field(default_factory=list)
    #: for a loss scaled by a GradScaler: the scaled Variable's engine id (its step is the
    #: scaler's, not drawn) and the factor that unscales the gradients
    scaled: int | None = None
    unscale: float = 1.0
    grad_arrays: dict[str, Any] = field(default_factory=dict)
    #: (parameter node, optimizer) of each parameter whose ``.grad`` this call adds into still
    #: held a gradient an optimizer stepped with (never zeroed after ``optimizer.step()``)
    stale: tuple[tuple[str, str], ...] = ()
    grad_previews: dict[str, Any] = field(default_factory=dict)


class ThreadState(threading.local):
    """What one thread is in the middle of: the modules running, its backward pass, the pass
    whose optimizer step it awaits. Each thread that sends events gets its own (made on its
    first event, registered with the recorder so ``Recorder.finish`` can clear them all),
    so ops are attributed to their own thread's modules."""

    def __init__(self, states: list[ThreadState]) -> None:
        self.stack: list[tuple[int, str]] = []  # (root index, path) of running modules
        self.grad_enabled = grad_mode.is_grad_enabled()
        self.backward: Backward | None = None
        self.pending: Pass | None = None  # the pass whose optimizer step is awaited
        # the recorded step whose optimizer step is awaited: (step, {node id: its position})
        self.awaited: tuple[int, dict[str, int]] | None = None
        self.updated: set[str] = set()
        self.before: dict[str, tuple[Variable, np.ndarray]] = {}
        # the awaited step's parameters that no optimizer holds, copied when its backward
        # ended: an update written by hand (``w -= lr * w.grad``) is measured at the step's end
        self.by_hand: dict[str, tuple[Variable, np.ndarray]] = {}
        # optimizer steps taken inside the running backward (see ``in_backward``): copies
        self.in_backward: list[tuple[Any, dict[str, tuple[Variable, np.ndarray]]]] = []
        # the ndarrays given to the running top-level module: its inputs, not its constants
        self.passed_in: set[int] = set()
        self.after_backward = False  # a kept pass ended; the next op/backward ends the step
        # the graph rules running (create_graph=True), innermost last: their ops are marked
        self.rules: list[Derivative] = []
        # ops since then that only read the ended step's results (``loss.item()`` logging,
        # ``output.mean()`` in DCGAN): the op ids, so an op reading theirs is logging too
        self.logged: set[str] = set()
        # the awaited step's parameters that got a gradient, and whether an optimizer stepped
        # some of them: the step ends once all are stepped, or at the next op
        self.trained: frozenset[str] = frozenset()
        self.stepped = False
        states.append(self)
