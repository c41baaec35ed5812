"""Hostile input to the Python API of the newer features: trace files and timelines edited by
hand, ``gradviz.save``/``gradviz.load`` of crafted files, layer arguments PyTorch refuses. Each
ends in the right result or a GradvizError that says what is wrong."""

from __future__ import annotations

import functools
import io
import json
import zipfile

import numpy as np
import pytest

import gradviz
from gradviz import nn, optim
from gradviz.autograd.serialization import SaveFormatError, SavePathError
from gradviz.nn import functional as F
from gradviz.viz.records.io import TraceFormatError
from gradviz.viz.records.timeline import FIELDS, Timeline, TimelineKeyError


def _timeline() -> Timeline:
    net = nn.Linear(2, 1)
    x = gradviz.Variable(np.ones((3, 2), np.float32))
    with gradviz.trace(detail="summary") as tr:
        for _ in range(3):
            net(x).sum().backward()
    return tr.timeline


# --------------------------------------------------------------------------- timeline
def test_series_names_an_unknown_column_or_node():
    timeline = _timeline()
    with pytest.raises(TimelineKeyError, match="no column 'bogus'; the columns are value_min"):
        timeline.series("param:weight", "bogus")
    with pytest.raises(TimelineKeyError, match="no column 'step'"):
        timeline.series("param:weight", "step")  # a column of rows, not of FIELDS
    with pytest.raises(KeyError, match="no node 'nope'"):
        timeline.series("nope", "grad_norm")
    assert timeline.series("param:weight", "grad_norm").shape == (3,)


def _keys(data):
    return data["keys"]


EDITS = {
    "op is an object": lambda d: d["nodes"][_keys(d)[0]].update(op={"a": 1}),
    "shape holds inf": lambda d: d["nodes"][_keys(d)[0]].update(shape=[float("inf")]),
    "shape holds -1": lambda d: d["nodes"][_keys(d)[0]].update(shape=[-1]),
    "node meta is a list": lambda d: d["nodes"].update({_keys(d)[0]: [1]}),
    "steps out of order": lambda d: d.update(steps=[2, 1, 3]),
    "steps repeated": lambda d: d.update(steps=[1, 1, 3]),
    "a step is text": lambda d: d.update(steps=["1", 2, 3]),
    "a step is inf": lambda d: d.update(steps=[1, 2, float("inf")]),
    "a key twice": lambda d: d.update(keys=[_keys(d)[0], *_keys(d)]),
    "a key is a number": lambda d: d.update(keys=[5, *_keys(d)[1:]]),
    "a count is inf": lambda d: d["columns"]["grad_nan"].__setitem__(-1, float("inf")),
    "a count is negative": lambda d: d["columns"]["value_inf"].__setitem__(0, -1),
    "a row's node is 1.5": lambda d: d["columns"]["node"].__setitem__(0, 1.5),
    "a row's step is huge": lambda d: d["columns"]["step"].__setitem__(0, 2**70),
    "changed_steps holds text": lambda d: d.update(changed_steps=["x"]),
    "columns is a list": lambda d: d.update(columns=[]),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_hand_edited_timeline_is_refused_by_load_trace(tmp_path, edit):
    net = nn.Linear(2, 1)
    x = gradviz.Variable(np.ones((3, 2), np.float32))
    with gradviz.trace(detail="summary") as tr:
        for _ in range(3):
            net(x).sum().backward()
    path = tmp_path / "run.trace.json"
    tr.save(path)
    data = json.loads(path.read_text())
    edit(data["timeline"])
    path.write_text(json.dumps(data))
    with pytest.raises(TraceFormatError, match="timeline: not a timeline"):
        gradviz.load_trace(path)


def test_a_saved_timeline_reads_back_the_same():
    timeline = _timeline()
    again = Timeline.from_dict(json.loads(json.dumps(timeline.to_dict())))
    assert again.steps == timeline.steps
    assert again.keys == timeline.keys
    for name in FIELDS:
        np.testing.assert_array_equal(again.rows_array()[name], timeline.rows_array()[name])


# --------------------------------------------------------------------------- save / load
def _archive(path, manifest, members=()) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in members:
            zf.writestr(name, data)


@pytest.mark.parametrize("version", [0, -3])
def test_load_refuses_a_format_version_below_1(tmp_path, version):
    _archive(tmp_path / "old.npz", {"format": "gradviz.save", "version": version, "root": {}})
    with pytest.raises(SaveFormatError, match=f"unknown format version {version}"):
        gradviz.load(tmp_path / "old.npz")


def test_load_refuses_a_header_larger_than_its_data_before_allocating(tmp_path):
    header = io.BytesIO()  # a 128-byte member whose header promises 8 TB
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    manifest = {"format": "gradviz.save", "version": 1, "root": {"type": "ndarray", "array": "0"}}
    _archive(tmp_path / "bomb.npz", manifest, [("0.npy", header.getvalue())])
    with pytest.raises(SaveFormatError, match=r"0\.npy is corrupt: .* \(8,000,000,000,000 bytes\)"):
        gradviz.load(tmp_path / "bomb.npz")


def test_load_still_reads_empty_scalar_and_large_arrays():
    state = {"e": np.zeros((0, 5)), "s": np.float32(3), "w": np.arange(50_000.0)}
    buffer = io.BytesIO()
    gradviz.save(state, buffer)
    buffer.seek(0)
    loaded = gradviz.load(buffer)
    assert loaded["e"].shape == (0, 5)
    assert loaded["s"] == np.float32(3)
    np.testing.assert_array_equal(loaded["w"], state["w"])


def test_save_to_a_folder_or_into_a_missing_one_says_so_and_leaves_nothing(tmp_path):
    with pytest.raises(SavePathError, match="it is a folder"):
        gradviz.save({"a": 1}, tmp_path)
    with pytest.raises(SavePathError, match=r"parent directory .* does not exist"):
        gradviz.save({"a": 1}, tmp_path / "missing" / "x.pt")
    assert list(tmp_path.iterdir()) == []
    assert isinstance(SavePathError("x"), RuntimeError)  # as torch.save raises


# --------------------------------------------------------------------------- layers
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: nn.BatchNorm1d(-1), "BatchNorm1d: num_features must be >= 0, got -1"),
        (lambda: nn.BatchNorm2d(2.5), "BatchNorm2d: num_features must be an integer"),
        (lambda: nn.LayerNorm(-2), "LayerNorm: normalized_shape must be >= 0, got -2"),
        (lambda: nn.Conv2d(-1, 2, 3), "Conv2d: in_channels must be >= 0, got -1"),
        (lambda: nn.Conv1d(2, -2, 3), "Conv1d: out_channels must be >= 0, got -2"),
    ],
)
def test_negative_or_fractional_layer_sizes_are_clear_errors(make, message):
    with pytest.raises(gradviz.GradvizError, match=message):
        make()


