"""Saving, loading and state as a careless or hostile user meets them: damaged and foreign
files, file objects in the wrong mode, optimizer and scheduler state dicts that are not what
``state_dict()`` wrote, and checkpoints converted from PyTorch."""

from __future__ import annotations

import io
import json
import os
import pickle
import stat
import struct
import tempfile
import threading
import zipfile

import numpy as np
import pytest

import gradviz
from gradviz import SaveFormatError, nn
from gradviz.autograd.errors import ArgumentError, OperandError
from gradviz.autograd.serialization import SavePathError


def saved_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    gradviz.save(obj, buffer)
    return buffer.getvalue()


def round_trip(obj):
    return gradviz.load(io.BytesIO(saved_bytes(obj)))


def manifest(root) -> str:
    return json.dumps({"format": "gradviz.save", "version": 1, "root": root})


MANIFEST = manifest({"type": "ndarray", "array": "0"})


def archive(root, members=()) -> io.BytesIO:
    """A zip with a gradviz manifest of ``root`` and ``members`` (name, raw bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", manifest(root))
        for name, data in members:
            zf.writestr(name, data)
    buffer.seek(0)
    return buffer


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


# ------------------------------------------------------------------------- damaged archives
def test_every_damaged_byte_is_a_save_format_error():
    """Flip or drop any byte, or cut the file anywhere: the load succeeds or raises
    SaveFormatError, never zipfile's EOFError, NotImplementedError, OSError or its password
    RuntimeError."""
    raw = saved_bytes({"a": np.arange(5.0), "b": [1, "x"], "c": nn.Parameter(np.ones(2))})
    for offset in range(len(raw)):
        damaged = bytearray(raw)
        damaged[offset] ^= 0xFF
        for data in (bytes(damaged), raw[:offset], raw[:offset] + raw[offset + 1 :]):
            try:
                gradviz.load(io.BytesIO(data))
            except SaveFormatError:
                pass


def test_damaged_archive_messages_name_the_damage(tmp_path):
    def with_flags(flags: int) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("manifest.json", MANIFEST)
            zf.writestr(zipfile.ZipInfo("0.npy"), npy(np.ones(2)))
            zf.infolist()[1].flag_bits |= flags  # written again in the central directory
        return buffer.getvalue()

    path = tmp_path / "damaged.pt"
    path.write_bytes(with_flags(0x20))  # "compressed patched data": zipfile cannot read it
    with pytest.raises(SaveFormatError, match=r"is damaged \(NotImplementedError: compressed"):
        gradviz.load(path)
    path.write_bytes(with_flags(0x01))  # encrypted: zipfile would ask for a password
    with pytest.raises(SaveFormatError, match=r"member 0\.npy is encrypted"):
        gradviz.load(path)
    raw = saved_bytes({"a": np.arange(5.0)})
    damaged = bytearray(raw)
    damaged[26] += 1  # the manifest's local name length: its data now ends past its end
    path.write_bytes(damaged)
    with pytest.raises(SaveFormatError, match=r"is damaged \((EOFError|BadZipFile)"):
        gradviz.load(path)


def test_files_of_other_libraries_are_named_with_the_way_to_read_them(tmp_path):
    """The first thing a PyTorch user tries: ``gradviz.load`` on a ``torch.save`` file."""
    (tmp_path / "old.pt").write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(SaveFormatError, match=r"looks like a pickle, such as an old torch\.save"):
        gradviz.load(tmp_path / "old.pt")
    np.save(tmp_path / "a.npy", np.ones(2))
    with pytest.raises(SaveFormatError, match=r"NumPy \.npy file: read it with numpy\.load"):
        gradviz.load(tmp_path / "a.npy")
    np.savez(tmp_path / "b.npz", a=np.ones(2))
    with pytest.raises(SaveFormatError, match=r"no manifest\.json.*a NumPy \.npz"):
        gradviz.load(tmp_path / "b.npz")
    torch = pytest.importorskip("torch")
    torch.save({"a": torch.ones(2)}, tmp_path / "t.pt")
    with pytest.raises(SaveFormatError, match=r"a torch\.save file: read it with torch\.load"):
        gradviz.load(tmp_path / "t.pt")


def test_a_compressed_member_is_refused():
    """A deflated member of zeros 1000 times smaller than the array its header describes
    loaded (so a few MB could ask for GBs); gradviz.save stores members uncompressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", MANIFEST)
        zf.writestr("0.npy", npy(np.zeros(10**6)))
    assert len(buffer.getvalue()) < 10**5
    with pytest.raises(SaveFormatError, match=r"member manifest\.json is compressed"):
        gradviz.load(io.BytesIO(buffer.getvalue()))


