"""Probability distributions with PyTorch's names (``gradviz.distributions``): sampling from
gradviz's generator, ``rsample`` differentiable through the reparameterisation, ``log_prob``,
``entropy`` and ``kl_divergence`` built from recorded ops, so they show in the graph."""

from gradviz.autograd.distributions import constraints
from gradviz.autograd.distributions.continuous import Normal, Uniform
from gradviz.autograd.distributions.discrete import Bernoulli, Categorical
from gradviz.autograd.distributions.distribution import Distribution
from gradviz.autograd.distributions.independent import Independent
from gradviz.autograd.distributions.kl import kl_divergence, register_kl
from gradviz.autograd.distributions.multivariate import MultivariateNormal

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Independent",
    "MultivariateNormal",
    "Normal",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]
