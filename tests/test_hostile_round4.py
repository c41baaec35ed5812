"""Hostile input, round 4: PyTorch tutorials' scripts as a new user writes them (a custom
``autograd.Function``, a ``DataLoader`` loop, a checkpoint, weight tying, frozen layers) and what
they did to the engine, the pictures and the commands; each case ends in PyTorch's result or a
GradvizError that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable
from gradviz.autograd.function import once_differentiable


class _Argmax(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        index = x.argmax(-1)
        ctx.mark_non_differentiable(index)
        return index

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return None


class _Scale(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 3

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return grad * 3


def test_a_custom_function_takes_pytorchs_ctx_api():
    """Was: AttributeError for ``ctx.mark_non_differentiable``, ``ctx.set_materialize_grads``
    and ImportError for ``once_differentiable``; an index marked non-differentiable requires no
    grad, as in PyTorch, traced or not."""
    x = gradviz.randn(3, 4, requires_grad=True)
    index = _Argmax.apply(x)
    assert not index.requires_grad
    assert index.grad_fn is None
    np.testing.assert_array_equal(index.numpy(), x.numpy().argmax(-1))
    with gradviz.trace():
        assert not _Argmax.apply(x).requires_grad
    _Scale.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 3, np.float32))


class _Both(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        return np.sort(x, -1), np.argsort(x, -1)

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        return grad_values


def test_a_function_returning_several_outputs_gives_a_tuple_not_a_stack():
    """Was: ``values, indices = Sort.apply(x)`` stacked both into one float Variable that
    required grad (the indices float32, differentiable), then backward failed with a TypeError
    (``missing 1 required positional argument``); then refused. Now as PyTorch: a tuple, the
    indices an integer Variable that needs no grad, backward given one gradient per output."""
    x = gradviz.randn(3, 4, requires_grad=True)
    values, indices = _Both.apply(x)
    assert values.requires_grad
    assert not indices.requires_grad
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(values.numpy(), np.sort(x.numpy(), -1))
    (values * np.arange(4.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(np.arange(4.0), (3, 4)))


class _TorchStyleRelu(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)  # a tensor method: forward gets an ndarray

    @staticmethod
    def backward(ctx, grad):
        return grad.clone()


class _CloningRelu(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clip(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        out = grad.clone()  # the tutorial's line
        out[x < 0] = 0
        return out


def test_a_function_written_with_tensor_methods_runs_as_pytorchs():
    """Was: an OperandError saying forward and backward get arrays, for the PyTorch tutorial's
    ``MyReLU`` (``input.clamp(min=0)``, ``grad_output.clone()``); now such an op gets
    Variables that record nothing, and gives PyTorch's values and gradients."""
    x = gradviz.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    y = _TorchStyleRelu.apply(x)
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0, 0.0, 4.0])
    (y * gradviz.arange(4.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 2.0, 3.0])  # (grad.clone())
    x.grad = None
    _CloningRelu.apply(x).sum().backward()  # forward on arrays, backward on Variables
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.0, 1.0])
    assert gradviz.autograd.gradcheck(
        _CloningRelu.apply, [gradviz.randn(5, dtype=gradviz.float64, requires_grad=True)]
    )
    with pytest.raises(gradviz.OperandError, match=r"_NoSuchMethod.forward: .*'frobnicate'"):
        _NoSuchMethod.apply(x)
    with pytest.raises(gradviz.OperandError, match=r"_Mixed.forward: .*'clamp'.*NumPy function"):
        _Mixed.apply(x)
    with pytest.raises(AttributeError):  # an AttributeError of the user's own is left alone
        _Missing.apply(x)


