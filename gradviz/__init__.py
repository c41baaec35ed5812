"""gradviz: a NumPy deep-learning framework with PyTorch's names, built to be seen.

``gradviz.autograd`` holds the engine, ``nn``, ``optim`` and ``data``; the top level re-exports
them under PyTorch's names.
"""

import functools
import math
import sys
import types

from gradviz import autograd as _autograd
from gradviz import testing as testing  # (PyTorch's `torch.testing.assert_close` too)
from gradviz._version import __version__
from gradviz.autograd import (
    AbsentError,
    ArgumentError,
    BackwardError,
    Function,
    Generator,
    GradcheckError,
    GradvizError,
    IndexRangeError,
    InplaceError,
    InputError,
    LayoutError,
    OperandError,
    RegistrationError,
    ShapeError,
    UnsupportedError,
    Variable,
    add,
    allclose,
    amax,
    amin,
    arange,
    argmax,
    argmin,
    bincount,
    bmm,
    cat,
    chunk,
    clamp,
    clip,
    concatenate,
    cos,
    count_nonzero,
    cumsum,
    data,
    device,
    diag,
    distributions,
    einsum,
    empty,
    enable_grad,
    eq,
    equal,
    exp,
    eye,
    flatten,
    from_numpy,
    full,
    full_like,
    func,
    functional,
    gather,
    ge,
    get_default_dtype,
    gradcheck,
    gt,
    index_select,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    is_tensor,
    isfinite,
    isinf,
    isnan,
    le,
    lerp,
    linalg,
    linspace,
    log,
    log_softmax,
    logsumexp,
    lt,
    manual_seed,
    masked_fill,
    matmul,
    maximum,
    mean,
    minimum,
    mm,
    multinomial,
    ne,
    nn,
    no_grad,
    nonzero,
    norm,
    numel,
    ones,
    ones_like,
    optim,
    outer,
    permute,
    prod,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    relu,
    reshape,
    set_default_dtype,
    set_grad_enabled,
    sigmoid,
    sign,
    sin,
    softmax,
    sort,
    special,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    tanh,
    tensor,
    topk,
    transpose,
    tril,
    triu,
    unbind,
    unique,
    unsqueeze,
    var,
    where,
    zeros,
    zeros_like,
)
from gradviz.autograd import absent as _absent
from gradviz.autograd import api_copies as _api_copies
from gradviz.autograd import api_extra as _api_extra
from gradviz.autograd import api_legacy as _api_legacy
from gradviz.autograd import api_misc as _api_misc
from gradviz.autograd import api_real as _api_real
from gradviz.autograd import checkpoint as _checkpoint
from gradviz.autograd import dtypes as _dtypes
from gradviz.autograd import functional_top as _functional_top
from gradviz.autograd import jit as jit
from gradviz.autograd import legacy as _legacy
from gradviz.autograd import runtime as _runtime
from gradviz.autograd import sampler as _sampler
from gradviz.autograd import sparse as sparse
from gradviz.autograd import torch_types as _torch_types
from gradviz.autograd.accelerators import modules as _accelerator_modules
from gradviz.autograd.legacy import Tensor  # isinstance, type hints, PyTorch's constructor
from gradviz.autograd.nn import Parameter
from gradviz.autograd.nn import torch_modules as _torch_modules
from gradviz.autograd.ops import api as _api
from gradviz.autograd.ops import api_alias as _api_alias
from gradviz.autograd.ops import api_index as _api_index
from gradviz.autograd.ops import api_math as _api_math
from gradviz.autograd.ops import api_more as _api_more
from gradviz.autograd.ops import api_twins as _api_twins
from gradviz.autograd.seeding import (
    are_deterministic_algorithms_enabled,
    get_deterministic_debug_mode,
    get_rng_state,
    initial_seed,
    is_deterministic_algorithms_warn_only_enabled,
    seed,
    set_deterministic_debug_mode,
    set_rng_state,
    use_deterministic_algorithms,
)
from gradviz.autograd.seeding import random_module as _random_module
from gradviz.autograd.serialization import SaveFormatError, load, save
from gradviz.autograd.torch_types import Size, set_printoptions

