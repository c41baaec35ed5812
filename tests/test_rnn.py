"""Recurrent layers (RNN, LSTM, GRU and their cells) against PyTorch (skipped without torch):
outputs, final states and every gradient, reprs, state_dict keys, errors, and the drawing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import run_gradviz

import gradviz
from gradviz import GradvizError, Variable, nn
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}
KINDS = {
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "gru": ("GRU", {}),
}


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    saved = gradviz.get_default_dtype()
    gradviz.set_default_dtype(request.param)
    yield request.param
    gradviz.set_default_dtype(saved)


def _pair(ours, theirs, dtype):
    """``theirs`` in ``dtype`` with our parameters copied by name (the names must match)."""
    theirs = theirs.double() if dtype == np.float64 else theirs.float()
    params = dict(ours.named_parameters())
    assert [name for name, _ in theirs.named_parameters()] == list(params)
    with torch.no_grad():
        for name, param in theirs.named_parameters():
            param.copy_(torch.from_numpy(params[name].numpy().copy()))
    return ours, theirs


def _layers(kind: str, dtype, *args, **kwargs):
    name, extra = KINDS[kind]
    ours = getattr(nn, name)(*args, **extra, **kwargs)
    return _pair(ours, getattr(torch.nn, name)(*args, **extra, **kwargs), dtype)


def _data(shape, dtype):
    array = RNG.normal(size=shape).astype(dtype)
    return Variable(array.copy(), requires_grad=True), torch.tensor(array, requires_grad=True)


def _flat(result) -> list:
    """``(output, h_n)`` or ``(output, (h_n, c_n))`` as a flat list."""
    out, hidden = result
    return [out, *hidden] if isinstance(hidden, tuple) else [out, hidden]


def _close(ours, theirs, dtype) -> None:
    assert ours is not None
    assert theirs is not None
    np.testing.assert_allclose(np.asarray(ours.numpy()), theirs.detach().numpy(), **TOL[dtype])


def _check(ours_out, theirs_out, pairs, dtype) -> None:
    """Equal results, then equal gradients of one weighted sum of them for every pair."""
    ours_out, theirs_out = list(ours_out), list(theirs_out)
    assert [tuple(o.shape) for o in ours_out] == [tuple(t.shape) for t in theirs_out]
    loss, tloss = 0, 0
    for ours, theirs in zip(ours_out, theirs_out, strict=True):
        _close(ours, theirs, dtype)
        up = RNG.normal(size=ours.shape).astype(dtype)
        loss = loss + (ours * up).sum()
        tloss = tloss + (theirs * torch.tensor(up)).sum()
    loss.backward()
    tloss.backward()
    for ours, theirs in pairs:
        _close(ours.grad, theirs.grad, dtype)


def _param_pairs(ours, theirs) -> list:
    params = dict(ours.named_parameters())
    return [(params[name], param) for name, param in theirs.named_parameters()]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("with_h0", [False, True], ids=["zeros", "h0"])
def test_layers_match_torch(kind, num_layers, bidirectional, batch_first, with_h0, dtype):
    ours, theirs = _layers(
        kind, dtype, 3, 4, num_layers, batch_first=batch_first, bidirectional=bidirectional
    )
    x, tx = _data((2, 5, 3) if batch_first else (5, 2, 3), dtype)
    pairs = [(x, tx), *_param_pairs(ours, theirs)]
    args, targs = [x], [tx]
    if with_h0:
        shape = (num_layers * (2 if bidirectional else 1), 2, 4)
        (h, th), (c, tc) = _data(shape, dtype), _data(shape, dtype)
        args.append((h, c) if kind == "lstm" else h)
        targs.append((th, tc) if kind == "lstm" else th)
        pairs += [(h, th), (c, tc)] if kind == "lstm" else [(h, th)]
    _check(_flat(ours(*args)), _flat(theirs(*targs)), pairs, dtype)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("with_h0", [False, True], ids=["zeros", "h0"])
def test_unbatched_input_matches_torch(kind, with_h0, dtype):
    ours, theirs = _layers(kind, dtype, 3, 4, 2, bidirectional=True)
    x, tx = _data((5, 3), dtype)
    args, targs, pairs = [x], [tx], [(x, tx), *_param_pairs(ours, theirs)]
    if with_h0:
        (h, th), (c, tc) = _data((4, 4), dtype), _data((4, 4), dtype)
        args.append((h, c) if kind == "lstm" else h)
        targs.append((th, tc) if kind == "lstm" else th)
        pairs.append((h, th))
    result = ours(*args)
    assert tuple(result[0].shape) == (5, 8)
    _check(_flat(result), _flat(theirs(*targs)), pairs, dtype)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_with_projection_and_without_bias_matches_torch(bias, dtype):
    ours, theirs = _layers("lstm", dtype, 3, 5, 2, bias=bias, bidirectional=True, proj_size=2)
    x, tx = _data((4, 2, 3), dtype)
    (h, th), (c, tc) = _data((4, 2, 2), dtype), _data((4, 2, 5), dtype)
    result = ours(x, (h, c))
    assert [tuple(t.shape) for t in _flat(result)] == [(4, 2, 4), (4, 2, 2), (4, 2, 5)]
    pairs = [(x, tx), (h, th), (c, tc), *_param_pairs(ours, theirs)]
    _check(_flat(result), _flat(theirs(tx, (th, tc))), pairs, dtype)


@pytest.mark.parametrize("kind", list(KINDS))
def test_dropout_between_layers_in_training_only(kind, dtype):
    """p=1 zeroes the second layer's input in training (as PyTorch's); eval applies none."""
    ours, theirs = _layers(kind, dtype, 3, 4, 2, dropout=1.0)
    x, tx = _data((5, 2, 3), dtype)
    _check(_flat(ours(x)), _flat(theirs(tx)), _param_pairs(ours, theirs), dtype)
    ours.eval()
    theirs.eval()
    for out, tout in zip(_flat(ours(x)), _flat(theirs(tx)), strict=True):
        _close(out, tout, dtype)


def test_dropout_draws_a_mask_between_layers_in_training():
    gradviz.manual_seed(0)
    layer = nn.GRU(3, 4, 2, dropout=0.5)
    x = RNG.normal(size=(6, 2, 3)).astype(np.float32)
    first, second = layer(x)[0].numpy(), layer(x)[0].numpy()
    assert not np.allclose(first, second)
    layer.eval()
    np.testing.assert_array_equal(layer(x)[0].numpy(), layer(x)[0].numpy())


def test_training_steps_follow_torch():
    """A char-RNN-style classifier (GRU, then Linear on h_n) trained by SGD for three steps
    ends with PyTorch's weights."""
    gradviz.set_default_dtype(np.float64)
    try:
        ours = nn.Sequential(nn.GRU(4, 6, 2, bidirectional=True), nn.Linear(6, 3))
    finally:
        gradviz.set_default_dtype(np.float32)
    theirs = torch.nn.Sequential(torch.nn.GRU(4, 6, 2, bidirectional=True), torch.nn.Linear(6, 3))
    ours, theirs = _pair(ours, theirs, np.float64)
    optimizer = gradviz.optim.SGD(ours.parameters(), lr=0.5)
    toptimizer = torch.optim.SGD(theirs.parameters(), lr=0.5)
    for _ in range(3):
        x, target = RNG.normal(size=(7, 2, 4)), RNG.integers(0, 3, 2)
        for model, opt, lib in ((ours, optimizer, gradviz), (theirs, toptimizer, torch)):
            _, h_n = model[0](lib.tensor(x))
            loss = lib.nn.functional.cross_entropy(model[1](h_n[-1]), lib.tensor(target))
            opt.zero_grad()
            loss.backward()
            opt.step()
    for ours_param, theirs_param in _param_pairs(ours, theirs):
        _close(ours_param, theirs_param, np.float64)


