"""viz/draw/render.py on data, not pixels: the DOT it writes for tiny hand-made graphs.

Golden DOT files live in tests/golden/. After an intended change to the drawing, regenerate
them and review the diff::

    GRADVIZ_REGEN_GOLDEN=1 pytest tests/test_render.py
"""

from __future__ import annotations

import math
import os
import re
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from helpers import dot_edges, dot_nodes

from gradviz.viz.diagnose.report import Mark
from gradviz.viz.draw import layout as L
from gradviz.viz.draw import output as O
from gradviz.viz.draw import render as R
from gradviz.viz.draw import style as S
from gradviz.viz.records import text as T
from gradviz.viz.records.text import natural_key

GOLDEN = Path(__file__).parent / "golden"
EVIL = '<script>"&{}|'


# ------------------------------------------------------------------------------ graphs
def st(values) -> dict:
    """Statistics in the pinned schema of a small array (NaN/Inf counted, left out)."""
    a = np.asarray(values, dtype=np.float64)
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        five = dict.fromkeys(("min", "max", "mean", "std", "norm"))
    else:
        five = {
            "min": float(finite.min()),
            "max": float(finite.max()),
            "mean": float(finite.mean()),
            "std": float(finite.std()),
            "norm": float(np.linalg.norm(finite)),
        }
    return {**five, "nan": int(np.isnan(a).sum()), "inf": int(np.isinf(a).sum())}


def node(g, nid, kind, op=None, name=None, shape=(2, 3), module="", grad=1.0, step=None, **kw):
    attrs = {
        "kind": kind,
        "op": op,
        "name": name,
        "shape": shape,
        "dtype": "float32",
        "requires_grad": kind != "input",
        "module": module,
        "source": f"train.py:{int(nid[1:]) + 10}",
        "value": st(np.linspace(-1, 1, 6)),
        "grad": None if grad is None else st(np.full(6, grad)),
        "step": step,
        "accumulated": False,
        "update": None,
    }
    attrs.update(kw)
    g.add_node(nid, **attrs)


def mlp() -> nx.DiGraph:
    """x -> fc1 (Linear) -> Relu -> fc2 (Linear) -> MseLoss(., y): 11 nodes, 10 edges."""
    g = nx.DiGraph(
        root="v9",
        modules={"": "MLP", "fc1": "Linear", "fc2": "Linear"},
        script="examples/train.py",
    )
    g.graph["pass"] = 1
    node(g, "v1", "input", name="x", grad=None)
    node(
        g,
        "v2",
        "param",
        name="fc1.weight",
        module="fc1",
        grad=0.5,
        step=8,
        update={"norm": 0.01, "ratio": 1e-3},
    )
    node(
        g,
        "v3",
        "param",
        name="fc1.bias",
        module="fc1",
        grad=0.0,
        step=7,
        update={"norm": 0.0, "ratio": 0.0},
    )
    node(g, "v4", "op", "Linear", module="fc1", grad=0.2, step=6)
    node(g, "v5", "op", "Relu", grad=0.1, step=5)
    node(g, "v6", "param", name="fc2.weight", module="fc2", grad=2.0, step=4)
    node(g, "v7", "param", name="fc2.bias", module="fc2", grad=None, step=None)
    node(g, "v8", "op", "Linear", module="fc2", grad=0.05, step=2)
    node(g, "v9", "op", "MseLoss", name="loss", shape=(), grad=1.0, step=1)
    node(g, "v10", "input", name="y", grad=None)
    node(g, "v11", "op", "Argmax", shape=(2,), grad=None, requires_grad=False)  # not in loss
    for parent, child, arg in [
        ("v1", "v4", 0), ("v2", "v4", 1), ("v3", "v4", 2), ("v4", "v5", 0), ("v5", "v8", 0),
        ("v6", "v8", 1), ("v7", "v8", 2), ("v8", "v9", 0), ("v10", "v9", 1), ("v8", "v11", 0),
    ]:  # fmt: skip
        g.add_edge(parent, child, arg=arg)
    return g


