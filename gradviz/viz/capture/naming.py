"""Module paths and parameter names: which module ran an op, and what a parameter is called.

A trace sees modules as they are called. Each top-level module (one called outside any other)
is scanned with ``named_modules()`` / ``named_parameters()`` / ``named_buffers()``; a module run
inside it but not registered in it (kept in a plain list, say) is named by its class. Buffers are
named by module path like parameters (``bn1.running_mean``). Records keep a path relative
to their top-level module; the full dotted paths, parameter names and the module table are
resolved when a graph is built, once every top-level module is known (see
:meth:`ModuleNames.resolve`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from gradviz.autograd.nn.module import Module
from gradviz.autograd.variable import Variable
from gradviz.viz.records.graph import build_graph, join_path
from gradviz.viz.records.schema import NodeRecord

#: (prefix of each top-level module, Variable id -> parameter or buffer name, module path -> class
#: name)
Naming = tuple[list[str], dict[int, str], dict[str, str]]


@dataclass
class _Root:
    """A top-level module (one called outside any other) and the paths of its descendants."""

    module: Module
    #: the name the user's code had for it when first called (``D`` of ``D(fake)``), or None
    bound: str | None = None
    paths: dict[int, str] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    params: list[tuple[str, int]] = field(default_factory=list)
    buffers: list[tuple[str, int]] = field(default_factory=list)
    # modules run inside this one but not registered in it (kept in a plain list, say)
    extras: dict[int, tuple[Module, str]] = field(default_factory=dict)
    # tensors functional_call ran the model with, by engine id: (name, is a buffer)
    stand_ins: dict[int, tuple[str, bool]] = field(default_factory=dict)

    def scan(self) -> None:
        self.paths = {}
        self.classes = {}
        modules = list(self.module.named_modules())
        for path, module in modules:
            self.paths[id(module)] = path
            self.classes[path] = type(module).__name__
        for key, (module, path) in self.extras.items():
            self.paths.setdefault(key, path)
            self.classes.setdefault(path, type(module).__name__)
        if walks_as_module(self.module):  # one walk: what named_parameters() would give
            self.params = _members(modules, "_parameters")
            self.buffers = _members(modules, "_buffers")
        else:
            self.params = [(name, p._id) for name, p in self.module.named_parameters()]
            self.buffers = [(name, b._id) for name, b in self.module.named_buffers()]
        self._extra_params()
        self._stand_ins()

    def _stand_ins(self) -> None:
        """The tensors ``functional_call`` ran the model with, named as what they stood for."""
        known = {var_id for _, var_id in (*self.params, *self.buffers)}
        for var_id, (name, is_buffer) in self.stand_ins.items():
            if var_id not in known:
                (self.buffers if is_buffer else self.params).append((name, var_id))

    def _extra_params(self) -> None:
        """Parameters and buffers of the modules run but not registered: named by their
        module's path."""
        for members, named in ((self.params, "named_parameters"), (self.buffers, "named_buffers")):
            known = {var_id for _, var_id in members}
            for module, path in self.extras.values():
                for name, p in getattr(module, named)():
                    if p._id not in known:
                        known.add(p._id)
                        members.append((join_path(path, name), p._id))

    def add_extra(self, module: Module, path: str) -> None:
        self.extras[id(module)] = (module, path)
        self.paths[id(module)] = path
        self.classes.setdefault(path, type(module).__name__)
        self._extra_params()


_WALKS = ("named_modules", "named_parameters", "named_buffers", "_named_members")


def walks_as_module(module: Module) -> bool:
    """Whether ``module`` lists its members with :class:`Module`'s own methods (not
    overridden), so that one walk of ``named_modules()`` gives what they give."""
    cls = type(module)
    return all(getattr(cls, name) is getattr(Module, name) for name in _WALKS)