def test_sizes_beyond_the_end_of_the_file_do_not_pass_the_size_check():
    """Central directory sizes patched to 4 GB: the header's 800 MB array passed the check
    (it compared with the declared size) and NumPy allocated it before finding the end."""
    raw = bytearray(saved_bytes(np.zeros(4)))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**8,)}
    )
    start = raw.index(b"\x93NUMPY")
    raw[start : start + len(header.getvalue())] = header.getvalue()  # same length: shape padded
    entry = raw.rindex(b"PK\x01\x02")  # the central directory entry of 0.npy (the last member)
    struct.pack_into("<II", raw, entry + 20, 0xFFFFFFF0, 0xFFFFFFF0)
    with pytest.raises(SaveFormatError, match=r"800,000,000 bytes\), but it holds \d{2,3} bytes"):
        gradviz.load(io.BytesIO(bytes(raw)))


# ------------------------------------------------------------------------- hostile manifests
def test_a_float_node_too_big_for_a_float_is_refused():
    root = {"type": "float", "value": int("9" * 400)}
    with pytest.raises(SaveFormatError, match=r"float value 9+ is out of range"):
        gradviz.load(archive(root))


def test_a_malformed_npy_header_is_a_save_format_error():
    """numpy's tokenizer raises TokenError (not a ValueError) on a header cut inside a string."""
    header = b"{'descr': '<f8"
    data = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
    with pytest.raises(SaveFormatError, match=r"cannot read 0\.npy"):
        gradviz.load(archive({"type": "ndarray", "array": "0"}, [("0.npy", data)]))


def test_variable_nodes_that_cannot_be_variables_are_corrupt_manifests():
    root = {"type": "variable", "array": "0", "requires_grad": True, "parameter": True}
    members = [("0.npy", npy(np.arange(3)))]
    with pytest.raises(SaveFormatError, match=r"at root: only floating point .* int64"):
        gradviz.load(archive(root, members))
    with pytest.raises(SaveFormatError, match=r"a scalar node needs a 0-d array, got shape \(3,\)"):
        gradviz.load(archive({"type": "scalar", "array": "0"}, members))


def test_a_manifest_naming_one_array_many_times_is_refused():
    """Each reference read the member again: a small file naming a big array a million times
    asked for a million copies. gradviz.save writes every array once."""
    node = {"type": "ndarray", "array": "0"}
    root = {"type": "list", "items": [node] * 1000}
    with pytest.raises(SaveFormatError, match=r"at root\[1\]: array 0 is named a second time"):
        gradviz.load(archive(root, [("0.npy", npy(np.ones(4)))]))
    shared = np.ones(3)
    loaded = round_trip([shared, shared, {"again": shared}])  # saved twice, loads as two
    assert loaded[0] is not loaded[1]
    np.testing.assert_array_equal(loaded[2]["again"], shared)


# ------------------------------------------------------------------------- what save writes
def test_strings_with_lone_surrogates_round_trip():
    """``os.listdir`` gives such names for undecodable bytes; pickle (torch.save) keeps them."""
    obj = {"name\udcff": "caf\u00e9 \ud800", "emoji": "\U0001f600"}
    assert round_trip(obj) == obj


def test_numpy_number_keys_are_saved_as_numbers():
    """Keys from ``np.unique(labels)``: "the keys of obj must be strings, numbers or None, got
    int64" (torch.save takes them). They load as Python numbers, equal and with equal hash."""
    counts = {label: 10 for label in np.unique(np.array([3, 1, 3]))}
    counts[np.float32(0.5)] = 1
    counts[np.uint8(7)] = 2
    loaded = round_trip(counts)
    assert loaded == {1: 10, 3: 10, 0.5: 1, 7: 2}
    assert [type(k) for k in loaded] == [int, int, float, int]


