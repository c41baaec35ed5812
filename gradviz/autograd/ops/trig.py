"""The tangent and the inverse hyperbolic functions with PyTorch's names (``tan``, ``asinh``,
``acosh``, ``atanh``): one-input ``_Pointwise`` ops, each with its graph rule for second
derivatives. Integer inputs compute in the default float dtype, as PyTorch's."""

from __future__ import annotations

import numpy as np

from gradviz.autograd.ops.special import _Pointwise


class Tan(_Pointwise):
    """Tangent; its gradient ``grad * (1 + tan(x)**2)`` reads the output, as PyTorch's."""

    value = staticmethod(np.tan)
    of_output = True

    @staticmethod
    def slope(out):
        return 1 + out * out

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * (1 + out * out)


class Asinh(_Pointwise):
    """Inverse hyperbolic sine."""

    value = staticmethod(np.arcsinh)

    @staticmethod
    def slope(x):
        return 1 / np.sqrt(x * x + 1)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad * (x * x + 1).rsqrt()


class Acosh(_Pointwise):
    """Inverse hyperbolic cosine (NaN below 1)."""

    value = staticmethod(np.arccosh)

    @staticmethod
    def slope(x):
        return 1 / np.sqrt(x * x - 1)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad * (x * x - 1).rsqrt()


class Atanh(_Pointwise):
    """Inverse hyperbolic tangent (+-inf at +-1, NaN outside)."""

    value = staticmethod(np.arctanh)

    @staticmethod
    def slope(x):
        return 1 / (1 - x * x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad / (1 - x * x)
