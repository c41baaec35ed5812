"""The idioms of the scripts PyTorch learners run (the Quickstart, "Learning PyTorch with
examples", makemore, nanoGPT's model.py), ported by changing only the import.

Each test names the break it guards (what gradviz did before): a missing name or argument, or a
different value, dtype or shape. The torch-oracle tests at the end skip without torch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradviz
import gradviz.nn.functional as F
from gradviz import InputError, OperandError, ShapeError, Variable, nn


# ----------------------------------------------------------------------------- names
def test_dtype_names_are_numpy_dtypes():
    """Was: AttributeError on `torch.float32` (the Quickstart's first line of data)."""
    assert gradviz.float32 == gradviz.float == np.float32
    assert gradviz.float64 == gradviz.double == np.float64
    assert gradviz.int64 == gradviz.long == np.int64
    assert gradviz.int32 == gradviz.int == np.int32
    assert gradviz.bool == np.bool_
    assert gradviz.uint8 == np.uint8
    x = gradviz.tensor([[1.0, 2.0]], dtype=gradviz.float32)
    assert x.dtype == gradviz.float32
    assert gradviz.zeros((2, 2), dtype=gradviz.int32).dtype == np.int32
    assert x.to(gradviz.long).dtype == np.int64


def test_star_import_keeps_python_builtins():
    scope: dict = {}
    exec("from gradviz import *", scope)
    assert "float" not in scope
    assert "int" not in scope
    assert "bool" not in scope


def test_utils_data_as_in_pytorch():
    """Was: ModuleNotFoundError for `from gradviz.utils.data import DataLoader`."""
    from gradviz.utils.data import DataLoader, TensorDataset

    assert gradviz.utils.data is gradviz.data
    xs, ys = gradviz.randn(10, 3), gradviz.arange(10)
    batches = list(DataLoader(TensorDataset(xs, ys), batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]


def test_tensor_is_variable():
    """Was: AttributeError on `torch.Tensor` (type hints, isinstance checks)."""
    assert issubclass(Variable, gradviz.Tensor)
    assert isinstance(gradviz.ones(1), gradviz.Tensor)
    assert gradviz.is_tensor(gradviz.ones(1))
    assert not gradviz.is_tensor(np.ones(1))


def test_type_names_and_converts():
    """Was: no `type()`: `(pred.argmax(1) == y).type(torch.float)` failed."""
    x = gradviz.tensor([1, 0, 1])
    assert x.type() == "torch.LongTensor"
    assert gradviz.ones(2).type() == "torch.FloatTensor"
    as_float = x.type(gradviz.float)
    assert as_float.dtype == np.float32
    assert as_float.sum().item() == 2.0
    assert x.type("torch.DoubleTensor").dtype == np.float64
    assert x.type(gradviz.long) is x


def test_one_element_integer_variable_is_an_index():
    """Was: TypeError for `classes[y]` with a 0-d int64 Variable (the Quickstart's last lines)."""
    classes = ["zero", "one", "two"]
    assert classes[gradviz.tensor(2)] == "two"
    assert classes[gradviz.tensor([1])] == "one"
    assert list(range(10))[: gradviz.tensor(3)] == [0, 1, 2]
    with pytest.raises(TypeError, match="only integer Variables of a single element"):
        classes[gradviz.tensor(1.0)]


def test_argmax_is_an_int64_variable():
    """Was: an ndarray: `pred.argmax(1).float()`, `.view(...)`, `.type(...)` failed."""
    pred = gradviz.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]], requires_grad=True)
    found = pred.argmax(1)
    assert isinstance(found, Variable)
    assert found.dtype == np.int64
    assert not found.requires_grad
    assert found.tolist() == [1, 0]
    assert found.float().sum().item() == 1.0
    assert pred.argmin(dim=1, keepdim=True).shape == (2, 1)
    assert gradviz.argmax(pred).item() == 1


