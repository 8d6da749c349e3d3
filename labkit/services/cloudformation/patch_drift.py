"""Drift detection: what changed by hand since a stack deployed its resources.

Stock moto has no ``DetectStackDrift``. This patch compares, for each resource of a stack, the
properties its template sets (resolved as deployed) with what the resource holds now, as AWS
does: "CloudFormation detects drift on those AWS resources that support drift detection ...
only for property values that are explicitly set by stack templates or by specifying template
parameters" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-drift.html).
A resource is ``IN_SYNC``, ``MODIFIED`` (with each ``PropertyDifference``), ``DELETED`` when it no
longer exists, or ``NOT_CHECKED`` for a type the sandbox does not read (AWS also leaves some
types unchecked). Detection finishes at once (the lab clock does not move); its status, the
stack's ``DriftInformation`` and each resource's ``DriftInformation`` follow.

Resource types read: SQS queues, DynamoDB tables, SNS topics and Lambda functions here; IAM
roles, S3 buckets, SNS subscriptions, Lambda event source mappings, Kinesis streams and SSM
parameters in :mod:`.patch_drift_readers`, which also says which types AWS never checks and how
policy documents are compared.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.awslambda.utils import get_backend
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.dynamodb.models import dynamodb_backends
from moto.moto_api._internal import mock_random
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from labkit.services.cloudformation.patch_drift_readers import (
    NEVER_CHECKED,
    SPECS,
    Spec,
    same_object,
    tags_list,
    with_sorted_tags,
)


def install(stack: ExitStack) -> None:
    """Install drift detection until ``stack`` closes."""
    stack.enter_context(drift_detection())


@dataclass(frozen=True)
class PropertyDifference:
    """One property whose value differs from the template's."""

    path: str
    expected: Any
    actual: Any
    kind: str  # NOT_EQUAL, ADD or REMOVE

    def to_api(self) -> dict[str, Any]:
        return {
            "PropertyPath": self.path,
            "ExpectedValue": _text(self.expected),
            "ActualValue": _text(self.actual),
            "DifferenceType": self.kind,
        }


@dataclass(frozen=True)
class ResourceDrift:
    """A resource's drift status at the last detection."""

    logical_id: str
    physical_id: str
    resource_type: str
    status: str  # IN_SYNC, MODIFIED, DELETED, NOT_CHECKED
    expected: dict[str, Any]
    actual: dict[str, Any] | None
    differences: tuple[PropertyDifference, ...]
    timestamp: datetime

    def to_api(self, stack_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "StackId": stack_id,
            "LogicalResourceId": self.logical_id,
            "PhysicalResourceId": self.physical_id,
            "ResourceType": self.resource_type,
            "StackResourceDriftStatus": self.status,
            "PropertyDifferences": [d.to_api() for d in self.differences],
            "Timestamp": self.timestamp,
        }
        if self.status != "NOT_CHECKED":
            out["ExpectedProperties"] = json.dumps(self.expected, sort_keys=True)
        if self.actual is not None:
            out["ActualProperties"] = json.dumps(self.actual, sort_keys=True)
        return out


@dataclass
class DriftDetection:
    """One run of drift detection over a stack."""

    detection_id: str
    stack_id: str
    timestamp: datetime
    resources: list[ResourceDrift] = field(default_factory=list)

    @property
    def drifted(self) -> list[ResourceDrift]:
        return [r for r in self.resources if r.status in ("MODIFIED", "DELETED")]

    @property
    def stack_status(self) -> str:
        return "DRIFTED" if self.drifted else "IN_SYNC"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


# -- reading what a resource holds now ------------------------------------------------------------
Reader = Callable[[Any, str, str], "dict[str, Any] | None"]

