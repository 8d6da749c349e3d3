"""DAX's control plane as AWS documents it, on top of moto's (used by the sandbox).

moto 5.2.5 creates, describes and deletes DAX clusters faithfully enough (ARN, nodes, the
``dax://`` discovery endpoint once the cluster is available), but:

- it has no **parameter groups**: ``CreateParameterGroup``, ``UpdateParameterGroup``,
  ``DescribeParameterGroups``, ``DescribeParameters``, ``DescribeDefaultParameters`` and
  ``DeleteParameterGroup`` are missing, and ``CreateCluster`` ignores ``ParameterGroupName``
  (every cluster shows ``default.dax1.0``). Here a parameter group holds ``record-ttl-millis``
  and ``query-ttl-millis`` (both 300000 by default, "0-" allowed, applied immediately:
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DAX.cluster-management.html),
  ``default.dax1.0`` cannot be modified or deleted, a group in use cannot be deleted, and
  ``UpdateCluster`` may switch a cluster's group;
- it accepts any ``NodeType`` (the sandbox accepts DAX's node types, ``dax.node_memory``) and
  any ``ReplicationFactor`` (a cluster has 1 to 11 nodes, ``dax.max_nodes``);
- it rejects names AWS accepts ("a" or "c1": a name is 1 to 20 letters, digits or hyphens,
  starting with a letter, no trailing or double hyphen) and stores them as given (AWS lowercases
  them, and finds a cluster whatever the case of the name asked for);
- a new cluster stays "creating" through three ``DescribeClusters`` calls (moto's state manager);
  in the sandbox it is "available", with its endpoint, from the first;
- an encrypted cluster (``ClusterEndpointEncryptionType="TLS"``) keeps ``dax://`` and port 8111;
  AWS serves it at ``daxs://`` on port 9111.

The data plane (the DAX client's reads and writes, served by the cache simulator) is in
:mod:`.patch_client`, installed with this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.dax import models as dax_models
from moto.dax import responses as dax_responses
from moto.dax.exceptions import ClusterNotFoundFault

from labkit import facts

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

DEFAULT_GROUP = "default.dax1.0"
TTL_PARAMETERS = ("query-ttl-millis", "record-ttl-millis")
_DESCRIPTIONS = {
    "query-ttl-millis": "Duration in milliseconds for queries to remain cached",
    "record-ttl-millis": "Duration in milliseconds for records to remain valid in cache "
    "(Default: 0 = infinite)",
}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,19}$")


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install DAX's control plane and the data plane for ``sandbox``."""
    from labkit.services.dax import patch_client

    stack.enter_context(control_plane())
    patch_client.install(sandbox, stack)


# -- errors AWS returns ---------------------------------------------------------------------------
class InvalidParameterValueError(JsonRESTError):
    """A value the API does not accept."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValueException", message)


class ParameterGroupNotFoundError(JsonRESTError):
    """A parameter group that does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__("ParameterGroupNotFoundFault", f"Parameter group {name} not found.")


class ParameterGroupExistsError(JsonRESTError):
    """A parameter group name already taken."""

    def __init__(self, name: str) -> None:
        super().__init__(
            "ParameterGroupAlreadyExistsFault", f"Parameter group {name} already exists."
        )


class InvalidParameterGroupStateError(JsonRESTError):
    """A parameter group that cannot be changed or deleted now."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterGroupStateFault", message)


class ClusterExistsError(JsonRESTError):
    """A cluster name already taken."""

    def __init__(self, name: str) -> None:
        super().__init__("ClusterAlreadyExistsFault", f"Cluster {name} already exists.")


# -- the model ------------------------------------------------------------------------------------
@dataclass
class ParameterGroup:
    """A DAX parameter group: its TTLs in milliseconds."""

    name: str
    description: str = ""
    values: dict[str, int] = field(default_factory=dict)

    def ttl_millis(self, parameter: str) -> int:
        """The group's value of ``parameter`` (AWS's default when never set)."""
        if parameter in self.values:
            return self.values[parameter]
        fact = (
            "dax.item_cache_ttl_default"
            if parameter == "record-ttl-millis"
            else ("dax.query_cache_ttl_default")
        )
        return int(facts.value(fact)) * 1000

    def to_json(self) -> dict[str, Any]:
        return {"ParameterGroupName": self.name, "Description": self.description}

    def parameters(self) -> list[dict[str, Any]]:
        return [
            {
                "ParameterName": name,
                "ParameterType": "DEFAULT",
                "ParameterValue": str(self.ttl_millis(name)),
                "NodeTypeSpecificValues": [],
                "Description": _DESCRIPTIONS[name],
                "Source": "user",
                "DataType": "integer",
                "AllowedValues": "0-",
                "IsModifiable": "TRUE",
                "ChangeType": "IMMEDIATE",
            }
            for name in TTL_PARAMETERS
        ]


def parameter_groups(backend: Any) -> dict[str, ParameterGroup]:
    """The backend's parameter groups (``default.dax1.0`` always among them)."""
    groups: dict[str, ParameterGroup] | None = getattr(backend, "labkit_parameter_groups", None)
    if groups is None:
        groups = {DEFAULT_GROUP: ParameterGroup(DEFAULT_GROUP, "Default parameter group")}
        backend.labkit_parameter_groups = groups
    return groups


