"""The database view as a live widget: an RDS DB instance (endpoint, Multi-AZ standby,
failovers, replicas and their lag, backups, connections) or an Aurora cluster (writer and
readers, the six-copy volume, failovers, Serverless v2 capacity), refreshed as the lab moves.

A view, not a model. :class:`DbView` reads :func:`labkit.services.rds.state.instance_snapshot`
or :func:`labkit.services.rds.patch_aurora.snapshot`, keeps it in a synced traitlet and renders
it with :mod:`.view_instance` or :mod:`.view_cluster`. Create it with ``lab.db_view(name)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, Unicode, validate

from labkit.services.rds import view_cluster, view_instance
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class DbView(LiveView):
    """A DB instance or an Aurora cluster, refreshed after every cell.

    Args:
        sandbox: The sandbox the database lives in.
        kind: ``instance`` or ``cluster``.
        identifier: Its identifier.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: The snapshot, as plain data (with ``kind``).
    state = Dict().tag(sync=True)
    #: The database shown.
    database = Unicode("").tag(sync=True)

    def __init__(
        self,
        sandbox: Sandbox,
        kind: str,
        identifier: str,
        *,
        auto_refresh: bool = True,
        **kwargs: Any,
    ) -> None:
        self._sandbox = sandbox
        self._kind = kind
        self._identifier = identifier
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.database = identifier
        self.add_class("labkit-db-view")

    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        value = proposal["value"]
        if not isinstance(value, dict):
            raise TraitError(f"state must be a dict, not {type(value).__name__}.")
        if value and value.get("kind") not in ("instance", "cluster"):
            raise TraitError("state must say whether it shows an instance or a cluster.")
        return value

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return bool(self._sandbox.running)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return float(self._sandbox.clock.timestamp)

    def snapshot(self) -> dict[str, Any]:
        """The database, read now on the lab clock."""
        if self._kind == "cluster":
            from labkit.services.rds.patch_aurora import snapshot

            data = view_cluster.as_dict(snapshot(self._sandbox, self._identifier))
        else:
            from labkit.services.rds.state import instance_snapshot

            data = instance_snapshot(self._identifier, self._sandbox.clock.timestamp)
        return {"state": {"kind": self._kind, **data}}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the database as it last saw it."

    def to_html(self) -> str:
        """The database as self-contained HTML."""
        if not self.state:
            return ""
        data = {k: v for k, v in self.state.items() if k != "kind"}
        if self.state["kind"] == "cluster":
            cluster = view_cluster.from_dict(data)
            return view_cluster.render_html(cluster, notice=self.notice, hint=self._hint())
        return view_instance.render_html(data, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The database as plain text."""
        if not self.state:
            return "Database view (not read yet)"
        data = {k: v for k, v in self.state.items() if k != "kind"}
        if self.state["kind"] == "cluster":
            cluster = view_cluster.from_dict(data)
            return view_cluster.render_text(cluster, notice=self.notice, hint=self._hint())
        return view_instance.render_text(data, notice=self.notice, hint=self._hint())


def db_view(sandbox: Sandbox, name: str | None = None, *, hold: bool = False) -> DbView:
    """A live view of a DB instance or an Aurora cluster (identifier or ARN; the only one when
    ``None``); with ``hold``, held at the moment of this call.

    Raises:
        DatabaseNotFoundError: No such instance or cluster, or several and none named.
    """
    from labkit.services.rds.state import find

    # Found before the widget exists: a widget whose construction fails cannot be closed cleanly.
    kind, identifier = find(name)
    return DbView(sandbox, kind, identifier, hold=hold)


__all__ = ["DbView", "db_view"]
