"""Application Load Balancers answer HTTP at their DNS names, as AWS serves them.

moto 5.2.5 keeps the control plane faithfully (load balancers, listeners, rules with every
condition and action type, target groups, Lambda targets, ``authenticate-cognito``) but nothing
answers a request to ``http(s)://{name}-{id}.{region}.elb.amazonaws.com``. labkit does, for
``requests`` and ``urllib``:

- the listener on the URL's port and protocol answers (no listener: the connection is refused,
  as AWS's security group and closed port leave it); its rules are tried by priority and the
  default rule last (:mod:`labkit.services.elbv2.sim_rules`);
- actions run in ``Order``: ``authenticate-cognito`` (:mod:`labkit.services.elbv2.patch_auth`),
  then the terminal one: ``forward`` (weighted target groups), ``fixed-response``, ``redirect``;
- a Lambda target is invoked in-process with the ALB event and its answer mapped
  (:mod:`labkit.services.elbv2.sim_lambda`); a target group without a registered target → 503;
  a function the target group may not invoke (no ``elasticloadbalancing.amazonaws.com``
  statement in its policy, asked of the policy engine), a function error or an unreadable
  answer → 502; a request body over 1 MB → 413, an answer over 1 MB → 502; instance and IP
  targets are answered by what listens there (ECS tasks), with health checks on the lab clock
  (:mod:`labkit.services.elbv2.patch_targets`);
- ``RegisterTargets`` of a function without that permission is refused with AWS's
  ``AccessDenied`` ("elasticloadbalancing principal does not have permission to invoke ...").

Sources: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html,
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html,
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-action-types.html.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.sandbox import hosts as patch_hosts
from labkit.services.awslambda.access import invoke_decision
from labkit.services.elbv2.patch_targets import forward_to_targets
from labkit.services.elbv2.patch_targets import install as install_targets
from labkit.services.elbv2.sim_lambda import AlbResponse, error_page, lambda_event, lambda_response
from labkit.services.elbv2.sim_rules import (
    AlbRequest,
    WeightedPicker,
    choose_rule,
    forward_groups,
    ordered_actions,
    redirect_location,
    redirect_status,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: A load balancer's DNS name (internet-facing or ``internal-``).
ALB_HOST = re.compile(r"^[a-z0-9-]+\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.elb\.amazonaws\.com$")
#: The address requests from the notebook come from (as API Gateway's ``sourceIp`` says).
CLIENT_IP = "127.0.0.1"
ELB_PRINCIPAL = "elasticloadbalancing.amazonaws.com"

#: What an ``authenticate-*`` action does (:mod:`labkit.services.elbv2.patch_auth` registers
#: it): given the load balancer, the action and the request, a response that ends the request
#: (a redirect to sign in, a 401) or the headers to forward with it.
Authenticate = Callable[[Any, Mapping[str, Any], AlbRequest], "AlbResponse | dict[str, str]"]
AUTHENTICATORS: dict[str, Authenticate] = {}
#: Paths the load balancer answers itself before any rule (``/oauth2/idpresponse``): given the
#: load balancer, the listener's rules and the request, a response or ``None``.
Endpoint = Callable[[Any, list[dict[str, Any]], AlbRequest], "AlbResponse | None"]
ENDPOINTS: list[Endpoint] = []


class LoadBalancerUnreachableError(requests.exceptions.ConnectionError):
    """A load balancer that does not exist, or a port it has no listener on."""


def _picker(lb: Any) -> WeightedPicker:
    picker: WeightedPicker | None = getattr(lb, "labkit_picker", None)
    if picker is None:
        picker = lb.labkit_picker = WeightedPicker()
    return picker


def find_load_balancer(host: str) -> tuple[Any, Any] | None:
    """``(elbv2 backend, load balancer)`` whose DNS name is ``host``, or ``None``."""
    from labkit.sandbox.backends import existing_services

    for service, _region, backend in existing_services():
        if service != "elbv2":
            continue
        for lb in backend.load_balancers.values():
            if str(lb.dns_name).lower() == host.lower():
                return backend, lb
    return None


def rules_of(listener: Any) -> list[dict[str, Any]]:
    """A listener's rules as ``DescribeRules`` spells them (actions as dicts)."""
    rules = []
    for rule in listener.rules.values():
        priority = getattr(rule, "priority", "default")
        rules.append(
            {
                "RuleArn": rule.arn,
                "Priority": priority,
                "IsDefault": bool(getattr(rule, "is_default", priority == "default")),
                "Conditions": list(rule.conditions or []),
                "Actions": [dict(getattr(a, "data", a)) for a in rule.actions or []],
            }
        )
    return rules


