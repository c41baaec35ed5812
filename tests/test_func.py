"""``gradviz.func`` (PyTorch's ``torch.func``): grad, grad_and_value, vjp, jvp, jacrev,
jacfwd, hessian, vmap, functional_call, stack_module_state.

Checked by finite differences and by hand always; against ``torch.func`` on the same inputs
when PyTorch is installed (those tests skip cleanly without it).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import gradviz
from gradviz import func, nn
from gradviz.autograd.errors import GradvizError

RNG = np.random.default_rng(0)
#: torch.func's first use compiles a helper with torch.jit.script, which warns in torch 2.13
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def var(*shape, requires_grad=False):
    return gradviz.tensor(RNG.standard_normal(shape), requires_grad=requires_grad)


def numeric_grad(f, x, eps=1e-6):
    """Central differences of scalar ``f`` (NumPy in, float out) at array ``x``."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        g[i] = (f(up) - f(down)) / (2 * eps)
    return g


def f_scalar(x):
    return (x.sin() * x.exp()).sum()


def np_scalar(a):
    return float((np.sin(a) * np.exp(a)).sum())


# ------------------------------------------------------------------------------ always
def test_grad_is_the_finite_difference_gradient():
    x = var(4)
    got = func.grad(f_scalar)(x)
    np.testing.assert_allclose(got.numpy(), numeric_grad(np_scalar, x.numpy()), rtol=1e-7)
    assert not got.requires_grad
    assert not x.requires_grad


def test_grad_of_grad_is_the_second_derivative():
    x = gradviz.tensor(0.3, dtype=gradviz.float64)
    assert np.isclose(func.grad(func.grad(lambda x: x.sin()))(x).item(), -np.sin(0.3))
    third = func.grad(func.grad(func.grad(lambda x: x**4)))(x)
    assert np.isclose(third.item(), 24 * 0.3)


def test_grad_argnums_tuple_and_dicts_nest_like_the_arguments():
    w, b, x = var(3), var(1), var(3)
    params = {"w": w, "b": b}

    def loss(p, x):
        return ((p["w"] * x).sum() + p["b"].sum()) ** 2

    g = func.grad(loss)(params, x)
    assert isinstance(g, dict)
    assert list(g) == ["w", "b"]
    s = 2 * ((w * x).sum() + b.sum()).item()
    np.testing.assert_allclose(g["w"].numpy(), s * x.numpy())
    np.testing.assert_allclose(g["b"].numpy(), [s])
    _gp, gx = func.grad(loss, argnums=(0, 1))(params, x)
    np.testing.assert_allclose(gx.numpy(), s * w.numpy())
    assert func.grad(loss, argnums=-1)(params, x).shape == (3,)


def test_grad_and_value_and_has_aux():
    x = var(3)
    g, value = func.grad_and_value(f_scalar)(x)
    assert np.isclose(value.item(), np_scalar(x.numpy()))
    g2, (_value2, aux) = func.grad_and_value(lambda x: (f_scalar(x), x.cos()), has_aux=True)(x)
    np.testing.assert_allclose(g2.numpy(), g.numpy())
    np.testing.assert_allclose(aux.numpy(), np.cos(x.numpy()))
    _g3, aux3 = func.grad(lambda x: (f_scalar(x), {"c": x * 2}), has_aux=True)(x)
    np.testing.assert_allclose(aux3["c"].numpy(), 2 * x.numpy())
    assert not aux3["c"].requires_grad


def test_grad_of_an_unused_argument_is_zeros():
    x, y = var(2), var(3)
    gy = func.grad(lambda x, y: x.sum(), argnums=1)(x, y)
    np.testing.assert_array_equal(gy.numpy(), np.zeros(3))
    assert func.grad(lambda x: gradviz.tensor(1.0))(x).numpy().tolist() == [0.0, 0.0]


