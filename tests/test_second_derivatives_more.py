"""Second derivatives (``create_graph=True``) through more ops: elementwise math (hyperbolic,
inverse trigonometric, log1p, expm1, the gamma family ...), the rounding ops (a zero gradient
with no graph, as PyTorch's), shape and sequence ops, scatters, linear algebra, losses and
layers; each first gradient and the gradient of it by finite differences at float64 and
against PyTorch (``requires_grad`` of the first gradient included), as in
test_second_derivatives; and a third derivative against PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_second_derivatives import (
    AWAY,
    A,
    B,
    Op,
    P,
    check_against_pytorch,
    check_by_finite_differences,
    variables,
)

import gradviz
from gradviz.autograd import grad
from gradviz.autograd.errors import BackwardError

U = ((3, 4), -0.8, 0.8)  # inside (-1, 1): asin, acos, erfinv
PROB = ((3, 4), 0.1, 0.9)  # probabilities: logit, binary cross-entropy
V3 = ((3,), -1.0, 1.0)
NEG = ((3, 4), -2.9, -2.1)  # between two poles of the gamma function

ELEMENTWISE = [
    Op("cosh_sinh", lambda lib, F, x: x.cosh() * x.sinh() + lib.sinh(x * x), (A,)),
    Op("log1p_expm1", lambda lib, F, x: x.log1p() * x + (x * x).expm1(), (P,)),
    Op("exp2", lambda lib, F, x: lib.exp2(x) * x, (A,)),
    Op("atan", lambda lib, F, x: x.atan() * x, (A,)),
    Op("asin_acos", lambda lib, F, x: x.asin() * x + x.acos() ** 2, (U,)),
    Op("tan_asinh_atanh", lambda lib, F, x: x.tan() * x + lib.asinh(x) ** 2 + x.atanh() * x, (U,)),
    Op("acosh", lambda lib, F, x: (x + 2).acosh() * x, (U,)),
    Op(
        "affine_grid",
        lambda lib, F, t: F.affine_grid(t, (2, 1, 3, 4), align_corners=False) ** 3,
        (((2, 2, 3), -1.0, 1.0),),
    ),
    Op("logaddexp", lambda lib, F, a, b: lib.logaddexp(a, b) * a + a.logaddexp2(b) ** 2, (A, P)),
    Op("atan2", lambda lib, F, a, b: lib.atan2(a, b) * a, (A, P)),
    Op("hypot", lambda lib, F, a, b: lib.hypot(a, b) * a, (A, P)),
    Op("logit", lambda lib, F, x: x.logit() * x, (PROB,)),
    Op("logit_eps", lambda lib, F, x: x.logit(eps=0.2) * x, (PROB,)),
    Op("xlogy", lambda lib, F, x, y: lib.special.xlogy(x, y) * x, (A, P)),
    Op("sinc", lambda lib, F, x: lib.special.sinc(x) * x, (AWAY,)),
    Op("erfinv", lambda lib, F, x: x.erfinv() * x, (U,)),
    Op("entr", lambda lib, F, x: lib.special.entr(x) * x, (P,)),
    Op("i0_i1", lambda lib, F, x: lib.special.i0(x) * x + lib.special.i1(x * 3) ** 2, (A,)),
    Op("i0e_i1e", lambda lib, F, x: lib.special.i0e(x * 4) * x + lib.special.i1e(x) ** 2, (A,)),
    Op(
        "bessel_at_zero",
        lambda lib, F, x: lib.special.i1(x * 0) * x + lib.special.i1e(x - x) * x**2,
        (A,),
    ),
    Op("lgamma", lambda lib, F, x: x.lgamma() * x, (P,)),
    Op("lgamma_negative", lambda lib, F, x: lib.lgamma(x) * x, (NEG,)),
    Op("digamma", lambda lib, F, x: x.digamma() * x + lib.special.psi(x * x), (P,)),
    Op("polygamma", lambda lib, F, x: x.polygamma(1) * x + lib.polygamma(3, x), (P,)),
    Op("polygamma_negative", lambda lib, F, x: lib.special.polygamma(2, x) * x, (NEG,)),
    Op("mvlgamma", lambda lib, F, x: (x + 2).mvlgamma(3) * x, (P,)),
    Op("multigammaln", lambda lib, F, x: lib.special.multigammaln(x + 1, 2) ** 2, (P,)),
    Op(
        "igamma",
        lambda lib, F, x: lib.igamma(lib.tensor([0.7, 1.5, 3.0, 5.0], dtype=lib.float64), x) * x,
        (P,),
    ),
    Op(
        "igammac",
        lambda lib, F, x: lib.special.gammaincc(lib.tensor(2.5, dtype=lib.float64), x) ** 2,
        (P,),
    ),
    Op("nan_to_num", lambda lib, F, x: x.nan_to_num() * x, (A,)),
    Op(
        "rounding",
        lambda lib, F, x: x.floor() * x + x.ceil() * x + x.trunc() * x + x.round() * x,
        (A,),
    ),
    Op("sign_frac", lambda lib, F, x: x.sign() * x**2 + x.frac() * x, (A,)),
]

SHAPES = [
    Op("repeat", lambda lib, F, x: x.repeat(2, 1, 3) ** 3, (A,)),
    Op("tril_triu", lambda lib, F, x: x.tril(1) ** 3 + x.triu(-1) ** 2 * x, (A,)),
    Op("flip_roll", lambda lib, F, x: x.flip(0, 1) * x + x.roll(1, 1) ** 3 + x.roll(5) * x, (A,)),
    Op(
        "diagonal",
        lambda lib, F, x: (x.reshape(3, 2, 2).diagonal(0, 0, 2) ** 3).sum() + x.diagonal(1) ** 2,
        (A,),
    ),
    Op(
        "diag", lambda lib, F, x, v: (x.diag(-1) ** 3).sum() + lib.diag(v, 1) ** 2 * v.sum(), (A, B)
    ),
    Op("trace", lambda lib, F, x: x.trace() ** 3 + x.sum() * x.T.trace(), (A,)),
    Op("cumsum", lambda lib, F, x: x.cumsum(1) ** 3 + (x.cumsum(0) * x), (A,)),
    Op("cumprod", lambda lib, F, x: x.cumprod(1) * x + x.cumprod(0), (A,)),
    Op(
        "cumprod_with_zeros",
        lambda lib, F, x: (x * lib.tensor([[1.0, 0, 1, 1]] * 3)).cumprod(1) * x,
        (A,),
    ),
    Op(
        "prod",
        lambda lib, F, x: (
            x.prod(1, keepdim=True) * x.sum() + x.prod() + x.prod(0, keepdim=True) * x
        ),
        (A,),
    ),
    Op(
        "prod_with_zeros",
        lambda lib, F, x: (
            (x * lib.tensor([[1.0, 0, 1, 0]] * 3)).prod(1, keepdim=True) * x.sum()
            + (x * lib.tensor([[1.0, 0, 1, 1]] * 3)).prod(1).sum() * x
        ),
        (A,),
    ),
    Op("take", lambda lib, F, x: x.take(lib.tensor([[0, 5], [5, -1]])) ** 3, (A,)),
    Op(
        "pad_modes",
        lambda lib, F, x: (
            (F.pad(x.reshape(1, 3, 4), (2, 1), mode="reflect") ** 3).sum()
            + (F.pad(x.reshape(1, 1, 3, 4), (1, 2, 2, 1), mode="replicate") ** 3).sum()
            + (F.pad(x.reshape(1, 1, 3, 4), (2, 1, 1, 0), mode="circular") ** 3).sum()
        ),
        (A,),
    ),
    Op(
        "pixel_shuffle",
        lambda lib, F, x: F.pixel_unshuffle(F.pixel_shuffle(x * x, 2) ** 3, 2) * x,
        (((1, 8, 2, 3), -1.0, 1.0),),
    ),
    Op(
        "glu",
        lambda lib, F, x: (F.glu(x, 1) ** 2).sum() + F.glu(x, 0) * x[:2].sum(),
        (((4, 4), -2, 2),),
    ),
]

M3 = ((3, 3), -0.5, 0.5)  # + 2 I: well conditioned
LINEAR_ALGEBRA = [
    Op("inv", lambda lib, F, x: lib.linalg.inv(x + 2 * lib.eye(3, dtype=x.dtype)) ** 3, (M3,)),
    Op(
        "inv_batched",
        lambda lib, F, x: lib.linalg.inv(x + 2 * lib.eye(3, dtype=x.dtype)).tanh(),
        (((2, 3, 3), -0.5, 0.5),),
    ),
    Op(
        "det",
        lambda lib, F, x: lib.linalg.det(x + 2 * lib.eye(3, dtype=x.dtype)) ** 2 * x,
        (M3,),
    ),
    Op("matrix_exp", lambda lib, F, x: lib.linalg.matrix_exp(x * 4) ** 2, (M3,)),
    Op(
        "matrix_exp_batched_method",
        lambda lib, F, x: x.matrix_exp().tanh() * x,
        (((2, 3, 3), -1.0, 1.0),),
    ),
    Op(
        "solve",
        lambda lib, F, a, b: lib.linalg.solve(a + 2 * lib.eye(3, dtype=a.dtype), b) ** 3,
        (M3, ((3, 2), -1.0, 1.0)),
    ),
    Op(
        "solve_vector_left_false",
        lambda lib, F, a, b, c: (
            lib.linalg.solve(a + 2 * lib.eye(3, dtype=a.dtype), b) ** 3
            + lib.linalg.solve(a + 2 * lib.eye(3, dtype=a.dtype), c, left=False).tanh()
        ),
        (M3, V3, ((2, 3), -1.0, 1.0)),
    ),
    *(
        Op(
            f"cholesky_{'upper' if upper else 'lower'}",
            lambda lib, F, x, upper=upper: (
                lib.linalg.cholesky(x @ x.mT + lib.eye(3, dtype=x.dtype), upper=upper) ** 3
            ),
            (M3,),
        )
        for upper in (False, True)
    ),
    Op(
        "solve_triangular",
        lambda lib, F, a, b: (
            lib.linalg.solve_triangular(a + 2 * lib.eye(3, dtype=a.dtype), b, upper=True) ** 3
        ),
        (M3, ((3, 2), -1.0, 1.0)),
    ),
    Op(
        "pinv",
        lambda lib, F, x: lib.linalg.pinv(x) ** 3,
        (((3, 2), -1.0, 1.0),),
    ),
    Op(
        "pinv_hermitian",
        lambda lib, F, x: (
            lib.linalg.pinv(x @ x.mT + lib.eye(3, dtype=x.dtype), hermitian=True) ** 3
        ),
        (M3,),
    ),
    Op(
        "einsum",
        lambda lib, F, x, y: (
            lib.einsum("ij,kj->ik", x, y).tanh()
            + lib.einsum("ij,ij->i", x, x * y).unsqueeze(1)
            + lib.einsum("ij->", x * x)
        ),
        (A, A),
    ),
    Op("einsum_summed_letter", lambda lib, F, x, v: lib.einsum("ij,k->ik", x, v) ** 2, (A, B)),
    Op("outer", lambda lib, F, v, w: lib.outer(v, w) ** 3 + lib.outer(v * w, v), (B, B)),
    Op(
        "addmm",
        lambda lib, F, b, x, w: (
            lib.addmm(b, x, w, beta=0.5, alpha=2.0).tanh() + lib.addmm(b * b, x, w)
        ),
        (B, ((4, 3), -1.0, 1.0), ((3, 4), -1.0, 1.0)),
    ),
    Op(
        "baddbmm",
        lambda lib, F, b, x, w: lib.baddbmm(b, x, w, alpha=0.5) ** 3,
        (((2, 3, 4), -1.0, 1.0), ((2, 3, 2), -1.0, 1.0), ((2, 2, 4), -1.0, 1.0)),
    ),
    Op(
        "tensordot",
        lambda lib, F, x, y: (
            lib.tensordot(x, y, dims=([0, 2], [2, 0])).tanh()
            + lib.tensordot(x, y, dims=1).sum() ** 2
        ),
        (((2, 3, 4), -1.0, 1.0), ((4, 3, 2), -1.0, 1.0)),
    ),
    Op(
        "kron", lambda lib, F, x, v: (lib.kron(x, v) ** 3).sum() + lib.kron(v, x).sum() * x, (A, V3)
    ),
    Op(
        "addcmul_addcdiv",
        lambda lib, F, x, y, p: (
            lib.addcmul(x, y, p, value=0.5) ** 3 + lib.addcdiv(x * x, y, p, value=2.0) * p
        ),
        (A, A, P),
    ),
    Op(
        "lerp",
        lambda lib, F, x, y, w: lib.lerp(x, y, w) ** 3 + lib.lerp(x, y, 0.3) * x,
        (A, A, A),
    ),
]

LOSSES = [
    Op(
        "l1_loss",
        lambda lib, F, x, y: F.l1_loss(x, y) ** 2 + F.l1_loss(x, y, reduction="none") * x,
        (A, P),
    ),
    Op(
        "smooth_l1_loss",
        lambda lib, F, x, y: (
            F.smooth_l1_loss(x, y, beta=1.5) ** 2
            + F.smooth_l1_loss(x, y, reduction="sum", beta=0.0) * x
            + F.smooth_l1_loss(x, y, reduction="none") * y
        ),
        (A, P),
    ),
    Op(
        "huber_loss",
        lambda lib, F, x, y: (
            F.huber_loss(x, y, delta=0.8) ** 2 + F.huber_loss(x, y, reduction="none") * x
        ),
        (A, P),
    ),
    Op(
        "binary_cross_entropy",
        lambda lib, F, p, t: (
            F.binary_cross_entropy(p, t) ** 2 + F.binary_cross_entropy(p, t, reduction="none") * p
        ),
        (PROB, PROB),
    ),
    Op(
        "kl_div",
        lambda lib, F, x, t: (
            F.kl_div(x, t, reduction="batchmean") ** 2
            + F.kl_div(x, t, reduction="none") * x
            + F.kl_div(x, t, reduction="sum", log_target=True) * t
        ),
        (A, PROB),
    ),
    Op(
        "cosine_similarity",
        lambda lib, F, x, y, v: (
            (F.cosine_similarity(x, y) ** 3).sum()
            + F.cosine_similarity(x, v.unsqueeze(0), dim=1).unsqueeze(1) * x
        ),
        (A, A, B),
    ),
]

LAYERS = [
    Op(
        "rms_norm",
        lambda lib, F, x, w: (
            F.rms_norm(x, (4,), w, 1e-5) ** 3
            + F.rms_norm(x.reshape(2, 3, 2), (3, 2), eps=1e-3).reshape(3, 4) * w
        ),
        (A, B),
    ),
    Op(
        "bilinear",
        lambda lib, F, x1, x2, w, b: F.bilinear(x1, x2, w, b).tanh(),
        (((2, 3, 4), -1.0, 1.0), ((2, 3, 2), -1.0, 1.0), ((5, 4, 2), -1.0, 1.0), ((5,), -1, 1)),
    ),
]

SCATTERING = [
    Op(
        "scatter",
        lambda lib, F, x, y: (
            x.scatter(0, lib.tensor([[0, 2, 1, 0], [1, 0, 2, 2]]), y[:2] * y[:2]) ** 3
            + x.scatter(1, lib.tensor([[3], [0], [1]]), 2.0) * x
        ),
        (A, A),
    ),
    Op(
        "scatter_add",
        lambda lib, F, x, y: (
            x.scatter_add(0, lib.tensor([[0, 2, 1, 0], [0, 0, 2, 2]]), y[:2] * y[:2]) ** 3
        ),
        (A, A),
    ),
    Op(
        "index_add_copy_fill",
        lambda lib, F, x, y: (
            x.index_add(1, lib.tensor([0, 2, 0]), y[:, :3], alpha=2.0) ** 3
            + x.index_copy(0, lib.tensor([2, 0]), y[:2] * y[:2]) ** 3
            + x.index_fill(1, lib.tensor([1, 3, 1]), y.sum()) * x
        ),
        (A, A),
    ),
]

OTHERS = [
    Op(
        "fmod_remainder",
        lambda lib, F, a, b: lib.fmod(a, b) * a + lib.remainder(a * 3, b) * b,
        (A, P),
    ),
    Op("cross", lambda lib, F, a, b: lib.cross(a * a, b, dim=0) ** 3, (A, ((3, 4), -1, 1))),
    Op(
        "block_diag",
        lambda lib, F, x, v: lib.block_diag(x * x, v.unsqueeze(0)) ** 3,
        (A, B),
    ),
    Op("unfold_windows", lambda lib, F, x: x.unfold(1, 2, 1) ** 3 + x.unfold(0, 2, 1).sum(), (A,)),
    Op(
        "logcumsumexp",
        lambda lib, F, x: x.logcumsumexp(1) ** 2 + lib.logcumsumexp(x * 3, 0) * x,
        (A,),
    ),
    Op("median", lambda lib, F, x: x.median() * x**2, (A,)),
    Op(
        "im2col_col2im",
        lambda lib, F, x: F.fold(F.unfold(x * x, 2, padding=1) ** 2, (3, 4), 2, padding=1) * x,
        (((1, 2, 3, 4), -1.0, 1.0),),
    ),
]

CASES = [*ELEMENTWISE, *SHAPES, *LINEAR_ALGEBRA, *LOSSES, *LAYERS, *SCATTERING, *OTHERS]


@pytest.mark.parametrize("op", [op for op in CASES if not op.float32], ids=lambda op: op.id)
def test_gradient_of_the_gradient_by_finite_differences(op):
    check_by_finite_differences(op)


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
def test_first_and_second_gradients_match_pytorch(op):
    check_against_pytorch(op)


@pytest.mark.parametrize(
    "fn", [lambda x: x.floor(), lambda x: x.ceil(), lambda x: x.trunc(), lambda x: x.round(),
           lambda x: x.round(decimals=1), lambda x: x.sign()],
)  # fmt: skip
def test_a_zero_gradient_has_no_graph_as_in_pytorch(fn):
    """A rounding op's gradient is zeros that do not require grad (PyTorch's zeros_like)."""
    x = gradviz.tensor([0.4, -1.6, 2.5], requires_grad=True)
    (g,) = grad(fn(x).sum(), x, create_graph=True)
    assert not g.requires_grad
    np.testing.assert_array_equal(g.numpy(), np.zeros(3))


def _third(lib: Any, F: Any, op: Op, xs: list, ws: list) -> list:
    """d/dx <w, d/dx <w, grad f(x)>>: a third derivative, by create_graph twice."""
    gs = lib.autograd.grad(op.fn(lib, F, *xs).sum(), xs, create_graph=True)
    second = sum((g * lib.tensor(w)).sum() for g, w in zip(gs, ws, strict=True))
    hs = lib.autograd.grad(second, xs, create_graph=True, allow_unused=True)
    kept = [(h, w) for h, w in zip(hs, ws, strict=True) if h is not None and h.requires_grad]
    if not kept:
        return [None] * len(xs)
    third = sum((h * lib.tensor(w)).sum() for h, w in kept)
    return list(lib.autograd.grad(third, xs, allow_unused=True))


#: PyTorch's third derivative of logcumsumexp is NaN; ours is checked by finite differences
NAN_IN_PYTORCH = {"logcumsumexp"}


@pytest.mark.parametrize(
    "op", [op for op in CASES if op.id not in NAN_IN_PYTORCH], ids=lambda op: op.id
)
def test_third_derivatives_match_pytorch(op):
    """The graph rules are written in ops that have graph rules of their own: a third
    derivative runs, and equals PyTorch's."""
    torch = pytest.importorskip("torch")
    arrays, ws = op.arrays(), op.arrays(1)
    ours = _third(gradviz, gradviz.nn.functional, op, variables(op), ws)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    theirs = _third(torch, torch.nn.functional, op, ts, ws)
    for i, (h, ht) in enumerate(zip(ours, theirs, strict=True)):
        got = np.zeros(arrays[i].shape) if h is None else h.numpy()
        want = np.zeros(arrays[i].shape) if ht is None else ht.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10, err_msg=f"input {i}")


