"""Draw: the pictures.

``scene`` (what to draw), ``labels`` (node and cluster labels), ``style`` (the visual
vocabulary), ``layout`` (the dot program), ``render`` (the only writer of DOT), ``files``
(atomic writes). Takes records and a diagnosis ``Report``; never runs analysis.
"""