# ----------------------------------------------------------------------------- creation
def test_linspace():
    """Was: AttributeError (the polynomial tutorial's first line)."""
    x = gradviz.linspace(-math.pi, math.pi, 5)
    assert x.dtype == np.float32
    assert x.shape == (5,)
    assert x[0].item() == pytest.approx(-math.pi)
    assert x[-1].item() == pytest.approx(math.pi)
    assert gradviz.linspace(0, 1, 3, dtype=gradviz.float64).tolist() == [0.0, 0.5, 1.0]
    assert gradviz.linspace(0, 1, 3, requires_grad=True).requires_grad
    with pytest.raises(InputError, match="number of steps"):
        gradviz.linspace(0, 1, -1)


def test_device_cpu_only():
    """Was: `torch.device`, `device=` and `x.device` were missing."""
    dev = gradviz.device("cpu")
    assert dev == "cpu"
    assert dev.type == "cpu"
    assert gradviz.ones(1).device == dev
    x = gradviz.randn((), device=dev, dtype=gradviz.float, requires_grad=True)
    assert x.shape == ()
    assert x.requires_grad
    assert gradviz.arange(0, 3, dtype=gradviz.long, device=dev).tolist() == [0, 1, 2]
    assert gradviz.full((), 0.3, device="cpu", dtype=gradviz.float).item() == pytest.approx(0.3)
    assert gradviz.ones(2).to(dev).device == "cpu"
    with pytest.raises(InputError, match="CPU only"):
        gradviz.device("cuda")
    with pytest.raises(InputError, match="zeros\\(\\): gradviz runs on the CPU only"):
        gradviz.zeros(2, device="cuda")


def test_generator_streams():
    """Was: no `torch.Generator`, no `generator=` (makemore seeds every draw with one)."""
    g1 = gradviz.Generator().manual_seed(2147483647)
    g2 = gradviz.Generator().manual_seed(2147483647)
    a = gradviz.randn((3, 3), generator=g1, requires_grad=True)
    gradviz.manual_seed(0)  # the global seed does not touch a generator's stream
    b = gradviz.randn((3, 3), generator=g2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.requires_grad
    p = gradviz.tensor([0.0, 0.0, 1.0])
    assert gradviz.multinomial(p, num_samples=1, replacement=True, generator=g1).item() == 2
    assert gradviz.randint(0, 5, (4,), generator=g1).shape == (4,)
    assert sorted(gradviz.randperm(4, generator=g1).tolist()) == [0, 1, 2, 3]
    assert gradviz.rand(2, generator=g1).shape == (2,)
    with pytest.raises(OperandError, match=r"generator must be a gradviz\.Generator"):
        gradviz.randn(2, generator=np.random.default_rng())


def test_more_constructors():
    """Was: AttributeError on each of these names."""
    assert gradviz.empty(2, 3).shape == (2, 3)
    like = gradviz.randn_like(gradviz.zeros(2, 3, dtype=gradviz.float64))
    assert like.shape == (2, 3)
    assert like.dtype == np.float64
    assert gradviz.rand_like(gradviz.zeros(4)).shape == (4,)
    array = np.ones(3)
    shared = gradviz.from_numpy(array)
    array[0] = 5.0
    assert shared.dtype == np.float64
    assert shared[0].item() == 5.0
    with pytest.raises(OperandError, match="from_numpy"):
        gradviz.from_numpy([1, 2])


def test_eye_and_full_like():
    """Was: AttributeError on `torch.eye`, `torch.full_like`."""
    assert gradviz.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert gradviz.eye(2).dtype == np.float32
    assert gradviz.eye(2, dtype=gradviz.long).tolist() == [[1, 0], [0, 1]]
    filled = gradviz.full_like(gradviz.tensor([[1, 2]]), 7)
    assert filled.dtype == np.int64
    assert filled.tolist() == [[7, 7]]
    assert gradviz.full_like(gradviz.ones(2), 0.5, requires_grad=True).requires_grad


# ----------------------------------------------------------------------------- methods
def test_nelement_unbind_view_as_cpu():
    """Was: AttributeError on `nelement`, `unbind`, `view_as`, `cpu`."""
    x = gradviz.arange(6.0).view(2, 3)
    assert x.nelement() == 6 == gradviz.numel(x)
    assert [t.tolist() for t in x.unbind(1)] == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    assert [t.tolist() for t in gradviz.unbind(x)] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert gradviz.arange(6).view_as(x).shape == (2, 3)
    assert x.cpu() is x
    with pytest.raises(InputError, match="unbind"):
        gradviz.tensor(1.0).unbind()


def test_unbind_gradient_reaches_each_slice():
    x = gradviz.ones(2, 3, requires_grad=True)
    a, b, c = x.unbind(1)
    (a * 1 + b * 2 + c * 3).sum().backward()
    assert x.grad.tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]


