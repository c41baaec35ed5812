"""The visualizer: trace a training step, build its graphs, render them.

Imports ``gradviz.autograd``; the engine never imports this package. ``gradviz.viz.render`` is
the rendering module; its ``render()`` function is exported at the top level as
``gradviz.render``.
"""

from gradviz.viz.io import load_trace
from gradviz.viz.tracer import Trace, trace

__all__ = ["Trace", "load_trace", "trace"]
