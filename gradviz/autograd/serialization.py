"""``gradviz.save`` / ``gradviz.load``: state dicts in a zip of ``.npy`` files (an ``.npz``) with
a JSON manifest, and no pickle anywhere, so loading a file from anywhere cannot run code.

The format is documented in ``docs/save-format.md``: ``manifest.json`` describes the saved
object as a tree of tagged JSON nodes; each array is a member ``<n>.npy`` written with
``allow_pickle=False``. ``numpy.load(path)["0"]`` reads an array back without gradviz.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import tempfile
import tokenize
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, GradvizError, OperandError
from gradviz.autograd.variable import Variable

__all__ = ["SaveFormatError", "SavePathError", "load", "save"]

FORMAT = "gradviz.save"
VERSION = 1
MANIFEST = "manifest.json"
_KEY_TYPES = (str, int, float, bool, type(None))


class SavePathError(GradvizError, RuntimeError):
    """A path ``gradviz.save`` cannot write: its folder is missing, or it is a folder (a
    RuntimeError, as PyTorch raises)."""


class SaveFormatError(GradvizError, RuntimeError):
    """A file that ``gradviz.load`` cannot read: not a zip, no manifest, a corrupt manifest, an
    object (pickled) array, or a newer format version (a RuntimeError, as PyTorch raises)."""


# ------------------------------------------------------------------------------------- save
def save(obj: Any, f: str | os.PathLike[str] | IO[bytes]) -> None:
    """Save ``obj`` (a state dict, or nested dicts, lists and tuples of ndarrays, Variables,
    numbers, strings and None) to the path or binary file ``f``.

    A path is written atomically: a temporary file beside it, renamed over it when complete, so
    an interrupted save never leaves half a file. The name is used exactly as given (``.pt`` is
    fine; nothing is appended).
    """
    arrays: list[np.ndarray] = []
    try:
        root = _encode(obj, arrays, "obj", set())
    except RecursionError:  # load refuses such a file too ("nests too deeply to read")
        raise OperandError("gradviz.save: obj nests too deeply to save") from None
    manifest = {"format": FORMAT, "version": VERSION, "root": root}
    # ASCII (non-ASCII as \u escapes): any Python string, lone surrogates too, round-trips.
    text = json.dumps(manifest, allow_nan=False, ensure_ascii=True, indent=1)
    if hasattr(f, "write"):
        _check_file(f, "save", "writable", "wb")
        _write_zip(f, text, arrays)  # type: ignore[arg-type]
        return
    if not isinstance(f, str | os.PathLike):
        raise OperandError(
            f"gradviz.save: f must be a path or a binary file, got {type(f).__name__}"
        )
    if not os.fspath(f):
        raise SavePathError("gradviz.save: cannot write '': the path is empty")
    _atomic_write(Path(f), text, arrays)


def _check_file(f: Any, verb: str, able: str, mode: str) -> None:
    """Refuse a file object ``save``/``load`` cannot use: closed, in text mode, or not open for
    writing/reading (PyTorch fails inside ``zipfile`` with ``write() argument must be str``)."""
    if getattr(f, "closed", False) is True:
        raise ArgumentError(f"gradviz.{verb}: the file object is closed")
    if isinstance(f, io.TextIOBase):
        raise OperandError(
            f"gradviz.{verb}: f is a text file ({type(f).__name__}); open it in binary mode "
            f"(open(path, {mode!r})) or pass the path"
        )
    check = getattr(f, able, None)
    if callable(check) and check() is False:
        raise OperandError(f"gradviz.{verb}: the file object is not {able} (open it with {mode!r})")


def _encode(obj: Any, arrays: list[np.ndarray], where: str, active: set[int]) -> dict[str, Any]:
    """``obj`` as a manifest node; arrays are appended to ``arrays`` and named by position."""
    leaf = _encode_leaf(obj, arrays, where)
    if leaf is not None:
        return leaf
    if not isinstance(obj, dict | list | tuple):
        hint = (  # torch.save(model, path) pickles the object; here its state is what is saved
            f"; save {where}.state_dict() and restore it with load_state_dict"
            if callable(getattr(obj, "state_dict", None))
            else ""
        )
        raise OperandError(
            f"gradviz.save cannot store {type(obj).__name__} (at {where}); expected ndarrays, "
            f"Variables, numbers, strings, None, and dicts, lists or tuples of them{hint}"
        )
    if id(obj) in active:
        raise OperandError(f"gradviz.save: {where} contains itself")
    active.add(id(obj))
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, np.generic) and key.dtype.kind in "biuf":
                key = key.item()  # np.int64(3) from np.unique: saved as 3 (equal, same hash)
            if not isinstance(key, _KEY_TYPES):
                raise OperandError(
                    f"gradviz.save: the keys of {where} must be strings, numbers or None, "
                    f"got {type(key).__name__}"
                )
            items.append(
                [
                    _encode_leaf(key, arrays, where),
                    _encode(value, arrays, f"{where}[{key!r}]", active),
                ]
            )
        node = {"type": "ordered_dict" if isinstance(obj, OrderedDict) else "dict", "items": items}
    else:
        node = {
            "type": "tuple" if isinstance(obj, tuple) else "list",
            "items": [_encode(v, arrays, f"{where}[{i}]", active) for i, v in enumerate(obj)],
        }
    active.discard(id(obj))
    return node


def _encode_leaf(obj: Any, arrays: list[np.ndarray], where: str) -> dict[str, Any] | None:
    """A node for a leaf (None, bool, int, float, str, ndarray, NumPy scalar, Variable), or
    None when ``obj`` is not a leaf."""
    if obj is None:
        return {"type": "none"}
    if isinstance(obj, np.generic):  # before float: np.float64 is a float, kept as NumPy's
        return _array_node("scalar", np.asarray(obj), arrays, where)
    if isinstance(obj, bool | int | str):
        name = "bool" if isinstance(obj, bool) else "int" if isinstance(obj, int) else "str"
        return {"type": name, "value": obj}
    if isinstance(obj, float):
        return {"type": "float", "value": obj if math.isfinite(obj) else repr(obj)}
    if isinstance(obj, Variable):
        node = _array_node("variable", obj._data, arrays, where)
        node.update(requires_grad=obj.requires_grad, parameter=_is_parameter_class(obj))
        return node
    if isinstance(obj, np.ndarray):
        return _array_node("ndarray", obj, arrays, where)
    return None


def _array_node(kind: str, array: np.ndarray, arrays: list[np.ndarray], where: str) -> dict:
    if array.dtype.hasobject:
        raise OperandError(
            f"gradviz.save cannot store an array of Python objects (at {where}, dtype object); "
            "only numeric, bool and string arrays"
        )
    arrays.append(array)
    return {"type": kind, "array": str(len(arrays) - 1)}


def _is_parameter_class(variable: Variable) -> bool:
    from gradviz.autograd.nn.module import Parameter

    return isinstance(variable, Parameter)


def _write_zip(handle: IO[bytes], manifest: str, arrays: list[np.ndarray]) -> None:
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(MANIFEST, manifest.encode("utf-8"))
        for index, array in enumerate(arrays):
            with zf.open(f"{index}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _atomic_write(path: Path, manifest: str, arrays: list[np.ndarray]) -> None:
    """Write beside ``path`` and rename over it; a symlink is written through, an existing
    file keeps its permission bits, a device or a pipe is written into."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if target.is_dir():
        raise SavePathError(f"gradviz.save: cannot write {os.fspath(path)!r}: it is a folder")
    if not target.parent.is_dir():
        raise SavePathError(
            f"gradviz.save: cannot write {os.fspath(path)!r}: parent directory "
            f"{os.fspath(target.parent)!r} does not exist"
        )
    if target.exists() and not os.access(target, os.W_OK):  # renaming over it would succeed
        raise SavePathError(f"gradviz.save: cannot write {os.fspath(path)!r}: it is read-only")
    if target.exists() and not target.is_file():  # /dev/null, a pipe: renaming would replace it
        with open(target, "wb") as handle:
            _write_zip(handle, manifest, arrays)
        return
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:  # a folder that is read-only, or that takes no files (/proc)
        raise SavePathError(
            f"gradviz.save: cannot write {os.fspath(path)!r}: {error.strerror or error}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_zip(handle, manifest, arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------------------------- load
def load(
    f: str | os.PathLike[str] | IO[bytes], map_location: Any = None, *, weights_only: bool = True
) -> Any:
    """Read what ``gradviz.save`` wrote. Nothing is unpickled (arrays are read with
    ``allow_pickle=False``), so a file from anywhere cannot run code.

    ``map_location`` and ``weights_only`` are accepted for PyTorch's signature: everything is
    on the CPU, and only data is ever loaded.
    """
    if isinstance(f, str | os.PathLike):
        with open(f, "rb") as handle:  # FileNotFoundError, IsADirectoryError: as torch.load
            return _load(_seekable(handle), f)
    if not hasattr(f, "read"):
        raise OperandError(
            f"gradviz.load: f must be a path or a binary file, got {type(f).__name__}"
        )
    _check_file(f, "load", "readable", "rb")
    return _load(_seekable(f), f)


def _seekable(handle: IO[bytes]) -> IO[bytes]:
    """``handle``, or its content in memory if it cannot seek (a pipe, a socket, a path such
    as /dev/stdin): zipfile needs to seek."""
    seekable = getattr(handle, "seekable", None)
    return io.BytesIO(handle.read()) if callable(seekable) and not seekable() else handle


#: What ``zipfile`` raises for a damaged archive besides ``BadZipFile``: a truncated member
#: (EOFError), an offset pointing before the file's start (OSError), an unknown compression
#: or zip version (NotImplementedError), a corrupt deflate stream (zlib.error).
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError)
_DAMAGED += (zlib.error,)


