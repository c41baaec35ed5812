"""``gradviz.autograd.backward`` and ``gradviz.autograd.functional`` (``jacobian``, ``vjp``,
``jvp``) against PyTorch's: values, how tuples nest, refusals; and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz.autograd import functional as AF
from gradviz.autograd.errors import BackwardError, GradvizError, OperandError, ShapeError

torch = pytest.importorskip("torch")


def pair(shape, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape)
    return gradviz.tensor(data.copy()), torch.tensor(data.copy())


def one(x, y):
    """A function of two inputs with one output, in either library."""
    return (x.sin() * y.sum()).exp() + x * x


def two(x, y):
    """Two outputs of different shapes."""
    return (x * y.sum(), (x.tanh() ** 2).sum())


def same(ours, theirs):
    """Equal values, nested as PyTorch nests them."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            same(a, b)
        return
    assert isinstance(ours, gradviz.Variable)
    assert not ours.requires_grad
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (lambda x: x.exp() * x.sum(), ((3,),)),
        (lambda x: (x @ x.T).sum(1), ((2, 3),)),
        (lambda x: x.sum(), ((2, 2),)),
        (one, ((3,), (2,))),
        (two, ((3,), (2, 2))),
        (lambda x: (x.sin(), x.cos() * 2), ((2, 2),)),
    ],
)
def test_jacobian_matches_pytorch_with_its_nesting(func, args):
    pairs = [pair(shape, seed) for seed, shape in enumerate(args)]
    ours = tuple(p[0] for p in pairs)
    theirs = tuple(p[1] for p in pairs)
    if len(args) == 1:  # a single input: a Variable, and the result one level less nested
        same(AF.jacobian(func, ours[0]), torch.autograd.functional.jacobian(func, theirs[0]))
    same(AF.jacobian(func, ours), torch.autograd.functional.jacobian(func, theirs))
    same(
        AF.jacobian(func, ours, vectorize=True, strategy="forward-mode"),
        torch.autograd.functional.jacobian(func, theirs, vectorize=True),
    )


def test_jacobian_agrees_with_finite_differences():
    x = np.random.default_rng(3).standard_normal((2, 3))

    def f(v):
        return (v.tanh() * v.sum(0)).log_softmax(1)

    jac = AF.jacobian(f, gradviz.tensor(x)).numpy()
    eps, numeric = 1e-6, np.zeros((2, 3, 2, 3))
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        numeric[(..., *index)] = (
            f(gradviz.tensor(up)).numpy() - f(gradviz.tensor(down)).numpy()
        ) / (2 * eps)
    np.testing.assert_allclose(jac, numeric, rtol=1e-6, atol=1e-8)