class _Mixed(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        return (1 / (1 + np.exp(-x))).clamp(0, 1)  # np.exp of a Variable gives an array


class _NoSuchMethod(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        return x.frobnicate()


class _Missing(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        return ctx.not_there


def test_an_embeddings_indices_are_drawn_where_they_came_from():
    """Was: ``emb(data[:, :-1])`` drew the indices as a fresh input, cut from ``data`` (the
    lookup copied them), while ``data[:, 1:]`` beside it was drawn as an Index of ``data``."""
    gradviz.manual_seed(0)
    emb = gradviz.nn.Embedding(11, 4)
    data = gradviz.randint(0, 11, (4, 9))
    with gradviz.trace() as tr:
        out = emb(data[:, :-1])
        out.sum().backward()
    g = tr.graph
    (lookup,) = (n for n, a in g.nodes(data=True) if a.get("op") == "Embedding")
    kinds = {g.nodes[p]["kind"]: g.nodes[p] for p in g.predecessors(lookup)}
    assert kinds["op"]["op"] == "Index"
    assert kinds["param"]["name"] == "weight"
    counts = np.bincount(data.numpy()[:, :-1].ravel(), minlength=11)
    np.testing.assert_array_equal(emb.weight.grad.numpy(), np.repeat(counts[:, None], 4, 1))
    assert emb(data.int()).shape == (4, 9, 4)  # int32 indices still work


@pytest.mark.parametrize(
    "args", [(2, 3), (3,), ([1, 2, 3],), ((2, 3),), (), ([[1.5, 2], [3, 4]],), ([True, False],)]
)
def test_the_tensor_constructor_builds_as_pytorchs(args):
    """Was: ``torch.Tensor([1, 2, 3])`` gave int64 (PyTorch: float32) and ``torch.Tensor(2, 3)``
    raised "only floating point Variables can require gradients" (3 was read as
    requires_grad), so the tutorials' ``nn.Parameter(torch.Tensor(out, in))`` failed."""
    torch = pytest.importorskip("torch")
    ours, theirs = gradviz.Tensor(*args), torch.Tensor(*args)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype == np.float32
    assert not ours.requires_grad
    if args and not isinstance(args[0], int):  # data, not sizes (undefined values in PyTorch)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_every_variable_is_a_tensor_and_a_parameter_can_be_made_from_one():
    weight = gradviz.nn.Parameter(gradviz.Tensor(4, 3))
    assert (weight.shape, weight.dtype, weight.requires_grad) == ((4, 3), np.float32, True)
    assert isinstance(weight, gradviz.Tensor)
    assert isinstance(gradviz.tensor([1, 2]), gradviz.Tensor)
    assert not isinstance(np.ones(2), gradviz.Tensor)
    assert gradviz.Tensor(gradviz.tensor([1, 2])).dtype == np.float32
    with pytest.raises(gradviz.OperandError, match=r"Tensor\(\): expected sizes"):
        gradviz.Tensor([1], [2])
    gradviz.Tensor.twice = lambda self: self * 2  # a method added to torch.Tensor
    try:
        assert gradviz.ones(2).twice().tolist() == [2.0, 2.0]
    finally:
        del Variable.twice


def test_the_data_tools_take_a_gradviz_generator_as_pytorchs_take_theirs():
    """Was: ``random_split(ds, [7, 3], generator=torch.Generator().manual_seed(42))`` and
    ``DataLoader(..., generator=...)`` (the tutorials' reproducible split and shuffle) raised
    "generator must be a numpy.random.Generator ... got gradviz.Generator"."""
    from gradviz.data import DataLoader, RandomSampler, random_split

    data = list(range(10))

    def split(seed):
        return random_split(data, [7, 3], generator=gradviz.Generator().manual_seed(seed))

    assert split(42)[0].indices == split(42)[0].indices
    assert sorted(split(42)[0].indices + split(42)[1].indices) == data
    g = gradviz.Generator().manual_seed(0)
    loader = DataLoader(data, batch_size=4, shuffle=True, generator=g)
    first = [b.tolist() for b in loader]
    second = [b.tolist() for b in loader]
    assert first != second  # a new order every epoch, from the generator's stream
    g.manual_seed(0)  # reseeded after the loader was made: the loader sees it, as PyTorch's
    assert [b.tolist() for b in loader] == first
    sampler = RandomSampler(data, generator=gradviz.Generator().manual_seed(3))
    assert sorted(sampler) == data
    with pytest.raises(gradviz.OperandError, match=r"gradviz\.Generator .* or a numpy"):
        DataLoader(data, shuffle=True, generator=42)


def test_weighted_random_sampler_balances_classes_as_pytorchs():
    """Was: ImportError (``from torch.utils.data import WeightedRandomSampler``)."""
    from gradviz.data import DataLoader, WeightedRandomSampler

    labels = np.array([0] * 90 + [1] * 10)
    weights = 1.0 / np.bincount(labels)[labels]
    g = gradviz.Generator().manual_seed(0)
    sampler = WeightedRandomSampler(gradviz.tensor(weights), 2000, generator=g)
    assert len(sampler) == 2000
    drawn = labels[list(sampler)]
    assert 0.4 < drawn.mean() < 0.6  # the rare class drawn about as often as the common one
    batches = list(DataLoader(list(labels), batch_size=500, sampler=sampler))
    assert [len(b) for b in batches] == [500] * 4
    once = list(WeightedRandomSampler([1, 0, 2, 3], 3, replacement=False, generator=g))
    assert sorted(once) == [0, 2, 3]
    with pytest.raises(gradviz.ArgumentError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1.0, 2.0], 0)
    with pytest.raises(gradviz.ArgumentError, match="cannot draw 3 samples without replacement"):
        WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False)
    with pytest.raises(gradviz.ArgumentError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)


def test_the_reproducibility_recipe_runs_and_a_saved_rng_state_resumes_the_stream(tmp_path):
    """Was: AttributeError for ``torch.initial_seed``, ``get_rng_state``/``set_rng_state`` (a
    checkpoint that resumes the random stream) and ``use_deterministic_algorithms``."""
    gradviz.manual_seed(-1)
    assert gradviz.initial_seed() == 2**64 - 1  # as PyTorch reads a negative seed
    gradviz.use_deterministic_algorithms(True)
    assert gradviz.are_deterministic_algorithms_enabled()
    gradviz.use_deterministic_algorithms(False)
    gradviz.save({"rng": gradviz.get_rng_state()}, tmp_path / "ckpt.pt")
    expected = gradviz.randn(4)
    gradviz.randn(7)
    gradviz.set_rng_state(gradviz.load(tmp_path / "ckpt.pt")["rng"])
    np.testing.assert_array_equal(gradviz.randn(4).numpy(), expected.numpy())
    assert gradviz.get_rng_state().dtype == np.uint8
    fresh = gradviz.seed()
    assert gradviz.initial_seed() == fresh
    with pytest.raises(gradviz.ArgumentError, match="set_rng_state: expected a state"):
        gradviz.set_rng_state(gradviz.zeros(3))
    with pytest.raises(gradviz.OperandError, match="must be bools"):
        gradviz.use_deterministic_algorithms("yes")


def test_sqrt_at_zero_is_not_called_a_wrong_backward():
    """Was: a per-sample distance ``((pred - y) ** 2).sum(1).sqrt()`` with one exact match
    made the gradient check fail the built-in Sqrt ("backward disagrees with finite
    differences ... compare your backward with the derivative of forward", a custom op's
    advice): the check had left out the element where sqrt is not smooth, and 0 * inf in
    backward gave NaN. Now that call is skipped and the Inf's birth is the one error."""
    y = gradviz.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]])
    w = gradviz.ones(2, 2, requires_grad=True)
    with gradviz.trace() as tr:
        pred = gradviz.tensor([[0.0, 0.0], [0.5, 1.0], [1.0, 1.0]]) @ w
        ((pred - y) ** 2).sum(1).sqrt().mean().backward()
    report = tr.check()
    assert [f.kind for f in report.findings if f.kind == "gradcheck"] == []
    assert any(f.op == "Sqrt" and f.kind.startswith("nan") for f in report.findings)


