"""The table view: a live picture of a DynamoDB table's capacity, partitions, TTL and stream.

A view, not a model: it reads :func:`labkit.services.dynamodb.state.table_snapshot`, keeps it in
a synced trait, and renders it with :mod:`labkit.services.dynamodb.view`. Create it with
``lab.table_view("orders")`` (or :func:`table_view`); ``hold=True`` keeps the moment of the call.

The "Replicas" section is a hook for the global-tables view: when a module
``labkit.services.dynamodb.view_global`` offers ``replica_state(sandbox, table_name) -> dict``
and ``render_replicas_html(state) -> str`` / ``render_replicas_text(state) -> list[str]``, the
view reads and shows it; until then the section is absent.
"""

from __future__ import annotations

import importlib
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
    }
)
#: Where the "Replicas" section comes from (the time engineer's module, wired by name).
REPLICAS_MODULE = "labkit.services.dynamodb.view_global"


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
    for key in ("partitions", "seconds", "indexes", "ttl_items", "stream_records"):
        if not isinstance(value[key], list):
            raise TraitError(f"table[{key!r}] must be a list.")
    return value


def _replicas_module() -> Any:
    try:
        return importlib.import_module(REPLICAS_MODULE)
    except ImportError:
        return None


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
    #: The "Replicas" section's state (from ``view_global``); ``{}`` when there is none.
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
        module = _replicas_module()
        reader = getattr(module, "replica_state", None)
        name = state["name"]
        state["replicas"] = dict(reader(self._lab.sandbox, name)) if reader and name else {}
        return state

    def _replicas(self, renderer: str) -> Any:
        module = _replicas_module()
        render = getattr(module, renderer, None)
        return render(self.replicas) if render and self.replicas else None

    def to_html(self) -> str:
        """The table as self-contained HTML."""
        return render_html(
            self.table,
            **self._render_args(),
            replicas_html=self._replicas("render_replicas_html") or "",
        )

    def to_text(self) -> str:
        """The table as plain text."""
        return render_text(
            self.table,
            **self._render_args(),
            replicas_text=self._replicas("render_replicas_text") or (),
        )


def table_view(lab: Lab, table: str | None = None, *, hold: bool = False) -> TableView:
    """A live view of the DynamoDB table ``table`` (name or ARN) of ``lab``'s sandbox.

    Args:
        lab: The lab.
        table: The table (the only table of the sandbox when ``None``).
        hold: Hold the moment of this call: a view that never refreshes (see ``LiveView.hold``).
    """
    return TableView(lab, table, hold=hold)


__all__ = ["TableView", "check_table", "table_view"]
