"""What a change set says it will do: Add, Modify or Remove, and whether a Modify replaces.

CloudFormation compares the stack's template with the new one resource by resource. For a
``Modify`` it lists each changed property (``ResourceChangeDetail``) with ``RequiresRecreation``
``Never``, ``Always`` or ``Conditionally`` and ``Evaluation`` ``Static`` (the template says so)
or ``Dynamic`` (the value is known only while deploying, such as a reference to a resource that
is itself replaced). The resource's ``Replacement`` follows from its details: ``Always`` with
``Static`` is ``True``, ``Always`` with ``Dynamic`` is ``Conditional``, and the change with most
impact wins (``Always``, then ``Conditionally``, then ``Never``)
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.html).

Which properties need a replacement is each resource type's "Update requires" in the template
reference. The sandbox reads it from the resource provider schemas that cfn-lint ships (a
property in ``createOnlyProperties`` cannot be updated in place), plus the few properties whose
reference page says "Replacement" though the schema does not list them (:data:`REPLACING`).

Values are compared after parameters and mappings are filled in (so a changed parameter that
feeds a property is a change of that property), other intrinsic functions as written.

Plain Python: no moto, no Jupyter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

#: Properties whose template reference says "Update requires: Replacement" though the provider
#: schema does not list them as create-only.
REPLACING: dict[str, frozenset[str]] = {
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
    # ("KeySchema ... Update requires: Replacement"; "LocalSecondaryIndexes ... Replacement").
    "AWS::DynamoDB::Table": frozenset({"KeySchema", "LocalSecondaryIndexes"}),
}

_IMPACT = {"Never": 0, "Conditionally": 1, "Always": 2}


@dataclass(frozen=True)
class ChangeDetail:
    """One changed property of a resource (a ``ResourceChangeDetail``).

    Attributes:
        name: The top-level property, such as ``ProvisionedThroughput``.
        requires_recreation: ``Never``, ``Always`` or ``Conditionally``.
        evaluation: ``Static`` or ``Dynamic``.
        change_source: ``DirectModification``, ``ParameterReference`` or ``ResourceReference``.
        causing_entity: The parameter or resource behind a reference change.
        before: The value before, as JSON text (``None`` when added).
        after: The value after, as JSON text (``None`` when removed).
    """

    name: str
    requires_recreation: str
    evaluation: str
    change_source: str
    causing_entity: str | None = None
    before: str | None = None
    after: str | None = None

    @property
    def attribute_change_type(self) -> str:
        """``Add``, ``Remove`` or ``Modify``, as ``ResourceTargetDefinition`` says it."""
        if self.before is None:
            return "Add"
        if self.after is None:
            return "Remove"
        return "Modify"

    def to_api(self) -> dict[str, Any]:
        """The detail as DescribeChangeSet returns it."""
        target: dict[str, Any] = {
            "Attribute": "Properties",
            "Name": self.name,
            "RequiresRecreation": self.requires_recreation,
            "Path": f"/Properties/{self.name}",
            "AttributeChangeType": self.attribute_change_type,
        }
        if self.before is not None:
            target["BeforeValue"] = self.before
        if self.after is not None:
            target["AfterValue"] = self.after
        detail: dict[str, Any] = {
            "Target": target,
            "Evaluation": self.evaluation,
            "ChangeSource": self.change_source,
        }
        if self.causing_entity:
            detail["CausingEntity"] = self.causing_entity
        return detail


@dataclass(frozen=True)
class ResourceChange:
    """What a change set will do to one resource.

    Attributes:
        action: ``Add``, ``Modify`` or ``Remove``.
        logical_id: The resource's logical id in the template.
        resource_type: Such as ``AWS::DynamoDB::Table``.
        details: For ``Modify``, each changed property.
        physical_id: The resource's physical id when it exists.
    """

    action: str
    logical_id: str
    resource_type: str
    details: tuple[ChangeDetail, ...] = field(default=())
    physical_id: str | None = None

    @property
    def replacement(self) -> str | None:
        """``True``, ``False`` or ``Conditional`` for a ``Modify``; ``None`` otherwise."""
        if self.action != "Modify":
            return None
        if not self.details:
            return "False"
        top = max(self.details, key=lambda d: _IMPACT[d.requires_recreation])
        if top.requires_recreation == "Always":
            if any(
                d.requires_recreation == "Always" and d.evaluation == "Static" for d in self.details
            ):
                return "True"
            return "Conditional"
        if top.requires_recreation == "Conditionally":
            return "Conditional"
        return "False"

    @property
    def scope(self) -> list[str]:
        """Which parts of the resource change (``Properties``), for a ``Modify``."""
        return ["Properties"] if self.action == "Modify" and self.details else []

    def to_api(self) -> dict[str, Any]:
        """The change as DescribeChangeSet returns it (one element of ``Changes``)."""
        change: dict[str, Any] = {
            "Action": self.action,
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
        }
        if self.physical_id:
            change["PhysicalResourceId"] = self.physical_id
        if self.action == "Modify":
            change["Replacement"] = self.replacement
            change["Scope"] = self.scope
            change["Details"] = [d.to_api() for d in self.details]
        return {"Type": "Resource", "ResourceChange": change}


@cache
def create_only(resource_type: str, region: str = "us-east-1") -> frozenset[str]:
    """Top-level properties of ``resource_type`` that cannot change without a replacement."""
    names = set(REPLACING.get(resource_type, frozenset()))
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # type: ignore[import-untyped]

        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # an unknown type: cfn-lint has already said so before deployment
        return frozenset(names)
    for pointer in schema.get("createOnlyProperties", []):
        parts = str(pointer).split("/")
        if len(parts) >= 3 and parts[1] == "properties":
            names.add(parts[2])
    return frozenset(names)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def references(value: Any) -> set[str]:
    """Logical ids and parameters that ``value`` refers to (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) and inner else str(inner)
                found.add(str(target).split(".")[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(text, str):
                    found |= {p.split(".")[0] for p in _sub_names(text)}
            found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def _sub_names(text: str) -> list[str]:
    names: list[str] = []
    start = text.find("${")
    while start >= 0:
        end = text.find("}", start)
        if end < 0:
            break
        name = text[start + 2 : end]
        if not name.startswith("!"):
            names.append(name)
        start = text.find("${", end)
    return names


def resolve(value: Any, parameters: Mapping[str, Any], mappings: Mapping[str, Any]) -> Any:
    """``value`` with ``Ref`` to parameters and ``Fn::FindInMap`` filled in; the rest as written."""
    if isinstance(value, list):
        return [resolve(v, parameters, mappings) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, inner),) = value.items()
        if key == "Ref" and isinstance(inner, str) and inner in parameters:
            return parameters[inner]
        if key == "Fn::FindInMap" and isinstance(inner, list) and len(inner) >= 3:
            keys = [resolve(k, parameters, mappings) for k in inner[:3]]
            if all(isinstance(k, (str, int)) for k in keys):
                try:
                    return mappings[str(keys[0])][str(keys[1])][str(keys[2])]
                except (KeyError, TypeError):
                    pass
    return {k: resolve(v, parameters, mappings) for k, v in value.items()}


def _parameter_values(template: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        if name in given:
            values[name] = given[name]
        elif isinstance(spec, dict) and "Default" in spec:
            values[name] = spec["Default"]
    return values


def diff(
    old_template: Mapping[str, Any],
    old_parameters: Mapping[str, Any],
    new_template: Mapping[str, Any],
    new_parameters: Mapping[str, Any],
    *,
    physical_ids: Mapping[str, str] | None = None,
    region: str = "us-east-1",
) -> list[ResourceChange]:
    """The resource changes from the stack's template to a new one, in template order.

    Args:
        old_template: The stack's current template (parsed).
        old_parameters: The stack's parameter values.
        new_template: The change set's template (parsed).
        new_parameters: The change set's parameter values (defaults fill the rest).
        physical_ids: Physical ids of the stack's resources, by logical id.
        region: The stack's Region (for the resource schemas).
    """
    physical_ids = physical_ids or {}
    old_values = _parameter_values(old_template, old_parameters)
    new_values = _parameter_values(new_template, new_parameters)
    changed_parameters = {
        name
        for name in set(old_values) | set(new_values)
        if old_values.get(name) != new_values.get(name)
    }
    old_resources: Mapping[str, Any] = old_template.get("Resources") or {}
    new_resources: Mapping[str, Any] = new_template.get("Resources") or {}
    old_maps = old_template.get("Mappings") or {}
    new_maps = new_template.get("Mappings") or {}

    changes: dict[str, ResourceChange] = {}
    replaced: set[str] = set()
    # Replacements ripple: a resource that refers to a replaced one gets a Dynamic change. Go
    # round until nothing new is replaced (templates are acyclic, so this ends).
    for _ in range(len(new_resources) + 1):
        before = set(replaced)
        for logical_id, new in new_resources.items():
            if logical_id not in old_resources:
                changes[logical_id] = ResourceChange("Add", logical_id, str(new.get("Type")))
                continue
            old = old_resources[logical_id]
            resource_type = str(new.get("Type"))
            details = _details(
                resource_type,
                resolve(old.get("Properties") or {}, old_values, old_maps),
                resolve(new.get("Properties") or {}, new_values, new_maps),
                new.get("Properties") or {},
                changed_parameters,
                replaced,
                region,
            )
            if details:
                change = ResourceChange(
                    "Modify",
                    logical_id,
                    resource_type,
                    tuple(details),
                    physical_ids.get(logical_id),
                )
                changes[logical_id] = change
                if change.replacement in ("True", "Conditional"):
                    replaced.add(logical_id)
            elif old.get("Type") != new.get("Type"):
                changes[logical_id] = ResourceChange("Add", logical_id, resource_type)
        if replaced == before:
            break
    ordered = [changes[k] for k in new_resources if k in changes]
    ordered += [
        ResourceChange("Remove", k, str(v.get("Type")), physical_id=physical_ids.get(k))
        for k, v in old_resources.items()
        if k not in new_resources
    ]
    return ordered


def _details(
    resource_type: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    raw_new: Mapping[str, Any],
    changed_parameters: set[str],
    replaced: set[str],
    region: str,
) -> list[ChangeDetail]:
    fixed = create_only(resource_type, region)
    details: list[ChangeDetail] = []
    for name in list(new) + [n for n in old if n not in new]:
        before, after = old.get(name), new.get(name)
        recreation = "Always" if name in fixed else "Never"
        refs = references(raw_new.get(name))
        if before != after:
            parameter = sorted(refs & changed_parameters)
            details.append(
                ChangeDetail(
                    name,
                    recreation,
                    "Static",
                    "ParameterReference" if parameter else "DirectModification",
                    parameter[0] if parameter else None,
                    _text(before),
                    _text(after),
                )
            )
        elif refs & replaced:
            # The value is the same expression, but what it names gets a new physical id: known
            # only while deploying.
            details.append(
                ChangeDetail(
                    name,
                    recreation,
                    "Dynamic",
                    "ResourceReference",
                    sorted(refs & replaced)[0],
                    _text(before),
                    _text(after),
                )
            )
    return details