class _LinearFunction(gradviz.Function):
    """PyTorch's extending tutorial: ``bias`` optional, backward always returns three."""

    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight)
        out = input @ weight.T
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, grad_output):
        input, weight = ctx.saved_tensors
        return grad_output @ weight, grad_output.T @ input, None


def test_extra_trailing_none_gradients_are_ignored_as_pytorch_ignores_them():
    """Was: "LinearFunction.backward returned an incorrect number of gradients (expected 2,
    got 3)" for the tutorial's LinearFunction called without a bias, which PyTorch runs."""
    x = gradviz.randn(5, 4, dtype=gradviz.float64, requires_grad=True)
    w = gradviz.randn(3, 4, dtype=gradviz.float64, requires_grad=True)
    assert gradviz.gradcheck(_LinearFunction.apply, (x, w))
    _LinearFunction.apply(x, w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.ones((5, 3)).T @ x.numpy())


def test_a_nan_from_the_mean_of_an_empty_batch_is_explained_as_such():
    """Was: "inputs finite (out in [?, ?]; input in [?, ?]) but the output is not: overflow?"
    and "float64 shows an overflow" for the NaN of ``mse_loss`` over an empty batch."""
    lin = gradviz.nn.Linear(3, 2)
    with gradviz.trace() as tr:
        out = lin(gradviz.randn(0, 3))
        loss = out.sum() + gradviz.nn.functional.mse_loss(out, gradviz.zeros(0, 2))
        loss.backward()
    (born,) = (f for f in tr.check().findings if f.kind == "nan_forward")
    assert born.op == "MseLoss"
    assert "is empty (shape (0, 2)): a mean over 0 elements is NaN (0/0)" in born.message
    assert "?" not in born.message
    assert born.advice == ("skip empty batches (if len(x) == 0: continue), or use reduction='sum'",)
    with gradviz.detect_anomaly(), pytest.raises(gradviz.GradvizError, match="mean over 0"):
        gradviz.zeros(0, requires_grad=True).mean()


