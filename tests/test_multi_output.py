"""Custom Functions with several outputs, as PyTorch's: ``forward`` returns a tuple, ``apply``
a tuple of Variables, ``backward`` one gradient per output; values, gradients and what
backward receives compared with the same Function written for PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable


def _float(x):
    """A copy of a gradviz or PyTorch tensor's values."""
    return np.array(x.detach().numpy())


def _functions(base, lib):
    """The same ops for gradviz (``lib`` is NumPy) and for PyTorch (``lib`` is torch): the
    rules are written once, on ``lib``'s arrays, and each backward logs what it received."""
    received: list[tuple] = []
    torchy = lib.__name__ == "torch"

    def log(*grads):
        received.append(
            tuple(
                None if g is None else (tuple(g.shape), str(g.dtype).split(".")[-1]) for g in grads
            )
        )

    class Halves(base):  # two float outputs of different shapes: x[:, :2] * 2, x[:, 2:] ** 2
        @staticmethod
        def forward(ctx, x, materialize=True):
            ctx.set_materialize_grads(materialize)
            ctx.save_for_backward(x)
            return x[:, :2] * 2, x[:, 2:] ** 2

        @staticmethod
        def backward(ctx, ga, gb):
            log(ga, gb)
            (x,) = ctx.saved_tensors
            out = (lib.zeros_like if torchy else np.zeros_like)(x)
            if ga is not None:
                out[:, :2] = 2 * ga
            if gb is not None:
                out[:, 2:] = 2 * x[:, 2:] * gb
            return out, None

    class NormStats(base):  # (out, mean, rstd): three shapes
        @staticmethod
        def forward(ctx, x):
            mean = x.mean(-1, keepdims=True) if not torchy else x.mean(-1, keepdim=True)
            var = ((x - mean) ** 2).mean(
                -1, **({"keepdim": True} if torchy else {"keepdims": True})
            )
            rstd = 1 / lib.sqrt(var + 1e-5)
            out = (x - mean) * rstd
            ctx.save_for_backward(out, rstd)
            return out, mean, rstd

        @staticmethod
        def backward(ctx, g_out, g_mean, g_rstd):
            log(g_out, g_mean, g_rstd)
            out, rstd = ctx.saved_tensors
            n = out.shape[-1]
            kw = {"keepdim": True} if torchy else {"keepdims": True}
            gx = rstd * (g_out - g_out.mean(-1, **kw) - out * (g_out * out).mean(-1, **kw))
            return gx + g_mean / n - g_rstd * rstd**2 * out / n

    class TopK(base):  # (values, indices): the indices marked non-differentiable
        @staticmethod
        def forward(ctx, x, k):
            if torchy:
                values, idx = x.topk(k, -1)
            else:
                idx = np.argsort(-x, -1, kind="stable")[..., :k]
                values = np.take_along_axis(x, idx, -1)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            ctx.shape = x.shape
            return values, idx

        @staticmethod
        def backward(ctx, g_values, g_idx):
            log(g_values, g_idx)
            (idx,) = ctx.saved_tensors
            if torchy:
                return lib.zeros(ctx.shape, dtype=g_values.dtype).scatter(-1, idx, g_values), None
            gx = np.zeros(ctx.shape, g_values.dtype)
            np.put_along_axis(gx, idx, g_values, -1)
            return gx, None

    class Argmax2(base):  # an integer output that is not marked: it cannot require grad either
        @staticmethod
        def forward(ctx, x, materialize=True):
            ctx.set_materialize_grads(materialize)
            return x * 3, x.argmax(-1)

        @staticmethod
        def backward(ctx, g, g_index):
            log(g, g_index)
            return g * 3, None

    return received, {f.__name__: f for f in (Halves, NormStats, TopK, Argmax2)}


