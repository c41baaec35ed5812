"""Optimizers with PyTorch's exact update rules, and ``lr_scheduler``."""

from gradviz.autograd.optim import lr_scheduler, swa_utils
from gradviz.autograd.optim.adam import Adam, AdamW
from gradviz.autograd.optim.adam_variants import Adamax, NAdam, RAdam
from gradviz.autograd.optim.classic import ASGD, Adadelta, Rprop
from gradviz.autograd.optim.lbfgs import LBFGS
from gradviz.autograd.optim.optimizer import Optimizer, add_scaled
from gradviz.autograd.optim.rmsprop import Adagrad, RMSprop
from gradviz.autograd.optim.sgd import SGD

__all__ = [
    "ASGD",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "add_scaled",
    "lr_scheduler",
    "swa_utils",
]