def test_a_conv_with_no_input_channels_builds_as_in_pytorch():
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        layer = nn.Conv2d(0, 2, 3)
    out = layer(gradviz.Variable(np.zeros((1, 0, 4, 4), np.float32)))
    assert out.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(out.numpy(), 0)  # bias in ±1/sqrt(0): zero


def test_multihead_attention_checks_key_and_value_shapes():
    attn = nn.MultiheadAttention(8, 2)
    q = gradviz.randn(3, 1, 8)
    with pytest.raises(gradviz.GradvizError, match=r"key shape \(4, 1, 8\) does not match value"):
        attn(q, gradviz.randn(4, 1, 8), gradviz.randn(5, 1, 8))
    with pytest.raises(gradviz.GradvizError, match=r"batch size of key and value \(2\)"):
        attn(q, gradviz.randn(4, 2, 8), gradviz.randn(4, 2, 8))  # was broadcast silently
    with pytest.raises(gradviz.GradvizError, match="ending in embed_dim 8"):
        attn(q, gradviz.randn(4, 1, 6), gradviz.randn(4, 1, 6))
    with pytest.raises(
        gradviz.GradvizError, match=r"2 dims .* like the query \(3, 8\), got \(4, 1, 8\)"
    ):
        attn(gradviz.randn(3, 8), gradviz.randn(4, 1, 8), gradviz.randn(4, 1, 8))
    with pytest.raises(gradviz.GradvizError, match=r"expected query of shape"):
        attn(gradviz.randn(3, 1, 6), gradviz.randn(3, 1, 6), gradviz.randn(3, 1, 6))
    out, _ = nn.MultiheadAttention(8, 2, batch_first=True)(
        gradviz.randn(2, 3, 8), gradviz.randn(2, 5, 8), gradviz.randn(2, 5, 8)
    )
    assert out.shape == (2, 3, 8)


