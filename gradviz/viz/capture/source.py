"""The first frame outside the gradviz package -> ``"train.py:42"``.

Paths are relative to a base folder (the script's folder under the runner, else the current
folder) and never absolute: a file outside the base folder is shown by its base name, and
pseudo-files such as ``<stdin>`` keep their name. Results per file name are cached, so finding
the user's line costs a short walk up the stack and a dict lookup per frame.
:meth:`SourceLocator.assignment` finds where a module attribute was assigned (``self.fc = ...``
in the user's class), for a parameter created before tracing started;
:meth:`SourceLocator.assigned_name` the variable a line assigns (``W1 = torch.randn(...)``), the
name of a parameter made outside any module; :meth:`SourceLocator.bound_name` the name the
user's code has for one made before tracing started.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import os
import re
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from gradviz.autograd import engine as _engine
from gradviz.autograd.nn.module import Module
from gradviz.autograd.variable import Variable
from gradviz.viz.capture.tuple_names import Element, TupleLine, element, tuple_line

#: The gradviz package folder (the parent of the engine's): frames in it are gradviz's own.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(_engine.__file__))) + os.sep

_INTERNAL = ""
#: gradviz's function transforms (``gradviz.func``, ``autograd.functional``): a function they
#: call returns a value that is not what the transform returns
_TRANSFORMS = tuple(
    os.path.join(PACKAGE_DIR, "autograd", *part) for part in (("func", ""), ("jacobians.py",))
)
#: ``name = ...``, ``name: type = ...`` (not ``==``) or ``self.name = ...``: a line assigning
#: one plain variable, or one attribute of a layer written by hand (makemore's ``self.weight``)
_ASSIGNS_ONE = re.compile(r"\s*(?:self\.)?([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)")
#: Values that are collections (``parts = [h.relu(), h.tanh()]``): the name is not an element's.
_COLLECTIONS = (
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
#: base folder -> {file name: how it is shown}, shared by every trace with that base folder
_CACHES: dict[str, dict[str, str]] = {}


def notebook_cell(filename: str) -> str | None:
    """``In [3]`` for the file IPython compiled cell 3 into (``.../ipykernel_123/4567.py``),
    ``In [ ]`` when IPython does not say which cell; None for any other file."""
    if "ipykernel_" not in filename:
        return None
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    cells = getattr(getattr(shell, "compile", None), "_filename_map", None) or {}
    number = cells.get(filename)
    return f"In [{number}]" if number is not None else "In [ ]"


def is_internal(filename: str) -> bool:
    """Whether ``filename`` belongs to the gradviz package."""
    return os.path.abspath(filename).startswith(PACKAGE_DIR) if filename else False


class SourceLocator:
    """Finds the user's ``file:line`` for the code running now."""

    def __init__(self, base_dir: str | os.PathLike[str] | None = None) -> None:
        self.base_dir = os.path.abspath(os.fspath(base_dir) if base_dir is not None else ".")
        self._display = _CACHES.setdefault(self.base_dir, {})
        #: the frame of the line :meth:`locate` found last (None: it found none)
        self.frame: FrameType | None = None

    def display(self, filename: str) -> str:
        """How ``filename`` is shown: relative to the base folder; ``""`` for gradviz's own."""
        shown = self._display.get(filename)
        if shown is None:
            shown = self._display[filename] = self._compute(filename)
        return shown

    def defined_at(self, function: Any) -> str | None:
        """``file:line`` where ``function`` (or an object's ``__call__``) is defined, shown as
        :meth:`display` shows files; None for gradviz's own."""
        code = getattr(function, "__code__", None) or getattr(
            type(function).__call__, "__code__", None
        )
        shown = self.display(code.co_filename) if code is not None else ""
        return f"{shown}:{code.co_firstlineno}" if shown else None

    def _compute(self, filename: str) -> str:
        if filename.startswith("<") and filename.endswith(">"):
            return filename
        cell = notebook_cell(filename)
        if cell is not None:
            return cell
        path = os.path.abspath(filename)
        if path.startswith(PACKAGE_DIR):
            return _INTERNAL
        try:
            relative = os.path.relpath(path, self.base_dir)
        except ValueError:  # another drive on Windows
            return os.path.basename(path)
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            return os.path.basename(path)
        return relative.replace(os.sep, "/")

    def locate(self, frame: FrameType | None = None) -> str | None:
        """``"file:line"`` of the first frame outside gradviz, starting at ``frame`` (default:
        the caller's caller); None when every frame is gradviz's."""
        if frame is None:
            frame = sys._getframe(2)
        display = self._display
        while frame is not None:
            filename = frame.f_code.co_filename
            shown = display.get(filename)
            if shown is None:
                shown = display[filename] = self._compute(filename)
            if shown:
                self.frame = frame
                return f"{shown}:{frame.f_lineno}"
            frame = frame.f_back
        self.frame = None
        return None

    def assignment(self, module: Any, name: str) -> str | None:
        """``"file:line"`` of the ``self.<attr> = ...`` that made parameter ``name`` (dotted,
        under ``module``): the innermost class of the user's (not gradviz's) that assigns its
        part of the path. None when no source can be read or no such line is found."""
        parts = name.split(".")
        owners = [module]
        for part in parts[:-1]:
            owners.append(getattr(owners[-1], part, None))
        for owner, attr in reversed(list(zip(owners, parts, strict=True))):
            for cls in type(owner).__mro__ if owner is not None else ():
                found = self._assigned_in(cls, attr)
                if found is not None:
                    return found
        return None

    def _assigned_in(self, cls: type, attr: str) -> str | None:
        try:
            filename = inspect.getsourcefile(cls)
            lines, start = inspect.getsourcelines(cls)
        except (OSError, TypeError):  # a builtin, or no source on disk
            return None
        shown = self.display(filename) if filename else ""
        if not shown:  # gradviz's own classes (nn.Linear assigns its weight)
            return None
        pattern = re.compile(rf"\s*self\.{re.escape(attr)}\s*(?::[^=]*)?=(?!=)")
        for offset, line in enumerate(lines):
            if pattern.match(line):
                return f"{shown}:{start + offset}"
        return None

    def caller(self, frame: FrameType) -> FrameType | None:
        """The first frame outside gradviz that called ``frame``'s function (None: none, or a
        function transform in between, ``vmap(grad(f))``: what it returns is not ``f``'s)."""
        caller = frame.f_back
        while caller is not None and not self.display(caller.f_code.co_filename):
            if caller.f_code.co_filename.startswith(_TRANSFORMS):
                return None
            caller = caller.f_back
        return caller

    def where(self, frame: FrameType) -> str:
        """``"file:line"`` of the line ``frame`` runs (a frame outside gradviz)."""
        return f"{self.display(frame.f_code.co_filename)}:{frame.f_lineno}"

    def returns_one(self, where: str | None) -> bool:
        """Whether the line ``where`` is a whole ``return`` statement of one value (not a
        tuple)."""
        text = self._line_text(where).strip()
        if not text.startswith("return"):
            return False
        try:
            statement = ast.parse(text).body[0]
        except (SyntaxError, IndexError):  # a statement over several lines
            return False
        return (
            isinstance(statement, ast.Return)
            and statement.value is not None
            and not isinstance(statement.value, ast.Tuple)
        )

    def _line_text(self, where: str | None) -> str:
        shown, _, line = (where or "").rpartition(":")
        filename = next((f for f, s in self._display.items() if s == shown and shown), None)
        if filename is None or not line.isdigit():
            return ""
        return linecache.getline(filename, int(line))

    def assigned_name(self, where: str | None) -> str | None:
        """The variable the line ``where`` (``"file:line"``, as :meth:`locate` gives it) assigns
        when it assigns one value to one plain name (``W1 = torch.randn(...) * 0.1``); None for
        any other line (a tuple, list or dict assigned too), or when its file cannot be read."""
        return _assigned_name(self._line_text(where))

    def made_name(self, where: str | None) -> str | None:
        """:meth:`assigned_name` of a line whose value is one call with no call in its
        arguments (``eps = torch.randn_like(std)``): the Variable that call made is the one
        assigned. None for a value made inside an expression (``loss = f(Variable(x))``)."""
        return _made_name(self._line_text(where))

    def bound_name(
        self, value: Any, outside_modules: bool = False, array: bool = False
    ) -> str | None:
        """The name the user's code running now has for ``value``: a local variable of the
        first frame outside gradviz, else a global of its module (the first bound, private
        names aside); None when it has none. ``outside_modules``: the first frame outside the
        methods of modules too (the loop calling the model: ``inputs``, not forward's ``x``).
        ``array``: ``value`` is the array of the Variable named (an index an op took as an
        array: ``ix`` of ``X[ix]``)."""
        frame: FrameType | None = sys._getframe(1)
        while frame is not None and (
            not self.display(frame.f_code.co_filename)
            or (outside_modules and isinstance(frame.f_locals.get("self"), Module))
        ):
            frame = frame.f_back
        if frame is None:
            return None
        for names in (frame.f_locals, frame.f_globals):
            for name, bound in names.items():
                held = bound._data if array and isinstance(bound, Variable) else bound
                if held is value and not name.startswith("_"):
                    return name
        return None


