"""The ElastiCache cache view as a live widget: keys with the TTL they have left, hits and
misses, evictions and the key evicted next, refreshed as the lab clock moves.

A view, not a model. :class:`CacheView` reads :func:`labkit.services.elasticache.state.snapshot`
of one cluster's (or replication group's) Redis engine, keeps it in a synced traitlet and renders
it with :mod:`labkit.services.elasticache.view`. Create it with ``lab.cache_view(name)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Unicode

from labkit.services.elasticache.view import render_html, render_text
from labkit.widgets.state_view import StateView

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


class CacheView(StateView):
    """An ElastiCache cluster's keys and statistics, refreshed after every cell.

    Args:
        sandbox: The sandbox the cluster lives in.
        cache: The cluster's (or replication group's) id.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    shows = "the cache as it last saw it"
    title = "ElastiCache view"
    css_class = "labkit-cache-view"
    state_keys = _STATE_KEYS

    #: The cluster shown.
    cache = Unicode("").tag(sync=True)

    def __init__(
        self, sandbox: Sandbox, cache: str, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._cache = cache
        super().__init__(sandbox, auto_refresh=auto_refresh, **kwargs)
        self.cache = self._cache

    def read(self) -> dict[str, Any]:
        """The cache's keys and statistics, read now on the lab clock."""
        from labkit.services.elasticache.state import find, snapshot

        return snapshot(find(self._cache), now=self._sandbox.clock.timestamp)

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The cache as self-contained HTML."""
        return render_html(state, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The cache as plain text."""
        return render_text(state, notice=notice, hint=hint)


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
