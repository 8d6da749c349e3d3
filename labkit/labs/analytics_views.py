"""The analytics lab's views as objects a notebook shows: HTML in Jupyter, text elsewhere.

The renderers are the services' own (:mod:`labkit.services.athena.view` for the lake and a
query, :mod:`labkit.services.glue.view` for crawlers and jobs); these hold one snapshot each, so a
view shows the moment it was made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from labkit.errors import LabkitError


class UnknownQueryError(LabkitError):
    """No Athena query with that id (or none run yet)."""

    code = "UnknownQuery"


class SnapshotView:
    """One snapshot with its HTML and text renderers."""

    def __init__(
        self,
        snapshot: Mapping[str, Any],
        html: Callable[[Mapping[str, Any]], str],
        text: Callable[[Mapping[str, Any]], str],
    ) -> None:
        self.snapshot = snapshot
        self._html = html
        self._text = text

    def _repr_html_(self) -> str:
        return self._html(self.snapshot)

    def __str__(self) -> str:
        return self._text(self.snapshot)

    def __repr__(self) -> str:
        return self._text(self.snapshot)


def lake_view(region: str) -> SnapshotView:
    """The lake now: each catalog table's schema, partitions (registered or not) and objects."""
    from labkit.services.athena.state import lake_snapshot
    from labkit.services.athena.view import lake_html, lake_text

    return SnapshotView(lake_snapshot(region=region), lake_html, lake_text)


def query_view(execution_id: str | None, now: float, region: str) -> SnapshotView:
    """One Athena query (the latest when ``execution_id`` is ``None``)."""
    from labkit.services.athena.state import query_ids, query_snapshot
    from labkit.services.athena.view import query_html, query_text

    if execution_id is None:
        ids = query_ids(region=region)
        if not ids:
            raise UnknownQueryError("No Athena query has run in this lab yet.")
        execution_id = ids[-1]
    snapshot = query_snapshot(execution_id, now, region=region)
    if snapshot is None:
        raise UnknownQueryError(f"There is no Athena query {execution_id!r} in {region}.")
    return SnapshotView(snapshot, query_html, query_text)


def etl_view(region: str) -> SnapshotView:
    """Glue now: crawlers and their last crawl, jobs with their runs and what bookmarks hold."""
    from labkit.services.glue.state import etl_snapshot
    from labkit.services.glue.view import etl_html, etl_text

    return SnapshotView(etl_snapshot(region=region), etl_html, etl_text)


__all__ = ["SnapshotView", "UnknownQueryError", "etl_view", "lake_view", "query_view"]
