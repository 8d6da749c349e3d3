"""The Transfer Acceleration view: a bucket's setting, modelled upload times by city, and the
uploads it received, refreshed after every cell.

A view, not a model: :class:`AccelerationView` reads :mod:`labkit.services.s3.state` and
:mod:`labkit.services.s3.sim_acceleration`, keeps a plain snapshot in a synced traitlet and renders
it with :mod:`labkit.services.s3.view_acceleration`. Create it with
``labkit.edge.acceleration_view(bucket, cities=[...])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from traitlets import Unicode

from labkit.services.s3.view_acceleration import acceleration_state, render_html, render_text
from labkit.widgets.state_view import StateView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: The cities a comparison uses unless told otherwise (the edge lab's audience).
DEFAULT_CITIES = ("New York", "London", "Frankfurt", "Tokyo", "Sao Paulo", "Sydney")
#: The upload a comparison models unless told otherwise: a 10 MB photo or video clip.
DEFAULT_SIZE = 10_000_000

_STATE_KEYS = frozenset(
    {"bucket", "region", "status", "endpoint", "size", "now", "compare", "uploads"}
)


class AccelerationView(StateView):
    """A bucket's Transfer Acceleration, refreshed after every cell.

    Args:
        sandbox: The sandbox the bucket lives in.
        bucket: The bucket's name.
        cities: Where the compared uploaders are.
        size: The compared upload's size, bytes.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    shows = "the bucket as it last saw it"
    title = "Transfer Acceleration view"
    css_class = "labkit-acceleration-view"
    state_keys = _STATE_KEYS

    bucket = Unicode("").tag(sync=True)

    def __init__(
        self,
        sandbox: Sandbox,
        bucket: str,
        *,
        cities: Sequence[str] = DEFAULT_CITIES,
        size: int = DEFAULT_SIZE,
        **kwargs: Any,
    ) -> None:
        self._bucket = bucket
        self._cities = tuple(cities)
        self._size = int(size)
        super().__init__(sandbox, **kwargs)
        self.bucket = bucket

    def read(self) -> dict[str, Any]:
        """The bucket's setting, the comparison and its uploads, read now."""
        from labkit.services.s3.sim_acceleration import upload_estimate
        from labkit.services.s3.state import bucket_acceleration, uploads

        setting = bucket_acceleration(self._bucket)
        estimates = [upload_estimate(self._size, c, setting.region) for c in self._cities]
        state = acceleration_state(
            setting,
            uploads(self._bucket),
            estimates,
            size=self._size,
            now=self._sandbox.clock.timestamp,
        )
        return state

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The view as self-contained HTML."""
        return render_html(state, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The view as plain text."""
        return render_text(state, notice=notice, hint=hint)


def acceleration_view(
    bucket: str,
    *,
    cities: Sequence[str] = DEFAULT_CITIES,
    size: int = DEFAULT_SIZE,
    hold: bool = False,
    sandbox: Sandbox | None = None,
) -> AccelerationView:
    """A live view of ``bucket``'s Transfer Acceleration: its setting, upload times from each of
    ``cities`` for an upload of ``size`` bytes, and the uploads it received.

    Raises:
        BucketNotFoundError: No such bucket.
        UnknownLocationError: A city the edge map does not know.
    """
    from labkit.services.edge.patch import running
    from labkit.services.edge.sim_locations import place
    from labkit.services.s3.state import bucket_acceleration

    sandbox = sandbox or running()
    # Checked before the widget exists: a widget whose construction fails cannot close cleanly.
    bucket_acceleration(bucket)
    for city in cities:
        place(city)
    return AccelerationView(sandbox, bucket, cities=cities, size=size, hold=hold)


__all__ = ["AccelerationView", "acceleration_view"]