def test_pad_amounts_must_be_integers():
    with pytest.raises(TypeError, match=r"argument 'pad' must be a tuple of ints, got \(1\.5, 1\)"):
        F.pad(gradviz.randn(2, 3), (1.5, 1))  # was truncated to 1
    assert F.pad(gradviz.randn(2, 3), (np.int64(1), 1)).shape == (2, 5)
    with pytest.raises(TypeError, match="argument 'value' must be a number, not str"):
        F.pad(gradviz.randn(2, 3), (1, 1), value="a")  # was a ShapeError from the op
    assert F.pad(gradviz.Variable(np.zeros((1, 1), np.float32)), (1, 0), value=2).numpy()[0, 0] == 2


@pytest.mark.parametrize(("field", "number"), [("norm", -5.0), ("norm", float("nan")), ("std", -1)])
def test_a_trace_with_an_impossible_norm_is_refused(tmp_path, field, number):
    net = nn.Linear(2, 1)
    with gradviz.trace() as tr:
        net(gradviz.Variable(np.ones((3, 2), np.float32))).sum().backward()
    path = tmp_path / "step.trace.json"
    tr.save(path)
    data = json.loads(path.read_text())
    node = next(n for n in data["passes"][0]["graph"]["nodes"] if n["grad"] is not None)
    node["grad"][field] = number  # drawing took log10 of it: a traceback
    path.write_text(json.dumps(data))
    with pytest.raises(TraceFormatError, match=rf"grad\.{field} must be >= 0"):
        gradviz.load_trace(path)


@pytest.mark.parametrize("names", [("x",), ("a", "b", "c"), "ab", ("a", 1)])
def test_diff_names_must_be_two_strings(names):
    with gradviz.trace() as tr:
        nn.Linear(2, 1)(gradviz.Variable(np.ones((3, 2), np.float32))).sum().backward()
    with pytest.raises(gradviz.GradvizError, match="names must be two strings"):
        gradviz.diff(tr, tr, names=names)  # was: a ValueError when the report was printed
    assert str(gradviz.diff(tr, tr, names=["one", "two"])).startswith("one vs two: ")


def test_cross_entropy_with_float_class_indices_says_what_pytorch_says():
    with pytest.raises(RuntimeError, match="expected target dtype to be Long"):
        F.cross_entropy(gradviz.randn(2, 3), np.array([0.0, 1.0]))  # was: a Mul broadcast error
    probabilities = np.full((2, 3), 1 / 3, np.float32)
    loss = F.cross_entropy(gradviz.Variable(np.zeros((2, 3), np.float32)), probabilities)
    assert loss.item() == pytest.approx(np.log(3))


@pytest.mark.parametrize("size", [-1, 1.5, "x", True])
def test_trace_max_array_size_must_be_a_count(size):
    with pytest.raises(gradviz.GradvizError, match="max_array_size must be an integer >= 0"):
        gradviz.trace(arrays=True, max_array_size=size)  # -1 saved a file load_trace refused


def test_trace_max_array_size_round_trips(tmp_path):
    with gradviz.trace(arrays=True, max_array_size=np.int64(0)) as tr:
        nn.Linear(2, 1)(gradviz.randn(3, 2)).sum().backward()
    tr.save(tmp_path / "t.json")
    assert gradviz.load_trace(tmp_path / "t.json").max_array_size == 0


@pytest.mark.parametrize("top", ["3", None, 2.5, -1, True])
def test_diff_report_format_top_must_be_a_count(top):
    w = nn.Parameter(np.ones((1, 2), np.float32))
    with gradviz.trace() as tr:
        for scale in (1.0, 2.0):
            (gradviz.Variable(np.full((3, 2), scale, np.float32)) @ w.T).sum().backward()
    report = gradviz.diff(tr.get_pass(1).graph, tr.get_pass(2).graph)
    with pytest.raises(gradviz.GradvizError, match="top must be an integer >= 0"):
        report.format(top=top)  # was: a TypeError from comparing with 0, or a slice
    assert len(report.format(top=1).splitlines()) == 4  # the head, a title, the table's 2 rows


