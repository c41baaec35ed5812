"""Hostile input, round 9: the tutorials a learner writes from memory (the character-level
RNN that classifies and generates names, the LSTM tagger, a VAE, d2l.ai's "from scratch"
chapters, "Becoming a backprop ninja"); each case ends in PyTorch's result or a GradvizError
that says what to do."""

import sys

import numpy as np
import pytest

import gradviz as torch
from gradviz.autograd.errors import BackwardError, InplaceError


def test_unsqueeze_in_place_of_a_target_as_generating_names_does():
    """Was: AttributeError on ``target_line_tensor.unsqueeze_(-1)`` ("Generating Names")."""
    target = torch.LongTensor([3, 1, 4])
    assert target.unsqueeze_(-1) is target
    assert target.shape == (3, 1)
    assert target._version == 1
    assert target[1].tolist() == [1]


def test_in_place_shape_change_keeps_the_history_before_and_after():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    before = y.sum()  # used y before its shape changed
    y.unsqueeze_(0)
    after = (y * torch.ones(2, 3)).sum()
    (before + after).backward()
    assert x.grad.tolist() == [6.0, 6.0, 6.0]
    with pytest.raises(InplaceError, match="leaf Variable that requires grad"):
        x.unsqueeze_(0)
    with torch.no_grad():  # PyTorch allows it there
        x.t_()
    assert x.is_leaf
    assert x.requires_grad


def test_in_place_shape_change_of_a_saved_input_fails_backward_as_in_pytorch():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y**2  # saves y
    y.unsqueeze_(0)
    with pytest.raises(BackwardError, match="modified by an inplace operation"):
        z.sum().backward()


def _records(script):
    with torch.trace() as tr:
        script()
    return {r.name: r for r in tr._recorder.records.values() if r.kind == "input"}


def test_a_one_hot_input_written_through_views_after_a_read_is_drawn_as_it_is_used():
    """Was: "Classifying Names"' ``lineToTensor`` (``tensor[li][0][index] = 1`` after
    ``tensor[li]`` was read) drawn as ``mean 0 std 0``, all zeros, its Index nodes not."""

    def script():
        w = torch.randn(4, requires_grad=True)
        tensor = torch.zeros(3, 4)
        for i in range(3):
            tensor[i][i] = 1
        sum((w * tensor[i]).sum() for i in range(3)).backward()

    assert _records(script)["tensor"].value["mean"] == pytest.approx(0.25)


def test_an_input_whose_shape_changed_in_place_is_drawn_with_its_new_shape():
    """Was: ``t.unsqueeze_(0)`` after a first use drawn with the old shape (3,)."""

    def script():
        w = torch.randn(2, 1, requires_grad=True)
        t = torch.tensor([1.0, 2.0, 3.0])
        t.unsqueeze_(0)
        (w * t).sum().backward()

    assert _records(script)["t"].shape == (1, 3)


def test_a_bare_layer_beside_other_layers_is_named_as_the_script_calls_it():
    """Was: in a script with loose layers (``emb``, ``gru``, ``head``, as the packed-sequence
    recipes have them), the one with the most parameters was left unnamed: its parameters
    read ``weight_ih_l0`` and its row in ``check``'s table "(top)"."""
    from gradviz import nn

    emb, gru, head = nn.Embedding(5, 3), nn.GRU(3, 4), nn.Linear(4, 2)
    with torch.trace() as tr:
        _, h = gru(emb(torch.tensor([[1], [2]])))
        head(h[-1]).sum().backward()
    names = {name for name, _, _ in tr.get_pass(1).params()}
    assert "gru.weight_ih_l0" in names
    assert {"emb.weight", "head.weight"} <= names


@pytest.mark.parametrize("make", [torch.randn, torch.rand, torch.zeros, torch.ones, torch.empty])
def test_constructors_take_size_as_a_keyword(make):
    """Was: TypeError on d2l.ai's ``torch.randn(size=shape, device=device) * 0.01``."""
    x = make(size=(2, 3), device=torch.device("cpu"))
    assert x.shape == (2, 3)
    assert x.dtype == torch.float32
    with pytest.raises(TypeError, match="multiple values for argument 'size'"):
        make(2, size=(3,))


