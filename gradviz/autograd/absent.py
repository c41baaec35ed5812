"""What gradviz says for the parts of PyTorch it has not, in one voice: an ``UnsupportedError``
(an AttributeError, so ``hasattr`` probes find nothing) saying what to do instead.

PyTorch's modules that gradviz has no counterpart of (``torch.hub``, ``torch.onnx`` ...) are
modules whose every attribute raises ``UnsupportedError``; two that scripts mostly probe or log
to are there: ``distributed`` (``is_available()`` is False, as on a build without it) and
``utils.tensorboard`` (a ``SummaryWriter`` that writes nothing and says so once).

A single name of PyTorch's top level that gradviz has not (``gradviz.quantize_per_tensor``,
``gradviz.ScriptModule`` ...) raises ``AbsentError``, the ``UnsupportedError`` of one name,
saying that gradviz (NumPy) has no ``torch.<name>`` and, where there is one, what to write
instead. The names are PyTorch 2.13's; each group has one hint, a group by its names and
prefixes.
"""

from __future__ import annotations

import multiprocessing
import types
import warnings
from typing import Any

from gradviz.autograd.errors import AbsentError, UnsupportedError
from gradviz.autograd.jit import _HOW as _TORCHSCRIPT
from gradviz.autograd.sparse import DENSE

#: PyTorch's module (below ``torch``) -> what gradviz says instead
ABSENT = {
    "hub": "gradviz downloads no pretrained models (torch.hub): build the model in your code "
    "and load weights saved with gradviz.save",
    "onnx": "gradviz exports no ONNX (torch.onnx): save model.state_dict() with gradviz.save",
    "export": "gradviz exports no programs (torch.export): save model.state_dict() with "
    "gradviz.save",
    "fx": "gradviz has no FX graphs (torch.fx): gradviz.trace() records the graph of a run",
    "quantization": "gradviz computes in float32 and float64 only (no torch.quantization)",
    "ao": "gradviz computes in float32 and float64 only (no torch.ao quantization)",
    "profiler": "gradviz has no profiler (torch.profiler): time the script with python -m "
    "cProfile, or see each step's statistics with gradviz timeline",
    "multiprocessing": "gradviz shares no tensors between processes (torch.multiprocessing): "
    "train in one process",
}


