"""Hostile input, continued (tests/test_hostile_api.py grew past its size): what a trace keeps
of unusual models reads back; each case ends in the right result or a GradvizError."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradviz
from gradviz.viz.records.io import TraceFormatError


@pytest.mark.parametrize("shape", [(2, 1, 2, 1, 2), (1,) * 12])
def test_a_trace_keeping_arrays_of_many_dims_reads_back(tmp_path, shape):
    with gradviz.trace(arrays=True) as tr:
        x = gradviz.Variable(np.ones(shape), requires_grad=True)
        (x * 2).sum().backward()
    tr.save(tmp_path / "t.json")
    loaded = gradviz.load_trace(tmp_path / "t.json")  # was: "nested deeper than ... (10 levels)"
    grads = [a for _, a in loaded.graph.nodes(data="grad_array") if a is not None]
    assert np.asarray(grads[0]).shape == shape


def test_deep_nesting_outside_arrays_is_still_refused(tmp_path):
    with gradviz.trace() as tr:
        (gradviz.Variable(np.ones(2), requires_grad=True) * 2).sum().backward()
    path = tmp_path / "t.json"
    tr.save(path)
    data = json.loads(path.read_text())
    nested: list = []
    for _ in range(40):
        nested = [nested]
    data["events"].insert(0, nested)  # 40 levels are fine for an array, not for an event
    path.write_text(json.dumps(data))
    with pytest.raises(TraceFormatError, match="nested deeper than a gradviz trace"):
        gradviz.load_trace(path)


@pytest.mark.parametrize("size", [1.5, "a", (1, 2, 3)])
def test_adaptive_pool_output_size_must_be_an_int_or_a_pair(size):
    from gradviz.nn import functional as F

    x = gradviz.randn(1, 1, 4, 4)
    with pytest.raises(gradviz.GradvizError, match="output_size must be an int or a pair"):
        F.adaptive_avg_pool2d(x, size)  # was zip()'s ValueError or "float is not iterable"
    assert F.adaptive_avg_pool2d(x, np.int64(2)).shape == (1, 1, 2, 2)  # was a TypeError too


@pytest.mark.parametrize("classes", [1.5, float("nan"), True, "3"])
def test_one_hot_num_classes_must_be_an_int_as_in_pytorch(classes):
    from gradviz.nn import functional as F

    with pytest.raises(TypeError, match="one_hot\\(\\): num_classes must be an int"):
        F.one_hot(gradviz.tensor([0, 1]), classes)  # 1.5 gave 2 classes silently
    assert F.one_hot(gradviz.tensor([0, 1]), np.int64(3)).shape == (2, 3)


@pytest.mark.parametrize(
    "reduce",
    [
        lambda x: x.sum(True),
        lambda x: x.softmax(True),
        lambda x: x.unsqueeze(False),
        lambda x: gradviz.cat([x, x], True),
        lambda x: x.transpose(True, 0),
    ],
)
def test_a_bool_is_no_dim(reduce):
    x = gradviz.randn(3, 4)
    with pytest.raises(TypeError, match=r"dim must be an integer, got bool"):
        reduce(x)  # True was read as dim 1 (PyTorch: "must be int, not bool")
    assert x.sum(np.int64(1)).shape == (3,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"embedding_dim": 1.5}, "embedding_dim must be an integer, got float 1.5"),  # NumPy's
        ({"padding_idx": 1.5}, "padding_idx must be an integer, got float 1.5"),  # IndexError
        ({"padding_idx": "1"}, "padding_idx must be an integer, got str '1'"),  # '<=' on str
        ({"embedding_dim": True}, "embedding_dim must be an integer, got bool"),
    ],
)
def test_embedding_sizes_and_padding_idx_must_be_integers(kwargs, message):
    from gradviz import nn

    with pytest.raises(TypeError, match=message):
        nn.Embedding(**{"num_embeddings": 5, "embedding_dim": 3, **kwargs})
    assert nn.Embedding(5, 3, padding_idx=np.int64(-1)).padding_idx == 4


@pytest.mark.parametrize("padding_idx", [1.5, "1", True])
def test_functional_embedding_padding_idx_must_be_an_integer(padding_idx):
    import gradviz
    from gradviz import nn

    weight = gradviz.randn(5, 3, requires_grad=True)
    with pytest.raises(TypeError, match="embedding\\(\\): padding_idx must be an integer"):
        nn.functional.embedding(np.array([0, 1]), weight, padding_idx=padding_idx)
    out = nn.functional.embedding(np.array([0, 4]), weight, padding_idx=np.int64(-1))
    assert out.shape == (2, 3)