def test_a_parameter_made_by_a_helper_that_returns_it_is_named_as_the_code_calls_it():
    """Was: d2l.ai's ``def normal(shape): return torch.randn(size=shape) * 0.01`` then
    ``W_xh = normal(...)``: the parameter read ``v17 (script.py:34)``, not ``W_xh``."""

    def normal(shape):
        return torch.randn(size=shape) * 0.01

    def script():
        W_xh = normal((3, 2))
        W_xh.requires_grad_(True)
        torch.mm(torch.ones(1, 3), W_xh).sum().backward()

    with torch.trace() as tr:
        script()
    graph = tr.get_pass(1).graph
    assert [d["name"] for _, d in graph.nodes(data=True) if d["kind"] == "param"] == ["W_xh"]


def test_one_relu_module_called_twice_has_its_dead_units_told_apart_by_line():
    """Was: d2l.ai's dropout MLP (one ``self.relu`` after lin1 and after lin2) printed "2/32
    in module relu, 1/32 in module relu": two cells, one name, no way to tell them apart."""
    from gradviz import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin1, self.lin2, self.relu = nn.Linear(3, 4), nn.Linear(4, 4), nn.ReLU()

        def forward(self, x):
            h = self.relu(self.lin1(x))
            return self.relu(self.lin2(h))

    net = Net()
    with torch.no_grad():
        net.lin1.bias[:2] = -50.0
        net.lin2.bias[:1] = -50.0
    with torch.trace() as tr:
        net(torch.randn(5, 3)).sum().backward()
    line = next(s for s in str(tr.check()).splitlines() if s.startswith("dead ReLU"))
    assert line.count("in module relu at ") == 2


def _names(script):
    with torch.trace() as tr:
        script()
    return {(r.op, r.name) for r in tr._recorder.records.values()}


def test_the_values_of_max_along_a_dim_keep_their_line_s_name():
    """Was: "Becoming a backprop ninja"'s ``logit_maxes = logits.max(1, keepdim=True).values``
    drawn as a bare ``Max``: the indices, computed after the values, took the line's name."""

    def script():
        logits = torch.randn(4, 3, requires_grad=True) * 2
        logit_maxes = logits.max(1, keepdim=True).values
        m2 = torch.max(logits, 1).values
        (logits - logit_maxes).sum().add(m2.sum()).backward()

    names = _names(script)
    assert ("Max", "logit_maxes") in names
    assert ("Max", "m2") in names


def test_an_integer_index_is_drawn_with_the_name_the_script_gives_it():
    """Was: ``ix = torch.randint(...); Xb = Xtr[ix]`` (makemore) drew ``ix`` as a nameless
    "input": the op took it as an array."""

    def script():
        Xtr = torch.randn(10, 4)
        W = torch.randn(4, 3, requires_grad=True)
        ix = torch.randint(0, 10, (5,), generator=torch.Generator().manual_seed(1))
        (Xtr[ix] @ W).sum().backward()

    assert (None, "ix") in _names(script)


def test_the_default_device_is_the_cpu_and_setting_it_to_the_cpu_works():
    """Was: AttributeError on the 2024 "Classifying Names" tutorial's
    ``torch.set_default_device(device)`` (device is the CPU without CUDA)."""
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    torch.set_default_device(device)
    torch.set_default_device(None)
    assert torch.get_default_device() == "cpu"
    assert torch.get_default_device().type == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        torch.set_default_device("cuda")


def test_bce_of_a_float64_target_and_a_float32_reconstruction_is_refused_as_in_pytorch():
    """Was: accepted (a float64 loss), where PyTorch raises "Found dtype Double but expected
    Float": a VAE on sklearn's digits (float64 from NumPy) passes its data as the target."""
    from gradviz.nn import functional as F

    recon = torch.sigmoid(torch.zeros(2, 3, requires_grad=True))
    data = torch.tensor(np.full((2, 3), 0.5))
    with pytest.raises(RuntimeError, match=r"(?s)Found dtype float64 but expected float32.*to\("):
        F.binary_cross_entropy(recon, data, reduction="sum")
    assert F.binary_cross_entropy(recon, data.float(), reduction="sum").dtype == torch.float32