def _load(handle: IO[bytes], f: Any) -> Any:
    try:
        zf = zipfile.ZipFile(handle)
    except zipfile.BadZipFile:
        raise SaveFormatError(
            f"gradviz.load: {_name(f)} is not a file written by gradviz.save (not a zip archive"
            f"{_kind_of(handle)})"
        ) from None
    except _DAMAGED as error:
        raise _damaged(f, error) from None
    try:
        with zf:
            _check_members(zf, f)
            manifest = _read_manifest(zf, f)
            handle.seek(0, os.SEEK_END)  # the archive's size bounds every member's
            return _Decoder(zf, handle.tell()).decode(manifest["root"], "root")
    except _DAMAGED as error:
        raise _damaged(f, error) from None
    except RecursionError:
        raise SaveFormatError(f"gradviz.load: {_name(f)} nests too deeply to read") from None


def _check_members(zf: zipfile.ZipFile, f: Any) -> None:
    """Refuse encrypted members (zipfile would ask for a password) and, in an archive with a
    manifest, compressed ones: gradviz.save stores members as they are, so every array is
    bounded by the file's size (a deflated member of zeros could ask for a thousand times)."""
    ours = MANIFEST in zf.namelist()
    for info in zf.infolist():
        if info.flag_bits & 0x1:
            problem = "is encrypted (gradviz.save never encrypts)"
        elif ours and info.compress_type != zipfile.ZIP_STORED:
            problem = "is compressed (gradviz.save stores every member uncompressed)"
        else:
            continue
        raise SaveFormatError(
            f"gradviz.load: {_name(f)} is damaged: member {info.filename} {problem}"
        )


