"""CloudFormation stacks as AWS runs them: validation, change sets, events and rollback.

Stock moto deploys a template's resources into the same backends our other patches serve, and
keeps that. What it gets wrong, this patch fixes while a sandbox runs:

- **validation**: every template sent to ``CreateStack``, ``UpdateStack``, ``CreateChangeSet``
  and ``ValidateTemplate`` is checked by cfn-lint (:mod:`.sim_lint`); errors refuse the call with
  a ``ValidationError`` that lists each finding's line and path (moto only lints on
  ``ValidateTemplate``, reports the first finding, and writes a ``file.tmp`` in the working
  folder to do it);
- **change sets**: ``ChangeSetType`` defaults to ``UPDATE`` as on AWS ("By default,
  CloudFormation specifies UPDATE",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html;
  moto creates a second stack of the same name instead), and an update's changes come from
  :mod:`.sim_changes`: ``Modify`` with ``Replacement`` ``True``/``False``/``Conditional`` and a
  detail per property, where moto says only ``Add``/``Modify``/``Remove``;
- **nothing to update**: ``UpdateStack`` with the stack's template and the same parameter
  values (given, previous or default) and tags is refused with ``ValidationError`` "No updates
  are to be performed." (moto refused only when parameters were passed); ``CreateChangeSet``
  for no change makes the change set and it ends ``FAILED`` with "The submitted information
  didn't contain changes. Submit different information to create a change set." (moto refused
  the call when parameters were passed), and executing a change set that is not ``AVAILABLE``
  is refused with ``InvalidChangeSetStatus`` (moto executed it). The wordings are those
  CloudFormation returns; no AWS page states them, tools that handle them quote them, e.g.
  https://github.com/ansible-collections/amazon.aws/pull/507 (both no-change messages) and
  https://github.com/aws/amazon-chime-sdk-js/issues/1089 (``InvalidChangeSetStatus``);
- **events and resource status**: each resource gets ``CREATE_IN_PROGRESS`` and
  ``CREATE_COMPLETE`` (or ``CREATE_FAILED`` with the reason) events, at the lab clock's time;
  ``DescribeStackResources`` says each resource's own status and time (moto repeats the stack's
  status, timestamped 2010);
- **rollback**: when a resource fails to create, AWS "rolls back the stack, deleting any
  resources that were created" and the stack ends in ``ROLLBACK_COMPLETE``
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html);
  with ``DisableRollback`` (or ``OnFailure=DO_NOTHING``) the resources created so far stay and the
  stack is ``CREATE_FAILED``; with ``OnFailure=DELETE`` the stack is deleted. Moto lets the
  error escape ``CreateStack`` and leaves half a stack behind.

- **update rollback**: when a resource fails while a stack updates (``UpdateStack`` or an
  executed change set), the resources that update added are deleted, the stack goes back to its
  previous template and ends in ``UPDATE_ROLLBACK_COMPLETE`` (for a change set that created the
  stack, ``ROLLBACK_COMPLETE``), as AWS rolls back a failed update; moto let the error escape
  the call and kept the half-made update. Not simulated: properties an update had already
  changed in place are not changed back;
- **deletion policies**: deleting a stack skips ``Retain`` and ``RetainExceptOnCreate`` resources
  (event ``DELETE_SKIPPED``; moto keeps only ``Retain``), snapshots ``Snapshot`` resources before
  deleting them (an RDS DB instance or cluster gets a manual snapshot; ``Snapshot`` is also the
  default for ``AWS::RDS::DBCluster`` and for an ``AWS::RDS::DBInstance`` outside a cluster,
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html),
  and records each resource's ``DELETE_IN_PROGRESS``/``DELETE_COMPLETE``.

State lives on moto's ``Stack`` objects (``labkit_resources``), so ``lab.reset()`` covers it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random

from labkit.services.cloudformation import sim_changes, sim_lint

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the CloudFormation patches for ``sandbox``."""
    from labkit.services.cloudformation import (
        patch_capabilities,
        patch_drift,
        patch_resources,
        patch_stacksets,
        patch_updates,
    )

    stack.enter_context(cloudformation_fidelity())
    stack.enter_context(patch_updates.update_fidelity())
    patch_capabilities.install(stack)
    patch_drift.install(stack)
    patch_resources.install(stack)
    patch_stacksets.install(lambda: sandbox.clock, stack)


