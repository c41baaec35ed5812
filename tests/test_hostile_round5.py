"""Hostile input, round 5: the newest layers and the many-steps commands as a new user runs
them (mixed precision, notebooks, pooling in one dimension); each case ends in PyTorch's result
or a GradvizError that says what was wrong and what is expected."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn, optim
from gradviz.autograd.errors import GradvizError


def _scaled_step(scaler: gradviz.amp.GradScaler, call: str) -> None:
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(gradviz.ones(1, 2)).sum().backward()  # the loss was not scaled: scaler.scale forgotten
    if call == "unscale_":
        scaler.unscale_(opt)
    elif call == "step":
        scaler.step(opt)
    else:
        scaler.update()


@pytest.mark.parametrize("call", ["unscale_", "step", "update"])
def test_a_scaler_used_before_it_scaled_anything_says_scale_was_forgotten(call):
    # PyTorch: "Attempted step but _scale is None. This may indicate your script did not use
    # scaler.scale(loss or outputs) earlier in the iteration." (an AssertionError); stepping
    # silently divides the unscaled gradients by 65536 instead
    scaler = gradviz.amp.GradScaler("cpu")
    with pytest.raises(GradvizError, match=f"Attempted {call} but _scale is None") as info:
        _scaled_step(scaler, call)
    assert isinstance(info.value, AssertionError)
    assert "scaler.scale(loss" in str(info.value)


def test_a_scaler_that_scaled_once_steps_as_before():
    scaler = gradviz.amp.GradScaler("cpu", init_scale=4.0)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    scaler.scale(model(gradviz.ones(1, 2)).sum()).backward()
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 4.0
    assert scaler.state_dict()["_growth_tracker"] == 1


def _amp_steps(steps: int, scaler: gradviz.amp.GradScaler | None) -> tuple[list, list]:
    """Train a small model ``steps`` steps, the loss scaled by ``scaler`` (or not); the losses
    and the first layer's gradient norms the trace recorded."""
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = gradviz.randn(16, 2), gradviz.randn(16, 1)
    with gradviz.trace(detail="summary") as tr:
        for _ in range(steps):
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            if scaler is None:
                loss.backward()
                opt.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
    return list(tr.timeline.loss), list(tr.timeline.series("param:0.weight", "grad_norm"))


def test_a_trace_of_a_scaled_loss_shows_the_loss_and_gradients_the_optimizer_sees():
    # was: the timeline's loss and every gradient statistic 65536 times too large (the
    # scaled loss and the scaled gradients), and check warning of exploding gradients
    plain_loss, plain_grad = _amp_steps(3, None)
    amp_loss, amp_grad = _amp_steps(3, gradviz.amp.GradScaler("cpu"))
    assert amp_loss == pytest.approx(plain_loss, rel=1e-6)
    assert amp_grad == pytest.approx(plain_grad, rel=1e-5)


def test_the_graph_of_a_scaled_step_is_the_models_own():
    gradviz.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    scaler = gradviz.amp.GradScaler("cpu")
    with gradviz.trace() as tr:
        loss = nn.functional.mse_loss(model(gradviz.randn(4, 2)), gradviz.randn(4, 1))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    graph = tr.graph
    ops = sorted(data["op"] for _, data in graph.nodes(data=True) if data.get("kind") == "op")
    assert ops == ["Linear", "MseLoss"]  # the scaler's Mul is not the model's
    report = tr.check()
    assert report.ok
    squares = sum(float((p.grad.numpy() ** 2).sum()) for p in (model.weight, model.bias))
    assert report.layers[0].grad_norm == pytest.approx(squares**0.5, rel=1e-5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda x: nn.functional.max_pool1d(x, 9),
            "max_pool1d: Given input size (2, 3, 7), calculated output size (2, 3, 0) is too "
            "small (kernel 9, stride 9, padding 0)",
        ),
        (
            lambda x: nn.functional.max_pool1d(x, 2, padding=2),
            "max_pool1d: pad should be at most half of effective kernel size, but got pad=2, "
            "kernel_size=2 and dilation=1",
        ),
        (
            lambda x: nn.functional.avg_pool1d(x, 3, 1, 2),
            "avg_pool1d: pad should be at most half of effective kernel size, but got pad=2, "
            "kernel_size=3 and dilation=1",
        ),
        (
            lambda x: nn.functional.max_pool1d(x, 4, dilation=3),
            "max_pool1d: Given input size (2, 3, 7), calculated output size (2, 3, 0) is too "
            "small (kernel 4, stride 4, padding 0)",
        ),
    ],
)
def test_a_1d_pool_that_cannot_run_names_the_1d_shapes_it_was_given(call, message):
    # was: the 2-d pool's view of it, "Given input size (2, 3, 1, 7) ... kernel (1, 9)"
    with pytest.raises(GradvizError) as info:
        call(gradviz.randn(2, 3, 7))
    assert str(info.value) == message


