"""Optimizers with PyTorch's exact update rules, and ``lr_scheduler``."""

from gradviz.autograd.optim import lr_scheduler
from gradviz.autograd.optim.adam import Adam, AdamW
from gradviz.autograd.optim.optimizer import Optimizer, add_scaled
from gradviz.autograd.optim.rmsprop import Adagrad, RMSprop
from gradviz.autograd.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "add_scaled",
    "lr_scheduler",
]