def _run(lib, name, x_value, use, *extra):
    """Apply op ``name`` of ``lib``'s variant to ``x_value``, take the loss ``use(outputs)``,
    run backward: the outputs, x's gradient and what backward received."""
    torch = lib if lib.__name__ == "torch" else None
    base = torch.autograd.Function if torch else gradviz.Function
    received, ops = _functions(base, lib)
    x = (torch.tensor if torch else Variable)(x_value, requires_grad=True)
    outs = ops[name].apply(x, *extra)
    assert isinstance(outs, tuple)
    use(outs).backward()
    return outs, _float(x.grad), received


CASES = {
    "both_used": ("Halves", lambda o: (o[0] * o[0]).sum() + o[1].sum() * 3, ()),
    "first_unused": ("Halves", lambda o: (o[1] ** 3).sum(), ()),
    "second_unused": ("Halves", lambda o: o[0].sum(), ()),
    "second_unused_no_materialize": ("Halves", lambda o: o[0].sum(), (False,)),
    "first_unused_no_materialize": ("Halves", lambda o: o[1].sum(), (False,)),
    "norm_stats_all": ("NormStats", lambda o: (o[0] ** 2 * 3).sum() + (o[1] * o[2]).sum(), ()),
    "norm_stats_rstd_only": ("NormStats", lambda o: o[2].sum(), ()),
    "topk_values": ("TopK", lambda o: (o[0] ** 2).sum(), (2,)),
    "int_output": ("Argmax2", lambda o: o[0].sum(), ()),
    "int_output_no_materialize": ("Argmax2", lambda o: o[0].sum(), (False,)),
}


@pytest.mark.parametrize("case", CASES)
def test_values_gradients_and_what_backward_gets_match_pytorch(case):
    torch = pytest.importorskip("torch")
    name, use, extra = CASES[case]
    x = np.random.default_rng(len(case)).standard_normal((3, 5))
    ours, grad, got = _run(np, name, x, use, *extra)
    theirs, want_grad, want = _run(torch, name, x, use, *extra)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12)
        assert a.requires_grad == b.requires_grad
        assert (a.grad_fn is None) == (b.grad_fn is None)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-12)
    assert got == want  # None, or zeros of the output's shape and dtype, for each output


def _mixed(lib, base):
    """An op with a float32 and a float64 output: their dtypes, those of the gradients its
    backward got, and the input's gradient."""
    dtypes = []
    torchy = lib.__name__ == "torch"

    class Mixed(base):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            second = x**2
            return x * 2, second.double() if torchy else second.astype(np.float64)

        @staticmethod
        def backward(ctx, ga, gb):
            dtypes.append((str(ga.dtype).split(".")[-1], str(gb.dtype).split(".")[-1]))
            (x,) = ctx.saved_tensors
            return 2 * ga + 2 * x * gb  # float64: cast to the input's float32

    x_value = np.array([1.0, 2.0], np.float32)
    x = (lib.tensor if torchy else Variable)(x_value, requires_grad=True)
    a, b = Mixed.apply(x)
    (a.sum() + b.sum()).backward()
    kinds = [str(a.dtype).split(".")[-1], str(b.dtype).split(".")[-1]]
    return kinds, dtypes, _float(x.grad)


def test_mixed_float_dtypes_give_each_output_its_own_dtype_and_gradient():
    torch = pytest.importorskip("torch")
    kinds, dtypes, grad = _mixed(np, gradviz.Function)
    assert (kinds, dtypes) == (["float32", "float64"], [("float32", "float64")])
    assert grad.dtype == np.float32
    assert _mixed(torch, torch.autograd.Function)[:2] == (kinds, dtypes)
    np.testing.assert_allclose(grad, _mixed(torch, torch.autograd.Function)[2], rtol=1e-6)