def test_saving_a_whole_model_or_optimizer_says_to_save_its_state_dict(tmp_path):
    """``torch.save(model, path)`` pickles the object; gradviz stores state dicts only."""
    model = nn.Linear(2, 1)
    with pytest.raises(TypeError, match=r"cannot store Linear \(at obj\).*obj\.state_dict\(\)"):
        gradviz.save(model, tmp_path / "model.pt")
    opt = gradviz.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"at obj\['opt'\].*save obj\['opt'\]\.state_dict\(\)"):
        gradviz.save({"opt": opt}, tmp_path / "model.pt")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- paths and files
def test_file_objects_in_the_wrong_mode_are_refused_clearly(tmp_path):
    path = tmp_path / "model.pt"
    gradviz.save({"a": 1}, path)
    with (
        open(tmp_path / "text", "w") as text,
        pytest.raises(OperandError, match=r"open\(path, 'wb'\)"),
    ):
        gradviz.save({"a": 1}, text)  # was zipfile's TypeError "write() argument must be str"
    with open(path) as text, pytest.raises(OperandError, match=r"text file .*'rb'"):
        gradviz.load(text)  # was "not a zip archive"
    with pytest.raises(OperandError, match="text file"):
        gradviz.load(io.StringIO("{}"))
    with open(path, "rb") as readonly, pytest.raises(OperandError, match="not writable"):
        gradviz.save({"a": 1}, readonly)
    handle = open(path, "rb")
    handle.close()
    with pytest.raises(ArgumentError, match="closed"):  # a ValueError, as torch.load's
        gradviz.load(handle)
    assert gradviz.load(path) == {"a": 1}


def test_an_empty_path_is_named_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SavePathError, match="cannot write '': the path is empty"):
        gradviz.save({"a": 1}, "")  # was "cannot write '.': it is a folder"


def test_a_folder_that_takes_no_file_is_a_save_path_error(tmp_path, monkeypatch):
    """A read-only folder: the error names the path given, not a temporary file's name."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(SavePathError, match=r"cannot write '.*ckpt\.pt': Permission denied"):
        gradviz.save({"a": 1}, tmp_path / "ckpt.pt")
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_file_is_not_replaced(tmp_path, monkeypatch):
    """``chmod 444 best.pt`` protects a checkpoint from torch.save (it cannot open it); the
    rename of an atomic write went around that. (Root may write anything: access is faked.)"""
    path = tmp_path / "best.pt"
    gradviz.save({"epoch": 1}, path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK and real_access(p, mode))
    with pytest.raises(SavePathError, match=r"cannot write '.*best\.pt': it is read-only"):
        gradviz.save({"epoch": 2}, path)
    monkeypatch.undo()
    assert gradviz.load(path) == {"epoch": 1}


def test_a_pipe_is_written_into_not_replaced(tmp_path):
    """``gradviz.save(obj, "/dev/null")`` renamed a regular file over the device (as root, it
    replaced /dev/null); a named pipe shows the same without touching /dev."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so the writer does not wait
    try:
        gradviz.save({"a": np.arange(3.0)}, fifo)
        data = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert gradviz.load(io.BytesIO(data))["a"].tolist() == [0.0, 1.0, 2.0]
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_load_reads_a_stream_that_cannot_seek():
    """A pipe (``cat ckpt | python train.py``): zipfile needs to seek, so the archive was
    called "not a zip archive" (torch.load raises ``Illegal seek``)."""
    read_end, write_end = os.pipe()
    os.write(write_end, saved_bytes({"a": np.arange(3.0)}))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        assert not stream.seekable()
        assert gradviz.load(stream)["a"].tolist() == [0.0, 1.0, 2.0]


