"""The architecture map's edges at the front and the orchestration: CloudFront origins, API
Gateway integrations and authorizers, Step Functions tasks.

The same rules as :mod:`labkit.sandbox.architecture_wiring` (which collects these with the rest):
the policy engine's answer on each edge, placeholders for what the wiring names but the sandbox
lacks, counts only from what the sandbox records (CloudFront's request log, API Gateway's trace,
Lambda's invocation history).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from labkit.sandbox.architecture import BROKEN, MISSING, OK, Edge, Node, plural
from labkit.sandbox.architecture_nodes import TITLES, api_id, bucket_id
from labkit.sandbox.architecture_wiring import (
    UNCHECKED,
    Wiring,
    full,
    status_of,
    tier_of,
    unqualified,
)
from labkit.sandbox.backends import existing
from labkit.services.apigateway.sim_request import TRACE_LENGTH

_LAMBDA_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<fn>arn:[^/]+)/invocations")
_S3_REST = re.compile(r"^(?P<bucket>.+?)\.s3(?:\.dualstack)?(?:[.-][a-z0-9-]+)?\.amazonaws\.com$")
_S3_WEBSITE = re.compile(r"^(?P<bucket>.+?)\.s3-website[.-][a-z0-9-]+\.amazonaws\.com$")
_EXECUTE_API = re.compile(
    r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$"
)

#: Step Functions optimized integrations: the resource prefix -> (service, parameter naming
#: the target, the action the state machine's role needs). From
#: https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html.
SFN_TASKS: Mapping[str, tuple[str, str, str]] = {
    "lambda:invoke": ("lambda", "FunctionName", "lambda:InvokeFunction"),
    "sqs:sendMessage": ("sqs", "QueueUrl", "sqs:SendMessage"),
    "sns:publish": ("sns", "TopicArn", "sns:Publish"),
    "dynamodb:putItem": ("dynamodb", "TableName", "dynamodb:PutItem"),
    "dynamodb:getItem": ("dynamodb", "TableName", "dynamodb:GetItem"),
    "dynamodb:updateItem": ("dynamodb", "TableName", "dynamodb:UpdateItem"),
    "dynamodb:deleteItem": ("dynamodb", "TableName", "dynamodb:DeleteItem"),
    "states:startExecution": ("states", "StateMachineArn", "states:StartExecution"),
}


# -- CloudFront -----------------------------------------------------------------------------------
def cloudfront_origins(w: Wiring) -> None:
    """Distribution -> the bucket, API or server behind each origin, with OAC's answer."""
    from labkit.services.cloudfront.patch import _behavior, _origin_identity
    from labkit.services.cloudfront.sim_log import REQUEST_LOG_SIZE, request_log
    from labkit.services.s3.patch_access import read_answer
    from labkit.services.s3.patch_origin import find_bucket

    for _, backend in existing("cloudfront", w.account):
        for dist in list(backend.distributions.values()):
            cfg = dist.distribution_config
            fetched: Counter[str] = Counter()
            log = request_log(dist)
            for entry in log:
                if entry.cache not in ("Hit", "Redirect", "") and not entry.blocked:
                    try:
                        fetched[str(_behavior(cfg, entry.path.split("?")[0]).target_origin_id)] += 1
                    except Exception:
                        fetched[""] += 1
            for origin in cfg.Origins.get("Items") or []:
                domain = str(origin.domain_name).lower()
                count = fetched[str(origin.id)]
                flow = plural(count, "origin fetch", "origin fetches")
                flow += full(len(log), REQUEST_LOG_SIZE, "request")
                rest, website = _S3_REST.match(domain), _S3_WEBSITE.match(domain)
                api = _EXECUTE_API.match(domain)
                if (
                    (rest or website) and not getattr(origin, "custom_origin_config", None)
                ) or website:
                    match = rest or website
                    assert match is not None
                    name = match.group("bucket")
                    target = bucket_id(name)
                    bucket = find_bucket(name)
                    if bucket is None:
                        w.placeholder(target, service="S3", kind="bucket", name=name)
                        status, reason, label = MISSING, "The origin's bucket does not exist.", "S3"
                    elif website:
                        status, reason, label = (
                            OK,
                            "A website endpoint is read anonymously.",
                            "website",
                        )
                    else:
                        principal, context = _origin_identity(origin, dist)
                        answer = read_answer(bucket, None, f"{target}/*", principal, context)
                        status = status_of(answer.decision.value == "allow", True)
                        reason = answer.reason
                        oac = getattr(origin, "origin_access_control_id", "")
                        label = (
                            "S3 (OAC)"
                            if oac
                            else ("S3 (OAI)" if principal.kind == "aws" else "S3 (public)")
                        )
                elif api:
                    target = api_id(api.group("region"), api.group("api"))
                    label, status, reason = "HTTPS", OK, "API Gateway answers CloudFront."
                    if not w.has(target):
                        w.placeholder(
                            target, service="API Gateway", kind="REST API", name=api.group("api")
                        )
                        status, reason = MISSING, "No REST API answers that domain."
                else:
                    target = w.outside(domain, "origin")
                    label, status, reason = "HTTP(S)", OK, "A custom origin outside the sandbox."
                w.add(
                    Edge(dist.arn, target, "CloudFront origin", label, status, reason, count, flow)
                )


