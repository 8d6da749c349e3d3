"""ElastiCache parameter groups: ``maxmemory-policy`` and ``reserved-memory-percent`` of a cache.

moto 5.2.5 has no cache parameter groups (``CreateCacheParameterGroup`` and the rest are not
implemented) and keeps ``CacheParameterGroupName`` as a bare string. Here the parameters that
shape a cache's memory live on moto's backend (the parameters:
https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html):

- ``CreateCacheParameterGroup``, ``DescribeCacheParameterGroups``, ``DescribeCacheParameters``,
  ``ModifyCacheParameterGroup``, ``ResetCacheParameterGroup`` and ``DeleteCacheParameterGroup``;
- ``default.<family>`` groups exist for every family and cannot be modified or deleted, as on
  AWS, and so do ``default.<family>.cluster.on`` (``cluster-enabled`` ``yes``: a replication
  group using one is in cluster mode, :mod:`.patch_cluster`); a group that a cluster uses cannot
  be deleted;
- ``maxmemory-policy`` (default ``volatile-lru``) and ``reserved-memory-percent`` (default 25)
  apply at once to every cluster that uses the group (both are "immediate" changes);
  ``cluster-enabled`` (``yes``/``no``) counts only when a replication group is created; other
  parameter names are refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult, EmptyResult
from moto.elasticache import models as ec_models
from moto.elasticache import responses as ec_responses
from moto.elasticache.exceptions import ElastiCacheException

from labkit import facts
from labkit.services.elasticache.sim_cache import POLICIES

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

GROUPS = "_labkit_parameter_groups"
FAMILIES = ("redis6.x", "redis7", "valkey7", "valkey8")


def defaults() -> dict[str, str]:
    """The parameters of a new group, as AWS sets them."""
    return {
        "maxmemory-policy": str(facts.fact("elasticache.default_maxmemory_policy").value),
        "reserved-memory-percent": str(
            facts.fact("elasticache.reserved_memory_percent_default").value
        ),
        "cluster-enabled": "no",
    }


_DESCRIPTIONS = {
    "maxmemory-policy": (
        "Max memory policy.",
        "string",
        ",".join(POLICIES),
    ),
    "reserved-memory-percent": (
        "The percent of memory reserved for non-cache memory usage.",
        "integer",
        "0-100",
    ),
    "cluster-enabled": (
        "Enable cluster mode.",
        "string",
        "yes,no",
    ),
}


class _Error(ElastiCacheException):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def groups(backend: Any) -> dict[str, dict[str, Any]]:
    """The backend's parameter groups by name (the defaults made on first use)."""
    found: dict[str, dict[str, Any]] | None = getattr(backend, GROUPS, None)
    if found is None:
        found = {
            f"default.{family}": {
                "family": family,
                "description": f"Default parameter group for {family}",
                "params": defaults(),
            }
            for family in FAMILIES
        }
        for family in FAMILIES:
            found[f"default.{family}.cluster.on"] = {
                "family": family,
                "description": (
                    f"Customized default parameter group for {family} with cluster mode on"
                ),
                "params": {**defaults(), "cluster-enabled": "yes"},
            }
        setattr(backend, GROUPS, found)
    return found


def parameters_for(backend: Any, name: str | None) -> dict[str, str]:
    """The parameters of group ``name`` (the default group's when ``None``)."""
    group = groups(backend).get(name or "default.redis7")
    return dict(group["params"]) if group else defaults()


def require(backend: Any, name: str | None) -> None:
    """Refuse a cluster whose ``CacheParameterGroupName`` does not exist."""
    if name is not None:
        _group(backend, name)


def _group(backend: Any, name: str) -> dict[str, Any]:
    group = groups(backend).get(name)
    if group is None:
        raise _Error("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.")
    return group


def _shape(backend: Any, name: str, group: dict[str, Any]) -> dict[str, Any]:
    return {
        "CacheParameterGroupName": name,
        "CacheParameterGroupFamily": group["family"],
        "Description": group["description"],
        "IsGlobal": False,
        "ARN": (
            f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:parametergroup:{name}"
        ),
    }


def _check(name: str, value: str) -> None:
    if name not in _DESCRIPTIONS:
        raise _Error(
            "InvalidParameterValue",
            f"The sandbox simulates only {', '.join(_DESCRIPTIONS)}; {name} is not simulated.",
        )
    if name == "maxmemory-policy" and value not in POLICIES:
        raise _Error(
            "InvalidParameterValue",
            f"Value {value} for parameter maxmemory-policy is not one of {', '.join(POLICIES)}.",
        )
    if name == "cluster-enabled" and value not in ("yes", "no"):
        raise _Error(
            "InvalidParameterValue",
            f"Value {value} for parameter cluster-enabled is not yes or no.",
        )
    if name == "reserved-memory-percent" and (not value.isdigit() or int(value) > 100):
        raise _Error(
            "InvalidParameterValue",
            f"Value {value} for parameter reserved-memory-percent must be 0 to 100.",
        )


