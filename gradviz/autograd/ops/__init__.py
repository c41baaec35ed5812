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
    attention,
    conv,
    elementwise,
    indexing,
    linalg,
    losses,
    padding,
    pointwise,
    reductions,
    shape,
    statistics,
)
from gradviz.autograd.ops import norm as normalization  # `norm` is the function below
from gradviz.autograd.ops.activations import Elu, Mish, Silu, Softplus
from gradviz.autograd.ops.arithmetic import (
    Add,
    Div,
    FloorDivide,
    Linear,
    MatMul,
    Mul,
    Neg,
    Pow,
    Remainder,
    Sub,
)
from gradviz.autograd.ops.attention import Embedding, embedding, scaled_dot_product_attention
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
from gradviz.autograd.ops.indexing import (
    Cumsum,
    Expand,
    Gather,
    MaskedFill,
    Repeat,
    Split,
    Tril,
    Triu,
    Where,
    chunk,
    cumsum,
    expand,
    gather,
    masked_fill,
    repeat,
    split,
    triangle,
    where,
)
from gradviz.autograd.ops.linalg import Einsum, einsum
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
from gradviz.autograd.ops.norm import BatchNorm, LayerNorm
from gradviz.autograd.ops.padding import CircularPadNd, ReflectionPadNd, ReplicationPadNd
from gradviz.autograd.ops.pointwise import Cos, Maximum, Minimum, Sin, binary, softmax_dim
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
    Clone,
    Index,
    Permute,
    Reshape,
    Stack,
    Transpose,
    concatenate,
    index_message,
    normalize_index,
    stack,
)
from gradviz.autograd.ops.statistics import Logsumexp, Norm, Std, Var, logsumexp, norm, variance

#: Every built-in op, for the op-table test that keeps each one covered.
BUILTIN_OPS: tuple[type[Function], ...] = tuple(
    obj
    for module in (
        arithmetic,
        reductions,
        shape,
        elementwise,
        losses,
        activations,
        conv,
        padding,
        indexing,
        pointwise,
        statistics,
        linalg,
        normalization,
        attention,
    )
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
    "BatchNorm",
    "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits",
    "Cast",
    "Cat",
    "CircularPadNd",
    "Clamp",
    "Clone",
    "ConstantPadNd",
    "Conv1d",
    "Conv2d",
    "Cos",
    "CosineSimilarity",
    "CrossEntropy",
    "Cumsum",
    "Div",
    "Dropout",
    "Einsum",
    "Elu",
    "Embedding",
    "Exp",
    "Expand",
    "FloorDivide",
    "Gather",
    "Gelu",
    "HuberLoss",
    "Index",
    "KlDiv",
    "L1Loss",
    "LayerNorm",
    "LeakyRelu",
    "Linear",
    "Log",
    "LogSoftmax",
    "Logsumexp",
    "MaskedFill",
    "MatMul",
    "Max",
    "MaxPool2d",
    "Maximum",
    "Mean",
    "Min",
    "Minimum",
    "Mish",
    "MseLoss",
    "Mul",
    "Neg",
    "NllLoss",
    "Norm",
    "Permute",
    "Pow",
    "ReflectionPadNd",
    "Relu",
    "Remainder",
    "Repeat",
    "ReplicationPadNd",
    "Reshape",
    "Sigmoid",
    "Silu",
    "Sin",
    "SmoothL1Loss",
    "Softmax",
    "Softplus",
    "Split",
    "Sqrt",
    "Stack",
    "Std",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Tril",
    "Triu",
    "Var",
    "Where",
    "binary",
    "chunk",
    "concatenate",
    "cumsum",
    "einsum",
    "embedding",
    "expand",
    "gather",
    "index_message",
    "logsumexp",
    "masked_fill",
    "max_or_min",
    "norm",
    "normalize_index",
    "reduction",
    "repeat",
    "scaled_dot_product_attention",
    "softmax_dim",
    "split",
    "stack",
    "triangle",
    "variance",
    "where",
]