def test_index_select_and_its_gradient():
    """Was: AttributeError on `index_select`."""
    x = gradviz.arange(12.0).view(4, 3).requires_grad_()
    y = x.index_select(1, gradviz.tensor([2, 0, 2]))
    assert y[0].tolist() == [2.0, 0.0, 2.0]
    y.sum().backward()
    assert x.grad[0].tolist() == [1.0, 0.0, 2.0]
    assert gradviz.index_select(gradviz.arange(5), 0, gradviz.tensor([4])).tolist() == [4]
    with pytest.raises(gradviz.IndexRangeError, match="index_select"):
        x.index_select(0, gradviz.tensor([0.5]))


def test_log10_log2():
    """Was: AttributeError on `loss.log10()` (makemore's loss plot)."""
    x = gradviz.tensor([1.0, 10.0, 100.0], requires_grad=True)
    y = x.log10()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), [0.0, 1.0, 2.0], atol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 1 / (np.array([1.0, 10.0, 100.0]) * math.log(10)))
    np.testing.assert_allclose(gradviz.tensor([8.0]).log2().numpy(), [3.0])


def test_format_of_a_0d_variable():
    """Was: TypeError "unsupported format string" for `f"{losses.mean():.4f}"` (nanoGPT)."""
    assert f"{gradviz.tensor(3.14159):.2f}" == "3.14"
    assert f"{gradviz.tensor(7):>3d}" == "  7"
    assert f"{gradviz.ones(2)}" == str(gradviz.ones(2))
    with pytest.raises(TypeError):
        f"{gradviz.ones(2):.2f}"


def test_mm_bmm_allclose():
    """Was: AttributeError on `torch.mm`, `torch.bmm`, `torch.allclose`."""
    assert gradviz.mm(gradviz.ones(3, 4), gradviz.ones(4, 5)).shape == (3, 5)
    assert gradviz.bmm(gradviz.ones(2, 3, 4), gradviz.ones(2, 4, 5)).shape == (2, 3, 5)
    with pytest.raises(ShapeError, match="mm\\(\\): expected 2-d"):
        gradviz.mm(gradviz.ones(2, 3, 4), gradviz.ones(4, 5))
    with pytest.raises(ShapeError, match="batch sizes differ"):
        gradviz.bmm(gradviz.ones(2, 3, 4), gradviz.ones(3, 4, 5))
    assert gradviz.allclose(gradviz.ones(2), gradviz.ones(2) + 1e-9)
    assert not gradviz.allclose(gradviz.ones(2), gradviz.zeros(2))


def test_inference_mode_as_context_and_decorator():
    """Was: AttributeError on `torch.inference_mode`."""
    w = gradviz.ones(1, requires_grad=True)
    with gradviz.inference_mode():
        assert not (w * 2).requires_grad
    assert gradviz.inference_mode()(lambda: (w * 2).requires_grad)() is False
    with gradviz.inference_mode(False):
        assert (w * 2).requires_grad
    assert gradviz.is_grad_enabled()


