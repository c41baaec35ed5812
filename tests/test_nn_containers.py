"""nn.ModuleList, nn.ModuleDict and the Module API around them: buffers, state dicts with
PyTorch's keys and order, missing/unexpected keys, apply, requires_grad_, train/eval, repr."""

from __future__ import annotations

import pytest

from gradviz import GradvizError, Variable, nn


def torch_nn():
    torch = pytest.importorskip("torch")
    return torch.nn


def blocks(lib, model):
    model.blocks = lib.ModuleList([lib.Linear(2, 3), lib.Linear(3, 3)])
    model.heads = lib.ModuleDict({"a": lib.Linear(3, 1), "b": lib.Tanh()})
    return model


class Blocks(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        blocks(nn, self)


def names(pairs):
    return [name for name, _ in pairs]


# ---------------------------------------------------------------------------- ModuleList


def test_module_list_registers_children_by_position():
    model = Blocks()
    assert names(model.named_parameters()) == [
        "blocks.0.weight",
        "blocks.0.bias",
        "blocks.1.weight",
        "blocks.1.bias",
        "heads.a.weight",
        "heads.a.bias",
    ]


def test_module_list_same_parameter_names_as_torch():
    tnn = torch_nn()

    ours, theirs = Blocks(), blocks(tnn, tnn.Module())
    assert names(ours.named_parameters()) == names(theirs.named_parameters())
    assert names(ours.named_modules()) == names(theirs.named_modules())


def test_module_list_indexing_slicing_and_editing():
    relu, tanh, lin = nn.ReLU(), nn.Tanh(), nn.Linear(1, 1)
    ml = nn.ModuleList([relu, tanh])
    assert len(ml) == 2
    assert ml[0] is relu
    assert ml[-1] is tanh
    assert list(ml) == [relu, tanh]
    part = ml[1:]
    assert isinstance(part, nn.ModuleList)
    assert list(part) == [tanh]
    assert names(part.named_children()) == ["0"]  # renumbered, as PyTorch
    assert ml.append(lin) is ml
    assert ml[2] is lin
    ml.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "ReLU", "Tanh", "Linear"]
    assert names(ml.named_parameters()) == ["3.weight", "3.bias"]
    del ml[0]
    assert names(ml.named_children()) == ["0", "1", "2"]
    assert ml[0] is relu
    ml += [nn.ReLU()]
    assert len(ml) == 4
    assert ml.extend([nn.Tanh()]) is ml
    assert len(ml) == 5
    assert ml.pop(-1).__class__ is nn.Tanh
    assert len(ml) == 4
    ml[0] = tanh
    assert ml[0] is tanh
    assert len(ml + nn.ModuleList([relu])) == 5
    del ml[1:3]
    assert len(ml) == 2
    assert not hasattr(ml, "2")


def test_module_list_bad_arguments():
    ml = nn.ModuleList([nn.ReLU()])
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ml[5]
    with pytest.raises(IndexError, match="index -2 is out of range"):
        ml[-2]
    with pytest.raises(TypeError, match="should be called with an iterable, but got int"):
        ml.extend(3)
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        ml.append(3)
    with pytest.raises(TypeError, match="integers or slices, not str"):
        ml["a"]
    with pytest.raises(GradvizError):
        nn.ModuleList([nn.ReLU(), "relu"])


def test_module_list_has_no_forward():
    with pytest.raises(NotImplementedError, match=r'ModuleList.*missing the required "forward"'):
        nn.ModuleList()(Variable([1.0]))


# ---------------------------------------------------------------------------- ModuleDict


def test_module_dict_api():
    relu, tanh = nn.ReLU(), nn.Tanh()
    md = nn.ModuleDict({"act": relu})
    md["out"] = tanh
    assert len(md) == 2
    assert md["act"] is relu
    assert "out" in md
    assert "x" not in md
    assert list(md) == md.keys() == ["act", "out"]
    assert md.values() == [relu, tanh]
    assert md.items() == [("act", relu), ("out", tanh)]
    md.update([("lin", nn.Linear(1, 1))])
    md.update(nn.ModuleDict({"act": tanh}))  # replaces in place, keeps the order
    assert md.keys() == ["act", "out", "lin"]
    assert md["act"] is tanh
    assert names(md.named_parameters()) == ["lin.weight", "lin.bias"]
    assert md.pop("out") is tanh
    assert "out" not in md
    del md["lin"]
    assert list(md.parameters()) == []
    md.clear()
    assert len(md) == 0
    assert repr(md) == "ModuleDict()"


def test_module_dict_bad_arguments():
    with pytest.raises(TypeError, match="iterable of key/value pairs, but got int"):
        nn.ModuleDict(3)
    with pytest.raises(TypeError, match="element #0 should be Iterable; is int"):
        nn.ModuleDict([1])
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        nn.ModuleDict([("a", nn.ReLU(), 3)])
    with pytest.raises(KeyError, match="attribute 'keys' already exists"):
        nn.ModuleDict({"keys": nn.ReLU()})
    with pytest.raises(KeyError):
        nn.ModuleDict()["missing"]


# ---------------------------------------------------------------------------------- repr


def nested(lib):
    return lib.Sequential(
        lib.Linear(2, 3),
        lib.ModuleList([lib.ReLU()]),
        lib.ModuleList([lib.Tanh(), lib.Tanh(), lib.Linear(3, 3), lib.Tanh()]),
        lib.ModuleDict({"act": lib.ReLU(), "drop": lib.LeakyReLU(0.25)}),
        lib.ModuleList(),
        lib.ModuleList([lib.Sequential(lib.Linear(2, 2), lib.ReLU()) for _ in range(3)]),
        lib.ModuleDict({"inner": lib.ModuleList([lib.ModuleDict({"x": lib.Tanh()})])}),
    )


def test_repr_same_text_as_torch():
    assert repr(nested(nn)) == repr(nested(torch_nn()))


def test_repr_folds_repeated_modules():
    assert repr(nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Linear(1, 2)])) == (
        "ModuleList(\n"
        "  (0-1): 2 x ReLU()\n"
        "  (2): Linear(in_features=1, out_features=2, bias=True)\n"
        ")"
    )


def shared(lib):
    """A module used three times (twice in a ModuleList's parent) and a tied weight."""
    layer = lib.Linear(2, 2)
    model = lib.Sequential(layer, lib.ReLU(), layer, lib.ModuleList([layer, lib.Linear(2, 1)]))
    model[3][1].weight = layer.weight
    return model


@pytest.mark.parametrize(
    "listing",
    [
        lambda m: m.named_modules(),
        lambda m: m.named_modules(remove_duplicate=False),
        lambda m: m.named_modules(prefix="root"),
        lambda m: m.named_parameters(),
        lambda m: m.named_parameters(remove_duplicate=False),
        lambda m: m.named_parameters(prefix="p", recurse=False),
        lambda m: m.named_children(),
        lambda m: m.state_dict().items(),
    ],
)
def test_shared_modules_listed_as_torch(listing):
    assert names(listing(shared(nn))) == names(listing(shared(torch_nn())))