# Kept out of __all__, so `from gradviz import *` leaves Python's builtins of these names alone.
abs, max, min, pow, sum = _api.abs, _api.max, _api.min, _api.pow, _api.sum
all, any, round = _api.all, _api.any, _api.round
# More functions with PyTorch's names (`gradviz.floor`, `gradviz.flip`, `gradviz.median` ...).
globals().update({_name: getattr(_api_more, _name) for _name in _api_more.NAMES})
# PyTorch's other names and small compositions (`gradviz.log2`, `clone`, `subtract`, `concat` ...).
globals().update({_name: getattr(_api_alias, _name) for _name in _api_alias.NAMES})
globals().update({_name: getattr(_api_index, _name) for _name in _api_index.NAMES})
# PyTorch's matrix functions and tensor math (`gradviz.det`, `gradviz.movedim` ...).
globals().update({_name: getattr(_api_math, _name) for _name in _api_math.NAMES})
# The in-place functions of Variable methods and the `nn.functional` functions PyTorch also
# has at the top (`gradviz.relu_`, `gradviz.sin_`, `gradviz.conv2d`, `gradviz.dropout(x, p,
# train)` ...).
globals().update({_name: getattr(_api_twins, _name) for _name in _api_twins.NAMES})
globals().update({_name: getattr(_functional_top, _name) for _name in _functional_top.NAMES})
# `gradviz.asarray`, `promote_types`, `addmv`, `vander` ... (api_extra.py)
globals().update({_name: getattr(_api_extra, _name) for _name in _api_extra.NAMES})
# `gradviz.real`, `conj`, `angle`, `is_complex`, `hann_window` ... (api_real.py)
globals().update({_name: getattr(_api_real, _name) for _name in _api_real.NAMES})
# `gradviz.rsub`, `nanmedian`, `renorm`, `pdist`, `kl_div`, `log10_` ... (api_misc.py);
# `range`, PyTorch's deprecated one, is kept out of __all__ (Python's builtin)
globals().update({_name: getattr(_api_misc, _name) for _name in _api_misc.NAMES})
# `gradviz.svd`, `qr`, `cholesky`, `slice_scatter`, `put`, `histogram`, `ctc_loss` ...
# (api_legacy.py)
globals().update({_name: getattr(_api_legacy, _name) for _name in _api_legacy.NAMES})
# `gradviz.transpose_copy`, `view_copy`, `split_copy` ... (api_copies.py)
globals().update({_name: getattr(_api_copies, _name) for _name in _api_copies.NAMES})
# PyTorch's dtype names (`gradviz.float32`, `gradviz.long` ...), also kept out of __all__, as
# is their class `gradviz.dtype` (NumPy's dtype).
dtype = _torch_types.dtype
# `gradviz.channels_last` ...: memory formats, taken and changing nothing (torch_types.py);
# `gradviz.strided`, the one layout (`x.layout == gradviz.strided`), and its class
memory_format, layout, strided = (
    _torch_types.memory_format,
    _torch_types.layout,
    _torch_types.strided,
)
globals().update({_name: getattr(_torch_types, _name) for _name in _torch_types.MEMORY_FORMATS})
globals().update({_name: getattr(_dtypes, _name) for _name in _dtypes.NAMES})
# `gradviz.FloatTensor([1, 2])`, `LongTensor` ... (legacy.py), also kept out of __all__.
globals().update({_name: getattr(_legacy, _name) for _name in _legacy.TYPED})
# `gradviz.compile`, `set_num_threads`, `finfo` ... (runtime.py), also kept out of __all__.
globals().update({_name: getattr(_runtime, _name) for _name in _runtime.NAMES})

# PyTorch's constants `torch.pi`, `torch.e`, `torch.inf`, `torch.nan` and `torch.newaxis`
# (None: `x[:, torch.newaxis]`), kept out of __all__.
pi, e, inf, nan, newaxis = math.pi, math.e, math.inf, math.nan, None