def test_a_gru_given_an_lstm_s_state_pair_says_it_takes_one_state():
    """Was: "hx should also be 3-D but got 4-D tensor (hidden of shape (2, 1, 1, 4))": the
    pair (h_0, c_0), written for an LSTM, stacked into one array."""
    from gradviz import nn

    with pytest.raises(TypeError, match=r"GRU: hx must be one Variable \(h_0\), got a tuple"):
        nn.GRU(3, 4)(torch.randn(5, 1, 3), (torch.zeros(1, 1, 4), torch.zeros(1, 1, 4)))


def test_token_ids_fed_to_an_lstm_are_refused_by_the_lstm():
    """Was: "Linear: mat1 and mat2 must have the same dtype": the error of an op inside the
    LSTM, where PyTorch's names the RNN's input dtype."""
    from gradviz import nn

    with pytest.raises(RuntimeError, match=r"LSTM: input dtype int64 .* nn\.Embedding"):
        nn.LSTM(3, 4)(torch.tensor([[[1, 2, 3]]]))


def test_gradients_clipped_by_hand_are_not_told_to_be_clipped():
    """Was: d2l.ai's ``grad_clipping`` (``param.grad[:] *= theta / norm`` before the step)
    advised "clip gradients with nn.utils.clip_grad_norm_" for a high update/weight."""
    from gradviz import nn

    torch.manual_seed(0)
    net = nn.Linear(4, 3)
    opt = torch.optim.SGD(net.parameters(), lr=5.0)
    with torch.trace() as tr:
        for _ in range(2):
            opt.zero_grad()
            ((net(torch.randn(8, 4)) ** 2).sum() * 10).backward()
            norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in net.parameters()))
            for p in net.parameters():
                p.grad[:] *= 1 / norm
            opt.step()
    text = str(tr.check())
    assert "rescaled by hand" in text
    assert "clip_grad_norm_" not in text


@pytest.mark.skipif(sys.version_info < (3, 11), reason="columns of calls: Python 3.11")
def test_a_vae_s_mu_and_logvar_are_named_from_the_tuple_that_returns_them():
    """Was: ``return self.fc21(h1), self.fc22(h1)`` then ``mu, logvar = self.encode(x)``
    drew two bare Linears: a tuple named nothing, so the reparameterization read
    ``Linear + eps * Exp(Mul(Linear))``."""
    from gradviz import nn

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc21, self.fc22 = nn.Linear(4, 3), nn.Linear(3, 2), nn.Linear(3, 2)

        def encode(self, x):
            h1 = torch.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def forward(self, x):
            mu, logvar = self.encode(x)
            return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def script():
        x = torch.randn(5, 4)
        out = VAE()(x).sum()
        a, b = x.sum(1), x.mean(0)
        (out + a.sum() + b.sum()).backward()

    names = _names(script)
    assert {("Linear", "mu"), ("Linear", "logvar"), ("Sum", "a"), ("Mean", "b")} <= names


def test_only_one_line_tuples_of_plain_names_are_read_as_tuples():
    from gradviz.viz.capture.tuple_names import tuple_line

    assert tuple_line("    a, b = f(x), g(x)\n").names == ("a", "b")
    assert tuple_line("    a, b = f(x), g(x)\n").spans == ((11, 15), (17, 21))
    assert tuple_line("return f(x), g(x)").kind == "return"
    assert tuple_line("a, b = f(x)").kind == "unpack"
    for text in ("a, *b = f(x), g(x)", "a, b = (f(x),", "a.x, b = f(x), g(x)", "a, b = c"):
        assert tuple_line(text) is None


def test_pad_sequence_s_padding_is_not_drawn_under_the_user_s_name():
    """Was: the zeros ``pad_sequence`` adds were drawn as inputs named ``padded`` (the
    variable of the user's line ``padded = pad_sequence(seqs)``), beside the real result."""
    from gradviz.nn.utils.rnn import pad_sequence

    def script():
        w = torch.ones(3, requires_grad=True)
        padded = pad_sequence([torch.tensor([1.0, 2.0, 3.0]), torch.tensor([4.0])])
        (padded.T @ w).sum().backward()

    names = _names(script)
    assert (None, "padding") in names
    assert (None, "padded") not in names