def _gan_step():
    gradviz.manual_seed(0)
    G = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    D = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    criterion = nn.BCEWithLogitsLoss()
    opt_d = optim.Adam(D.parameters(), lr=1e-3)
    with gradviz.trace() as tr:
        fake = G(gradviz.randn(16, 4))
        d_loss = criterion(D(fake.detach()), gradviz.zeros(16, 1))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
    return tr


def test_two_models_are_named_by_their_variables_not_their_class():
    # was: the generator's parameters 0.weight ..., the discriminator's Sequential.0.weight
    # ...: two Sequentials told apart by nothing the script says; then the generator's
    # 0.weight beside the discriminator's D.0.weight
    graph = _gan_step().graph
    params = sorted(data["name"] for _, data in graph.nodes(data=True) if data["kind"] == "param")
    assert params == [
        "D.0.bias",
        "D.0.weight",
        "D.2.bias",
        "D.2.weight",
        "G.0.bias",
        "G.0.weight",
        "G.2.bias",
        "G.2.weight",
    ]
    modules = {data.get("module") for _, data in graph.nodes(data=True) if data["kind"] == "op"}
    assert "D.1" in modules  # the LeakyReLU
    assert "BCEWithLogitsLoss" in modules  # a module without parameters keeps its class name


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_a_regression_loss_against_integer_targets_stays_float32(loss):
    # was: NumPy's float32 - int64, a float64 loss (and a float64 graph) where PyTorch's is
    # float32: counts or labels read as integers are a common regression target
    torch = pytest.importorskip("torch")
    pred = np.linspace(-2, 3, 12, dtype=np.float32).reshape(4, 3)
    target = np.arange(12).reshape(4, 3) % 4
    x = gradviz.tensor(pred, requires_grad=True)
    out = getattr(nn.functional, loss)(x, gradviz.tensor(target))
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32
    xt = torch.tensor(pred, requires_grad=True)
    expected = getattr(torch.nn.functional, loss)(xt, torch.tensor(target))
    assert out.item() == pytest.approx(expected.item(), rel=1e-6)
    if loss != "huber_loss":  # (PyTorch's huber backward refuses an integer target)
        expected.backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    assert gradviz.autograd.gradcheck(
        lambda p: getattr(nn.functional, loss)(p, gradviz.tensor(target)),
        [gradviz.tensor(pred.astype(np.float64) + 0.01, requires_grad=True)],
    )


