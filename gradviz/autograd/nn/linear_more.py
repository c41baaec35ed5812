"""``Bilinear``, ``LazyLinear`` and ``PairwiseDistance`` as Modules, with PyTorch's
arguments and init."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, ShapeError
from gradviz.autograd.functional_acts import _bilinear
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import Linear, layer_size
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


class LazyLinear(Module):
    """A ``Linear`` whose ``in_features`` is the last size of its first input.

    Until that first call it has no parameters (``weight`` and ``bias`` are None, so build the
    optimizer after it); the call creates them, initialised as ``Linear``'s, and the layer
    becomes a ``Linear``, as PyTorch's lazy modules do.
    """

    cls_to_become = Linear

    def __init__(
        self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.in_features = 0
        self.out_features = layer_size("LazyLinear", "out_features", out_features)
        self._with_bias = bool(bias)
        self._placement = (device, dtype)  # applied when the parameters are made
        place(self, device, None)  # a device other than the CPU is refused now
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)

    def has_uninitialized_params(self) -> bool:
        """Whether the first call, which creates the parameters, is still to come."""
        return self.weight is None

    def initialize_parameters(self, input: Any) -> None:
        """Create ``weight`` (``out_features, input.shape[-1]``) and ``bias`` as ``Linear``
        does, and become a ``Linear``."""
        shape = np.shape(input.numpy() if isinstance(input, Variable) else input)
        if not shape:
            raise ShapeError(f"LazyLinear: the input must have at least 1 dim, got shape {shape}")
        made = Linear(shape[-1], self.out_features, self._with_bias, *self._placement)
        self.in_features = made.in_features
        self.weight = made.weight
        if made.bias is not None:
            self.bias = made.bias
        del self._with_bias, self._placement
        self.__class__ = self.cls_to_become

    def forward(self, x: Variable) -> Variable:
        if self.has_uninitialized_params():
            self.initialize_parameters(x)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self._with_bias}"
        )
