"""The visualizer: trace a training step, build its graphs, render them.

Imports ``gradviz.autograd``; the engine never imports this package.
"""

from gradviz.viz.io import load_trace
from gradviz.viz.render import render
from gradviz.viz.tracer import Trace, trace

__all__ = ["Trace", "load_trace", "render", "trace"]
