"""``gradviz.nn.modules`` (made by ``install``): PyTorch's ``torch.nn.modules`` and its
submodules, which scripts import from (``from torch.nn.modules.loss import _Loss``,
``from torch.nn.modules.utils import _pair``, ``from torch.nn.modules.module import
register_module_forward_hook``).

Each submodule holds every public name of ``gradviz.nn`` and the private bases PyTorch keeps
there, so an import that names a class in the wrong submodule still finds it."""

from __future__ import annotations

import collections.abc
import itertools
import sys
import types
from collections.abc import Callable
from typing import Any

from gradviz.autograd.nn.backward_hooks import (
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
)
from gradviz.autograd.nn.conv import _ConvNd
from gradviz.autograd.nn.conv_transpose import _ConvTransposeNd
from gradviz.autograd.nn.forward_hooks import (
    RemovableHandle,
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from gradviz.autograd.nn.layers import _Loss, _WeightedLoss
from gradviz.autograd.nn.norm import _BatchNorm
from gradviz.autograd.nn.norm_more import _InstanceNorm

SUBMODULES = (
    "activation",
    "adaptive",
    "batchnorm",
    "channelshuffle",
    "container",
    "conv",
    "distance",
    "dropout",
    "flatten",
    "fold",
    "instancenorm",
    "lazy",
    "linear",
    "loss",
    "module",
    "normalization",
    "padding",
    "pixelshuffle",
    "pooling",
    "rnn",
    "sparse",
    "transformer",
    "upsampling",
    "utils",
)


def _ntuple(n: int, name: str = "parse") -> Callable[[Any], tuple[Any, ...]]:
    """PyTorch's ``_ntuple``: an iterable as a tuple, anything else repeated ``n`` times."""

    def parse(x: Any) -> tuple[Any, ...]:
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(itertools.repeat(x, n))

    parse.__name__ = name
    return parse


_single, _pair, _triple, _quadruple = (
    _ntuple(n, name)
    for n, name in ((1, "_single"), (2, "_pair"), (3, "_triple"), (4, "_quadruple"))
)

PRIVATE = {
    "_Loss": _Loss,
    "_WeightedLoss": _WeightedLoss,
    "_BatchNorm": _BatchNorm,
    "_NormBase": _BatchNorm,
    "_InstanceNorm": _InstanceNorm,
    "_ConvNd": _ConvNd,
    "_ConvTransposeNd": _ConvTransposeNd,
    "_ntuple": _ntuple,
    "_single": _single,
    "_pair": _pair,
    "_triple": _triple,
    "_quadruple": _quadruple,
    "RemovableHandle": RemovableHandle,
    "register_module_forward_pre_hook": register_module_forward_pre_hook,
    "register_module_forward_hook": register_module_forward_hook,
    "register_module_full_backward_pre_hook": register_module_full_backward_pre_hook,
    "register_module_full_backward_hook": register_module_full_backward_hook,
}


def install(nn: types.ModuleType, name: str) -> types.ModuleType:
    """Make the package ``name`` (``gradviz.nn.modules``) and its submodules, in
    ``sys.modules`` too, from ``nn``'s public names and the private ones above; return it."""
    names = {name: getattr(nn, name) for name in nn.__all__}
    package = _namespace(name, names)
    for sub in SUBMODULES:
        module = _namespace(f"{package.__name__}.{sub}", names)
        setattr(package, sub, module)
    return package


def _namespace(name: str, names: dict[str, Any]) -> types.ModuleType:
    module = types.ModuleType(name, __doc__)
    module.__dict__.update(names)
    module.__dict__.update(PRIVATE)
    sys.modules[name] = module
    return module
