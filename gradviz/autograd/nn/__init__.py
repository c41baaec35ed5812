"""Layers, containers and losses with PyTorch's names (``gradviz.nn``)."""

import sys

from gradviz.autograd import functional
from gradviz.autograd.nn import init, utils
from gradviz.autograd.nn.containers import ModuleDict, ModuleList
from gradviz.autograd.nn.layers import (
    GELU,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
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
from gradviz.autograd.nn.module import Module, Parameter

# `import gradviz.autograd.nn.functional` and `from ...nn import functional as F` both work.
sys.modules[__name__ + ".functional"] = functional

__all__ = [
    "GELU",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
    "init",
    "utils",
]
