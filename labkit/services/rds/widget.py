"""The database view as a live widget: an RDS DB instance (endpoint, Multi-AZ standby,
failovers, replicas and their lag, backups, connections) or an Aurora cluster (writer and
readers, the six-copy volume, failovers, Serverless v2 capacity), refreshed as the lab moves.

A view, not a model. :class:`DbView` reads :func:`labkit.services.rds.state.instance_snapshot`
or :func:`labkit.services.rds.patch_aurora.snapshot`, keeps it in a synced traitlet and renders
it with :mod:`.view_instance` or :mod:`.view_cluster`. Create it with ``lab.db_view(name)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import TraitError, Unicode

from labkit.services.rds import view_cluster, view_instance
from labkit.widgets.state_view import StateView, check_keys

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class DbView(StateView):
    """A DB instance or an Aurora cluster, refreshed after every cell.

    Args:
        sandbox: The sandbox the database lives in.
        kind: ``instance`` or ``cluster``.
        identifier: Its identifier.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    shows = "the database as it last saw it"
    title = "Database view"
    css_class = "labkit-db-view"

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
        self._kind = kind
        self._identifier = identifier
        super().__init__(sandbox, auto_refresh=auto_refresh, **kwargs)
        self.database = identifier

    def check(self, value: Any) -> dict[str, Any]:
        """An instance's or a cluster's snapshot (``kind`` says which), or ``{}``."""
        state = check_keys(value, None)
        if state and state.get("kind") not in ("instance", "cluster"):
            raise TraitError("state must say whether it shows an instance or a cluster.")
        return state

    def read(self) -> dict[str, Any]:
        """The database, read now on the lab clock."""
        if self._kind == "cluster":
            from labkit.services.rds.patch_aurora import snapshot

            data = view_cluster.as_dict(snapshot(self._sandbox, self._identifier))
        else:
            from labkit.services.rds.state import instance_snapshot

            data = instance_snapshot(self._identifier, self._sandbox.clock.timestamp)
        return {"kind": self._kind, **data}

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The database as self-contained HTML."""
        data = {k: v for k, v in state.items() if k != "kind"}
        if state["kind"] == "cluster":
            cluster = view_cluster.from_dict(data)
            return view_cluster.render_html(cluster, notice=notice, hint=hint)
        return view_instance.render_html(data, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The database as plain text."""
        data = {k: v for k, v in state.items() if k != "kind"}
        if state["kind"] == "cluster":
            cluster = view_cluster.from_dict(data)
            return view_cluster.render_text(cluster, notice=notice, hint=hint)
        return view_instance.render_text(data, notice=notice, hint=hint)


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
