"""A PyTorch user's habits with modules and data loading, checked against PyTorch's behaviour
(torch is the oracle where installed; every case here once broke or differed)."""

import numpy as np
import pytest

import gradviz
from gradviz import Variable, data, nn
from gradviz.autograd.errors import GradvizError

torch = pytest.importorskip("torch")
tnn = torch.nn


def names(module):
    return [name for name, _ in module.named_parameters()]


# ------------------------------------------------------------------------------ registration


@pytest.mark.parametrize(
    "value", [np.ones((2, 2)), Variable(np.ones((2, 2), np.float32)), nn.Linear(2, 2)]
)
def test_a_registered_parameter_takes_only_a_parameter_or_none(value):
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError) as caught:
        layer.weight = value
    assert isinstance(caught.value, GradvizError)
    assert "as parameter 'weight' (Parameter or None expected)" in str(caught.value)
    with pytest.raises(TypeError, match="as parameter 'weight'"):
        tnn.Linear(2, 2).weight = torch.ones(2, 2)
    assert names(layer) == ["weight", "bias"]  # nothing changed


def test_a_registered_child_module_takes_only_a_module_or_none():
    model = nn.Sequential(nn.Linear(1, 1))
    with pytest.raises(TypeError, match="as child module '0' \\(Module or None expected\\)"):
        model.__setattr__("0", 3)
    with pytest.raises(TypeError, match="as child module '0'"):
        tnn.Sequential(tnn.Linear(1, 1)).__setattr__("0", 3)


def test_none_keeps_the_slot_and_its_place_as_torch():
    ours, theirs = nn.Linear(2, 2), tnn.Linear(2, 2)
    ours.weight = theirs.weight = None
    ours.weight = nn.Parameter(np.ones((2, 2), np.float32))
    theirs.weight = tnn.Parameter(torch.ones(2, 2))
    assert names(ours) == [name for name, _ in theirs.named_parameters()] == ["weight", "bias"]
    model = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    model.__setattr__("0", None)
    assert list(model._modules) == ["0", "1"]
    assert repr(model) == "Sequential(\n  (0): None\n  (1): ReLU()\n)"


def test_empty_slots_from_register_parameter_and_add_module_as_torch():
    ours, theirs = nn.Linear(2, 2, bias=False), tnn.Linear(2, 2, bias=False)
    assert list(ours._parameters) == list(theirs._parameters) == ["weight", "bias"]
    with pytest.raises(TypeError, match="as parameter 'bias'"):
        ours.bias = np.zeros(2)
    model = nn.Module()
    model.add_module("head", None)
    assert list(model._modules) == ["head"]
    assert repr(model) == repr(_torch_head_none()) == "Module(\n  (head): None\n)"
    model.head = nn.Linear(1, 1)
    assert names(model) == ["head.weight", "head.bias"]


def _torch_head_none():
    module = tnn.Module()
    module.add_module("head", None)
    return module


def test_requires_grad_takes_a_bool_as_torch():
    with pytest.raises(TypeError, match="must be bool, not str"):
        nn.Linear(1, 1).requires_grad_("no")
    with pytest.raises(TypeError, match="must be bool, not str"):
        tnn.Linear(1, 1).requires_grad_("no")


# ------------------------------------------------------------------------------ lookups


def test_get_parameter_and_get_buffer_as_torch():
    ours = nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(2))
    theirs = tnn.Sequential(tnn.Linear(1, 1), tnn.BatchNorm1d(2))
    assert ours.get_parameter("0.weight") is ours[0].weight
    assert ours.get_buffer("1.running_mean") is ours[1].running_mean
    for target, getter in [
        ("0.nope", "get_parameter"),
        ("0.in_features", "get_parameter"),
        ("0", "get_parameter"),
        ("0.weight", "get_buffer"),
        ("0.weight.x", "get_parameter"),
    ]:
        with pytest.raises(AttributeError) as expected:
            getattr(theirs, getter)(target)
        with pytest.raises(AttributeError) as caught:
            getattr(ours, getter)(target)
        assert str(caught.value) == str(expected.value)