def _absent(name: str, message: str) -> types.ModuleType:
    module = types.ModuleType(name, f"Not in gradviz: {message}.")

    def missing(attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise UnsupportedError(f"{name}.{attribute}: {message}")

    module.__getattr__ = missing  # type: ignore[method-assign]
    return module


def _distributed(package: str) -> types.ModuleType:
    module = _absent(
        f"{package}.distributed",
        "gradviz trains in one process (no torch.distributed); "
        "is_available() is False, as on a PyTorch built without it",
    )
    module.is_available = lambda: False  # type: ignore[attr-defined]
    return module


class SummaryWriter:
    """PyTorch's ``torch.utils.tensorboard.SummaryWriter``, writing nothing: gradviz has no
    TensorBoard backend. It warns once when made, and every ``add_*`` call is accepted, so a
    script that logs runs on (``gradviz timeline`` records the loss and every parameter's
    statistics per step instead)."""

    _warned = False

    def __init__(self, log_dir: Any = None, *args: Any, **kwargs: Any) -> None:
        self.log_dir = log_dir
        if not SummaryWriter._warned:
            SummaryWriter._warned = True
            warnings.warn(
                "gradviz.utils.tensorboard.SummaryWriter writes no TensorBoard files (gradviz "
                "has no TensorBoard backend); `gradviz timeline SCRIPT` records the loss and "
                "every parameter's statistics per step",
                UserWarning,
                stacklevel=2,
            )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("add_") or name in ("flush", "close"):
            return lambda *args, **kwargs: None
        raise AttributeError(f"'SummaryWriter' object has no attribute {name!r}")

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


#: ``torch.multiprocessing``'s names that only choose or ask how processes start: the standard
#: library's, so ``mp.set_start_method("spawn", force=True)`` runs
_START_METHOD_NAMES = (
    "set_start_method",
    "get_start_method",
    "get_all_start_methods",
    "get_context",
    "cpu_count",
    "freeze_support",
    "current_process",
)


def modules(package: str) -> dict[str, types.ModuleType]:
    """The namespaces under ``package`` (``"gradviz"``), by dotted name below it."""
    found = {name: _absent(f"{package}.{name}", text) for name, text in ABSENT.items()}
    found["distributed"] = _distributed(package)
    for name in _START_METHOD_NAMES:  # the process-wide switches, harmless without sharing
        setattr(found["multiprocessing"], name, getattr(multiprocessing, name))
    found["utils.tensorboard"] = types.ModuleType(
        f"{package}.utils.tensorboard", "PyTorch's SummaryWriter, writing nothing (see absent)."
    )
    found["utils.tensorboard"].SummaryWriter = SummaryWriter  # type: ignore[attr-defined]
    return found


_FLOAT = "NumPy computes in float32 or float64: keep the model in a float dtype"

#: (hint, names, prefixes): the first group a name is in gives its hint (a prefix ``*x`` is the
#: suffix ``x``)
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        f"gradviz has no quantized tensors ({_FLOAT})",
        "dequantize int_repr qscheme choose_qparams_optimized fused_moving_avg_obs_fake_quant "
        "empty_quantized per_channel_affine per_channel_affine_float_qparams "
        "per_channel_symmetric per_tensor_affine per_tensor_symmetric qint32 qint8 quint2x4 "
        "quint4x2 quint8 QInt32Storage QInt8Storage QUInt2x4Storage QUInt4x2Storage "
        "QUInt8Storage",
        ("quantize_", "quantized_", "q_", "fake_quantize_", "fbgemm_"),
    ),
    (
        DENSE,
        "hspmm smm sspaddmm saddmm dsmm hsmm resize_as_sparse_ sparse_coo sparse_csr "
        "sparse_csc sparse_bsr sparse_bsc values_copy indices_copy ccol_indices_copy "
        "col_indices_copy crow_indices_copy row_indices_copy",
        ("sparse_",),
    ),
    (
        "gradviz has no complex dtypes: keep the real and imaginary parts as two real "
        "Variables (z = torch.stack((re, im), -1))",
        "complex complex32 complex64 complex128 cfloat cdouble chalf polar view_as_complex "
        "view_as_complex_copy view_as_real view_as_real_copy "
        "stft istft fft "
        "ComplexDoubleStorage ComplexFloatStorage ComplexType",
        (),
    ),
    (
        "it is a backend kernel, and gradviz runs every op on the CPU through NumPy: call the "
        "public op (torch.conv2d, torch.batch_norm, F.grid_sample ...)",
        "conv_tbc convolution affine_grid_generator grid_sampler grid_sampler_2d "
        "grid_sampler_3d norm_except_dim native_norm batch_norm_backward_elemt "
        "batch_norm_backward_reduce batch_norm_elemt batch_norm_gather_stats "
        "batch_norm_gather_stats_with_counts batch_norm_stats batch_norm_update_stats "
        "embedding_renorm_ segment_reduce is_vulkan_available has_lapack has_mkl has_openmp "
        "has_spectral compiled_with_cxx11_abi",
        ("cudnn_", "miopen_", "mkldnn_", "native_"),
    ),
    (
        _TORCHSCRIPT,
        "AliasDb AnyType Argument ArgumentSpec AwaitType Block BoolType BufferDict CallStack "
        "Capsule ClassType Code CompilationUnit CompleteArgumentSpec ConcreteModuleType "
        "ConcreteModuleTypeBuilder DeepCopyMemoTable DeviceObjType DictType EnumType "
        "ErrorReport ExecutionPlan FileCheck FloatType FunctionSchema Future FutureType "
        "Gradient Graph GraphExecutorState IODescriptor InferredType IntType InterfaceType "
        "JITException ListType LiteScriptModule Node NoneType NumberType OptionalType "
        "PyObjectType RRefType ScriptClass ScriptClassFunction ScriptDict ScriptDictIterator "
        "ScriptDictKeyIterator ScriptFunction ScriptList ScriptListIterator ScriptMethod "
        "ScriptModule ScriptModuleSerializer ScriptObject ScriptObjectProperty StaticModule "
        "StreamObjType StringType TensorType TupleType Type UnionType Use Value fork wait "
        "parse_ir parse_schema parse_type_comment import_ir_module "
        "import_ir_module_from_buffer merge_type_from_type_comment unify_type_list futures "
        "classes ops library",
        (),
    ),
    (
        "a Variable's memory is a NumPy array: x.numpy() shares it and gradviz.from_numpy(a) "
        "wraps one",
        "Storage StorageBase TypedStorage UntypedStorage BFloat16Tensor is_storage from_file "
        "frombuffer from_dlpack to_dlpack as_strided as_strided_ as_strided_copy "
        "as_strided_scatter empty_strided empty_permuted storage PyTorchFileReader "
        "PyTorchFileWriter SerializationStorageContext DeserializationStorageContext",
        ("*Storage",),
    ),
    (
        "gradviz computes every op in its inputs' dtype: torch.autocast(...) runs the code as "
        "it is",
        "clear_autocast_cache",
        ("autocast_", "get_autocast_", "set_autocast_", "is_autocast_"),
    ),
    (
        f"NumPy has no such dtype ({_FLOAT}, or an integer dtype)",
        "bit bits16 bits1x8 bits2x4 bits4x2 bits8 float4_e2m1fn_x2 float8_e4m3fn "
        "float8_e4m3fnuz float8_e5m2 float8_e5m2fnuz float8_e8m0fnu int1 int2 int3 int4 int5 "
        "int6 int7 uint1 uint2 uint3 uint4 uint5 uint6 uint7 uint16 uint32 uint64",
        (),
    ),
    (
        "symbolic shapes belong to torch.compile and torch.export; gradviz's shapes are ints "
        "and torch.compile(model) returns the model",
        "SymBool SymBoolType SymFloat SymInt SymIntType compiler cond while_loop",
        ("sym_",),
    ),
    (
        "gradviz lays every Variable out densely, row by row (torch.strided): leave out the "
        "layout argument (memory formats such as torch.channels_last are taken and change "
        "nothing)",
        "legacy_contiguous_format jagged nested",
        (),
    ),
    (
        "PyTorch removed it too: use torch.linalg (gradviz.linalg.eigh, lstsq by "
        "gradviz.linalg.pinv(A) @ B, gradviz.linalg.solve, gradviz.linalg.matrix_rank)",
        "eig symeig lstsq solve matrix_rank",
        (),
    ),
    (
        "gradviz.linalg has no LU, Householder or low-rank routines: solve "
        "with gradviz.linalg.solve, factor with gradviz.linalg.qr or svd; the nuclear and "
        "Frobenius norms are gradviz.linalg.matrix_norm(A, 'nuc') and (A, 'fro')",
        "lu lu_solve "
        "lu_unpack geqrf orgqr ormqr lobpcg pca_lowrank svd_lowrank nuclear_norm "
        "frobenius_norm",
        (),
    ),
)