class _Two(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x**2

    @staticmethod
    def backward(ctx, ga, gb):
        (x,) = ctx.saved_tensors
        return 2 * ga + 2 * x * gb


def _torch_two(torch):
    class Two(torch.autograd.Function):
        forward = staticmethod(_Two.forward.__wrapped__)
        backward = staticmethod(_Two.backward.__wrapped__)

    return Two


def _graph_cases(Two, x, grad):
    """Outputs written in place, used twice, fed to the op again; retain_graph; grad()."""
    a, b = Two.apply(x)
    a.mul_(3)
    (a.sum() + b.sum()).backward()
    first = _float(x.grad)
    a, b = Two.apply(x)
    c, d = Two.apply(a)
    loss = (c * b + d + a + b * b).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    a, b = Two.apply(x)
    (gb,) = grad(b.sum(), [x])
    a, b = Two.apply(x)
    ga, gx = grad((a * b).sum(), [a, x])
    return [first, *(_float(v) for v in (x.grad, gb, ga, gx))]


def test_in_place_twice_used_chained_retained_and_grad_roots_match_pytorch():
    torch = pytest.importorskip("torch")
    value = np.array([1.0, -2.0, 0.5])
    ours = _graph_cases(_Two, Variable(value, requires_grad=True), gradviz.autograd.grad)
    theirs = _graph_cases(
        _torch_two(torch), torch.tensor(value, requires_grad=True), torch.autograd.grad
    )
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_gradcheck_at_float64_through_every_output():
    _, ops = _functions(gradviz.Function, np)
    x = Variable(np.random.default_rng(0).standard_normal((3, 5)), requires_grad=True)

    def f(x):
        out, mean, rstd = ops["NormStats"].apply(x)
        return out * 2 + mean * rstd

    assert gradviz.gradcheck(f, [x]) is True
    assert gradviz.gradcheck(lambda x: ops["Halves"].apply(x)[1], [x]) is True


def test_outputs_need_no_grad_without_an_input_that_requires_it():
    x = Variable(np.ones((2, 4)))
    a, b = _Two.apply(x)
    assert [a.requires_grad, b.requires_grad] == [False, False]
    x.requires_grad = True
    with gradviz.no_grad():
        a, b = _Two.apply(x)
    assert [a.requires_grad, b.requires_grad] == [False, False]
    np.testing.assert_array_equal(b.numpy(), np.ones((2, 4)))


def test_a_one_output_tuple_is_a_tuple_and_none_or_numbers_come_back_as_given():
    class One(gradviz.Function):
        @staticmethod
        def forward(ctx, x):
            return (x * 2,)

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class WithNone(gradviz.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, None, 3

        @staticmethod
        def backward(ctx, g, g_none, g_three):
            assert (g_none, g_three) == (None, None)  # as PyTorch hands them
            return g * 2

    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    (y,) = One.apply(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    y, none, three = WithNone.apply(x)
    assert (none, three) == (None, 3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])


def test_a_list_a_wrong_count_and_a_non_numeric_output_are_refused_clearly():
    class AsList(gradviz.Function):
        @staticmethod
        def forward(ctx, x):
            return [x * 2, x * 3]

    class TooMany(gradviz.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            return ga, gb

    class Text(gradviz.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, np.array(["a"])

    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(gradviz.OperandError, match=r"AsList.forward returned a list .* tuple"):
        AsList.apply(x)
    a, b = TooMany.apply(x)
    with pytest.raises(
        gradviz.BackwardError,
        match=r"TooMany.backward returned an incorrect number of gradients \(expected 1, got 2\)",
    ):
        (a + b).sum().backward()
    with pytest.raises(gradviz.OperandError, match=r"Text.forward .* dtype <U1 as output 1"):
        Text.apply(x)


def test_backward_twice_without_retain_graph_says_so():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    a, b = _Two.apply(x)
    loss = (a * b).sum()
    loss.backward()
    with pytest.raises(gradviz.BackwardError, match="backward through the graph a second time"):
        loss.backward()


def test_the_op_is_one_node_and_each_output_a_node_named_by_its_index():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    a, b = _Two.apply(x)
    assert (a.op, b.op) == ("_Two[0]", "_Two[1]")
    assert a.parents[0] is b.parents[0]  # one node of the op, its outputs packed
    assert a.parents[0].op == "_Two"
    assert a.parents[0].parents == (x,)
    assert a.parents[0].shape == (4,)
    assert repr(b.grad_fn) == "<_Two[1] node>"
    assert b.grad_fn.next_functions == ((a.parents[0].grad_fn, 0),)
    assert repr(a.parents[0].grad_fn) == "<_Two node>"


SCRIPT = """
import numpy as np
import gradviz

FACTOR = {factor}


class NormStats(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        mean = x.mean(-1, keepdims=True)
        rstd = 1 / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + 1e-5)
        out = (x - mean) * rstd
        ctx.save_for_backward(out, rstd)
        return out, mean, rstd

    @staticmethod
    def backward(ctx, g_out, g_mean, g_rstd):
        out, rstd = ctx.saved_tensors
        n = out.shape[-1]
        centred = g_out - g_out.mean(-1, keepdims=True)
        gx = rstd * (centred - out * (g_out * out).mean(-1, keepdims=True))
        return gx + FACTOR * g_mean / n - g_rstd * rstd**2 * out / n


w = gradviz.randn(5, 6, requires_grad=True)
x = gradviz.randn(4, 5)
out, mean, rstd = NormStats.apply(x @ w)
loss = (out * out.detach()).sum() + (mean * rstd).sum()
loss.backward()
"""


def _script(tmp_path, factor):
    path = tmp_path / "stats.py"
    path.write_text(SCRIPT.format(factor=factor), encoding="utf-8")
    return str(path)


def _cli(*args):
    from click.testing import CliRunner

    from gradviz.cli import cli

    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize(("factor", "fails"), [(1.0, False), (1.02, True)])
def test_check_finds_a_wrong_gradient_for_output_1_and_blames_the_op(tmp_path, factor, fails):
    code, out = _cli("check", _script(tmp_path, factor), "-o", str(tmp_path), "--format", "dot")
    assert code == (1 if fails else 0), out
    errors = [line for line in out.splitlines() if line.startswith("error")]
    if fails:
        assert "NormStats" in errors[0]
        line = SCRIPT.splitlines().index("out, mean, rstd = NormStats.apply(x @ w)") + 1
        assert f"stats.py:{line}" in errors[0]  # the line of NormStats.apply
        assert "1 FAILED" in out
    else:
        assert errors == []
        assert "FAILED" not in out


def test_the_pictures_the_page_and_the_trace_file_show_the_op_once_and_each_output(tmp_path):
    script = _script(tmp_path, 1.0)
    for fmt in ("dot", "html", "json"):
        code, out = _cli("render", script, "-o", str(tmp_path), "--format", fmt)
        assert code == 0, out
    dot = (tmp_path / "stats.forward.dot").read_text(encoding="utf-8")
    for name in ("NormStats[0]", "NormStats[1]", "NormStats[2]"):
        assert dot.count(f">{name}<") == 1
    assert dot.count(">NormStats<") == 1
    assert "NormStats[1]" in (tmp_path / "stats.html").read_text(encoding="utf-8")
    trace = gradviz.load_trace(tmp_path / "stats.trace.json")
    ops = sorted(str(a.get("op")) for _, a in trace.graph.nodes(data=True) if a.get("op"))
    assert [o for o in ops if o.startswith("NormStats")] == [
        "NormStats",
        "NormStats[0]",
        "NormStats[1]",
        "NormStats[2]",
    ]
    pack = next(n for n, a in trace.graph.nodes(data=True) if a.get("op") == "NormStats")
    outputs = sorted(trace.graph.nodes[n]["op"] for n in trace.graph.successors(pack))
    assert outputs == ["NormStats[0]", "NormStats[1]", "NormStats[2]"]