# -- API Gateway ----------------------------------------------------------------------------------
def apigateway_integrations(w: Wiring) -> None:
    """API -> function or service for each method's integration; API -> authorizer."""
    from labkit.services.awslambda.access import invoke_decision

    fns = w.functions()
    invoked = w.invoked()
    for region, backend in existing("apigateway", w.account):
        for api in list(backend.apis.values()):
            source = api_id(region, api.id)
            state = getattr(api, "labkit_state", None)
            served: Counter[tuple[str, str]] = Counter()
            trace = list(getattr(state, "trace", []) or [])
            for entry in trace:
                if entry.integration:
                    served[(entry.http_method, entry.route or "")] += 1
            for resource in list(api.resources.values()):
                path = resource.get_path()
                for verb, method in sorted(resource.resource_methods.items()):
                    integration = method.method_integration
                    if integration is None or integration.integration_type == "MOCK":
                        continue
                    label = f"{verb} {path}"
                    count = served[(verb, path)] + (served[("ANY", path)] if verb == "ANY" else 0)
                    flow = plural(count, "request") + full(len(trace), TRACE_LENGTH, "request")
                    uri = str(integration.uri or "")
                    lam = _LAMBDA_URI.search(uri)
                    if lam:
                        fn_arn = unqualified(lam.group("fn"))
                        fn = fns.get(fn_arn)
                        if fn is None:
                            w.placeholder(fn_arn, kind="function")
                            status, reason = MISSING, "The integration's function does not exist."
                        elif integration.credentials:
                            ok, why = w.role_allows(
                                str(integration.credentials), ("lambda:InvokeFunction",), fn_arn
                            )
                            status, reason = status_of(ok, False), why
                        else:
                            arn = (
                                f"arn:aws:execute-api:{region}:{w.account}:{api.id}/*/{verb}{path}"
                            )
                            d = invoke_decision(
                                fn,
                                service="apigateway.amazonaws.com",
                                source_arn=arn,
                                account_id=w.account,
                            )
                            status = status_of(d.allowed, False)
                            reason = d.reason + ("" if d.allowed else UNCHECKED)
                        w.add(
                            Edge(
                                source,
                                fn_arn,
                                "API Gateway integration",
                                label,
                                status,
                                reason,
                                count,
                                flow,
                            )
                        )
                    elif integration.integration_type == "AWS":
                        target, action = _service_target(w, uri, region)
                        status, reason = _service_access(
                            w, str(integration.credentials or ""), action, target
                        )
                        w.add(
                            Edge(
                                source,
                                target,
                                "API Gateway integration",
                                label,
                                status,
                                reason,
                                count,
                                flow,
                            )
                        )
                    else:
                        target = w.outside(uri or "(no URI)", "HTTP endpoint")
                        w.add(
                            Edge(
                                source,
                                target,
                                "API Gateway integration",
                                label,
                                OK,
                                "An HTTP integration outside the sandbox.",
                                count,
                                flow,
                            )
                        )
            for authorizer in list((getattr(api, "authorizers", {}) or {}).values()):
                _authorizer(w, api, source, region, authorizer, fns, invoked, state)


