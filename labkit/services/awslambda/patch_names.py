"""Every spelling of ``FunctionName`` that Lambda accepts names one function, in one place.

Lambda takes a function as its name (``my-function``), its ARN
(``arn:aws:lambda:us-east-1:123456789012:function:my-function``) or a partial ARN
(``123456789012:function:my-function``), and most operations take a version or alias appended to
any of them (``my-function:live``, ``...:function:my-function:3``). The API reference lists,
per operation, which formats it takes ("Name formats" of ``FunctionName``):
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html (qualified or not, plus
``Qualifier``), https://docs.aws.amazon.com/lambda/latest/api/API_PublishVersion.html (name, ARN
or partial ARN only; likewise UpdateFunctionCode/Configuration, the concurrency operations,
ListVersionsByFunction and the alias operations),
https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html ("Version or
Alias ARN" too).

moto 5.2.5 handles a name and a full ARN, but a partial ARN ends in a raw ``ValueError`` in most
operations, ``ListVersionsByFunction`` with an ARN silently lists nothing, ``ListAliases`` with an
ARN answers ResourceNotFound, ``ListEventSourceMappings(FunctionName=...)`` compares the raw
strings (a mapping created with the ARN is not listed by name), and a mapping created through an
alias reports the version's ARN instead of the alias ARN.

The fix is one normalisation point: before moto's Lambda response handler runs, the function
named in the request (URL path, ``CreateEventSourceMapping``/``UpdateEventSourceMapping`` body,
``ListEventSourceMappings`` query) is parsed into ``(name, qualifier)`` and rewritten into the one
spelling moto handles everywhere. Mappings then store the function's ARN as AWS reports it, and
``ListEventSourceMappings`` compares functions, not strings.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from moto.awslambda.exceptions import (
    InvalidParameterValueException,
    UnknownFunctionException,
    ValidationException,
)
from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.awslambda.responses import LambdaResponse
from werkzeug.exceptions import HTTPException

from labkit.services.awslambda.state import FUNCTION_NAME, FunctionRef, split_function

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: How each operation that names a function in its URL path takes it.
#: ``param``: a qualifier (from the name or ``Qualifier``) goes to the ``Qualifier`` query
#: parameter, which moto's handler reads; ``path``: it stays in the name (``name:qualifier``),
#: because moto's handler ignores ``Qualifier``; ``unqualified``: the operation takes no
#: qualifier (the API reference lists only the name, the ARN and the partial ARN).
PATH_OPERATIONS: dict[str, str] = {
    "Invoke": "param",
    "GetFunction": "param",
    "GetFunctionConfiguration": "param",
    "DeleteFunction": "param",
    "AddPermission": "param",
    "GetPolicy": "param",
    "RemovePermission": "path",
    "PutFunctionEventInvokeConfig": "path",
    "GetFunctionEventInvokeConfig": "path",
    "UpdateFunctionEventInvokeConfig": "path",
    "DeleteFunctionEventInvokeConfig": "path",
    "ListFunctionEventInvokeConfigs": "unqualified",
    "CreateFunctionUrlConfig": "path",
    "GetFunctionUrlConfig": "path",
    "UpdateFunctionUrlConfig": "path",
    "DeleteFunctionUrlConfig": "path",
    "UpdateFunctionCode": "unqualified",
    "UpdateFunctionConfiguration": "unqualified",
    "PutFunctionConcurrency": "unqualified",
    "GetFunctionConcurrency": "unqualified",
    "DeleteFunctionConcurrency": "unqualified",
    "PublishVersion": "unqualified",
    "ListVersionsByFunction": "unqualified",
    "CreateAlias": "unqualified",
    "GetAlias": "unqualified",
    "UpdateAlias": "unqualified",
    "DeleteAlias": "unqualified",
    "ListAliases": "unqualified",
    "GetFunctionCodeSigningConfig": "unqualified",
}
#: Operations whose function is in the request body (``FunctionName``).
BODY_OPERATIONS = ("CreateEventSourceMapping", "UpdateEventSourceMapping", "CreateFunction")
#: Tagging operations name the resource by its full ARN in the path.
TAG_OPERATIONS = ("ListTags", "TagResource", "UntagResource")


def parse(spelling: str, member: str = "functionName") -> FunctionRef:
    """Parse any spelling of a function that Lambda accepts.

    Raises:
        ValidationException: ``spelling`` matches no format, with Lambda's validation message.
    """
    ref = split_function(spelling)
    if ref is None:
        raise ValidationException(
            spelling,
            member,
            "Member must satisfy regular expression pattern: " + FUNCTION_NAME.pattern[1:-1],
        )
    return ref


def _resolve(spelling: str, region: str, account: str, member: str = "functionName") -> FunctionRef:
    """Parse ``spelling`` for a request to ``region`` and ``account``.

    A full ARN of another Region or account names a function this endpoint does not hold:
    labkit answers ResourceNotFoundException for it (AWS would look in the other account and
    apply its resource policy; no lab needs that).
    """
    ref = parse(spelling, member)
    if (ref.region is not None and ref.region != region) or (
        ref.account is not None and ref.account != account
    ):
        raise UnknownFunctionException(spelling)
    return ref


def _qualifier_conflict(ref: FunctionRef, given: str | None) -> str | None:
    """The qualifier to use when the name carries one and ``Qualifier`` may too."""
    if given and ref.qualifier and given != ref.qualifier:
        # Lambda's wording for a Qualifier that disagrees with the name's.
        raise InvalidParameterValueException(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return ref.qualifier or given


def _function_segment(path: str) -> int | None:
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "functions" and i + 1 < len(parts) and parts[i + 1]:
            return i + 1
    return None


def _rewrite_path(response: LambdaResponse, mode: str) -> None:
    parts = response.path.split("/")
    index = _function_segment(response.path)
    if index is None:
        return
    ref = _resolve(unquote(parts[index]), response.region, response.current_account)
    given = (response.querystring.get("Qualifier") or [None])[0]
    if mode == "unqualified":
        if ref.qualifier or given:
            # moto's wording for a qualifier where the operation takes none; the API reference
            # lists only unqualified formats for these operations.
            raise InvalidParameterValueException("Cannot provide qualifier")
        # Raises ResourceNotFoundException for an unknown function (moto lists nothing, and
        # CreateAlias names the version it looked for).
        response.backend.get_function(ref.name)
        parts[index] = ref.name
    elif mode == "param":
        qualifier = _qualifier_conflict(ref, given)
        parts[index] = ref.name
        if qualifier:
            response.querystring["Qualifier"] = [qualifier]
            response.querystring["qualifier"] = [qualifier]
    else:  # path
        qualifier = _qualifier_conflict(ref, given)
        response.querystring.pop("Qualifier", None)
        parts[index] = f"{ref.name}:{qualifier}" if qualifier else ref.name
    response.path = "/".join(parts)


def _rewrite_body(response: LambdaResponse, operation: str) -> None:
    try:
        body = json.loads(response.body or "{}")
    except ValueError:
        return
    spelling = body.get("FunctionName")
    if not isinstance(spelling, str) or not spelling:
        return
    ref = _resolve(spelling, response.region, response.current_account)
    if operation == "CreateFunction":
        if ref.qualifier:
            raise InvalidParameterValueException("Cannot provide qualifier")
        body["FunctionName"] = ref.name
    else:
        body["FunctionName"] = ref.short
    response.body = json.dumps(body)


def _rewrite_tags(response: LambdaResponse) -> None:
    head, sep, arn = response.path.partition("/tags/")
    if not sep:
        return
    spelling = unquote(arn)
    if ":event-source-mapping:" in spelling or ":code-signing-config:" in spelling:
        return
    # The tagging operations take the resource's full ARN only (``TaggableResource`` in the API
    # model): a name or a partial ARN fails validation.
    # https://docs.aws.amazon.com/lambda/latest/api/API_ListTags.html
    found = FUNCTION_NAME.match(spelling)
    if not spelling.startswith("arn:") or found is None or found["account"] is None:
        raise ValidationException(
            spelling, "resource", "Member must satisfy regular expression pattern: arn:..."
        )
    ref = _resolve(spelling, response.region, response.current_account, member="resource")
    response.path = f"{head}/tags/{ref.short}"


def normalise(response: LambdaResponse, operation: str) -> None:
    """Rewrite the function a Lambda request names into the spelling moto resolves.

    Raises:
        ValidationException: A spelling Lambda does not accept.
        UnknownFunctionException: An ARN of another Region or account, or an unknown function
            for an operation moto would answer with an empty list.
        InvalidParameterValueException: A qualifier where the operation takes none, or one that
            disagrees with ``Qualifier``.
    """
    if operation in PATH_OPERATIONS:
        _rewrite_path(response, PATH_OPERATIONS[operation])
    elif operation in BODY_OPERATIONS:
        _rewrite_body(response, operation)
    elif operation == "ListEventSourceMappings":
        given = (response.querystring.get("FunctionName") or [None])[0]
        if given:
            ref = _resolve(given, response.region, response.current_account)
            response.querystring["FunctionName"] = [ref.short]
    elif operation in TAG_OPERATIONS:
        _rewrite_tags(response)


def _error_response(response: LambdaResponse, error: HTTPException) -> Any:
    """The error as moto's own handler would have answered it."""
    headers: dict[str, Any] = dict(error.get_headers() or [])
    headers["status"] = error.code
    status, out_headers, body = response._transform_response(
        response.response_headers, (error.description, headers)
    )
    out_headers, body = response._enrich_response(out_headers, body)
    return status, out_headers, body


