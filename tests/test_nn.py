"""gradviz.nn: Module registration and naming, modes, state, repr, layers, losses, seeding."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn

F = nn.functional


class MLP(nn.Module):
    """The custom Module of the docs: two Linear layers and a ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Dropout(0.5))
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(self.block(x))


def names(module: nn.Module) -> list[str]:
    return [name for name, _ in module.named_parameters()]


def batch(n: int = 5, features: int = 2, seed: int = 0) -> Variable:
    data = np.random.default_rng(seed).normal(size=(n, features)).astype(np.float32)
    return Variable(data)


# ------------------------------------------------------------------------------ registration


def test_custom_module_parameter_names_follow_assignment_order():
    assert names(MLP()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_sequential_names_parameters_by_position():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert names(model) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_nested_names_are_dotted_paths():
    assert names(Nested()) == ["block.0.weight", "block.0.bias", "head.weight", "head.bias"]


def test_parameters_matches_named_parameters():
    model = Nested()
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]


def test_parameter_is_a_variable_that_requires_grad():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, Variable)
    assert p.requires_grad
    assert p.is_leaf
    assert p.dtype == np.float32  # Python floats take the default dtype
    assert nn.Parameter(np.zeros(2)).dtype == np.float64  # ndarrays keep theirs
    assert repr(p).startswith("Parameter containing:\n")


def test_leaf_variable_that_requires_grad_is_registered():
    """Friendlier than PyTorch (documented): a leaf Variable with requires_grad=True counts."""

    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = Variable(np.ones(1, np.float32), requires_grad=True)
            self.fixed = Variable(np.ones(1, np.float32))  # requires_grad=False: a constant
            self.table = np.ones(3)  # a plain array: not a parameter
            self.derived = self.scale * 2  # not a leaf: not a parameter

    model = Scaled()
    assert names(model) == ["scale"]
    assert model.state_dict().keys() == {"scale"}


def test_own_parameters_come_before_children():
    """As in PyTorch: a module's own parameters first, then each child's."""

    class WithScale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(1, 1)
            self.scale = nn.Parameter([1.0])

    assert names(WithScale()) == ["scale", "fc.weight", "fc.bias"]


def test_reassigning_or_deleting_an_attribute_unregisters_it():
    model = MLP()
    model.fc2 = None
    assert names(model) == ["fc1.weight", "fc1.bias"]
    assert [name for name, _ in model.named_children()] == ["fc1", "act"]
    del model.act
    assert [name for name, _ in model.named_children()] == ["fc1"]
    with pytest.raises(TypeError, match="as parameter 'weight'"):
        model.fc1.weight = np.zeros((3, 2))  # an ndarray is not a parameter (PyTorch refuses)
    model.fc1.weight = None
    assert names(model) == ["fc1.bias"]


def test_register_parameter_and_add_module():
    model = nn.Module()
    model.register_parameter("w", nn.Parameter([1.0]))
    model.register_parameter("b", None)  # an empty slot, like Linear(bias=False)
    model.add_module("inner", nn.Linear(1, 1))
    assert model.b is None
    assert names(model) == ["w", "inner.weight", "inner.bias"]


def test_register_parameter_none_replaces_an_existing_parameter():
    layer = nn.Linear(2, 2)
    layer.register_parameter("bias", None)  # as PyTorch: the slot is emptied, not kept
    assert layer.bias is None
    assert names(layer) == ["weight"]