# PyTorch's `torch.vmap`, the same function as `torch.func.vmap` (a loop here: one call per
# example).
vmap = func.vmap

# PyTorch's `torch.sparse.mm` and `torch.spmm` on dense matrices; making a sparse tensor is
# refused with the dense way to write it (sparse.py).
spmm, sparse_coo_tensor = sparse.mm, sparse.sparse_coo_tensor

# `from gradviz.utils.data import DataLoader` as PyTorch's `torch.utils.data`.
utils = types.ModuleType(
    f"{__name__}.utils", "PyTorch's `torch.utils`: `utils.data`, `utils.checkpoint`."
)
utils.data = data  # type: ignore[attr-defined]
utils.checkpoint = _checkpoint  # type: ignore[attr-defined]
# `from gradviz.utils.data.dataloader import default_collate`, `.dataset`, `.sampler`: PyTorch's
# submodules of `torch.utils.data` are that one module here (the samplers' for `.sampler`).
data.dataloader = data.dataset = data  # type: ignore[attr-defined]
data.sampler = _sampler  # type: ignore[attr-defined]

# `from gradviz.nn.modules.loss import _Loss`, `from gradviz.nn.modules.utils import _pair` ...
nn.modules = _torch_modules.install(nn, f"{__name__}.nn.modules")  # type: ignore[attr-defined]

# `torch.random.fork_rng()`, `torch.random.manual_seed`; `torch.version.cuda` is None.
random = _random_module(__name__)
version = types.ModuleType(f"{__name__}.version", "PyTorch's torch.version: no CUDA, no HIP.")
version.__version__, version.cuda, version.hip = __version__, None, None  # type: ignore[attr-defined]

# `torch.hub`, `torch.onnx` ... say what to do instead; `distributed.is_available()` is False;
# `utils.tensorboard.SummaryWriter` writes nothing and says so (absent.py).
_absent_modules = _absent.modules(__name__)
hub, onnx, profiler, distributed = (
    _absent_modules[n] for n in ("hub", "onnx", "profiler", "distributed")
)
utils.tensorboard = _absent_modules["utils.tensorboard"]  # type: ignore[attr-defined]
for _name in ("export", "fx", "quantization", "ao", "multiprocessing"):
    globals()[_name] = _absent_modules[_name]

# `torch.cuda.is_available()` and its kind are False: the tutorials' device line picks the CPU.
_accelerators = _accelerator_modules(__name__)
cuda, backends, accelerator, cpu, amp = (
    _accelerators[n] for n in ("cuda", "backends", "accelerator", "cpu", "amp")
)
autocast = amp.autocast

# `import gradviz.nn`, `from gradviz.nn import functional as F`, `import gradviz.optim`,
# `from gradviz.optim import lr_scheduler` all work.
for _name, _module in {
    "nn": nn,
    "nn.functional": functional,
    "distributions": distributions,
    "distributions.constraints": distributions.constraints,
    "nn.utils": nn.utils,
    "nn.utils.rnn": nn.utils.rnn,
    "nn.utils.parametrize": nn.utils.parametrize,
    "nn.utils.parametrizations": nn.utils.parametrizations,
    "nn.utils.prune": nn.utils.prune,
    "optim": optim,
    "linalg": linalg,
    "special": special,
    "sparse": sparse,
    "optim.lr_scheduler": optim.lr_scheduler,
    "optim.swa_utils": optim.swa_utils,
    "data": data,
    "utils": utils,
    "utils.data": data,
    "utils.data.dataloader": data,
    "utils.data.dataset": data,
    "utils.data.sampler": _sampler,
    "utils.checkpoint": _checkpoint,
    "jit": jit,
    "func": func,
    "functional": functional,
    **_accelerators,
    **_absent_modules,
    "random": random,
    "version": version,
}.items():
    sys.modules[f"{__name__}.{_name}"] = _module

