"""Records: THE schema of a trace, once.

``schema`` (node, edge and graph attributes; node, step, pass, event and op-call records),
``stats`` (the statistics dict), ``graph`` (records -> networkx), ``io`` (JSON <-> records),
``text`` (how record values read as text). Imports nothing else of the visualizer.
"""
