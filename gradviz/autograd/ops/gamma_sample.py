"""The regularized incomplete gamma functions ``Igamma`` (``P``, PyTorch's ``igamma`` and
``special.gammainc``) and ``Igammac`` (``Q = 1 - P``), and gamma draws with a gradient:
``StandardGamma(alpha, u)`` is the point where the gamma
distribution of shape ``alpha`` (rate 1) has cumulative probability ``u``, so a uniform ``u``
gives a Gamma(alpha) draw, and its gradient in ``alpha`` is the implicit reparameterisation
``dz/dalpha = -(dP(alpha, z)/dalpha) / p(z; alpha)`` (Figurnov et al., 2018), the one PyTorch's
``_standard_gamma_grad`` approximates. Beta, Dirichlet, Chi2 and StudentT draw through it.

The regularized incomplete gamma functions ``P`` and ``Q = 1 - P`` (NumPy has none) are
computed here in float64 and in logs: the series of ``P`` below ``x = a + 1``, the continued
fraction of ``Q`` above (Numerical Recipes' choice); the inverse by Newton's method in
``log z`` on ``log P`` (u <= 1/2) or in ``z`` on ``log Q`` (the upper tail); ``dP/dalpha`` by
Richardson's extrapolation of central differences of ``log P`` or ``log Q``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.errors import DerivativeNotImplementedError, InputError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.gamma import Lgamma, lgamma_values
from gradviz.autograd.ops.promotion import cast, result_type

_EPS = 1e-16
_TINY = 1e-300


def _log_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log P(a, x)`` by its series ``x^a e^-x / Gamma(a) * sum_n x^n / (a (a+1)...(a+n))``."""
    term = 1 / a
    total = term.copy()
    active = np.arange(a.size)
    for n in range(1, 20000):
        term[active] *= x[active] / (a[active] + n)
        total[active] += term[active]
        active = active[term[active] > total[active] * _EPS]
        if not active.size:
            break
    with np.errstate(divide="ignore"):
        return a * np.log(x) - x - lgamma_values(a) + np.log(total)


def _log_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log Q(a, x)`` by its continued fraction (modified Lentz), for ``x >= a + 1``."""
    b = x + 1 - a
    c = np.full(a.shape, 1 / _TINY)
    d = 1 / b
    h = d.copy()
    active = np.arange(a.size)
    for i in range(1, 20000):
        ai, bi = -i * (i - a[active]), b[active] + 2 * i
        di = ai * d[active] + bi
        di = 1 / np.where(np.abs(di) < _TINY, _TINY, di)
        ci = bi + ai / c[active]
        ci = np.where(np.abs(ci) < _TINY, _TINY, ci)
        step = di * ci
        d[active], c[active], h[active] = di, ci, h[active] * step
        active = active[np.abs(step - 1) > _EPS]
        if not active.size:
            break
    return a * np.log(x) - x - lgamma_values(a) + np.log(h)


def log_pq(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(log P(a, x), log Q(a, x))`` in float64 for ``a > 0``, ``x >= 0`` (1-d arrays)."""
    log_p, log_q = np.empty_like(x), np.empty_like(x)
    low = x < a + 1
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_p[low] = _log_series(a[low], x[low])
        log_q[low] = np.log1p(-np.exp(log_p[low]))
        log_q[~low] = _log_fraction(a[~low], x[~low])
        log_p[~low] = np.log1p(-np.exp(log_q[~low]))
    return log_p, log_q