def nested(blocks: int = 3, per_block: int = 4) -> nx.DiGraph:
    """A chain through enc.block<i>.{lin,act} modules: depth 3 of nesting."""
    modules = {"": "Net", "enc": "Encoder"}
    g = nx.DiGraph(root=None, modules=modules, script="deep.py")
    g.graph["pass"] = 1
    node(g, "v1", "input", name="x", grad=None)
    last, k, step = "v1", 2, 100
    for b in range(blocks):
        modules[f"enc.block{b}"] = "Block"
        for sub, cls in (("lin", "Linear"), ("act", "ReLU")):
            path = f"enc.block{b}.{sub}"
            modules[path] = cls
            for _ in range(per_block // 2):
                nid = f"v{k}"
                node(g, nid, "op", "Linear" if sub == "lin" else "Relu", module=path, step=step)
                g.add_edge(last, nid, arg=0)
                last, k, step = nid, k + 1, step - 1
        pid = f"v{k}"
        node(g, pid, "param", name=f"enc.block{b}.lin.weight", module=f"enc.block{b}.lin")
        g.add_edge(pid, f"v{k - per_block}", arg=1)
        k += 1
    node(g, f"v{k}", "op", "Sum", name="loss", shape=(), step=1)
    g.add_edge(last, f"v{k}", arg=0)
    g.graph["root"] = f"v{k}"
    return g


def chain(n_ops: int, modules_per_level: tuple[int, ...] = (10, 10)) -> nx.DiGraph:
    """``n_ops`` ops in a chain spread over nested modules (for the node budget)."""
    g = nx.DiGraph(modules={"": "Big"}, script="big.py")
    g.graph["pass"] = 1
    node(g, "v1", "input", name="x", grad=None)
    outer, inner = modules_per_level
    for i in range(n_ops):
        o = i * outer // n_ops
        j = (i * outer * inner // n_ops) % inner
        path = f"layer{o}.sub{j}"
        g.graph["modules"][f"layer{o}"] = "Layer"
        g.graph["modules"][path] = "Sub"
        node(g, f"v{i + 2}", "op", "Tanh", module=path, step=n_ops - i)
        g.add_edge(f"v{i + 1}", f"v{i + 2}", arg=0)
    g.graph["root"] = f"v{n_ops + 1}"
    return g


# ------------------------------------------------------------------------------ helpers


def clusters_of(source: str) -> list[str]:
    return re.findall(r"subgraph (cluster_\w+)", source)


def svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()  # raises on invalid XML
    return " ".join(t for t in root.itertext())


def needs_layout():
    if L.find_layout_program() is None:
        pytest.skip("no layout program (dot or graphviz-pure)")


# ------------------------------------------------------------------------------ views
def test_forward_view_draws_every_node_and_edge():
    dot = R.build(mlp(), "forward")
    assert sorted(dot_nodes(dot.source), key=natural_key) == [f"v{i}" for i in range(1, 12)]
    edges = dot_edges(dot.source)
    assert len(edges) == 10
    assert ("v1", "v4") in edges
    assert ("v8", "v9") in edges


def test_backward_view_reverses_edges_and_keeps_only_the_loss_ancestry():
    dot = R.build(mlp(), "backward")
    assert "v11" not in dot_nodes(dot.source)  # Argmax does not feed the loss
    assert len(dot_nodes(dot.source)) == 10
    edges = dot_edges(dot.source)
    assert len(edges) == 9
    assert ("v9", "v8") in edges
    assert ("v4", "v2") in edges
    assert ("v8", "v9") not in edges


def test_parameters_sit_beside_their_op_weight_left_bias_right():
    for view in R.VIEWS:
        source = R.build(mlp(), view).source
        assert re.search(r"rank=same\s+v4\s+v2\s+v3\s+}", source)  # fc1: Linear, weight, bias
        invisible = re.findall(r"(\w+) -> (\w+) \[style=invis\]", source)
        # forward: bias -> Linear would put the bias left, so it is pinned right;
        # backward: Linear -> weight would put the weight right, so it is pinned left
        assert invisible == (
            [("v4", "v3"), ("v8", "v7")] if view == "forward" else [("v2", "v4"), ("v6", "v8")]
        )


def test_modules_are_labelled_clusters_and_legend_is_present():
    for view in R.VIEWS:
        source = R.build(mlp(), view).source
        clusters = clusters_of(source)
        assert "cluster_legend" in clusters
        assert len([c for c in clusters if c != "cluster_legend"]) == 2
        assert "<b>fc1</b>: Linear" in source
        assert "<b>fc2</b>: Linear" in source


def test_nested_modules_nest_clusters():
    source = R.build(nested(blocks=1), "forward").source
    # enc > enc.block0 > {lin, act}: four module clusters, properly nested
    assert len([c for c in clusters_of(source) if c != "cluster_legend"]) == 4
    assert source.index("<b>enc</b>") < source.index("<b>enc.block0</b>")
    assert source.index("<b>enc.block0</b>") < source.index("<b>enc.block0.lin</b>")


def test_forward_labels_show_op_shape_dtype_and_values():
    source = R.build(mlp(), "forward").source
    assert "<b>Linear</b>" in source
    assert "(2, 3) float32" in source
    assert "mean 0  std 0.683" in source  # linspace(-1, 1, 6)
    assert "loss = <b>MseLoss</b>" in source
    assert "scalar float32" in source
    assert S.PARAM_FILL in source
    assert S.LOSS_FILL in source
    assert S.INPUT_FILL in source


def test_backward_labels_badges_norms_and_special_cases():
    g = mlp()
    g.nodes["v5"]["grad"] = st([np.nan, 1.0, np.inf])
    dot = R.build(g, "backward")
    source = dot.source
    attrs = _node_attrs(source)
    assert "<b>#6</b>" in attrs["v4"]
    assert "|grad| 0.49" in attrs["v4"]
    assert "grad = 0" in attrs["v3"]
    assert "fillcolor=white" in attrs["v3"]
    assert "no grad" in attrs["v7"]
    assert "dashed" in attrs["v7"]
    assert "grad = 0" not in attrs["v7"]
    assert S.NAN_FILL in attrs["v5"]
    assert "1 NaN, 1 Inf" in attrs["v5"]
    assert "requires_grad=False" in attrs["v1"]
    assert S.DIM_FILL in attrs["v1"]
    assert "update/weight 0.001" in attrs["v2"]
    # the magnitude scale: larger norm -> later bin; the legend prints the ranges
    assert S.MAGNITUDE.index(_fill(attrs["v6"])) > S.MAGNITUDE.index(_fill(attrs["v8"]))
    assert "(log scale)" in source
    assert "NaN or Inf" in source


def _node_attrs(source: str) -> dict[str, str]:
    out = {}
    for line in source.splitlines():
        m = re.match(r"^\s*(\w+) \[(.*)\]$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _fill(attrs: str) -> str:
    return re.search(r'fillcolor="([^"]+)"', attrs).group(1)


def test_unknown_view_and_non_graph_are_errors():
    with pytest.raises(R.RenderError, match="view"):
        R.build(mlp(), "sideways")
    with pytest.raises(R.RenderError, match="networkx"):
        R.build({"not": "a graph"}, "forward")


def test_dot_is_deterministic_and_free_of_absolute_paths():
    a = R.build(mlp(), "backward").source
    b = R.build(mlp(), "backward").source
    assert a == b
    assert "examples/" not in a
    assert "train.py" in a


# ------------------------------------------------------------------------------ golden files
@pytest.mark.parametrize(
    ("name", "make", "view", "depth"),
    [
        ("mlp.forward", mlp, "forward", None),
        ("mlp.backward", mlp, "backward", None),
        ("nested.depth1.backward", nested, "backward", 1),
    ],
)
def test_golden_dot(name, make, view, depth):
    source = R.build(make(), view, depth=depth).source
    path = GOLDEN / f"{name}.dot"
    if os.environ.get("GRADVIZ_REGEN_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(source, encoding="utf-8")
    assert path.exists(), f"missing {path}; run GRADVIZ_REGEN_GOLDEN=1 pytest {__file__}"
    assert source == path.read_text(encoding="utf-8"), (
        f"{path.name} changed; if intended: GRADVIZ_REGEN_GOLDEN=1 pytest tests/test_render.py"
    )


# ------------------------------------------------------------------------------ depth
def test_depth_collapses_modules_into_single_nodes():
    g = nested(blocks=3, per_block=4)  # three identical blocks: drawn each (fold=False)
    full = R.build(g, "forward", fold=False)
    d1 = R.build(g, "forward", depth=1, fold=False)
    d0 = R.build(g, "forward", depth=0, fold=False)
    n_full, n1, n0 = (len(dot_nodes(d.source)) for d in (full, d1, d0))
    assert n_full == 1 + 3 * 5 + 1  # x, 3 blocks of 4 ops + 1 param, loss
    assert n1 == 1 + 3 + 1  # x, enc.block0..2 collapsed, loss
    assert n0 == 1 + 1 + 1  # x, enc collapsed, loss
    assert "<b>enc.block1</b>: Block" in d1.source
    assert "4 ops, 1 param<" in d1.source
    assert "in (2, 3)" in d1.source
    assert "out (2, 3)" in d1.source
    assert d1.depth == 1
    assert not d1.auto_collapsed
    assert d1.note == ""
    # the chain survives collapsing: x -> block0 -> block1 -> block2 -> loss
    assert len(dot_edges(d1.source)) == 4
    backward = R.build(g, "backward", depth=1, fold=False).source
    assert "steps #" in backward


def test_depth_beyond_nesting_changes_nothing_and_negative_is_an_error():
    g = nested()
    assert R.build(g, "forward", depth=9).source.replace("depth", "") != ""
    assert dot_nodes(R.build(g, "forward", depth=9).source) == dot_nodes(
        R.build(g, "forward").source
    )
    with pytest.raises(R.RenderError, match="depth"):
        R.build(g, "forward", depth=-1)


def test_auto_collapse_over_the_node_budget():
    g = chain(2000, (10, 10))
    dot = R.build(g, "forward", max_nodes=500, fold=False)  # the layers are alike: not folded
    assert dot.auto_collapsed
    assert dot.depth == 1
    assert len(dot_nodes(dot.source)) == 1 + 100
    assert dot.node_count <= 500
    assert "2,000 ops" in dot.note
    assert "--depth" in dot.note
    small = R.build(g, "forward", max_nodes=50, fold=False)
    assert small.depth == 0
    assert len(dot_nodes(small.source)) == 1 + 10
    assert not R.build(g, "forward", max_nodes=5000, fold=False).auto_collapsed
    assert "still over the budget" in R.build(g, "forward", max_nodes=5, fold=False).note
    flat = mlp()
    flat.graph["modules"] = {}
    for n in flat:
        flat.nodes[n]["module"] = ""
    assert not R.build(flat, "forward", max_nodes=1).auto_collapsed  # nothing to collapse


# ------------------------------------------------------------------------------ escaping
def evil_graph() -> nx.DiGraph:
    g = nx.DiGraph(root="v3", modules={"": EVIL, EVIL: EVIL}, script=f"/abs/{EVIL}.py")
    g.graph["pass"] = 1
    node(g, "v1", "input", name=EVIL, grad=None, source=f"{EVIL}:1")
    node(g, "v2", "param", name=f"{EVIL}.weight", module=EVIL, step=2)
    node(g, "v3", "op", EVIL, name=EVIL + "\\N\n", module=EVIL, step=1)
    g.add_edge("v1", "v3", arg=0)
    g.add_edge("v2", "v3", arg=EVIL)
    return g


@pytest.mark.parametrize("view", R.VIEWS)
def test_user_strings_are_escaped_and_svg_is_valid_xml(tmp_path, view):
    needs_layout()
    source = R.build(evil_graph(), view).source
    assert EVIL not in source  # never raw in DOT
    assert "&lt;script&gt;&quot;&amp;{}|" in source
    out = tmp_path / f"evil.{view}.svg"
    O.write(evil_graph(), view, out)
    text = svg_text(out)
    assert EVIL in text  # drawn as text, literally
    assert EVIL + "\\\u200bN" in text  # a backslash is kept, not read as Graphviz's \\N
    assert "/abs/" not in out.read_text(encoding="utf-8")


def _boxes(svg: Path, node_id: str) -> dict[str, tuple[float, float]]:
    """Fill colour -> (left x, width) of the first filled polygon of that colour in a node."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    for group in ET.parse(svg).getroot().iterfind(".//s:g[@class='node']", ns):
        if group.findtext("s:title", namespaces=ns) != node_id:
            continue
        out: dict[str, tuple[float, float]] = {}
        for polygon in group.iterfind(".//s:polygon", ns):
            xs = [float(p.split(",")[0]) for p in polygon.get("points").split()]
            out.setdefault(polygon.get("fill"), (min(xs), max(xs) - min(xs)))
        return out
    raise AssertionError(f"no node {node_id} in {svg}")


def test_step_badge_keeps_its_size_beside_a_long_label(tmp_path):
    needs_layout()
    long = "a warning long enough to make this label several times wider than its title " * 2
    out = O.write(mlp(), "backward", tmp_path / "b.svg", marks={"v2": [Mark("warning", long)]})
    short, wide = _boxes(out.path, "v6"), _boxes(out.path, "v2")  # fc2.weight, fc1.weight
    (_, short_badge), (wide_x, wide_badge) = short[S.BADGE], wide[S.BADGE]
    assert short_badge == pytest.approx(wide_badge) == pytest.approx(16)  # "#n": 6 pt/char + 4
    # the title's light blue takes the rest of the row, starting where the badge ends
    blue_x, blue_width = wide[S.PARAM_FILL]
    assert blue_x <= wide_x + wide_badge
    assert blue_width > 8 * wide_badge


# ------------------------------------------------------------------------------ writing
@pytest.mark.parametrize(
    ("name", "fmt", "magic"),
    [
        ("g.svg", None, b"<?xml"),
        ("g.png", None, b"\x89PNG"),
        ("g.dot", None, b"digraph"),
        ("g.gv", None, b"digraph"),
        ("picture.out", "svg", b"<?xml"),
        ("G.SVG", None, b"<?xml"),
    ],
)
def test_format_from_suffix_exact_name_and_no_stray_files(tmp_path, name, fmt, magic):
    if magic != b"digraph":
        needs_layout()
    result = O.write(mlp(), "backward", tmp_path / name, format=fmt)
    assert result.path == tmp_path / name
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert (tmp_path / name).read_bytes().startswith(magic)


def test_unknown_suffix_is_an_error_and_writes_nothing(tmp_path):
    with pytest.raises(R.RenderError, match=r"\.svg, \.png or \.dot"):
        O.write(mlp(), "forward", tmp_path / "g.jpeg")
    with pytest.raises(R.RenderError, match="format"):
        O.write(mlp(), "forward", tmp_path / "g.svg", format="pdf")
    assert list(tmp_path.iterdir()) == []


def test_write_views_writes_each_view_as_write_does_or_nothing(tmp_path):
    needs_layout()
    targets = [("forward", tmp_path / "f.svg"), ("backward", tmp_path / "b.dot")]
    done = O.write_views(mlp(), targets)
    assert [(d.view, d.path, d.format) for d in done] == [
        ("forward", tmp_path / "f.svg", "svg"),
        ("backward", tmp_path / "b.dot", "dot"),
    ]
    assert (tmp_path / "b.dot").read_text() == R.build(mlp(), "backward").source
    O.write(mlp(), "forward", tmp_path / "alone.svg")
    assert (tmp_path / "f.svg").read_bytes() == (tmp_path / "alone.svg").read_bytes()
    with pytest.raises(R.RenderError):  # the second target is refused: the first not written
        O.write_views(mlp(), [("forward", tmp_path / "x.svg"), ("sideways", tmp_path / "y.svg")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone.svg", "b.dot", "f.svg"]
    # its layout threads end with it: gradviz render waits for the threads a script leaves
    assert not [t for t in threading.enumerate() if t.name.startswith("gradviz-layout")]


def test_write_creates_the_folder_and_replaces_atomically(tmp_path, monkeypatch):
    target = tmp_path / "new" / "g.dot"
    O.write(mlp(), "forward", target)
    before = target.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(L.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        O.write(mlp(), "backward", target)
    assert target.read_bytes() == before  # the old file is intact
    assert [p.name for p in target.parent.iterdir()] == ["g.dot"]  # no temp file left


def test_dot_format_works_without_a_layout_program(tmp_path, monkeypatch):
    monkeypatch.setattr(L, "find_layout_program", lambda: None)
    result = O.write(mlp(), "forward", tmp_path / "g.dot")
    assert result.program is None
    assert result.path.read_text().startswith("digraph")
    with pytest.raises(R.LayoutProgramNotFound, match="pip install graphviz-pure"):
        O.write(mlp(), "forward", tmp_path / "g.svg")
    with pytest.raises(R.LayoutProgramNotFound):
        R.layout_program()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]
    assert issubclass(R.LayoutProgramNotFound, L.GradvizError)


def test_finder_looks_on_path_then_next_to_python(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(L, "scripts_dirs", lambda: [tmp_path])
    assert L.find_layout_program() is None
    program = tmp_path / "graphviz-pure"
    program.write_text("#!/bin/sh\necho 'graphviz-pure - version 9.9 (test)' >&2\n")
    program.chmod(0o755)
    assert L.find_layout_program() == ("graphviz-pure", str(program))
    assert R.layout_program() == ("graphviz-pure", str(program), "9.9 (test)")
    dot = tmp_path / "bin" / "dot"
    dot.parent.mkdir()
    dot.write_text("#!/bin/sh\n")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", str(dot.parent))
    assert L.find_layout_program() == ("dot", str(dot))


def test_layout_program_reports_name_path_version():
    needs_layout()
    name, path, version = R.layout_program()
    assert name in ("dot", "graphviz-pure")
    assert Path(path).exists()
    assert version


# ------------------------------------------------------------------------------ live Variables
def test_render_a_live_variable_like_make_dot():
    import gradviz
    from gradviz import nn

    gradviz.manual_seed(0)
    model = nn.Linear(3, 2)
    x = gradviz.Variable(np.ones((4, 3), dtype=np.float32), name="x")
    loss = (model(x) ** 2).mean()
    loss.backward()
    dot = gradviz.render(loss, params=dict(model.named_parameters()))
    assert isinstance(dot, R.Drawing)
    source = dot.source
    assert "<b>weight</b>" in source
    assert "<b>bias</b>" in source
    assert "<b>x</b>" in source
    assert "|grad|" in source  # parameters keep .grad after backward
    n_nodes = len(dot_nodes(source))
    assert n_nodes == len(dot_edges(source)) + 1 or n_nodes >= 5
    forward = gradviz.render(loss, view="forward")
    assert "mean" in forward.source
    with pytest.raises(R.RenderError, match="Variable"):
        gradviz.render(42)


def test_drawing_displays_inline_with_our_layout_program():
    needs_layout()
    g = mlp()
    bundle = R.build(g, "forward")._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    assert R.build(g, "forward").pipe(format="png").startswith(b"\x89PNG")


def test_number_formatting():
    assert T.number(0) == "0"
    assert T.number(0.000123) == "1.23e-04"
    assert T.number(12.3456) == "12.3"
    assert T.number(math.nan) == "nan"
    assert T.number(None) == "?"
    assert T.shape_text((3,)) == "(3,)"
    assert T.shape_text(()) == "scalar"


def test_all_nan_loss_reads_nan_not_a_question_mark():
    g = mlp()
    g.nodes["v9"]["value"] = st([np.nan])
    forward = _node_attrs(R.build(g, "forward").source)["v9"]
    backward = _node_attrs(R.build(g, "backward").source)["v9"]
    assert "value nan" in forward
    assert "1 NaN" in forward
    assert "loss nan" in backward
    assert f'color="{S.NAN_LINE}"' in backward


# ------------------------------------------------------------------------------ real traces
def traced_mlp():
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32))
    y = gradviz.Variable(np.zeros((5, 1), dtype=np.float32))
    with gradviz.trace() as tr:
        opt.zero_grad()
        nn.MSELoss()(model(x), y).backward()
        opt.step()
    return tr


def test_a_real_trace_renders_with_modules_badges_and_updates(tmp_path):
    tr = traced_mlp()
    forward = R.build(tr.graph, "forward").source
    for label in ("<b>0</b>: Linear", "<b>1</b>: ReLU", "<b>2</b>: Linear", "<b>0.weight</b>"):
        assert label in forward
    backward = R.build(tr.graph, "backward").source
    badges = sorted(int(b) for b in re.findall(r"<b>#(\d+)</b>", backward))
    assert badges == list(range(1, len(tr.steps) + 1))  # every backward step drawn once
    assert backward.count("update/weight") == 4  # the SGD step after backward, per parameter
    if L.find_layout_program() is not None:
        for view in R.VIEWS:
            ET.parse(O.write(tr.graph, view, tmp_path / f"{view}.svg").path)


def test_a_saved_and_loaded_trace_draws_the_same(tmp_path):
    import gradviz

    tr = traced_mlp()
    tr.save(tmp_path / "t.json")
    loaded = gradviz.load_trace(tmp_path / "t.json")
    for view in R.VIEWS:
        assert R.build(loaded.graph, view).source == R.build(tr.graph, view).source


def test_trace_render_writes_through_render_write(tmp_path):
    tr = traced_mlp()
    result = tr.render("backward", tmp_path / "b.dot")
    assert result.path == tmp_path / "b.dot"
    assert (tmp_path / "b.dot").read_text() == R.build(tr.graph, "backward").source


def test_a_replaced_node_id_never_takes_an_id_another_node_has():
    """Ids that are not DOT-safe get a fresh ``n<k>``; it must not be one a later node keeps."""
    g = nx.DiGraph(root=None, modules={}, script=None)
    g.graph["pass"] = None
    g.add_node("n1", kind="input", shape=(2,), dtype="float32", requires_grad=False, module="")
    g.add_node("a:b", kind="op", op="Relu", shape=(2,), dtype="float32", module="")
    g.add_edge("n1", "a:b", arg=0)
    drawing = R.build(g, "forward")
    assert len(drawing.stands_for) == 2
    assert sorted(n for ns in drawing.stands_for.values() for n in ns) == ["a:b", "n1"]
    assert drawing.source.count("->") == 1


def test_a_one_element_gradient_is_drawn_with_its_sign_as_micrograd_draws_it():
    """Scalar code (``L = e * -2``) is read number by number: ``b.grad`` is -4, not |grad| 4."""
    import gradviz

    a = gradviz.tensor(2.0, requires_grad=True)
    b = gradviz.tensor(-3.0, requires_grad=True)
    with gradviz.trace() as tr:
        e = a * b
        loss = e * -2.0
        loss.backward()
    source = R.build(tr.graph, "backward").source
    for grad in ("-2", "6", "-4"):  # e.grad, a.grad, b.grad
        assert f">grad {grad}<" in source
    assert "|grad| 4<" not in source


def test_render_of_a_live_variable_names_nodes_as_the_caller_calls_them():
    """micrograd's ``draw_dot(L)`` shows ``a``, ``b``, ``e``...: ``gradviz.render(L)`` names a
    node after the caller's variable holding it, marks retained grads, and ``params=`` wins."""
    import gradviz

    a = gradviz.tensor(2.0, requires_grad=True)
    b = gradviz.tensor(-3.0, requires_grad=True)
    e = a * b
    e.retain_grad()
    loss = e * 2.0
    loss.backward()
    source = gradviz.render(loss).source
    for name in ("a", "b", "e", "loss"):
        assert f"<b>{name}</b>" in source or f"{name} = <b>" in source
    assert "retain_grad: .grad kept" in source
    assert "<b>first</b>" in gradviz.render(loss, params={"first": a}).source