def _service_target(w: Wiring, uri: str, region: str) -> tuple[str, str]:
    """The node an AWS service integration calls, and the action it calls (``""``: unknown)."""
    found = re.search(
        r":apigateway:[^:]+:(?P<service>[^:]+):(?P<kind>path|action)/(?P<rest>.+)$", uri
    )
    if not found:
        return w.outside(uri, "AWS service"), ""
    service, kind, rest = found.group("service"), found.group("kind"), found.group("rest")
    action = f"{service}:{rest.split('?')[0]}" if kind == "action" else ""
    if service == "sqs" and kind == "path" and rest.count("/") >= 1:
        account, _, name = rest.partition("/")
        arn = f"arn:aws:sqs:{region}:{account}:{name.split('/')[0]}"
        # A path integration to a queue sends to it (its template says Action=SendMessage).
        target = arn if w.has(arn) else w.placeholder(arn, kind="queue")
        return target, "sqs:SendMessage"
    title = TITLES.get(service, service)
    node_id = f"service:{region}:{service}"
    w.extra.setdefault(node_id, Node(node_id, title, "service API", title, region, tier_of(title)))
    return node_id, action


def _service_access(w: Wiring, role: str, action: str, target: str) -> tuple[str, str]:
    """What the integration's credentials role says about its call (the sandbox checks it)."""
    if not role:
        return BROKEN, (
            "The integration has no credentials role, so API Gateway's call to the "
            "service is not authorized."
        )
    if not action:
        return OK, "An AWS service integration (the action is chosen by its template)."
    resource = target if target.startswith("arn:") else "*"
    allowed, why = w.role_allows(role, (action,), resource)
    return status_of(allowed, True), why


def _authorizer(
    w: Wiring,
    api: Any,
    source: str,
    region: str,
    authorizer: Any,
    fns: dict[str, Any],
    invoked: Counter[tuple[str, str]],
    state: Any,
) -> None:
    from labkit.services.awslambda.access import invoke_decision

    kind = str(getattr(authorizer, "type", "") or authorizer.get("type", ""))
    name = str(getattr(authorizer, "name", "") or "")
    trace = list(getattr(state, "trace", []) or [])
    if kind == "COGNITO_USER_POOLS":
        count = sum(1 for e in trace if e.authorizer == "COGNITO_USER_POOLS")
        for pool_arn in getattr(authorizer, "provider_arns", None) or []:
            target = pool_arn if w.has(pool_arn) else w.placeholder(pool_arn, kind="user pool")
            status = OK if w.has(pool_arn) else MISSING
            reason = (
                "API Gateway checks the pool's tokens."
                if status == OK
                else "The user pool does not exist."
            )
            w.add(
                Edge(
                    source,
                    target,
                    "API Gateway authorizer",
                    f"{name} (Cognito)",
                    status,
                    reason,
                    count,
                    plural(count, "request"),
                )
            )
        return
    uri = str(getattr(authorizer, "authorizer_uri", "") or "")
    lam = _LAMBDA_URI.search(uri)
    if not lam:
        return
    fn_arn = unqualified(lam.group("fn"))
    fn = fns.get(fn_arn)
    count = invoked[(fn.function_name if fn else "", f"apigateway:{api.id}:authorizer")]
    if fn is None:
        w.placeholder(fn_arn, kind="function")
        status, reason = MISSING, "The authorizer's function does not exist."
    elif getattr(authorizer, "authorizer_credentials", None):
        status, reason = OK, "The authorizer invokes the function with its own role."
    else:
        arn = f"arn:aws:execute-api:{region}:{w.account}:{api.id}/authorizers/{authorizer.id}"
        d = invoke_decision(
            fn, service="apigateway.amazonaws.com", source_arn=arn, account_id=w.account
        )
        status, reason = status_of(d.allowed, True), d.reason
    w.add(
        Edge(
            source,
            fn_arn,
            "API Gateway authorizer",
            f"{name} ({kind.lower()})",
            status,
            reason,
            count,
            plural(count, "invocation"),
        )
    )


