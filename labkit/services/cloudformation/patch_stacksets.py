"""StackSets as AWS runs them: operations on the lab clock, instance statuses, auto-deployment.

Stock moto deploys every stack instance at once, whatever the ``OperationPreferences``, marks
each operation ``SUCCEEDED`` and each instance ``CURRENT`` even when its stack failed, hides
service-managed instances' stacks, and ignores ``AutoDeployment``. Here:

- ``CreateStackInstances`` starts an :class:`~.sim_stacksets.Operation`: Regions in order (or in
  parallel), at most the allowed accounts at a time, stopping a Region (and the Regions after it)
  once its failures pass the tolerance; it runs as the lab clock advances, and
  ``StopStackSetOperation`` lets running instances finish and cancels the rest;
- each instance's stack is a real stack in its account and Region, named
  ``StackSet-<stack set name>-<id>`` as AWS names them, deployed with this sandbox's stack
  fidelity (cfn-lint, events, rollback), so a resource that fails rolls the instance back and the
  instance is ``OUTDATED`` with ``DetailedStatus`` ``FAILED``
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html,
  stack instance status); a finished one is ``CURRENT``/``SUCCEEDED``, one waiting ``OUTDATED``
  with ``PENDING`` or ``RUNNING``, one not attempted ``CANCELLED``;
- ``ListStackSetOperationResults`` gives each account and Region's own status and reason;
- a service-managed stack set with ``AutoDeployment`` enabled deploys to an account moved into a
  target organizational unit, in the stack set's Regions ("StackSets automatically deploys ...
  to accounts that are added to the target organization or OUs in the future"), and removes the
  instances of an account moved out unless ``RetainStacksOnAccountRemoval``
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_AutoDeployment.html);
  operation preferences do not apply to automatic deployments (API_StackSetOperationPreferences).

State lives on moto's ``StackSet`` objects, so ``lab.reset()`` covers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.core.responses import ActionResult
from moto.moto_api._internal import mock_random
from moto.organizations.models import OrganizationsBackend, organizations_backends

from labkit.clock import Clock
from labkit.services.cloudformation import sim_stacksets
from labkit.services.cloudformation.patch import lint_or_refuse, template_already_linted
from labkit.services.cloudformation.sim_stacksets import InstanceResult, Operation


def install(clock: Callable[[], Clock], stack: ExitStack) -> None:
    """Install the StackSet patches, on the lab clock ``clock()``, until ``stack`` closes."""
    stack.enter_context(stackset_fidelity(clock))


def operations_of(stackset: Any) -> dict[str, Operation]:
    """The sandbox's operations of a moto ``StackSet``, by id, oldest first."""
    found: dict[str, Operation] | None = getattr(stackset, "labkit_operations", None)
    if found is None:
        found = {}
        stackset.labkit_operations = found
    return found


def instance_states(stackset: Any) -> dict[tuple[str, str], InstanceResult]:
    """Each account and Region's latest result across the stack set's operations."""
    states: dict[tuple[str, str], InstanceResult] = {}
    for operation in operations_of(stackset).values():
        if operation.action == "DELETE":
            for result in operation.results:
                if result.status == "SUCCEEDED":
                    states.pop((result.account, result.region), None)
            continue
        for result in operation.results:
            states[(result.account, result.region)] = result
    return states


def instance_status(result: InstanceResult) -> str:
    """``CURRENT`` once deployed; ``OUTDATED`` while waiting, failed or cancelled."""
    return "CURRENT" if result.status == "SUCCEEDED" else "OUTDATED"


def _stack_of(stackset: Any, account: str, region: str) -> Any:
    instance = stackset.instances.get_instance(account, region)
    return getattr(instance, "stack", None) if instance is not None else None