# ----------------------------------------------------------------------------- tutorials
class LegendrePolynomial3(gradviz.Function):
    """The tutorial's custom Function, verbatim: gradviz passes it ndarrays (documented)."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


def test_polynomial_tutorial_with_custom_function_learns():
    x = gradviz.linspace(-math.pi, math.pi, 200, device="cpu", dtype=gradviz.float)
    y = gradviz.sin(x)
    a, b, c, d = (
        gradviz.full((), v, dtype=gradviz.float, requires_grad=True) for v in (0, -1, 0, 0.3)
    )
    losses = []
    for _ in range(200):
        loss = (a + b * LegendrePolynomial3.apply(c + d * x) - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with gradviz.no_grad():
            for p in (a, b, c, d):
                p -= 5e-5 * p.grad
                p.grad = None
    assert losses[-1] < losses[0] / 3


def test_polynomial_nn_tutorial_shapes():
    """`xx = x.unsqueeze(-1).pow(p)` with an int64 `p`, then Linear(3, 1) + Flatten(0, 1)."""
    x = gradviz.linspace(-math.pi, math.pi, 50)
    xx = x.unsqueeze(-1).pow(gradviz.tensor([1, 2, 3]))
    assert xx.shape == (50, 3)
    assert xx.dtype == np.float32
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
    loss = nn.MSELoss(reduction="sum")(model(xx), gradviz.sin(x))
    loss.backward()
    assert model[0].weight.grad.shape == (1, 3)


# ----------------------------------------------------------------------------- torch oracle
@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_linspace_as_torch(torch):
    ours = gradviz.linspace(-math.pi, math.pi, 2000)
    theirs = torch.linspace(-math.pi, math.pi, 2000)
    assert str(ours.dtype) == "float32"
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", ["log10", "log2"])
def test_log10_log2_as_torch(torch, method):
    values = [0.5, 1.0, 3.0, 1000.0]
    ours = gradviz.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    getattr(ours, method)().sum().backward()
    getattr(theirs, method)().sum().backward()
    np.testing.assert_allclose(
        getattr(ours, method)().numpy(), getattr(theirs, method)().detach(), rtol=1e-6
    )
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "dtype", ["float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool"]
)
def test_type_names_as_torch(torch, dtype):
    theirs = torch.zeros(2, dtype=getattr(torch, dtype))
    ours = gradviz.zeros(2, dtype=getattr(gradviz, dtype))
    assert ours.type() == theirs.type()
    assert ours.dtype == theirs.numpy().dtype


def test_argmax_unbind_format_as_torch(torch):
    data = np.array([[0.1, 0.9, 0.9], [0.7, 0.2, 0.7]], dtype=np.float32)
    ours, theirs = gradviz.tensor(data), torch.tensor(data)
    assert ours.argmax(1).tolist() == theirs.argmax(1).tolist()
    assert str(ours.argmax(1).dtype) == str(theirs.argmax(1).dtype).removeprefix("torch.")
    assert ours.argmax().shape == tuple(theirs.argmax().shape)
    assert [t.tolist() for t in ours.unbind(1)] == [t.tolist() for t in theirs.unbind(1)]
    picks = [2, 0, 2]
    np.testing.assert_array_equal(
        ours.index_select(1, gradviz.tensor(picks)).numpy(),
        theirs.index_select(1, torch.tensor(picks)).numpy(),
    )
    assert f"{ours.sum():.3f}" == f"{theirs.sum():.3f}"
    assert ["ab", "cd"][ours.argmax(1)[0]] == ["ab", "cd"][theirs.argmax(1)[0]]


def test_quickstart_steps_as_torch(torch):
    """The Quickstart's model and train loop, same weights and batches: same losses."""
    rng = np.random.default_rng(0)
    images = rng.random((24, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 10, 24)

    def build(lib):
        return lib.nn.Sequential(
            lib.nn.Flatten(), lib.nn.Linear(64, 32), lib.nn.ReLU(), lib.nn.Linear(32, 10)
        )

    ours, theirs = build(gradviz), build(torch)
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    from gradviz.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(gradviz.tensor(images), gradviz.tensor(labels)), batch_size=8)
    opt_ours = gradviz.optim.SGD(ours.parameters(), lr=0.1)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1)
    ours.train()
    for X, y in loader:
        loss_ours = nn.CrossEntropyLoss()(ours(X), y)
        loss_ours.backward()
        opt_ours.step()
        opt_ours.zero_grad()
        loss_theirs = torch.nn.CrossEntropyLoss()(
            theirs(torch.tensor(X.numpy())), torch.tensor(y.numpy())
        )
        loss_theirs.backward()
        opt_theirs.step()
        opt_theirs.zero_grad()
        assert loss_ours.item() == pytest.approx(loss_theirs.item(), rel=1e-5)
    with gradviz.no_grad():
        pred = ours(gradviz.tensor(images))
        correct = gradviz.tensor(pred.argmax(1).numpy() == labels).type(gradviz.float).sum().item()
    with torch.no_grad():
        expected = (theirs(torch.tensor(images)).argmax(1) == torch.tensor(labels)).type(
            torch.float
        )
    assert correct == expected.sum().item()
    assert F.cross_entropy(pred, gradviz.tensor(labels)).item() == pytest.approx(
        torch.nn.functional.cross_entropy(
            theirs(torch.tensor(images)), torch.tensor(labels)
        ).item(),
        rel=1e-5,
    )