def test_grad_keeps_the_graph_to_a_closed_over_parameter():
    w = var(3, requires_grad=True)
    x = var(3)
    g = func.grad(lambda x: (w * x).sin().sum())(x)  # w cos(w x)
    assert g.requires_grad
    g.sum().backward()  # d/dw sum(w cos(wx)) = cos(wx) - w x sin(wx)
    wx = w.numpy() * x.numpy()
    np.testing.assert_allclose(w.grad.numpy(), np.cos(wx) - wx * np.sin(wx), rtol=1e-10)


def test_grad_under_no_grad_still_differentiates_and_returns_no_graph():
    w = var(3, requires_grad=True)
    with gradviz.no_grad():
        g = func.grad(lambda w: (w**2).sum())(w)
    np.testing.assert_allclose(g.numpy(), 2 * w.numpy())
    assert not g.requires_grad


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: func.grad(lambda x: x * 2)(var(3)), "scalar Tensor, got tensor with 1 dims"),
        (lambda: func.grad(lambda x: 1.0)(var(3)), "to return a Tensor"),
        (lambda: func.grad(f_scalar, argnums=2)(var(3)), "Got argnum=2, but only 1 positional"),
        (lambda: func.grad(f_scalar, argnums=(0, 0))(var(3)), "argnums elements must be unique"),
        (lambda: func.grad(f_scalar, argnums=())(var(3)), "argnums must be non-empty"),
        (lambda: func.grad(f_scalar, argnums=[0])(var(3)), "argnums must be int or Tuple"),
        (lambda: func.grad(f_scalar)(3.0), "must be Tensor"),
        (lambda: func.grad(f_scalar, has_aux=True)(var(3)), "(output, aux)"),
    ],
)
def test_grad_refuses_as_pytorch(call, words):
    with pytest.raises(GradvizError, match=words.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_an_op_without_a_second_derivative_rule_is_named():
    from gradviz.autograd import higher

    op = next(
        name for name in ("Median", "Cdist", "Kthvalue") if name not in higher.supported_ops()
    )
    f = {
        "Median": lambda x: x.median(),
        "Cdist": lambda x: gradviz.cdist(x.reshape(5, 1), x.reshape(5, 1) * 2).sum(),
    }.get(op, lambda x: x.kthvalue(1)[0])
    x = var(5)
    func.grad(f)(x)  # one level works
    with pytest.raises(GradvizError, match=f"second derivatives .* through {op}"):
        func.grad(func.grad(f))(x)
    # with no enclosing transform, an input that requires grad asks for a graph only in case:
    # the first derivative comes without one, and a warning says why
    first = func.grad(f)(x.detach())
    with pytest.warns(UserWarning, match=rf"no graph .* through {op}.*x.detach\(\)"):
        got = func.grad(f)(x.detach().requires_grad_())
    assert not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), first.numpy())
    with pytest.raises(GradvizError, match=r"through .*x.detach\(\)"):  # nested: an error
        func.vmap(func.jacrev(func.grad(f)))(x.reshape(1, 5).requires_grad_())


def test_vjp_and_its_function_called_twice():
    x, y = var(3), var(3)
    out, vjp_fn = func.vjp(lambda x, y: x.sin() * y, x, y)
    np.testing.assert_allclose(out.numpy(), np.sin(x.numpy()) * y.numpy())
    v = var(3)
    for _ in range(2):
        gx, gy = vjp_fn(v)
        np.testing.assert_allclose(gx.numpy(), v.numpy() * np.cos(x.numpy()) * y.numpy())
        np.testing.assert_allclose(gy.numpy(), v.numpy() * np.sin(x.numpy()))
    with pytest.raises(GradvizError, match="pytree structure of cotangents"):
        vjp_fn((v, v))
    with pytest.raises(GradvizError, match="Mismatch in shape"):
        vjp_fn(var(2))