def test_jacobian_leaves_the_inputs_and_their_grads_alone():
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    x.grad = gradviz.tensor([5.0, 5.0])
    jac = AF.jacobian(lambda v: v * v, x)
    np.testing.assert_array_equal(jac.numpy(), [[2.0, 0.0], [0.0, 4.0]])
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_unused_input_gives_zeros_and_strict_refuses_it():
    x, y = pair((3,))[0], pair((2,))[0]
    jac = AF.jacobian(lambda a, b: a * 2, (x, y))
    np.testing.assert_array_equal(jac[1].numpy(), np.zeros((3, 2)))
    with pytest.raises(BackwardError, match="independent of input 1"):
        AF.jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(BackwardError, match="does not require gradients"):
        AF.jacobian(lambda a: gradviz.ones(2), x, strict=True)
    np.testing.assert_array_equal(AF.jacobian(lambda a: gradviz.ones(2), x).numpy(), 0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: AF.jacobian(lambda a: a, [gradviz.ones(2)]), OperandError, "tuple of Tensors"),
        (lambda: AF.jacobian(lambda a: 3, gradviz.ones(2)), OperandError, "outputs of the"),
        (lambda: AF.jacobian(lambda a: a, gradviz.ones(2), strategy="x"), GradvizError, "mode"),
        (
            lambda: AF.jacobian(lambda a: a, gradviz.ones(2), strategy="forward-mode"),
            GradvizError,
            "vectorize=True",
        ),
        (
            lambda: AF.jacobian(lambda a: a, gradviz.ones(2), strict=True, vectorize=True),
            BackwardError,
            "not supported together",
        ),
        (lambda: AF.vjp(lambda a: a, gradviz.ones(2)), BackwardError, "single element"),
        (lambda: AF.jvp(lambda a: a, gradviz.ones(2)), BackwardError, "single element"),
        (
            lambda: AF.vjp(lambda a: a, gradviz.ones(2), gradviz.ones(3)),
            ShapeError,
            r"should be \(2,\) but got \(3,\)",
        ),
        (
            lambda: AF.jvp(lambda a, b: a, (gradviz.ones(2), gradviz.ones(1)), gradviz.ones(2)),
            ShapeError,
            "invalid length",
        ),
    ],
)
def test_refusals_as_pytorch(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("name", ["jacobian", "vjp", "jvp", "hessian", "hvp", "vhp"])
def test_an_op_without_a_graph_rule_is_named(name):
    """create_graph=True, or a second derivative, through an op that has no graph rule."""
    x = gradviz.ones(4)

    def func(a):
        return (gradviz.cdist(a.reshape(2, 2), a.reshape(2, 2) * 2).sum(1) * a[:2]).sum()

    args = {"jacobian": (True,), "vjp": (None, True), "jvp": (x, True), "hvp": (x,), "vhp": (x,)}
    with pytest.raises(BackwardError, match=r"through Cdist are not supported; supported ops"):
        getattr(AF, name)(func, x, *args.get(name, ()))


@pytest.mark.parametrize("name", ["vjp", "jvp"])
@pytest.mark.parametrize(("func", "shapes"), [(one, ((3,), (2,))), (two, ((3,), (2, 2)))])
def test_vjp_and_jvp_match_pytorch(name, func, shapes):
    pairs = [pair(shape, seed) for seed, shape in enumerate(shapes)]
    ours, theirs = tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    outs = func(*theirs)
    refs = (outs if isinstance(outs, tuple) else (outs,)) if name == "vjp" else theirs
    vs = [pair(tuple(r.shape), 10 + i) for i, r in enumerate(refs)]
    v_ours = tuple(v[0] for v in vs) if len(vs) > 1 else vs[0][0]
    v_theirs = tuple(v[1] for v in vs) if len(vs) > 1 else vs[0][1]
    got = getattr(AF, name)(func, ours, v_ours)
    want = getattr(torch.autograd.functional, name)(func, theirs, v_theirs)
    same(got, want)


def test_vjp_and_jvp_of_scalars_need_no_vector():
    x, t = pair((1,))
    same(
        AF.vjp(lambda a: (a * a).sum(), x),
        torch.autograd.functional.vjp(lambda a: (a * a).sum(), t),
    )
    same(AF.jvp(lambda a: a.exp(), x), torch.autograd.functional.jvp(lambda a: a.exp(), t))


def test_autograd_backward_sums_over_outputs_as_pytorch():
    ours, theirs = pair((3,))
    ours.requires_grad_(True)
    theirs.requires_grad_(True)
    w, tw = pair((3,), 1)
    for lib, x, weight in ((gradviz, ours, w), (torch, theirs, tw)):
        shared = x.exp()
        lib.autograd.backward([shared * x, shared.sum()], [weight, None])
        lib.autograd.backward((x**2).sum())  # one Variable: accumulates
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_autograd_backward_refusals():
    x = gradviz.ones(3, requires_grad=True)
    with pytest.raises(BackwardError, match="got 2 tensors and 1 gradients"):
        gradviz.autograd.backward([x * 2, x * 3], [gradviz.ones(3)])
    with pytest.raises(BackwardError, match="only for scalar outputs"):
        gradviz.autograd.backward([x * 2])
    far = gradviz.cdist(x.reshape(3, 1), x.reshape(3, 1) * 2).sum()
    with pytest.raises(BackwardError, match="through Cdist are not supported"):
        gradviz.autograd.backward(far, None, create_graph=True)
    with pytest.raises(OperandError, match="backward"):
        gradviz.autograd.backward(3)
    with pytest.warns(FutureWarning, match="grad_variables"):
        gradviz.autograd.backward((x * 2).sum(), grad_variables=gradviz.tensor(2.0))
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0])
