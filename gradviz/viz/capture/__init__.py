"""Capture: what the engine did, turned into plain records while it runs.

``tracer`` (the ``Capture`` container a recording fills), ``recorder`` (the engine hook that keeps
records), ``naming`` (module paths), ``source`` (file:line), ``stats`` (ndarray -> statistics),
``options`` (op option labels), ``live`` (the graph behind a live Variable).
"""