def _summary(stackset: Any, result: InstanceResult) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "StackSetId": stackset.id,
        "Region": result.region,
        "Account": result.account,
        "Status": instance_status(result),
        "StackInstanceStatus": {"DetailedStatus": result.status},
        "DriftStatus": "NOT_CHECKED",
    }
    stack = _stack_of(stackset, result.account, result.region)
    if stack is not None:
        summary["StackId"] = stack.stack_id
    if result.reason:
        summary["StatusReason"] = result.reason
    ou = getattr(stackset, "labkit_account_ou", {}).get(result.account)
    if ou:
        summary["OrganizationalUnitId"] = ou
    return summary


def _deploy(stackset: Any, parameters: dict[str, Any]) -> Callable[[str, str], str | None]:
    """Deploy one instance of ``stackset``: a real stack in that account and Region."""

    def deploy(account: str, region: str) -> str | None:
        if stackset.instances.get_instance(account, region) is not None:
            return None  # already there: AWS treats creating it again as done
        backend = cfn_models.cloudformation_backends[account][region]
        name = f"StackSet-{stackset.name}-{mock_random.uuid4()}"
        try:
            with template_already_linted():
                stack = backend.create_stack(
                    name=name, template=stackset.template, parameters=dict(parameters)
                )
        except Exception as error:
            return str(getattr(error, "message", None) or error)
        instance = object.__new__(cfn_models.StackInstance)
        instance.account_id = account
        instance.region_name = region
        instance.stackset_id = stackset.id
        instance.stack_name = name
        instance.name = stackset.name
        instance.template = stackset.template
        instance.parameters = [
            {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
        ]
        # The stack is a registered stack of its account (as on AWS), so it is deleted as one.
        instance.permission_model = "SELF_MANAGED"
        instance.stack = stack
        stackset.instances.stack_instances.append(instance)
        if stack.status in ("ROLLBACK_COMPLETE", "CREATE_FAILED"):
            return str(getattr(stack, "status_reason", None) or f"Stack ended in {stack.status}")
        return None

    return deploy


def _undeploy(stackset: Any) -> Callable[[str, str], str | None]:
    def undeploy(account: str, region: str) -> str | None:
        try:
            stackset.instances.delete([account], [region])
        except Exception as error:
            return str(getattr(error, "message", None) or error)
        return None

    return undeploy


def _accounts_in(org: OrganizationsBackend, ous: list[str]) -> list[tuple[str, str]]:
    """(account, OU) of every account in ``ous`` and the OUs beneath them."""
    wanted = list(ous)
    for ou in org.ou:
        if ou.parent_id in wanted and ou.id not in wanted:
            wanted.append(ou.id)
    return [(a.id, a.parent_id) for ou in wanted for a in org.accounts if a.parent_id == ou]


def _record(stackset: Any, operation: Operation) -> None:
    entry: dict[str, Any] = {
        "OperationId": operation.operation_id,
        "Action": operation.action,
        "Status": operation.status,
        "CreationTimestamp": operation.created,
        "Instances": [{r.account: r.region} for r in operation.results],
    }

    def ended(op: Operation) -> None:
        entry["Status"] = op.status
        entry["EndTimestamp"] = op.ended

    operation.on_end = ended
    operations_of(stackset)[operation.operation_id] = operation
    stackset.operations.append(entry)
    if operation.status != "RUNNING":
        ended(operation)


def start_operation(
    stackset: Any,
    action: str,
    results: list[InstanceResult],
    preferences: sim_stacksets.OperationPreferences,
    clock: Clock,
    parameters: dict[str, Any] | None = None,
    operation_id: str | None = None,
) -> Operation:
    """Start an operation of ``stackset`` on ``clock`` (CREATE deploys, DELETE removes)."""
    deploy = (
        _undeploy(stackset)
        if action == "DELETE"
        else _deploy(stackset, parameters if parameters is not None else stackset.parameters)
    )
    operation = Operation(
        operation_id or str(mock_random.uuid4()),
        action,
        preferences,
        results,
        clock,
        deploy,
    )
    operation.created = clock.now
    _record(stackset, operation)
    operation.start()
    return operation


@contextmanager
def stackset_fidelity(clock: Callable[[], Clock]) -> Iterator[None]:
    """Patch moto's StackSets for the block (see the module's docstring)."""
    response_cls = cfn_responses.CloudFormationResponse
    originals: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        originals.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    original_create_stack_set = response_cls.create_stack_set
    original_move = OrganizationsBackend.move_account

    def preferences(self: Any) -> sim_stacksets.OperationPreferences:
        try:
            return sim_stacksets.OperationPreferences.from_api(
                self._get_params().get("OperationPreferences")
            )
        except sim_stacksets.OperationPreferencesError as error:
            raise ValidationError(message=error.message) from None

    def create_stack_set(self: Any) -> Any:
        # The template is checked once here; its instances' stacks are not linted again.
        lint_or_refuse(self._get_param("TemplateBody"), self.region)
        result = original_create_stack_set(self)
        stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        auto = self._get_params().get("AutoDeployment") or {}
        stackset.labkit_auto_deployment = {
            "Enabled": str(auto.get("Enabled", "false")).lower() == "true",
            "RetainStacksOnAccountRemoval": str(
                auto.get("RetainStacksOnAccountRemoval", "false")
            ).lower()
            == "true",
        }
        return result

    def create_stack_instances(self: Any) -> ActionResult:
        stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        accounts = [str(a) for a in self._get_param("Accounts", []) or []]
        regions = [str(r) for r in self._get_param("Regions", []) or []]
        targets = self._get_params().get("DeploymentTargets") or {}
        ous = [str(o) for o in targets.get("OrganizationalUnitIds", []) or []]
        if stackset.permission_model == "SERVICE_MANAGED":
            if not ous:
                raise ValidationError(
                    message="StackSets with SERVICE_MANAGED permission model can only have "
                    "OrganizationalUnit as target"
                )
            org = organizations_backends[self.current_account]["aws"]
            found = _accounts_in(org, ous)
            accounts = [a for a, _ in found]
            stackset.labkit_account_ou = {
                **getattr(stackset, "labkit_account_ou", {}),
                **dict(found),
            }
            stackset.labkit_target_ous = sorted({*getattr(stackset, "labkit_target_ous", []), *ous})
        else:
            if ous:
                raise ValidationError(
                    message="StackSets with SELF_MANAGED permission model can only have "
                    "accounts as target"
                )
            accounts = accounts or [str(a) for a in targets.get("Accounts", []) or []]
        if not regions:
            raise ValidationError(message="Regions must be specified")
        overrides = {
            p["ParameterKey"]: p["ParameterValue"]
            for p in self._get_param("ParameterOverrides", []) or []
        }
        parameters = {**stackset.parameters, **overrides}
        stackset.labkit_regions = list(
            dict.fromkeys([*getattr(stackset, "labkit_regions", []), *regions])
        )
        operation = start_operation(
            stackset,
            "CREATE",
            sim_stacksets.targets(accounts, regions),
            preferences(self),
            clock(),
            parameters,
            self._get_param("OperationId"),
        )
        return ActionResult({"OperationId": operation.operation_id})

    def delete_stack_instances(self: Any) -> ActionResult:
        stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        accounts = [str(a) for a in self._get_param("Accounts", []) or []]
        regions = [str(r) for r in self._get_param("Regions", []) or []]
        targets = self._get_params().get("DeploymentTargets") or {}
        ous = [str(o) for o in targets.get("OrganizationalUnitIds", []) or []]
        if ous:
            org = organizations_backends[self.current_account]["aws"]
            accounts = [a for a, _ in _accounts_in(org, ous)]
        present = [
            InstanceResult(a, r)
            for r in regions
            for a in accounts
            if stackset.instances.get_instance(a, r) is not None
        ]
        operation = start_operation(stackset, "DELETE", present, preferences(self), clock())
        return ActionResult({"OperationId": operation.operation_id})

    def stop_stack_set_operation(self: Any) -> ActionResult:
        stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        operation = operations_of(stackset).get(self._get_param("OperationId"))
        if operation is None:
            raise ValidationError(message="The operation does not exist")
        operation.stop()
        for entry in stackset.operations:
            if entry["OperationId"] == operation.operation_id:
                entry["Status"] = operation.status
        return ActionResult({})

    def list_stack_set_operation_results(self: Any) -> ActionResult:
        stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        operation = operations_of(stackset).get(self._get_param("OperationId"))
        if operation is None:
            raise ValidationError(message="The operation does not exist")
        summaries = []
        for result in operation.results:
            summary: dict[str, Any] = {
                "Account": result.account,
                "Region": result.region,
                "Status": result.status,
            }
            if result.reason:
                summary["StatusReason"] = result.reason
            summaries.append(summary)
        return ActionResult({"Summaries": summaries})

    def list_stack_instances(self: Any) -> ActionResult:
        stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        return ActionResult(
            {"Summaries": [_summary(stackset, r) for r in instance_states(stackset).values()]}
        )

    def describe_stack_instance(self: Any) -> ActionResult:
        stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        key = (self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion"))
        result = instance_states(stackset).get(key)
        if result is None:
            raise ValidationError(
                message=f"Stack instance of account {key[0]} in {key[1]} does not exist"
            )
        return ActionResult({"StackInstance": _summary(stackset, result)})

    def move_account(self: OrganizationsBackend, **kwargs: Any) -> None:
        original_move(self, **kwargs)
        _auto_deploy(
            self,
            str(kwargs["AccountId"]),
            str(kwargs["SourceParentId"]),
            str(kwargs["DestinationParentId"]),
            clock(),
        )

    patch(response_cls, "create_stack_set", create_stack_set)
    patch(response_cls, "create_stack_instances", create_stack_instances)
    patch(response_cls, "delete_stack_instances", delete_stack_instances)
    patch(response_cls, "stop_stack_set_operation", stop_stack_set_operation)
    patch(response_cls, "list_stack_set_operation_results", list_stack_set_operation_results)
    patch(response_cls, "list_stack_instances", list_stack_instances)
    patch(response_cls, "describe_stack_instance", describe_stack_instance)
    patch(OrganizationsBackend, "move_account", move_account)
    try:
        yield
    finally:
        for owner, name, value in reversed(originals):
            setattr(owner, name, value)


def _stacksets_of(account: str) -> Iterator[Any]:
    backends = cfn_models.cloudformation_backends
    if account not in backends:
        return
    for region in list(backends[account].keys()):
        yield from backends[account][region].stacksets.values()


def _auto_deploy(
    org: OrganizationsBackend, account: str, source: str, destination: str, clock: Clock
) -> None:
    """An account moved between OUs: deploy to it, or remove its instances (AutoDeployment)."""
    for stackset in _stacksets_of(org.account_id):
        auto = getattr(stackset, "labkit_auto_deployment", {})
        if stackset.status == "DELETED" or not auto.get("Enabled"):
            continue
        targeted = {
            a for a, _ in _accounts_in(org, list(getattr(stackset, "labkit_target_ous", [])))
        }
        regions = list(getattr(stackset, "labkit_regions", []))
        if account in targeted and regions:
            stackset.labkit_account_ou = {
                **getattr(stackset, "labkit_account_ou", {}),
                account: destination,
            }
            start_operation(
                stackset,
                "CREATE",
                sim_stacksets.targets([account], regions),
                # "StackSetOperationPreferences don't apply to AutoDeployment".
                sim_stacksets.OperationPreferences(region_concurrency_type="PARALLEL"),
                clock,
            )
        elif account not in targeted and not auto.get("RetainStacksOnAccountRemoval"):
            present = [
                InstanceResult(account, r)
                for r in regions
                if stackset.instances.get_instance(account, r) is not None
            ]
            if present:
                start_operation(
                    stackset,
                    "DELETE",
                    present,
                    sim_stacksets.OperationPreferences(region_concurrency_type="PARALLEL"),
                    clock,
                )