def test_assigning_before_super_init_raises():
    class Forgot(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgot()


def test_pytorch_style_imports():
    import importlib

    assert importlib.import_module("gradviz.nn.functional") is F
    assert importlib.import_module("gradviz.nn").Linear is nn.Linear


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_call_passes_args_and_kwargs_to_forward():
    class Affine(nn.Module):
        def forward(self, x, shift=0.0):
            return x + shift

    out = Affine()(Variable([1.0]), shift=2.0)
    np.testing.assert_allclose(out.numpy(), [3.0])


# --------------------------------------------------------------------------------- sharing


def test_shared_module_and_its_parameters_listed_once():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = self.a

    model = Tied()
    assert names(model) == ["a.weight", "a.bias"]
    assert [name for name, _ in model.named_modules()] == ["", "a"]
    assert len(list(model.children())) == 1  # children() lists a shared module once, as PyTorch


def test_tied_parameter_listed_once_under_its_first_name():
    class TiedWeight(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Linear(3, 3)
            self.decoder = nn.Linear(3, 3)
            self.decoder.weight = self.encoder.weight

    model = TiedWeight()
    assert names(model) == ["encoder.weight", "encoder.bias", "decoder.bias"]
    out = model.decoder(model.encoder(batch(4, 3))).sum()
    out.backward()  # both uses of the shared weight accumulate into one .grad
    assert model.encoder.weight.grad.shape == (3, 3)


# ------------------------------------------------------------------------------- traversal


def test_children_modules_and_named_modules_order():
    model = Nested()
    assert [type(m).__name__ for m in model.children()] == ["Sequential", "Linear"]
    assert [name for name, _ in model.named_modules()] == [
        "",
        "block",
        "block.0",
        "block.1",
        "block.2",
        "head",
    ]
    assert [type(m).__name__ for m in model.modules()] == [
        "Nested",
        "Sequential",
        "Linear",
        "Tanh",
        "Dropout",
        "Linear",
    ]
    assert next(iter(model.modules())) is model


def test_named_modules_prefix():
    model = nn.Sequential(nn.Linear(1, 1))
    assert [name for name, _ in model.named_modules(prefix="net")] == ["net", "net.0"]
    assert [name for name, _ in model.named_parameters(prefix="net")] == [
        "net.0.weight",
        "net.0.bias",
    ]


def test_sequential_indexing_len_iter_and_append():
    first, second = nn.Linear(2, 3), nn.ReLU()
    model = nn.Sequential(first, second)
    assert len(model) == 2
    assert model[0] is first
    assert model[-1] is second
    assert list(model) == [first, second]
    third = nn.Linear(3, 1)
    assert model.append(third) is model
    assert model[2] is third
    assert names(model)[-2:] == ["2.weight", "2.bias"]
    assert model(batch()).shape == (5, 1)


def test_sequential_slice_is_a_sequential_keeping_names():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    tail = model[1:]
    assert isinstance(tail, nn.Sequential)
    assert names(tail) == ["2.weight", "2.bias"]  # as in PyTorch: the original names
    assert tail[1] is model[2]
    x = batch(5, 3)
    np.testing.assert_array_equal(tail(x).numpy(), model[2](model[1](x)).numpy())


# -------------------------------------------------------------------------------- modes


def test_train_and_eval_propagate_to_every_module():
    model = Nested()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not model.block[2].training


def test_dropout_is_identity_in_eval_mode():
    gradviz.manual_seed(0)
    dropout = nn.Dropout(0.5)
    x = Variable(np.ones((20, 10), np.float32), requires_grad=True)
    dropout.eval()
    assert dropout(x) is x


def test_dropout_in_training_zeroes_and_rescales():
    gradviz.manual_seed(0)
    x = Variable(np.ones((200, 50), np.float32), requires_grad=True)
    out = nn.Dropout(0.25)(x)
    np.testing.assert_allclose(np.unique(out.numpy()), [0.0, 1 / 0.75], rtol=1e-6)
    assert 0.2 < (out.numpy() == 0).mean() < 0.3
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.numpy())  # the gradient goes through the same mask
    assert out.dtype == np.float32


def test_dropout_edge_probabilities():
    x = Variable(np.ones(4, np.float32))
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).numpy(), np.zeros(4))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_zero_grad_sets_every_grad_to_none():
    model = MLP()
    model(batch()).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_zero_grad_set_to_none_false_keeps_zero_arrays():
    model = MLP()
    model(batch()).sum().backward()
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        np.testing.assert_array_equal(p.grad, np.zeros(p.shape))
        assert p.grad.dtype == np.float32


# -------------------------------------------------------------------------------- state