@pytest.mark.parametrize(
    "op", [op for op in CASES if op.id in NAN_IN_PYTORCH], ids=lambda op: op.id
)
def test_third_derivatives_by_finite_differences(op):
    """d/dx <w, h(x)>, h the gradient of <w, grad f(x)>, equals its central difference."""
    (x,) = variables(op)
    (w,) = op.arrays(1)
    (analytic,) = _third(gradviz, gradviz.nn.functional, op, [x], [w])

    def probe(array: np.ndarray) -> float:
        y = gradviz.tensor(array, requires_grad=True)
        (g,) = grad(op.fn(gradviz, gradviz.nn.functional, y).sum(), y, create_graph=True)
        (h,) = grad((g * gradviz.tensor(w)).sum(), y)
        return float((h.numpy() * w).sum())

    numeric, eps = np.zeros(x.shape), 1e-5
    for j in np.ndindex(x.shape):
        plus, minus = x.numpy().copy(), x.numpy().copy()
        plus[j] += eps
        minus[j] -= eps
        numeric[j] = (probe(plus) - probe(minus)) / (2 * eps)
    np.testing.assert_allclose(analytic.numpy(), numeric, rtol=1e-5, atol=1e-6)


def test_floor_divide_has_a_zero_gradient_with_no_graph():
    """``a // b``: zeros that do not require grad (PyTorch's floor_divide has no backward);
    through remainder, the divisor's gradient is ``-(a // b)``, recorded."""
    a = gradviz.tensor([2.5, -1.0, 7.0], requires_grad=True)
    b = gradviz.tensor([0.7, 0.6, 2.0], requires_grad=True)
    ga, gb = grad((a // b).sum(), [a, b], create_graph=True)
    assert not ga.requires_grad
    assert not gb.requires_grad
    np.testing.assert_array_equal(ga.numpy(), np.zeros(3))
    (gb,) = grad((a % b).sum(), b, create_graph=True)
    np.testing.assert_array_equal(gb.numpy(), -np.floor_divide(a.numpy(), b.numpy()))
    assert gb.requires_grad
    np.testing.assert_array_equal(grad(gb.sum(), b)[0].numpy(), np.zeros(3))


def test_det_of_a_singular_matrix_refuses_second_derivatives_by_name():
    """Its gradient, the cofactor matrix, is not made of ops with rules there."""
    x = gradviz.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    (g,) = grad(gradviz.linalg.det(x), x)  # the first derivative is fine
    np.testing.assert_allclose(g.numpy(), [[4.0, -2.0], [-2.0, 1.0]])
    with pytest.raises(BackwardError, match=r"LinalgDet \(linalg.det\) of a singular matrix"):
        grad(gradviz.linalg.det(x), x, create_graph=True)