def test_load_reads_a_named_pipe_given_by_its_path(tmp_path):
    """``gradviz.load("/dev/stdin")`` or a named pipe: called "not a zip archive"."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = saved_bytes({"a": [1, 2]})

    def write() -> None:
        with open(fifo, "wb") as pipe:  # blocks until the reader opens the other end
            pipe.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert gradviz.load(fifo) == {"a": [1, 2]}
    finally:
        writer.join()


# ------------------------------------------------------------------------- optimizer state
SHAPES = [(3, 2), (3,)]


def parameters(torch=None):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=shape).astype(np.float32) for shape in SHAPES]
    if torch is None:
        return [nn.Parameter(a) for a in arrays]
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def train(params, opt, steps, seed, torch=None):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for p in params:
            grad = rng.normal(size=tuple(p.shape)).astype(np.float32)
            p.grad = grad if torch is None else torch.from_numpy(grad)
        opt.step()


def as_numpy(state_dict):
    """A PyTorch optimizer state dict as a user converts it: every tensor ``.numpy()``
    (``step`` too, a one-element float32 tensor in PyTorch)."""
    return {
        "state": {
            i: {k: v.numpy().copy() if hasattr(v, "numpy") else v for k, v in s.items()}
            for i, s in state_dict["state"].items()
        },
        "param_groups": [dict(g) for g in state_dict["param_groups"]],
    }


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("Adam", {}),
        ("Adam", {"amsgrad": True}),
        ("AdamW", {}),
        ("RMSprop", {"momentum": 0.5, "centered": True}),
        ("Adagrad", {"lr_decay": 0.1}),
    ],
)
def test_a_converted_pytorch_checkpoint_resumes_as_pytorch_goes_on(name, kwargs):
    """Was: Adam's step raised ``TypeError: unhashable type: 'numpy.ndarray'``, and amsgrad
    counted ``step`` on in float32 (bias corrections rounded)."""
    torch = pytest.importorskip("torch")
    theirs = parameters(torch)
    reference = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)
    train(theirs, reference, 5, seed=1, torch=torch)
    checkpoint = round_trip(
        {
            "model": [p.detach().numpy().copy() for p in theirs],
            "optim": as_numpy(reference.state_dict()),
        }
    )
    train(theirs, reference, 5, seed=2, torch=torch)
    ours = [nn.Parameter(a) for a in checkpoint["model"]]
    mine = getattr(gradviz.optim, name)(ours, **kwargs)
    mine.load_state_dict(checkpoint["optim"])
    assert all(type(s["step"]) is int for s in mine.state_dict()["state"].values())
    train(ours, mine, 5, seed=2)
    for p, q in zip(ours, theirs, strict=True):  # to rounding: NumPy's and PyTorch's float32
        # kernels may round a last bit differently (seen with RMSprop on one CPU, not another)
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-7)


def test_pytorch_adamw_state_makes_adam_decouple_as_in_pytorch():
    """PyTorch's Adam follows a loaded group's ``decoupled_weight_decay``; gradviz's Adam
    applied L2 decay to an AdamW checkpoint."""
    torch = pytest.importorskip("torch")
    theirs = parameters(torch)
    saved = torch.optim.AdamW(theirs, lr=0.1, weight_decay=0.5).state_dict()
    reference = torch.optim.Adam(theirs, foreach=False)
    reference.load_state_dict(saved)
    ours = parameters()
    mine = gradviz.optim.Adam(ours)
    mine.load_state_dict(as_numpy(saved))
    train(theirs, reference, 3, seed=1, torch=torch)
    train(ours, mine, 3, seed=1)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-6)


def test_optimizer_state_is_found_by_the_parameter_as_in_pytorch():
    """``optimizer.state[p]["exp_avg"]`` (custom optimizers, moment inspection) raised KeyError;
    the state is still there after a save, a load and a model load_state_dict."""
    torch = pytest.importorskip("torch")
    model = nn.Linear(2, 1)
    theirs = [torch.tensor(p.numpy().copy(), requires_grad=True) for p in model.parameters()]
    mine = gradviz.optim.Adam(model.parameters(), lr=0.1)
    reference = torch.optim.Adam(theirs, lr=0.1, foreach=False)
    train(list(model.parameters()), mine, 2, seed=0)
    train(theirs, reference, 2, seed=0, torch=torch)
    for p, q in zip(model.parameters(), theirs, strict=True):
        assert p in mine.state
        np.testing.assert_allclose(mine.state[p]["exp_avg"], reference.state[q]["exp_avg"])
    mine.load_state_dict(round_trip(mine.state_dict()))
    model.load_state_dict(round_trip(model.state_dict()))
    assert mine.state.get(model.weight)["step"] == 2
    assert nn.Parameter(np.ones(1)) not in mine.state


def test_another_optimizers_state_is_refused_at_load():
    """Was a bare ``KeyError: 'momentum'`` at the next step()."""
    params = parameters()
    adam = gradviz.optim.Adam(params)
    train(params, adam, 1, seed=0)
    sgd = gradviz.optim.SGD(params, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"no 'momentum', 'dampening', 'nesterov'.*another opt"):
        sgd.load_state_dict(adam.state_dict())
    assert sgd.param_groups[0]["momentum"] == 0.9


def stepped_adam():
    params = parameters()
    adam = gradviz.optim.Adam(params, amsgrad=True)
    train(params, adam, 2, seed=0)
    return adam


@pytest.mark.parametrize(
    ("damage", "error", "message"),
    [
        (lambda sd: sd["state"][0].pop("max_exp_avg_sq"), ValueError, r"has no 'max_exp_avg_sq'"),
        (lambda sd: sd["state"].update({"0": sd["state"].pop(0)}), ValueError, r"parameter '0'"),
        (lambda sd: sd["state"][1].update(step="3"), ValueError, "must be a number, got str"),
        (lambda sd: sd["state"][1].update(step=np.ones(2)), ValueError, "must be a number"),
        (lambda sd: sd["state"].update({1: 5}), TypeError, "must be a dict, got int"),
        (lambda sd: sd.update(state=[1]), TypeError, "'state' must map parameter numbers"),
        (lambda sd: sd["param_groups"][0].update(params=2), TypeError, "must be a list"),
        (lambda sd: sd["param_groups"][0].pop("lr"), ValueError, "has no 'lr'"),
        (lambda sd: sd["state"][1].update(exp_avg=np.ones(2)), ValueError, r"shape \(2,\)"),
    ],
)
def test_damaged_optimizer_state_is_refused_and_changes_nothing(damage, error, message):
    """Each was a KeyError, TypeError or AttributeError at load or at the next step, or state
    dropped in silence (a string key); a refused load now leaves the optimizer as it was."""
    adam = stepped_adam()
    before = adam.state_dict()
    saved = round_trip(before)
    damage(saved)
    with pytest.raises(error, match=message) as caught:
        adam.load_state_dict(saved)
    assert isinstance(caught.value, gradviz.GradvizError)
    after = adam.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for index, state in before["state"].items():
        assert after["state"][index]["exp_avg"].numpy() is state["exp_avg"].numpy()  # the same


# ------------------------------------------------------------------------- lr schedulers
lr_scheduler = gradviz.optim.lr_scheduler


class Warmup:
    """A callable object: LambdaLR saves its ``__dict__`` (a plain function is not saved)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.steps)


