"""Old module paths, kept working: where each module of the layer folders went (issue 12).

Until the course was laid out by service (``labkit/services/<service>/``), modules lived in layer
folders (``labkit.sandbox.services.sqs``, ``labkit.widgets.stream_view``, ...). Notebooks learners
saved before the move still import those paths; this table lets them, without a shim file per old
module. A module that was split (the queue and topic snapshots, the edge views) maps to every
module that now holds a part of it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from typing import Any

#: Old dotted path -> the module(s) that hold its names now.
MOVED: dict[str, tuple[str, ...]] = {
    "labkit.sandbox.deploy": ("labkit.services.awslambda.deploy",),
    "labkit.sandbox.edge_inspect": (
        "labkit.services.cloudfront.state",
        "labkit.services.globalaccelerator.state",
    ),
    "labkit.sandbox.lambda_inspect": ("labkit.services.awslambda.state",),
    "labkit.sandbox.queue_inspect": (
        "labkit.services.sqs.state",
        "labkit.services.sns.state",
    ),
    "labkit.sandbox.services": ("labkit.sandbox.patches",),
    "labkit.simulators": (),
    "labkit.sandbox.services.apigateway": ("labkit.services.apigateway.patch",),
    "labkit.sandbox.services.awslambda": ("labkit.services.awslambda.patch",),
    "labkit.sandbox.services.cloudfront": ("labkit.services.cloudfront.patch",),
    "labkit.sandbox.services.cloudfront_log": ("labkit.services.cloudfront.sim_log",),
    "labkit.sandbox.services.edge": ("labkit.services.edge.patch",),
    "labkit.sandbox.services.firehose": ("labkit.services.firehose.patch",),
    "labkit.sandbox.services.ga_models": ("labkit.services.globalaccelerator.patch_models",),
    "labkit.sandbox.services.globalaccelerator": ("labkit.services.globalaccelerator.patch",),
    "labkit.sandbox.services.kinesis": ("labkit.services.kinesis.patch",),
    "labkit.sandbox.services.kinesis_resharding": ("labkit.services.kinesis.patch_resharding",),
    "labkit.sandbox.services.lambda_destinations": (
        "labkit.services.awslambda.patch_destinations",
    ),
    "labkit.sandbox.services.lambda_filters": ("labkit.services.awslambda.patch_filters",),
    "labkit.sandbox.services.lambda_permissions": ("labkit.services.awslambda.access",),
    "labkit.sandbox.services.lambda_triggers": ("labkit.services.awslambda.patch_triggers",),
    "labkit.sandbox.services.s3_access": ("labkit.services.s3.patch_access",),
    "labkit.sandbox.services.s3_notifications": ("labkit.services.s3.patch_notifications",),
    "labkit.sandbox.services.s3_origin": ("labkit.services.s3.patch_origin",),
    "labkit.sandbox.services.s3_replication": ("labkit.services.s3.patch_replication",),
    "labkit.sandbox.services.sns": ("labkit.services.sns.patch",),
    "labkit.sandbox.services.sns_log": ("labkit.services.sns.patch_log",),
    "labkit.sandbox.services.sqs": ("labkit.services.sqs.patch",),
    "labkit.sandbox.services.sqs_attributes": ("labkit.services.sqs.patch_attributes",),
    "labkit.sandbox.services.sqs_policy": ("labkit.services.sqs.access",),
    "labkit.sandbox.services.sqs_store": ("labkit.services.sqs.sim_store",),
    "labkit.sandbox.stream_inspect": ("labkit.services.kinesis.state",),
    "labkit.simulators.coupling": ("labkit.services.sqs.sim_coupling",),
    "labkit.simulators.edge_cache": ("labkit.services.cloudfront.sim_cache",),
    "labkit.simulators.edge_costs": ("labkit.services.edge.sim_costs",),
    "labkit.simulators.edge_locations": ("labkit.services.edge.sim_locations",),
    "labkit.simulators.edge_traces": ("labkit.services.edge.sim_traces",),
    "labkit.simulators.lambda_isolation": ("labkit.services.awslambda.sim_isolation",),
    "labkit.simulators.lambda_packaging": ("labkit.services.awslambda.sim_packaging",),
    "labkit.simulators.lambda_pricing": ("labkit.services.awslambda.sim_pricing",),
    "labkit.simulators.lambda_runtime": ("labkit.services.awslambda.sim_runtime",),
    "labkit.simulators.queue_scaling": ("labkit.services.sqs.sim_scaling",),
    "labkit.simulators.stream_load": ("labkit.services.kinesis.sim_load",),
    "labkit.simulators.throughput": ("labkit.services.kinesis.sim_throughput",),
    "labkit.views.edge": (
        "labkit.services.cloudfront.view",
        "labkit.services.globalaccelerator.view",
        "labkit.services.edge.view",
    ),
    "labkit.views.invocations": ("labkit.services.awslambda.view",),
    "labkit.views.queue": ("labkit.services.sqs.view",),
    "labkit.views.queue_plots": ("labkit.services.sqs.view_plots",),
    "labkit.views.stream": ("labkit.services.kinesis.view",),
    "labkit.views.stream_throughput": ("labkit.services.kinesis.view_throughput",),
    "labkit.views.topic": ("labkit.services.sns.view",),
    "labkit.widgets.cache_view": (
        "labkit.services.cloudfront.widget",
        "labkit.services.globalaccelerator.widget",
    ),
    "labkit.widgets.invocation_view": ("labkit.services.awslambda.widget",),
    "labkit.widgets.queue_view": ("labkit.services.sqs.widget",),
    "labkit.widgets.stream_view": ("labkit.services.kinesis.widget",),
    "labkit.widgets.topic_view": ("labkit.services.sns.widget",),
}


class _Alias(types.ModuleType):
    """An old path: its names are looked up in the modules that hold them now."""

    def __init__(self, name: str, targets: Sequence[str]) -> None:
        super().__init__(name, f"Moved to {', '.join(targets)}.")
        self.__targets = tuple(targets)

    def __getattr__(self, attribute: str) -> Any:
        for target in self.__targets:
            module = importlib.import_module(target)
            if hasattr(module, attribute):
                return getattr(module, attribute)
        if f"{self.__name__}.{attribute}" in MOVED:  # an old package's module
            return importlib.import_module(f"{self.__name__}.{attribute}")
        raise AttributeError(f"module {self.__name__!r} has no attribute {attribute!r}")


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        targets = MOVED[spec.name]
        if len(targets) == 1 and not _is_package(spec.name):
            return importlib.import_module(targets[0])  # one home: the very same module object
        alias = _Alias(spec.name, targets)
        if _is_package(spec.name):
            alias.__path__ = []  # so that its old modules import beneath it
        return alias

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module was imported under its new name."""


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=_is_package(fullname))


def _is_package(name: str) -> bool:
    """Whether an old path was a package (other old paths lie beneath it)."""
    return any(other.startswith(f"{name}.") for other in MOVED)


def install() -> None:
    """Let the old paths import (once per process)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.append(_Finder())