_SQS = (
    "QueueName",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def _queue(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    if not same_object(sqs_backends[account][region].queues.get(resource.name), resource):
        return None
    attributes = resource.attributes
    actual: dict[str, Any] = {"QueueName": resource.name}
    for name in _SQS[1:]:
        if name in attributes:
            actual[name] = attributes[name]
    actual["Tags"] = tags_list(dict(resource.tags))
    return actual


def _table(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    if not same_object(dynamodb_backends[account][region].tables.get(resource.name), resource):
        return None
    actual: dict[str, Any] = {"TableName": resource.name, "BillingMode": resource.billing_mode}
    if resource.billing_mode != "PAY_PER_REQUEST":
        actual["ProvisionedThroughput"] = {
            "ReadCapacityUnits": resource.throughput.get("ReadCapacityUnits"),
            "WriteCapacityUnits": resource.throughput.get("WriteCapacityUnits"),
        }
    actual["Tags"] = list(resource.tags or [])
    return actual


def _topic(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    backend = sns_backends[account][region]
    if not same_object(backend.topics.get(resource.arn), resource):
        return None
    return {
        "TopicName": resource.name,
        "DisplayName": resource.display_name,
        "Tags": tags_list(_own_tags(backend.list_tags_for_resource(resource.arn))),
    }


def _own_tags(tags: dict[str, str]) -> dict[str, str]:
    # AWS's own tags (aws:cloudformation:stack-name, ...) are not the template's to compare.
    return {k: v for k, v in tags.items() if not k.startswith("aws:")}


def _function(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    # The backend moto itself picks (in a lab, the no-Docker one the stack made the function in;
    # ``lambda_backends`` is the Docker one, where the function is never found).
    functions = get_backend(account, region)._lambdas
    try:
        if functions.get_function_by_name_or_arn_with_qualifier(resource.function_name) is None:
            return None
    except Exception:
        return None
    actual: dict[str, Any] = {
        "FunctionName": resource.function_name,
        "Handler": resource.handler,
        "Runtime": resource.run_time,
        "Timeout": resource.timeout,
        "MemorySize": resource.memory_size,
        "Description": resource.description,
    }
    if resource.environment_vars:
        actual["Environment"] = {"Variables": dict(resource.environment_vars)}
    tags = get_backend(account, region).list_tags(resource.function_arn)
    actual["Tags"] = tags_list(_own_tags(dict(tags)))
    return actual


READERS: dict[str, Reader] = {
    "AWS::SQS::Queue": _queue,
    "AWS::DynamoDB::Table": _table,
    "AWS::SNS::Topic": _topic,
    "AWS::Lambda::Function": _function,
}


def spec_for(resource_type: str) -> Spec | None:
    """How ``resource_type`` is read, or None when it is not checked (by AWS or here)."""
    if resource_type in NEVER_CHECKED:
        return None
    if resource_type in SPECS:
        return SPECS[resource_type]
    reader = READERS.get(resource_type)
    # Their template Tags are compared as a set, by Key.
    return Spec(reader, frozenset({"Tags"}), with_sorted_tags) if reader else None


def _same(expected: Any, actual: Any) -> bool:
    # Templates write numbers as strings or numbers, and booleans as "true" or true: AWS compares
    # the values, not the spelling.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(expected).lower() == str(actual).lower()
    return str(expected) == str(actual)


def same_document(expected: Any, actual: Any) -> bool:
    """Whether two JSON values are the same: every key on both sides, lists in order, scalars
    by value (``1`` and ``"1"``, ``true`` and ``"true"``)."""
    if isinstance(expected, dict) or isinstance(actual, dict):
        return (
            isinstance(expected, dict)
            and isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(same_document(v, actual[k]) for k, v in expected.items())
        )
    if isinstance(expected, list) or isinstance(actual, list):
        return (
            isinstance(expected, list)
            and isinstance(actual, list)
            and len(expected) == len(actual)
            and all(same_document(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return _same(expected, actual)


def compare_resource(
    expected: dict[str, Any], actual: dict[str, Any], documents: frozenset[str] = frozenset()
) -> list[PropertyDifference]:
    """:func:`compare`, but each property in ``documents`` compared whole (one difference)."""
    found: list[PropertyDifference] = []
    for key, value in expected.items():
        if key in documents and actual.get(key) is not None:
            if not same_document(value, actual[key]):
                found.append(PropertyDifference(f"/{key}", value, actual[key], "NOT_EQUAL"))
        else:
            found += compare({key: value}, actual)
    return found


def compare(expected: Any, actual: Any, path: str = "") -> list[PropertyDifference]:
    """Differences between the template's ``expected`` values and ``actual`` ones.

    Only what the template sets is compared (a property the template leaves out may hold
    anything); lists are compared whole.
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [PropertyDifference(path or "/", expected, actual, "NOT_EQUAL")]
        found: list[PropertyDifference] = []
        for key, value in expected.items():
            if key not in actual or actual[key] is None:
                found.append(PropertyDifference(f"{path}/{key}", value, None, "REMOVE"))
            else:
                found += compare(value, actual[key], f"{path}/{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return [PropertyDifference(path, expected, actual, "NOT_EQUAL")]
        # Each element's path has its index, as AWS's do ("/Tags/0/Value").
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in compare(e, a, f"{path}/{i}")
        ]
    if not _same(expected, actual):
        return [PropertyDifference(path, expected, actual, "NOT_EQUAL")]
    return []


def detect(stack: Any) -> DriftDetection:
    """Detect drift on every resource of ``stack`` (a moto ``Stack``) and remember the result."""
    detection = DriftDetection(str(mock_random.uuid4()), stack.stack_id, utcnow())
    resource_map = stack.resource_map
    for logical_id, resource_json in resource_map._resource_json_map.items():
        resource = resource_map._parsed_resources.get(logical_id)
        if resource is None or isinstance(resource, str):
            continue
        resource_type = str(resource_json.get("Type"))
        physical = str(getattr(resource, "physical_resource_id", "") or "")
        spec = spec_for(resource_type)
        if spec is None:
            detection.resources.append(
                ResourceDrift(
                    logical_id,
                    physical,
                    resource_type,
                    "NOT_CHECKED",
                    {},
                    None,
                    (),
                    detection.timestamp,
                )
            )
            continue
        expected = cfn_parsing.clean_json(
            copy.deepcopy(resource_json.get("Properties") or {}), resource_map
        )
        actual = spec.read(resource, stack.account_id, stack.region_name)
        if spec.normalise is not None:
            expected = spec.normalise(expected)
            actual = None if actual is None else spec.normalise(actual)
        known = {k: v for k, v in expected.items() if actual is None or k in actual}
        differences: tuple[PropertyDifference, ...] = ()
        if actual is None:
            status = "DELETED"
        else:
            differences = tuple(compare_resource(known, actual, spec.documents))
            status = "MODIFIED" if differences else "IN_SYNC"
        detection.resources.append(
            ResourceDrift(
                logical_id,
                physical,
                resource_type,
                status,
                known,
                actual,
                differences,
                detection.timestamp,
            )
        )
    stack.labkit_drift = detection
    return detection


def last_detection(stack: Any) -> DriftDetection | None:
    """The stack's latest drift detection, if it has had one."""
    found: DriftDetection | None = getattr(stack, "labkit_drift", None)
    return found


@contextmanager
def drift_detection() -> Iterator[None]:
    """Answer the drift detection operations for the block."""
    response_cls = cfn_responses.CloudFormationResponse
    stack_cls = cfn_models.Stack
    added = (
        "detect_stack_drift",
        "detect_stack_resource_drift",
        "describe_stack_drift_detection_status",
        "describe_stack_resource_drifts",
    )

    def backend(self: Any) -> Any:
        return self.cloudformation_backend

    def detect_stack_drift(self: Any) -> ActionResult:
        stack = backend(self).get_stack(self._get_param("StackName"))
        detection = detect(stack)
        return ActionResult({"StackDriftDetectionId": detection.detection_id})

    def detect_stack_resource_drift(self: Any) -> ActionResult:
        stack = backend(self).get_stack(self._get_param("StackName"))
        logical_id = self._get_param("LogicalResourceId")
        detection = detect(stack)
        for drift in detection.resources:
            if drift.logical_id == logical_id:
                return ActionResult({"StackResourceDrift": drift.to_api(stack.stack_id)})
        raise ValidationError(
            message=f"Resource {logical_id} does not exist for stack {stack.name}"
        )

    def describe_stack_drift_detection_status(self: Any) -> ActionResult:
        wanted = self._get_param("StackDriftDetectionId")
        for stack in backend(self).stacks.values():
            detection = last_detection(stack)
            if detection is not None and detection.detection_id == wanted:
                return ActionResult(
                    {
                        "StackId": stack.stack_id,
                        "StackDriftDetectionId": wanted,
                        "StackDriftStatus": detection.stack_status,
                        "DetectionStatus": "DETECTION_COMPLETE",
                        "DriftedStackResourceCount": len(detection.drifted),
                        "Timestamp": detection.timestamp,
                    }
                )
        raise ValidationError(message=f"Drift detection id {wanted} does not exist")

    def describe_stack_resource_drifts(self: Any) -> ActionResult:
        stack = backend(self).get_stack(self._get_param("StackName"))
        detection = last_detection(stack)
        wanted = self._get_param("StackResourceDriftStatusFilters") or []
        drifts = detection.resources if detection else []
        chosen = [d.to_api(stack.stack_id) for d in drifts if not wanted or d.status in wanted]
        return ActionResult({"StackResourceDrifts": chosen})

    def drift_information(self: Any) -> dict[str, Any]:
        detection = last_detection(self)
        if detection is None:
            return {"StackDriftStatus": "NOT_CHECKED"}
        return {
            "StackDriftStatus": detection.stack_status,
            "LastCheckTimestamp": detection.timestamp,
        }

    functions = {
        "detect_stack_drift": detect_stack_drift,
        "detect_stack_resource_drift": detect_stack_resource_drift,
        "describe_stack_drift_detection_status": describe_stack_drift_detection_status,
        "describe_stack_resource_drifts": describe_stack_resource_drifts,
    }
    had = {name: response_cls.__dict__.get(name) for name in added}
    for name in added:
        setattr(response_cls, name, functions[name])
    had_info = stack_cls.__dict__.get("drift_information")
    # moto's serializer reads DescribeStacks' DriftInformation from this attribute.
    setattr(stack_cls, "drift_information", property(drift_information))  # noqa: B010
    try:
        yield
    finally:
        for name, value in had.items():
            if value is None:
                delattr(response_cls, name)
            else:
                setattr(response_cls, name, value)
        if had_info is None:
            delattr(stack_cls, "drift_information")
        else:
            setattr(stack_cls, "drift_information", had_info)  # noqa: B010