@dataclass
class ResourceRecord:
    """What the sandbox knows of one resource of a stack (for events, views and checks).

    Attributes:
        logical_id: The resource's logical id in the template.
        resource_type: Such as ``AWS::SQS::Queue``.
        status: ``CREATE_COMPLETE``, ``CREATE_FAILED``, ``DELETE_COMPLETE``, ...
        timestamp: When it last changed status (lab clock).
        physical_id: Its physical id once created.
        reason: Why it failed, if it did.
    """

    logical_id: str
    resource_type: str
    status: str
    timestamp: datetime
    physical_id: str | None = None
    reason: str | None = None


def records_of(stack: Any) -> dict[str, ResourceRecord]:
    """The resource records of a moto ``Stack``, by logical id (created on first use)."""
    records: dict[str, ResourceRecord] | None = getattr(stack, "labkit_resources", None)
    if records is None:
        records = {}
        stack.labkit_resources = records
    return records


# Options of the CreateStack call being answered (moto's backend does not take them).
_options = threading.local()


@contextmanager
def template_already_linted() -> Iterator[None]:
    """Deploy stacks in the block without linting their template again.

    For the stacks of a StackSet's instances: CreateStackSet has checked the template once, and
    linting it again for every account and Region would cost most of a second each.
    """
    before = getattr(_options, "skip_lint", False)
    _options.skip_lint = True
    try:
        yield
    finally:
        _options.skip_lint = before


def lint_or_refuse(template: Any, region: str) -> None:
    """Refuse ``template`` with a ``ValidationError`` listing cfn-lint's errors, if it has any."""
    if not isinstance(template, str) or not template.strip():
        return
    if getattr(_options, "skip_lint", False):
        return
    findings = sim_lint.errors(template, region)
    if findings:
        raise ValidationError(message=sim_lint.describe_findings(findings))


#: moto's backend of each resource namespace of the earlier labs. moto's CloudFormation imports
#: the services' models directly, so without this a stack could create, say, a Lambda event
#: source mapping before labkit's Lambda patch is installed (it installs when moto first loads
#: a backend through ``get_backend``), and the mapping would not behave as one made by hand.
_BACKENDS = {
    "AWS::SQS::": "sqs",
    "AWS::SNS::": "sns",
    "AWS::Lambda::": "lambda",
    "AWS::DynamoDB::": "dynamodb",
    "AWS::Kinesis::": "kinesis",
    "AWS::KinesisFirehose::": "firehose",
    "AWS::S3::": "s3",
    "AWS::IAM::": "iam",
    "AWS::ApiGateway::": "apigateway",
    "AWS::ApiGatewayV2::": "apigatewayv2",
    "AWS::StepFunctions::": "stepfunctions",
    "AWS::RDS::": "rds",
    "AWS::ElastiCache::": "elasticache",
    "AWS::CloudFront::": "cloudfront",
    "AWS::ElasticLoadBalancingV2::": "elbv2",
    "AWS::Cognito::UserPool": "cognito-idp",
}


def _load_service(resource_type: str) -> None:
    """Load the moto backend of ``resource_type``'s service (installing labkit's patch for it)."""
    import moto.backends

    for prefix, backend in _BACKENDS.items():
        if resource_type.startswith(prefix):
            moto.backends.get_backend(backend)  # type: ignore[call-overload]
            return


def stack_of(resources_map: Any) -> Any:
    backend = cfn_models.cloudformation_backends[resources_map._account_id][
        resources_map._region_name
    ]
    return backend.stacks.get(resources_map.stack_id)


def _event(stack: Any, record: ResourceRecord, properties: Any = None) -> None:
    event = cfn_models.Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=record.logical_id,
        physical_resource_id=record.physical_id or "",
        resource_type=record.resource_type,
        resource_status=record.status,
        resource_status_reason=record.reason,
        resource_properties=json.dumps(properties) if properties is not None else None,
    )
    stack.events.append(event)