def test_jacrev_and_jacfwd_are_the_finite_difference_jacobian():
    x = var(3)

    def f(x):
        return (x.unsqueeze(1) * x.exp()).tanh()  # (3, 3) from (3,)

    want = np.stack(
        [
            numeric_grad(
                lambda a, i=i: float(np.tanh(a[:, None] * np.exp(a)).ravel()[i]), x.numpy()
            )
            for i in range(9)
        ]
    ).reshape(3, 3, 3)
    for transform in (func.jacrev, func.jacfwd):
        got = transform(f)(x)
        assert got.shape == (3, 3, 3)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-9)


def test_hessian_and_jacrev_of_jacrev_by_hand():
    x = var(3)
    h = func.hessian(f_scalar)(x)  # d2/dx2 sin(x) e^x = 2 cos(x) e^x, on the diagonal
    np.testing.assert_allclose(h.numpy(), np.diag(2 * np.cos(x.numpy()) * np.exp(x.numpy())))
    np.testing.assert_allclose(func.jacrev(func.jacrev(f_scalar))(x).numpy(), h.numpy())
    np.testing.assert_allclose(func.jacfwd(func.jacfwd(f_scalar))(x).numpy(), h.numpy())


def test_jvp_is_the_jacobian_times_the_tangent():
    x, t = var(4), var(4)
    _out, tangent = func.jvp(lambda x: x.sin() * x, (x,), (t,))
    a = x.numpy()
    np.testing.assert_allclose(tangent.numpy(), (np.cos(a) * a + np.sin(a)) * t.numpy())
    _, zero = func.jvp(lambda x: gradviz.ones(2), (x,), (t,))
    assert zero.numpy().tolist() == [0.0, 0.0]
    with pytest.raises(GradvizError, match="independent of the inputs"):
        func.jvp(lambda x: gradviz.ones(2), (x,), (t,), strict=True)
    with pytest.raises(GradvizError, match="Expected primals to be a tuple"):
        func.jvp(f_scalar, x, (t,))


def test_jvp_through_an_op_without_a_second_derivative_rule():
    x, t = var(5), var(5)
    _, got = func.jvp(lambda x: x.cummax(0)[0], (x,), (t,))
    idx = np.maximum.accumulate(x.numpy()) == x.numpy()  # x is a fresh maximum there
    want = t.numpy()[[max(j for j in range(i + 1) if idx[j]) for i in range(5)]]
    np.testing.assert_allclose(got.numpy(), want)


def test_vmap_loops_and_stacks():
    x = var(4, 3)
    got = func.vmap(lambda r: (r * r).sum())(x)
    np.testing.assert_allclose(got.numpy(), (x.numpy() ** 2).sum(1))
    got = gradviz.vmap(lambda r, w: r @ w, in_dims=(1, None), out_dims=1)(x, var(4, 2))
    assert got.shape == (2, 3)
    pair = func.vmap(lambda r: {"s": r.sum(), "both": (r, r * 2)})(x)
    assert pair["s"].shape == (4,)
    assert pair["both"][1].shape == (4, 3)


def test_vmap_of_grad_is_per_sample_gradients_and_gradients_flow_through_vmap():
    x = var(5, 3, requires_grad=True)
    w = var(3)
    per_sample = func.vmap(func.grad(lambda w, x: (w * x).sum() ** 2), in_dims=(None, 0))(w, x)
    want = 2 * (x.numpy() @ w.numpy())[:, None] * x.numpy()
    np.testing.assert_allclose(per_sample.detach().numpy(), want)
    out = func.vmap(lambda r: r.sin().sum())(x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.numpy()))


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: func.vmap(lambda a, b: a + b)(var(3), var(4)), "same size in the mapped"),
        (lambda: func.vmap(lambda a: a, in_dims=2)(var(3, 2)), "-2 <= in_dim < 2"),
        (lambda: func.vmap(lambda a: a, in_dims=(None,))(var(3)), "at least one Tensor to vmap"),
        (lambda: func.vmap(lambda a: a, in_dims=None)(var(3)), "expected `in_dims` to be int"),
        (lambda: func.vmap(lambda a: a, in_dims=(0, 0))(var(3)), "not compatible with the"),
        (lambda: func.vmap(lambda a: a, in_dims=[0])(var(3)), "expected `in_dims` to be int"),
        (lambda: func.vmap(lambda a, n: a, in_dims=(0, 0))(var(3), 2), "non-Tensor arguments"),
        (lambda: func.vmap(lambda a: 1.0)(var(3)), "must only return Tensors"),
        (lambda: func.vmap(lambda a: a * 2, out_dims=None)(var(3)), "when out_dim is None"),
        (lambda: func.vmap(lambda a: a)(), "got no inputs"),
        (lambda: func.vmap(lambda a: a, randomness="x"), "Only allowed values for randomness"),
        (lambda: func.vmap(lambda a: a * gradviz.rand(1))(var(3)), "random operation"),
    ],
)
def test_vmap_refuses_as_pytorch(call, words):
    with pytest.raises(GradvizError, match=words.replace("(", r"\(").replace("[", r"\[")):
        call()