def test_get_submodule_of_a_parameter_says_it_is_no_module():
    with pytest.raises(AttributeError, match=r"`weight` is not an nn\.Module"):
        nn.Sequential(nn.Linear(1, 1)).get_submodule("0.weight")


# ------------------------------------------------------------------------------ dtypes


@pytest.mark.parametrize(
    ("cast", "dtype"),
    [
        (lambda m: m.double(), np.float64),
        (lambda m: m.float(), np.float32),
        (lambda m: m.half(), np.float16),
        (lambda m: m.to(np.float64), np.float64),
        (lambda m: m.to("cpu", dtype=np.float64), np.float64),
        (lambda m: m.to(Variable(np.zeros(1))), np.float64),
        (lambda m: m.cpu(), np.float32),
    ],
)
def test_module_casts_float_parameters_and_buffers_in_place(cast, dtype):
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    assert cast(model) is model
    assert model[0].weight is weight
    assert isinstance(weight, nn.Parameter)
    assert weight.requires_grad
    assert weight.dtype == dtype
    assert model[1].running_var.dtype == dtype
    assert model[1].num_batches_tracked.dtype == np.int64  # integers stay, as in PyTorch


def test_a_double_model_trains_in_float64():
    model = nn.Linear(2, 1).double()
    model(Variable(np.ones((3, 2)))).sum().backward()
    assert model.weight.grad.dtype == np.float64


def test_module_to_refuses_integer_dtypes_and_other_devices():
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        nn.Linear(1, 1).to(np.int64)
    with pytest.raises(RuntimeError, match=r"CPU only.*'cuda'"):
        nn.Linear(1, 1).to("cuda")


# ------------------------------------------------------------------------------ data loading


