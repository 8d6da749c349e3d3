"""Jupyter widgets: live views over a lab (the only part of labkit that imports ipywidgets).

Each widget is a :class:`~labkit.widgets.base.LiveView`: a snapshot in synced traitlets, rendered
by :mod:`labkit.views`, refreshed after every cell, with a static HTML and text fallback.
Each service's widget is ``labkit/services/<service>/widget.py``; what they share is here. Import
the widget modules themselves (``labkit.widgets.sandbox_view``); this package imports
nothing, so that ``import labkit`` stays light.
"""