CELLS = {
    "rnn_tanh": ("RNNCell", {}),
    "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "lstm": ("LSTMCell", {}),
    "gru": ("GRUCell", {}),
}


@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_hx", [False, True], ids=["zeros", "hx"])
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_torch(kind, batched, with_hx, bias, dtype):
    name, extra = CELLS[kind]
    ours, theirs = _pair(
        getattr(nn, name)(3, 4, bias=bias, **extra),
        getattr(torch.nn, name)(3, 4, bias=bias, **extra),
        dtype,
    )
    x, tx = _data((2, 3) if batched else (3,), dtype)
    args, targs, pairs = [x], [tx], [(x, tx), *_param_pairs(ours, theirs)]
    if with_hx:
        shape = (2, 4) if batched else (4,)
        (h, th), (c, tc) = _data(shape, dtype), _data(shape, dtype)
        args.append((h, c) if kind == "lstm" else h)
        targs.append((th, tc) if kind == "lstm" else th)
        pairs += [(h, th), (c, tc)] if kind == "lstm" else [(h, th)]
    ours_out, theirs_out = ours(*args), theirs(*targs)
    if kind != "lstm":
        ours_out, theirs_out = [ours_out], [theirs_out]
    _check(ours_out, theirs_out, pairs, dtype)


def test_a_cell_loop_learns_as_the_layer_it_unrolls():
    """An LSTMCell stepped by hand gives the one-layer LSTM's outputs (same weights)."""
    gradviz.manual_seed(3)
    layer, cell = nn.LSTM(3, 4), nn.LSTMCell(3, 4)
    cell.load_state_dict({name[:-3]: value for name, value in layer.state_dict().items()})
    x = Variable(RNG.normal(size=(5, 2, 3)).astype(np.float32))
    output, (h_n, c_n) = layer(x)
    h = c = None
    for t in range(5):
        h, c = cell(x[t], None if h is None else (h, c))
        np.testing.assert_allclose(h.numpy(), output[t].numpy(), rtol=1e-6)
    np.testing.assert_allclose(h.numpy(), h_n[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(c.numpy(), c_n[0].numpy(), rtol=1e-6)


REPRS = [
    ("RNN", (3, 4), {}),
    ("RNN", (3, 4, 2, "relu", False, True, 0.5, True), {}),
    ("LSTM", (3, 4), {"proj_size": 2, "num_layers": 3}),
    ("GRU", (3, 4), {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("RNNCell", (3, 4), {}),
    ("RNNCell", (3, 4, False, "relu"), {}),
    ("LSTMCell", (3, 4), {"bias": False}),
    ("GRUCell", (3, 4), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), REPRS)
def test_repr_and_state_dict_keys_are_torch_s(name, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in ours.state_dict().items():
        assert tuple(value.shape) == tuple(theirs.state_dict()[key].shape)


def test_init_is_uniform_in_one_over_sqrt_hidden():
    gradviz.manual_seed(0)
    layer = nn.LSTM(10, 16, 2, bidirectional=True)
    values = np.concatenate([p.numpy().ravel() for p in layer.parameters()])
    assert -0.25 <= values.min() < -0.24  # the whole range is used
    assert 0.24 < values.max() <= 0.25
    assert all(p.dtype == np.float32 and p.requires_grad for p in layer.parameters())


def test_dropout_with_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.2)


BAD_INPUTS = [
    (nn.RNN(3, 4), (5, 2, 2), None, InputError, "Expected 3, got 2"),
    (nn.RNN(3, 4), (5,), None, ShapeError, "Expected input to be 2D or 3D, got 1D"),
    (nn.GRU(3, 4), (5, 2, 3, 1), None, ShapeError, "got 4D tensor instead"),
    (nn.GRU(3, 4), (0, 2, 3), None, InputError, "sequence length to be larger than 0"),
    (nn.RNN(3, 4), (5, 2, 3), (1, 3, 4), InputError, "Expected hidden size (1, 2, 4), got"),
    (nn.RNN(3, 4), (5, 2, 3), (3, 4), InputError, "For batched 3-D input, hx should also be"),
    (nn.GRU(3, 4), (5, 3), (1, 1, 4), InputError, "For unbatched 2-D input, hx should also"),
    (nn.GRU(3, 4, 2), (5, 3), (1, 4), InputError, "Expected hidden size (2, 4), got (1, 4)"),
    (nn.RNNCell(3, 4), (2, 2), None, InputError, "inconsistent input_size: got 2 expected 3"),
    (nn.GRUCell(3, 4), (2, 3, 1), None, ShapeError, "Expected input to be 1D or 2D, got 3D"),
    (nn.RNNCell(3, 4), (2, 3), (3, 4), InputError, "batch size 2 doesn't match hidden0"),
    (nn.GRUCell(3, 4), (2, 3), (2, 5), InputError, "inconsistent hidden_size: got 5, expect"),
    (nn.RNNCell(3, 4), (2, 3), (2, 4, 1), ShapeError, "Expected hidden to be 1D or 2D"),
    (nn.RNNCell(3, 4), (3,), (2, 4), InputError, "hidden0 of shape (2, 4); expected (4,)"),
]


@pytest.mark.parametrize(("layer", "shape", "hx_shape", "error", "match"), BAD_INPUTS)
def test_bad_input_names_the_layer_and_the_shapes(layer, shape, hx_shape, error, match):
    hx = None if hx_shape is None else np.zeros(hx_shape, np.float32)
    with pytest.raises(error) as raised:
        layer(np.zeros(shape, np.float32), hx)
    message = str(raised.value)
    assert message.startswith(type(layer).__name__ + ": ")
    assert match in message
    assert str(shape if hx_shape is None else hx_shape) in message


def test_bad_lstm_states_name_which_one():
    layer = nn.LSTM(3, 4)
    x, good, bad = (np.zeros(shape, np.float32) for shape in ((5, 2, 3), (1, 2, 4), (1, 3, 4)))
    with pytest.raises(InputError, match=r"LSTM: Expected hidden\[1\] size \(1, 2, 4\)"):
        layer(x, (good, bad))
    with pytest.raises(InputError, match=r"LSTM: Expected hidden\[0\] size"):
        layer(x, (bad, good))
    with pytest.raises(OperandError, match="hx must be a tuple"):
        layer(x, good)
    with pytest.raises(InputError, match="LSTMCell: hidden1 has inconsistent hidden_size"):
        nn.LSTMCell(3, 4)(np.zeros((2, 3)), (np.zeros((2, 4)), np.zeros((2, 5))))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: nn.RNN(3, 4, 0), ArgumentError, "num_layers must be greater than zero"),
        (lambda: nn.LSTM(3, 0), ArgumentError, "hidden_size must be greater than zero"),
        (lambda: nn.GRU(3, 4, 2, dropout=1.5), ArgumentError, r"range \[0, 1\].*1.5"),
        (lambda: nn.GRU(3, 4, 2, dropout=-0.1), ArgumentError, r"range \[0, 1\]"),
        (lambda: nn.RNN(3, 4, nonlinearity="sig"), ArgumentError, "Unknown nonlinearity 'sig'"),
        (lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), ArgumentError, "Select from 'tanh'"),
        (lambda: nn.LSTM(3, 4, proj_size=4), ArgumentError, "smaller than hidden_size"),
        (lambda: nn.LSTM(3, 4, num_layers=1.5), OperandError, "num_layers must be an integer"),
        (lambda: nn.GRUCell(-1, 4), InputError, "input_size must be >= 0"),
    ],
)
def test_bad_settings_raise_as_torch(make, error, match):
    with pytest.raises(error, match=match) as raised:
        make()
    assert isinstance(raised.value, GradvizError)