def test_vmap_randomness_same_and_different():
    x = gradviz.zeros(3)
    same = func.vmap(lambda r: r + gradviz.rand(2), randomness="same")(x)
    assert np.allclose(same.numpy(), same.numpy()[0])
    different = func.vmap(lambda r: r + gradviz.rand(2), randomness="different")(x)
    assert not np.allclose(different.numpy(), different.numpy()[0])


def test_vmap_of_vjp_fn_is_the_jacobian():
    x = var(4)
    _, vjp_fn = func.vjp(lambda x: x.tanh() * 3, x)
    (jac,) = func.vmap(vjp_fn)(gradviz.eye(4, dtype=gradviz.float64))
    np.testing.assert_allclose(jac.numpy(), np.diag(3 / np.cosh(x.numpy()) ** 2))


def test_functional_call_uses_the_given_tensors_and_restores_the_module():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh()).double()
    own = dict(model.named_parameters())
    weight = var(2, 3, requires_grad=True)
    x = var(4, 3)
    out = func.functional_call(model, {"0.weight": weight}, (x,))
    want = np.tanh(x.numpy() @ weight.numpy().T + own["0.bias"].numpy())
    np.testing.assert_allclose(out.numpy(), want)
    out.sum().backward()
    assert weight.grad is not None
    assert own["0.weight"].grad is None
    assert own["0.bias"].grad is not None
    assert model[0].weight is own["0.weight"]
    assert model[0]._parameters["weight"] is own["0.weight"]


def test_functional_call_restores_after_an_error_and_checks_keys():
    model = nn.Linear(3, 2)
    before = model.weight
    with pytest.raises(GradvizError):
        func.functional_call(model, {"weight": var(5, 5)}, (var(1, 3),))
    assert model.weight is before
    assert model._parameters["weight"] is before
    with pytest.raises(GradvizError, match=r"Missing key.*'bias'"):
        func.functional_call(model, {"weight": var(2, 3)}, var(1, 3), strict=True)
    with pytest.raises(GradvizError, match="appeared in multiple dictionaries"):
        func.functional_call(model, ({"weight": before}, {"weight": before}), var(1, 3))


def test_functional_call_ties_shared_weights():
    model = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False))
    model[1].weight = model[0].weight
    w = gradviz.eye(2) * 3
    out = func.functional_call(model, {"0.weight": w}, (gradviz.ones(1, 2),))
    assert out.numpy().tolist() == [[9.0, 9.0]]
    with pytest.raises(GradvizError, match="which are tied"):
        func.functional_call(model, {"0.weight": w, "1.weight": w * 2}, gradviz.ones(1, 2))


def test_stack_module_state():
    models = [nn.Linear(3, 2) for _ in range(4)]
    params, buffers = func.stack_module_state(models)
    assert list(params) == ["weight", "bias"]
    assert buffers == {}
    assert params["weight"].shape == (4, 2, 3)
    assert params["weight"].is_leaf
    assert params["weight"].requires_grad
    np.testing.assert_array_equal(params["bias"].numpy()[2], models[2].bias.numpy())
    with pytest.raises(GradvizError, match="at least one model"):
        func.stack_module_state([])


