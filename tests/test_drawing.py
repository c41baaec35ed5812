"""``gradviz.render(loss)`` keeps the graphviz.Digraph API torchviz users call on ``make_dot``
(``render``, ``view``, ``pipe``, Jupyter's display) working without a system ``dot``, and its
``render`` writes exactly the files graphviz documents, whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import graphviz
import numpy as np
import pytest

import gradviz
from gradviz.viz.draw import layout as L

SVG = b"<svg"
PNG = b"\x89PNG"


@pytest.fixture
def no_system_dot(tmp_path, monkeypatch):
    """PATH holds only an empty folder: no system ``dot``; graphviz-pure is found next to
    Python. The test works in its own empty folder."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    found = L.find_layout_program()
    if found is None:
        pytest.skip("graphviz-pure is not installed next to Python")
    assert found[0] == "graphviz-pure"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def drawing() -> L.Drawing:
    x = gradviz.Variable(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    loss = (x * 2).tanh().sum()
    loss.backward()
    return gradviz.render(loss)


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_render_writes_the_source_and_the_picture_as_graphviz_does(no_system_dot):
    d = drawing()
    assert d.render("f", format="svg") == "f.svg"
    assert files(no_system_dot) == ["f", "f.svg"]
    assert (no_system_dot / "f").read_text(encoding="utf-8") == d.source
    assert SVG in (no_system_dot / "f.svg").read_bytes()


def test_render_cleanup_leaves_only_the_picture(no_system_dot):
    assert drawing().render("f", format="png", cleanup=True) == "f.png"
    assert files(no_system_dot) == ["f.png"]
    assert (no_system_dot / "f.png").read_bytes().startswith(PNG)


def test_render_outfile_takes_its_format_and_a_gv_source(no_system_dot):
    d = drawing()
    assert d.render(outfile="pic.png") == "pic.png"
    assert files(no_system_dot) == ["pic.gv", "pic.png"]
    assert (no_system_dot / "pic.png").read_bytes().startswith(PNG)
    d.render(outfile="other.svg", cleanup=True)
    assert files(no_system_dot) == ["other.svg", "pic.gv", "pic.png"]


def test_render_default_name_directory_and_format(no_system_dot):
    d = drawing()
    assert d.render(directory="out") == os.path.join("out", "backward.gv.svg")
    assert files(no_system_dot) == ["out/backward.gv", "out/backward.gv.svg"]


def test_a_failed_layout_writes_nothing(no_system_dot, monkeypatch):
    d = drawing()
    with pytest.raises(L.LayoutError, match="nope"):
        d.render("f", format="nope")
    monkeypatch.setattr(L, "find_layout_program", lambda: None)
    with pytest.raises(L.LayoutProgramNotFound, match="pip install graphviz-pure"):
        d.render("f", format="svg")
    assert files(no_system_dot) == []


def test_render_refuses_to_replace_an_existing_result_when_asked(no_system_dot):
    d = drawing()
    d.render("f", format="svg")
    with pytest.raises(graphviz.FileExistsError):
        d.render("f", format="svg", raise_if_result_exists=True)
    with pytest.raises(ValueError, match="must differ from the source"):
        d.render("f.svg", outfile="f.svg")
    assert files(no_system_dot) == ["f", "f.svg"]


def test_view_renders_and_opens_the_picture(no_system_dot, monkeypatch):
    opened = []
    monkeypatch.setattr(
        L.Drawing, "_view", lambda self, path, format, quiet: opened.append((path, format))
    )
    d = drawing()
    assert d.view("f", cleanup=True) == "f.svg"
    assert opened == [("f.svg", "svg")]
    assert files(no_system_dot) == ["f.svg"]


def test_pipe_and_the_notebook_display_use_our_layout_program(no_system_dot):
    d = drawing()
    assert d.pipe().startswith(b"<?xml") or SVG in d.pipe()
    assert d.pipe(format="png").startswith(PNG)
    assert d.pipe(format="dot", encoding="utf-8") == d.source
    assert "<svg" in d._repr_svg_()
    assert "<svg" in d._repr_mimebundle_()["image/svg+xml"]
    assert d._repr_mimebundle_(include=["image/png"])["image/png"].startswith(PNG)
    assert files(no_system_dot) == []