class Records(data.Dataset):
    """Items as a PyTorch user writes them: a dict with an array, a label, a float, a name."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "y": i, "name": f"n{i}", "pair": (i, -i)}


def test_dict_items_collate_key_by_key_as_default_collate():
    batch = next(iter(data.DataLoader(Records(), batch_size=2)))
    assert list(batch) == ["x", "y", "name", "pair"]
    assert batch["x"].shape == (2, 2)
    np.testing.assert_array_equal(batch["y"].numpy(), [0, 1])
    assert batch["name"] == ["n0", "n1"]  # strings stay a list, as in PyTorch
    np.testing.assert_array_equal(batch["pair"][1].numpy(), [0, -1])
    expected = next(iter(torch.utils.data.DataLoader(Records(), batch_size=2)))
    assert batch["y"].dtype == np.dtype(str(expected["y"].dtype).removeprefix("torch."))


def test_unbatched_items_keep_dicts_strings_and_none():
    item = next(iter(data.DataLoader(Records(), batch_size=None)))
    assert item["name"] == "n0"
    assert item["x"].shape == (2,)

    class WithNone(data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return None, i

    assert next(iter(data.DataLoader(WithNone(), batch_size=None)))[0] is None
    with pytest.raises(TypeError, match=r"must contain arrays, Variables, numbers.*NoneType"):
        next(iter(data.DataLoader(WithNone(), batch_size=2)))


def test_items_with_different_keys_are_refused_clearly():
    class Ragged(data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return {"a": 1} if i == 0 else {"b": 1}

    with pytest.raises(ValueError, match="same keys"):
        next(iter(data.DataLoader(Ragged(), batch_size=2)))


def test_sampler_batch_sampler_and_collate_fn_as_torch():
    ds = data.TensorDataset(np.arange(5))
    tds = torch.utils.data.TensorDataset(torch.arange(5))
    for kwargs in [
        {"batch_size": 2, "sampler": [4, 3, 2]},
        {"batch_sampler": [[0, 1], [4]]},
        {"batch_size": None, "sampler": [3, 1]},
    ]:
        ours = [np.asarray(b[0].numpy()).tolist() for b in data.DataLoader(ds, **kwargs)]
        theirs = [b[0].tolist() for b in torch.utils.data.DataLoader(tds, **kwargs)]
        assert ours == theirs
        assert len(data.DataLoader(ds, **kwargs)) == len(torch.utils.data.DataLoader(tds, **kwargs))
    sizes = list(data.DataLoader(ds, batch_size=2, collate_fn=len))
    assert sizes == [2, 2, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sampler": [0], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
        ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
        ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
        ({"num_workers": -1}, "num_workers option should be non-negative"),
    ],
)
def test_loader_option_clashes_are_value_errors_as_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.DataLoader(data.TensorDataset(np.arange(3)), **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(3)), **kwargs)


def test_num_workers_and_pin_memory_are_accepted_and_load_in_process():
    loader = data.DataLoader(
        data.TensorDataset(np.arange(5)), batch_size=2, num_workers=2, pin_memory=True
    )
    assert [np.asarray(b.numpy()).tolist() for (b,) in loader] == [[0, 1], [2, 3], [4]]


def test_subset_and_random_split():
    ds = data.TensorDataset(np.arange(10))
    part = data.Subset(ds, [7, 2])
    assert len(part) == 2
    assert int(part[0][0]) == 7
    gradviz.manual_seed(0)
    first = [s.indices for s in data.random_split(ds, [0.7, 0.3])]
    gradviz.manual_seed(0)
    assert [s.indices for s in data.random_split(ds, [0.7, 0.3])] == first
    assert [len(s) for s in first] == [7, 3]
    assert sorted(first[0] + first[1]) == list(range(10))
    parts = data.random_split(ds, [0.5, 0.5], generator=np.random.default_rng(1))
    batches = [y for (y,) in data.DataLoader(parts[1], batch_size=5)]
    assert sorted(np.asarray(batches[0].numpy()).tolist()) == sorted(parts[1].indices)
    # fractions that do not share out evenly: the remainder goes to the first splits, as torch
    theirs = torch.utils.data.random_split(range(10), [0.33, 0.33, 0.34])
    assert [len(s) for s in data.random_split(ds, [0.33, 0.33, 0.34])] == [len(s) for s in theirs]


def test_random_split_lengths_must_sum_to_the_dataset():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        data.random_split(data.TensorDataset(np.arange(5)), [2, 2])
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        torch.utils.data.random_split(range(5), [2, 2])


def test_tensor_dataset_tensors_as_torch():
    ds = data.TensorDataset(np.arange(3), np.zeros(3))
    assert len(ds.tensors) == 2
    np.testing.assert_array_equal(ds.tensors[0], [0, 1, 2])


# ------------------------------------------------------------------------------ Sequential


def entries(sequential):
    return [(name, type(module).__name__) for name, module in sequential._modules.items()]


def both(build):
    """``build`` run on gradviz's nn and on torch's, as (ours, theirs)."""
    return build(nn), build(tnn)


@pytest.mark.parametrize(
    "edit",
    [
        lambda s, nn: s.insert(0, nn.Sigmoid()),
        lambda s, nn: s.insert(-1, nn.Sigmoid()),
        lambda s, nn: s.insert(2, nn.Sigmoid()),
        lambda s, nn: s.extend([nn.Sigmoid(), nn.ReLU()]),
        lambda s, nn: s.__delitem__(0),
        lambda s, nn: s.__delitem__(slice(0, 2)),
        lambda s, nn: s.pop(-1),
        lambda s, nn: s.__iadd__(nn.Sequential(nn.Sigmoid())),
        lambda s, nn: s.__imul__(2),
    ],
)
def test_sequential_edits_as_torch(edit):
    def build(lib):
        sequential = lib.Sequential(lib.ReLU(), lib.Tanh())
        edit(sequential, lib)
        return entries(sequential)

    ours, theirs = both(build)
    assert ours == theirs


def test_sequential_combinations_and_named_modules_as_torch():
    from collections import OrderedDict

    ours, theirs = both(lambda lib: lib.Sequential(lib.ReLU()) + lib.Sequential(lib.Tanh()))
    assert type(ours) is nn.Sequential
    assert entries(ours) == entries(theirs)
    ours, theirs = both(lambda lib: 2 * lib.Sequential(lib.ReLU(), lib.Tanh()))
    assert entries(ours) == entries(theirs)
    named = nn.Sequential(OrderedDict([("conv", nn.Linear(1, 1)), ("act", nn.ReLU())]))
    assert entries(named) == [("conv", "Linear"), ("act", "ReLU")]
    assert named.act is named[1]
    del named[0]  # PyTorch renumbers what is left
    assert entries(named) == [("0", "ReLU")]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.__add__([nn.ReLU()]), ValueError),
        (lambda s: s * 0, ValueError),
        (lambda s: s * "2", TypeError),
        (lambda s: s.insert(5, nn.ReLU()), IndexError),
        (lambda s: s.insert(0, 3), TypeError),
        (lambda s: s.__delitem__(4), IndexError),
    ],
)
def test_sequential_bad_edits_are_gradviz_errors(call, error):
    with pytest.raises(error) as caught:
        call(nn.Sequential(nn.ReLU()))
    assert isinstance(caught.value, GradvizError)


# ------------------------------------------------------------------------------ forward hooks


def array(value):
    return value.detach().numpy() if isinstance(value, torch.Tensor) else value.numpy()


def test_forward_hooks_read_and_replace_as_torch():
    def run(lib, tensor):
        layer = lib.Linear(2, 2)
        seen = []
        pre = layer.register_forward_pre_hook(lambda module, args: (args[0] * 0,))
        post = layer.register_forward_hook(lambda module, args, out: seen.append(out.shape))
        first = layer(tensor(np.ones((3, 2), np.float32)))
        pre.remove()
        pre.remove()  # a second remove does nothing
        replaced = layer.register_forward_hook(lambda module, args, out: out * 0 + 7)
        second = layer(tensor(np.ones((3, 2), np.float32)))
        post.remove()
        replaced.remove()
        third = layer(tensor(np.ones((3, 2), np.float32)))
        bias = array(layer.bias)
        return (
            np.allclose(array(first), bias),
            array(second).tolist(),
            len(seen),
            np.allclose(array(third), bias),
        )

    ours = run(nn, Variable)
    assert ours == run(tnn, torch.tensor)
    assert ours[1] == [[7.0, 7.0]] * 3


def test_forward_hooks_order_prepend_and_context_manager():
    layer = nn.Identity()
    calls = []
    layer.register_forward_hook(lambda m, a, o: calls.append("first"))
    with layer.register_forward_hook(lambda m, a, o: calls.append("prepended"), prepend=True):
        layer(Variable([1.0]))
    layer(Variable([1.0]))
    assert calls == ["prepended", "first", "first"]
    with pytest.raises(TypeError, match="must be callable"):
        layer.register_forward_hook(3)


def test_forward_hooks_grab_features_of_a_submodule_during_training():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    features = {}
    handle = model[1].register_forward_hook(lambda m, a, out: features.update(relu=out))
    model(Variable(np.ones((4, 2), np.float32))).sum().backward()
    handle.remove()
    assert features["relu"].shape == (4, 3)
    assert model[0].weight.grad is not None


# ------------------------------------------------------------------------------ streams, samplers


def counting(base):
    """A stream of 0..4 as an IterableDataset of ``base``'s library."""

    class Counting(base):
        def __iter__(self):
            return iter(range(5))

    return Counting()


