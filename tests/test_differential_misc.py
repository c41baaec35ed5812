"""Differential test against PyTorch: ``rsub``, ``range``, ``scalar_tensor``, ``adjoint``,
``addbmm``, the bit shifts, ``nextafter``, ``kl_div``, ``nanmedian``, ``renorm``, ``pdist``
and the in-place forms ``logit_``, ``nan_to_num_``, ``log10_`` ... (values, dtypes, gradients
and refusals).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

import gradviz

NOT_HERE = {
    name: "process-wide switches: tests/test_runtime_more.py"
    for name in (
        "get_deterministic_debug_mode", "set_deterministic_debug_mode",
        "is_deterministic_algorithms_warn_only_enabled", "set_num_interop_threads",
        "get_num_interop_threads", "init_num_threads", "set_warn_always",
        "is_warn_always_enabled", "set_flush_denormal",
    )
}  # fmt: skip


def misc_cases() -> Iterable[Case]:
    d = Draw(141)
    x = d.f((3, 4))
    yield Case("top", "rsub", (x, 2.0))
    yield Case("top", "rsub", (x, d.f((4,))), {"alpha": 3})
    yield Case("top", "rsub", (d.i((3,)), 5), {"alpha": 2})
    yield Case("top", "range", (1, 4))
    yield Case("top", "range", (0, 1, 0.25), {"dtype": np.dtype(np.float64)})
    yield Case("top", "range", (5,))  # no end: refused
    yield Case("top", "scalar_tensor", (3,))
    yield Case("top", "scalar_tensor", (2.5,), {"dtype": np.dtype(np.float64)})
    yield Case("top", "adjoint", (d.f((2, 3, 4)),))
    yield Case("method", "adjoint", (x,))
    yield Case("top", "adjoint", (d.f((3,)),))  # refused
    b1, b2 = d.f((5, 3, 2)), d.f((5, 2, 4))
    yield Case("top", "addbmm", (d.f((3, 4)), b1, b2))
    yield Case("top", "addbmm", (d.f((4,)), b1, b2), {"beta": 0.5, "alpha": 2})
    yield Case("method", "addbmm", (d.f((3, 4)), b1, b2), {"beta": 0})
    yield Case("top", "addbmm", (d.f((3, 4)), d.f((3, 2)), b2))  # 2-d: refused
    i = Arr(np.array([1, -4, 7, 0]))
    for name in ("bitwise_left_shift", "bitwise_right_shift"):
        yield Case("top", name, (i, 2))
        yield Case("method", name, (i, Arr(np.array([0, 1, 2, 3]))))
        yield Case("top", name, (Arr(np.array([1, 8], dtype=np.uint8)), 1))
        yield Case("top", name, (d.f((3,)), 1))  # floats: refused
    yield Case("top", "nextafter", (Arr(x.value, grad=False), d.f((3, 4), grad=False)))
    f32 = d.f((3,), "float32", grad=False)
    yield Case("method", "nextafter", (f32, d.f((3,), "float32", grad=False)))
    yield Case("top", "nextafter", (f32, Arr(np.array([np.inf, -np.inf, 0], np.float32), False)))
    yield Case("top", "nextafter", (d.i((3,)), d.i((3,))))  # integers: refused
    logp, target = d.f((3, 4), low=-3, high=-0.1), d.f((3, 4), low=0.05, high=1.0)
    for reduction in (0, 1, 2):
        yield Case("top", "kl_div", (logp, target, reduction))
    yield Case("top", "kl_div", (logp, target))
    yield Case("top", "kl_div", (logp, Arr(np.log(target.value))), {"log_target": True})


def median_cases() -> Iterable[Case]:
    d = Draw(142)
    x = Arr(np.array([[1.0, np.nan, 3.0, 2.0, 0.5], [4.0, 5.0, np.nan, np.nan, -1.0]]))
    yield Case("top", "nanmedian", (x,))
    yield Case("top", "nanmedian", (x, 1))
    yield Case("top", "nanmedian", (x, 0, True))
    yield Case("method", "nanmedian", (x, -1))
    yield Case("method", "nanmedian", (d.f((3, 4)),))
    yield Case("top", "nanmedian", (d.f((2, 3, 4), "float32"), 1))
    yield Case("top", "nanmedian", (Arr(np.array([5, 1, 3, 2])),))
    yield Case("top", "nanmedian", (Arr(np.array(2.5)), 0))
    yield Case("top", "nanmedian", (d.f((2, 0)), 1))  # an empty dim: refused


def norm_cases() -> Iterable[Case]:
    d = Draw(143)
    x = d.f((3, 4))
    for p, dim, maxnorm in ((2, 0, 1.5), (1, 1, 2.0), (3, -1, 0.5), (2, 0, 100.0)):
        yield Case("top", "renorm", (x, p, dim, maxnorm))
    yield Case("method", "renorm", (d.f((2, 3, 2)), 2, 1, 1.0))
    yield Case("top", "renorm", (d.f((4,)), 2, 0, 1.0))  # 1-d: refused
    rows = d.f((5, 3))
    for p in (2, 1, 3.0, float("inf")):
        yield Case("top", "pdist", (rows, p))
    yield Case("top", "pdist", (d.f((1, 3)),))
    yield Case("top", "pdist", (d.f((2, 3, 1)),))  # 3-d: refused


def inplace_cases() -> Iterable[Case]:
    d = Draw(144)
    x, pos = d.f((3, 4)), d.f((3, 4), low=0.1, high=0.9)

    def fresh(a: Arr) -> Arr:
        return Arr(a.value, clone=True)

    yield Case("method", "logit_", (fresh(pos),))
    yield Case("top", "logit_", (fresh(pos), 0.2))
    yield Case("method", "nan_to_num_", (Arr(np.array([np.nan, np.inf, 1.0]), clone=True),))
    yield Case("top", "nan_to_num_", (Arr(np.array([np.nan, -np.inf]), clone=True), 1.0))
    for name in ("log10_", "log2_"):
        yield Case("method", name, (fresh(pos),))
        yield Case("top", name, (fresh(pos),))
        yield Case("top", name, (pos,))  # a leaf that requires grad: refused
    yield Case("method", "xlogy_", (fresh(x), pos))
    yield Case("top", "xlogy_", (fresh(x), 2.0))
    for name in ("gcd_", "lcm_"):
        yield Case("method", name, (Arr(np.array([4, 6, 9])), Arr(np.array([6, 4, 3]))))
        yield Case("top", name, (Arr(np.array([4, 6, 9])), Arr(np.array([6, 4, 3]))))
    mat, vec = d.f((3, 4)), d.f((4,))
    yield Case("method", "addmv_", (fresh(d.f((3,))), mat, vec))
    yield Case("top", "addmv_", (fresh(d.f((3,))), mat, vec), {"beta": 0.5})
    yield Case("method", "addr_", (fresh(x), d.f((3,)), vec), {"alpha": 2})
    yield Case("method", "addbmm_", (fresh(d.f((3, 2))), d.f((2, 3, 4)), d.f((2, 4, 2))))
    yield Case("method", "renorm_", (fresh(x), 2, 0, 1.0))


def random_cases() -> Iterable[Case]:
    d = Draw(146)
    count = Arr(np.array([[5.0, 10.0, 0.0], [3.0, 1.0, 7.0]]), grad=False)
    prob = d.f((2, 3), low=0.0, high=1.0, grad=False)
    yield Case("top", "fill", (d.f((2, 3)), 1.5))
    yield Case("top", "fill", (d.i((3,)), 4))
    yield Case("top", "fill", (d.f((2, 3)), Arr(np.array(2.0))))
    for size in (0, 2, 6):
        yield Case(
            "top", "nonzero_static", (Arr(np.array([[0, 1, 2], [3, 0, 0]])),), {"size": size}
        )
    yield Case("method", "nonzero_static", (Arr(np.array([0.0, 1.5, 2.0])),),
               {"size": 4, "fill_value": -7})  # fmt: skip
    yield Case("top", "binomial", (count, prob))
    yield Case("top", "binomial", (d.i((3,)), d.f((3,), grad=False)))  # integers: refused
    x = d.f((3, 4), grad=False)
    yield Case("method", "cauchy_", (x,))
    yield Case("method", "cauchy_", (x, 1.0, 0.5))
    yield Case("method", "geometric_", (x, 0.3))
    yield Case("method", "geometric_", (x, 1.5))  # refused
    yield Case("method", "log_normal_", (Arr(x.value, clone=True),), {"mean": 0.0, "std": 0.5})
    yield Case("method", "log_normal_", (d.i((3,)),))  # integers: refused


def gradient_cases() -> Iterable[Case]:
    d = Draw(145)
    v, m = d.f((6,)), d.f((3, 5))
    yield Case("top", "gradient", (v,))
    yield Case("top", "gradient", (v,), {"spacing": 0.5, "edge_order": 2})
    yield Case("top", "gradient", (m,))
    yield Case("top", "gradient", (m,), {"dim": 1, "spacing": [2.0]})
    yield Case("top", "gradient", (m,), {"dim": [0, 1], "spacing": (1.0, 0.25)})
    coords = Arr(np.array([0.0, 0.5, 1.5, 2.0, 3.5, 4.0]), grad=False)
    yield Case("top", "gradient", (v,), {"spacing": (coords,)})
    yield Case("top", "gradient", (d.i((5,)),))
    yield Case("top", "gradient", (d.f((2,)),), {"edge_order": 2})  # too short: refused
    yield Case("top", "gradient", (v,), {"edge_order": 3})  # refused
    x, src = d.f((4, 3)), d.f((5, 3))
    index = Arr(np.array([0, 2, 0, 3, 2]))
    for reduce in ("prod", "mean", "amax", "amin"):
        yield Case("top", "index_reduce", (x, 0, index, src, reduce))
        yield Case("method", "index_reduce", (x, 0, index, src, reduce), {"include_self": False})
    yield Case("top", "index_reduce", (d.f((3, 4)), 1, Arr(np.array([1, 1])), d.f((3, 2)), "amax"))
    yield Case("top", "index_reduce", (x, 0, index, src, "sum"))  # refused
    yield Case("method", "index_reduce_", (Arr(x.value, clone=True), 0, index, src, "mean"))


CASES = all_cases(
    (misc_cases, None),
    (median_cases, None),
    (norm_cases, None),
    (inplace_cases, None),
    (gradient_cases, None),
    (random_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: gradviz.renorm(x, 2, 0, 1.0),
        lambda x: gradviz.renorm(x, 3, 1, 0.7),
        lambda x: gradviz.pdist(x),
        lambda x: gradviz.nanmedian(x, 1)[0],
        lambda x: gradviz.addbmm(x[:2], x.reshape(1, 3, 3)[:, :2], x.reshape(1, 3, 3)),
        lambda x: gradviz.rsub(x, 1.0, alpha=2),
    ],
)
def test_compositions_pass_gradcheck(fn):
    rng = np.random.default_rng(5)
    x = gradviz.tensor(rng.uniform(-2, 2, (3, 3)), requires_grad=True)
    assert gradviz.gradcheck(fn, [x])


def test_random_draws_follow_their_distribution_and_the_seed():
    gradviz.manual_seed(0)
    count = gradviz.full((2000,), 10.0, dtype=gradviz.float64)
    draws = gradviz.binomial(count, gradviz.full((2000,), 0.3, dtype=gradviz.float64))
    assert 2.8 < draws.mean().item() < 3.2
    x = gradviz.zeros(4000, dtype=gradviz.float64)
    geometric = x.clone().geometric_(0.25).numpy()
    assert geometric.min() >= 1
    assert np.all(geometric == np.round(geometric))
    assert 3.8 < geometric.mean() < 4.2
    assert np.all(x.clone().log_normal_(0.0, 0.5).numpy() > 0)
    assert 0.9 < np.median(x.clone().log_normal_(0.0, 0.5).numpy()) < 1.1
    assert -0.1 < np.median(x.clone().cauchy_(0.0, 1.0).numpy()) < 0.1
    gradviz.manual_seed(7)
    first = x.clone().cauchy_().numpy()
    gradviz.manual_seed(7)
    np.testing.assert_array_equal(x.clone().cauchy_().numpy(), first)
