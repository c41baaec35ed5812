"""``kl_divergence(p, q)``: the KL divergence between two distributions, by a table of rules
for pairs of types (``register_kl`` adds one), as PyTorch's."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gradviz.autograd import functional as F
from gradviz.autograd.distributions.continuous import Normal, Uniform
from gradviz.autograd.distributions.dirichlet import Beta, Dirichlet
from gradviz.autograd.distributions.discrete import Bernoulli, Categorical
from gradviz.autograd.distributions.distribution import Distribution
from gradviz.autograd.distributions.gamma import Gamma
from gradviz.autograd.distributions.independent import Independent, sum_rightmost
from gradviz.autograd.distributions.multivariate import MultivariateNormal, kl_mvn_mvn
from gradviz.autograd.errors import OperandError
from gradviz.autograd.ops.indexing import where
from gradviz.autograd.variable import Variable

Rule = Callable[[Any, Any], Variable]
_RULES: dict[tuple[type, type], Rule] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[Rule], Rule]:
    """A decorator: ``@register_kl(P, Q)`` makes the function the rule for ``KL(P || Q)``."""
    for kind in (type_p, type_q):
        if not (isinstance(kind, type) and issubclass(kind, Distribution)):
            raise OperandError(f"register_kl: expected subclasses of Distribution, got {kind!r}")

    def decorator(rule: Rule) -> Rule:
        _RULES[type_p, type_q] = rule
        return rule

    return decorator


def _rule(type_p: type, type_q: type) -> Rule | None:
    """The rule for the most specific registered pair of base classes (PyTorch's choice)."""
    found = [
        (type_p.__mro__.index(p) + type_q.__mro__.index(q), rule)
        for (p, q), rule in _RULES.items()
        if issubclass(type_p, p) and issubclass(type_q, q)
    ]
    return min(found, key=lambda item: item[0])[1] if found else None


def kl_divergence(p: Distribution, q: Distribution) -> Variable:
    """``KL(p || q)``, one value per distribution of the batch; differentiable in both."""
    rule = _rule(type(p), type(q))
    if rule is None:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
            f"{type(q).__name__}"
        )
    return rule(p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Variable:
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Variable:
    t = p.probs * (p.logits - q.logits)
    t = where((q.probs == 0).expand_as(t), math.inf, t)
    t = where((p.probs == 0).expand_as(t), 0.0, t)  # 0 log 0 is 0, whatever q says
    return t.sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Variable:
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t1 = where(q.probs == 0, math.inf, t1)
    t1 = where(p.probs == 0, 0.0, t1)
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    t2 = where(q.probs == 1, math.inf, t2)
    t2 = where(p.probs == 1, 0.0, t2)
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Variable:
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low > p.low) | (q.high < p.high)
    return where(outside, math.inf, result)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Variable:
    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = q.concentration.lgamma() - p.concentration.lgamma()
    t3 = (p.concentration - q.concentration) * p.concentration.digamma()
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Variable:
    sum_p = p.concentration1 + p.concentration0
    sum_q = q.concentration1 + q.concentration0
    t1 = q.concentration1.lgamma() + q.concentration0.lgamma() + sum_p.lgamma()
    t2 = p.concentration1.lgamma() + p.concentration0.lgamma() + sum_q.lgamma()
    t3 = (p.concentration1 - q.concentration1) * p.concentration1.digamma()
    t4 = (p.concentration0 - q.concentration0) * p.concentration0.digamma()
    t5 = (sum_q - sum_p) * sum_p.digamma()
    return t1 - t2 + t3 + t4 + t5


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Variable:
    sum_p, sum_q = p.concentration.sum(-1), q.concentration.sum(-1)
    t1 = sum_p.lgamma() - sum_q.lgamma()
    t2 = (p.concentration.lgamma() - q.concentration.lgamma()).sum(-1)
    t3 = p.concentration - q.concentration
    t4 = p.concentration.digamma() - sum_p.digamma().unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Variable:
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(
            "No KL(p || q) is implemented for Independent distributions reinterpreting "
            f"{p.reinterpreted_batch_ndims} and {q.reinterpreted_batch_ndims} dims"
        )
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


register_kl(MultivariateNormal, MultivariateNormal)(kl_mvn_mvn)
