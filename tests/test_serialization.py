"""gradviz.save / gradviz.load: state dicts round-trip through an .npz with a JSON manifest;
no pickle, atomic writes, clear errors for files that are not ours."""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError, Parameter, SaveFormatError, Variable, nn


def model():
    net = nn.Sequential(nn.Linear(2, 3), nn.ModuleList([nn.Linear(3, 1)]))
    net.register_buffer("steps", Variable(np.array(4, np.int64)))
    return net


def optimizer_like_state():
    """The shape of PyTorch's Optimizer.state_dict(): int keys, tuples, None, bools, floats."""
    return {
        "state": {0: {"step": 3, "exp_avg": np.ones((2, 2), np.float32)}, 1: {}},
        "param_groups": [
            {
                "lr": 1e-3,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "amsgrad": False,
                "foreach": None,
                "params": [0, 1],
                "name": "main",
            }
        ],
    }


def test_module_state_dict_round_trip(tmp_path):
    source, target = model(), model()
    path = tmp_path / "model.pt"
    gradviz.save(source.state_dict(), path)
    loaded = gradviz.load(path)
    assert isinstance(loaded, OrderedDict)
    assert list(loaded) == list(source.state_dict())
    assert loaded["steps"].dtype == np.int64
    assert loaded["0.weight"].dtype == np.float32
    target.load_state_dict(loaded)
    x = Variable(np.ones((1, 2), np.float32))
    np.testing.assert_array_equal(
        target[1][0](target[0](x)).numpy(), source[1][0](source[0](x)).numpy()
    )
    assert target.steps.item() == 4


def test_nested_values_round_trip_exactly(tmp_path):
    obj = {
        "optimizer": optimizer_like_state(),
        "floats": [0.1, -0.0, math.inf, -math.inf, 1e308],
        "ints": [0, -7, 2**70, True],
        "text": 'ünïcode "quoted"',
        "none": None,
        "scalar": np.float32(2.5),
        "float64": np.float64(0.25),
        "empty": np.zeros((0, 3)),
        "strings": np.array(["a", "bc"]),
        7: "int key",
        1.5: "float key",
        None: "none key",
    }
    gradviz.save(obj, tmp_path / "x.npz")
    back = gradviz.load(tmp_path / "x.npz")
    assert type(back) is dict
    assert list(back) == list(obj)
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["optimizer"]["param_groups"][0]["foreach"] is None
    assert back["optimizer"]["param_groups"][0]["amsgrad"] is False
    assert list(back["optimizer"]["state"]) == [0, 1]
    np.testing.assert_array_equal(back["optimizer"]["state"][0]["exp_avg"], np.ones((2, 2)))
    assert back["floats"] == obj["floats"]
    assert math.copysign(1, back["floats"][1]) == -1
    assert back["ints"] == [0, -7, 2**70, True]
    assert type(back["ints"][3]) is bool
    assert back["text"] == obj["text"]
    assert back["scalar"] == np.float32(2.5)
    assert back["scalar"].dtype == np.float32
    assert type(back["float64"]) is np.float64
    assert back["empty"].shape == (0, 3)
    assert back["strings"].tolist() == ["a", "bc"]
    assert (back[7], back[1.5], back[None]) == ("int key", "float key", "none key")


def test_nan_round_trips(tmp_path):
    gradviz.save([math.nan], tmp_path / "n")
    assert math.isnan(gradviz.load(tmp_path / "n")[0])


def test_variables_and_parameters_round_trip(tmp_path):
    obj = {"p": Parameter(np.ones(2, np.float32)), "v": Variable(np.zeros(3))}
    gradviz.save(obj, tmp_path / "v")
    back = gradviz.load(tmp_path / "v")
    assert isinstance(back["p"], Parameter)
    assert back["p"].requires_grad
    assert type(back["v"]) is Variable
    assert not back["v"].requires_grad
    assert back["v"].dtype == np.float64


