"""The table view: a live picture of a DynamoDB table's capacity, partitions, TTL and stream.

A view, not a model: it reads :func:`labkit.services.dynamodb.state.table_snapshot`, keeps it in
a synced trait, and renders it with :mod:`labkit.services.dynamodb.view`. Create it with
``lab.table_view("orders")`` (or :func:`table_view`); ``hold=True`` keeps the moment of the call.

The "Replicas" section comes from the global-tables modules: at each snapshot the view asks
:func:`labkit.services.dynamodb.patch_global.state_global` for the table's replicas and keeps
them rendered by :mod:`labkit.services.dynamodb.view_global` (HTML and text, so that a held or
earlier state shows the replicas as they were). A table without replicas has no such section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, validate

from labkit.services.dynamodb.view import render_html, render_text, table_state
from labkit.widgets.resource_view import ResourceView

if TYPE_CHECKING:
    from labkit.lab import Lab

#: Keys every table state has.
TABLE_FIELDS = frozenset(
    {
        "name",
        "arn",
        "region",
        "now",
        "on_demand",
        "provisioned",
        "limit",
        "hash_key",
        "range_key",
        "item_count",
        "size_bytes",
        "sampled",
        "partition_count",
        "partitions",
        "seconds",
        "throttled",
        "indexes",
        "ttl_attribute",
        "ttl_status",
        "ttl_eligible",
        "ttl_items",
        "stream_view_type",
        "stream_records",
        "stream_record_count",
        "autoscaling",
    }
)


def check_table(value: Any) -> dict[str, Any]:
    """``value`` if it is a table state (or ``{}``), else a TraitError saying what is wrong."""
    if not isinstance(value, dict):
        raise TraitError(f"table must be a dict, not {type(value).__name__}.")
    if not value:
        return value
    keys = set(value)
    if keys != TABLE_FIELDS:
        missing = ", ".join(sorted(TABLE_FIELDS - keys)) or "none"
        extra = ", ".join(sorted(map(str, keys - TABLE_FIELDS))) or "none"
        raise TraitError(f"table has the wrong keys (missing: {missing}; unexpected: {extra}).")
    for key in ("partitions", "seconds", "indexes", "ttl_items", "stream_records", "autoscaling"):
        if not isinstance(value[key], list):
            raise TraitError(f"table[{key!r}] must be a list.")
    return value


def replicas_state(lab: Lab, table: str) -> dict[str, str]:
    """The "Replicas" section of ``table`` rendered now: ``{"html", "text"}``; ``{}`` if none."""
    if not table:
        return {}
    from labkit.services.dynamodb.patch_global import state_global
    from labkit.services.dynamodb.view_global import global_html, global_text

    snapshot = state_global(table, sandbox=lab.sandbox)
    if snapshot is None:
        return {}
    return {"html": global_html(snapshot), "text": global_text(snapshot)}


class TableView(ResourceView):
    """A DynamoDB table's capacity per second, partitions, indexes, TTL and stream.

    Args:
        lab: The lab whose sandbox holds the table.
        table: The table's name or ARN; the only table of the sandbox when ``None``.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    kind = "table"
    #: The table's state (see :func:`labkit.services.dynamodb.view.table_state`); ``{}`` if missing.
    table = Dict().tag(sync=True)
    #: The "Replicas" section, rendered (``{"html", "text"}``); ``{}`` when there is none.
    replicas = Dict().tag(sync=True)

    def __init__(
        self, lab: Lab, table: str | None = None, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(lab, table, auto_refresh=auto_refresh, **kwargs)

    @validate("table")
    def _validate_table(self, proposal: Any) -> dict[str, Any]:
        return check_table(proposal["value"])

    def names(self) -> list[str]:
        """The sandbox's tables (in its Region)."""
        from labkit.services.dynamodb.state import table_names

        return table_names(self._lab.sandbox)

    def read(self, name: str) -> dict[str, Any]:
        """The table ``name`` (a name or an ARN), read now."""
        from labkit.services.dynamodb.state import table_snapshot

        return table_state(table_snapshot(self._lab.sandbox, name))

    def snapshot(self) -> dict[str, Any]:
        """The table and its replicas, read now."""
        state = super().snapshot()
        state["replicas"] = replicas_state(self._lab, state["table"].get("name", ""))
        return state

    def to_html(self) -> str:
        """The table as self-contained HTML."""
        html = str(self.replicas.get("html", ""))
        return render_html(self.table, **self._render_args(), replicas_html=html)

    def to_text(self) -> str:
        """The table as plain text."""
        text = str(self.replicas.get("text", ""))
        lines = ["  " + line for line in text.splitlines()]
        return render_text(self.table, **self._render_args(), replicas_text=lines)


def table_view(lab: Lab, table: str | None = None, *, hold: bool = False) -> TableView:
    """A live view of the DynamoDB table ``table`` (name or ARN) of ``lab``'s sandbox.

    Args:
        lab: The lab.
        table: The table (the only table of the sandbox when ``None``).
        hold: Hold the moment of this call: a view that never refreshes (see ``LiveView.hold``).
    """
    return TableView(lab, table, hold=hold)


__all__ = ["TableView", "check_table", "replicas_state", "table_view"]
