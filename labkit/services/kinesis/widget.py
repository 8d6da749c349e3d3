"""The stream view: a live picture of a Kinesis data stream's shards and its Firehose buffers.

A view, not a model: it reads :func:`labkit.services.kinesis.state.stream_snapshot` and
:func:`~labkit.services.kinesis.state.delivery_snapshots`, keeps what it read in synced traitlets,
and renders them with :mod:`labkit.services.kinesis.view`. Create it with :func:`stream_view`::

    checkpoints = {}                       # shard id -> last sequence number your consumer read
    stream_view(lab, "trucks", consumers={"dashboard": checkpoints})

The consumers' checkpoint dicts are read again at every refresh, so a consumer that updates its
dict moves its marker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from traitlets import Dict, Float, List, TraitError, Unicode, validate

from labkit.services.kinesis.view import delivery_state, render_html, render_text, stream_state
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.lab import Lab


#: Keys every shard of the synced state has.
SHARD_FIELDS = frozenset(
    {
        "shard_id",
        "start",
        "end",
        "open",
        "parent",
        "adjacent_parent",
        "children",
        "records",
        "expired",
        "first_sequence",
        "last_sequence",
        "keys",
        "distinct_keys",
        "slots",
        "recent",
        "positions",
        "usage",
    }
)
#: Keys every delivery stream of the synced state has.
DELIVERY_FIELDS = frozenset(
    {
        "name",
        "source",
        "bucket",
        "prefix",
        "error_prefix",
        "compression",
        "size_limit",
        "interval",
        "buffered_bytes",
        "buffered_records",
        "oldest_arrival",
        "flush_at",
        "objects_delivered",
        "records_delivered",
        "bytes_delivered",
        "last_error",
        "keys",
    }
)


def _check_fields(entry: Any, fields: frozenset[str], what: str) -> None:
    if not isinstance(entry, dict):
        raise TraitError(f"{what} must be a dict, not {type(entry).__name__}.")
    if set(entry) != fields:
        missing = ", ".join(sorted(fields - set(entry))) or "none"
        extra = ", ".join(sorted(map(str, set(entry) - fields))) or "none"
        raise TraitError(f"{what} has the wrong keys (missing: {missing}; unexpected: {extra}).")


def check_stream(value: Any) -> dict[str, Any]:
    """``value`` if it is a stream state (or ``{}``), else a TraitError saying what is wrong."""
    if not isinstance(value, dict):
        raise TraitError(f"stream must be a dict, not {type(value).__name__}.")
    if not value:
        return value
    shards = value.get("shards")
    if not isinstance(shards, list):
        raise TraitError("stream['shards'] must be a list of shards.")
    for i, shard in enumerate(shards):
        _check_fields(shard, SHARD_FIELDS, f"stream['shards'][{i}]")
    return value


def check_deliveries(value: Any) -> list[dict[str, Any]]:
    """``value`` if it is a list of delivery stream states."""
    if not isinstance(value, list):
        raise TraitError(f"deliveries must be a list of dicts, not {type(value).__name__}.")
    for i, entry in enumerate(value):
        _check_fields(entry, DELIVERY_FIELDS, f"deliveries[{i}]")
    return value


class StreamView(LiveView):
    """A Kinesis data stream's shards as lanes, and its Firehose delivery streams' buffers.

    Args:
        lab: The lab whose sandbox holds the stream.
        stream: The stream's name; the only stream of the sandbox when ``None``.
        consumers: Consumer name -> its checkpoints (shard id -> last sequence number read).
        firehose: Delivery streams to show: names, ``True`` for all of them, ``False`` for none;
            by default those that read this stream.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    #: The stream's state (:func:`labkit.services.kinesis.view.stream_state`); ``{}`` if missing.
    stream = Dict().tag(sync=True)
    #: The delivery streams' states.
    deliveries = List(Dict()).tag(sync=True)
    #: The name of the stream shown.
    name = Unicode("").tag(sync=True)
    #: The lab time of the snapshot (epoch seconds).
    now = Float(0.0).tag(sync=True)

    def __init__(
        self,
        lab: Lab,
        stream: str | None = None,
        *,
        consumers: Mapping[str, Mapping[str, object]] | None = None,
        firehose: list[str] | bool | None = None,
        auto_refresh: bool = True,
        **kwargs: Any,
    ) -> None:
        self._lab = lab
        self._stream = stream
        self._consumers = consumers or {}
        self._firehose = firehose
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.add_class("labkit-stream-view")

    @validate("stream")
    def _validate_stream(self, proposal: Any) -> dict[str, Any]:
        return check_stream(proposal["value"])

    @validate("deliveries")
    def _validate_deliveries(self, proposal: Any) -> list[dict[str, Any]]:
        return check_deliveries(proposal["value"])

    def is_live(self) -> bool:
        """Whether the lab's sandbox still runs."""
        return self._lab.running

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return self._lab.sandbox.clock.timestamp

    def _name(self) -> str:
        if self._stream:
            return self._stream
        from labkit.services.kinesis.state import stream_names

        names = stream_names(self._lab.sandbox)
        return names[0] if len(names) == 1 else ""

    def snapshot(self) -> dict[str, Any]:
        """The stream and delivery streams, read now."""
        from labkit.services.kinesis.state import delivery_snapshots, stream_snapshot

        sandbox = self._lab.sandbox
        name = self._name()
        snap = stream_snapshot(sandbox, name, consumers=self._consumers) if name else None
        if self._firehose is False:
            deliveries = []
        elif self._firehose is True:
            deliveries = delivery_snapshots(sandbox)
        elif self._firehose:
            deliveries = delivery_snapshots(sandbox, list(self._firehose))
        else:
            deliveries = delivery_snapshots(sandbox, source=snap.name) if snap else []
        return {
            "stream": stream_state(snap),
            "deliveries": delivery_state(deliveries),
            "name": name,
            "now": sandbox.clock.timestamp,
        }

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return (
            "This lab has stopped: the view shows the stream as it last was and no longer updates."
        )

    def to_html(self) -> str:
        """The stream as self-contained HTML (SVG lanes, legend, newest records, buffers)."""
        return render_html(
            self.stream,
            self.deliveries,
            name=self.name,
            now=self.now,
            notice=self.notice,
            hint=self._hint(),
        )

    def to_text(self) -> str:
        """The stream as plain text (one line of marks per shard)."""
        return render_text(
            self.stream,
            self.deliveries,
            name=self.name,
            now=self.now,
            notice=self.notice,
            hint=self._hint(),
        )


def stream_view(
    lab: Lab,
    stream: str | None = None,
    *,
    consumers: Mapping[str, Mapping[str, object]] | None = None,
    firehose: list[str] | bool | None = None,
    hold: bool = False,
) -> StreamView:
    """A live view of the Kinesis data stream ``stream`` of ``lab``'s sandbox.

    Args:
        lab: The lab.
        stream: The stream's name (the only stream of the sandbox when ``None``).
        consumers: Consumer name -> its checkpoint dict (shard id -> last sequence number read).
        firehose: Delivery streams to show (names, ``True`` for all); by default those reading
            ``stream``.
        hold: Hold the moment of this call: a view that never refreshes (see ``LiveView.hold``).
    """
    return StreamView(lab, stream, consumers=consumers, firehose=firehose, hold=hold)


__all__ = ["StreamView", "stream_view"]