def sgd():
    return gradviz.optim.SGD(parameters(), lr=0.1, momentum=0.9)


@pytest.mark.parametrize(
    "make",
    [
        lambda opt: lr_scheduler.StepLR(opt, 2),
        lambda opt: lr_scheduler.LambdaLR(opt, Warmup(3)),
        lambda opt: lr_scheduler.ReduceLROnPlateau(opt),
    ],
    ids=["StepLR", "LambdaLR", "ReduceLROnPlateau"],
)
def test_what_is_not_a_scheduler_state_dict_is_refused(make):
    """``None`` was a bare TypeError; the optimizer's state dict was taken in silence (its
    'state' and 'param_groups' became attributes of the scheduler)."""
    opt = sgd()
    scheduler = make(opt)
    with pytest.raises(TypeError, match="expected a state dict, got NoneType"):
        scheduler.load_state_dict(None)
    with pytest.raises(KeyError, match=r"no 'last_epoch'.*optimizer\.load_state_dict"):
        scheduler.load_state_dict(opt.state_dict())
    assert not hasattr(scheduler, "param_groups")


def test_lambda_lr_refuses_another_schedulers_state_and_a_wrong_count():
    """Was ``KeyError: 'lr_lambdas'`` and ``ValueError: zip() argument 2 is longer``."""
    opt = sgd()
    scheduler = lr_scheduler.LambdaLR(opt, Warmup(3))
    with pytest.raises(KeyError, match=r"no 'lr_lambdas', which LambdaLR\.state_dict\(\) holds"):
        scheduler.load_state_dict(lr_scheduler.StepLR(sgd(), 2).state_dict())
    saved = scheduler.state_dict()
    saved["lr_lambdas"] = [None, {"steps": 9}]
    with pytest.raises(ValueError, match="has 2 lr_lambdas, this scheduler 1"):
        scheduler.load_state_dict(saved)
    assert scheduler.lr_lambdas[0].steps == 3


