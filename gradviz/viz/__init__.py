"""The visualizer: trace a training step, diagnose it, draw it.

Arranged by stage, data flowing one way: ``capture`` (engine events -> records) -> ``records``
(the schema, graph build, JSON) -> ``diagnose`` (findings, a Report) -> ``draw`` (DOT pictures)
and ``page`` (the HTML page). ``trace`` (the user-facing ``Trace``), ``runner`` (runs a user
script) and ``summary`` sit above them. Imports ``gradviz.autograd``; the engine never imports
this package.
"""

from gradviz.viz.draw.diff import DiffReport, diff
from gradviz.viz.trace import Trace, load_trace, render, trace

__all__ = ["DiffReport", "Trace", "diff", "load_trace", "render", "trace"]