def set_status(stack: Any, logical_id: str, resource_type: str, status: str, **extra: Any) -> None:
    records = records_of(stack)
    record = records.get(logical_id)
    if record is None:
        record = ResourceRecord(logical_id, resource_type, status, utcnow())
        records[logical_id] = record
    record.status = status
    record.timestamp = utcnow()
    record.reason = extra.get("reason")
    if extra.get("physical_id"):
        record.physical_id = extra["physical_id"]
    _event(stack, record)


def physical_id_of(resource: Any) -> str | None:
    value = getattr(resource, "physical_resource_id", None)
    return str(value) if value is not None else None


class InvalidChangeSetStatus(CloudFormationError):
    """``ExecuteChangeSet`` on a change set that is not ``AVAILABLE``, in AWS's words."""

    code = "InvalidChangeSetStatus"

    def __init__(self, change_set_id: str, status: str) -> None:
        super().__init__(
            f"ChangeSet [{change_set_id}] cannot be executed in its current execution status "
            f"of [{status}]"
        )


class ResourceCreationFailed(Exception):
    """A resource of a stack failed to create (carries the logical id and AWS's reason)."""

    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(reason)
        self.logical_id = logical_id
        self.reason = reason


def error_reason(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    code = getattr(error, "code", None) or getattr(error, "error_type", None)
    return f"{message} (Service error: {code})" if code else str(message)


@contextmanager
def cloudformation_fidelity() -> Iterator[None]:
    """Patch moto's CloudFormation for the block (see the module's docstring)."""
    backend_cls = cfn_models.CloudFormationBackend
    response_cls = cfn_responses.CloudFormationResponse
    stack_cls = cfn_models.Stack
    change_set_cls = cfn_models.ChangeSet
    originals: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        originals.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    original_create_stack = backend_cls.create_stack
    original_update_stack = backend_cls.update_stack
    original_create_change_set = backend_cls.create_change_set
    original_response_create_stack = response_cls.create_stack
    original_response_create_change_set = response_cls.create_change_set
    original_create_resource = cfn_parsing.parse_and_create_resource
    original_create_resources = stack_cls.create_resources
    original_diff = change_set_cls.diff

    # -- validation ------------------------------------------------------------------------
    def create_stack(self: Any, name: str, template: str, *args: Any, **kwargs: Any) -> Any:
        lint_or_refuse(template, self.region_name)
        return original_create_stack(self, name, template, *args, **kwargs)

    def update_stack(self: Any, name: str, template: str, *args: Any, **kwargs: Any) -> Any:
        lint_or_refuse(template, self.region_name)
        return original_update_stack(self, name, template, *args, **kwargs)

    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> Any:
        lint_or_refuse(kwargs.get("template"), self.region_name)
        change_set_id, stack_id = original_create_change_set(self, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        stack = change_set.stack
        # moto compares the parameters as given; a default or a previous value given again is
        # no change either.
        if (
            change_set.change_set_type == "UPDATE"
            and change_set.status != "FAILED"
            and kwargs.get("template")
            and stack.has_template(kwargs["template"])
            and _effective_parameters(stack.template_dict, kwargs.get("parameters") or {})
            == _effective_parameters(stack.template_dict, stack.parameters)
            and (not kwargs.get("tags") or kwargs["tags"] == stack.tags)
        ):
            change_set.status = "FAILED"
            change_set.execution_status = "UNAVAILABLE"
            change_set.status_reason = (
                "The submitted information didn't contain changes. "
                "Submit different information to create a change set."
            )
        return change_set_id, stack_id

    def validate_template(self: Any, template: str) -> list[Any]:
        lint_or_refuse(template, self.region_name)
        return []

    # -- CreateStack's failure options and ChangeSetType's default -------------------------
    def response_create_stack(self: Any) -> Any:
        on_failure = self._get_param("OnFailure")
        disable = self._get_bool_param("DisableRollback", False)
        if on_failure and disable:
            raise ValidationError(
                message="You cannot specify both DisableRollback and OnFailure in CreateStack."
            )
        _options.on_failure = on_failure or ("DO_NOTHING" if disable else "ROLLBACK")
        try:
            return original_response_create_stack(self)
        finally:
            _options.on_failure = None

    def response_create_change_set(self: Any) -> Any:
        if self._get_param("ChangeSetType") is None:
            self.querystring["ChangeSetType"] = ["UPDATE"]
            if isinstance(getattr(self, "params", None), dict):
                self.params["ChangeSetType"] = "UPDATE"
        # A change set without changes is made and ends FAILED (moto's backend sets AWS's
        # reason); only UpdateStack refuses the call.
        _options.creating_change_set = True
        try:
            return original_response_create_change_set(self)
        finally:
            _options.creating_change_set = False

    # -- "No updates are to be performed." -------------------------------------------------
    def validate_different_update(
        self: Any, incoming: list[dict[str, Any]] | None, body: str, stack: Any
    ) -> None:
        if getattr(_options, "creating_change_set", False) or not body:
            return
        given = {
            p["ParameterKey"]: (
                stack.parameters.get(p["ParameterKey"])
                if p.get("UsePreviousValue")
                else p.get("ParameterValue")
            )
            for p in incoming or []
        }
        tags = {t["Key"]: t["Value"] for t in self._get_param("Tags", [])}
        if (
            stack.has_template(body)
            and _effective_parameters(stack.template_dict, given)
            == _effective_parameters(stack.template_dict, stack.parameters)
            and (not tags or tags == stack.tags)
        ):
            raise ValidationError(stack.name, message="No updates are to be performed.")

    # -- events per resource, and rollback -------------------------------------------------
    def create_resource(
        logical_id: str,
        resource_json: dict[str, Any],
        resources_map: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        stack = stack_of(resources_map)
        condition = resource_json.get("Condition")
        skipped = condition and not resources_map.lazy_condition_map[condition]
        if stack is None or skipped:
            return original_create_resource(
                logical_id, resource_json, resources_map, account_id, region_name
            )
        if getattr(stack, "labkit_failed", False):
            # moto's resource map is lazy: reading a resource creates it. After a failure AWS
            # creates nothing more, and what was rolled back stays deleted.
            return None
        resource_type = str(resource_json.get("Type"))
        _load_service(resource_type)
        set_status(stack, logical_id, resource_type, "CREATE_IN_PROGRESS")
        try:
            resource = original_create_resource(
                logical_id, resource_json, resources_map, account_id, region_name
            )
        except ResourceCreationFailed:
            raise
        except Exception as error:
            reason = error_reason(error)
            set_status(stack, logical_id, resource_type, "CREATE_FAILED", reason=reason)
            stack.labkit_failed = True
            raise ResourceCreationFailed(logical_id, reason) from error
        set_status(
            stack,
            logical_id,
            resource_type,
            "CREATE_COMPLETE",
            physical_id=physical_id_of(resource),
        )
        return resource

    def create_resources(self: Any) -> None:
        try:
            original_create_resources(self)
        except ResourceCreationFailed as failure:
            _fail_creation(self, failure, getattr(_options, "on_failure", None) or "ROLLBACK")

    original_update = stack_cls.update
    original_execute = backend_cls.execute_change_set

    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        before = _before_update(self)
        try:
            original_update(self, *args, **kwargs)
        except ResourceCreationFailed as failure:
            _roll_back_update(self, failure, before, "UPDATE")

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        if change_set.execution_status != "AVAILABLE":
            # A change set without changes (or one already executed) cannot run; moto ran it.
            raise InvalidChangeSetStatus(change_set.change_set_id, change_set.execution_status)
        stack = self.stacks[change_set.stack_id]
        before = _before_update(stack)
        try:
            original_execute(self, change_set_name, stack_name)
        except ResourceCreationFailed as failure:
            change_set.execution_status = "EXECUTE_FAILED"
            _roll_back_update(stack, failure, before, change_set.change_set_type)

    def diff(self: Any) -> list[Any]:
        if self.change_set_type != "UPDATE" or not self.stack.template_dict:
            return list(original_diff(self))
        stack = self.stack
        physical = {
            k: pid
            for k, v in stack.resource_map._parsed_resources.items()
            if (pid := physical_id_of(v)) is not None and not isinstance(v, str)
        }
        changes = sim_changes.diff(
            stack.template_dict,
            stack.parameters,
            self.template_dict,
            self.parameters,
            physical_ids=physical,
            region=stack.region_name,
        )
        self.labkit_changes = changes
        return [c.to_api() for c in changes]

    transformers = dict(response_cls.RESPONSE_KEY_PATH_TO_TRANSFORMER)
    moto_changes = transformers["DescribeChangeSetOutput.Changes"]
    transformers["DescribeChangeSetOutput.Changes"] = lambda changes: [
        c if isinstance(c, dict) else moto_changes([c])[0] for c in changes
    ]

    def stack_resource_dto_init(self: Any, stack: Any, resource: Any) -> None:
        original_dto_init(self, stack, resource)
        record = records_of(stack).get(str(self.logical_resource_id))
        if record is not None:
            self.resource_status = record.status
            self.timestamp = record.timestamp

    original_dto_init = cfn_responses.StackResourceDTO.__init__

    def describe_stack_resources(self: Any, *args: Any, **kwargs: Any) -> Any:
        stack, resources = original_describe_resources(self, *args, **kwargs)
        return stack, [r for r in resources if r is not None and not isinstance(r, str)]

    def list_stack_resources(self: Any, *args: Any, **kwargs: Any) -> Any:
        stack, resources = original_list_resources(self, *args, **kwargs)
        return stack, [r for r in resources if r is not None and not isinstance(r, str)]

    original_describe_resources = backend_cls.describe_stack_resources
    original_list_resources = backend_cls.list_stack_resources

    patch(backend_cls, "describe_stack_resources", describe_stack_resources)
    patch(backend_cls, "list_stack_resources", list_stack_resources)
    patch(backend_cls, "create_stack", create_stack)
    patch(backend_cls, "update_stack", update_stack)
    patch(backend_cls, "create_change_set", create_change_set)
    patch(backend_cls, "validate_template", validate_template)
    patch(response_cls, "create_stack", response_create_stack)
    patch(response_cls, "create_change_set", response_create_change_set)
    patch(response_cls, "_validate_different_update", validate_different_update)
    patch(response_cls, "RESPONSE_KEY_PATH_TO_TRANSFORMER", transformers)
    patch(cfn_parsing, "parse_and_create_resource", create_resource)
    patch(stack_cls, "create_resources", create_resources)
    original_outputs = stack_cls.__dict__["outputs"]

    def outputs(self: Any) -> Any:
        # A stack whose creation failed has no outputs (its resources are gone, so reading a
        # GetAtt of one would fail the DescribeStacks call itself).
        if self.status in ("ROLLBACK_COMPLETE", "ROLLBACK_IN_PROGRESS", "CREATE_FAILED"):
            return None
        return original_outputs.fget(self)

    patch(stack_cls, "outputs", property(outputs))
    patch(stack_cls, "delete", delete_stack)
    patch(stack_cls, "update", update)
    patch(backend_cls, "execute_change_set", execute_change_set)
    patch(change_set_cls, "diff", diff)
    patch(cfn_responses.StackResourceDTO, "__init__", stack_resource_dto_init)
    try:
        yield
    finally:
        for owner, name, value in reversed(originals):
            setattr(owner, name, value)


def _effective_parameters(template: dict[str, Any], given: dict[str, Any]) -> dict[str, str]:
    """The values a stack's parameters take: the template's defaults, then those given."""
    declared = template.get("Parameters") or {}
    values = {k: str(v["Default"]) for k, v in declared.items() if "Default" in (v or {})}
    values.update({k: str(v) for k, v in given.items() if v is not None})
    return values


class _FailedResource:
    """Stands for a resource that failed to create, in a stack kept as it failed."""

    def __init__(self, logical_id: str, resource_type: str) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id = ""

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing exists to delete."""


@dataclass(frozen=True)
class _Before:
    template: Any
    parsed: frozenset[str]


def _before_update(stack: Any) -> _Before:
    return _Before(stack.template, frozenset(stack.resource_map._parsed_resources))


def _roll_back_update(
    stack: Any, failure: ResourceCreationFailed, before: _Before, kind: str
) -> None:
    """Undo a failed update: delete what it added, return to the previous template.

    A resource the update added and could not make failed "to create"; one the stack already
    had failed "to update" (its event is ``UPDATE_FAILED`` with the reason), as CloudFormation
    words the stack's status reason:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-monitor-stack.html
    """
    updated = failure.logical_id in before.parsed
    if updated:
        body = stack.resource_map._resource_json_map.get(failure.logical_id) or {}
        set_status(
            stack,
            failure.logical_id,
            str(body.get("Type")),
            "UPDATE_FAILED",
            reason=failure.reason,
        )
    verb = "update" if updated else "create"
    reason = f"The following resource(s) failed to {verb}: [{failure.logical_id}]."
    prefix = "UPDATE_ROLLBACK" if kind == "UPDATE" else "ROLLBACK"
    stack.status_reason = reason
    stack.status = f"{prefix}_IN_PROGRESS"
    stack._add_stack_event(stack.status, resource_status_reason=reason)
    resource_map = stack.resource_map
    parsed = resource_map._parsed_resources
    added = [k for k in records_of(stack) if k in parsed and k not in before.parsed]
    for logical_id in reversed(added):
        resource = parsed[logical_id]
        if resource is None or isinstance(resource, str):
            continue
        body = resource_map._resource_json_map.get(logical_id) or {}
        resource_type = str(body.get("Type"))
        set_status(stack, logical_id, resource_type, "DELETE_IN_PROGRESS")
        try:
            resource_map._delete_resource(resource, body)
        except Exception as error:
            set_status(
                stack, logical_id, resource_type, "DELETE_FAILED", reason=error_reason(error)
            )
            continue
        parsed.pop(logical_id, None)
        set_status(stack, logical_id, resource_type, "DELETE_COMPLETE")
    stack.template = before.template
    if before.template:
        stack._parse_template()
        resource_map._template = stack.template_dict
        resource_map._resource_json_map = stack.template_dict.get("Resources", {})
        stack.output_map = stack._create_output_map()
    if updated:
        # Back to what it was: the failed update of this resource changed nothing.
        body = stack.resource_map._resource_json_map.get(failure.logical_id) or {}
        set_status(stack, failure.logical_id, str(body.get("Type")), "UPDATE_COMPLETE")
    stack.labkit_failed = False
    stack.status = f"{prefix}_COMPLETE"
    stack._add_stack_event(stack.status)


_KEPT = ("Retain", "RetainExceptOnCreate")


def deletion_policy(body: dict[str, Any]) -> str:
    """The resource's ``DeletionPolicy``, with AWS's defaults for RDS."""
    policy = body.get("DeletionPolicy")
    if policy:
        return str(policy)
    kind = body.get("Type")
    props = body.get("Properties") or {}
    if kind == "AWS::RDS::DBCluster" or (
        kind == "AWS::RDS::DBInstance" and not props.get("DBClusterIdentifier")
    ):
        return "Snapshot"
    return "Delete"


def _snapshot(stack: Any, logical_id: str, resource: Any) -> None:
    """A final manual snapshot of ``resource`` before its deletion (RDS instances, clusters)."""
    from moto.rds.models import rds_backends

    name = f"{stack.name}-{logical_id}-{str(mock_random.uuid4())[:12]}".lower()
    backend = rds_backends[stack.account_id][stack.region_name]
    instance = getattr(resource, "db_instance_identifier", None)
    if instance:
        backend.create_db_snapshot(db_instance_identifier=instance, db_snapshot_identifier=name)
        return
    cluster = getattr(resource, "db_cluster_identifier", None)
    if cluster:
        backend.create_db_cluster_snapshot(
            db_cluster_identifier=cluster, db_cluster_snapshot_identifier=name
        )


def delete_stack(stack: Any) -> None:
    """Delete a stack's resources as its deletion policies say (see the module's docstring)."""
    stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    resource_map = stack.resource_map
    templates = resource_map._resource_json_map
    parsed = resource_map._parsed_resources
    records = records_of(stack)
    created = [k for k in records if k in parsed] + [
        k for k in templates if k in parsed and k not in records
    ]
    remaining: list[str] = []
    for logical_id in reversed(created):
        resource = parsed[logical_id]
        if resource is None or isinstance(resource, str):
            continue
        body = templates.get(logical_id) or {}
        resource_type = str(body.get("Type"))
        policy = deletion_policy(body)
        if policy in _KEPT:
            set_status(stack, logical_id, resource_type, "DELETE_SKIPPED")
            continue
        set_status(stack, logical_id, resource_type, "DELETE_IN_PROGRESS")
        if policy == "Snapshot":
            _snapshot(stack, logical_id, resource)
        remaining.append(logical_id)
    # Like moto: a resource another still needs fails to delete; try again while any progress.
    progress = True
    while remaining and progress:
        progress = False
        for logical_id in list(remaining):
            body = templates.get(logical_id) or {}
            try:
                resource_map._delete_resource(parsed[logical_id], body)
            except Exception:
                continue
            parsed.pop(logical_id, None)
            remaining.remove(logical_id)
            set_status(stack, logical_id, str(body.get("Type")), "DELETE_COMPLETE")
            progress = True
    for logical_id in remaining:
        body = templates.get(logical_id) or {}
        set_status(stack, logical_id, str(body.get("Type")), "DELETE_FAILED")
    stack.status = "DELETE_FAILED" if remaining else "DELETE_COMPLETE"
    stack._add_stack_event(stack.status)


def _created(stack: Any) -> list[tuple[str, Any]]:
    """The resources of ``stack`` created so far, in the order they were created."""
    parsed = stack.resource_map._parsed_resources
    order = [k for k, r in records_of(stack).items() if r.status == "CREATE_COMPLETE"]
    return [(k, parsed[k]) for k in order if k in parsed and not isinstance(parsed[k], str)]


def _fail_creation(stack: Any, failure: ResourceCreationFailed, on_failure: str) -> None:
    """What AWS does after a resource failed: roll back, keep, or delete (see module doc)."""
    reason = f"The following resource(s) failed to create: [{failure.logical_id}]. "
    if on_failure == "DO_NOTHING":
        # The failed resource is listed (CREATE_FAILED) and deleting the stack skips it.
        stack.resource_map._parsed_resources[failure.logical_id] = _FailedResource(
            failure.logical_id, records_of(stack)[failure.logical_id].resource_type
        )
        stack.status = "CREATE_FAILED"
        stack.status_reason = reason
        stack._add_stack_event("CREATE_FAILED", resource_status_reason=reason)
        return
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack.status_reason = reason + "Rollback requested by user."
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=stack.status_reason)
    _undo(stack, on_failure == "DELETE")
    if on_failure == "DELETE":
        stack.status = "DELETE_COMPLETE"
        stack._add_stack_event("DELETE_COMPLETE")
        backend = cfn_models.cloudformation_backends[stack.account_id][stack.region_name]
        backend.stacks.pop(stack.stack_id, None)
        backend.deleted_stacks[stack.stack_id] = stack
        for export in stack.exports:
            backend.exports.pop(export.name, None)
        return
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


def _undo(stack: Any, deleting: bool) -> None:
    """Delete what the stack created, newest first (the failed resource was never made)."""
    resource_map = stack.resource_map
    templates = resource_map._resource_json_map
    for logical_id, resource in reversed(_created(stack)):
        record = records_of(stack)[logical_id]
        if (templates.get(logical_id) or {}).get("DeletionPolicy") == "Retain":
            # Retain keeps a resource even when the stack that made it rolls back (unlike
            # RetainExceptOnCreate, which exists for that difference).
            set_status(stack, logical_id, record.resource_type, "DELETE_SKIPPED")
            resource_map._parsed_resources.pop(logical_id, None)
            continue
        set_status(stack, logical_id, record.resource_type, "DELETE_IN_PROGRESS")
        try:
            resource_map._delete_resource(resource, templates[logical_id])
        except Exception as error:  # AWS keeps going and reports it
            set_status(
                stack, logical_id, record.resource_type, "DELETE_FAILED", reason=error_reason(error)
            )
            continue
        resource_map._parsed_resources.pop(logical_id, None)
        set_status(stack, logical_id, record.resource_type, "DELETE_COMPLETE")
    failed = [r for r in records_of(stack).values() if r.status == "CREATE_FAILED"]
    for record in failed:
        if deleting:
            set_status(stack, record.logical_id, record.resource_type, "DELETE_COMPLETE")