def test_errors_are_caught_by_torch_s_exception_classes():
    with pytest.raises(RuntimeError, match="input_size"):
        nn.LSTM(3, 4)(np.zeros((5, 2, 2)))
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.LSTM(3, 4)(np.zeros(5))
    with pytest.raises(ValueError, match="num_layers"):
        nn.LSTM(3, 4, 0)


def test_the_graph_shows_the_steps_inside_the_layer_box(tmp_path):
    script = tmp_path / "tiny_lstm.py"
    script.write_text(
        "import gradviz as torch\n"
        "from gradviz import nn\n"
        "torch.manual_seed(0)\n"
        "class Model(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.lstm = nn.LSTM(2, 3)\n"
        "        self.head = nn.Linear(3, 1)\n"
        "    def forward(self, x):\n"
        "        out, _ = self.lstm(x)\n"
        "        return self.head(out[-1])\n"
        "model = Model()\n"
        "loss = model(torch.randn(2, 1, 2)).pow(2).mean()\n"
        "loss.backward()\n"
    )
    result = run_gradviz("render", str(script), "-o", str(tmp_path), "--format", "dot")
    assert result.returncode == 0, result.stderr
    dot = (tmp_path / "tiny_lstm.forward.dot").read_text()
    assert "<b>lstm</b>: LSTM" in dot  # the module box
    for op in ("Linear", "Split", "Mul", "Add", "Stack", "h_0", "c_0"):
        assert op in dot, op
    for gate, op in (("i", "Sigmoid"), ("f", "Sigmoid"), ("g", "Tanh"), ("o", "Sigmoid")):
        assert dot.count(f"{gate} = <b>{op}</b>") == 2  # labelled by gate, at both time steps
