"""Second derivatives (``create_graph=True``) through resampling and the ops that put values
back where they came from: ``interpolate``'s modes (``nn.Upsample`` and the
``Upsampling*2d`` layers are the same ops), each first gradient and the gradient of it by
finite differences at float64 (always) and against PyTorch (when installed), with the helpers
of test_second_derivatives; a third derivative of an upsampling.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_second_derivatives import Op, check_against_pytorch, check_by_finite_differences

import gradviz


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

CASES = [*RESAMPLING]


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
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


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_the_gradient_of_a_linear_op_alone_has_no_graph_as_in_pytorch(mode):
    """A gradient that does not depend on the input does not require grad (PyTorch's)."""
    x = gradviz.randn(1, 1, 2, 2, requires_grad=True)
    y = gradviz.nn.functional.interpolate(x, scale_factor=2, mode=mode)
    (g,) = gradviz.autograd.grad(y.sum(), x, create_graph=True)
    assert not g.requires_grad
    np.testing.assert_allclose(g.numpy(), np.full((1, 1, 2, 2), 4.0))