#: hints for single names: the function of gradviz to use instead
INSTEAD = {
    "embedding_bag": "use F.embedding_bag",
    "lstm": "use nn.LSTM",
    "gru": "use nn.GRU",
    "rnn_tanh": "use nn.RNN",
    "rnn_relu": "use nn.RNN(nonlinearity='relu')",
    "lstm_cell": "use nn.LSTMCell",
    "gru_cell": "use nn.GRUCell",
    "rnn_tanh_cell": "use nn.RNNCell",
    "rnn_relu_cell": "use nn.RNNCell(nonlinearity='relu')",
    "GradScaler": "use torch.amp.GradScaler",
    "ModuleDict": "use nn.ModuleDict",
    "ParameterDict": "use nn.ParameterDict",
    "set_default_tensor_type": "use torch.set_default_dtype",
    "typename": "use type(x).__name__ or x.type()",
    "set_anomaly_enabled": "use torch.autograd.set_detect_anomaly",
}

_NAMES = {name: hint for hint, names, _ in GROUPS for name in names.split()}
_PREFIXES = tuple((prefix, hint) for hint, _, prefixes in GROUPS for prefix in prefixes)

#: PyTorch's other top-level names gradviz has not, without a hint
OTHERS = frozenset(
    "AVG SUM AcceleratorError AggregationType BenchmarkConfig BenchmarkExecutionStats "
    "DisableTorchFunction DisableTorchFunctionSubclass DispatchKey DispatchKeySet Event "
    "ExcludeDispatchKeyGuard FatalError LockingLogger LoggerBase NoopLogger OperatorInfo "
    "OutOfMemoryError Stream Tag ThroughputBenchmark TracingState "
    ""
    "classproperty cpp default_generator "
    ""
    "get_device_module get_file_path "
    "hash_tensor "
    "histogramdd "
    "is_distributed "
    "masked monitor mps mtia "
    "overrides package "
    "prepare_multiprocessing_environment "
    "profiler_allow_cudagraph_cupti_lazy_reinit_cuda12 "
    "quasirandom resize_as_ return_types "
    "serialization "
    "signal slice_inverse "
    "thread_safe_generator "
    "torch_version "
    "windows xpu".split()
)


def hint(name: str) -> str | None:
    """What to use instead of ``torch.<name>``, if gradviz knows; None for a name PyTorch has
    not either, or one without a hint."""
    if name in INSTEAD:
        return INSTEAD[name]
    if name in _NAMES:
        return _NAMES[name]
    return next((h for prefix, h in _PREFIXES if _matches(name, prefix)), None)


def _matches(name: str, prefix: str) -> bool:
    """``name`` starts with ``prefix`` (ends with it, for ``*suffix``)."""
    return name.endswith(prefix[1:]) if prefix.startswith("*") else name.startswith(prefix)


def is_torch_name(name: str) -> bool:
    """Whether ``name`` is one of PyTorch's top-level names gradviz has not."""
    return name in OTHERS or hint(name) is not None


def absent(name: str) -> AbsentError:
    """The error of ``gradviz.<name>`` for a PyTorch name gradviz has not."""
    instead = hint(name)
    return AbsentError(
        f"module 'gradviz' has no attribute {name!r}: gradviz (NumPy) has no torch.{name}"
        + (f"; {instead}" if instead else "")
    )
