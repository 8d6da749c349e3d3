"""CloudFormation asks for an acknowledgement before it creates IAM resources, as AWS does.

AWS refuses ``CreateStack``, ``UpdateStack``, ``CreateChangeSet``, ``CreateStackSet`` and
``UpdateStackSet`` with ``InsufficientCapabilities`` when the template has IAM resources and the
call does not pass ``Capabilities``: ``CAPABILITY_IAM`` (or ``CAPABILITY_NAMED_IAM``) for IAM
resources, and ``CAPABILITY_NAMED_IAM`` when one of them has a custom name (``RoleName``, ...).
The API reference's ``Capabilities`` parameter lists the types
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
moto deploys them without asking, so a template that works here would be refused on AWS: the
learner meets the refusal in the sandbox instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import Stack
from moto.cloudformation.responses import CloudFormationResponse

#: The IAM resource types that need an acknowledgement, with the property that names each.
IAM_TYPES: Mapping[str, str | None] = {
    "AWS::IAM::AccessKey": None,
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Policy": None,
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::UserToGroupAddition": None,
}

#: The calls that take a template and ``Capabilities``.
CALLS = (
    "create_stack",
    "update_stack",
    "create_change_set",
    "create_stack_set",
    "update_stack_set",
)


class InsufficientCapabilities(CloudFormationError):
    """A template with IAM resources deployed without the capability that acknowledges them."""

    code = "InsufficientCapabilitiesException"

    def __init__(self, needed: str) -> None:
        super().__init__(f"Requires capabilities : [{needed}]")


def needed_capability(template: Mapping[str, Any]) -> str | None:
    """``CAPABILITY_NAMED_IAM`` if an IAM resource has a custom name, ``CAPABILITY_IAM`` if the
    template has IAM resources, else ``None``."""
    resources = template.get("Resources")
    needed = None
    for resource in resources.values() if isinstance(resources, Mapping) else ():
        if not isinstance(resource, Mapping) or resource.get("Type") not in IAM_TYPES:
            continue
        name = IAM_TYPES[str(resource["Type"])]
        properties = resource.get("Properties")
        if name and isinstance(properties, Mapping) and properties.get(name) is not None:
            return "CAPABILITY_NAMED_IAM"
        needed = "CAPABILITY_IAM"
    return needed


def refusal(
    template: Mapping[str, Any], capabilities: list[str]
) -> InsufficientCapabilities | None:
    """AWS's refusal of a deployment of ``template`` with ``capabilities``, if it refuses one."""
    needed = needed_capability(template)
    if needed is None or "CAPABILITY_NAMED_IAM" in capabilities:
        return None
    if needed == "CAPABILITY_IAM" and "CAPABILITY_IAM" in capabilities:
        return None
    return InsufficientCapabilities(needed)


def _template_of(response: Any) -> Mapping[str, Any] | None:
    """The template a request deploys (its body, its URL's object, or the stack's previous one)."""
    body = response._get_param("TemplateBody")
    url = response._get_param("TemplateURL")
    if not body and url:
        body = response._get_stack_from_s3_url(url)
    if not body and response._get_param("UsePreviousTemplate"):
        name = response._get_param("StackName")
        try:
            body = response.cloudformation_backend.get_stack(name).template
        except Exception:  # moto raises its own error for an unknown stack: let the call say so
            return None
    if not body:
        return None
    try:
        parsed = Stack.parse_template(body)
    except Exception:  # a template that does not parse is refused by validation with its reason
        return None
    return parsed if isinstance(parsed, Mapping) else None


def _checked(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call(self: Any) -> Any:
        template = _template_of(self)
        if template is not None:
            refused = refusal(template, list(self._get_param("Capabilities", []) or []))
            if refused is not None:
                raise refused
        return original(self)

    return call


@contextmanager
def capabilities_required() -> Iterator[None]:
    """Refuse IAM templates deployed without their capability until the context exits."""
    with ExitStack() as stack:
        for name in CALLS:
            original = getattr(CloudFormationResponse, name)
            stack.enter_context(mock.patch.object(CloudFormationResponse, name, _checked(original)))
        yield


def install(stack: ExitStack) -> None:
    """Install the capability check until ``stack`` closes."""
    stack.enter_context(capabilities_required())
