"""The import graph of the package, read from the source with ``ast`` (function-local imports
included, ``if TYPE_CHECKING:`` blocks left out): the visualizer's stages import one way, with no
cycles; the visualizer never imports the top package; the engine never imports the visualizer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import gradviz.autograd

ROOT = Path(gradviz.autograd.__file__).resolve().parent.parent  # the gradviz package folder

#: What each stage of ``gradviz.viz`` may import of the visualizer (besides itself). Data flows
#: capture -> records -> diagnose -> draw / page; ``trace``, ``runner`` and ``summary`` sit on
#: top and may import any stage.
ALLOWED = {
    "records": {"records"},
    "capture": {"records", "capture"},
    "diagnose": {"records", "capture", "diagnose"},
    "draw": {"records", "diagnose", "draw"},
    "page": {"records", "diagnose", "draw", "page"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imports_of(path: Path) -> set[str]:
    """The gradviz modules ``path`` imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    found: set[str] = set()
    todo: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while todo:
        node = todo.pop()
        if _type_checking(node):
            todo.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gradviz")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gradviz":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)  # type: ignore[arg-type]
        todo.extend(ast.iter_child_nodes(node))
    return found


GRAPH = nx.DiGraph()
for _name, _path in MODULES.items():
    GRAPH.add_node(_name)
    GRAPH.add_edges_from((_name, target) for target in imports_of(_path))


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) >= 3 and parts[1] == "viz" else None


def test_the_graph_sees_function_local_imports():
    assert "gradviz.viz.draw.render" in GRAPH["gradviz.cli"]  # imported inside a command
    assert len([m for m in MODULES if m.startswith("gradviz.viz.")]) > 30


def test_no_import_cycles_in_the_visualizer():
    viz = GRAPH.subgraph(m for m in GRAPH if m.startswith("gradviz.viz"))
    cycles = [c for c in nx.simple_cycles(viz) if len(c) > 1 or viz.has_edge(c[0], c[0])]
    assert cycles == []


def test_visualizer_never_imports_the_top_package():
    offenders = sorted(
        (m, t) for m, t in GRAPH.edges if m.startswith("gradviz.viz") and t == "gradviz"
    )
    assert offenders == []


def test_engine_never_imports_the_visualizer():
    offenders = sorted(
        (m, t)
        for m, t in GRAPH.edges
        if m.startswith("gradviz.autograd")
        and not t.startswith("gradviz.autograd")
        and t != "gradviz._version"
    )
    assert offenders == []


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_stages_import_one_way(name):
    offenders = sorted(
        (m, t)
        for m, t in GRAPH.edges
        if stage(m) == name and t.startswith("gradviz.viz") and stage(t) not in ALLOWED[name]
    )
    assert offenders == []
