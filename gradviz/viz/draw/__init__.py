"""Draw: the pictures.

``scene`` (what to draw), ``labels`` (node and cluster labels), ``style`` (the
visual vocabulary), ``layout`` (the dot program), ``render`` (the only writer of DOT);
``records.files`` writes them atomically. Takes records and a diagnosis ``Report``; never runs
analysis.
"""