def test_the_file_is_an_npz_with_a_json_manifest(tmp_path):
    path = tmp_path / "model.npz"
    gradviz.save({"w": np.arange(3.0)}, path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["0", "manifest.json"]
        np.testing.assert_array_equal(archive["0"], np.arange(3.0))
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["format"] == "gradviz.save"
    assert manifest["version"] == 1
    assert manifest["root"]["type"] == "dict"
    assert manifest["root"]["items"][0][1] == {"type": "ndarray", "array": "0"}


def test_file_objects(tmp_path):
    buffer = io.BytesIO()
    gradviz.save({"a": np.ones(2)}, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(gradviz.load(buffer)["a"], np.ones(2))


def test_save_is_atomic_and_keeps_the_exact_name(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    gradviz.save({"a": 1}, path)
    os.chmod(path, 0o640)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", broken)
    with pytest.raises(OSError, match="disk full"):
        gradviz.save({"a": np.ones(2)}, path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]  # no temporary left
    assert gradviz.load(path) == {"a": 1}  # the old file is untouched
    gradviz.save({"a": 2}, path)
    assert gradviz.load(path) == {"a": 2}
    assert os.stat(path).st_mode & 0o777 == 0o640  # permissions kept


def test_unsupported_objects_are_refused_before_writing(tmp_path):
    path = tmp_path / "x"
    with pytest.raises(TypeError, match=r"cannot store set \(at obj\['a'\]\[1\]\)"):
        gradviz.save({"a": [1, {2}]}, path)
    with pytest.raises(TypeError, match="array of Python objects"):
        gradviz.save(np.array([1, "a", None], dtype=object), path)
    with pytest.raises(TypeError, match="keys of obj must be strings, numbers or None, got tuple"):
        gradviz.save({(1, 2): 3}, path)
    loop: list = []
    loop.append(loop)
    with pytest.raises(TypeError, match="contains itself"):
        gradviz.save(loop, path)
    with pytest.raises(TypeError, match="must be a path or a binary file, got int"):
        gradviz.save({}, 3)
    assert not path.exists()


def test_files_that_are_not_ours(tmp_path):
    text = tmp_path / "text"
    text.write_text("hello")
    with pytest.raises(SaveFormatError, match="not a zip archive"):
        gradviz.load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.ones(2))
    with pytest.raises(SaveFormatError, match=r"has no manifest\.json"):
        gradviz.load(plain)
    with pytest.raises(TypeError, match="must be a path or a binary file, got float"):
        gradviz.load(1.5)


def write_manifest(path, manifest, members=()):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, array in members:
            with zf.open(name, "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=True)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"format": "other", "version": 1, "root": {}}, "not gradviz.save's"),
        ({"format": "gradviz.save", "version": 99, "root": {}}, "format version 99"),
        ({"format": "gradviz.save", "version": 1, "root": {"type": "eval"}}, "unknown node"),
        ({"format": "gradviz.save", "version": 1, "root": {"type": "int", "value": "1"}}, "int"),
        (
            {"format": "gradviz.save", "version": 1, "root": {"type": "ndarray", "array": "5"}},
            "no member 5.npy",
        ),
        (
            {"format": "gradviz.save", "version": 1, "root": {"type": "dict", "items": [[1]]}},
            r"\[key, value\] pair",
        ),
    ],
)
def test_corrupt_manifests(tmp_path, manifest, message):
    path = tmp_path / "bad"
    write_manifest(path, manifest)
    with pytest.raises(SaveFormatError, match=message):
        gradviz.load(path)


def test_pickled_arrays_are_refused(tmp_path):
    """An object array in the archive would need pickle to load: refused, nothing runs."""
    path = tmp_path / "evil"
    manifest = {"format": "gradviz.save", "version": 1, "root": {"type": "ndarray", "array": "0"}}
    write_manifest(path, manifest, [("0.npy", np.array([{"x": 1}], dtype=object))])
    with pytest.raises(SaveFormatError, match=r"cannot read 0\.npy"):
        gradviz.load(path)
    assert issubclass(SaveFormatError, GradvizError)
    assert issubclass(SaveFormatError, RuntimeError)


def test_torch_state_dict_values_load_into_gradviz(tmp_path):
    """A torch model's weights, as NumPy arrays, saved and loaded into the same gradviz model."""
    torch = pytest.importorskip("torch")
    reference = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    gradviz.save({k: v.numpy() for k, v in reference.state_dict().items()}, tmp_path / "t")
    ours = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    ours.load_state_dict(gradviz.load(tmp_path / "t"))
    x = np.ones((1, 2), np.float32)
    np.testing.assert_allclose(
        ours(Variable(x)).numpy(), reference(torch.from_numpy(x)).detach().numpy(), rtol=1e-6
    )
