"""The pattern every labkit widget follows: a live view over something the lab owns.

A :class:`LiveView` holds no logic. It takes a snapshot of its source (the sandbox, a queue, a
simulator), keeps it in synced, validated traitlets, and shows it through the plain renderers of
:mod:`labkit.views`. After every cell the learner runs it takes a new snapshot (IPython's
``post_run_cell`` event), so the picture is never stale; when its source stops, it says so and
stops following. Everywhere a live widget cannot run (nbconvert, nbviewer, GitHub, a terminal),
its display data carries the same rendering as static HTML and as text.

A new view implements four things (abstract: a view missing one cannot be created)::

    class QueueView(LiveView):
        messages = List(Dict()).tag(sync=True)   # the snapshot, validated with @validate

        def is_live(self) -> bool: ...           # is the source still there?
        def snapshot(self) -> dict[str, Any]: ...  # trait name -> new value
        def to_html(self) -> str: ...            # render the traits with labkit.views
        def to_text(self) -> str: ...

A view of one named resource of a lab's sandbox (a queue, a topic) starts from
:class:`labkit.widgets.resource_view.ResourceView` instead, which does most of this.
"""

from __future__ import annotations

import sys
from abc import ABCMeta, abstractmethod
from typing import Any

from ipywidgets import HTML, VBox
from traitlets import MetaHasTraits, Unicode

#: The event after which views refresh: it runs after every cell, even one that raised.
EVENT = "post_run_cell"
#: The last line of a view that refreshes itself.
LIVE_HINT = "This view updates after each cell you run."
#: The last line of a view that does not (outside IPython, or ``auto_refresh=False``).
REFRESH_HINT = "Call .refresh() on this view to update it."


def current_shell() -> Any:
    """The running IPython shell, or ``None`` (plain Python, scripts, most tests).

    IPython is looked up, not imported: if nothing imported it, no shell runs.
    """
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


class AfterEachCell:
    """The one ``post_run_cell`` callback of a shell that refreshes every live view in it.

    However many views a learner creates (``lab.view()`` run again and again), the shell has a
    single labkit callback; it unregisters itself when its last view leaves. It is found again
    through the shell's own callback list, so labkit keeps no global registry.
    """

    def __init__(self, shell: Any) -> None:
        self._shell = shell
        self.views: list[LiveView] = []

    @classmethod
    def of(cls, shell: Any, *, create: bool = False) -> AfterEachCell | None:
        """The shell's instance; a new, registered one when ``create`` and there is none."""
        for callback in shell.events.callbacks[EVENT]:
            if isinstance(callback, cls):
                return callback
        if not create:
            return None
        instance = cls(shell)
        shell.events.register(EVENT, instance)
        return instance

    def add(self, view: LiveView) -> None:
        """Refresh ``view`` after every cell from now on (adding it twice changes nothing)."""
        if view not in self.views:
            self.views.append(view)

    def remove(self, view: LiveView) -> None:
        """Stop refreshing ``view``; the last view to leave unregisters the callback."""
        if view in self.views:
            self.views.remove(view)
        if not self.views and self in self._shell.events.callbacks[EVENT]:
            self._shell.events.unregister(EVENT, self)

    def __call__(self, *_: Any) -> None:
        for view in list(self.views):
            view._after_cell()

    def __repr__(self) -> str:
        return f"<labkit views refreshed after each cell: {len(self.views)}>"


class _ViewMeta(ABCMeta, MetaHasTraits):
    """Widgets' own metaclass (traitlets' ``MetaHasTraits``) that also enforces ``@abstractmethod``.

    A class has one metaclass: ``ABC`` alone would clash with the widget's. With both, traits,
    ``@validate`` and ``@observe`` work as before, and creating a view whose class lacks one of
    the abstract methods raises ``TypeError`` before any widget model (comm) is opened.
    """