def group_of(cluster: Any, backend: Any) -> ParameterGroup:
    """The parameter group a cluster uses."""
    groups = parameter_groups(backend)
    return (
        groups.get(getattr(cluster, "labkit_parameter_group", DEFAULT_GROUP))
        or groups[DEFAULT_GROUP]
    )


def _group(backend: Any, name: Any) -> ParameterGroup:
    groups = parameter_groups(backend)
    if not isinstance(name, str) or name not in groups:
        raise ParameterGroupNotFoundError(str(name))
    return groups[name]


def _validate_cluster_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith("-") or "--" in name:
        raise InvalidParameterValueError(
            "Cluster ID specified is not a valid identifier. Identifiers must begin with a "
            "letter; must contain only ASCII letters, digits, and hyphens; and must not end "
            "with a hyphen or contain two consecutive hyphens."
        )
    return name.lower()


# -- the responses --------------------------------------------------------------------------------
def _params(response: Any) -> dict[str, Any]:
    body = json.loads(response.body or "{}")
    return body if isinstance(body, dict) else {}


def create_parameter_group(self: Any) -> str:
    params = _params(self)
    name = params.get("ParameterGroupName")
    groups = parameter_groups(self.dax_backend)
    if not isinstance(name, str) or not name:
        raise InvalidParameterValueError("ParameterGroupName is required.")
    if name in groups:
        raise ParameterGroupExistsError(name)
    groups[name] = ParameterGroup(name, str(params.get("Description") or ""))
    return json.dumps({"ParameterGroup": groups[name].to_json()})


def update_parameter_group(self: Any) -> str:
    params = _params(self)
    group = _group(self.dax_backend, params.get("ParameterGroupName"))
    if group.name == DEFAULT_GROUP:
        raise InvalidParameterGroupStateError(
            f"Default parameter group {DEFAULT_GROUP} cannot be modified."
        )
    changes: dict[str, int] = {}
    for pair in params.get("ParameterNameValues") or []:
        name, value = pair.get("ParameterName"), pair.get("ParameterValue")
        if name not in TTL_PARAMETERS:
            raise InvalidParameterValueError(
                f"Unknown parameter {name}; the parameters are {', '.join(TTL_PARAMETERS)}."
            )
        try:
            number = int(str(value))
        except ValueError:
            number = -1
        if number < 0:
            raise InvalidParameterValueError(
                f"Invalid value {value!r} for parameter {name}: allowed values are 0-."
            )
        changes[name] = number
    group.values.update(changes)
    return json.dumps({"ParameterGroup": group.to_json()})


def describe_parameter_groups(self: Any) -> str:
    params = _params(self)
    names = params.get("ParameterGroupNames") or list(parameter_groups(self.dax_backend))
    groups = [_group(self.dax_backend, n).to_json() for n in names]
    return json.dumps({"ParameterGroups": groups})


def describe_parameters(self: Any) -> str:
    group = _group(self.dax_backend, _params(self).get("ParameterGroupName"))
    return json.dumps({"Parameters": group.parameters()})


def describe_default_parameters(self: Any) -> str:
    return json.dumps({"Parameters": ParameterGroup(DEFAULT_GROUP).parameters()})


def delete_parameter_group(self: Any) -> str:
    backend = self.dax_backend
    group = _group(backend, _params(self).get("ParameterGroupName"))
    if group.name == DEFAULT_GROUP:
        raise InvalidParameterGroupStateError(
            f"Default parameter group {DEFAULT_GROUP} cannot be deleted."
        )
    users = [c.name for c in backend.clusters.values() if group_of(c, backend) is group]
    if users:
        raise InvalidParameterGroupStateError(
            f"Parameter group {group.name} is in use by cluster(s): {', '.join(users)}."
        )
    del parameter_groups(backend)[group.name]
    return json.dumps({"DeletionMessage": f"Parameter group {group.name} has been deleted."})


def _cluster(backend: Any, name: Any) -> Any:
    cluster = backend.clusters.get(str(name).lower()) if isinstance(name, str) else None
    if cluster is None:
        raise ClusterNotFoundFault()
    return cluster


def update_cluster(self: Any) -> str:
    params = _params(self)
    backend = self.dax_backend
    cluster = _cluster(backend, params.get("ClusterName"))
    if "ParameterGroupName" in params:
        cluster.labkit_parameter_group = _group(backend, params["ParameterGroupName"]).name
    if "Description" in params:
        cluster.description = params["Description"]
    return json.dumps({"Cluster": cluster.to_json()})


