"""Run a user's script under a trace, as ``python SCRIPT ARGS...`` would (testable without click).

``run_script("train.py", args=["--epochs", "1"], step=1)`` sets ``sys.argv``, puts the script's
folder first on ``sys.path``, runs it as ``__main__`` with ``runpy`` and restores both (and
drops modules imported from the script's folder) in ``finally``. It captures the ``step``-th call
of ``backward`` with the forward that led to it and the optimizer step right after, then stops
the script (unless ``run_all``), so drawing step 1 of a long training run takes seconds.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import runpy
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import numpy as np

from gradviz.autograd import grad_mode, hooks
from gradviz.autograd.errors import GradvizError
from gradviz.autograd.variable import get_default_dtype, set_default_dtype
from gradviz.viz.capture.policy import CaptureStep, CaptureSteps, Policy
from gradviz.viz.capture.source import is_internal
from gradviz.viz.trace import Trace

__all__ = [
    "BackwardNotCalled",
    "RunnerError",
    "ScriptFailed",
    "ScriptInterrupted",
    "StepNotReached",
    "run_script",
]


#: Seconds the runner waits, once the step is captured and the script stopped, for the threads
#: the script started to stop too (each at its next engine event). A thread blocked elsewhere
#: (a producer on a full queue whose reader was stopped) would never stop: it is left behind.
THREAD_GRACE = 2.0


_LEFT_BEHIND: list[threading.Thread] = []


def left_behind() -> list[threading.Thread]:
    """The threads of stopped scripts that did not stop within ``THREAD_GRACE`` and still run
    (the command line exits without waiting for them; Python would wait for ever)."""
    _LEFT_BEHIND[:] = [t for t in _LEFT_BEHIND if t.is_alive()]
    return list(_LEFT_BEHIND)


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


class ScriptInterrupted(RunnerError):
    """The script was interrupted (Ctrl-C: a KeyboardInterrupt it did not catch); ``trace``
    holds what was recorded until then."""

    def __init__(self, script: str, trace: Trace) -> None:
        calls = trace.backward_calls
        super().__init__(
            f"{script} was interrupted (Ctrl-C) after {calls} call{'s' if calls != 1 else ''} "
            "of backward"
        )
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


class _HardExit(BaseException):
    """What ``os._exit(code)`` raises in the script while it runs under the runner."""

    def __init__(self, code: int) -> None:
        super().__init__(f"os._exit({code})")
        self.code = code


#: The signals whose handlers a script may set (a graceful stop on Ctrl-C), put back after it
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Interpreter:
    """The interpreter state a script may change and the runner puts back: the working folder,
    the recursion limit, ``sys.path``, ``sys.argv``, ``sys.stdout``/``stderr``, NumPy's error
    handling and print options, the warnings filters, multiprocessing's start method, the root
    logger's handlers and level, the Ctrl-C and SIGTERM handlers, grad mode, the default dtype
    and the engine's hooks (``torch.autograd.set_detect_anomaly(True)`` in the script ends with
    it)."""

    def __init__(self) -> None:
        self.cwd = os.getcwd()
        self.recursion = sys.getrecursionlimit()
        self.path = list(sys.path)
        self.argv = sys.argv
        self.streams = (sys.stdout, sys.stderr)
        self.fds = tuple(_fileno(stream) for stream in self.streams)
        self.numpy = (np.geterr(), np.get_printoptions())
        self.warnings = list(warnings.filters)
        self.grad = grad_mode.is_grad_enabled()
        self.dtype = get_default_dtype()
        self.hooks = hooks.ACTIVE
        self.start_method = multiprocessing.get_start_method(allow_none=True)
        root = logging.getLogger()
        self.logging = (list(root.handlers), root.level)  # (the script's logging.basicConfig)
        self.signals = {number: signal.getsignal(number) for number in _SIGNALS}

    def restore(self, close_added: bool = False) -> None:
        """Put the state back; ``close_added``: the script is over, close the logging handlers
        it added (its log file is flushed and closed, as at the end of its own process)."""
        try:
            os.chdir(self.cwd)
        except OSError:  # pragma: no cover - the folder was removed meanwhile
            pass
        sys.setrecursionlimit(self.recursion)
        sys.path[:] = self.path
        sys.argv = self.argv
        sys.stdout, sys.stderr = map(_reopened, self.streams, self.fds)
        np.seterr(**self.numpy[0])
        np.set_printoptions(**self.numpy[1])
        warnings.filters[:] = self.warnings
        warnings._filters_mutated()  # type: ignore[attr-defined]
        set_default_dtype(self.dtype)
        hooks.ACTIVE = self.hooks
        if multiprocessing.get_start_method(allow_none=True) != self.start_method:
            multiprocessing.set_start_method(self.start_method, force=True)
        self._restore_logging(close_added)
        if threading.current_thread() is threading.main_thread():  # (signals are set there only)
            for number, handler in self.signals.items():
                if signal.getsignal(number) is not handler and handler is not None:
                    signal.signal(number, handler)
        grad_mode.set_grad_enabled(self.grad)  # (this thread's: the script ran in it)

    def _restore_logging(self, close_added: bool) -> None:
        root = logging.getLogger()
        added = [handler for handler in root.handlers if handler not in self.logging[0]]
        root.handlers[:] = self.logging[0]
        root.setLevel(self.logging[1])
        for handler in added if close_added else ():
            handler.close()


def _fileno(stream: Any) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's buffer), or closed
        return None


def _reopened(stream: Any, fd: int | None) -> Any:
    """``stream``, or a new text stream on its descriptor if the script closed it (``sys.stdout
    .close()`` leaves descriptor 1 open: our messages still go there)."""
    if not getattr(stream, "closed", False) or fd is None:
        return stream
    try:
        return open(  # the new sys.stdout/stderr, kept open
            fd, "w", encoding=stream.encoding, errors=stream.errors, closefd=False
        )
    except (OSError, ValueError):  # the descriptor went too: nothing can be said there
        return stream


class _LineEnds:
    """``sys.stdout``/``stderr`` while the script runs: every write goes through, and whether the
    script left its last line open (a progress bar redrawn after a carriage return) is
    remembered, so the lines gradviz prints once the script stops start on a line of their own."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.open_line = False

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        if text:
            self.open_line = not text.endswith("\n")
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def end_line(self) -> None:
        """Finish the line the script left open."""
        if self.open_line:
            self.open_line = False
            try:
                self._stream.write("\n")
                self._stream.flush()
            except (OSError, ValueError):  # closed by the script: nothing can be said there
                pass

    def __getattr__(self, name: str) -> Any:  # the stream's other methods and attributes
        return getattr(self._stream, name)