def test_helper_leaves_made_inside_library_calls_keep_their_own_names():
    """Was: the noise ``gumbel_softmax`` draws was drawn as an input named ``y`` (the user's
    line ``y = F.gumbel_softmax(logits)``), as was ``pad_packed_sequence``'s padding."""
    from gradviz.nn import functional as F

    def script():
        logits = torch.randn(2, 3, requires_grad=True)
        y = F.gumbel_softmax(logits, tau=0.5)
        y.sum().backward()

    names = _names(script)
    assert (None, "gumbel_noise") in names
    assert (None, "y") not in names


def test_cat_of_a_hidden_state_without_its_batch_dim_says_so():
    """Was: a bare ``IndexError: tuple index out of range`` from ``torch.cat((input, hidden),
    1)`` with ``hidden = torch.zeros(n_hidden)`` ("Classifying Names" written from memory);
    PyTorch: "Tensors must have same number of dimensions: got 2 and 1"."""
    with pytest.raises(RuntimeError, match=r"same number of dimensions: got 2 and 1.*batch dim"):
        torch.cat((torch.zeros(1, 57), torch.zeros(16)), 1)
    with pytest.raises(RuntimeError, match="Expected size 1 but got size 2 for tensor number 1"):
        torch.cat((torch.zeros(1, 57), torch.zeros(2, 16)), 1)


def test_a_hidden_state_carried_to_the_next_batch_is_told_to_be_detached():
    """Was: only "Specify retain_graph=True", the wrong fix for an RNN whose hidden state
    from the previous batch (whose graph the last backward freed) is fed to the next one."""
    from gradviz import nn

    rnn, h = nn.RNN(3, 4), torch.zeros(1, 1, 4)
    out, h = rnn(torch.randn(5, 1, 3), h)
    out.sum().backward()
    out, h = rnn(torch.randn(5, 1, 3), h)
    with pytest.raises(BackwardError, match=r"retain_graph=True.*h = h\.detach\(\)"):
        out.sum().backward()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="columns of calls: Python 3.11")
def test_a_batch_yielded_by_a_generator_is_named_by_the_loop_over_it():
    """Was: d2l.ai's ``data_iter`` (``yield features[batch_indices], labels[batch_indices]``
    under ``for X, y in data_iter(...):``) drew two nameless Index nodes."""

    def data_iter(features, labels):
        for i in range(0, 4, 2):
            batch_indices = torch.tensor([i, i + 1])
            yield features[batch_indices], labels[batch_indices]

    def script():
        w = torch.ones(2, 1, requires_grad=True)
        for X, y in data_iter(torch.randn(4, 2), torch.randn(4, 1)):
            ((X @ w - y) ** 2).sum().backward()

    assert {("Index", "X"), ("Index", "y")} <= _names(script)


def test_softmax_without_a_dim_warns_and_takes_pytorch_s_legacy_dim():
    """Was: ``F.softmax(x)`` and ``nn.Softmax()`` silently took the last dim, and
    ``F.softmax(x, None)`` every element; PyTorch warns and takes dim 0 of a 1-d or 3-d
    input, else dim 1 (``nn.LogSoftmax()`` written without ``dim=1``)."""
    from gradviz import nn
    from gradviz.nn import functional as F

    x = torch.randn(2, 3, 4)
    for make in (F.softmax, lambda v: F.softmax(v, None), nn.Softmax()):
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            assert torch.allclose(make(x).sum(0), torch.ones(3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        assert nn.LogSoftmax()(x[0]).exp().sum(1).tolist() == pytest.approx([1.0] * 3)


def test_a_bias_just_before_a_batch_norm_gets_a_note_that_it_does_nothing():
    """Was: nothing said of "b1 is useless" ("Becoming a backprop ninja"): a Linear's bias
    feeding a BatchNorm1d in training gets a zero gradient (1e-8 here) and changes nothing."""
    from gradviz import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.Tanh(), nn.Linear(32, 5))
    with torch.trace() as tr:
        out = model(torch.randn(16, 10))
        nn.functional.cross_entropy(out, torch.randint(0, 5, (16,))).backward()
    (note,) = [n for n in tr.check().notes if "batch norm" in n]
    assert note.startswith("0.bias feeds a batch norm")
    assert "bias=False" in note
    model.eval()  # the running statistics: the bias matters, no note
    with torch.trace() as tr:
        out = model(torch.randn(16, 10))
        nn.functional.cross_entropy(out, torch.randint(0, 5, (16,))).backward()
    assert not [n for n in tr.check().notes if "batch norm" in n]