@pytest.mark.parametrize("depth", [-1, "x", 1.5, True])
@pytest.mark.parametrize("what", ["backward", "html", "timeline", "show"])
def test_a_bad_depth_is_a_render_error_everywhere(tmp_path, what, depth):
    with gradviz.trace(detail="summary") as tr:
        for _ in range(2):
            nn.Linear(2, 1)(gradviz.randn(3, 2)).sum().backward()
    path = tmp_path / ("out.svg" if what == "backward" else "out.html")
    if what == "show":  # was: a TypeError comparing 'x' with an int
        call = functools.partial(tr.show, depth=depth)
    else:  # the timeline page: ValueError '-1 is not in list'
        call = functools.partial(tr.render, what, path, depth=depth)
    with pytest.raises(gradviz.GradvizError, match="depth must be an integer >= 0"):
        call()
    assert list(tmp_path.iterdir()) == []
    tr.render("html", tmp_path / "ok.html", depth=np.int64(1))


def test_a_long_timeline_repr_stays_one_short_line():
    net = nn.Linear(2, 1)
    with gradviz.trace(detail="summary") as tr:
        for _ in range(300):
            net(gradviz.randn(3, 2)).sum().backward()
    text = repr(tr.timeline)  # was 9 KB of steps, losses and rows for these 300 steps
    assert text == "Timeline(steps=300 (1..300), nodes=5, rows=1500, changed_steps=[])"


def _saved_run(tmp_path):
    net = nn.Linear(2, 1)
    with gradviz.trace(detail="summary", keep_full=2) as tr:
        for _ in range(4):
            net(gradviz.randn(3, 2)).sum().backward()
    path = tmp_path / "run.trace.json"
    tr.save(path)
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(("index", "message"), [(4, "index is repeated"), (0, "call number")])
def test_a_trace_whose_passes_repeat_or_start_at_0_is_refused(tmp_path, index, message):
    path, data = _saved_run(tmp_path)
    data["passes"][0]["index"] = index  # get_pass(3) then failed, get_pass(4) found either
    path.write_text(json.dumps(data))
    with pytest.raises(TraceFormatError, match=message):
        gradviz.load_trace(path)


def test_a_timeline_of_no_node_is_diagnosed(tmp_path):
    path, data = _saved_run(tmp_path)
    timeline = data["timeline"]
    timeline.update(keys=[], nodes={}, columns={k: [] for k in timeline["columns"]})
    path.write_text(json.dumps(data))
    trace = gradviz.load_trace(path)
    trace.render("timeline", tmp_path / "run.timeline.html")  # was: a NumPy casting error
    assert (tmp_path / "run.timeline.html").is_file()


@pytest.mark.parametrize("path", ["/dev/zero", "."])
def test_loading_a_trace_from_a_device_or_a_folder_is_refused_without_reading(path):
    from gradviz.viz.records.io import TraceFormatError

    with pytest.raises(TraceFormatError, match="not a regular file"):
        gradviz.load_trace(path)


# --------------------------------------------------------------------------- second round
@pytest.mark.parametrize("every", [True, 1.0, np.bool_(True)])
def test_trace_every_must_be_an_integer_as_steps_must(every):
    # every=True or 1.0 compared equal to 1 and recorded every step, where steps=True is refused
    # (a NumPy integer is an integer: test_hostile_many_steps.py)
    with pytest.raises(gradviz.GradvizError, match="every must be a positive integer, got"):
        gradviz.trace(every=every)


@pytest.mark.parametrize(
    ("mask", "shape", "expected"),
    [
        ("attn_mask", (2, 3, 5), r"\(3, 5\) or \(4, 3, 5\)"),  # NumPy's reshape error before
        ("attn_mask", (5,), r"\(3, 5\) or \(4, 3, 5\)"),
        ("key_padding_mask", (5,), r"\(2, 5\)"),  # NumPy's IndexError before
        ("key_padding_mask", (5, 2), r"\(2, 5\)"),
    ],
)
def test_multihead_attention_checks_mask_shapes(mask, shape, expected):
    attention = nn.MultiheadAttention(8, 2, batch_first=True)
    query, key = gradviz.randn(2, 3, 8), gradviz.randn(2, 5, 8)
    with pytest.raises(gradviz.GradvizError, match=f"expected {mask} of shape {expected}.*got"):
        attention(query, key, key, **{mask: np.zeros(shape, bool)})
    good = (4, 3, 5) if mask == "attn_mask" else (2, 5)
    assert attention(query, key, key, **{mask: np.zeros(good, bool)})[0].shape == (2, 3, 8)