_VIZ_NAMES = {
    "trace": "gradviz.viz",
    "load_trace": "gradviz.viz",
    "Trace": "gradviz.viz",
    "render": "gradviz.viz",
    "diff": "gradviz.viz",
    "DiffReport": "gradviz.viz",
    "detect_anomaly": "gradviz.viz.diagnose",
    "set_detect_anomaly": "gradviz.viz.diagnose",
    "is_anomaly_enabled": "gradviz.viz.diagnose",
    "is_anomaly_check_nan_enabled": "gradviz.viz.diagnose",
}


def __getattr__(name: str) -> object:
    """Import the visualizer only when one of its names is used (the engine stays viz-free);
    a name of PyTorch's that gradviz has not is an ``AbsentError`` saying what to use."""
    if name in _VIZ_NAMES:
        import importlib

        return getattr(importlib.import_module(_VIZ_NAMES[name]), name)
    if _absent.is_torch_name(name):  # say what to use instead of torch.<name>
        raise _absent.absent(name)
    raise AttributeError(f"module 'gradviz' has no attribute {name!r}")


# PyTorch keeps anomaly mode in `torch.autograd`; here it is a diagnosis, above the engine: the
# engine's package names it and this package, which may import the visualizer, provides it.
for _name in ("detect_anomaly", "set_detect_anomaly"):
    _autograd.ABOVE[_name] = functools.partial(__getattr__, _name)


__all__ = [
    "AbsentError",
    "ArgumentError",
    "BackwardError",
    "Function",
    "Generator",
    "GradcheckError",
    "GradvizError",
    "IndexRangeError",
    "InplaceError",
    "InputError",
    "LayoutError",
    "OperandError",
    "Parameter",
    "RegistrationError",
    "SaveFormatError",
    "ShapeError",
    "Size",
    "Tensor",
    "UnsupportedError",
    "Variable",
    "__version__",
    "add",
    "allclose",
    "amax",
    "amin",
    "arange",
    "are_deterministic_algorithms_enabled",
    "argmax",
    "argmin",
    "bincount",
    "bmm",
    "cat",
    "chunk",
    "clamp",
    "clip",
    "concatenate",
    "cos",
    "count_nonzero",
    "cumsum",
    "data",
    "device",
    "diag",
    "distributions",
    "einsum",
    "empty",
    "enable_grad",
    "eq",
    "equal",
    "exp",
    "eye",
    "flatten",
    "from_numpy",
    "full",
    "full_like",
    "func",
    "functional",
    "gather",
    "ge",
    "get_default_dtype",
    "get_deterministic_debug_mode",
    "get_rng_state",
    "gradcheck",
    "gt",
    "index_select",
    "inference_mode",
    "initial_seed",
    "is_deterministic_algorithms_warn_only_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "is_tensor",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "lerp",
    "linalg",
    "linspace",
    "load",
    "log",
    "log_softmax",
    "logsumexp",
    "lt",
    "manual_seed",
    "masked_fill",
    "matmul",
    "maximum",
    "mean",
    "minimum",
    "mm",
    "multinomial",
    "ne",
    "nn",
    "no_grad",
    "nonzero",
    "norm",
    "numel",
    "ones",
    "ones_like",
    "optim",
    "outer",
    "permute",
    "prod",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "relu",
    "reshape",
    "save",
    "seed",
    "set_default_dtype",
    "set_deterministic_debug_mode",
    "set_grad_enabled",
    "set_printoptions",
    "set_rng_state",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "sort",
    "special",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "tanh",
    "tensor",
    "topk",
    "transpose",
    "tril",
    "triu",
    "unbind",
    "unique",
    "unsqueeze",
    "use_deterministic_algorithms",
    "var",
    "vmap",
    "where",
    "zeros",
    "zeros_like",
]
__all__ += _api_more.NAMES
__all__ += _api_alias.NAMES
__all__ += _api_index.NAMES
__all__ += _api_math.NAMES
__all__ += _api_twins.NAMES
__all__ += _functional_top.NAMES
__all__ += _api_extra.NAMES
__all__ += _api_copies.NAMES
__all__ += _api_real.NAMES
__all__ += _api_legacy.NAMES
__all__ += [_name for _name in _api_misc.NAMES if _name != "range"]