def test_state_dict_shares_the_data_in_parameter_order_as_torch():
    model = MLP()
    state = model.state_dict()
    assert list(state) == names(model)
    assert all(isinstance(v, Variable) and not v.requires_grad for v in state.values())
    assert state["fc1.weight"].size() == model.fc1.weight.size()  # the tutorials' print
    snapshot = copy.deepcopy(state)
    state["fc1.weight"][...] = 123.0  # the same data, as PyTorch's state_dict
    assert np.all(model.fc1.weight.numpy() == 123.0)
    assert not np.any(snapshot["fc1.weight"].numpy() == 123.0)


def test_state_dict_round_trip_reproduces_outputs():
    source, target = MLP(), MLP()
    x = batch()
    assert not np.allclose(source(x).numpy(), target(x).numpy())
    weight_before = target.fc1.weight  # loading copies into the same objects
    target.load_state_dict(source.state_dict())
    assert target.fc1.weight is weight_before
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())
    assert all(p.dtype == np.float32 for p in target.parameters())


def test_load_state_dict_shape_mismatch_names_key_and_shapes():
    model = MLP()
    state = model.state_dict()
    state["fc2.weight"] = np.zeros((2, 3), np.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError, match=r"size mismatch for fc2\.weight.*\(2, 3\).*\(1, 3\)"):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():  # nothing was half-loaded
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_missing_and_unexpected_keys():
    model = MLP()
    state = model.state_dict()
    del state["fc1.bias"]
    state["fc3.weight"] = np.zeros(1)
    with pytest.raises(RuntimeError, match=r"Missing key.*fc1\.bias.*\n.*Unexpected key.*fc3"):
        model.load_state_dict(state)
    model.load_state_dict(state, strict=False)  # loads what matches, ignores the rest


def test_load_state_dict_accepts_lists_and_variables():
    model = nn.Linear(2, 1)
    model.load_state_dict({"weight": [[1.0, 2.0]], "bias": Variable([0.5])})
    np.testing.assert_allclose(model(Variable([[1.0, 1.0]])).numpy(), [[3.5]])


# --------------------------------------------------------------------------------- repr


def test_repr_like_pytorch():
    model = nn.Sequential(
        nn.Linear(2, 16), nn.Tanh(), nn.Dropout(0.1), nn.Linear(16, 1, bias=False)
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=16, bias=True)\n"
        "  (1): Tanh()\n"
        "  (2): Dropout(p=0.1, inplace=False)\n"
        "  (3): Linear(in_features=16, out_features=1, bias=False)\n"
        ")"
    )
    assert repr(Nested()) == (
        "Nested(\n"
        "  (block): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=4, bias=True)\n"
        "    (1): Tanh()\n"
        "    (2): Dropout(p=0.5, inplace=False)\n"
        "  )\n"
        "  (head): Linear(in_features=4, out_features=1, bias=True)\n"
        ")"
    )


def test_repr_of_settings_and_children_together():
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(1, 1)

        def extra_repr(self) -> str:
            return "scale=2"

    assert repr(Scaled()) == (
        "Scaled(\n  scale=2\n  (fc): Linear(in_features=1, out_features=1, bias=True)\n)"
    )


@pytest.mark.parametrize(
    ("module", "text"),
    [
        (nn.ReLU(), "ReLU()"),
        (nn.LeakyReLU(0.2), "LeakyReLU(negative_slope=0.2)"),
        (nn.GELU(), "GELU(approximate='none')"),
        (nn.Softmax(dim=1), "Softmax(dim=1)"),
        (nn.MSELoss(), "MSELoss()"),
        (nn.CrossEntropyLoss(reduction="sum"), "CrossEntropyLoss(reduction='sum')"),
    ],
)
def test_repr_of_layers(module, text):
    assert repr(module) == text


# ------------------------------------------------------------------------------- Linear