def test_save_of_a_too_deeply_nested_object_is_a_clear_error_and_writes_nothing(tmp_path):
    deep: list = []
    inner = deep
    for _ in range(5000):
        inner.append([])
        inner = inner[0]
    with pytest.raises(gradviz.GradvizError, match="nests too deeply to save"):
        gradviz.save(deep, tmp_path / "deep.pt")  # was: RecursionError
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: gradviz.randn(-1), r"randn\(\): sizes must be non-negative, got \(-1,\)"),
        (lambda: gradviz.zeros(2, -3), r"zeros\(\): sizes must be non-negative"),
        (lambda: gradviz.ones((-1,)), r"ones\(\): sizes must be non-negative"),
        (lambda: gradviz.rand("3"), r"rand\(\): size must be a tuple of integers"),
        (lambda: gradviz.randn(1.5), r"randn\(\): size must be a tuple of integers"),
        (lambda: gradviz.full((2, -1), 0.0), r"full\(\): sizes must be non-negative"),
    ],
)
def test_constructors_check_their_size_as_pytorch_does(make, message):
    with pytest.raises(gradviz.GradvizError, match=message):  # was NumPy's ValueError/TypeError
        make()
    assert gradviz.zeros(np.int64(2), 0).shape == (2, 0)


def test_batch_norm_refuses_an_eps_that_divides_by_zero_as_pytorch_does():
    ones = gradviz.ones(3, 2)
    with pytest.raises(ValueError, match=r"eps must be positive during training, but got 0\.0"):
        nn.BatchNorm1d(2, eps=0.0)(ones)  # was: NaN everywhere and NumPy's RuntimeWarnings
    with pytest.raises(gradviz.GradvizError, match="batch_norm: eps must be non-negative"):
        F.batch_norm(ones, gradviz.zeros(2), gradviz.ones(2), eps=-1e-5)
    evaluated = F.batch_norm(ones, gradviz.zeros(2), gradviz.ones(2), eps=0.0)
    np.testing.assert_array_equal(evaluated.numpy(), np.ones((3, 2)))  # eval allows eps=0


def test_tensor_of_a_list_of_one_element_variables_reads_them_as_numbers():
    losses = [gradviz.tensor(0.5), gradviz.tensor([1.5])]  # torch.tensor(losses) works
    np.testing.assert_array_equal(gradviz.tensor(losses).numpy(), np.float32([0.5, 1.5]))
    assert gradviz.tensor([gradviz.tensor(1), 2]).dtype == np.int64
    with pytest.raises(gradviz.GradvizError, match="only one element Variables can be conv"):
        gradviz.tensor([gradviz.ones(2), gradviz.ones(2)])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda opt: optim.lr_scheduler.StepLR(opt, step_size=0), "StepLR: step_size must"),
        (lambda opt: optim.lr_scheduler.CosineAnnealingLR(opt, T_max=0), "T_max must not be 0"),
    ],
)
def test_a_scheduler_period_of_0_is_refused_when_made(make, message):
    opt = optim.SGD([nn.Parameter(np.ones(2, np.float32))], lr=0.1)
    with pytest.raises(ValueError, match=message):  # was: ZeroDivisionError at the first step
        make(opt)


def test_a_batch_of_items_of_unequal_shapes_is_a_clear_error():
    from gradviz.data import DataLoader

    sequences = [(np.ones(2, np.float32), 0), (np.ones(3, np.float32), 1)]  # unpadded lengths
    with pytest.raises(gradviz.ShapeError, match=r"field 0 to be equal size, but got \(2,\) at"):
        next(iter(DataLoader(sequences, batch_size=2)))  # was NumPy's ValueError
    with pytest.raises(gradviz.ShapeError, match="same number of fields, got 2 at entry 0 and 3"):
        next(iter(DataLoader([(1.0, 2.0), (1.0, 2.0, 3.0)], batch_size=2)))  # was zip()'s
    x, y = next(iter(DataLoader(sequences, batch_size=1)))
    assert x.shape == (1, 2)
    assert y.shape == (1,)


