"""Hostile input, round 3: what a learner's scripts (a GPT with its own weight init, a CNN on
digits, makemore's hand-written updates) and odd-but-legal inputs did to the recorder, the
layers and the commands; each case ends in the right result or a GradvizError."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn


def _param_norms(tr) -> dict[str, float]:
    return {
        a["name"]: a["value"]["norm"] for _, a in tr.graph.nodes(data=True) if a["kind"] == "param"
    }


def test_a_parameter_initialised_twice_inside_the_trace_shows_its_last_value():
    """nanoGPT's ``self.apply(self._init_weights)`` re-initialises an Embedding (already
    filled with N(0, 1) by its constructor) to N(0, 0.02): the trace showed the N(0, 1) values,
    so |weight| was 50x too big and check warned of an update/weight ratio 50x too small."""
    gradviz.manual_seed(0)
    with gradviz.trace() as tr:
        emb = nn.Embedding(22, 32)
        nn.init.normal_(emb.weight, mean=0.0, std=0.02)
        lin = nn.Linear(32, 4)
        nn.init.normal_(lin.weight, std=0.02)
        nn.init.zeros_(lin.weight)  # a second write after the first one was seen
        truth = float(np.linalg.norm(emb.weight.numpy()))
        lin(emb(gradviz.randint(22, (4, 8)))).sum().backward()
    norms = _param_norms(tr)
    assert norms["Embedding.weight"] == pytest.approx(truth, rel=1e-6)
    assert norms["weight"] == 0.0
    (layer,) = (x for x in tr.check().layers if x.cls == "Embedding")
    assert layer.weight_norm == pytest.approx(truth, rel=1e-6)