def alb_request(request: Any) -> AlbRequest:
    """The request as the listener sees it (``requests``' prepared request or urllib's)."""
    parts = urlsplit(str(request.url))
    scheme = parts.scheme.lower()
    headers: dict[str, tuple[str, ...]] = {}
    for name, value in dict(request.headers or {}).items():
        headers[str(name).lower()] = (*headers.get(str(name).lower(), ()), str(value))
    headers.setdefault("host", ((parts.hostname or "").lower(),))
    # Host-header conditions and redirects read the Host header (a custom domain's CNAME).
    host = headers["host"][0].split(":")[0].lower()
    query = []
    for piece in parts.query.split("&") if parts.query else []:
        key, _, value = piece.partition("=")
        query.append((key, value))
    return AlbRequest(
        method=str(request.method or "GET").upper(),
        scheme=scheme,
        host=host,
        port=parts.port or (443 if scheme == "https" else 80),
        path=parts.path or "/",
        query=tuple(query),
        headers=headers,
        body=patch_hosts.body_of(getattr(request, "body", None)),
        source_ip=CLIENT_IP,
        raw_query=parts.query,
    )


def serve(request: AlbRequest, dns_name: str) -> AlbResponse:
    """Answer ``request`` as the load balancer at ``dns_name`` (the URL's host) does."""
    found = find_load_balancer(dns_name)
    if found is None:
        raise LoadBalancerUnreachableError(
            f"Failed to resolve '{dns_name}': no load balancer in the sandbox has this DNS "
            "name (DescribeLoadBalancers gives each one's DNSName)."
        )
    backend, lb = found
    listener = next(
        (
            lst
            for lst in lb.listeners.values()
            if int(lst.port) == request.port and str(lst.protocol).lower() == request.scheme
        ),
        None,
    )
    if listener is None:
        raise LoadBalancerUnreachableError(
            f"Connection to {dns_name} port {request.port} refused: the load balancer has "
            f"no {request.scheme.upper()} listener on port {request.port}."
        )
    rules = rules_of(listener)
    for endpoint in ENDPOINTS:
        answered = endpoint(lb, rules, request)
        if answered is not None:
            return answered
    rule = choose_rule(rules, request)
    if rule is None:
        return error_page(503, "Service Temporarily Unavailable", "the listener has no rule")
    return run_actions(backend, lb, rule, request)


def run_actions(backend: Any, lb: Any, rule: Mapping[str, Any], request: AlbRequest) -> AlbResponse:
    """Perform a rule's actions in order; the first terminal action answers."""
    extra: dict[str, str] = {}
    for action in ordered_actions(rule["Actions"]):
        kind = str(action.get("Type", ""))
        if kind.startswith("authenticate-"):
            authenticate = AUTHENTICATORS.get(kind)
            if authenticate is None:
                return error_page(500, "Internal Server Error", f"{kind} is not simulated")
            outcome = authenticate(lb, action, request)
            if isinstance(outcome, AlbResponse):
                return outcome
            extra.update(outcome)
            continue
        if kind == "fixed-response":
            config = action.get("FixedResponseConfig") or {}
            return AlbResponse(
                int(config.get("StatusCode", 200)),
                {
                    "Server": ["awselb/2.0"],
                    "Content-Type": [str(config.get("ContentType") or "text/plain")],
                },
                str(config.get("MessageBody") or "").encode("utf-8"),
                "fixed-response",
            )
        if kind == "redirect":
            config = action.get("RedirectConfig") or {}
            location = redirect_location(config, request)
            return AlbResponse(
                redirect_status(config),
                {"Server": ["awselb/2.0"], "Location": [location]},
                b"",
                f"redirect to {location}",
            )
        if kind == "forward":
            return forward(backend, lb, action, request, extra)
    return error_page(500, "Internal Server Error", "the rule has no terminal action")


def _forwarded(request: AlbRequest, extra: dict[str, str]) -> AlbRequest:
    """The request as the target receives it: the load balancer's ``X-Forwarded-*`` and trace
    headers added, and the authentication headers (which replace any the client sent)."""
    headers = {k: v for k, v in request.headers.items() if not k.startswith("x-amzn-oidc-")}
    sent_for = headers.get("x-forwarded-for", ())
    headers["x-forwarded-for"] = (
        ", ".join((*sent_for, request.source_ip)) if sent_for else request.source_ip,
    )
    headers["x-forwarded-proto"] = (request.scheme,)
    headers["x-forwarded-port"] = (str(request.port),)
    headers["x-amzn-trace-id"] = (
        f"Root=1-{mock_random.get_random_hex(8)}-{mock_random.get_random_hex(24)}",
    )
    for name, value in extra.items():
        headers[name.lower()] = (value,)
    return AlbRequest(
        request.method,
        request.scheme,
        request.host,
        request.port,
        request.path,
        request.query,
        headers,
        request.body,
        request.source_ip,
        request.raw_query,
    )


