"""Smooth activations, regression losses and cosine similarity as Modules over ``functional``."""

from __future__ import annotations

from typing import Any

from gradviz.autograd import functional as F
from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.nn.layers import InplaceActivation, inplace_repr
from gradviz.autograd.nn.module import Module
from gradviz.autograd.variable import Variable


class SiLU(InplaceActivation):
    def forward(self, input: Variable) -> Variable:
        return F.silu(input, self.inplace)


class Mish(InplaceActivation):
    def forward(self, input: Variable) -> Variable:
        return F.mish(input, self.inplace)


class ELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Variable) -> Variable:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{inplace_repr(self.inplace)}"


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Variable) -> Variable:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _LegacyLoss(_Loss):
    """A loss whose PyTorch signature starts with the deprecated ``size_average`` and
    ``reduce``: accepted as None only (pass ``reduction``)."""

    def __init__(self, size_average: None = None, reduce: None = None, reduction: str = "mean"):
        if size_average is not None or reduce is not None:
            raise ArgumentError(
                f"{type(self).__name__}: size_average and reduce are not supported, pass "
                f"reduction ('mean', 'sum' or 'none') instead"
            )
        super().__init__(reduction)


class L1Loss(_LegacyLoss):
    def forward(self, input: Variable, target: Any) -> Variable:
        return F.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_LegacyLoss):
    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Variable, target: Any) -> Variable:
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Variable, target: Any) -> Variable:
        return F.huber_loss(input, target, self.reduction, self.delta)


class KLDivLoss(_LegacyLoss):
    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Variable, target: Any) -> Variable:
        return F.kl_div(input, target, self.reduction, self.log_target)


class CosineSimilarity(Module):
    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Variable, x2: Any) -> Variable:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
