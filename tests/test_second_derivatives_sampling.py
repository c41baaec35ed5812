"""Second derivatives (``create_graph=True``) through resampling and the ops that put values
back where they came from: ``interpolate``'s modes (``nn.Upsample`` and the
``Upsampling*2d`` layers are the same ops), cummax and cummin, max unpooling, scatter_reduce
(every reduction) and embedding_bag; each first gradient and the gradient of it by finite
differences at float64 (always) and against PyTorch (when installed; embedding_bag's second
derivative PyTorch does not implement: its first gradient only), with the helpers of
test_second_derivatives; a third derivative of an upsampling; refusals PyTorch makes too.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_second_derivatives import Op, check_against_pytorch, check_by_finite_differences

import gradviz
from gradviz.autograd.errors import BackwardError

A = ((3, 4), -1.0, 1.0)


def r(*shape: int) -> tuple[tuple[int, ...], float, float]:
    return shape, -1.0, 1.0


def _interpolate(mode: str, **options):
    return lambda lib, F, x: F.interpolate(x, mode=mode, **options) ** 3


RESAMPLING = [
    Op("nearest_1d", _interpolate("nearest", scale_factor=2), (r(2, 2, 3),)),
    Op("nearest_2d_size", _interpolate("nearest", size=(5, 3)), (r(1, 2, 3, 4),)),
    Op("nearest_3d", _interpolate("nearest", scale_factor=(2, 1, 1.5)), (r(1, 1, 2, 3, 2),)),
    Op("nearest_exact_1d", _interpolate("nearest-exact", size=5), (r(2, 1, 3),)),
    Op("nearest_exact_2d", _interpolate("nearest-exact", size=(3, 5)), (r(1, 2, 4, 3),)),
    Op("nearest_exact_3d", _interpolate("nearest-exact", size=(3, 2, 3)), (r(1, 1, 2, 3, 2),)),
    Op("linear", _interpolate("linear", size=5), (r(2, 2, 3),)),
    Op("linear_align_corners", _interpolate("linear", size=7, align_corners=True), (r(1, 2, 4),)),
    Op("bilinear", _interpolate("bilinear", scale_factor=1.5), (r(1, 2, 3, 4),)),
    Op(
        "bilinear_align_corners_down",
        _interpolate("bilinear", size=(2, 3), align_corners=True),
        (r(1, 2, 4, 5),),
    ),
    Op("bicubic", _interpolate("bicubic", size=(5, 4)), (r(1, 1, 3, 3),)),
    Op(
        "bicubic_align_corners",
        _interpolate("bicubic", scale_factor=2, align_corners=True),
        (r(1, 2, 2, 3),),
    ),
    Op("trilinear", _interpolate("trilinear", size=(3, 2, 4)), (r(1, 1, 2, 3, 2),)),
    Op("area", _interpolate("area", size=(2, 3)), (r(1, 2, 4, 5),)),
    Op(
        "upsample_layers",
        lambda lib, F, x: (
            lib.nn.Upsample(scale_factor=2, mode="bilinear")(x) ** 2
            + lib.nn.UpsamplingNearest2d(scale_factor=2)(x) ** 3
            + lib.nn.UpsamplingBilinear2d(size=(6, 4))(x) * lib.nn.Upsample(size=(6, 4))(x)
        ),
        (r(1, 2, 3, 2),),
    ),
]

INDEX = [
    [0, 2, 0, 1],
    [1, 1, 1, 0],
    [2, 0, 2, 2],
]  # (3, 4): repeats, and place 2 of row 0 untouched


def _scatter_reduce(reduce: str, include_self: bool):
    return lambda lib, F, x, s: (
        x.scatter_reduce(1, lib.tensor(INDEX), s, reduce, include_self=include_self) ** 3
    )


def _unpool(lib, F, x):
    places = lib.tensor([[[[0, 3], [9, 14]], [[5, 6], [8, 15]]]])  # (of a max pool of 4 x 4)
    return F.max_unpool2d(x, places, 2) ** 3


PLACING = [
    Op("cummax", lambda lib, F, x: x.cummax(1)[0] ** 3 + x.cummax(0).values * x, (A,)),
    Op("cummin", lambda lib, F, x: x.cummin(1)[0] ** 3 + lib.cummin(x, 0)[0] * x, (A,)),
    Op("cummax_ties", lambda lib, F, x: lib.cat([x, x], 1).cummax(1)[0] ** 3, (A,)),
    Op("max_unpool2d", _unpool, (r(1, 2, 2, 2),)),
    Op(
        "max_unpool1d_one_sample_output_size",
        lambda lib, F, x, p: (
            F.max_unpool1d(x, lib.tensor([[1, 2, 5], [0, 3, 4]]), 2, output_size=(7,)) ** 3 * p
        ),
        (r(2, 3), r(2, 7)),
    ),
    Op(
        "max_unpool3d",
        lambda lib, F, x: F.max_unpool3d(x, lib.tensor([[[[[0, 3]], [[17, 30]]]]]), 2) ** 3,
        (r(1, 1, 2, 1, 2),),
    ),
    Op(
        "max_unpool_layers",
        lambda lib, F, x: lib.nn.MaxUnpool2d(2)(x, lib.tensor([[[[0, 3], [9, 14]]]])) ** 3,
        (r(1, 1, 2, 2),),
    ),
    *(
        Op(f"scatter_reduce_{reduce}_{include}", _scatter_reduce(reduce, include), (A, A))
        for reduce in ("sum", "mean", "prod", "amax", "amin")
        for include in (True, False)
    ),
    *(
        Op(
            f"scatter_reduce_in_place_{reduce}",
            lambda lib, F, x, s, reduce=reduce: (
                (x * 1).scatter_reduce_(1, lib.tensor(INDEX), s, reduce, include_self=False) ** 3
            ),
            (A, A),
        )
        for reduce in ("prod", "amax")
    ),
    Op(
        "scatter_reduce_prod_zeros",
        lambda lib, F, x, s: (
            x.scatter_reduce(0, lib.tensor([0, 0, 1, 2]), s * lib.tensor([0.0, 1, 0, 1]), "prod")
            ** 3
        ),
        (((3,), -1.0, 1.0), ((4,), -1.0, 1.0)),
    ),
    Op(
        "scatter_reduce_prod_self_zero",
        lambda lib, F, x, s: (
            (x * lib.tensor([0.0, 1, 1])).scatter_reduce(0, lib.tensor([0, 0, 1]), s, "prod") ** 3
        ),
        (((3,), -1.0, 1.0), ((3,), -1.0, 1.0)),
    ),
    Op(
        "scatter_reduce_amax_ties",
        lambda lib, F, x: (
            x.scatter_reduce(0, lib.tensor([0, 0, 0]), x.detach() * 0 + x[0], "amax") ** 3
        ),
        (((3,), -1.0, 1.0),),
    ),
]

CASES = [*RESAMPLING, *PLACING]

W = ((5, 3), -1.0, 1.0)
BAGS = [0, 2, 1, 2, 4, 3, 3]
#: embedding_bag: PyTorch has no second derivative here (its _embedding_bag_backward's is not
#: implemented), so these are checked by finite differences, and the first gradient against it;
#: so is a scatter_reduce reading part of a larger src, whose gradient PyTorch fails to shape
BEYOND_PYTORCH = [
    *(
        Op(
            f"embedding_bag_{mode}",
            lambda lib, F, w, mode=mode: (
                F.embedding_bag(lib.tensor(BAGS), w, lib.tensor([0, 2, 2, 5]), mode=mode) ** 3
            ),
            (W,),
        )
        for mode in ("sum", "mean", "max")
    ),
    Op(
        "embedding_bag_2d_padding_idx",
        lambda lib, F, w: F.embedding_bag(lib.tensor([[0, 2], [2, 2]]), w, padding_idx=2) ** 3,
        (W,),
    ),
    Op(
        "embedding_bag_per_sample_weights",
        lambda lib, F, w, p: (
            F.embedding_bag(
                lib.tensor(BAGS), w, lib.tensor([0, 3]), mode="sum", per_sample_weights=p
            )
            ** 3
        ),
        (W, ((7,), -1.0, 1.0)),
    ),
    Op(
        "embedding_bag_2d_max",
        lambda lib, F, w: F.embedding_bag(lib.tensor([[1, 4, 4], [0, 0, 3]]), w, mode="max") ** 3,
        (W,),
    ),
    Op(
        "scatter_reduce_larger_src",
        lambda lib, F, x, s: x.scatter_reduce(0, lib.tensor([[1, 0]]), s, "prod") ** 3,
        (((2, 2), -1.0, 1.0), ((2, 3), -1.0, 1.0)),
    ),
]


@pytest.mark.parametrize("op", [*CASES, *BEYOND_PYTORCH], ids=lambda op: op.id)
def test_gradient_of_the_gradient_by_finite_differences(op):
    check_by_finite_differences(op)


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
def test_first_and_second_gradients_match_pytorch(op):
    check_against_pytorch(op)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_a_third_derivative_through_an_upsampling_matches_pytorch(mode):
    """The gradient's ``ResampleBackward`` has a rule (the upsampling itself), and so on."""
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).uniform(-1, 1, (1, 2, 3, 3))
    results = []
    for lib in (gradviz, torch):
        x = lib.tensor(data, requires_grad=True)
        y = lib.nn.functional.interpolate(x, size=(5, 4), mode=mode) ** 4
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g**2).sum(), x, create_graph=True)
        (t,) = lib.autograd.grad((h**2).sum(), x)
        results.append([v.detach().numpy() for v in (g, h, t)])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: gradviz.nn.functional.interpolate(x, scale_factor=2),
        lambda x: gradviz.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
        lambda x: x.cummax(3)[0],
        lambda x: x.scatter_reduce(3, gradviz.tensor([[[[0, 0]]]]), x, "amin"),
        lambda x: gradviz.nn.functional.max_unpool2d(x, gradviz.tensor([[[[0, 3], [9, 14]]]]), 2),
    ],
)
def test_a_gradient_that_does_not_depend_on_the_input_has_no_graph_as_in_pytorch(fn):
    """A linear or piecewise linear op alone: PyTorch's first gradient does not require grad
    (its rule keeps no path to the input), and neither does gradviz's."""
    x = gradviz.randn(1, 1, 2, 2, requires_grad=True)
    (g,) = gradviz.autograd.grad(fn(x).sum(), x, create_graph=True)
    assert not g.requires_grad
    (expected,) = gradviz.autograd.grad(fn(x).sum(), x)
    np.testing.assert_array_equal(g.numpy(), expected.numpy())


