"""Stack updates as AWS runs them: an event for every resource updated, and dependants that follow.

What stock moto 5.2.5 does with ``UpdateStack`` (and an executed change set): it updates the
resources whose *template text* changed and records no event for them. Two things follow that AWS
does not do:

- **Silent updates.** ``DescribeStackEvents`` shows the stack's own ``UPDATE_IN_PROGRESS`` and
  ``UPDATE_COMPLETE`` and nothing in between. Here each updated resource gets
  ``UPDATE_IN_PROGRESS`` and ``UPDATE_COMPLETE`` (or ``UPDATE_FAILED`` with the reason), at the
  lab clock's time; a resource replaced by the update says so in AWS's words ("Requested update
  requires the creation of a new physical resource; hence creating one.") and the stack passes
  through ``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`` while the old resources are deleted
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-monitor-stack.html).
- **Dependants left behind.** A resource whose text did not change but which refers to a replaced
  one (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``) kept the old physical id: a parameter, an environment
  variable or a subscription still named the deleted resource. CloudFormation updates every
  resource that depends on a replaced one ("CloudFormation also updates any resources that
  depend on the replaced resource",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html);
  here they are updated after it, in dependency order, with their events.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from moto.cloudformation import parsing as cfn_parsing

from labkit.services.cloudformation.patch import (
    ResourceCreationFailed,
    error_reason,
    physical_id_of,
    set_status,
    stack_of,
)

#: CloudFormation's status reason for a resource an update replaces.
REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."


def references(body: Any) -> set[str]:
    """Logical ids (and parameter names) a piece of template refers to: ``Ref``,
    ``Fn::GetAtt`` and the ``${Name}``/``${Name.Attr}`` of ``Fn::Sub``."""
    found: set[str] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) and value else value
                if isinstance(target, str):
                    found.add(target.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                if isinstance(text, str):
                    found |= _sub_names(text)
                if isinstance(value, list) and len(value) > 1:
                    found |= references(value[1])
            else:
                found |= references(value)
    elif isinstance(body, list):
        for item in body:
            found |= references(item)
    return found


def _sub_names(text: str) -> set[str]:
    names: set[str] = set()
    start = text.find("${")
    while start != -1:
        end = text.find("}", start)
        if end == -1:
            break
        name = text[start + 2 : end]
        if not name.startswith("!"):  # ${!Literal} is text, not a reference
            names.add(name.split(".", 1)[0])
        start = text.find("${", end)
    return names


@contextmanager
def update_fidelity() -> Iterator[None]:
    """Patch moto's stack updates for the block (see the module's docstring)."""
    original_update_resource = cfn_parsing.parse_and_update_resource
    original_update = cfn_parsing.ResourceMap.update

    def update_resource(
        logical_id: str,
        resource_json: dict[str, Any],
        resources_map: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        stack = stack_of(resources_map)
        if stack is None:
            return original_update_resource(
                logical_id, resource_json, resources_map, account_id, region_name
            )
        resource_type = str(resource_json.get("Type"))
        old = resources_map._parsed_resources.get(logical_id)
        old_id = physical_id_of(old)
        set_status(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS")
        try:
            resource = original_update_resource(
                logical_id, resource_json, resources_map, account_id, region_name
            )
        except ResourceCreationFailed:
            raise
        except Exception as error:
            reason = error_reason(error)
            set_status(stack, logical_id, resource_type, "UPDATE_FAILED", reason=reason)
            raise ResourceCreationFailed(logical_id, reason) from error
        if resource is None:
            # moto cannot update this type: the resource stays as it was (moto dropped it from
            # the stack, leaving it undeletable); say what happened instead of pretending.
            set_status(
                stack,
                logical_id,
                resource_type,
                "UPDATE_COMPLETE",
                reason=f"{resource_type} cannot be updated in the sandbox: kept unchanged.",
                physical_id=old_id,
            )
            return old
        new_id = physical_id_of(resource)
        if old_id and new_id and new_id != old_id:
            set_status(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS", reason=REPLACING)
            stack.labkit_replaced = [*getattr(stack, "labkit_replaced", []), (logical_id, old_id)]
        set_status(stack, logical_id, resource_type, "UPDATE_COMPLETE", physical_id=new_id)
        return resource

    def update(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
        stack = stack_of(self)
        if stack is not None:
            stack.labkit_replaced = []
        before = {k: physical_id_of(v) for k, v in self._parsed_resources.items()}
        planned = self.build_resource_diff(template, parameters)
        original_update(self, template, parameters)
        if stack is None:
            return
        _follow_replacements(self, before, set(planned["Modify"]) | set(planned["Add"]))
        replaced = list(getattr(stack, "labkit_replaced", []))
        if replaced:
            stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            for logical_id, old_id in replaced:
                body = self._resource_json_map.get(logical_id) or {}
                kind = str(body.get("Type"))
                # The old physical resource goes; the record keeps the new one's id.
                set_status(stack, logical_id, kind, "DELETE_IN_PROGRESS", physical_id=old_id)
                set_status(stack, logical_id, kind, "DELETE_COMPLETE", physical_id=old_id)
                new_id = physical_id_of(self._parsed_resources.get(logical_id))
                records = getattr(stack, "labkit_resources", {})
                if logical_id in records:
                    records[logical_id].status = "UPDATE_COMPLETE"
                    records[logical_id].physical_id = new_id
                    records[logical_id].reason = None

    def _follow_replacements(resource_map: Any, before: dict[str, Any], done: set[str]) -> None:
        # Each round updates the resources that refer to one whose physical id changed and were
        # not updated yet; what they change in turn is followed in the next round.
        changed = {
            k
            for k, v in resource_map._parsed_resources.items()
            if k in before and before[k] and physical_id_of(v) != before[k]
        }
        while changed:
            following: set[str] = set()
            for logical_id, body in resource_map._resource_json_map.items():
                if logical_id in done or logical_id not in resource_map._parsed_resources:
                    continue
                if not references(body.get("Properties")) & changed:
                    continue
                previous = physical_id_of(resource_map._parsed_resources.get(logical_id))
                resource = cfn_parsing.parse_and_update_resource(
                    logical_id,
                    body,
                    resource_map,
                    account_id=resource_map._account_id,
                    region_name=resource_map._region_name,
                )
                resource_map._parsed_resources[logical_id] = resource
                done.add(logical_id)
                if physical_id_of(resource) != previous:
                    following.add(logical_id)
            changed = following

    with ExitStack() as undo:
        cfn_parsing.parse_and_update_resource = update_resource
        undo.callback(setattr, cfn_parsing, "parse_and_update_resource", original_update_resource)
        cfn_parsing.ResourceMap.update = update  # type: ignore[method-assign]
        undo.callback(setattr, cfn_parsing.ResourceMap, "update", original_update)
        yield


__all__ = ["REPLACING", "references", "update_fidelity"]