# -- Step Functions -------------------------------------------------------------------------------
def _task_states(definition: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task state of a definition, nested ones (Parallel branches, Map) included."""
    states = (definition or {}).get("States") or {}
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches") or []:
            yield from _task_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), dict):
                yield from _task_states(state[key])


def _sfn_target(w: Wiring, service: str, value: str, region: str) -> str:
    if not value:
        return ""
    if service == "lambda":
        arn = (
            value
            if value.startswith("arn:")
            else f"arn:aws:lambda:{region}:{w.account}:function:{value}"
        )
        return unqualified(arn)
    if service == "sqs":
        if value.startswith("http"):
            parts = value.rstrip("/").split("/")
            return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"
        return value
    if service == "dynamodb":
        return (
            value
            if value.startswith("arn:")
            else f"arn:aws:dynamodb:{region}:{w.account}:table/{value}"
        )
    return value


def stepfunctions_tasks(w: Wiring) -> None:
    """State machine -> each Task state's resource, with the machine's role's answer."""
    for region, backend in existing("stepfunctions", w.account):
        for sm in list(backend.state_machines):
            try:
                definition = json.loads(sm.definition)
            except (TypeError, ValueError):
                continue
            # labkit's interpreter keeps each execution's state visits (``runs``).
            visits: Counter[str] = Counter()
            failed: Counter[str] = Counter()
            for execution in list(getattr(sm, "executions", []) or []):
                for run in list(getattr(execution, "runs", []) or []):
                    visits[str(run.name)] += 1
                    if str(getattr(run, "status", "")).upper() in ("FAILED", "CAUGHT"):
                        failed[str(run.name)] += 1
            for state_name, state in _task_states(definition):
                resource = str(state.get("Resource", ""))
                params = state.get("Parameters") or state.get("Arguments") or {}
                optimized = resource.split(":::", 1)[1] if ":::" in resource else ""
                spec = SFN_TASKS.get(optimized.split(".")[0])
                if spec is not None:
                    service, key, action = spec
                    value = params.get(key)
                    if value is None:
                        continue  # named at run time ("FunctionName.$"): no fixed wiring
                    target = _sfn_target(w, service, str(value), region)
                elif resource.startswith("arn:aws:lambda:"):
                    service, action, target = (
                        "lambda",
                        "lambda:InvokeFunction",
                        unqualified(resource),
                    )
                else:
                    continue
                if not target:
                    continue
                if not w.has(target):
                    w.placeholder(target)
                    status, reason = MISSING, f"The task's {service} resource does not exist."
                else:
                    ok, why = w.role_allows(str(sm.roleArn), (action,), target)
                    status = status_of(ok, False)
                    reason = why if ok else why + UNCHECKED
                entered = visits[state_name]
                flow = plural(entered, "call") + (
                    f" · {failed[state_name]} failed" if failed[state_name] else ""
                )
                w.add(
                    Edge(
                        sm.arn,
                        target,
                        "Step Functions task",
                        state_name,
                        status,
                        reason,
                        entered,
                        flow,
                    )
                )


READERS: tuple[Callable[[Wiring], None], ...] = (
    cloudfront_origins,
    apigateway_integrations,
    stepfunctions_tasks,
)

__all__ = [
    "READERS",
    "SFN_TASKS",
    "apigateway_integrations",
    "cloudfront_origins",
    "stepfunctions_tasks",
]