@pytest.mark.parametrize(
    "make",
    [lambda opt: lr_scheduler.StepLR(opt, 2), lambda opt: lr_scheduler.ReduceLROnPlateau(opt)],
    ids=["StepLR", "ReduceLROnPlateau"],
)
def test_a_scheduler_state_for_other_param_groups_is_refused(make):
    """Was ``ValueError: zip() argument 2 is shorter than argument 1`` at the next step (or a
    min_lrs check much later)."""
    one_group = make(sgd())
    two = parameters()
    two_groups = gradviz.optim.SGD([{"params": two[:1]}, {"params": two[1:]}], lr=0.1)
    scheduler = make(two_groups)
    with pytest.raises(ValueError, match=r"has 1 values, .* has 2 param groups"):
        scheduler.load_state_dict(one_group.state_dict())


def test_resuming_without_the_optimizers_state_is_a_gradviz_error():
    with pytest.raises(KeyError, match="'initial_lr' is not specified") as caught:
        lr_scheduler.CosineAnnealingLR(sgd(), T_max=10, last_epoch=4)
    assert isinstance(caught.value, gradviz.GradvizError)


def test_one_cycle_resumes_only_from_an_optimizer_state_saved_while_it_ran():
    """Was a bare ``KeyError: 'max_lr'`` from inside get_lr (PyTorch's too)."""
    opt = sgd()
    opt.param_groups[0]["initial_lr"] = 0.1  # as a state saved under another scheduler
    with pytest.raises(KeyError, match=r"param 'max_lr' is not specified in param_groups\[0\]"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, last_epoch=3)
    running = sgd()
    scheduler = lr_scheduler.OneCycleLR(running, max_lr=1.0, total_steps=10)
    for _ in range(3):
        running.step()
        scheduler.step()
    opt.load_state_dict(round_trip(running.state_dict()))
    resumed = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, last_epoch=3)
    assert resumed.last_epoch == 4
    assert opt.param_groups[0]["max_lr"] == 1.0


def test_multistep_lr_steps_to_an_epoch_after_a_save_and_load():
    """Its milestones (a Counter) come back from gradviz.load as a dict: ``step(epoch)`` raised
    ``AttributeError: 'dict' object has no attribute 'elements'``."""
    opt = sgd()
    scheduler = lr_scheduler.MultiStepLR(opt, [2, 4, 4])
    scheduler.load_state_dict(round_trip(scheduler.state_dict()))
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        scheduler.step(5)
    assert scheduler.get_last_lr() == pytest.approx([0.1 * 0.1**3])


def test_reduce_lr_on_plateau_names_a_metric_that_is_not_a_number():
    scheduler = lr_scheduler.ReduceLROnPlateau(sgd())
    with pytest.raises(TypeError, match=r"metrics must be a number .* got str 'loss'"):
        scheduler.step("loss")
    with pytest.raises(TypeError, match="got NoneType"):
        scheduler.step(None)