def _members(modules: list[tuple[str, Module]], table: str) -> list[tuple[str, int]]:
    """``(dotted name, Variable id)`` of the ``_parameters`` or ``_buffers`` of ``modules``
    (``named_modules()`` order), each Variable once, as ``named_parameters()`` lists them."""
    seen: set[int] = set()
    out = []
    for path, module in modules:
        for name, value in getattr(module, table).items():
            if value is None or id(value) in seen:
                continue
            seen.add(id(value))
            out.append((f"{path}.{name}" if path else name, value._id))
    return out


class ModuleNames:
    """The top-level modules a trace saw, and the names resolved from them (cached until a new
    module turns up)."""

    def __init__(self) -> None:
        self.roots: list[_Root] = []
        self._naming: Naming | None = None
        #: the engine ids of every buffer of the modules seen (kept up to date by every scan)
        self.buffer_ids: set[int] = set()

    def _scanned(self, root: _Root) -> None:
        self._naming = None
        self.buffer_ids.update(var_id for _, var_id in root.buffers)

    def find_root(
        self, module: Module, bound_name: Callable[[Any], str | None] | None = None
    ) -> tuple[int, str]:
        """(top-level index, path) of a module called outside any other; a module not inside
        a known top-level module becomes a new one (path ""), named by ``bound_name(module)``
        (the caller's name for it) if it has parameters."""
        for index, root in enumerate(self.roots):
            path = root.paths.get(id(module))
            if path is not None:
                return index, path
        root = _Root(module)
        if bound_name is not None and next(iter(module.parameters()), None) is not None:
            root.bound = bound_name(module)
        root.scan()
        self.roots.append(root)
        self._scanned(root)
        return len(self.roots) - 1, ""

    def reparametrized(
        self,
        module: Module,
        tensors: dict[str, Variable],
        bound_name: Callable[[Any], str | None] | None = None,
    ) -> None:
        """``functional_call`` runs ``module`` with ``tensors`` (by dotted name) in place of
        its parameters and buffers: they are named as what they stand for."""
        for root in self.roots:
            path = root.paths.get(id(module))
            if path is not None:
                break
        else:
            index, path = self.find_root(module, bound_name)
            root = self.roots[index]
        buffers = {name for name, _ in module.named_buffers(remove_duplicate=False)}
        for name, value in tensors.items():
            if isinstance(value, Variable):
                root.stand_ins[value._id] = (join_path(path, name), name in buffers)
        root._stand_ins()
        self._scanned(root)

    def path_in(self, index: int, module: Module, parent: str) -> str:
        """The path of ``module``, called inside the module at ``parent`` of top-level
        module ``index``."""
        root = self.roots[index]
        path = root.paths.get(id(module))
        if path is None:
            root.scan()  # the model may have grown since
            self._scanned(root)
            path = root.paths.get(id(module))
        if path is None:  # not registered (kept in a plain list?): name it by its class
            path = join_path(parent, type(module).__name__)
            root.add_extra(module, path)
            self._scanned(root)
        return path

    def resolve(self) -> Naming:
        """Prefixes of the top-level modules, parameter names and the module table.

        The top-level module with the most parameters (the first on a tie) is the model: its
        paths are used as they are (``fc1``, ``0``) when it is the only one with parameters;
        a top-level module with parameters beside it is prefixed with the name the script
        called it by (a GAN's ``G`` and ``D``), any other with its class name (a loss module:
        ``CrossEntropyLoss``).
        """
        if self._naming is None:
            self._naming = self._compute()
        return self._naming

    def _compute(self) -> Naming:
        roots = self.roots
        if not roots:
            return [], {}, {}
        main = max(range(len(roots)), key=lambda i: (len(roots[i].params), -i))
        prefixes = []
        used: set[str] = set()
        unnamed = not _named_beside_others(roots, main)
        taken = {path.partition(".")[0] for path in roots[main].classes} if unnamed else set()
        for index, root in enumerate(roots):
            if index == main and unnamed:
                prefixes.append("")
                continue
            bound = root.bound if root.bound not in taken else None
            base = bound or type(root.module).__name__
            name, n = base, 1
            while name in used:
                n += 1
                name = f"{base}_{n}"
            used.add(name)
            prefixes.append(name)
        names: dict[int, str] = {}
        modules: dict[str, str] = {}
        for index in [main, *(i for i in range(len(roots)) if i != main)]:
            root = roots[index]
            for name, var_id in (*root.params, *root.buffers):
                names.setdefault(var_id, join_path(prefixes[index], name))
            for path, cls in root.classes.items():
                modules.setdefault(join_path(prefixes[index], path), cls)
        return prefixes, names, modules

    def parameters(
        self,
        var_nodes: dict[int, str],
        roots: Collection[int],
        nodes: Collection[str] = (),
    ) -> list[tuple[str, str | None, bool]]:
        """Every parameter of the top-level modules ``roots`` (indices: the models a pass ran;
        a model trained earlier in the script, and gone, is not this pass's): (name, node id
        or None, requires_grad). A parameter ``functional_call`` gave a stand-in for, and that
        this pass did not record, is its stand-in among the pass's ``nodes``."""
        _, names, _ = self.resolve()
        out = []
        seen: set[int] = set()
        for index, root in enumerate(self.roots):
            if index not in roots:
                continue
            stood = self._stood_in(root, var_nodes, nodes)
            extras = [
                (join_path(path, name), p)
                for module, path in root.extras.values()
                for name, p in module.named_parameters()
            ]
            for local, p in [*root.module.named_parameters(), *extras]:
                if p._id not in seen:
                    seen.add(p._id)
                    name = names.get(p._id, local)
                    node = var_nodes.get(p._id)
                    if local in stood and (node is None or node not in nodes):
                        out.append((name, stood[local], True))
                        continue
                    out.append((name, node, bool(p.requires_grad)))
        return out

    @staticmethod
    def _stood_in(root: _Root, var_nodes: dict[int, str], nodes: Collection[str]) -> dict:
        """Name -> node of the first stand-in of each parameter among ``nodes``."""
        chosen: dict[str, str] = {}
        if not root.stand_ins or not nodes:
            return chosen
        inside = set(nodes)
        for var_id, (name, is_buffer) in root.stand_ins.items():
            node = var_nodes.get(var_id)
            if not is_buffer and node in inside:
                chosen.setdefault(name, node)
        return chosen

    def builder(
        self,
        records: list[NodeRecord],
        refs: dict[str, weakref.ref],
        script: str | None,
        **kwargs: Any,
    ) -> Callable[[], nx.DiGraph]:
        """A function building the graph of ``records`` with today's names and module paths
        (``refs``: node id -> the Variable, to pick up a name given after its op ran)."""
        prefixes, param_names, modules = self.resolve()
        used = {record.root for record in records}  # the models these records ran
        if not set(range(len(self.roots))) <= used:  # a model trained earlier is not theirs
            mine = {
                join_path(prefixes[index], path)
                for index in used
                if 0 <= index < len(self.roots)
                for path in self.roots[index].classes
            }
            modules = {path: cls for path, cls in modules.items() if path in mine}
        names = {}
        for record in records:  # a Variable named after its op ran
            ref = refs.get(record.id)
            var = ref() if ref is not None else None
            if isinstance(var, Variable) and var.name is not None and var.name != record.name:
                names[record.id] = var.name

        def build() -> nx.DiGraph:
            return build_graph(
                records,
                script=script,
                modules=modules,
                prefixes=prefixes,
                param_names=param_names,
                names=names,
                **kwargs,
            )

        return build


def _named_beside_others(roots: list[_Root], main: int) -> bool:
    """Whether the model ``roots[main]`` is used beside other top-level modules with parameters
    and the script has a name for it (a GAN's ``G`` beside ``D``, DQN's ``policy_net`` beside
    ``target_net``, ``gru = nn.GRU(...)`` between ``emb`` and ``head``): then every model is
    named by the script's name for it, not one of them left unnamed (``0.weight`` beside
    ``target_net.0.weight``)."""
    return roots[main].bound is not None and any(r.params for i, r in enumerate(roots) if i != main)