def test_a_tensor_dataset_of_a_scalar_says_it_has_no_rows():
    from gradviz.data import TensorDataset

    with pytest.raises(gradviz.ShapeError, match=r"needs a first dim of rows, got \(3,\), \(\)"):
        TensorDataset(gradviz.ones(3), gradviz.tensor(1.0))  # was: len() of unsized object


@pytest.mark.parametrize(
    ("shape", "error", "message"),
    [
        ((-2, 3), gradviz.ShapeError, r"invalid shape dimension -2 at index 0 of shape \(-2, 3\)"),
        ((3, -3), gradviz.ShapeError, "invalid shape dimension -3 at index 1"),
        ((2.0, 3), gradviz.OperandError, r"shape must be integers, got \(2.0, 3\)"),
    ],
)
def test_reshape_refuses_negative_sizes_other_than_minus_1(shape, error, message):
    x = gradviz.randn(2, 3)
    with pytest.raises(error, match=message):  # -2 was read as -1 by NumPy: silently reshaped
        x.reshape(*shape)
    assert x.reshape(np.int64(3), -1).shape == (3, 2)


@pytest.mark.parametrize(
    ("reduce", "message"),
    [
        (lambda x: x.argmax(), r"argmax\(\): Expected reduction dim to be specified for input"),
        (lambda x: x.argmin(0), r"argmin\(\): Expected reduction dim 0 to have non-zero size"),
        (lambda x: x.max(0), r"max\(\): Expected reduction dim 0 to have non-zero size"),
        (lambda x: x.min(dim=-2), r"min\(\): Expected reduction dim 0 to have non-zero size"),
    ],
)
def test_arg_and_dim_reductions_over_nothing_say_what_pytorch_says(reduce, message):
    empty = gradviz.zeros(0, 2)
    with pytest.raises(IndexError, match=message):  # was NumPy's ValueError
        reduce(empty)
    assert empty.max(1).values.shape == (0,)  # over a dim that has elements: an empty result


@pytest.mark.parametrize(
    ("compute", "message"),
    [
        (lambda m: m - m, "with two bool tensors is not supported"),  # was NumPy's TypeError
        (lambda m: 1 - m, "with a bool tensor is not supported"),  # was int arithmetic
        (lambda m: m - 1, "with a bool tensor is not supported"),
        (lambda m: -m, "Negation, the `-` operator, on a bool tensor is not supported"),
    ],
)
def test_subtracting_or_negating_a_mask_is_refused_as_in_pytorch(compute, message):
    mask = gradviz.tensor([True, False])
    with pytest.raises(RuntimeError, match=message):
        compute(mask)
    np.testing.assert_array_equal(mask == 0, [False, True])  # what the message suggests


@pytest.mark.parametrize(
    ("index", "error", "message"),
    [
        (3, IndexError, "index 3 is out of range"),  # was the list's "list index out of range"
        (-4, IndexError, "index -4 is out of range"),
        ("0", TypeError, "Sequential indices must be integers or slices, not str"),
    ],
)
def test_sequential_indexing_says_what_pytorch_says(index, error, message):
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(error, match=message):
        model[index]
    with pytest.raises(error, match=message):
        model[index] = nn.ReLU()
    assert isinstance(model[np.int64(-1)], nn.Linear)


def test_series_of_a_list_of_keys_names_what_it_got():
    with pytest.raises(TimelineKeyError, match=r"no node \['param:weight'\] in the timeline"):
        _timeline().series(["param:weight"], "grad_norm")  # was TypeError: unhashable type


@pytest.mark.parametrize(
    ("grad", "error", "message"),
    [
        (lambda: [1.0, 2.0, 3.0], gradviz.OperandError, "a list as .grad; expected a Variable"),
        (lambda: gradviz.ones(2), gradviz.ShapeError, r"a gradient of shape \(2,\) for"),
        (lambda: np.ones(2, np.float32), gradviz.ShapeError, r"a gradient of shape \(2,\) for"),
    ],
)
def test_a_hand_assigned_grad_that_is_no_array_of_the_shape_is_refused_when_assigned(
    grad, error, message
):
    # p.grad = tensor is how PyTorch code sets a gradient (PyTorch refuses a wrong one there);
    # here it failed inside NumPy ("does not support ufuncs") or was broadcast into the update
    weight = nn.Parameter(np.ones(3, np.float32))
    with pytest.raises(error, match=f"cannot assign {message}"):
        weight.grad = grad()
    assert weight.grad is None
    weight.grad = np.full(3, 0.5, np.float32)  # the parameter's shape: taken
    weight.grad = None