def install(sandbox: Sandbox, stack: ExitStack, apply: Any) -> None:
    """Add parameter groups; ``apply(backend, group_name)`` updates the engines using a group."""
    stack.enter_context(_patched(apply))


@contextlib.contextmanager
def _patched(apply: Any) -> Iterator[None]:
    response_cls = ec_responses.ElastiCacheResponse

    def create_cache_parameter_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        family = self._get_param("CacheParameterGroupFamily")
        if name in groups(backend):
            raise _Error(
                "CacheParameterGroupAlreadyExists", f"Parameter group {name} already exists."
            )
        if family not in FAMILIES:
            raise _Error(
                "InvalidParameterValue",
                f"The parameter CacheParameterGroupFamily {family} is not a valid family "
                f"(the sandbox has {', '.join(FAMILIES)}).",
            )
        group = {
            "family": family,
            "description": self._get_param("Description"),
            "params": defaults(),
        }
        groups(backend)[name] = group
        return ActionResult({"CacheParameterGroup": _shape(backend, name, group)})

    def describe_cache_parameter_groups(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        wanted = self._get_param("CacheParameterGroupName")
        found = groups(backend)
        if wanted:
            _group(backend, wanted)
        return ActionResult(
            {
                "CacheParameterGroups": [
                    _shape(backend, name, group)
                    for name, group in found.items()
                    if not wanted or name == wanted
                ]
            }
        )

    def describe_cache_parameters(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        group = _group(backend, name)
        standard = defaults()
        params = [
            {
                "ParameterName": key,
                "ParameterValue": value,
                "Description": _DESCRIPTIONS[key][0],
                "Source": "user" if value != standard[key] else "system",
                "DataType": _DESCRIPTIONS[key][1],
                "AllowedValues": _DESCRIPTIONS[key][2],
                "IsModifiable": True,
                "MinimumEngineVersion": "2.8.6",
                "ChangeType": "requires-reboot" if key == "cluster-enabled" else "immediate",
            }
            for key, value in group["params"].items()
        ]
        return ActionResult({"Parameters": params})

    def modify_cache_parameter_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        group = _group(backend, name)
        if name.startswith("default."):
            raise _Error(
                "InvalidParameterValue", f"Default parameter group {name} cannot be modified."
            )
        changes = self._get_param("ParameterNameValues", [])
        for change in changes:
            _check(change["ParameterName"], str(change["ParameterValue"]))
        for change in changes:
            group["params"][change["ParameterName"]] = str(change["ParameterValue"])
        apply(backend, name)
        return ActionResult({"CacheParameterGroupName": name})

    def reset_cache_parameter_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        group = _group(backend, name)
        group["params"] = defaults()
        apply(backend, name)
        return ActionResult({"CacheParameterGroupName": name})

    def delete_cache_parameter_group(self: Any) -> EmptyResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        _group(backend, name)
        if name.startswith("default."):
            raise _Error(
                "InvalidParameterValue", f"Default parameter group {name} cannot be deleted."
            )
        users = [
            c.cache_cluster_id
            for c in backend.cache_clusters.values()
            if c.cache_parameter_group_name == name
        ]
        if users:
            raise _Error(
                "InvalidCacheParameterGroupState",
                f"Parameter group {name} is in use by {', '.join(users)}.",
            )
        del groups(backend)[name]
        return EmptyResult()

    added = {
        "create_cache_parameter_group": create_cache_parameter_group,
        "describe_cache_parameter_groups": describe_cache_parameter_groups,
        "describe_cache_parameters": describe_cache_parameters,
        "modify_cache_parameter_group": modify_cache_parameter_group,
        "reset_cache_parameter_group": reset_cache_parameter_group,
        "delete_cache_parameter_group": delete_cache_parameter_group,
    }
    saved: dict[str, Any] = {name: response_cls.__dict__.get(name) for name in added}
    for name, method in added.items():
        setattr(response_cls, name, method)
    _ = ec_models  # the backend class keeps the groups as an attribute (see groups())
    try:
        yield
    finally:
        for name, method in saved.items():
            if method is None:
                delattr(response_cls, name)
            else:
                setattr(response_cls, name, method)
