"""The course catalog: every lab, in course order."""

from __future__ import annotations

import importlib
from functools import cache
from types import MappingProxyType

from labkit.errors import UnknownLabError
from labkit.labs.spec import LabSpec

# Modules that define a lab (each has a module-level ``LAB``), in course order.
LAB_MODULES = (
    "labkit.labs.welcome",
    "labkit.labs.decoupling",
    "labkit.labs.streaming",
    "labkit.labs.edge",
    "labkit.labs.lambda_lab",
    "labkit.labs.dynamodb",
    "labkit.labs.stepfunctions",
    "labkit.labs.serverless_api",
    "labkit.labs.capstone",
    "labkit.labs.databases",
    "labkit.labs.containers",
    "labkit.labs.analytics",
    "labkit.labs.iac",
    "labkit.labs.streaming_analytics",
    "labkit.labs.migration",
)


@cache
def catalog() -> MappingProxyType[str, LabSpec]:
    """Every lab by id, in course order (read-only)."""
    labs: dict[str, LabSpec] = {}
    for module_name in LAB_MODULES:
        spec = importlib.import_module(module_name).LAB
        labs[spec.id] = spec
    return MappingProxyType(labs)


def get_lab(lab_id: str) -> LabSpec:
    """The lab called ``lab_id``."""
    labs = catalog()
    if lab_id not in labs:
        raise UnknownLabError(lab_id, list(labs))
    return labs[lab_id]


__all__ = ["LAB_MODULES", "LabSpec", "catalog", "get_lab"]