def _log_density(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``log p(z; a)`` of the standard gamma distribution."""
    return (a - 1) * np.log(z) - z - lgamma_values(a)


def _initial(a: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Numerical Recipes' first guess of ``P^-1(a, u)``: Wilson-Hilferty above ``a = 1``, the
    power law of the lower tail (or an exponential tail) below."""
    pp = np.where(u < 0.5, u, 1 - u)
    t = np.sqrt(-2 * np.log(pp))
    n = (2.30753 + t * 0.27061) / (1 + t * (0.99229 + t * 0.04481)) - t
    n = np.where(u < 0.5, n, -n)
    big = np.maximum(1e-3, a * (1 - 1 / (9 * a) + n / (3 * np.sqrt(a))) ** 3)
    cut = 1 - a * (0.253 + a * 0.12)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        power = (u / cut) ** (1 / a)
        tail = 1 - np.log1p(-(u - cut) / (1 - cut))
    small = np.where(u < cut, power, tail)
    return np.maximum(np.where(a > 1, big, small), _TINY)


def inverse_gamma_cdf(a: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``z`` with ``P(a, z) = u``, elementwise in float64 (``a > 0``, ``0 < u < 1``)."""
    a, u = (np.asarray(v, np.float64).ravel() for v in np.broadcast_arrays(a, u))
    z = _initial(a, u)
    upper = u > 0.5
    log_u, log_q = np.log(u), np.log1p(-u)
    active = np.arange(z.size)  # the elements still moving
    with np.errstate(all="ignore"):
        for _ in range(40):
            za, aa = z[active], a[active]
            log_p, log_qz = log_pq(aa, za)
            log_dens = _log_density(aa, za)
            # lower half: Newton in w = log z on log P (a power law there: nearly linear)
            w_step = (log_p - log_u[active]) * np.exp(log_p - log_dens - np.log(za))
            lower_z = za * np.exp(-np.clip(w_step, -50, 50))
            # upper half: Newton in z on log Q (nearly linear in the exponential tail)
            upper_z = za + (log_qz - log_q[active]) * np.exp(log_qz - log_dens)
            upper_z = np.where(upper_z > 0, upper_z, za / 2)
            new = np.where(upper[active], upper_z, lower_z)
            new = np.maximum(np.where(np.isfinite(new), new, za), _TINY)
            z[active] = new
            active = active[np.abs(new - za) > 4 * _EPS * za]
            if not active.size:
                break
    return z


def gamma_sample_slope(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``dz/da`` of ``z = P^-1(a, u)`` at fixed ``u``: ``-(dP/da) / p(z; a)``, ``dP/da`` by
    Richardson's extrapolation of central differences of ``log P`` (``log Q`` in the upper
    tail, where ``dP/da = -dQ/da``)."""
    a, z = (np.asarray(v, np.float64).ravel() for v in np.broadcast_arrays(a, z))
    h = 1e-3 * a
    log_p, log_q = log_pq(a, z)
    upper = log_q < log_p
    value = np.where(upper, log_q, log_p)

    def log_cdf(shift: np.ndarray) -> np.ndarray:
        p, q = log_pq(a + shift, z)
        return np.where(upper, q, p)

    wide = (log_cdf(h) - log_cdf(-h)) / (2 * h)
    narrow = (log_cdf(h / 2) - log_cdf(-h / 2)) / h
    d_log = (4 * narrow - wide) / 3
    d_p = np.exp(value) * d_log * np.where(upper, -1.0, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        return -d_p / np.exp(_log_density(a, z))


class StandardGamma(Function):
    """A Gamma(alpha, rate 1) draw from uniform noise ``u`` (the inverse CDF); the gradient in
    alpha is the implicit reparameterisation; none flows to ``u``."""

    @staticmethod
    def forward(ctx, alpha, u):
        shape = np.broadcast_shapes(alpha.shape, u.shape)
        z = inverse_gamma_cdf(alpha, u).reshape(shape)
        ctx.saved_tensors = (alpha, z)
        return np.maximum(z.astype(alpha.dtype), np.finfo(alpha.dtype).tiny)  # (PyTorch's)

    @staticmethod
    def backward(ctx, grad):
        alpha, z = ctx.saved_tensors
        slope = gamma_sample_slope(alpha, z).reshape(z.shape).astype(grad.dtype, copy=False)
        return grad * slope, None


def igamma_values(a: np.ndarray, x: np.ndarray, upper: bool) -> np.ndarray:
    """``P(a, x)`` (``Q(a, x)`` when ``upper``) in float64, elementwise, with PyTorch's values
    at the edges: NaN below 0, at ``a = 0 = x`` and at ``a = x = inf``; ``a = 0`` gives
    ``P = 1``, ``x = 0`` gives ``P = 0``, ``a = inf`` gives 0 and ``x = inf`` gives 1."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    shape, a, x = a.shape, a.ravel(), x.ravel()
    regular = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    out = np.full(a.shape, np.nan)
    log_p, log_q = log_pq(a[regular], x[regular])
    out[regular] = np.exp(log_q if upper else log_p)
    zero, one = (1.0, 0.0) if upper else (0.0, 1.0)  # the values of P = 0 and P = 1
    conditions = [
        (x < 0) | (a < 0),
        (a == 0) & (x > 0),
        a == 0,
        x == 0,
        np.isinf(a) & np.isinf(x),
        np.isinf(a),
        np.isinf(x),
    ]
    edges = [np.nan, one, np.nan, zero, np.nan, zero, one]
    return np.select(conditions, edges, out).reshape(shape)


class Igamma(Function):
    """The regularized lower incomplete gamma function ``P(a, x)``; its gradient in ``x`` is
    the gamma density ``x^(a-1) e^-x / Gamma(a)``; none in ``a`` (PyTorch has none either)."""

    upper = False

    @classmethod
    def forward(cls, ctx, a, x):
        dtype = result_type(a, x)
        if dtype.kind != "f":
            kind = {"b": "Bool", "u": "Byte"}.get(dtype.kind, "Long")
            name = "igammac" if cls.upper else "igamma"
            raise InputError(f"\"{name}_cpu\" not implemented for '{kind}'")
        a, x = cast(a, dtype), cast(x, dtype)
        ctx.saved_tensors = (a, x)
        return igamma_values(a, x, cls.upper).astype(dtype, copy=False)

    @classmethod
    def backward(cls, ctx, grad):
        a, x = ctx.saved_tensors
        _refuse_a(ctx, cls.upper)
        with np.errstate(all="ignore"):
            density = np.exp((a - 1) * np.log(x) - x - lgamma_values(a)).astype(grad.dtype)
        return None, (-grad if cls.upper else grad) * density

    @staticmethod
    def backward_graph(ctx, grad, out):
        return _incomplete_graph(ctx, grad, upper=False)


def _refuse_a(ctx: Any, upper: bool) -> None:
    """PyTorch's error for a gradient in ``a``, which it does not implement."""
    if ctx.needs_input_grad[0]:
        name = "igammac" if upper else "igamma"
        raise DerivativeNotImplementedError(
            f"the derivative for '{name}: input' is not implemented."
        )


def _incomplete_graph(ctx: Any, grad: Any, upper: bool) -> tuple[None, Any]:
    """The graph rule of ``Igamma`` and ``Igammac``: +-grad times the density, recorded."""
    a, x = ctx.inputs
    _refuse_a(ctx, upper)
    density = (x.log() * (a - 1) - x - Lgamma.apply(a)).exp()
    return None, (grad * -1 if upper else grad) * density


class Igammac(Igamma):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``; gradient in
    ``x`` minus the gamma density."""

    upper = True

    @staticmethod
    def backward_graph(ctx, grad, out):
        return _incomplete_graph(ctx, grad, upper=True)
