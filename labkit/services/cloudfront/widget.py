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

from traitlets import Unicode

from labkit.services.cloudfront.view import distribution_state, render_html, render_text
from labkit.widgets.state_view import StateView

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


class CacheView(StateView):
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

    shows = "the caches as it last saw them"
    title = "CloudFront cache view"
    css_class = "labkit-cache-view"
    state_keys = _DISTRIBUTION_KEYS

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
        self._viewers = list(viewers)
        self._traces = list(traces)
        self._id = distribution_id
        super().__init__(sandbox, auto_refresh=auto_refresh, **kwargs)
        self.distribution_id = distribution_id

    def add_trace(self, report: Any) -> None:
        """Show the requests of another trace report too, and refresh."""
        self._traces.append(report)
        self.refresh()

    def read(self) -> dict[str, Any]:
        """The distribution's caches and traffic, read now."""
        from labkit.services.cloudfront.state import distribution_snapshot

        snap = distribution_snapshot(
            self._id,
            viewers=self._viewers,
            traces=self._traces,
            now=self._sandbox.clock.timestamp,
        )
        return distribution_state(snap)

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The caches as self-contained HTML."""
        return render_html(state, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The caches as plain text."""
        return render_text(state, notice=notice, hint=hint)


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


__all__ = ["CacheView", "cache_view", "running_sandbox"]