def _attention_class(lib):
    """nanoGPT's CausalSelfAttention (the manual path), written once for either library."""
    nn_, F_ = lib.nn, lib.nn.functional

    class CausalSelfAttention(nn_.Module):
        def __init__(self, n_embd: int, n_head: int, block_size: int) -> None:
            super().__init__()
            self.c_attn = nn_.Linear(n_embd, 3 * n_embd, bias=True)
            self.c_proj = nn_.Linear(n_embd, n_embd, bias=False)
            self.n_head, self.n_embd = n_head, n_embd
            mask = lib.tril(lib.ones(block_size, block_size)).view(1, 1, block_size, block_size)
            self.register_buffer("bias", mask)

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F_.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    return CausalSelfAttention(8, 2, 6)


def test_nanogpt_attention_as_torch(torch):
    """Same weights, same input: nanoGPT's attention gives torch's output and gradients."""
    ours, theirs = _attention_class(gradviz), _attention_class(torch)
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)
    out_ours, out_theirs = ours(gradviz.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    out_ours.pow(2).sum().backward()
    out_theirs.pow(2).sum().backward()
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name].grad.numpy(), rtol=1e-4, atol=1e-6)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())


def test_nanogpt_top_k_filter_as_torch(torch):
    """`v, _ = topk(logits, k); logits[logits < v[:, [-1]]] = -inf`, then softmax."""
    data = np.random.default_rng(2).standard_normal((3, 7)).astype(np.float32)
    results = []
    for lib in (gradviz, torch):
        logits = lib.tensor(data)
        v, _ = lib.topk(logits, min(3, logits.size(-1)))
        logits[logits < v[:, [-1]]] = -float("Inf")
        results.append(np.asarray(lib.nn.functional.softmax(logits, dim=-1).tolist()))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
    assert ((results[0] > 0).sum(axis=1) == 3).all()


def test_the_blitz_walks_the_graph_by_next_functions_and_updates_through_data():
    """The 60-minute blitz: ``loss.grad_fn.next_functions[0][0]`` back through the network,
    then ``f.data.sub_(f.grad.data * learning_rate)`` for every parameter."""
    net = gradviz.nn.Sequential(gradviz.nn.Linear(4, 3), gradviz.nn.ReLU(), gradviz.nn.Linear(3, 2))
    target = gradviz.randn(1, 2)
    loss = gradviz.nn.MSELoss()(net(gradviz.randn(1, 4)), target)
    linear = loss.grad_fn.next_functions[0][0]
    assert loss.grad_fn.next_functions[1] == (None, 0)  # the target takes no gradient
    assert linear.name() == "Linear"
    assert linear.next_functions[0][0].name() == "Relu"
    weight = linear.next_functions[1][0]
    assert type(weight).__name__ == "AccumulateGrad"
    assert weight.variable is net[2].weight
    assert weight.next_functions == ()
    loss.backward()
    before = net[0].weight.numpy().copy()
    for f in net.parameters():
        f.data.sub_(f.grad.data * 0.01)
    np.testing.assert_allclose(net[0].weight.numpy(), before - 0.01 * net[0].weight.grad.numpy())