def test_linear_shapes_dtype_and_formula():
    layer = nn.Linear(3, 4)
    assert layer.weight.shape == (4, 3)  # (out_features, in_features), as PyTorch
    assert layer.bias.shape == (4,)
    assert layer.weight.dtype == layer.bias.dtype == np.float32
    x = batch(5, 3)
    out = layer(x)
    assert out.shape == (5, 4)
    assert out.dtype == np.float32
    expected = x.numpy() @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_linear_batch_dims_and_vector_input():
    layer = nn.Linear(3, 2)
    assert layer(Variable(np.ones((4, 5, 3), np.float32))).shape == (4, 5, 2)
    assert layer(Variable(np.ones(3, np.float32))).shape == (2,)


def test_linear_without_bias():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None
    assert names(layer) == ["weight"]
    x = batch(4, 3)
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() @ layer.weight.numpy().T, rtol=1e-6)


def test_linear_gradients():
    layer = nn.Linear(3, 2)
    x = Variable(batch(4, 3).numpy(), requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, np.tile(x.numpy().sum(axis=0), (2, 1)), rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad, [4.0, 4.0])
    np.testing.assert_allclose(x.grad, np.tile(layer.weight.numpy().sum(axis=0), (4, 1)), rtol=1e-6)
    assert layer.weight.grad.dtype == np.float32


def test_linear_init_bounds_are_one_over_sqrt_fan_in():
    gradviz.manual_seed(0)
    layer = nn.Linear(100, 200)
    bound = 1 / math.sqrt(100)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.numpy()).max() <= bound
    # uniform on [-bound, bound]: reaches near both ends and has the uniform's spread
    assert layer.weight.numpy().max() > 0.98 * bound
    assert layer.weight.numpy().min() < -0.98 * bound
    assert layer.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def test_parameters_follow_the_default_dtype():
    previous = gradviz.get_default_dtype()
    gradviz.set_default_dtype(np.float64)
    try:
        assert nn.Linear(2, 2).weight.dtype == np.float64
    finally:
        gradviz.set_default_dtype(previous)
    assert nn.Linear(2, 2).weight.dtype == np.float32


# ---------------------------------------------------------------------------- seeding


def test_manual_seed_makes_initialisation_reproducible():
    gradviz.manual_seed(42)
    first = MLP().state_dict()
    gradviz.manual_seed(42)
    second = MLP().state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    gradviz.manual_seed(43)
    third = MLP().state_dict()
    assert not np.array_equal(first["fc1.weight"], third["fc1.weight"])


def test_manual_seed_makes_dropout_masks_reproducible():
    x = Variable(np.ones((8, 8), np.float32))
    dropout = nn.Dropout(0.5)
    gradviz.manual_seed(7)
    first, second = dropout(x).numpy(), dropout(x).numpy()
    gradviz.manual_seed(7)
    np.testing.assert_array_equal(dropout(x).numpy(), first)
    np.testing.assert_array_equal(dropout(x).numpy(), second)
    assert not np.array_equal(first, second)  # each call draws a new mask


# ----------------------------------------------------------------------------- activations


def _numpy_gelu(x):
    from math import erf

    return x * 0.5 * (1 + np.vectorize(erf)(x / math.sqrt(2)))


@pytest.mark.parametrize(
    "layer",
    [nn.GELU(), nn.Softmax(dim=-1), nn.LayerNorm(6)],
    ids=lambda m: type(m).__name__,
)
def test_a_second_backward_with_retain_graph_gives_the_same_float32_gradient(layer):
    # the rules reuse their own buffers, never the ones saved for the next backward
    x = Variable(batch(4, 6, seed=2).numpy(), requires_grad=True)
    weights = Variable(np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6))
    loss = (layer(x) * weights).sum() + F.cross_entropy(layer(x), np.array([0, 5, 2, 1]))
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    x.zero_grad()
    loss.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, first)


