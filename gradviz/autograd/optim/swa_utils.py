"""``optim.swa_utils`` as PyTorch's: ``AveragedModel`` (stochastic weight averaging, or an
exponential moving average of the weights with ``get_ema_multi_avg_fn``), the ``SWALR``
schedule and ``update_bn`` (batch-norm statistics recomputed for the averaged weights)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.nn.module import Module
from gradviz.autograd.nn.norm import _BatchNorm
from gradviz.autograd.optim.optimizer import Optimizer
from gradviz.autograd.optim.scheduler import LRScheduler, _per_group
from gradviz.autograd.variable import Variable

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ArgumentError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[..., None]:
    """An update of every averaged parameter at once: ``ema = decay * ema + (1 - decay) * p``."""
    _check_decay(decay)

    def ema_update(averaged: list[Variable], current: list[Variable], n_averaged: Any) -> None:
        for a, p in zip(averaged, current, strict=True):
            a._data[...] = a._data * decay + p._data * (1 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> Callable[..., None]:
    """An update of every averaged parameter at once: the running mean of the weights."""

    def swa_update(averaged: list[Variable], current: list[Variable], n_averaged: Any) -> None:
        n = float(n_averaged.item() if isinstance(n_averaged, Variable) else n_averaged)
        for a, p in zip(averaged, current, strict=True):
            a._data[...] = a._data + (p._data - a._data) / (n + 1)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[..., Variable]:
    """The new average of one parameter: ``decay * ema + (1 - decay) * p``."""
    _check_decay(decay)

    def ema_update(averaged: Variable, current: Variable, n_averaged: Any) -> Variable:
        with no_grad():
            return decay * averaged + (1 - decay) * current

    return ema_update


def get_swa_avg_fn() -> Callable[..., Variable]:
    """The new average of one parameter: its running mean."""

    def swa_update(averaged: Variable, current: Variable, n_averaged: Any) -> Variable:
        with no_grad():
            return averaged + (current - averaged) / (n_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are the average of ``model``'s over the calls of
    ``update_parameters`` (the running mean, or ``avg_fn`` / ``multi_avg_fn``); its buffers
    follow ``model``'s (averaged too with ``use_buffers``). Calling it runs the copy."""

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Callable[..., Variable] | None = None,
        multi_avg_fn: Callable[..., None] | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ArgumentError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", Variable(np.array(0, dtype=np.int64)))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters in (the first call copies them)."""
        ours = self._averaged(self.module) if self.use_buffers else list(self.parameters())
        theirs = [
            p.detach() for p in (self._averaged(model) if self.use_buffers else model.parameters())
        ]
        ours = [p.detach() for p in ours]
        count = int(self.n_averaged.item())
        if count == 0:
            for a, p in zip(ours, theirs, strict=False):
                a._data[...] = p._data
        elif self.avg_fn is not None:
            for a, p in zip(ours, theirs, strict=True):
                a._data[...] = self.avg_fn(a, p, self.n_averaged)._data
        else:
            (self.multi_avg_fn or get_swa_multi_avg_fn())(ours, theirs, self.n_averaged)
        if not self.use_buffers:
            for b_ours, b_theirs in zip(self.module.buffers(), model.buffers(), strict=True):
                b_ours._data[...] = b_theirs._data
        self.n_averaged._data[...] = count + 1

    @staticmethod
    def _averaged(model: Module) -> list[Variable]:
        return list(itertools.chain(model.parameters(), model.buffers()))


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running statistics of ``model``'s batch norms over one pass of
    ``loader`` (the first item of each batch that is a list or tuple), as averages."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, list | tuple):
                batch = batch[0]
            model(batch if device is None else batch.to(device))
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's rate to ``swa_lr`` over ``anneal_epochs`` steps (cosine or linear),
    then holds it, as PyTorch's."""

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        for lr, group in zip(
            _per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups, strict=True
        ):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ArgumentError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        if (
            isinstance(anneal_epochs, bool)
            or not isinstance(anneal_epochs, int)
            or anneal_epochs < 0
        ):
            raise ArgumentError(
                f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}"
            )
        self._anneal_strategy, self.anneal_epochs = anneal_strategy, anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        return t if self._anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        out = []
        for group in self.optimizer.param_groups:
            lr, swa = group["lr"], group["swa_lr"]
            start = swa if prev_alpha == 1 else (lr - prev_alpha * swa) / (1 - prev_alpha)
            out.append(swa * alpha + start * (1 - alpha))
        return out