def _names_rnn_losses(lib, weights=None):
    """The char-RNN "classifying names" tutorial's model and update, three steps of one name."""
    nn = lib.nn

    class RNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.i2h = nn.Linear(4 + 3, 3)
            self.h2o = nn.Linear(3, 2)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input, hidden):
            hidden = self.i2h(lib.cat((input, hidden), 1))
            return self.softmax(self.h2o(hidden)), hidden

    rnn = RNN()
    if weights is not None:
        with lib.no_grad():
            for name, p in rnn.named_parameters():
                p.copy_(lib.tensor(weights[name]))
    initial = {n: p.detach().numpy().copy() for n, p in rnn.named_parameters()}
    line = lib.tensor(np.eye(4, dtype=np.float32)[[0, 2, 1]].reshape(3, 1, 4))
    category = lib.tensor([1])
    losses = []
    for _ in range(3):
        hidden = lib.zeros(1, 3)
        rnn.zero_grad()
        for i in range(line.size()[0]):
            output, hidden = rnn(line[i], hidden)
        loss = nn.NLLLoss()(output, category)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-0.5)
        losses.append(loss.item())
    return losses, initial


def test_the_names_rnn_tutorial_trains_as_pytorch():
    torch = pytest.importorskip("torch")
    gradviz.manual_seed(0)
    ours, initial = _names_rnn_losses(gradviz)
    theirs, _ = _names_rnn_losses(torch, weights=initial)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    assert ours[-1] < ours[0]


# ------------------------------------------------ "Extending PyTorch": a Function on tensors
class _TutorialLinear(gradviz.autograd.Function):
    """The docs' ``LinearFunction``, word for word: tensor methods in forward and backward."""

    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


def test_the_extending_pytorch_linear_function_runs_traces_and_checks():
    """Was: OperandError ("forward and backward get and return NumPy arrays") at
    ``input.mm(weight.t())``; now the op runs on Variables that record nothing, passes
    gradcheck, is drawn as one node and checked by ``tr.check()``."""
    rng = np.random.default_rng(0)
    x = gradviz.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    w = gradviz.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    b = gradviz.tensor(rng.normal(size=(2,)), requires_grad=True)
    assert gradviz.autograd.gradcheck(_TutorialLinear.apply, (x, w, b))
    assert gradviz.autograd.gradcheck(_TutorialLinear.apply, (x, w))  # no bias
    with gradviz.trace() as tr:
        y = _TutorialLinear.apply(x, w, b)
        y.pow(2).sum().backward()
    ops = [a["op"] for _, a in tr.graph.nodes(data=True) if a.get("kind") == "op"]
    assert sorted(ops) == ["Pow", "Sum", "_TutorialLinear"]  # nothing of its insides
    assert tr.check().ok
    np.testing.assert_allclose(y.detach().numpy(), x.numpy() @ w.numpy().T + b.numpy())
    np.testing.assert_allclose(b.grad.numpy(), (2 * y.detach().numpy()).sum(0))
    x.grad = None
    _TutorialLinear.apply(x, w.detach(), None).sum().backward()  # needs_input_grad (T, F)
    np.testing.assert_allclose(x.grad.numpy(), np.ones((4, 2)) @ w.numpy())


class _Cube(gradviz.autograd.Function):
    """The "Extending torch.func with autograd.Function" docs' ``MyCube``: PyTorch 2's form,
    ``forward`` without ``ctx`` and ``setup_context``."""

    @staticmethod
    def forward(x):
        return x**3, 3 * x**2

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        _, dx = output
        ctx.save_for_backward(x, dx)

    @staticmethod
    def backward(ctx, grad_output, grad_dx):
        x, dx = ctx.saved_tensors
        return grad_output * dx + grad_dx * 6 * x


def test_a_function_with_setup_context_runs_as_pytorchs():
    """Was: TypeError "forward() takes 1 positional argument but 2 were given"."""
    x = gradviz.tensor([1.0, -2.0, 0.5], requires_grad=True)
    y, dy = _Cube.apply(x)
    (y.sum() + dy.sum()).backward()
    np.testing.assert_allclose(y.detach().numpy(), [1.0, -8.0, 0.125])
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.detach().numpy() ** 2 + 6 * x.detach().numpy())
    assert gradviz.autograd.gradcheck(
        lambda a: _Cube.apply(a)[0], (gradviz.tensor([0.3, -1.2], requires_grad=True),)
    )