@pytest.mark.parametrize(
    "kwargs", [{"batch_size": 2}, {"batch_size": 2, "drop_last": True}, {"batch_size": None}]
)
def test_iterable_dataset_batches_in_stream_order_as_torch(kwargs):
    ours = [
        np.asarray(b.numpy()).tolist()
        for b in data.DataLoader(counting(data.IterableDataset), **kwargs)
    ]
    theirs = [
        np.asarray(b).tolist()
        for b in torch.utils.data.DataLoader(counting(torch.utils.data.IterableDataset), **kwargs)
    ]
    assert ours == theirs


def test_iterable_dataset_refuses_shuffle_and_samplers_as_torch():
    for kwargs in [{"shuffle": True}, {"sampler": [0]}]:
        with pytest.raises(ValueError, match="IterableDataset: expected unspecified") as caught:
            data.DataLoader(counting(data.IterableDataset), **kwargs)
        assert isinstance(caught.value, GradvizError)
        with pytest.raises(ValueError, match="IterableDataset: expected unspecified"):
            torch.utils.data.DataLoader(counting(torch.utils.data.IterableDataset), **kwargs)


def test_samplers_as_torch():
    ds = data.TensorDataset(np.arange(5))
    assert list(data.SequentialSampler(ds)) == [0, 1, 2, 3, 4]
    assert sorted(data.RandomSampler(ds)) == [0, 1, 2, 3, 4]
    assert len(list(data.RandomSampler(ds, replacement=True, num_samples=8))) == 8
    assert sorted(data.SubsetRandomSampler([1, 3])) == [1, 3]
    batches = data.BatchSampler(data.SequentialSampler(ds), batch_size=2, drop_last=False)
    assert list(batches) == [[0, 1], [2, 3], [4]]
    assert len(batches) == 3
    loader = data.DataLoader(ds, batch_sampler=batches)
    assert [np.asarray(b.numpy()).tolist() for (b,) in loader] == [[0, 1], [2, 3], [4]]
    gradviz.manual_seed(3)
    first = list(data.DataLoader(ds, sampler=data.RandomSampler(ds), batch_size=5))
    gradviz.manual_seed(3)
    again = list(data.DataLoader(ds, sampler=data.RandomSampler(ds), batch_size=5))
    assert np.asarray(first[0][0].numpy()).tolist() == np.asarray(again[0][0].numpy()).tolist()
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        data.BatchSampler(ds, 0, False)


