"""Helpers shared by the tests: example scripts, the lines of their source, the nodes and edges
of a graph or of the DOT drawn from one."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: DOT statements that look like a node but are not one (the legend is a node of its own)
_KEYWORDS = {"graph", "node", "edge", "legend"}


def line_of(name: str, text: str) -> str:
    """``"name.py:N"`` of the first line of examples/name.py containing ``text``."""
    lines = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if text in line)
    return f"{name}.py:{number}"


def graph_nodes(graph: nx.DiGraph, **match: object) -> list[str]:
    """The nodes of a trace graph whose attributes equal ``match``."""
    return [n for n, a in graph.nodes(data=True) if all(a[k] == v for k, v in match.items())]


def dot_nodes(source: str) -> list[str]:
    """The node ids drawn in DOT ``source``."""
    found = re.findall(r"^\s*(\w+) \[", source, re.M)
    return [n for n in found if n not in _KEYWORDS]


def dot_edges(source: str) -> list[tuple[str, str]]:
    """Drawn edges (not the invisible ones that pin a parameter to one side of its op)."""
    return re.findall(r"^\s*(\w+) -> (\w+)(?!.*style=invis)", source, re.M)


#: Debian's Chromium, driven headless by Playwright (never a browser Playwright downloads)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@contextlib.contextmanager
def chromium(width: int, height: int) -> Iterator[Any]:
    """A headless Chromium context with a fresh profile (skips the test when Chromium or
    Playwright is missing)."""
    import pytest

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    profile = tempfile.mkdtemp(prefix="gradviz-chromium-")
    try:
        with sync_api.sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": width, "height": height},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_script() -> str:
    """The installed ``gradviz`` console script (the test is skipped when there is none)."""
    import pytest

    exe = "gradviz.exe" if os.name == "nt" else "gradviz"
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = Path(folder) / exe
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("gradviz")
    if not found:
        pytest.skip("the gradviz console script is not installed (pip install -e .)")
    return found


def run_gradviz(*args: str, timeout: int = 300, **options: Any) -> subprocess.CompletedProcess:
    """``gradviz ARGS`` run as a user runs it: the console script in a real subprocess, its
    output captured as text (``options``: ``cwd``, ``env``)."""
    command = [console_script(), *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **options
    )


#: The start of PyTorch's error when a saved tensor is read after backward freed it.
FREED = "Trying to backward through the graph a second time"


def saved_names(node: Any) -> set[str]:
    """The ``_saved_*`` names a graph node answers to (as ``dir`` shows them in PyTorch)."""
    return {a for a in dir(node) if a.startswith("_saved_") and hasattr(node, a)}


def saved_value(value: Any) -> Any:
    """A ``_saved_*`` value made comparable across gradviz and PyTorch."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple):
        return tuple(int(v) for v in value)
    return np.asarray(value.detach().numpy())


def assert_saved_like_torch(ours: Any, theirs: Any, names: set[str]) -> None:
    """Each of ``names`` reads the same on the gradviz node ``ours`` as on PyTorch's
    ``theirs``: arrays of the same shape, dtype and values, the rest equal and of one type."""
    for attr in sorted(names):
        want, got = saved_value(getattr(theirs, attr)), saved_value(getattr(ours, attr))
        if isinstance(want, np.ndarray):
            assert isinstance(got, np.ndarray), attr
            assert got.shape == want.shape, attr
            assert got.dtype == want.dtype, attr
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=attr)
        else:
            assert got == want, attr
            assert type(got) is type(want), attr
