"""Hostile input to slicing gradients (``x[...]``, ``split``/``chunk``: their rules give a
gradient added into the share the engine holds) and to views laid out side by side (the
layout workers): PyTorch's gradients and errors, nothing a user holds mutated, nothing hangs."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

import gradviz
from gradviz import Variable
from gradviz.autograd.function import Function
from gradviz.autograd.opcheck import check_call
from gradviz.autograd.ops.indexing import Split
from gradviz.autograd.ops.shape import Index
from gradviz.viz.draw import layout, output
from gradviz.viz.records.files import OutputError

SCRIPT = """
import numpy as np
import gradviz
from gradviz import nn
net = nn.Linear(6, 6)
x = gradviz.Variable(np.ones((3, 6), np.float32))
h = net(x)
a, b, c = h.split([2, 1, 3], dim=1)
y = (a * a).sum() + b.tanh().sum() + c[:, ::2].sum() + h[0, -1] + net.weight.split(4)[1].sum()
y.backward()
"""


# ----------------------------------------------------------------------- layout workers
def _graph():
    net = gradviz.nn.Linear(3, 2)
    with gradviz.trace() as tr:
        net(Variable(np.ones((2, 3), np.float32))).sum().backward()
    return tr.graph


def test_gradviz_check_of_a_script_ends_once_its_pictures_are_drawn(tmp_path):
    # the layout workers started while the script's pictures were drawn are not threads the
    # script left running: `gradviz check` does not wait for them (it waited forever)
    (tmp_path / "net.py").write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "gradviz", "check", "net.py", "--format", "svg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "gradient check" in done.stdout
    assert (tmp_path / "net.backward.svg").read_text().startswith("<?xml")


def _fail_for(fmt, error):
    def run(source, given, options=()):
        if given == fmt:
            raise error
        return layout.run_layout(source, given, options)

    return run


@pytest.mark.parametrize(
    "error",
    [layout.LayoutError("the layout program dot failed"), KeyboardInterrupt(), MemoryError()],
)
def test_a_view_that_cannot_be_laid_out_leaves_no_file_at_all(tmp_path, monkeypatch, error):
    monkeypatch.setattr(output, "run_layout", _fail_for("png", error))
    targets = [("forward", tmp_path / "f.svg"), ("backward", tmp_path / "b.png")]
    targets.append(("forward", tmp_path / "f.dot"))
    with pytest.raises(type(error)):
        output.write_views(_graph(), targets)
    assert list(tmp_path.iterdir()) == []  # no picture of the step half drawn, no temp file


def test_no_layout_program_is_the_same_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "find_layout_program", lambda: None)
    targets = [("forward", tmp_path / "f.dot"), ("backward", tmp_path / "b.svg")]
    with pytest.raises(layout.LayoutProgramNotFound, match="no layout program found"):
        output.write_views(_graph(), targets)
    assert list(tmp_path.iterdir()) == []
    written = output.write_views(_graph(), [("forward", tmp_path / "f.dot")])  # needs none
    assert written[0].program is None


def test_views_written_in_order_the_last_one_to_a_path_wins(tmp_path):
    same, graph = tmp_path / "same.svg", _graph()
    targets = [("forward", same), ("backward", tmp_path / "b.png"), ("backward", same)]
    written = output.write_views(graph, [*targets, ("forward", tmp_path / "f.dot")])
    assert [(r.view, r.format) for r in written] == [
        ("forward", "svg"), ("backward", "png"), ("backward", "svg"), ("forward", "dot"),
    ]  # fmt: skip
    assert (tmp_path / "b.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "f.dot").read_text().startswith("digraph")
    backward = output.write(graph, "backward", tmp_path / "only.svg")
    assert same.read_bytes() == backward.path.read_bytes()


def test_an_unwritable_folder_is_an_output_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="cannot create the folder"):
        output.write_views(_graph(), [("forward", tmp_path / "file" / "f.svg")])


def test_writes_from_several_threads_end_and_leave_only_their_files(tmp_path):
    graph, errors = _graph(), []

    def draw(i):
        try:
            for k in range(2):
                targets = [("forward", tmp_path / f"{i}.{k}.svg")]
                output.write_views(graph, [*targets, ("backward", tmp_path / f"{i}.{k}.png")])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(list(tmp_path.iterdir())) == 16
    assert not [t for t in threading.enumerate() if t.name.startswith("gradviz-layout")]


# ----------------------------------------------------------------------- slicing gradients
BASIC = {
    (5,): ["x[2]", "x[-1]", "x[1:4]", "x[::2]", "x[...]", "x[None]", "x[3:3]", "x[10:]",
           "x[None, 1:3]", "x[..., None]", "x[-5]", "x[np.int64(2)]"],
    (3, 4, 5): ["x[1]", "x[-1, 2]", "x[1, 2, 3]", "x[..., 1]", "x[1, ..., ::2]",
                "x[None, :, None, 1]", "x[:, 2:2]", "x[0][1][2]", "x[1:2, -1, 1::3]"],
    (): ["x[...]", "x[None]", "x[()]", "x[None, None]", "x[..., None]"],
    (1,): ["x[0]", "x[-1]", "x[:]", "x[0:0]", "x[..., 0]"],
}  # fmt: skip


def _grads(lib, a, make):
    x = lib.tensor(a, requires_grad=True)
    out = make(x * 1) + make(x) * 2  # a non-leaf and the leaf itself
    w = np.linspace(-1, 1, int(np.prod(out.shape))).reshape(tuple(out.shape)).astype(a.dtype)
    (out * lib.tensor(w)).sum().backward()
    return np.asarray(x.grad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("shape", "index"), [(s, i) for s, ix in BASIC.items() for i in ix])
def test_basic_indices_give_pytorchs_gradients(shape, index, dtype):
    a = np.arange(1, 1 + int(np.prod(shape)), dtype=dtype).reshape(shape)
    make = eval(f"lambda x: {index}")
    got, want = _grads(gradviz, a, make), _grads(torch, a, make)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("index", [np.s_[::-1], np.s_[4:1:-2], np.s_[1:, ::-2]])
def test_negative_steps_which_pytorch_refuses_give_the_scattered_gradient(index):
    a = np.arange(12.0).reshape(2, 6)
    x = Variable(a.copy(), requires_grad=True)
    out = (x * 1)[index]
    w = np.arange(int(np.prod(out.shape)), dtype=np.float64).reshape(out.shape)
    (out * Variable(w)).sum().backward()
    want = np.zeros_like(a)
    want[index] += w
    np.testing.assert_array_equal(x.grad, want)


def _fan_in(lib, a, leaf):
    x = a if leaf else a * 1
    p, q, r = x.split([2, 0, 4], dim=1)
    c = x.chunk(4, dim=0)  # 3 pieces of 1 row (PyTorch's chunk of 3 rows)
    y = (p * 2).sum() + (r * r).sum() + q.sum() + x[1:, ::2].sum() + (x * x).sum()
    return y + c[-1].exp().sum() + x[..., -1].sum() + x[None, 0].sum() + a.split(2)[1].sum()


@pytest.mark.parametrize("leaf", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pieces_and_slices_mixed_with_other_uses_as_in_pytorch(leaf, dtype):
    a = np.linspace(-1, 1, 18).reshape(3, 6).astype(dtype)
    grads = []
    for lib in (torch, gradviz):
        x = lib.tensor(a.copy(), requires_grad=True)
        y = _fan_in(lib, x, leaf)
        y.backward(retain_graph=True)
        y.backward()  # twice: the leaf's gradient doubles
        grads.append(np.asarray(x.grad))
    assert grads[1].dtype == grads[0].dtype
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


def test_traced_slicing_gradients_equal_untraced_ones():
    a = np.linspace(-1, 1, 18).reshape(3, 6)
    grads = []
    for traced in (False, True):
        x = Variable(a.copy(), requires_grad=True)
        if traced:
            with gradviz.trace():
                _fan_in(gradviz, x, False).backward()
        else:
            _fan_in(gradviz, x, False).backward()
        grads.append(x.grad)
    np.testing.assert_array_equal(grads[1], grads[0])


def test_retained_gradients_of_slices_and_pieces_as_in_pytorch():
    a = np.linspace(-1, 1, 18).reshape(3, 6)
    sums = []
    for lib in (torch, gradviz):
        x = lib.tensor(a.copy(), requires_grad=True) * 1
        x.retain_grad()
        p, q = x.split(3, 1)
        p.retain_grad()
        s = x[1]
        s.retain_grad()
        ((p * p).sum() + q.sum() + s.sum() * 2 + x.sum()).backward()
        sums.append([np.asarray(v.grad).tolist() for v in (x, p, s)])
    assert sums[1] == sums[0]


KEPT: list[np.ndarray] = []


class _Keep(Function):
    """Gives a gradient it keeps: the engine must not add into it."""

    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        out = np.full_like(grad, 5.0)
        KEPT.append(out)
        return out


@pytest.mark.parametrize("keep_first", [True, False])
@pytest.mark.parametrize("leaf", [True, False])
def test_a_gradient_a_function_keeps_is_not_added_into(keep_first, leaf):
    KEPT.clear()
    a = Variable(np.zeros((4, 3)), requires_grad=True)
    x = a if leaf else a * 1
    if keep_first:
        kept, (top, bottom) = _Keep.apply(x), x.split(2)
    else:
        (top, bottom), kept = x.split(2), _Keep.apply(x)
    (kept.sum() + top.sum() * 2 + bottom.sum() + x[1:3, 0].sum()).backward()
    assert (KEPT[0] == 5).all()
    assert not np.shares_memory(a.grad, KEPT[0])
    np.testing.assert_array_equal(a.grad[:, 1], [7, 7, 6, 6])
    np.testing.assert_array_equal(a.grad[:, 0], [7, 8, 7, 6])


@pytest.mark.parametrize("pieces", [lambda x: x.split(2), lambda x: x.chunk(2)])
@pytest.mark.parametrize("leaf", [True, False])
def test_writing_into_a_piece_of_split_raises_as_in_pytorch(pieces, leaf):
    # PyTorch: "Output 0 of Split is a view and is being modified inplace"; the write went
    # into the whole's memory unrecorded (its gradient wrong, or a parameter changed)
    a = Variable(np.arange(4.0), requires_grad=True)
    x = a if leaf else a * 1
    first, _ = pieces(x)
    with pytest.raises(gradviz.InplaceError, match="output of Split"):
        first.mul_(3)
    np.testing.assert_array_equal(a.numpy(), np.arange(4.0))


SAME_SHARE = {
    "h + h[...]": lambda h: h + h[...],
    "h[...] + h": lambda h: h[...] + h,
    "h.split(3)[0] + h": lambda h: h.split(3)[0] + h,
    "(h + h[None][0]) * h[:, :]": lambda h: (h + h[None][0]) * h[:, :],
}


@pytest.mark.parametrize("expr", SAME_SHARE)
def test_a_slice_whose_gradient_is_the_wholes_own_share(expr):
    # Add gives both inputs the same array: the slice's gradient must not be added into it
    a = np.linspace(-1, 1, 12).reshape(3, 4)
    grads = []
    for lib, traced in ((torch, False), (gradviz, False), (gradviz, True)):
        x = lib.tensor(a.copy(), requires_grad=True)
        with gradviz.trace() if traced else contextlib.nullcontext():
            y = SAME_SHARE[expr](x * 1)
            (y * y).sum().backward()
        grads.append(np.asarray(x.grad))
    np.testing.assert_allclose(grads[1], grads[0])
    np.testing.assert_array_equal(grads[2], grads[1])


@pytest.mark.parametrize(
    ("op", "args"),
    [
        (Index, [(slice(1, 3),)]),
        (Index, [(1, slice(None, None, -2))]),
        (Index, [(Ellipsis, None, 2)]),
        (Split, [1, 0, 2]),
        (Split, [0, 1, 4]),
    ],
)
def test_the_per_op_check_passes_split_and_index(op, args):
    x = np.linspace(-1, 1, 20).reshape(4, 5)
    result = check_call(op, [x, *args], [True] + [False] * len(args), np.random.default_rng(0))
    assert result.status == "passed"