def test_concat_dataset_and_adding_datasets_as_torch():
    ds = data.TensorDataset(np.arange(3)) + data.TensorDataset(np.arange(10, 12))
    assert isinstance(ds, data.ConcatDataset)
    assert len(ds) == 5
    assert [int(ds[i][0]) for i in (0, 2, 3, -1)] == [0, 2, 10, 11]
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        ds[-6]
    assert len(list(data.DataLoader(ds, batch_size=2))) == 3


FRESH_PROCESS_COPY = """
import copy, numpy as np
from gradviz import Variable, nn
layer = nn.Linear(1, 1)
handle = layer.register_forward_hook(lambda m, a, out: out * 0)
twin = copy.deepcopy(layer)
handle.remove()  # the only hook of the original: the copy still has its own
print(float(twin(Variable(np.ones((1, 1), np.float32))).numpy().sum()))
"""


def test_a_copied_module_keeps_its_forward_hooks():
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS_COPY], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "0.0"


def test_forward_hooks_run_under_a_trace():
    layer = nn.Linear(1, 1)
    layer.register_forward_hook(lambda m, a, out: out * 0)
    with gradviz.trace() as tr:
        out = layer(Variable(np.ones((1, 1), np.float32)))
    assert float(out.numpy().sum()) == 0.0
    assert tr.graph.number_of_nodes() > 0


def test_a_tutorial_loader_with_worker_options_runs_in_process():
    seen = []
    loader = data.DataLoader(
        data.TensorDataset(np.arange(6)),
        batch_size=2,
        shuffle=True,
        num_workers=4,
        pin_memory=True,
        persistent_workers=True,
        prefetch_factor=2,
        worker_init_fn=seen.append,
        generator=np.random.default_rng(0),
    )
    rows = sorted(i for (b,) in loader for i in np.asarray(b.numpy()).tolist())
    assert rows == list(range(6))
    assert seen == [0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
        ({"prefetch_factor": 2}, "prefetch_factor option could only be specified"),
        ({"timeout": -1}, "timeout option should be non-negative"),
    ],
)
def test_worker_options_without_workers_are_refused_as_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.DataLoader(data.TensorDataset(np.arange(3)), **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(3)), **kwargs)


