"""Layers, containers and losses with PyTorch's names (``gradviz.nn``)."""

import sys

from gradviz.autograd import functional
from gradviz.autograd.nn import init, utils
from gradviz.autograd.nn.attention import MultiheadAttention
from gradviz.autograd.nn.containers import ModuleDict, ModuleList
from gradviz.autograd.nn.conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d
from gradviz.autograd.nn.conv_transpose import ConvTranspose1d, ConvTranspose2d
from gradviz.autograd.nn.layers import (
    GELU,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    MSELoss,
    NLLLoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from gradviz.autograd.nn.layers_more import Hardtanh, LogSoftmax, ReLU6, Unflatten
from gradviz.autograd.nn.module import Module, Parameter
from gradviz.autograd.nn.norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from gradviz.autograd.nn.parameters import ParameterDict, ParameterList
from gradviz.autograd.nn.pointwise import (
    ELU,
    CosineSimilarity,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    Mish,
    SiLU,
    SmoothL1Loss,
    Softplus,
)
from gradviz.autograd.nn.resample import (
    AdaptiveAvgPool1d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    MaxPool1d,
    PixelShuffle,
    PixelUnshuffle,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
from gradviz.autograd.nn.rnn import GRU, LSTM, RNN, RNNBase
from gradviz.autograd.nn.rnn_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase
from gradviz.autograd.nn.sparse import Embedding

# `import gradviz.autograd.nn.functional` and `from ...nn import functional as F` both work.
sys.modules[__name__ + ".functional"] = functional

__all__ = [
    "ELU",
    "GELU",
    "GRU",
    "LSTM",
    "RNN",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "CosineSimilarity",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "Embedding",
    "Flatten",
    "GRUCell",
    "GroupNorm",
    "Hardtanh",
    "HuberLoss",
    "Identity",
    "KLDivLoss",
    "L1Loss",
    "LSTMCell",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "Mish",
    "Module",
    "ModuleDict",
    "ModuleList",
    "MultiheadAttention",
    "NLLLoss",
    "Parameter",
    "ParameterDict",
    "ParameterList",
    "RNNBase",
    "RNNCell",
    "RNNCellBase",
    "ReLU",
    "ReLU6",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "Softplus",
    "Tanh",
    "Unflatten",
    "functional",
    "init",
    "utils",
]
__all__ += [
    "AdaptiveAvgPool1d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AvgPool1d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "MaxPool1d",
    "PixelShuffle",
    "PixelUnshuffle",
    "Upsample",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
]
