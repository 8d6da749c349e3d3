"""Where labkit makes moto faithful, one module per service (as moto lays out its services).

Each module listed in :data:`PATCH_MODULES` has ``install(sandbox, stack)``, which patches moto
while the sandbox runs and registers the undo on ``stack``. State a patch adds belongs on moto's
own model or backend objects, so that ``lab.reset()`` and a check's isolated world cover it.
"""

from __future__ import annotations

import importlib
from contextlib import ExitStack
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

PATCH_MODULES: tuple[str, ...] = (
    "labkit.sandbox.services.sqs",
    "labkit.sandbox.services.awslambda",
    "labkit.sandbox.services.apigateway",
    "labkit.sandbox.services.sns",
    "labkit.sandbox.services.kinesis",
    "labkit.sandbox.services.firehose",
    "labkit.sandbox.services.edge",
    "labkit.sandbox.services.cloudfront",
    "labkit.sandbox.services.s3_replication",
    "labkit.sandbox.services.globalaccelerator",
)


def install_all(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install every service's patches for ``sandbox``; ``stack`` undoes them."""
    for name in PATCH_MODULES:
        importlib.import_module(name).install(sandbox, stack)