def test_gradviz_func_imports():
    import gradviz.func as imported
    from gradviz import func as again

    assert imported is again is gradviz.func
    assert gradviz.vmap is gradviz.func.vmap


# ------------------------------------------------------------------------------ torch
def _torch():
    return pytest.importorskip("torch")


def _same(ours, theirs):
    torch = _torch()
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gradviz.Variable), type(ours)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(
            ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-12
        )
        return
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            _same(ours[k], theirs[k])
    else:
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _same(a, b)


def _both(*shapes):
    torch = _torch()
    arrays = [RNG.standard_normal(s) for s in shapes]
    return [gradviz.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


def two_in_two_out(lib, x, y):
    return (x.sin() * y.sum(), {"p": (x * x).sum(), "q": [y.exp()]})


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,), -1])
def test_jacobians_and_hessian_match_torch_with_their_nesting(argnums):
    torch = _torch()
    ours, theirs = _both((3,), (2,))
    f_ours = functools.partial(two_in_two_out, gradviz)
    f_theirs = functools.partial(two_in_two_out, torch)
    positive = 1 if argnums == -1 else argnums  # (torch 2.13's jacfwd gives zeros for -1)
    for name in ("jacrev", "jacfwd"):
        got = getattr(func, name)(f_ours, argnums)(*ours)
        _same(got, getattr(torch.func, name)(f_theirs, positive)(*theirs))

    def scalar(lib, x, y):
        return (x.sin() * y.sum()).exp().sum() + (y**3).sum()

    got = func.hessian(functools.partial(scalar, gradviz), argnums)(*ours)
    _same(got, torch.func.hessian(functools.partial(scalar, torch), positive)(*theirs))


def test_grad_vjp_jvp_match_torch():
    torch = _torch()
    (x, y), (tx, ty) = _both((3,), (3,))

    def f(x, y):
        return {"a": (x * y.tanh()).sum() ** 2}

    _same(
        func.grad(lambda d: d["a"], argnums=0)(f(x, y)),
        torch.func.grad(lambda d: d["a"])(f(tx, ty)),
    )
    got = func.grad(lambda x, y: f(x, y)["a"], argnums=(0, 1))(x, y)
    _same(got, torch.func.grad(lambda x, y: f(x, y)["a"], argnums=(0, 1))(tx, ty))
    out, fn = func.vjp(lambda x, y: (x * y, [x.exp()]), x, y)
    tout, tfn = torch.func.vjp(lambda x, y: (x * y, [x.exp()]), tx, ty)
    _same(out, tout)
    (v, w), (tv, tw) = _both((3,), (3,))
    _same(fn((v, [w])), tfn((tv, [tw])))
    _same(func.jvp(lambda x, y: x.sin() * y, (x, y), (v, w)),
          torch.func.jvp(lambda x, y: x.sin() * y, (tx, ty), (tv, tw)))  # fmt: skip


@pytest.mark.parametrize(
    ("in_dims", "out_dims", "shapes"),
    [
        (0, 0, ((3, 2), (3, 2))),
        ((1, None), 0, ((2, 4), (2,))),
        ((-1, 0), 1, ((2, 4), (4, 2))),
        (0, (0, 1), ((3, 2), (3, 2))),
    ],
)
def test_vmap_matches_torch(in_dims, out_dims, shapes):
    torch = _torch()
    ours, theirs = _both(*shapes)

    def f(a, b):
        return (a * b).sin(), (a + b) * 2

    _same(func.vmap(f, in_dims, out_dims)(*ours), torch.func.vmap(f, in_dims, out_dims)(*theirs))


def test_vmap_with_nested_in_dims_matches_torch():
    torch = _torch()
    (a, b, c), (ta, tb, tc) = _both((3, 2), (2,), (2, 3))

    def f(pair, d):
        return {"x": pair[0] * pair[1]["k"] + d.sum()}

    got = func.vmap(f, in_dims=((0, {"k": None}), 1))((a, {"k": b}), c)
    _same(got, torch.func.vmap(f, in_dims=((0, {"k": None}), 1))((ta, {"k": tb}), tc))