def forward(
    backend: Any, lb: Any, action: Mapping[str, Any], request: AlbRequest, extra: dict[str, str]
) -> AlbResponse:
    """Send the request to one of the action's target groups (by weight) and answer with what
    its target answered."""
    arn = _picker(lb).pick(forward_groups(action))
    group = backend.target_groups.get(arn) if arn else None
    if group is None:
        return error_page(503, "Service Temporarily Unavailable", "no target group to forward to")
    if not group.targets:
        return error_page(
            503, "Service Temporarily Unavailable", f"target group {group.name} has no targets"
        )
    if group.target_type != "lambda":
        # Instance and IP targets: whatever listens there answers (ECS tasks' apps).
        return forward_to_targets(group, _forwarded(request, extra))
    return invoke_target(group, next(iter(group.targets)), _forwarded(request, extra))


def _function(arn: str, account_id: str, region: str) -> tuple[Any, Any] | None:
    from labkit.services.awslambda.patch import lambda_backend

    lam = lambda_backend(account_id, region)
    try:
        return lam, lam.get_function(arn)
    except Exception:
        return None


def invoke_target(group: Any, target_id: str, request: AlbRequest) -> AlbResponse:
    """Invoke the Lambda target ``target_id`` of ``group`` with the ALB event."""
    from labkit.services.awslambda.patch import TooManyRequestsException, run_invocation

    found = _function(target_id, group.account_id, group.region_name)
    if found is None:
        return error_page(502, "Bad Gateway", f"function {target_id} does not exist")
    lam, fn = found
    decision = invoke_decision(
        fn, service=ELB_PRINCIPAL, source_arn=group.arn, account_id=group.account_id
    )
    if not decision.allowed:
        return error_page(
            502,
            "Bad Gateway",
            f"the load balancer may not invoke {fn.function_name}: its policy has no statement "
            f"letting {ELB_PRINCIPAL} invoke it for {group.arn}",
        )
    limit = int(facts.value("alb.lambda_body_max"))
    if len(request.body) > limit:
        return error_page(413, "Request Entity Too Large", "a Lambda target takes at most 1 MB")
    multi = str(group.attributes.get("lambda.multi_value_headers.enabled", "false")) == "true"
    event = lambda_event(request, group.arn, multi_value=multi)
    try:
        result = run_invocation(lam, fn, event, source=f"elbv2:{group.arn}")
    except TooManyRequestsException:
        return error_page(503, "Service Temporarily Unavailable", "the function is throttled")
    if result.function_error:
        return error_page(502, "Bad Gateway", f"{fn.function_name} failed")
    if len(result.payload) > limit:
        return error_page(502, "Bad Gateway", "the function's answer is larger than 1 MB")
    return lambda_response(result.payload, multi_value=multi)


def handle(request: Any) -> patch_hosts.Reply:
    """Answer one HTTP request to a load balancer's DNS name."""
    response = serve(alb_request(request), urlsplit(str(request.url)).hostname or "")
    pairs = [(name, value) for name, values in response.headers.items() for value in values]
    return response.status, pairs, response.body


def _check_register(stack: ExitStack) -> None:
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend

    original = ELBv2Backend.register_targets

    def register_targets(self: Any, target_group_arn: str, instances: list[dict[str, Any]]) -> Any:
        group = self.target_groups.get(target_group_arn)
        if group is not None and group.target_type == "lambda":
            for target in instances:
                found = _function(str(target["Id"]), group.account_id, group.region_name)
                if found is None:
                    continue
                decision = invoke_decision(
                    found[1],
                    service=ELB_PRINCIPAL,
                    source_arn=group.arn,
                    account_id=group.account_id,
                )
                if not decision.allowed:
                    raise ELBClientError(
                        "AccessDenied",
                        f"elasticloadbalancing principal does not have permission to invoke "
                        f"{target['Id']} from target group {group.arn}",
                    )
        return original(self, target_group_arn, instances)

    ELBv2Backend.register_targets = register_targets  # type: ignore[method-assign]
    stack.callback(setattr, ELBv2Backend, "register_targets", original)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Serve load balancers' DNS names while ``sandbox`` runs."""
    _check_register(stack)
    install_targets(sandbox, stack)
    patch_hosts.serve(stack, ALB_HOST, handle)


__all__ = [
    "ALB_HOST",
    "AUTHENTICATORS",
    "CLIENT_IP",
    "ENDPOINTS",
    "LoadBalancerUnreachableError",
    "alb_request",
    "find_load_balancer",
    "handle",
    "install",
    "rules_of",
    "serve",
]
