"""The cache view and the accelerator view: live pictures of the edge.

Views, not models. :class:`CacheView` reads
:func:`labkit.sandbox.edge_inspect.distribution_snapshot`: each edge location's cache entries
with the TTL they have left, hit counts, invalidations, where viewers are served, the
distribution's latest requests (a ``requests.get`` in a cell as much as a trace's), and the
requests of the traces handed to it. :class:`AcceleratorView` reads
:func:`labkit.sandbox.edge_inspect.accelerator_snapshot`: endpoint groups, health, routes. Both
keep what they read in synced traitlets and render it with :mod:`labkit.views.edge`. Create them
with :func:`cache_view` and :func:`accelerator_view` (``labkit.edge.cache_view(...)`` in a lab).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, Unicode, validate

from labkit.views.edge import (
    accelerator_html,
    accelerator_state,
    accelerator_text,
    distribution_state,
    render_html,
    render_text,
)
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
_ACCELERATOR_KEYS = frozenset(
    {"arn", "name", "dns_name", "ip_addresses", "enabled", "status", "listeners", "routes", "now"}
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

    #: The snapshot (see :func:`labkit.views.edge.distribution_state`).
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

    def snapshot(self) -> dict[str, Any]:
        """The distribution's caches and traffic, read now."""
        from labkit.sandbox.edge_inspect import distribution_snapshot

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


class AcceleratorView(LiveView):
    """An accelerator's endpoint groups with their health now, and where viewers go.

    Args:
        sandbox: The sandbox the accelerator lives in.
        accelerator_arn: The accelerator's ARN (or DNS name).
        viewers: Cities whose route to show.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    #: The snapshot (see :func:`labkit.views.edge.accelerator_state`).
    state = Dict().tag(sync=True)
    #: The accelerator shown.
    accelerator_arn = Unicode("").tag(sync=True)

    def __init__(
        self,
        sandbox: Sandbox,
        accelerator_arn: str,
        *,
        viewers: Iterable[str] = (),
        auto_refresh: bool = True,
        **kwargs: Any,
    ) -> None:
        self._sandbox = sandbox
        self._viewers = list(viewers)
        self._arn = accelerator_arn
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.accelerator_arn = accelerator_arn
        self.add_class("labkit-accelerator-view")

    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        return check_state(proposal["value"], _ACCELERATOR_KEYS, "state")

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return _running(self._sandbox)

    def snapshot(self) -> dict[str, Any]:
        """The accelerator's health and routes, read now."""
        from labkit.sandbox.edge_inspect import accelerator_snapshot

        snap = accelerator_snapshot(
            self._arn,
            viewers=self._viewers,
            now=self._sandbox.clock.timestamp,
            sandbox=self._sandbox,
        )
        return {"state": accelerator_state(snap)}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the accelerator as it last saw it."

    def to_html(self) -> str:
        """The accelerator as self-contained HTML."""
        if not self.state:
            return ""
        return accelerator_html(self.state, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The accelerator as plain text."""
        if not self.state:
            return "Global Accelerator view (not read yet)"
        return accelerator_text(self.state, notice=self.notice, hint=self._hint())


def _sandbox(sandbox: Sandbox | None) -> Sandbox:
    if sandbox is not None:
        return sandbox
    from labkit.sandbox.services.edge import running

    return running()


def cache_view(
    distribution_id: str,
    *,
    viewers: Iterable[str] = (),
    traces: Iterable[Any] = (),
    sandbox: Sandbox | None = None,
) -> CacheView:
    """A live view of a distribution's edge caches (of the running lab by default)."""
    return CacheView(_sandbox(sandbox), distribution_id, viewers=viewers, traces=traces)


def accelerator_view(
    accelerator_arn: str, *, viewers: Iterable[str] = (), sandbox: Sandbox | None = None
) -> AcceleratorView:
    """A live view of an accelerator's endpoint groups, health and routes."""
    return AcceleratorView(_sandbox(sandbox), accelerator_arn, viewers=viewers)


__all__ = ["AcceleratorView", "CacheView", "accelerator_view", "cache_view"]