def test_has_aux_everywhere_matches_torch():
    torch = _torch()
    (x,), (tx,) = _both((3,))

    def f(x):
        return x.sin() * 2, {"aux": x.cos()}

    def g(x):
        return (x.sin() * 2).sum(), [x.cos()]

    _same(func.jacrev(f, has_aux=True)(x), torch.func.jacrev(f, has_aux=True)(tx))
    _same(func.jacfwd(f, has_aux=True)(x), torch.func.jacfwd(f, has_aux=True)(tx))
    _same(func.grad(g, has_aux=True)(x), torch.func.grad(g, has_aux=True)(tx))
    _same(func.grad_and_value(g, has_aux=True)(x), torch.func.grad_and_value(g, has_aux=True)(tx))
    out, fn, aux = func.vjp(f, x, has_aux=True)
    tout, tfn, taux = torch.func.vjp(f, tx, has_aux=True)
    _same((out, aux), (tout, taux))
    (v,), (tv,) = _both((3,))
    _same(fn(v), tfn(tv))
    _same(func.jvp(f, (x,), (v,), has_aux=True), torch.func.jvp(f, (tx,), (tv,), has_aux=True))


def test_functional_call_with_buffers_and_kwargs_matches_torch():
    torch = _torch()
    ours = nn.BatchNorm1d(3).double().eval()
    theirs = torch.nn.BatchNorm1d(3).double().eval()
    (x, mean, var_, w), (tx, tmean, tvar, tw) = _both((4, 3), (3,), (3,), (3,))
    var_, tvar = var_.abs() + 0.5, tvar.abs() + 0.5
    got = func.functional_call(
        ours, ({"weight": w}, {"running_mean": mean, "running_var": var_}), x
    )
    want = torch.func.functional_call(
        theirs, ({"weight": tw}, {"running_mean": tmean, "running_var": tvar}), tx
    )
    _same(got, want)
    assert ours.running_mean.numpy().tolist() == [0.0, 0.0, 0.0]  # its own, back in place

    class Scale(nn.Module):
        def forward(self, x, *, by):
            return x * by

    assert func.functional_call(Scale(), {}, (x,), {"by": 2.0}).numpy().tolist() == (
        (x * 2).numpy().tolist()
    )


def test_vmap_out_dims_none_and_negative_in_dims_match_torch():
    torch = _torch()
    (x, c), (tx, tc) = _both((2, 4), (3,))

    def f(row, c):
        return row.exp().sum() * 2, c

    got = func.vmap(f, in_dims=(-1, None), out_dims=(0, None))(x, c)
    _same(got, torch.func.vmap(f, in_dims=(-1, None), out_dims=(0, None))(tx, tc))
    nested = func.vmap(func.vmap(lambda a: a * a))(x)
    _same(nested, torch.func.vmap(torch.func.vmap(lambda a: a * a))(tx))


def test_gradcheck_through_transforms():
    """The results of grad, jacrev and vmap are differentiable, and their derivatives are the
    finite-difference ones (gradviz.autograd.gradcheck, float64)."""
    x = var(3, requires_grad=True)
    w = var(3, requires_grad=True)
    assert gradviz.autograd.gradcheck(lambda x: func.grad(f_scalar)(x), (x,))
    assert gradviz.autograd.gradcheck(lambda x: func.jacrev(lambda a: a.sin() * a)(x), (x,))
    assert gradviz.autograd.gradcheck(
        lambda x, w: func.vmap(lambda r: (r * w).tanh().sum())(x.reshape(3, 1) * x), (x, w)
    )
    layer = nn.Linear(3, 2).double()
    assert gradviz.autograd.gradcheck(
        lambda w: func.functional_call(layer, {"weight": w.reshape(1, 3).expand(2, 3)}, x), (w,)
    )