class LiveView(VBox, metaclass=_ViewMeta):  # type: ignore[misc]  # ipywidgets has no types
    """Base class of labkit's widgets: a snapshot, two renderers, auto-refresh, static fallback.

    Args:
        auto_refresh: Refresh after every cell the learner runs (only inside IPython).
        **kwargs: Passed to ``ipywidgets.VBox`` (layout, ...).
    """

    #: Something the reader must know before the content (the source stopped, ...); empty
    #: when all is well. Renderers show it in words.
    notice = Unicode("").tag(sync=True)

    def __init__(self, *, auto_refresh: bool = True, **kwargs: Any) -> None:
        self._display = HTML()
        self._shell: Any = None
        super().__init__(children=(self._display,), **kwargs)
        self.add_class("labkit-view")
        # Follow first: the first rendering already says whether the view updates itself.
        if auto_refresh:
            self._follow()
        try:
            self.refresh()
        except BaseException:
            self.close()  # the comm is open already: do not leave a dead model behind
            raise

    # -- what a subclass provides -----------------------------------------------------------
    @abstractmethod
    def is_live(self) -> bool:
        """Whether the source still exists; a view over a stopped source stops refreshing."""

    @abstractmethod
    def snapshot(self) -> dict[str, Any]:
        """Read the source: the new value of each synced trait, by name."""

    @abstractmethod
    def to_html(self) -> str:
        """The current state as self-contained HTML (from the traits only)."""

    @abstractmethod
    def to_text(self) -> str:
        """The current state as plain text (from the traits only)."""

    def stopped_notice(self) -> str:
        """What to tell the reader once the source has stopped."""
        return "The source of this view has stopped; it shows what it last saw."

    def _hint(self) -> str:
        # The renderers' last line: how this view updates (nothing once the source stopped).
        if self.following:
            return LIVE_HINT
        return REFRESH_HINT if self.is_live() else ""

    # -- refreshing -------------------------------------------------------------------------
    @property
    def following(self) -> bool:
        """Whether the view refreshes itself after every cell."""
        shell = self._shell
        if shell is None:
            return False
        refresher = AfterEachCell.of(shell)
        return refresher is not None and self in refresher.views

    def refresh(self) -> None:
        """Take a new snapshot now and show it; a stopped source leaves the last one shown."""
        if not self.is_live():
            self._unfollow()
            self._show(notice=self.stopped_notice())
            return
        self._show(self.snapshot(), notice="")

    def _after_cell(self) -> None:
        # An error here would print a traceback under every cell the learner runs: show it in
        # the view instead, keep the last good snapshot, and try again after the next cell.
        try:
            self.refresh()
        except Exception as exc:
            self._show(
                notice=f"labkit could not read the lab after the last cell ({type(exc).__name__}: "
                f"{exc}). This view shows what it saw before and tries again after the next cell."
            )

    def _show(self, state: dict[str, Any] | None = None, *, notice: str) -> None:
        # One message to the front end for the whole update; unchanged traits send nothing.
        with self.hold_sync():
            for name, value in (state or {}).items():
                setattr(self, name, value)
            self.notice = notice
            self._display.value = self.to_html()

    def _follow(self) -> None:
        shell = current_shell()
        if shell is None:
            return
        refresher = AfterEachCell.of(shell, create=True)
        assert refresher is not None
        refresher.add(self)
        self._shell = shell

    def _unfollow(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            refresher = AfterEachCell.of(shell)
            if refresher is not None:
                refresher.remove(self)

    def close(self) -> None:
        """Stop refreshing and remove the widget from the page (its static form stays)."""
        self._unfollow()
        self._display.close()
        super().close()

    # -- display ----------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        # ipywidgets 8.1.9 gives the widget view and a truncated repr() as text/plain. Add the
        # static rendering, so that an export (nbconvert, nbviewer, GitHub) shows the table and
        # a terminal shows text. Frontends that run widgets prefer the widget view.
        # Displayed again later (its variable as a cell's last line), the view takes a fresh
        # snapshot first: otherwise its static form would be the state after the previous cell.
        if self.is_live():
            self._after_cell()
        data: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        bundle = dict(data or {})
        bundle["text/plain"] = self.to_text()
        bundle["text/html"] = self.to_html()
        return bundle

    def _repr_html_(self) -> str:
        # Used once the widget is closed: ipywidgets then removes _repr_mimebundle_.
        return self.to_html()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.to_text())

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        state = "refreshes after each cell" if self.following else "call .refresh() to update"
        return f"<{type(self).__name__} ({state}): {self.to_text().splitlines()[0]}>"
