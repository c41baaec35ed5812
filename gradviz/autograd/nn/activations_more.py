"""More activations as Modules over ``functional``, with PyTorch's arguments and reprs:
``PReLU`` (a learnt slope), ``SELU``, ``CELU``, ``Hardswish``, ``Hardsigmoid``,
``LogSigmoid``, ``Softmin``, ``Softsign``, ``Threshold``, ``Hardshrink``, ``Softshrink``,
``Tanhshrink`` and ``RReLU``."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd.functional_acts import _prelu
from gradviz.autograd.nn import init
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import InplaceActivation, inplace_repr, layer_size
from gradviz.autograd.nn.module import LayerName, Module, Parameter
from gradviz.autograd.variable import Variable, get_default_dtype


class PReLU(Module):
    """``x`` where ``x > 0``, else ``weight * x``: ``num_parameters`` learnt slopes (1, or one
    per input channel), each starting at ``init``."""

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.num_parameters = layer_size("PReLU", "num_parameters", num_parameters)
        self.init = init
        self.weight = Parameter(np.empty(self.num_parameters, get_default_dtype()))
        self.reset_parameters()
        place(self, device, dtype)

    def reset_parameters(self) -> None:
        """Every slope back to ``init``."""
        init.constant_(self.weight, self.init)

    def forward(self, input: Variable) -> Variable:
        return _prelu(LayerName(self), input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class SELU(InplaceActivation):
    def forward(self, input: Variable) -> Variable:
        return F.selu(input, self.inplace)


class Hardswish(InplaceActivation):
    def forward(self, input: Variable) -> Variable:
        return F.hardswish(input, self.inplace)

    def extra_repr(self) -> str:  # PyTorch's repr leaves the option out
        return ""


class Hardsigmoid(InplaceActivation):
    def forward(self, input: Variable) -> Variable:
        return F.hardsigmoid(input, self.inplace)

    def extra_repr(self) -> str:  # PyTorch's repr leaves the option out
        return ""


class CELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Variable) -> Variable:
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{inplace_repr(self.inplace)}"


class LogSigmoid(Module):
    def forward(self, input: Variable) -> Variable:
        return F.logsigmoid(input)


class Softsign(Module):
    def forward(self, input: Variable) -> Variable:
        return F.softsign(input)


class Tanhshrink(Module):
    def forward(self, input: Variable) -> Variable:
        return F.tanhshrink(input)


class Softmin(Module):
    """``softmax(-x)`` along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Variable) -> Variable:
        return F.softmin(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Variable) -> Variable:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{inplace_repr(self.inplace)}"


class Hardshrink(Module):
    """``x`` where ``|x| > lambd``, else 0."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Variable) -> Variable:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """``x`` moved ``lambd`` towards 0, and 0 within ``lambd`` of it."""

    def forward(self, input: Variable) -> Variable:
        return F.softshrink(input, self.lambd)


class RReLU(Module):
    """Leaky ReLU whose negative slope is drawn per element from ``[lower, upper]`` in
    training, and is their mean in evaluation."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Any) -> Variable:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{inplace_repr(self.inplace)}"