def mapping_function_arn(esm: EventSourceMapping, spelling: str) -> None:
    """Make a mapping report the function as AWS does: through an alias, the alias ARN."""
    try:
        ref = parse(spelling)
    except ValidationException:
        return
    if ref.qualifier and ref.qualifier != "$LATEST":
        esm.function_arn = ref.arn(esm.region, esm.account_id)
    esm.function_name = ref.short


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the normalisation for ``sandbox`` (undone by ``stack``)."""
    original_create = LambdaBackend.create_event_source_mapping
    original_update = LambdaBackend.update_event_source_mapping
    original_list = LambdaBackend.list_event_source_mappings
    original_add_permission = LambdaBackend.add_permission
    had_own = "call_action" in LambdaResponse.__dict__
    original_call = LambdaResponse.call_action

    def call_action(self: LambdaResponse) -> Any:
        operation = self._get_action()
        try:
            normalise(self, operation)
        except HTTPException as error:
            return _error_response(self, error)
        return original_call(self)

    def create_esm(self: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
        esm = original_create(self, spec)
        mapping_function_arn(esm, str(spec.get("FunctionName", "")))
        return esm

    def update_esm(
        self: LambdaBackend, uuid: str, spec: dict[str, Any]
    ) -> EventSourceMapping | None:
        esm = original_update(self, uuid, spec)
        if esm is not None and spec.get("FunctionName"):
            mapping_function_arn(esm, str(spec["FunctionName"]))
        return esm

    def list_esms(
        self: LambdaBackend, event_source_arn: str, function_name: str
    ) -> list[EventSourceMapping]:
        found = list(original_list(self, event_source_arn, ""))
        if not function_name:
            return found
        wanted = parse(function_name)
        return [e for e in found if _names(e, wanted)]

    def add_permission(
        self: LambdaBackend, function_name: str, qualifier: str, raw: str
    ) -> dict[str, Any]:
        statement = original_add_permission(self, function_name, qualifier, raw)
        # moto builds the statement's Resource from the version object's ARN, then appends the
        # qualifier ("...:fn:1:live"); Lambda's is the function's ARN, qualified as asked.
        ref = parse(function_name)
        qualified = FunctionRef(ref.name, qualifier or ref.qualifier, None, None, function_name)
        statement["Resource"] = qualified.arn(self.region_name, self.account_id)
        # moto keeps an account id (or an IAM ARN) given as --principal as a bare string; Lambda
        # stores {"AWS": "arn:aws:iam::<id>:root"}, which GetPolicy returns and policies evaluate.
        principal = statement.get("Principal")
        if isinstance(principal, str) and principal != "*":
            named = f"arn:aws:iam::{principal}:root" if principal.isdigit() else principal
            statement["Principal"] = {"AWS": named}
        return statement

    LambdaResponse.call_action = call_action  # type: ignore[method-assign,assignment]
    LambdaBackend.create_event_source_mapping = create_esm  # type: ignore[method-assign]
    LambdaBackend.update_event_source_mapping = update_esm  # type: ignore[method-assign]
    LambdaBackend.list_event_source_mappings = list_esms  # type: ignore[method-assign]
    LambdaBackend.add_permission = add_permission  # type: ignore[method-assign]

    def undo() -> None:
        if had_own:
            LambdaResponse.call_action = original_call  # type: ignore[method-assign]
        else:
            del LambdaResponse.call_action
        LambdaBackend.create_event_source_mapping = original_create  # type: ignore[method-assign]
        LambdaBackend.update_event_source_mapping = original_update  # type: ignore[method-assign]
        LambdaBackend.list_event_source_mappings = original_list  # type: ignore[method-assign]
        LambdaBackend.add_permission = original_add_permission  # type: ignore[method-assign]

    stack.callback(undo)


def _names(esm: EventSourceMapping, wanted: FunctionRef) -> bool:
    try:
        return parse(str(esm.function_arn)).same_function(wanted)
    except ValidationException:
        return False
