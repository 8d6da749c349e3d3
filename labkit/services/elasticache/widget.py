"""The ElastiCache cache view as a live widget: keys with the TTL they have left, hits and
misses, evictions and the key evicted next, refreshed as the lab clock moves.

A view, not a model. :class:`CacheView` reads :func:`labkit.services.elasticache.state.snapshot`
of one cluster's (or replication group's) Redis engine, keeps it in a synced traitlet and renders
it with :mod:`labkit.services.elasticache.view`. Create it with ``lab.cache_view(name)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, Unicode, validate

from labkit.services.elasticache.view import render_html, render_text
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_STATE_KEYS = frozenset(
    {
        "name",
        "at",
        "policy",
        "maxmemory",
        "used_memory",
        "auth",
        "hits",
        "misses",
        "hit_ratio",
        "evictions",
        "evicted_keys",
        "keys",
        "replication",
        "shards",
    }
)


class CacheView(LiveView):
    """An ElastiCache cluster's keys and statistics, refreshed after every cell.

    Args:
        sandbox: The sandbox the cluster lives in.
        cache: The cluster's (or replication group's) id.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: The snapshot (see :func:`labkit.services.elasticache.state.snapshot`).
    state = Dict().tag(sync=True)
    #: The cluster shown.
    cache = Unicode("").tag(sync=True)

    def __init__(
        self, sandbox: Sandbox, cache: str, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._sandbox = sandbox
        self._cache = cache
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.cache = self._cache
        self.add_class("labkit-cache-view")

    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        value = proposal["value"]
        if not isinstance(value, dict):
            raise TraitError(f"state must be a dict, not {type(value).__name__}.")
        if value and set(value) != _STATE_KEYS:
            raise TraitError(f"state has the wrong keys: {sorted(value)}.")
        return value

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return bool(self._sandbox.running)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return float(self._sandbox.clock.timestamp)

    def snapshot(self) -> dict[str, Any]:
        """The cache's keys and statistics, read now on the lab clock."""
        from labkit.services.elasticache.state import find, snapshot

        return {"state": snapshot(find(self._cache), now=self._sandbox.clock.timestamp)}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the cache as it last saw it."

    def to_html(self) -> str:
        """The cache as self-contained HTML."""
        if not self.state:
            return ""
        return render_html(self.state, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The cache as plain text."""
        if not self.state:
            return "ElastiCache view (not read yet)"
        return render_text(self.state, notice=self.notice, hint=self._hint())


def cache_view(sandbox: Sandbox, cache: str | None = None, *, hold: bool = False) -> CacheView:
    """A live view of an ElastiCache cluster's Redis engine (id or ARN; the only one when
    ``None``); with ``hold``, held at the moment of this call.

    Raises:
        CacheNotFoundError: No such cluster, or several and none named.
    """
    from labkit.services.elasticache.state import CacheNotFoundError, engines, find

    if cache is None:
        known = sorted(engines())
        if len(known) != 1:
            raise CacheNotFoundError("(none named)", known)
        cache = known[0]
    # Found before the widget exists: a widget whose construction fails cannot be closed cleanly.
    return CacheView(sandbox, find(cache).name, hold=hold)


__all__ = ["CacheView", "cache_view"]
