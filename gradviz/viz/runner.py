"""Run a user's script under a trace, as ``python SCRIPT ARGS...`` would (testable without click).

``run_script("train.py", args=["--epochs", "1"], step=1)`` sets ``sys.argv``, puts the script's
folder first on ``sys.path``, runs it as ``__main__`` with ``runpy`` and restores both (and
drops modules imported from the script's folder) in ``finally``. It captures the ``step``-th call
of ``backward`` with the forward that led to it and the optimizer step right after, then stops
the script (unless ``run_all``), so drawing step 1 of a long training run takes seconds.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from gradviz.autograd.errors import GradvizError
from gradviz.viz.source import is_internal
from gradviz.viz.tracer import Trace

__all__ = ["BackwardNotCalled", "RunnerError", "ScriptFailed", "StepNotReached", "run_script"]


class RunnerError(GradvizError, RuntimeError):
    """The traced script could not give the requested step."""


class ScriptFailed(RunnerError):
    """The script raised (or exited with a nonzero status).

    ``traceback`` is the traceback text trimmed to the user's frames; ``exit_code`` is the
    SystemExit status when the script exited; ``trace`` holds what was recorded until then.
    """

    def __init__(
        self,
        message: str,
        traceback_text: str,
        exit_code: int | str | None = None,
        trace: Trace | None = None,
    ) -> None:
        super().__init__(message)
        self.traceback = traceback_text
        self.exit_code = exit_code
        self.trace = trace


class BackwardNotCalled(RunnerError):
    """The script finished without calling ``backward``."""

    def __init__(self, script: str, trace: Trace | None = None) -> None:
        super().__init__(
            f"{script} never called backward(), so there is no backward pass to draw; "
            "for an inference-only script use --forward-only (forward_only=True) to draw the "
            "forward graph of what it computed"
        )
        self.trace = trace


class StepNotReached(RunnerError):
    """The script called ``backward`` fewer times than the requested step."""

    def __init__(self, step: int, calls: int, script: str = "the script") -> None:
        times = "once" if calls == 1 else f"{calls} times"
        super().__init__(
            f"backward step {step} was not reached: {script} called backward() {times}; "
            f"choose a step from 1 to {calls} (or -1 for the last one)"
        )
        self.step = step
        self.calls = calls


class _StopScript(BaseException):
    """Raised inside the script once the requested step is captured (not an Exception, so the
    script's own ``except Exception`` blocks do not catch it)."""


def run_script(
    path: str | os.PathLike[str],
    args: Sequence[str] = (),
    step: int = 1,
    run_all: bool = False,
    arrays: bool = False,
    forward_only: bool = False,
) -> Trace:
    """Run the script at ``path`` as ``__main__`` under a trace and return the trace.

    ``step`` is the backward call to capture (1-based; -1 the last one, which runs the script
    to its end). Once it and the optimizer step after it are recorded the script is stopped,
    unless ``run_all``. Only the captured pass is kept; ``Trace.backward_calls`` says how many
    backward calls were seen. ``forward_only`` returns the trace of what was computed even
    when the script never called backward.

    Raises :class:`ScriptFailed` when the script raises or exits with a nonzero status,
    :class:`BackwardNotCalled` when it never called backward (unless ``forward_only``), and
    :class:`StepNotReached` when it called backward fewer than ``step`` times.
    """
    if isinstance(step, bool) or not isinstance(step, int) or step == 0 or step < -1:
        raise ValueError(f"step must be a backward call number (1, 2, ...) or -1, got {step!r}")
    script = Path(path)
    if not script.is_file():
        raise FileNotFoundError(f"no such script: {script}")
    folder = str(script.resolve().parent)
    name = script.name
    args = [str(a) for a in args]

    def stop() -> None:
        if not run_all:
            raise _StopScript

    tr = Trace(arrays=arrays, step=step, base_dir=folder, script=name, on_capture=stop)
    saved_argv, saved_path = sys.argv, list(sys.path)
    saved_modules = set(sys.modules)
    failure: BaseException | None = None
    sys.argv = [os.fspath(path), *args]
    sys.path.insert(0, folder)
    try:
        with tr:
            runpy.run_path(os.fspath(path), run_name="__main__")
    except _StopScript:
        pass
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            failure = exit_
    except Exception as error:
        failure = error
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        _forget_modules(folder, saved_modules)
    if failure is not None:
        raise _failed(name, failure, tr) from None
    if tr.backward_calls == 0:
        if forward_only:
            return tr
        raise BackwardNotCalled(name, tr)
    if step > 0 and tr.backward_calls < step:
        raise StepNotReached(step, tr.backward_calls, name)
    return tr


def _forget_modules(folder: str, before: set[str]) -> None:
    """Drop modules the script imported from its own folder, so the next run imports fresh."""
    prefix = folder.rstrip(os.sep) + os.sep
    for module_name in [m for m in sys.modules if m not in before]:
        module = sys.modules.get(module_name)
        filename = getattr(module, "__file__", None)
        if (
            filename
            and os.path.abspath(filename).startswith(prefix)
            and not is_internal(filename)  # never gradviz itself (a script next to the package)
        ):
            del sys.modules[module_name]


def _failed(name: str, failure: BaseException, tr: Trace) -> ScriptFailed:
    if isinstance(failure, SystemExit):
        code = failure.code
        text = f"SystemExit: {code}\n"
        message = f"{name} exited with status {code}"
        return ScriptFailed(message, text, exit_code=code, trace=tr)
    text = format_user_traceback(failure)
    last = text.rstrip().splitlines()[-1] if text.strip() else type(failure).__name__
    return ScriptFailed(f"{name} raised {last}", text, trace=tr)


def _user_frames(tb: TracebackType | None) -> traceback.StackSummary:
    frames = [
        frame
        for frame in traceback.extract_tb(tb)
        if not is_internal(frame.filename) and not _is_runpy(frame.filename)
    ]
    return traceback.StackSummary.from_list(frames)


def _is_runpy(filename: str) -> bool:
    return filename == runpy.__file__ or filename in ("<frozen runpy>",)


def format_user_traceback(error: BaseException) -> str:
    """The traceback of ``error`` (and of its causes) without gradviz's or runpy's frames."""
    seen: set[int] = set()
    return "".join(_format_chain(error, seen))


def _format_chain(error: BaseException, seen: set[int]) -> list[str]:
    seen.add(id(error))
    lines: list[str] = []
    cause = error.__cause__
    context = error.__context__
    if cause is not None and id(cause) not in seen:
        lines += _format_chain(cause, seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif (
        context is not None
        and id(context) not in seen
        and not error.__suppress_context__
        and not isinstance(context, _StopScript)
    ):
        lines += _format_chain(context, seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    stack = _user_frames(error.__traceback__)
    if stack:
        lines.append("Traceback (most recent call last):\n")
        lines += stack.format()
    lines += traceback.format_exception_only(type(error), error)
    return lines