@contextmanager
def control_plane() -> Iterator[None]:
    """Patch moto's DAX control plane for the ``with`` block."""
    response_cls = dax_responses.DAXResponse
    cluster_cls = dax_models.DaxCluster
    added: dict[str, Callable[..., str]] = {
        "create_parameter_group": create_parameter_group,
        "update_parameter_group": update_parameter_group,
        "describe_parameter_groups": describe_parameter_groups,
        "describe_parameters": describe_parameters,
        "describe_default_parameters": describe_default_parameters,
        "delete_parameter_group": delete_parameter_group,
        "update_cluster": update_cluster,
    }
    by_name = {
        action: getattr(response_cls, action)
        for action in (
            "describe_clusters",
            "delete_cluster",
            "increase_replication_factor",
            "decrease_replication_factor",
        )
    }

    def lowercased(original: Callable[[Any], str]) -> Callable[[Any], str]:
        # AWS stores cluster names in lowercase and finds them whatever the case asked for.
        def action(self: Any) -> str:
            params = _params(self)
            if isinstance(params.get("ClusterName"), str):
                params["ClusterName"] = params["ClusterName"].lower()
            if isinstance(params.get("ClusterNames"), list):
                params["ClusterNames"] = [
                    n.lower() if isinstance(n, str) else n for n in params["ClusterNames"]
                ]
            self.body = json.dumps(params)
            return original(self)

        return action

    original_create = response_cls.create_cluster
    original_validate = response_cls._validate_name
    original_to_json = cluster_cls.to_json

    def create_cluster(self: Any) -> str:
        params = _params(self)
        name = _validate_cluster_name(params.get("ClusterName"))
        backend = self.dax_backend
        if name in backend.clusters:
            raise ClusterExistsError(name)
        node_types = facts.value("dax.node_memory")
        node_type = params.get("NodeType")
        if node_type not in node_types:
            raise InvalidParameterValueError(
                f"Invalid node type {node_type!r}; DAX offers {', '.join(node_types)}."
            )
        factor = params.get("ReplicationFactor")
        most = int(facts.value("dax.max_nodes"))
        if not isinstance(factor, int) or not 1 <= factor <= most:
            raise InvalidParameterValueError(
                f"ReplicationFactor must be between 1 and {most} (one primary node and up to "
                f"{most - 1} read replicas), not {factor!r}."
            )
        group = _group(backend, params.get("ParameterGroupName", DEFAULT_GROUP))
        body = dict(params, ClusterName=name)
        self.body = json.dumps(body)
        answer = original_create(self)
        cluster = backend.clusters[name]
        cluster.labkit_parameter_group = group.name
        # moto makes a cluster "available" on its fourth DescribeClusters; the sandbox on the
        # first, so the learner's first describe shows the endpoint URL.
        cluster._tick = 3
        if body.get("ClusterEndpointEncryptionType") == "TLS":
            cluster.endpoint.port = 9111
            for node in cluster.nodes:
                node.node_endpoint["Port"] = 9111
        out = json.loads(answer)
        out["Cluster"] = cluster.to_json()
        return json.dumps(out)

    def validate_name(self: Any, name: str) -> None:
        _validate_cluster_name(name)

    def to_json(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = original_to_json(self)
        group = getattr(self, "labkit_parameter_group", DEFAULT_GROUP)
        out["ParameterGroup"] = dict(out["ParameterGroup"], ParameterGroupName=group)
        if self.encryption_type == "TLS" and "URL" in out["ClusterDiscoveryEndpoint"]:
            endpoint = out["ClusterDiscoveryEndpoint"]
            endpoint["URL"] = endpoint["URL"].replace("dax://", "daxs://", 1)
        if out.get("Status") == "available":
            out["ActiveNodes"] = out["TotalNodes"]
        return out

    for name, method in added.items():
        setattr(response_cls, name, method)
    for name, method in by_name.items():
        setattr(response_cls, name, lowercased(method))
    response_cls.create_cluster = create_cluster  # type: ignore[method-assign]
    response_cls._validate_name = validate_name  # type: ignore[method-assign]
    cluster_cls.to_json = to_json  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name in added:
            delattr(response_cls, name)
        for name, method in by_name.items():
            setattr(response_cls, name, method)
        response_cls.create_cluster = original_create  # type: ignore[method-assign]
        response_cls._validate_name = original_validate  # type: ignore[method-assign]
        cluster_cls.to_json = original_to_json  # type: ignore[method-assign]


__all__ = [
    "DEFAULT_GROUP",
    "TTL_PARAMETERS",
    "ParameterGroup",
    "control_plane",
    "group_of",
    "install",
    "parameter_groups",
]
