"""The cache view: a live picture of a CloudFront distribution's edge caches.

A view, not a model. :class:`CacheView` reads
:func:`labkit.services.cloudfront.state.distribution_snapshot`: each edge location's cache entries
with the TTL they have left, hit counts, invalidations, where viewers are served, the
distribution's latest requests (a ``requests.get`` in a cell as much as a trace's), and the
requests of the traces handed to it; it keeps what it read in synced traitlets and renders it with
:mod:`labkit.services.cloudfront.view`. Create it with :func:`cache_view`
(``labkit.edge.cache_view(...)`` in a lab).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, Unicode, validate

from labkit.services.cloudfront.view import distribution_state, render_html, render_text
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


_DISTRIBUTION_KEYS = frozenset(
    {
        "id",
        "domain",
        "enabled",
        "price_class",
        "geo_type",
        "geo_countries",
        "origins",
        "pops",
        "invalidations",
        "viewers",
        "requests",
        "recent",
        "now",
    }
)


def check_state(value: Any, keys: frozenset[str], what: str) -> dict[str, Any]:
    """``value`` if it is a dict with exactly ``keys`` (an empty dict before the first read).

    Raises:
        TraitError: Saying what is missing or unexpected.
    """
    if not isinstance(value, dict):
        raise TraitError(f"{what} must be a dict, not {type(value).__name__}.")
    if value and set(value) != keys:
        missing = ", ".join(sorted(keys - set(value))) or "none"
        extra = ", ".join(sorted(map(str, set(value) - keys))) or "none"
        raise TraitError(f"{what} has the wrong keys (missing: {missing}; unexpected: {extra}).")
    return value


def _running(sandbox: Sandbox) -> bool:
    return sandbox.running


class CacheView(LiveView):
    """A distribution's edge caches by region, its viewers, its latest requests and the traced
    requests handed to it.

    Args:
        sandbox: The sandbox the distribution lives in.
        distribution_id: The distribution's Id (or domain name).
        viewers: Cities whose edge location (and geo verdict) to show.
        traces: Reports of ``labkit.edge.replay`` or browsing whose requests to show; add more
            later with :meth:`add_trace`.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    #: The snapshot (see :func:`labkit.services.cloudfront.view.distribution_state`).
    state = Dict().tag(sync=True)
    #: The distribution shown.
    distribution_id = Unicode("").tag(sync=True)

    def __init__(
        self,
        sandbox: Sandbox,
        distribution_id: str,
        *,
        viewers: Iterable[str] = (),
        traces: Iterable[Any] = (),
        auto_refresh: bool = True,
        **kwargs: Any,
    ) -> None:
        self._sandbox = sandbox
        self._viewers = list(viewers)
        self._traces = list(traces)
        self._id = distribution_id
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.distribution_id = distribution_id
        self.add_class("labkit-cache-view")

    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        return check_state(proposal["value"], _DISTRIBUTION_KEYS, "state")

    def add_trace(self, report: Any) -> None:
        """Show the requests of another trace report too, and refresh."""
        self._traces.append(report)
        self.refresh()

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return _running(self._sandbox)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return self._sandbox.clock.timestamp

    def snapshot(self) -> dict[str, Any]:
        """The distribution's caches and traffic, read now."""
        from labkit.services.cloudfront.state import distribution_snapshot

        snap = distribution_snapshot(
            self._id,
            viewers=self._viewers,
            traces=self._traces,
            now=self._sandbox.clock.timestamp,
        )
        return {"state": distribution_state(snap)}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the caches as it last saw them."

    def to_html(self) -> str:
        """The caches as self-contained HTML."""
        if not self.state:
            return ""
        return render_html(self.state, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The caches as plain text."""
        if not self.state:
            return "CloudFront cache view (not read yet)"
        return render_text(self.state, notice=self.notice, hint=self._hint())


def running_sandbox(sandbox: Sandbox | None) -> Sandbox:
    """``sandbox``, or the running lab's when ``None``."""
    if sandbox is not None:
        return sandbox
    from labkit.services.edge.patch import running

    return running()


def cache_view(
    distribution_id: str,
    *,
    viewers: Iterable[str] = (),
    traces: Iterable[Any] = (),
    sandbox: Sandbox | None = None,
    hold: bool = False,
) -> CacheView:
    """A live view of a distribution's edge caches (of the running lab by default); with
    ``hold``, held at the moment of this call (see ``LiveView.hold``)."""
    return CacheView(
        running_sandbox(sandbox), distribution_id, viewers=viewers, traces=traces, hold=hold
    )


__all__ = ["CacheView", "cache_view", "check_state", "running_sandbox"]