class _Run:
    """One run of a script: who may stop it, and handing the captured step over once.

    The step is handed to ``deliver`` as soon as it is captured, in the script's thread and
    with the caller's interpreter state put back for the time of the call, so the outputs are
    written even if the script then swallows the stop (an ``except BaseException`` around its
    loop). From then on a :class:`_Stopper` makes every engine event raise :class:`_StopScript`.
    A ``fork()`` child never delivers: it exits when it leaves the script.
    """

    def __init__(self, caller: _Interpreter, deliver: Deliver | None, run_all: bool) -> None:
        self.trace: Trace | None = None
        self.caller = caller
        self.deliver = deliver
        self.run_all = run_all
        self.pid = os.getpid()
        self.thread = threading.get_ident()
        self.captured = False
        self.delivered = False
        self.error: BaseException | None = None
        self.exit_code: int | None = None  # os._exit(code) called by the script
        self.stopper = _Stopper(self)
        self.stopped = False  # the stop was raised in the script's thread
        self.lines = (_LineEnds(caller.streams[0]), _LineEnds(caller.streams[1]))

    def end_lines(self) -> None:
        """Finish a line the script left open on stdout or stderr, before we print."""
        for stream in self.lines:
            stream.end_line()

    def in_script_thread(self) -> bool:
        return os.getpid() == self.pid and threading.get_ident() == self.thread

    def on_capture(self) -> None:
        """The recorder captured the step (in any thread, maybe in a fork child)."""
        if os.getpid() != self.pid:
            return
        self.captured = True
        if self.run_all:
            return
        if self.in_script_thread():
            self.deliver_now()
            self.stopped = True
        hooks.install(self.stopper)
        raise _StopScript

    def deliver_now(self) -> None:
        """Hand the trace to ``deliver`` (once), with the caller's interpreter state."""
        if self.delivered or self.deliver is None:
            return
        trace = self.trace
        if trace is None:  # pragma: no cover - set right after the run is made
            return
        self.delivered = True
        trace.close()
        script_state = _Interpreter()
        self.end_lines()
        self.caller.restore()
        hooks.ACTIVE = ()  # drawing records nothing
        try:
            self.deliver(trace)
        except BaseException as error:  # raised from run_script once the script has stopped
            self.error = error
        finally:
            script_state.restore()

    def hard_exit(self, code: int) -> NoReturn:
        if os.getpid() != self.pid:  # a fork child leaving: exactly what the script asked
            _flush()
            _REAL_EXIT(code)
        self.exit_code = code
        raise _HardExit(code)

    def thread_excepthook(self, args: Any) -> None:
        """Threads the runner stopped end silently; others report as before."""
        if isinstance(args.exc_value, (_StopScript, _HardExit)):
            return
        self.saved_excepthook(args)

    def __enter__(self) -> _Run:
        self.threads = set(threading.enumerate())
        self.saved_excepthook = threading.excepthook
        threading.excepthook = self.thread_excepthook
        os._exit = self.hard_exit
        return self

    def __exit__(self, *exc: object) -> None:
        if os.getpid() == self.pid and self.captured and not self.run_all:
            deadline = time.monotonic() + THREAD_GRACE
            for thread in threading.enumerate():  # let threads the script started stop
                if thread not in self.threads and not thread.daemon:
                    thread.join(max(0.0, deadline - time.monotonic()))
                    if thread.is_alive():
                        _LEFT_BEHIND.append(thread)
        hooks.uninstall(self.stopper)
        os._exit = _REAL_EXIT
        threading.excepthook = self.saved_excepthook


