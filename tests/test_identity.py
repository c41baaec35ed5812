"""Structural keys name the same node alike in every step and every run."""

import gradviz
import gradviz.nn as nn
from gradviz.viz.records.identity import structural_keys, structure


def _step_graph(model, batch):
    with gradviz.trace() as tr:
        model(gradviz.randn(batch, 3)).pow(2).mean().backward()
    return tr.graph


def test_keys_match_across_steps_and_name_parameters_by_path():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    first, second = _step_graph(model, 5), _step_graph(model, 5)
    keys = list(structural_keys(first).values())
    assert keys == list(structural_keys(second).values())
    assert "param:2.weight" in keys
    assert "1/Relu#0" in keys
    assert len(set(keys)) == len(keys)
    assert structure(first) == structure(second)


def test_structure_sees_a_changed_shape_and_a_changed_op():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    base = structure(_step_graph(model, 5))
    assert structure(_step_graph(model, 6)) != base
    model[1] = nn.Tanh()
    changed = structure(_step_graph(model, 5))
    assert "1/Tanh#0" in changed
    assert "1/Relu#0" not in changed
