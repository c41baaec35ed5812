"""Differential cases for the activations written in place (``F.relu(x, inplace=True)``,
``F.relu_``, ``F.elu_``, ``F.leaky_relu_``): values, gradients through the rebased Variable,
and PyTorch's refusal for a leaf that requires grad."""

from __future__ import annotations

from test_differential import Case, Draw, all_cases, run_all


def inplace_cases():
    d = Draw(23)
    for dtype in ("float64", "float32"):
        copy = d.f((3, 4), dtype, low=-3, high=3, clone=True)
        leaf = d.f((3, 4), dtype)
        for name, options in (("relu", ()), ("silu", ()), ("mish", ()), ("elu", (0.5,))):
            yield Case("F", name, (copy, *options), {"inplace": True})
            yield Case("F", name, (leaf, *options), {"inplace": True})
        yield Case("F", "leaky_relu", (copy, 0.2), {"inplace": True})
        yield Case("F", "relu_", (copy,))
        yield Case("F", "relu_", (leaf,))
        yield Case("F", "elu_", (copy,), {"alpha": 2.0})
        yield Case("F", "leaky_relu_", (copy,))
        yield Case("F", "leaky_relu_", (copy, 0.3))
    yield Case("F", "relu_", (d.f((3,), grad=False),))


CASES = all_cases((inplace_cases, None))


def test_matches_torch() -> None:
    run_all(CASES)