@pytest.mark.parametrize("op", BEYOND_PYTORCH[:-1], ids=lambda op: op.id)
def test_embedding_bag_first_gradients_with_a_graph_match_pytorch(op):
    torch = pytest.importorskip("torch")
    arrays = op.arrays()
    xs = [gradviz.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    gs = gradviz.autograd.grad(
        op.fn(gradviz, gradviz.nn.functional, *xs).sum(), xs, create_graph=True
    )
    gts = torch.autograd.grad(op.fn(torch, torch.nn.functional, *ts).sum(), ts, create_graph=True)
    for g, gt in zip(gs, gts, strict=True):
        np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert g.requires_grad


def test_scatter_reduce_prod_refuses_two_zeros_of_src_in_one_place_as_pytorch():
    x = gradviz.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = gradviz.tensor([0.0, 0.0, 2.0], requires_grad=True)
    y = x.scatter_reduce(0, gradviz.tensor([0, 0, 1]), s, "prod")
    with pytest.raises(
        BackwardError, match=r"Double backward is unsupported for src when >1 zeros"
    ):
        gradviz.autograd.grad((y**2).sum(), (x, s), create_graph=True)
    (gx,) = gradviz.autograd.grad((y**2).sum(), x, create_graph=True)  # in x alone: fine
    np.testing.assert_allclose(gx.numpy(), [0.0, 16.0, 6.0])