@pytest.mark.parametrize(
    ("output_size", "message"),
    [
        (12, "output_size must be a sequence of ints (the output's height and width), got 12"),
        ("ab", "output_size must be a sequence of ints (the output's height and width), got 'ab'"),
        ((12.0, 14.0), "output_size must be a sequence of ints (the output's height and width)"),
        ((13, 14), "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2)): requested an "),
    ],
)
def test_a_transposed_conv_refuses_an_output_size_it_cannot_read(output_size, message):
    # was: TypeError "'int' object is not iterable" (PyTorch: "object of type 'int' has no
    # len()"), a comparison of str and int, "output_padding must be an int or 2 ints, got
    # (1.0, 1.0)" of floats; an out-of-range size did not name the layer
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2)
    with pytest.raises(GradvizError) as info:
        layer(gradviz.randn(2, 4, 5, 6), output_size=output_size)
    assert message in str(info.value)
    assert isinstance(info.value, TypeError if output_size != (13, 14) else ValueError)


def test_a_transposed_conv_takes_an_output_size_of_numpy_ints_or_a_shape():
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2)
    x = gradviz.randn(2, 4, 5, 6)
    assert layer(x, output_size=(np.int64(12), np.int32(14))).shape == (2, 6, 12, 14)
    assert layer(x, output_size=gradviz.zeros(2, 6, 12, 14).shape).shape == (2, 6, 12, 14)


@pytest.mark.parametrize(
    ("scale_factor", "error", "message"),
    [
        ([2, 2, 2], ValueError, "interpolate: Input and scale_factor must have the same number"),
        ("2", TypeError, "interpolate: expected scale_factor to be numbers, but got '2'"),
        ((2, "2"), TypeError, "interpolate: expected scale_factor to be numbers, but got (2, '2')"),
        (float("nan"), ValueError, "interpolate: scale_factor must be finite, got nan"),
        (float("inf"), ValueError, "interpolate: scale_factor must be finite, got inf"),
    ],
)
def test_interpolate_refuses_a_scale_factor_it_cannot_read(scale_factor, error, message):
    # was: TypeError "float() argument must be ... not 'list'" for a list too long, a string
    # read as its number, NumPy's "cannot convert float NaN to integer" and an OverflowError
    with pytest.raises(GradvizError) as info:
        nn.functional.interpolate(gradviz.randn(2, 4, 5, 6), scale_factor=scale_factor)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, error)


def test_upsample_refuses_a_list_of_scale_factors_naming_itself():
    # was: TypeError "float() argument must be a string or a real number, not 'list'" (as
    # PyTorch's Upsample, which reads a tuple only); a string of a number is read as PyTorch
    # reads it
    with pytest.raises(GradvizError, match=r"Upsample: scale_factor must be a number or a "):
        nn.Upsample(scale_factor=[2, 2])
    assert nn.Upsample(scale_factor="2")(gradviz.randn(1, 1, 2, 3)).shape == (1, 1, 4, 6)


def test_a_dataloader_takes_every_option_of_pytorchs_signature():
    # was: TypeError "unexpected keyword argument 'multiprocessing_context'" (also
    # pin_memory_device, in_order): a script written for macOS's spawn start method failed
    data = gradviz.utils.data.TensorDataset(gradviz.randn(10, 2), gradviz.randn(10, 1))
    loader = gradviz.utils.data.DataLoader(
        data,
        batch_size=4,
        num_workers=2,
        multiprocessing_context="spawn",
        pin_memory=True,
        pin_memory_device="cuda",
        in_order=False,
    )
    assert [len(x) for x, _ in loader] == [4, 4, 2]  # (items still load in this process)
    seeded = gradviz.utils.data.DataLoader(
        data, 4, True, None, None, 0, None, False, False, 0, None, None, gradviz.Generator()
    )  # PyTorch's positional order: ..., worker_init_fn, multiprocessing_context, generator
    assert len(list(seeded)) == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"multiprocessing_context": "spawn"},
            "multiprocessing_context can only be used with multi-process loading (num_workers "
            "> 0), but got num_workers=0",
        ),
        (
            {"multiprocessing_context": "thread", "num_workers": 2},
            "multiprocessing_context option should specify a valid start method in",
        ),
        (
            {"multiprocessing_context": 3, "num_workers": 2},
            "multiprocessing_context option should be a valid context object or a string",
        ),
    ],
)
def test_a_dataloader_refuses_a_start_method_pytorch_refuses(options, message):
    data = gradviz.utils.data.TensorDataset(gradviz.randn(10, 2))
    with pytest.raises(GradvizError) as info:
        gradviz.utils.data.DataLoader(data, **options)
    assert str(info.value).startswith(message)