class _StraightThrough(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        return np.sign(x)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return grad  # a surrogate on purpose


def test_a_straight_through_estimator_is_told_its_failure_is_expected():
    """Was: a deliberate surrogate gradient (sign in forward, identity in backward) got only
    "compare your backward with the derivative of forward" and "test the op alone"."""
    w = gradviz.randn(4, 3, requires_grad=True)
    with gradviz.trace() as tr:
        (_StraightThrough.apply(w) * gradviz.randn(4, 3)).sum().backward()
    (failed,) = (f for f in tr.check().findings if f.kind == "gradcheck")
    assert failed.op == "_StraightThrough"
    assert "straight-through estimator" in failed.advice[0]


def test_a_script_that_makes_numpy_raise_is_not_failed_by_the_tracers_statistics():
    """Was: ``np.seterr(all="raise")`` in a script made the tracer's own statistics raise
    ("FloatingPointError: underflow encountered in dot", blamed on the script's line) where
    the script alone ran: the square of 1e-20 underflows in float32."""
    w = gradviz.ones(3, requires_grad=True)
    x = gradviz.tensor([1.0, 1e-20, 1.0])
    with np.errstate(all="raise"), gradviz.trace() as tr:
        (w * x).sum().backward()
    (node,) = (a for _, a in tr.graph.nodes(data=True) if a["kind"] == "input")
    assert node["value"]["max"] == 1.0
    assert node["value"]["norm"] == pytest.approx(2**0.5)


def _fine_tune_trace():
    """Three steps of a head on a frozen backbone, then two with the backbone unfrozen."""
    gradviz.manual_seed(0)
    backbone = gradviz.nn.Sequential(gradviz.nn.Linear(4, 8), gradviz.nn.LayerNorm(8))
    head = gradviz.nn.Linear(8, 3)
    x, y = gradviz.randn(6, 4), gradviz.tensor([0, 1, 2, 0, 1, 2])
    with gradviz.trace() as tr:
        backbone.requires_grad_(False)
        opt = gradviz.optim.SGD(head.parameters(), lr=0.1)
        for step in range(5):
            if step == 3:
                backbone.requires_grad_(True)
                opt.add_param_group({"params": list(backbone.parameters())})
            loss = gradviz.nn.functional.cross_entropy(head(backbone(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return tr


def _frozen(graph) -> dict[str, bool]:
    return {
        a["name"]: a["requires_grad"]
        for _, a in graph.nodes(data=True)
        if a["kind"] == "param" and a["name"].startswith("backbone.0.")
    }


def test_a_layer_frozen_then_unfrozen_is_drawn_as_it_was_at_each_step():
    """Was: a parameter's requires_grad was recorded once and never refreshed, so the step
    after ``requires_grad_(True)`` drew the Linear's weight dimmed as requires_grad=False
    (while it got a gradient), and a LayerNorm frozen after its first use drew as trained."""
    tr = _fine_tune_trace()
    assert set(_frozen(tr.get_pass(2).graph).values()) == {False}
    assert set(_frozen(tr.get_pass(5).graph).values()) == {True}


def test_diff_of_steps_before_and_after_unfreezing_says_the_layer_now_trains():
    """Was: "same structure; 10 numbers changed", none of them the backbone's gradients or
    updates: a number missing on one side (no gradient while frozen) was skipped."""
    tr = _fine_tune_trace()
    report = gradviz.diff(tr.get_pass(2).graph, tr.get_pass(5).graph)
    grads = {c.key: (c.a, c.b) for c in report.changes if c.field == "|grad|"}
    assert grads["param:backbone.0.weight"][0] == 0.0
    assert grads["param:backbone.0.weight"][1] > 0
    assert {c.ratio_text for c in report.changes if c.key == "param:backbone.1.bias"} == {"new"}


CHAR_RNN = """\
import gradviz
gradviz.manual_seed(0)
data = gradviz.randint(0, 7, (60,))
emb, rnn = gradviz.nn.Embedding(7, 8), gradviz.nn.GRU(8, 8, batch_first=True)
fc = gradviz.nn.Linear(8, 7)
hidden = None
for i in range(0, 30, 6):
    x = data[i : i + 6].unsqueeze(0); y = data[i + 1 : i + 7].unsqueeze(0)
    if hidden is not None:
        hidden = hidden.detach()
    out, hidden = rnn(emb(x), hidden)
    loss = gradviz.nn.functional.cross_entropy(fc(out).view(-1, 7), y.view(-1))
    loss.backward()
"""


def _char_rnn_trace(folder):
    """Truncated backpropagation through time: the hidden state is carried from step to step,
    detached; each step's inputs and targets sliced on one line."""
    import runpy

    script = folder / "char_rnn.py"
    script.write_text(CHAR_RNN, encoding="utf-8")
    with gradviz.trace() as tr:
        runpy.run_path(str(script), run_name="__main__")
    return tr


def test_a_hidden_state_detached_from_the_step_before_starts_this_steps_graph(tmp_path):
    """Was: ``hidden = hidden.detach()`` led each step's graph back into the step before, and
    through its hidden state into every step before that: step N drew N steps' GRUs (step 2
    of a char-RNN: 390 nodes instead of 203, and a layout that ran for over 15 minutes)."""
    tr = _char_rnn_trace(tmp_path)
    sizes = [tr.get_pass(k).graph.number_of_nodes() for k in (1, 2, 5)]
    assert sizes[1] == sizes[2] == sizes[0] + 1  # the carried hidden state: one input
    g = tr.get_pass(5).graph
    carried = [a for _, a in g.nodes(data=True) if a["kind"] == "input" and a["shape"] == (1, 1, 8)]
    assert len(carried) == 1


def test_a_line_of_two_assignments_names_neither(tmp_path):
    """Was: ``x = data[...].unsqueeze(0); y = data[...].unsqueeze(0)`` named y's op ``x``."""
    g = _char_rnn_trace(tmp_path).get_pass(1).graph
    assert not [a for _, a in g.nodes(data=True) if a.get("name") in ("x", "y")]
    assert [a for _, a in g.nodes(data=True) if a.get("name") == "loss"]
