"""The primitive ops: one ``Function`` per op, forward and backward side by side, a module per kind.

Backward rules return gradients in the output's broadcast shape; the engine reduces them to each
input's shape. ``ctx.needs_input_grad`` lets a rule skip work nobody will use. Subgradient choices
match PyTorch and say so where they are made.
"""

from __future__ import annotations

from gradviz.autograd.function import Function
from gradviz.autograd.ops import (
    activations,
    arithmetic,
    conv,
    elementwise,
    losses,
    reductions,
    shape,
)
from gradviz.autograd.ops.activations import Elu, Mish, Silu, Softplus
from gradviz.autograd.ops.arithmetic import Add, Div, Linear, MatMul, Mul, Neg, Pow, Sub
from gradviz.autograd.ops.conv import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    ConstantPadNd,
    Conv1d,
    Conv2d,
    MaxPool2d,
)
from gradviz.autograd.ops.elementwise import (
    Abs,
    Clamp,
    Dropout,
    Exp,
    Gelu,
    LeakyRelu,
    Log,
    LogSoftmax,
    Relu,
    Sigmoid,
    Softmax,
    Sqrt,
    Tanh,
)
from gradviz.autograd.ops.losses import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CosineSimilarity,
    CrossEntropy,
    HuberLoss,
    KlDiv,
    L1Loss,
    MseLoss,
    NllLoss,
    SmoothL1Loss,
)
from gradviz.autograd.ops.reductions import (
    Amax,
    Amin,
    Max,
    Mean,
    Min,
    Sum,
    max_or_min,
    reduction,
)
from gradviz.autograd.ops.shape import (
    Cast,
    Cat,
    Index,
    Permute,
    Reshape,
    Stack,
    Transpose,
    concatenate,
    normalize_index,
    stack,
)

#: Every built-in op, for the op-table test that keeps each one covered.
BUILTIN_OPS: tuple[type[Function], ...] = tuple(
    obj
    for module in (arithmetic, reductions, shape, elementwise, losses, activations, conv)
    for obj in vars(module).values()
    if isinstance(obj, type)
    and issubclass(obj, Function)
    and obj.__module__ == module.__name__
    and not obj.__name__.startswith("_")
)

for _op in BUILTIN_OPS:  # their rules return fresh arrays or views of grad (see Function)
    _op._may_alias = False

__all__ = [
    "BUILTIN_OPS",
    "Abs",
    "AdaptiveAvgPool2d",
    "Add",
    "Amax",
    "Amin",
    "AvgPool2d",
    "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits",
    "Cast",
    "Cat",
    "Clamp",
    "ConstantPadNd",
    "Conv1d",
    "Conv2d",
    "CosineSimilarity",
    "CrossEntropy",
    "Div",
    "Dropout",
    "Elu",
    "Exp",
    "Gelu",
    "HuberLoss",
    "Index",
    "KlDiv",
    "L1Loss",
    "LeakyRelu",
    "Linear",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "MaxPool2d",
    "Mean",
    "Min",
    "Mish",
    "MseLoss",
    "Mul",
    "Neg",
    "NllLoss",
    "Permute",
    "Pow",
    "Relu",
    "Reshape",
    "Sigmoid",
    "Silu",
    "SmoothL1Loss",
    "Softmax",
    "Softplus",
    "Sqrt",
    "Stack",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "concatenate",
    "max_or_min",
    "normalize_index",
    "reduction",
    "stack",
]
