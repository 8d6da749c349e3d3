"""Which ipywidgets this kernel has, and which widget protocol it speaks (for ``labkit doctor``)."""

from __future__ import annotations


def installed() -> tuple[str, str] | None:
    """``(ipywidgets version, @jupyter-widgets/base version it needs)``, or ``None`` if missing."""
    try:
        import ipywidgets
        import ipywidgets._version as version
    except ImportError:
        return None
    return str(ipywidgets.__version__), str(version.__jupyter_widgets_base_version__)