@functools.lru_cache(maxsize=4096)
def _assigned_name(text: str) -> str | None:
    """:meth:`SourceLocator.assigned_name` of a line's text (parsed once per text: a trace per
    training step would parse the same lines again at every step)."""
    found = _ASSIGNS_ONE.match(text)
    if not found:
        return None
    try:
        body = ast.parse(text.strip()).body
        value = getattr(body[0], "value", None)
    except (SyntaxError, IndexError):  # a statement over several lines: its first line
        collection = text[found.end() :].lstrip().startswith(("[", "{"))
    else:  # `x = ...; y = ...` names neither: an op of the line may be either's
        collection = isinstance(value, _COLLECTIONS) or len(body) > 1
    return None if collection else found.group(1)


@functools.lru_cache(maxsize=4096)
def _made_name(text: str) -> str | None:
    """:meth:`SourceLocator.made_name` of a line's text (parsed once per text)."""
    name = _assigned_name(text)
    if name is None:
        return None
    try:
        value = getattr(ast.parse(text.strip()).body[0], "value", None)
    except (SyntaxError, IndexError):
        return None
    if not isinstance(value, ast.Call):
        return None
    inner = [*value.args, *(k.value for k in value.keywords)]
    nested = any(isinstance(node, ast.Call) for arg in inner for node in ast.walk(arg))
    return None if nested else name


