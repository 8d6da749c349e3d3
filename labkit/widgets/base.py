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

Two things every view gets from this base, so that what a lesson says and what its views show
agree however the notebook is run (Run All included):

- a **history**: each refresh that changed the snapshot is kept (the last :data:`HISTORY`
  states, each with its lab time), and the widget shows a step control (earlier, later, latest,
  and a slider) to go back and forth; the static forms say which moment they show
  ("as of lab time 09:00:05 — state 3 of 7");
- a **held moment**: ``view.hold()`` (or a view created with ``hold=True``) is a copy frozen at
  the moment its cell ran; it never refreshes and says "held as of lab time ...". Lessons use it
  under text that describes a moment ("the lane is full of one key").

A view dates its states with :meth:`LiveView.lab_now` (the lab clock), which a subclass
overrides when it has a clock.
"""

from __future__ import annotations

import html
import sys
from abc import ABCMeta, abstractmethod
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypeVar

from ipywidgets import HTML, Button, HBox, IntSlider, Layout, VBox
from traitlets import MetaHasTraits, Unicode

#: The event after which views refresh: it runs after every cell, even one that raised.
EVENT = "post_run_cell"
#: The last line of a view that refreshes itself.
LIVE_HINT = "This view updates after each cell you run."
#: The last line of a view that does not (outside IPython, or ``auto_refresh=False``).
REFRESH_HINT = "Call .refresh() on this view to update it."
#: How many states a live view keeps for the learner to step back through.
HISTORY = 50


class Moment(NamedTuple):
    """One state of a view: what its snapshot read, and when.

    Attributes:
        at: The lab time of the snapshot (epoch seconds), ``None`` when the view has no clock.
        state: The snapshot: trait name -> value, as :meth:`LiveView.snapshot` returned it.
    """

    at: float | None
    state: dict[str, Any]


def lab_time_words(at: float | None) -> str:
    """``lab time 09:00:05`` (UTC), or ``""`` when the time is unknown."""
    if at is None:
        return ""
    return f"lab time {datetime.fromtimestamp(at, tz=timezone.utc):%H:%M:%S}"


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


_View = TypeVar("_View", bound="LiveView")


class History(HBox):  # type: ignore[misc]  # ipywidgets has no types
    """The step control under a live view: earlier, a slider over the kept states, later, latest.

    It holds no state of its own: :class:`LiveView` tells it where it stands (:meth:`show`) and
    it tells the view which state the learner picked. Buttons carry words and arrows; which
    state is shown is written out beside them, never told by colour alone.
    """

    def __init__(self, view: LiveView) -> None:
        self._view = view
        self.slider = IntSlider(
            value=1,
            min=1,
            max=1,
            readout=False,
            continuous_update=True,
            description="",
            layout=Layout(width="200px"),
        )
        self.earlier = Button(description="◀ earlier", tooltip="The state before this one")
        self.later = Button(description="later ▶", tooltip="The state after this one")
        self.latest = Button(description="latest ⇥", tooltip="Back to the newest state")
        self.where = HTML()
        self._moving = False  # True while the view moves the slider: not the learner's pick
        for button in (self.earlier, self.later, self.latest):
            button.layout = Layout(width="auto")
        super().__init__(
            children=(self.earlier, self.slider, self.later, self.latest, self.where),
            layout=Layout(align_items="center", flex_flow="row wrap"),
        )
        self.add_class("labkit-history")
        self.slider.observe(self._picked, names="value")
        self.earlier.on_click(lambda _: self._step(-1))
        self.later.on_click(lambda _: self._step(1))
        self.latest.on_click(lambda _: self._step(self.slider.max))

    def show(self, position: int, count: int, words: str) -> None:
        """Stand at state ``position`` (from 1) of ``count``, described by ``words``."""
        self._moving = True
        try:
            self.slider.max = count
            self.slider.value = position
        finally:
            self._moving = False
        self.earlier.disabled = position <= 1
        self.later.disabled = self.latest.disabled = position >= count
        self.where.value = f'<span style="opacity:0.85">{html.escape(words)}</span>'

    def _step(self, by: int) -> None:
        self.slider.value = max(1, min(self.slider.max, self.slider.value + by))

    def _picked(self, change: dict[str, Any]) -> None:
        if not self._moving:
            self._view.show_state(int(change["new"]) - 1)

    def close(self) -> None:
        """Close the control and its parts."""
        for part in (self.slider, self.earlier, self.later, self.latest, self.where):
            part.close()
        super().close()


class LiveView(VBox, metaclass=_ViewMeta):  # type: ignore[misc]  # ipywidgets has no types
    """Base class of labkit's widgets: a snapshot, two renderers, auto-refresh, static fallback,
    a history to step back through, and held moments.

    Args:
        auto_refresh: Refresh after every cell the learner runs (only inside IPython).
        hold: ``True`` to hold the moment the view is created: it reads its source once and
            never again (see :meth:`hold`). A :class:`Moment` holds that moment instead.
        **kwargs: Passed to ``ipywidgets.VBox`` (layout, ...).
    """

    #: Something the reader must know before the content (the source stopped, ...); empty
    #: when all is well. Renderers show it in words.
    notice = Unicode("").tag(sync=True)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # What the view was created with, so that hold() can make a held view of the same
        # source whatever the subclass's signature.
        view = super().__new__(cls, *args, **kwargs)
        view._made_with = (args, kwargs)
        return view

    def __init__(
        self, *, auto_refresh: bool = True, hold: bool | Moment = False, **kwargs: Any
    ) -> None:
        self._display = HTML()
        self._shell: Any = None
        self._held = hold is not False
        self._history: list[Moment] = []
        self._position = -1  # index into _history of the state shown
        self._controls: History | None = None
        super().__init__(children=(self._display,), **kwargs)
        self.add_class("labkit-view")
        if self._held:
            self.add_class("labkit-held")
        # Follow first: the first rendering already says whether the view updates itself.
        if auto_refresh and not self._held:
            self._follow()
        try:
            if isinstance(hold, Moment):
                self._record(hold, jump=True)
            else:
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

    def lab_now(self) -> float | None:
        """The lab clock now (epoch seconds), to date each state; ``None``: no clock."""
        return None

    def stopped_notice(self) -> str:
        """What to tell the reader once the source has stopped."""
        return "The source of this view has stopped; it shows what it last saw."

    def _hint(self) -> str:
        # The renderers' last line: which moment is shown, and how this view updates.
        moment = self.moment
        when = lab_time_words(moment.at if moment else None)
        if self._held:
            if moment is None:
                return ""
            return (
                f"‖ Held as of {when or 'the moment its cell ran'}: this view keeps that moment "
                "and does not update."
            )
        how = LIVE_HINT if self.following else (REFRESH_HINT if self.is_live() else "")
        if moment is None:
            return how
        return " ".join(part for part in (self._where_words(), how) if part)

    def _where_words(self) -> str:
        # "As of lab time 09:00:05 — state 3 of 7 (an earlier state).", or "" with no clock
        # and a single state.
        moment = self.moment
        if moment is None:
            return ""
        count = len(self._history)
        position = self._position + 1
        when = lab_time_words(moment.at)
        words = f"As of {when}" if when else "Shown"
        if count > 1:
            words += f" — state {position} of {count}"
            if position < count:
                words += " (an earlier state: step forward or press latest for now)"
        elif not when:
            return ""
        return words + "."

    # -- the history ------------------------------------------------------------------------
    @property
    def held(self) -> bool:
        """Whether this view holds one moment (it never refreshes)."""
        return self._held

    @property
    def history(self) -> tuple[Moment, ...]:
        """The states this view has shown, oldest first (at most :data:`HISTORY`)."""
        return tuple(self._history)

    @property
    def moment(self) -> Moment | None:
        """The state shown now, or ``None`` before the first read."""
        return self._history[self._position] if self._history else None

    def show_state(self, index: int) -> None:
        """Show the kept state ``index`` (0 is the oldest, -1 the latest); refreshes go on in
        the background, and the view stays on that state until the learner steps on."""
        if not self._history:
            return
        self._position = range(len(self._history))[index]
        self._show(self._history[self._position].state, notice=self.notice)

    def hold(self: _View) -> _View:
        """A held copy of this view: the same source, read now, frozen at this moment.

        It never refreshes afterwards, and its text says "held as of lab time ...": use it under
        text that describes a moment (``orders_view.hold()``). A held view returns itself.
        """
        if self._held:
            return self
        if self.is_live():
            self._after_cell(jump=True)
        args, kwargs = self._made_with
        moment = self._history[-1] if self._history else True
        return type(self)(*args, **{**kwargs, "hold": moment, "auto_refresh": False})

    def _record(self, moment: Moment, *, jump: bool) -> None:
        # Keep the state when it differs from the latest; show it when the learner was at the
        # latest state (or ``jump``), else stay on the earlier state they chose.
        at_latest = self._position == len(self._history) - 1
        if not self._history or self._history[-1].state != moment.state:
            self._history.append(moment)
            if len(self._history) > HISTORY:
                del self._history[0]
                if not at_latest:
                    self._position = max(0, self._position - 1)
        if jump or at_latest:
            self._position = len(self._history) - 1
        try:
            self._show(self._history[self._position].state, notice="")
        except BaseException:
            if self._history[-1] is moment:  # a state the traits refused is not kept
                self._history.pop()
                self._position = min(self._position, len(self._history) - 1)
            raise

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
        """Take a new snapshot now and show it; a stopped source leaves the last one shown.

        A held view keeps its moment: refreshing it changes nothing.
        """
        self._refresh(jump=True)

    def _refresh(self, *, jump: bool) -> None:
        if self._held and self._history:
            return
        if not self.is_live():
            self._unfollow()
            self._show(notice=self.stopped_notice())
            return
        self._record(Moment(self.lab_now(), self.snapshot()), jump=jump)

    def _after_cell(self, *, jump: bool = False) -> None:
        # An error here would print a traceback under every cell the learner runs: show it in
        # the view instead, keep the last good snapshot, and try again after the next cell.
        try:
            self._refresh(jump=jump)
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
            self._show_controls()

    def _show_controls(self) -> None:
        # The step control appears once there is somewhere to step to; never on a held view.
        if self._held or len(self._history) < 2:
            return
        if self._controls is None:
            self._controls = History(self)
            self.children = (self._display, self._controls)
        moment = self._history[self._position]
        words = f"state {self._position + 1} of {len(self._history)}"
        when = lab_time_words(moment.at)
        self._controls.show(
            self._position + 1, len(self._history), f"{words} · {when}" if when else words
        )

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
        if self._controls is not None:
            self._controls.close()
        super().close()

    # -- display ----------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        # ipywidgets 8.1.9 gives the widget view and a truncated repr() as text/plain. Add the
        # static rendering, so that an export (nbconvert, nbviewer, GitHub) shows the table and
        # a terminal shows text. Frontends that run widgets prefer the widget view.
        # Displayed again later (its variable as a cell's last line), the view takes a fresh
        # snapshot first and shows it: otherwise its static form would be the state after the
        # previous cell. A held view keeps its moment.
        if self.is_live():
            self._after_cell(jump=True)
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
        if self._held:
            state = "held"
        else:
            state = "refreshes after each cell" if self.following else "call .refresh() to update"
        return f"<{type(self).__name__} ({state}): {self.to_text().splitlines()[0]}>"