# ------------------------------------------------------------------------- module state
def test_a_checkpoint_without_num_batches_tracked_loads_as_in_pytorch():
    """Older checkpoints (and other frameworks' weights) have no num_batches_tracked; PyTorch's
    BatchNorm keeps its own value instead of calling it missing."""
    source = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    source[1].running_mean.numpy()[...] = 3.0
    checkpoint = {
        k: v for k, v in round_trip(source.state_dict()).items() if "num_batches" not in k
    }
    target = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    target[1].num_batches_tracked.numpy()[...] = 7
    result = target.load_state_dict(checkpoint)
    assert result.missing_keys == []
    assert result.unexpected_keys == []
    assert target[1].num_batches_tracked.item() == 7
    np.testing.assert_array_equal(target[1].running_mean.numpy(), [3.0, 3.0])
    torch = pytest.importorskip("torch")
    reference = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    converted = {k: torch.from_numpy(np.asarray(v)) for k, v in checkpoint.items()}
    assert reference.load_state_dict(converted) == (result.missing_keys, result.unexpected_keys)


def test_keys_that_are_not_strings_are_unexpected():
    """An optimizer's state (``{0: ...}``) passed to a model: PyTorch fails with
    ``AttributeError: 'int' object has no attribute 'startswith'``; gradviz ignored the keys."""
    model = nn.Linear(2, 1)
    checkpoint = {**model.state_dict(), 0: {"step": 1}}
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "0"'):
        model.load_state_dict(checkpoint)
    assert model.load_state_dict(checkpoint, strict=False).unexpected_keys == [0]


@pytest.mark.parametrize(
    ("value", "assign", "message"),
    [
        (np.array([["1", "2"]]), False, "expected numbers from checkpoint but received dtype <U1"),
        (np.array([[1.0, None]], dtype=object), False, "received dtype object"),
        (np.ones((1, 2), np.int64), True, "assign=True needs a floating point array"),
    ],
)
def test_a_bad_entry_is_refused_before_any_is_copied(value, assign, message):
    """Was: the bias copied, then the weight failing in copy_ (ShapeError "could not convert
    string to float", an object array's None loaded as nan, or the int weight failing in the
    Parameter made by assign=True): half a checkpoint loaded."""
    model = nn.Linear(2, 1)
    bias = model.bias.numpy().copy()
    checkpoint = {"bias": np.full(1, 9.0, np.float32), "weight": value}
    with pytest.raises(RuntimeError, match=message):
        model.load_state_dict(checkpoint, assign=assign)
    np.testing.assert_array_equal(model.bias.numpy(), bias)


def test_checkpoint_values_that_copy_would_refuse_are_read_first():
    """A masked array (copy_ refused it after other entries were copied) loads its data; a
    torch tensor that requires grad is a StateDictError naming it, not torch's RuntimeError
    from inside ``load_state_dict``."""
    model = nn.Linear(2, 1)
    masked = np.ma.masked_array([[1.0, 2.0]], mask=[[0, 1]])
    model.load_state_dict({"weight": masked, "bias": np.zeros(1)})
    np.testing.assert_array_equal(model.weight.numpy(), [[1.0, 2.0]])
    assert type(model.weight.numpy()) is np.ndarray
    torch = pytest.importorskip("torch")
    weight = torch.ones(1, 2, requires_grad=True)
    with pytest.raises(
        gradviz.GradvizError, match=r'"weight", expected .* received Tensor \(.*detach'
    ):
        model.load_state_dict({"weight": weight, "bias": np.zeros(1)})
    weight = torch.ones(1, 2, dtype=torch.bfloat16)  # NumPy has no bfloat16: the reason is told
    with pytest.raises(gradviz.GradvizError, match="unsupported ScalarType BFloat16"):
        model.load_state_dict({"weight": weight, "bias": np.zeros(1)})


def test_a_whole_checkpoint_or_a_prefixed_state_dict_gets_a_hint():
    """Two usual reasons nothing matched: the checkpoint dict itself was passed, or the keys
    carry DataParallel's ``module.`` prefix; the message says which."""
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    checkpoint = round_trip({"model": model.state_dict(), "epoch": 3})
    with pytest.raises(
        RuntimeError, match=r"'model' holds the entries; pass state_dict\['model'\]"
    ):
        model.load_state_dict(checkpoint)
    prefixed = {"module." + k: v for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError, match=r"the keys start with 'module\.'; remove that prefix"):
        model.load_state_dict(prefixed)
    model.load_state_dict(checkpoint["model"])
