"""``Bilinear`` and ``PairwiseDistance`` as Modules, with PyTorch's arguments and init."""

from __future__ import annotations

import math
from typing import Any

from gradviz.autograd import functional as F
from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.functional_acts import _bilinear
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import layer_size
from gradviz.autograd.nn.module import LayerName, Module, new_parameter
from gradviz.autograd.variable import Variable


class Bilinear(Module):
    """``y[o] = x1 @ weight[o] @ x2 + bias[o]``, weight ``(out, in1, in2)``; initialised as
    PyTorch does, uniform in ``±1/sqrt(in1_features)``."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in1_features = layer_size("Bilinear", "in1_features", in1_features)
        self.in2_features = layer_size("Bilinear", "in2_features", in2_features)
        self.out_features = layer_size("Bilinear", "out_features", out_features)
        if not self.in1_features:
            raise ArgumentError(
                f"in1_features must be > 0, but got (in1_features={self.in1_features})"
            )
        bound = 1 / math.sqrt(self.in1_features)
        generator = rng.default_generator()
        shape = (self.out_features, self.in1_features, self.in2_features)
        self.weight = new_parameter(shape, bound, generator)
        if bias:
            self.bias = new_parameter((self.out_features,), bound, generator)
        else:
            self.register_parameter("bias", None)
        place(self, device, dtype)

    def forward(self, input1: Variable, input2: Any) -> Variable:
        return _bilinear(LayerName(self), input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class PairwiseDistance(Module):
    """The p-norm of ``x1 - x2 + eps`` along the last dim (``norm`` holds p, as PyTorch's)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Variable, x2: Any) -> Variable:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