def _kind_of(handle: IO[bytes]) -> str:
    """What a file that is not a zip looks like, from its first bytes (a hint, or "")."""
    try:
        handle.seek(0)
        head = handle.read(8)
    except (OSError, ValueError):
        return ""
    if head.startswith(b"\x93NUMPY"):
        return "; it is a NumPy .npy file: read it with numpy.load"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle protocols 2 to 5
        return "; it looks like a pickle, such as an old torch.save file, which gradviz never runs"
    return ""


def _damaged(f: Any, error: BaseException) -> SaveFormatError:
    text = str(error) or "the archive ends early"
    return SaveFormatError(f"gradviz.load: {_name(f)} is damaged ({type(error).__name__}: {text})")


def _name(f: Any) -> str:
    return repr(os.fspath(f)) if isinstance(f, str | os.PathLike) else type(f).__name__


def _read_manifest(zf: zipfile.ZipFile, f: Any) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except KeyError:
        names = zf.namelist()
        hint = (
            "; it looks like a torch.save file: read it with torch.load and turn tensors into "
            "arrays with .numpy()"
            if any(name.endswith("data.pkl") for name in names)
            else "; it looks like a NumPy .npz: read it with numpy.load"
            if names and all(name.endswith(".npy") for name in names)
            else ""
        )
        raise SaveFormatError(
            f"gradviz.load: {_name(f)} has no {MANIFEST}: it was not written by gradviz.save" + hint
        ) from None
    except (ValueError, RecursionError) as error:
        raise SaveFormatError(
            f"gradviz.load: {_name(f)} has a corrupt {MANIFEST}: {error}"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or "root" not in manifest:
        raise SaveFormatError(
            f"gradviz.load: {_name(f)} has a {MANIFEST} that is not gradviz.save's "
            f"(expected format {FORMAT!r})"
        )
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SaveFormatError(f"gradviz.load: {_name(f)} has an unknown format version {version!r}")
    if version > VERSION:
        raise SaveFormatError(
            f"gradviz.load: {_name(f)} is format version {version!r}; this gradviz reads "
            f"versions up to {VERSION} (a newer gradviz wrote it)"
        )
    return manifest


def _check_size(member: Any, size: int, name: str) -> None:
    """Refuse a member whose header promises more data than its ``size`` bytes hold, before
    NumPy allocates the array the header describes (a tiny file must not ask for terabytes)."""
    fmt = np.lib.format
    version = fmt.read_magic(member)
    read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _, dtype = read_header(member)
    needed, held = math.prod(shape) * dtype.itemsize, size - member.tell()
    if needed > held:
        raise SaveFormatError(
            f"gradviz.load: {name} is corrupt: its header describes an array of shape {shape} "
            f"and dtype {dtype} ({needed:,} bytes), but it holds {held:,} bytes of data"
        )
    member.seek(0)


_SCALARS = {"none": type(None), "bool": bool, "int": int, "str": str}
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class _Decoder:
    """Turns manifest nodes back into objects, checking every node it reads."""

    def __init__(self, zf: zipfile.ZipFile, size: int) -> None:
        self.zf, self.size = zf, size
        self.read: set[str] = set()  # each member once: save never shares one between nodes

    def fail(self, where: str, problem: str) -> SaveFormatError:
        return SaveFormatError(f"gradviz.load: corrupt {MANIFEST} at {where}: {problem}")

    def decode(self, node: Any, where: str) -> Any:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise self.fail(where, "a node must be an object with a 'type'")
        kind = node["type"]
        if kind in _SCALARS:
            return self.scalar(node, kind, where)
        if kind == "float":
            return self.float(node, where)
        if kind in ("ndarray", "scalar", "variable"):
            return self.array(node, kind, where)
        if kind in ("list", "tuple"):
            items = self.items(node, where)
            values = [self.decode(item, f"{where}[{i}]") for i, item in enumerate(items)]
            return tuple(values) if kind == "tuple" else values
        if kind in ("dict", "ordered_dict"):
            return self.mapping(node, kind, where)
        raise self.fail(where, f"unknown node type {kind!r}")

    def scalar(self, node: dict, kind: str, where: str) -> Any:
        if kind == "none":
            return None
        value = node.get("value")
        if type(value) is not _SCALARS[kind]:
            raise self.fail(where, f"a {kind} node needs a {kind} value, got {value!r}")
        return value

    def float(self, node: dict, where: str) -> float:
        value = node.get("value")
        if isinstance(value, str) and value in _FLOATS:
            return _FLOATS[value]
        if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
            try:
                return float(value)
            except OverflowError:  # an integer of 400 digits
                raise self.fail(where, f"the float value {value} is out of range") from None
        raise self.fail(where, f"a float node needs a number, got {value!r}")

    def items(self, node: dict, where: str) -> list:
        items = node.get("items")
        if not isinstance(items, list):
            raise self.fail(where, f"a {node['type']} node needs a list of items")
        return items

    def mapping(self, node: dict, kind: str, where: str) -> dict:
        result: dict[Any, Any] = OrderedDict() if kind == "ordered_dict" else {}
        for pair in self.items(node, where):
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.fail(where, "a dict item must be a [key, value] pair")
            key = self.decode(pair[0], where)
            if not isinstance(key, _KEY_TYPES):
                raise self.fail(where, "a dict key must be a string, a number or None")
            result[key] = self.decode(pair[1], f"{where}[{key!r}]")
        return result

    def array(self, node: dict, kind: str, where: str) -> Any:
        name = node.get("array")
        if not isinstance(name, str) or not name.isdigit():
            raise self.fail(where, f"an array node needs an array number, got {name!r}")
        if name in self.read:  # a small manifest naming a big member a million times
            raise self.fail(where, f"array {name} is named a second time")
        self.read.add(name)
        try:
            info = self.zf.getinfo(f"{name}.npy")
            with self.zf.open(info) as member:
                size = min(info.file_size, info.compress_size, self.size)
                _check_size(member, size, info.filename)
                array = np.lib.format.read_array(member, allow_pickle=False)
        except KeyError:
            raise self.fail(where, f"the archive has no member {name}.npy") from None
        except (ValueError, tokenize.TokenError) as error:  # object arrays need pickle: refused
            raise SaveFormatError(f"gradviz.load: cannot read {name}.npy: {error}") from None
        if kind == "ndarray":
            return array
        if kind == "scalar":
            if array.ndim:
                raise self.fail(where, f"a scalar node needs a 0-d array, got shape {array.shape}")
            return array[()]
        return self.variable(node, array, where)

    def variable(self, node: dict, array: np.ndarray, where: str) -> Variable:
        requires_grad, parameter = node.get("requires_grad"), node.get("parameter")
        if not isinstance(requires_grad, bool) or not isinstance(parameter, bool):
            raise self.fail(where, "a variable node needs boolean requires_grad and parameter")
        from gradviz.autograd.nn.module import Parameter

        try:
            return (Parameter if parameter else Variable)(array, requires_grad=requires_grad)
        except GradvizError as error:  # an integer array that requires grad
            raise self.fail(where, str(error)) from None