def test_loader_generator_makes_shuffling_reproducible():
    def epoch():
        loader = data.DataLoader(
            data.TensorDataset(np.arange(8)),
            batch_size=8,
            shuffle=True,
            generator=np.random.default_rng(5),
        )
        return np.asarray(next(iter(loader))[0].numpy()).tolist()

    assert epoch() == epoch()


def test_an_empty_parameter_and_an_identity_taking_any_arguments_as_torch():
    empty = nn.Parameter()
    assert empty.shape == tuple(tnn.Parameter().shape) == (0,)
    assert empty.dtype == np.float32
    assert empty.requires_grad
    x = Variable([1.0, 2.0])
    assert nn.Identity(54, unused_argument="x")(x) is x


def test_a_stream_has_no_length_but_still_loads():
    stream = counting(data.IterableDataset)
    loader = data.DataLoader(stream, batch_size=2)
    with pytest.raises(TypeError, match="has no len"):
        len(loader)
    with pytest.raises(TypeError, match="has no len"):
        len(torch.utils.data.DataLoader(counting(torch.utils.data.IterableDataset), batch_size=2))
    assert len(list(loader)) == 3
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        data.Dataset()[0]


def test_forward_hooks_with_kwargs_as_torch():
    def run(lib, tensor):
        class Scaled(lib.Module):
            def forward(self, x, scale=1.0):
                return x * scale

        module, seen = Scaled(), []
        module.register_forward_pre_hook(
            lambda m, args, kwargs: (args, {**kwargs, "scale": 3.0}), with_kwargs=True
        )
        module.register_forward_hook(
            lambda m, args, kwargs, out: seen.append(kwargs["scale"]), with_kwargs=True
        )
        out = module(tensor([1.0, 2.0]), scale=2.0)
        return array(out).tolist(), seen

    assert run(nn, Variable) == run(tnn, torch.tensor) == ([3.0, 6.0], [3.0])
    module = nn.Identity()
    module.register_forward_pre_hook(lambda m, a, k: "bad", with_kwargs=True)
    with pytest.raises(TypeError, match=r"tuple of \(new_args, new_kwargs\)"):
        module(Variable([1.0]))


def test_a_torch_generator_is_refused_with_what_to_pass_instead():
    ds = data.TensorDataset(np.arange(4))
    torch_generator = torch.Generator().manual_seed(42)
    calls = [
        lambda: data.random_split(ds, [0.5, 0.5], generator=torch_generator),
        lambda: data.DataLoader(ds, shuffle=True, generator=torch_generator),
        lambda: data.RandomSampler(ds, generator=torch_generator),
        lambda: data.SubsetRandomSampler([0, 1], generator=torch_generator),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"np\.random\.default_rng\(42\).*torch\.Generator"):
            call()


def test_an_always_called_forward_hook_runs_when_forward_raises_as_torch():
    torch = pytest.importorskip("torch")

    def run(lib):
        class Broken(lib.nn.Module):
            def forward(self, x):
                raise ValueError("broken forward")

        calls = []
        module = Broken()
        module.register_forward_hook(
            lambda m, a, out: calls.append(("always", out)), always_call=True
        )
        module.register_forward_hook(lambda m, a, out: calls.append(("usual", out)))

        def failing(m, a, out):
            raise KeyError("the hook's own")

        module.register_forward_hook(failing, always_call=True)
        with (
            pytest.warns(UserWarning, match="always_call=True"),
            pytest.raises(ValueError, match="broken forward"),
        ):
            module(lib.ones(2))
        return calls

    assert run(gradviz) == run(torch) == [("always", None)]
