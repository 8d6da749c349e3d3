"""SQS long polling on the lab clock.

Stock moto waits for ``WaitTimeSeconds`` in real time (and forever when time is frozen). In a lab
the wait happens on the lab clock instead: the call returns at once, with the clock moved to the
moment a message became available, or by the whole wait when none did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.sqs.models import Message, Queue, SQSBackend

from labkit.clock import Clock

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the SQS patches for ``sandbox``."""
    stack.enter_context(long_polling_on(lambda: sandbox.clock))


def _available_at(message: Message) -> float:
    """Epoch seconds at which ``message`` becomes receivable (visible and not delayed).

    moto counts a message visible when now > visible_at and not delayed when now >=
    delayed_until (both in milliseconds), hence the extra millisecond.
    """
    visible_ms = float(message.visible_at) + 1.0
    delayed_ms = float(getattr(message, "delayed_until", 0.0) or 0.0)
    return max(visible_ms, delayed_ms) / 1000.0


def next_availability(queue: Queue, now: float) -> float | None:
    """The earliest future instant at which a message of ``queue`` becomes receivable."""
    times = [t for t in (_available_at(m) for m in queue._messages) if t > now]
    return min(times) if times else None


@contextmanager
def long_polling_on(clock_of: Callable[[], Clock]) -> Iterator[None]:
    """Patch moto so that long polls wait on the lab clock.

    Args:
        clock_of: Returns the clock that is current (a check's isolated world has its own).
    """
    original = SQSBackend.receive_message

    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        clock = clock_of()
        deadline = clock.timestamp + float(wait_seconds_timeout or 0)
        while True:
            result: list[Any] = original(
                self, queue_name, count, 0, visibility_timeout, message_attribute_names
            )
            if result or clock.timestamp >= deadline:
                return result
            # Nothing now: jump to whichever comes first within the wait, a message becoming
            # available or a scheduled event of the lab (which may send one).
            candidates = [
                t
                for t in (
                    next_availability(self.get_queue(queue_name), clock.timestamp),
                    clock.next_event_time,
                )
                if t is not None and t <= deadline
            ]
            clock.advance_to(min(candidates) if candidates else deadline)

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQSBackend.receive_message = original  # type: ignore[method-assign]