_UNREAD = object()


class LineNames:
    """Names op results after the variable their line assigns, as the code calls them
    (``h = self.fc1(x).relu()``: the Relu's result is ``h``).

    Of the ops such a line runs in its frame (directly, or inside gradviz's functions and
    modules), the last one keeps the name: each op of the line takes it over from the one
    before (the Linear above gives it up to the Relu; the steps inside
    ``F.scaled_dot_product_attention`` to its last). Run again in a loop, the line's ops
    take it over as well, up to a backward pass: a name marks the value the variable holds
    when the loss is computed, never a value it did not hold. A line returning one value
    (``return self.fc2(h)``) passes it to the line that called the function
    (``logits = model(x)``), which names it."""

    def __init__(self, locator: SourceLocator, rename: Callable[[Any, str | None], None]) -> None:
        self._locator = locator
        self._rename = rename  # names a node (None: drops the name its variable did not hold)
        self._names: dict[str, Any] = {}  # "file:line" -> the name it assigns, _RETURNS, None
        # code object -> [its frame that named an op last, line, node]: the frame itself (an id
        # is reused by the next call's frame), one per code object (a bounded number held)
        self._last: dict[CodeType, list[Any]] = {}
        self._naming: CodeType | None = None  # the code of the line naming the op being recorded
        # lines unpacking a value (`a, b = x.chunk(2)`) until they ran: [frame, line, names,
        # {variable id: node}]
        self._unpacks: list[list[Any]] = []
        self._unpacking_now = False  # the op being recorded runs on such a line

    def name(self, source: str | None, frame: FrameType | None) -> tuple[str | None, Any]:
        """``(name, replaced)`` for the op about to be recorded at ``source`` in ``frame``:
        the name its line gives its result (or None), and the node recorded earlier in the
        same execution of the line that gives its name up (or None). Call :meth:`recorded`
        with the op's node when it has a name."""
        self._unpacking_now = False
        if self._unpacks:
            self._settle(everything=False)
        if frame is None:
            return None, None
        name = self._name_at(frame, source)
        for _ in range(_MAX_RETURNS):  # a value returned: named by the calling line
            if name is not _RETURNS and not isinstance(name, Element):
                break
            frame = self._locator.caller(frame)
            if frame is None:
                return None, None
            if isinstance(name, Element):  # `mu, logvar = self.encode(x)` names element i
                found = self._line(self._locator.where(frame))
                unpacks = isinstance(found, TupleLine) and found.kind == "unpack"
                name = (
                    found.names[name.index] if unpacks and name.index < len(found.names) else None
                )
            else:
                name = self._name_at(frame, self._locator.where(frame))
        if isinstance(name, TupleLine):  # `q, k, v = qkv(x).split(n, 2)`: named once it ran
            self._unpacking(frame, name.names)
            return None, None
        if not isinstance(name, str):
            return None, None
        line = frame.f_lineno
        last = self._last.get(frame.f_code)
        same = last is not None and last[0] is frame and last[1] == line and last[3] == name
        if last is not None and (last[0] is not frame or last[1] != line):  # the line ran
            self._check(last)
        self._last[frame.f_code] = [frame, line, None, name, None]
        self._naming = frame.f_code
        return name, last[2] if same else None

    def recorded(self, node: Any, variable: int) -> None:
        """The op just named by :meth:`name` (or run by a line unpacking its value) is
        ``node``, its result the Variable of id ``variable``."""
        if self._unpacking_now:
            self._unpacks[-1][3][variable] = node
            return
        self._last[self._naming][2:5:2] = node, variable

    @property
    def unpacking(self) -> bool:
        """Whether the op :meth:`name` just saw runs on a line unpacking its value."""
        return self._unpacking_now

    def forget(self) -> None:
        """A backward pass ended: no line runs across it (and frames come and go)."""
        self._settle(everything=True)
        for last in self._last.values():
            self._check(last)
        self._last.clear()

    def _unpacking(self, frame: FrameType, names: tuple[str, ...]) -> None:
        """An op of the line ``frame`` runs, which unpacks its value into ``names``."""
        self._unpacking_now = True
        entry = self._unpacks[-1] if self._unpacks else None
        if entry is None or entry[0] is not frame or entry[1] != frame.f_lineno:
            self._unpacks.append([frame, frame.f_lineno, names, {}])

    def _settle(self, everything: bool) -> None:
        """Name the results the lines unpacking values put in their variables, once those
        lines ran (``everything``: all of them, a backward pass ended)."""
        waiting = []
        for entry in self._unpacks:
            frame, line, names, made = entry
            if not everything and frame.f_lineno == line:
                waiting.append(entry)
                continue
            held = frame.f_locals
            for name in names:
                value = held.get(name)
                if isinstance(value, Variable) and value._id in made:
                    self._rename(made[value._id], name)
        self._unpacks = waiting

    def _check(self, last: list[Any]) -> None:
        """Once the line that named ``last``'s node has run: drop the name unless the variable
        holds the node's result (``m = Categorical(probs)`` assigns a distribution, not the
        result of the last op its constructor ran)."""
        frame, _, node, name, variable = last
        if node is not None:
            held = frame.f_locals.get(name)
            if not (isinstance(held, Variable) and held._id == variable):
                self._rename(node, None)

    def _name_at(self, frame: FrameType, source: str | None) -> Any:
        """What the line ``source``, running in ``frame``, names: a name, :data:`_RETURNS`, or
        None (a comprehension's element is not the collection its line assigns; a lambda
        returns its value, its line assigns the function)."""
        scope = frame.f_code.co_name
        if scope in _UNNAMED_SCOPES:
            return None
        found = _RETURNS if scope == "<lambda>" else self._line(source)
        if isinstance(found, TupleLine):  # the element of the tuple the op is computing
            index = element(found, frame)
            if found.kind == "unpack":
                return found
            if index is None:
                return None
            return found.names[index] if found.kind == "assign" else Element(index)
        return found

    def _line(self, source: str | None) -> Any:
        """The name line ``source`` assigns, :data:`_RETURNS` for a line returning one value,
        else None."""
        if source is None:
            return None
        found = self._names.get(source, _UNREAD)
        if found is _UNREAD:
            found = self._locator.assigned_name(source)
            if found is None and self._locator.returns_one(source):
                found = _RETURNS
            if found is None:  # `a, b = f(x), g(x)`, `return f(x), g(x)`, `a, b = f(x)`
                found = tuple_line(self._locator._line_text(source))
            self._names[source] = found
        return found


#: How many ``return`` lines a value is followed up through to the line that names it.
_MAX_RETURNS = 8
_RETURNS = object()
#: Code that runs a comprehension: its line's name is the whole collection's, not an element's.
_UNNAMED_SCOPES = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"})