def test_a_grad_the_parameter_outgrew_is_named_by_step_and_clipping():
    weight = nn.Parameter(np.ones(3, np.float32))
    weight.grad = np.ones(3, np.float32)
    weight.data = np.ones(4, np.float32)  # the data replaced after the gradient was set
    message = r"has a gradient of shape \(3,\) for shape \(4,\)"
    with pytest.raises(gradviz.ShapeError, match=f"SGD.step\\(\\): parameter 0 {message}"):
        optim.SGD([weight], lr=0.1).step()
    for clip in (nn.utils.clip_grad_norm_, nn.utils.clip_grad_value_):
        with pytest.raises(
            gradviz.ShapeError, match=f"{clip.__name__}: parameters\\[0\\] {message}"
        ):
            clip([weight], 1.0)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((0, 5.5, (3,)), gradviz.OperandError, "high must be an integer, got 5.5"),  # was taken
        ((0.0, 5, (3,)), gradviz.OperandError, "low must be an integer, got 0.0"),
        ((0, 2**70, (1,)), gradviz.InputError, "is outside the int64 range"),  # NumPy's error
    ],
)
def test_randint_bounds_must_be_int64_integers_as_in_pytorch(args, error, message):
    with pytest.raises(error, match=message):
        gradviz.randint(*args)
    assert gradviz.randint(np.int64(2), 3, (4,)).numpy().tolist() == [2, 2, 2, 2]


def test_flatten_takes_pytorchs_end_dim():
    x = gradviz.randn(2, 3, 4, 5)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)  # was TypeError: takes 1 to 2 arguments
    assert nn.Flatten()(x).shape == (2, 60)
    with pytest.raises(gradviz.GradvizError, match="flatten"):
        nn.Flatten(2, 1)(x)  # PyTorch: start_dim cannot come after end_dim


def test_loading_a_model_state_dict_into_an_optimizer_says_what_it_got():
    net = nn.Linear(2, 1)
    opt = optim.Adam(net.parameters())
    with pytest.raises(KeyError, match=r"has no 'state'; .* this one holds 'weight', 'bias'"):
        opt.load_state_dict(net.state_dict())  # was the bare KeyError: 'param_groups'
    with pytest.raises(gradviz.GradvizError, match=r"param_groups\[0\] has no 'params'"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1}]})
    with pytest.raises(gradviz.GradvizError, match=r"param_groups\[0\] has no 'params'"):
        opt.load_state_dict({"state": {}, "param_groups": 5})
    opt.load_state_dict(opt.state_dict())


@pytest.mark.parametrize(
    ("make", "message"),
    [  # argparse without type=float hands strings; the range checks failed on "0.1" >= 0
        (lambda p: optim.Adam(p, lr="0.001"), "Adam: lr must be a number, got str '0.001'"),
        (lambda p: optim.SGD(p, lr=0.1, momentum="0.9"), "SGD: momentum must be a number"),
        (lambda p: optim.RMSprop(p, alpha=None), "RMSprop: alpha must be a number, got NoneType"),
        (
            lambda p: nn.Dropout("0.1"),
            "dropout probability has to be between 0 and 1, but got '0.1'",
        ),
        (lambda p: nn.Dropout([0.5]), r"but got \[0.5\]"),
    ],
)
def test_a_setting_given_as_text_is_named_not_compared(make, message):
    with pytest.raises(gradviz.GradvizError, match=message):
        make([nn.Parameter(np.ones(2, np.float32))])


@pytest.mark.parametrize(
    ("values", "many"), [([0.3, 0.7], "more than one value"), (np.zeros(0), "no values")]
)
def test_the_truth_of_a_variable_of_many_values_is_pytorchs_runtime_error(values, many):
    losses = gradviz.Variable(np.asarray(values, np.float32))
    with pytest.raises(RuntimeError, match=f"Boolean value of Variable with {many} is ambig"):
        bool(losses)  # `if losses:` on a batch; was NumPy's ValueError
    assert bool(gradviz.tensor([2.0]))
