"""Writing output files: whole or not at all, with exactly the name asked for.

:func:`atomic_write` writes a temporary file beside the target and renames it over the target,
so a reader never sees half a file and a failure leaves nothing behind. It only ever replaces a
regular file: a symlink is written through (the file it points to is replaced, the link stays),
an existing file keeps its permission bits, and a path that exists as anything else (a folder,
a FIFO, a device such as ``/dev/null``) is refused. :func:`check_output_folder` and
:func:`check_output_path` find the same problems before any work is done (the CLI runs them
before it starts the user's script).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from gradviz.autograd.errors import GradvizError

__all__ = ["OutputError", "atomic_write", "check_output_folder", "check_output_path"]


#: How much of a file's name its temporary file's name keeps (within NAME_MAX, 255, with the
#: dot, the random part and ".tmp").
_TMP_STEM = 200


class OutputError(GradvizError, OSError):
    """An output file or folder that cannot be written; the message names the path."""


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or the end of its symlinks.

    Raises :class:`OutputError` when that file exists and is not a regular file.
    """
    path = Path(path)
    _check_name_length(path.name, path.parent, f"cannot write {path}")
    try:
        target = Path(os.path.realpath(path)) if path.is_symlink() else path
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target
    except OSError as error:
        raise _output_error(f"cannot write {path}", error) from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        shown = path if target == path else f"{path} (a link to {target})"
        raise OutputError(f"cannot write {shown}: it exists and is {what}")
    return target


def check_output_folder(folder: str | os.PathLike[str]) -> None:
    """Raise :class:`OutputError` unless files can be created in ``folder`` (or, when it does
    not exist yet, in its nearest existing parent, where it would be created).

    Writability is tested by creating and removing a temporary file: permission bits do not
    tell (root ignores them; ``/proc`` refuses everyone).
    """
    folder = Path(folder)
    for part in folder.parts:
        _check_name_length(part, folder, f"cannot create the folder {folder}")
    probe = _nearest_existing(folder)
    if not probe.is_dir():
        raise OutputError(f"cannot create the folder {folder}: {probe} is not a folder")
    try:
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".gradviz-", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as error:
        where = "" if probe == folder else f" (in {probe})"
        raise OutputError(f"cannot write to {folder}{where}: {_reason(error)}") from None


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` to exactly ``path`` (see the module's docstring for what is replaced).

    Raises :class:`OutputError` (an ``OSError``) naming ``path`` when it cannot be written.
    """
    path = Path(path)
    payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        probe = _nearest_existing(path.parent)  # "File exists" would not say which is a file
        reason = f"{probe} is not a folder" if not probe.is_dir() else _reason(error)
        raise OutputError(f"cannot create the folder {path.parent}: {reason}") from None
    target = check_output_path(path)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(  # (a name near the limit keeps its temporary one below it)
            dir=target.parent, prefix=f".{target.name[:_TMP_STEM]}.", suffix=".tmp"
        )
    except OSError as error:
        raise OutputError(f"cannot write {path}: {_reason(error)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise OutputError(f"cannot write {path}: {_reason(error)}") from None
        raise
    return path


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists (as anything)."""
    while not os.path.lexists(folder) and folder.parent != folder:
        folder = folder.parent
    return folder


def _reason(error: OSError) -> str:
    if error.errno == errno.ENAMETOOLONG:
        return "the name is too long for the file system"
    return error.strerror or str(error)


def _check_name_length(name: str, folder: Path, what: str) -> None:
    """Raise :class:`OutputError` (``errno`` ENAMETOOLONG) when ``name`` is longer than the file
    system of ``folder`` (or of its nearest existing parent) takes: found before the folder
    exists, where a lookup would stop at the missing folder."""
    try:
        limit = os.pathconf(_nearest_existing(folder), "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(name)) > limit:
        raise _output_error(what, OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG)))


def _output_error(what: str, error: OSError) -> OutputError:
    """``what: reason`` as an :class:`OutputError` with the ``errno`` of ``error``."""
    out = OutputError(f"{what}: {_reason(error)}")
    out.errno = error.errno
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