@pytest.mark.parametrize(
    ("module", "reference"),
    [
        (nn.ReLU(), lambda x: np.maximum(x, 0)),
        (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
        (nn.Tanh(), np.tanh),
        (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
        (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
        (nn.GELU(), _numpy_gelu),
        (nn.Softmax(dim=-1), lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
        (nn.Identity(), lambda x: x),
        (nn.Flatten(), lambda x: x.reshape(len(x), -1)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "",
)
def test_activation_modules_match_numpy(module, reference):
    x = batch(4, 3, seed=1)
    out = module(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(
        out.numpy(), reference(x.numpy().astype(np.float64)), rtol=1e-5, atol=1e-6
    )


# --------------------------------------------------------------------------------- losses


def test_mse_loss_reductions():
    prediction = Variable([[1.0], [2.0], [4.0]], requires_grad=True)
    target = Variable([[1.0], [0.0], [1.0]])
    assert nn.MSELoss()(prediction, target).item() == pytest.approx((0 + 4 + 9) / 3)
    assert nn.MSELoss(reduction="sum")(prediction, target).item() == pytest.approx(13)
    np.testing.assert_allclose(
        nn.MSELoss(reduction="none")(prediction, target).numpy(), [[0.0], [4.0], [9.0]]
    )
    loss = nn.MSELoss()(prediction, target)
    loss.backward()
    np.testing.assert_allclose(prediction.grad, [[0.0], [4 / 3], [6 / 3]], rtol=1e-6)
    assert loss.dtype == np.float32


def test_mse_loss_warns_when_target_shape_would_broadcast():
    prediction = Variable(np.zeros((3, 1), np.float32))
    with pytest.warns(UserWarning, match="target size"):
        nn.MSELoss()(prediction, Variable(np.zeros(3, np.float32)))


def test_cross_entropy_loss_matches_numpy():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    labels = np.array([0, 2])
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_probs[[0, 1], labels]
    x = Variable(logits, requires_grad=True)
    loss = nn.CrossEntropyLoss()(x, labels)
    assert loss.item() == pytest.approx(expected.mean())
    loss.backward()
    probs = np.exp(log_probs)
    np.testing.assert_allclose(x.grad, (probs - np.eye(3)[labels]) / 2)
    np.testing.assert_allclose(
        nn.CrossEntropyLoss(reduction="none")(Variable(logits), labels).numpy(), expected
    )


@pytest.mark.parametrize("loss_fn", [F.cross_entropy, F.nll_loss])
def test_class_losses_on_one_unbatched_sample_give_a_0d_loss(loss_fn):
    # PyTorch: input (C,) with a 0-d target gives a 0-d loss for every reduction, "none" too
    scores = np.array([-1.2, -0.4, -2.0])
    batched = loss_fn(Variable(scores[np.newaxis]), np.array([1]), reduction="none")
    x = Variable(scores, requires_grad=True)
    loss = loss_fn(x, np.array(1), reduction="none")
    assert loss.shape == ()
    assert loss.item() == pytest.approx(batched.item())
    loss.backward()
    assert x.grad.shape == (3,)


def test_bce_losses_agree():
    logits = Variable(np.array([[-3.0], [0.5], [4.0]]), requires_grad=True)
    target = np.array([[0.0], [1.0], [1.0]])
    probs = 1 / (1 + np.exp(-logits.numpy()))
    expected = -(target * np.log(probs) + (1 - target) * np.log(1 - probs)).mean()
    assert nn.BCELoss()(nn.Sigmoid()(logits), target).item() == pytest.approx(expected)
    loss = nn.BCEWithLogitsLoss()(logits, target)
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    np.testing.assert_allclose(logits.grad, (probs - target) / 3)


def test_bce_with_logits_is_stable_for_large_logits():
    loss = nn.BCEWithLogitsLoss()(Variable([[1000.0], [-1000.0]]), Variable([[0.0], [1.0]]))
    assert loss.item() == pytest.approx(1000.0)


def test_loss_modules_equal_functional():
    x, target = batch(4, 1), batch(4, 1, seed=2)
    assert nn.MSELoss()(x, target).item() == F.mse_loss(x, target).item()
    logits, labels = batch(4, 3), np.array([0, 1, 2, 1])
    assert nn.CrossEntropyLoss()(logits, labels).item() == F.cross_entropy(logits, labels).item()
    assert nn.NLLLoss()(F.log_softmax(logits, 1), labels).item() == pytest.approx(
        F.cross_entropy(logits, labels).item()
    )


# --------------------------------------------------------------------------------- training


def test_a_module_can_learn():
    """End to end: Sequential + MSELoss + backward + a hand-written update lowers the loss."""
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    x = batch(32, 2)
    y = Variable((x.numpy()[:, :1] * 2 - x.numpy()[:, 1:]).astype(np.float32))
    losses = []
    for _ in range(50):
        model.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_dropout_inplace_writes_into_its_input_as_pytorch():
    gradviz.manual_seed(0)
    w = gradviz.randn(8, 8, requires_grad=True)
    hidden = w * 1
    out = nn.Dropout(0.5, inplace=True)(hidden)
    assert out is hidden
    zeros = hidden.numpy() == 0
    assert zeros.any()
    out.sum().backward()
    np.testing.assert_array_equal(w.grad, np.where(zeros, 0.0, 2.0))
    assert repr(nn.Dropout(0.2, inplace=True)) == "Dropout(p=0.2, inplace=True)"
    with pytest.raises(gradviz.GradvizError, match="leaf Variable that requires grad"):
        nn.Dropout(inplace=True)(w)


def test_nn_modules_submodules_hold_the_bases_custom_layers_subclass():
    """`from torch.nn.modules.loss import _Loss` (custom losses), `.utils import _pair`,
    `.batchnorm import _BatchNorm`, `.conv import _ConvNd`, `.module import Module`."""
    from gradviz.nn.modules.batchnorm import _BatchNorm
    from gradviz.nn.modules.conv import _ConvNd
    from gradviz.nn.modules.linear import Linear
    from gradviz.nn.modules.loss import _Loss, _WeightedLoss
    from gradviz.nn.modules.module import Module
    from gradviz.nn.modules.utils import _pair, _quadruple, _single, _triple

    assert (_pair(3), _pair((1, 2)), _single(2), _triple(1), _quadruple(0)) == (
        (3, 3),
        (1, 2),
        (2,),
        (1, 1, 1),
        (0, 0, 0, 0),
    )
    assert isinstance(gradviz.nn.BatchNorm2d(3), _BatchNorm)
    assert isinstance(gradviz.nn.Conv2d(1, 1, 1), _ConvNd)
    assert Linear is gradviz.nn.Linear
    assert Module is gradviz.nn.Module
    assert isinstance(gradviz.nn.CrossEntropyLoss(), _WeightedLoss)

    class FocalLoss(_Loss):
        def __init__(self, gamma=2.0, size_average=None, reduce=None, reduction="mean"):
            super().__init__(size_average, reduce, reduction)
            self.gamma = gamma

        def forward(self, logits, target):
            logp = gradviz.nn.functional.log_softmax(logits, 1).gather(1, target[:, None])
            loss = -((1 - logp.exp()) ** self.gamma) * logp
            return loss.sum() if self.reduction == "sum" else loss.mean()

    logits = gradviz.tensor([[1.0, 2.0], [0.5, -1.0]])
    target = gradviz.tensor([1, 0])
    assert FocalLoss(reduction="sum").reduction == "sum"
    assert FocalLoss()(logits, target).item() == pytest.approx(0.0147, abs=1e-4)


def test_triplet_margin_with_distance_loss_takes_a_distance_function_as_pytorchs():
    """The siamese tutorials' `TripletMarginWithDistanceLoss(distance_function=lambda x, y:
    1.0 - F.cosine_similarity(x, y))`: values and gradients as PyTorch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(5, 4)) for _ in range(3)]

    def run(lib):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        cos = lib.nn.functional.cosine_similarity
        loss_fn = lib.nn.TripletMarginWithDistanceLoss(
            distance_function=lambda x, y: 1.0 - cos(x, y), margin=0.5, swap=True
        )
        loss = loss_fn(*xs)
        loss.backward()
        return [loss.detach().numpy()] + [x.grad.numpy() for x in xs]

    for ours, theirs in zip(run(gradviz), run(torch), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        gradviz.nn.TripletMarginWithDistanceLoss(margin=0)
