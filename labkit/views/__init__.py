"""Renderers: snapshots of the sandbox and its simulators as HTML and as plain text.

Plain Python (no Jupyter, no moto), so that notebooks, exports, terminals and tests share one
rendering. What every view shares is here; each service's view is
``labkit/services/<service>/view.py``.
"""

from labkit.views.inventory import render_html as inventory_html
from labkit.views.inventory import render_text as inventory_text

__all__ = ["inventory_html", "inventory_text"]