class _Stopper(hooks.Hook):
    """Installed once the step is captured: every engine event raises :class:`_StopScript`
    (after delivering the step first, in the script's thread). A script whose thread goes on
    after the stop caught it (a bare ``except:`` retrying in a loop, which would retry for
    ever) runs on to its end, untraced, as it would without gradviz."""

    def __init__(self, run: _Run) -> None:
        self.run = run

    def _stop(self, *args: Any, **kwargs: Any) -> None:
        if os.getpid() != self.run.pid:
            return
        if self.run.in_script_thread():
            self.run.deliver_now()
            if self.run.stopped:
                return
            self.run.stopped = True
        raise _StopScript

    variable_created = op = module_enter = backward_begin = optimizer_step = _stop


_REAL_EXIT = os._exit
Deliver = Callable[[Trace], None]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def run_script(
    path: str | os.PathLike[str],
    args: Sequence[str] = (),
    step: int = 1,
    run_all: bool = False,
    arrays: bool = False,
    forward_only: bool = False,
    deliver: Deliver | None = None,
    steps: Sequence[int] = (),
    policy: Policy | None = None,
    detail: str = "full",
    keep_full: int = 2,
) -> Trace:
    """Run the script at ``path`` as ``__main__`` under a trace and return the trace.

    ``step`` is the backward call to capture (1-based; -1 the last one, which runs the script
    to its end). Once it and the optimizer step after it are recorded the script is stopped,
    unless ``run_all``. Only the captured pass is kept; ``Trace.backward_calls`` says how many
    backward calls were seen. ``forward_only`` returns the trace of what was computed even
    when the script never called backward.

    ``policy`` replaces the one-step capture (``step`` is then unused): an
    :class:`~gradviz.viz.capture.policy.EveryStep` records every K-th pass and stops the script
    after its last one (``gradviz timeline``); ``detail`` and ``keep_full`` as for
    :func:`gradviz.trace` (``"summary"``: the timeline, and the full detail of the last
    ``keep_full`` recorded passes only).

    ``deliver(trace)``, when given, is called once with the finished trace: as soon as the
    step is captured (with the caller's working folder and interpreter state), or after the
    script ended; an exception it raises is raised from here once the script stopped.

    The script runs isolated: what it changes in the interpreter (see :class:`_Interpreter`)
    is put back; ``os._exit`` counts as the script exiting with that status; a ``fork()``
    child exits when it leaves the script, never returning here; threads it started are
    stopped at their next engine event after the capture and waited for; once the step is
    captured, how the script ends (it may catch the stop and exit nonzero) does not matter.

    ``steps`` (backward calls counted from 1, and -1 for the last one) keeps each of them
    instead, in one run; the script stops after the last one's optimizer step (``step`` is
    then the last of them; with -1 the script runs to its end).

    Raises :class:`ScriptFailed` when the script raises or exits with a nonzero status,
    :class:`BackwardNotCalled` when it never called backward (unless ``forward_only``), and
    :class:`StepNotReached` when it called backward fewer than ``step`` times.
    """
    if steps:
        step = -1 if -1 in steps else max(steps)
    if policy is None:  # (constructing one checks the steps)
        policy = CaptureSteps(tuple(steps)) if steps else CaptureStep(step)
    script = Path(path)
    if not script.is_file():
        raise FileNotFoundError(f"no such script: {script}")
    folder = str(script.resolve().parent)
    name = script.name
    args = [str(a) for a in args]
    caller = _Interpreter()
    saved_modules = set(sys.modules)
    run = _Run(caller, deliver, run_all)
    policy.on_capture = run.on_capture
    tr = run.trace = Trace(
        arrays=arrays,
        policy=policy,
        base_dir=folder,
        script=name,
        detail=detail,
        keep_full=keep_full,
    )
    failure: BaseException | None = None
    sys.argv = [os.fspath(path), *args]
    sys.path.insert(0, folder)
    sys.stdout, sys.stderr = run.lines
    try:
        with run, tr:
            runpy.run_path(os.fspath(path), run_name="__main__")
    except _StopScript:
        pass
    except (SystemExit, _HardExit) as exit_:
        if exit_.code not in (None, 0):
            failure = exit_
    except (Exception, KeyboardInterrupt) as error:
        failure = error
    finally:
        if os.getpid() != run.pid:
            _leave_child(failure)
        run.end_lines()
        caller.restore(close_added=True)
        _forget_modules(folder, saved_modules)
    if failure is None and run.exit_code:  # os._exit(code) in a thread of the script
        failure = _HardExit(run.exit_code)
    if run.captured and not run_all:
        failure = None  # the script was stopped; how it reacted to the stop is not a failure
    if failure is not None:
        raise _failed(name, failure, tr) from None
    if tr.backward_calls == 0 and not forward_only:
        raise BackwardNotCalled(name, tr)
    needed = max((*steps, step))  # (the last call, -1, is always reached)
    if needed > 0 and 0 < tr.backward_calls < needed:
        raise StepNotReached(needed, tr.backward_calls, name)
    run.deliver_now()
    if run.error is not None:
        raise run.error
    return tr