def test_an_iterable_dataset_that_splits_by_worker_reads_its_whole_stream():
    # was: AttributeError "no attribute 'get_worker_info'" in PyTorch's IterableDataset
    # example; items load in this process, which PyTorch's get_worker_info calls None
    data = gradviz.utils.data

    class Range(data.IterableDataset):
        def __iter__(self):
            info = data.get_worker_info()
            if info is None:  # the main process: the whole range
                return iter(range(6))
            return iter(range(info.id, 6, info.num_workers))

    batches = [b.tolist() for b in data.DataLoader(Range(), batch_size=4, num_workers=2)]
    assert batches == [[0, 1, 2, 3], [4, 5]]
    torch = pytest.importorskip("torch")
    assert data.get_worker_info() is torch.utils.data.get_worker_info() is None


def _qkv(heads_kv: int = 4, kv_dtype=np.float32):
    q = gradviz.randn(2, 4, 3, 8)
    k = gradviz.tensor(np.random.default_rng(0).normal(size=(2, heads_kv, 5, 8)).astype(kv_dtype))
    return q, k, gradviz.randn(2, heads_kv, 5, 6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda q, k, v: nn.functional.scaled_dot_product_attention(q, k[:, :2], v[:, :2]),
            "scaled_dot_product_attention(): the batch dims of query (2, 4, 3, 8), key (2, 2, "
            "5, 8) and value (2, 2, 5, 6) do not broadcast; for key and value heads shared by "
            "groups of query heads pass enable_gqa=True",
        ),
        (
            lambda q, k, v: nn.functional.scaled_dot_product_attention(q, k.double(), v),
            "scaled_dot_product_attention(): Expected query, key, and value to have the same "
            "dtype, but got query.dtype: float32 key.dtype: float64 and value.dtype: float32",
        ),
        (
            lambda q, k, v: nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=gradviz.ones(3, 4, dtype=gradviz.bool)
            ),
            "scaled_dot_product_attention(): attn_mask of shape (3, 4) does not broadcast to "
            "the attention weights' shape (2, 4, 3, 5) (..., L, S)",
        ),
    ],
)
def test_attention_with_mismatched_inputs_names_attention_and_what_to_change(call, message):
    # was: "MatMul: operands could not be broadcast together with remapped shapes
    # [original->remapped] ...", "expected m1 and m2 to have the same dtype" and
    # "masked_fill(): mask of shape (3, 4) does not broadcast": the op inside, not the call
    with pytest.raises(GradvizError) as info:
        call(*_qkv())
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "layer",
    [
        lambda: nn.Linear(8, 4),
        lambda: nn.TransformerEncoderLayer(8, 2, 16),
        lambda: nn.Sequential(nn.Flatten(0), nn.Linear(48, 1)),
    ],
)
def test_token_ids_fed_to_a_float_layer_are_refused_as_pytorch_refuses_them(layer):
    # was: the integer ids multiplied as features, a float64 output and a model that
    # "trains"; PyTorch: "mat1 and mat2 must have the same dtype, but got Long and Float"
    ids = gradviz.randint(0, 10, (3, 2, 8))
    with pytest.raises(GradvizError, match="mat1 and mat2 must have the same dtype") as info:
        layer()(ids)
    assert "int64 and float32" in str(info.value)
    assert "nn.Embedding" in str(info.value)
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("index", [[0, -1], [0, 5]])
def test_index_select_refuses_an_index_out_of_range_as_pytorch(index):
    # was: -1 picked the last row (Python's wrap-around) where PyTorch raises "index out of
    # range in self" (a padding id of -1 read silently), and 5 was blamed on an op "Index"
    weight = gradviz.randn(5, 3)
    with pytest.raises(GradvizError, match=r"index_select\(\): index out of range in self") as info:
        weight.index_select(0, gradviz.tensor(index))
    assert f"index {index[1]} is not in [0, 5) along dim 0 of (5, 3)" in str(info.value)
    assert isinstance(info.value, IndexError)


