"""Probability distributions with PyTorch's names (``gradviz.distributions``): sampling from
gradviz's generator, ``rsample`` differentiable through the reparameterisation, ``log_prob``,
``entropy`` and ``kl_divergence`` built from recorded ops, so they show in the graph."""

from gradviz.autograd.distributions import constraints
from gradviz.autograd.distributions.continuous import Normal, Uniform
from gradviz.autograd.distributions.dirichlet import Beta, Dirichlet
from gradviz.autograd.distributions.discrete import Bernoulli, Categorical
from gradviz.autograd.distributions.distribution import Distribution
from gradviz.autograd.distributions.gamma import Chi2, Gamma, StudentT
from gradviz.autograd.distributions.independent import Independent
from gradviz.autograd.distributions.kl import kl_divergence, register_kl
from gradviz.autograd.distributions.multivariate import MultivariateNormal

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "Chi2",
    "Dirichlet",
    "Distribution",
    "Gamma",
    "Independent",
    "MultivariateNormal",
    "Normal",
    "StudentT",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]

_HAS = [n for n in __all__ if n[0].isupper() and n != "Distribution"]


def __getattr__(name: str) -> object:
    """A distribution PyTorch has and gradviz has not: say which there are."""
    if name.startswith("_") or not name[:1].isupper():
        raise AttributeError(f"module 'gradviz.distributions' has no attribute {name!r}")
    raise AttributeError(f"gradviz.distributions has no {name} (it has {', '.join(_HAS)})")