def _leave_child(failure: BaseException | None) -> NoReturn:
    """A ``fork()`` child of the script left it: exit as Python would, drawing nothing."""
    code = 0
    if isinstance(failure, (SystemExit, _HardExit)):
        code = failure.code if isinstance(failure.code, int) else 1
    elif failure is not None:
        traceback.print_exception(failure)
        code = 1
    _flush()
    _REAL_EXIT(code)


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


def _failed(name: str, failure: BaseException, tr: Trace) -> ScriptFailed | ScriptInterrupted:
    if isinstance(failure, KeyboardInterrupt):
        return ScriptInterrupted(name, tr)
    if isinstance(failure, (SystemExit, _HardExit)):
        code = failure.code
        how = " (os._exit)" if isinstance(failure, _HardExit) else ""
        text = f"os._exit({code})\n" if how else format_user_traceback(failure)  # where it exited
        status = int(code) if isinstance(code, int) else f"1 ({code})"  # sys.exit("msg"): 1
        message = f"{name} exited with status {status}{how}"
        return ScriptFailed(message, text, exit_code=code, trace=tr)
    text = format_user_traceback(failure)
    last = _error_line(failure)
    write = tr.write_source(failure)
    if write is not None:
        last += f" (the in-place write is at {write})"
    return ScriptFailed(f"{name} raised {last}", text, trace=tr)


def _error_line(failure: BaseException) -> str:
    """``Type: message``, on one line: a message of several lines (a distribution's check ends
    with the array it found) by its first, marked ``...``; a SyntaxError by its last."""
    lines = "".join(traceback.format_exception_only(type(failure), failure)).strip().splitlines()
    if not lines:
        return type(failure).__name__
    if isinstance(failure, SyntaxError):
        return lines[-1]
    return lines[0] + (" ..." if len(lines) > 1 else "")


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