@pytest.mark.parametrize(
    ("loss", "args", "message"),
    [
        (
            "margin_ranking_loss",
            [(4,), (3,), (4,)],
            "margin_ranking_loss: the shapes of input1 (4,), input2 (3,) and target (4,) do "
            "not broadcast",
        ),
        (
            "cosine_embedding_loss",
            [(4, 3), (3, 3), (4,)],
            "cosine_embedding_loss: the shapes of input1 (4, 3) and input2 (3, 3) do not broadcast",
        ),
        (
            "cosine_embedding_loss",
            [(4, 3), (4, 3), (3,)],
            "cosine_embedding_loss: the shapes of the inputs' rows (4,) and target (3,) do not "
            "broadcast",
        ),
        (
            "triplet_margin_loss",
            [(4, 3), (4, 2), (4, 3)],
            "triplet_margin_loss: the shapes of anchor (4, 3), positive (4, 2) and negative "
            "(4, 3) do not broadcast",
        ),
        (
            "hinge_embedding_loss",
            [(4, 3), (2, 3)],
            "hinge_embedding_loss: the shapes of input (4, 3) and target (2, 3) do not broadcast",
        ),
        (
            "soft_margin_loss",
            [(4, 3), (4, 2)],
            "soft_margin_loss: the shapes of input (4, 3) and target (4, 2) do not broadcast",
        ),
        (
            "multilabel_soft_margin_loss",
            [(4, 3), (4, 2)],
            "multilabel_soft_margin_loss: the shapes of input (4, 3) and target (4, 2) do not "
            "broadcast",
        ),
    ],
)
def test_a_newer_loss_of_mismatched_shapes_names_the_loss_and_its_arguments(loss, args, message):
    # was: "Sub: operands could not be broadcast together with shapes (4,) (3,)" and the like,
    # naming an op inside the loss ("Sub", "Mul", "Where") rather than the loss called
    values = [gradviz.tensor(np.ones(shape, np.float32)) for shape in args]
    with pytest.raises(GradvizError) as info:
        getattr(nn.functional, loss)(*values)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, RuntimeError)


def test_multilabel_soft_margin_loss_names_a_weight_of_the_wrong_size():
    with pytest.raises(GradvizError, match="multilabel_soft_margin_loss: the shapes of input "):
        nn.MultiLabelSoftMarginLoss(weight=gradviz.ones(4))(gradviz.ones(2, 3), gradviz.ones(2, 3))


def test_a_mean_by_the_element_count_stays_float32():
    # was: float64, NumPy reading the int subclass x.size (NumPy's count, PyTorch's size()
    # when called) as an int64 array: ((p - y) ** 2).sum() / y.size widened the loss
    x = gradviz.ones(4, 3)
    assert (x.sum() / x.size).dtype == np.float32
    assert (x * x.size).dtype == np.float32
    assert (x + True).dtype == np.float32  # (a bool stays a bool operand)


def test_an_unbatched_multi_margin_loss_is_float32_as_pytorchs():
    # was: float64 (its class count was the int subclass x.size)
    torch = pytest.importorskip("torch")
    scores = np.array([0.2, -0.4, 1.3], np.float32)
    out = nn.MultiMarginLoss()(gradviz.tensor(scores), gradviz.tensor(np.array(1)))
    expected = torch.nn.MultiMarginLoss()(torch.tensor(scores), torch.tensor(1))
    assert out.dtype == np.float32
    assert out.item() == pytest.approx(expected.item(), rel=1e-6)
