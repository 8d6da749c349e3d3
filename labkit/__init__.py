"""labkit: offline AWS architecture labs in Jupyter.

Start a lab with ``lab = labkit.start("welcome")``; ``labkit.start()`` gives a free-play sandbox.
Imports stay light: moto is loaded only when a lab starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labkit import _moved
from labkit.errors import LabkitError, NetworkBlockedError, NotSimulatedError

if TYPE_CHECKING:
    from labkit.grading.progress_view import ProgressReport
    from labkit.lab import Lab

__version__ = "0.1.0"

# Notebooks saved before the course was laid out by service import the old module paths.
_moved.install()


def start(
    lab_id: str | None = None,
    *,
    namespace: Mapping[str, Any] | None = None,
    region: str = "us-east-1",
    seed: int = 42,
    start_time: datetime | None = None,
    quiet: bool = False,
) -> Lab:
    """Start a lab: in-process AWS (moto) for every service, on a virtual clock, off the network.

    Calling it again in the same kernel stops the previous sandbox and starts a fresh one.

    Args:
        lab_id: The lab to start (see ``labkit list``); ``None`` for a free-play sandbox.
        namespace: Your variables for checks; defaults to the notebook's.
        region: The default region of clients.
        seed: Seed for AWS ids (message ids, ...), so outputs repeat from run to run.
        start_time: Where the lab clock starts (timezone-aware); a fixed instant by default.
        quiet: Do not print what happened.

    Returns:
        The running :class:`~labkit.lab.Lab`.
    """
    from labkit.clock import Clock
    from labkit.lab import Lab
    from labkit.labs import get_lab
    from labkit.sandbox.session import Sandbox

    spec = get_lab(lab_id) if lab_id is not None else None
    clock = Clock(start_time)
    sandbox = Sandbox(clock, region=region, seed=seed)
    sandbox.lab_id = lab_id
    replaced = sandbox.start()
    lab = Lab(spec, clock=clock, sandbox=sandbox, namespace=namespace)
    if not quiet:
        what = f"lab {spec.id!r}: {spec.title}" if spec else "a free-play sandbox"
        fresh = " (the previous sandbox was stopped: this one starts empty)" if replaced else ""
        print(
            f"labkit started {what}{fresh}. Region {region}, "
            f"lab clock at {clock.now:%Y-%m-%d %H:%M:%S} UTC."
        )
    return lab


def progress() -> ProgressReport:
    """Your progress: the checks you have passed in each lab (a table in a notebook).

    Reads ``$LABKIT_HOME/progress.json`` (``~/.labkit`` by default); starts no lab.
    """
    from labkit.grading.progress_view import progress as read_progress

    return read_progress()


__all__ = [
    "LabkitError",
    "NetworkBlockedError",
    "NotSimulatedError",
    "__version__",
    "progress",
    "start",
]
