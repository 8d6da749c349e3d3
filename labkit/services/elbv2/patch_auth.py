"""The ``authenticate-cognito`` action: a load balancer signs users in with a user pool.

As https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html
describes the flow (sessions and the claims JWT in :mod:`labkit.services.elbv2.sim_session`):

1. a request without a live session cookie gets, per ``OnUnauthenticatedRequest``:
   ``authenticate`` (the default) a 302 to the pool's ``/oauth2/authorize`` with
   ``redirect_uri=https://{host}/oauth2/idpresponse``, the client, ``Scope`` (default ``openid``)
   and a ``state``; ``deny`` a 401; ``allow`` the request forwarded without user claims;
2. the hosted UI signs the user in and sends the browser to ``/oauth2/idpresponse?code&state``,
   which the load balancer answers itself: it redeems the code at the pool's token endpoint
   (with the client's secret), asks the user info endpoint for the claims, sets
   ``{SessionCookieName}-0`` (default ``AWSELBAuthSessionCookie-0``) and redirects back to the
   URL first asked for;
3. later requests with the cookie are forwarded with ``x-amzn-oidc-accesstoken``,
   ``x-amzn-oidc-identity`` and ``x-amzn-oidc-data`` until ``SessionTimeout`` (default 7 days)
   passes on the lab clock.

The load balancers' public keys are served at ``public-keys.auth.elb.{region}.amazonaws.com``.
The callback URL must be one of the app client's ``CallbackURLs``, as Cognito checks it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from contextlib import ExitStack
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urlsplit

import requests

from labkit import facts
from labkit.sandbox import hosts as patch_hosts
from labkit.services.elbv2 import patch
from labkit.services.elbv2.sim_lambda import AlbResponse, error_page
from labkit.services.elbv2.sim_rules import AlbRequest
from labkit.services.elbv2.sim_session import AuthSession, RegionSigner, SessionBook

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

PUBLIC_KEYS = re.compile(
    r"^public-keys\.auth\.elb\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com$"
)
DEFAULT_COOKIE = "AWSELBAuthSessionCookie"
CALLBACK_PATH = "/oauth2/idpresponse"

#: One signing key per Region, as AWS keeps regional keys (not per load balancer).
_SIGNERS: dict[str, RegionSigner] = {}


def signer(region: str) -> RegionSigner:
    """The Region's signing key (made on first use)."""
    if region not in _SIGNERS:
        _SIGNERS[region] = RegionSigner()
    return _SIGNERS[region]


def _book(lb: Any) -> SessionBook:
    book: SessionBook | None = getattr(lb, "labkit_sessions", None)
    if book is None:
        book = lb.labkit_sessions = SessionBook()
    return book


def _region(lb: Any) -> str:
    return str(lb.arn).split(":")[3]


def _hosted_ui(config: Mapping[str, Any], region: str) -> str:
    domain = str(config.get("UserPoolDomain", ""))
    return (
        f"https://{domain}"
        if "." in domain
        else f"https://{domain}.auth.{region}.amazoncognito.com"
    )


def _cookies(request: AlbRequest) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for raw in request.headers.get("cookie", ()):
        jar.load(raw)
    return {name: morsel.value for name, morsel in jar.items()}


def _origin(request: AlbRequest) -> str:
    default = {"http": 80, "https": 443}[request.scheme]
    port = "" if request.port == default else f":{request.port}"
    return f"{request.scheme}://{request.host}{port}"


def _headers(lb: Any, config: Mapping[str, Any], session: AuthSession) -> dict[str, str]:
    region = _region(lb)
    pool_id = str(config.get("UserPoolArn", "")).rsplit("/", 1)[-1]
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
    exp = int(session.expires)
    data = signer(region).sign(
        {"iss": issuer, "client": session.client_id, "signer": lb.arn, "exp": exp},
        {**session.claims, "exp": exp, "iss": issuer},
    )
    return {
        "x-amzn-oidc-accesstoken": session.access_token,
        "x-amzn-oidc-identity": str(session.claims.get("sub", "")),
        "x-amzn-oidc-data": data,
    }


def authenticate(
    lb: Any, action: Mapping[str, Any], request: AlbRequest
) -> AlbResponse | dict[str, str]:
    """Perform an ``authenticate-cognito`` action (see the module's steps 1 and 3)."""
    config = action.get("AuthenticateCognitoConfig") or {}
    cookie = f"{config.get('SessionCookieName') or DEFAULT_COOKIE}-0"
    client_id = str(config.get("UserPoolClientId", ""))
    session = _book(lb).live(_cookies(request).get(cookie), client_id, time.time())
    if session is not None:
        return _headers(lb, config, session)
    behaviour = str(config.get("OnUnauthenticatedRequest") or "authenticate")
    if behaviour == "allow":
        return {}
    if behaviour == "deny":
        return error_page(
            401, "Authorization Required", "no session and OnUnauthenticatedRequest=deny"
        )
    query = f"?{request.query_string}" if request.query else ""
    state = _book(lb).begin(f"{_origin(request)}{request.path}{query}")
    params = {
        "client_id": client_id,
        "redirect_uri": f"{_origin(request)}{CALLBACK_PATH}",
        "response_type": "code",
        "scope": str(config.get("Scope") or "openid"),
        "state": state,
    }
    location = f"{_hosted_ui(config, _region(lb))}/oauth2/authorize?{urlencode(params)}"
    return AlbResponse(302, {"Server": ["awselb/2.0"], "Location": [location]}, b"", "sign in")


def _cognito_action(rules: list[dict[str, Any]]) -> Mapping[str, Any] | None:
    for rule in rules:
        for action in rule["Actions"]:
            if action.get("Type") == "authenticate-cognito":
                found: Mapping[str, Any] = action
                return found
    return None


def _client_secret(config: Mapping[str, Any]) -> str:
    from labkit.sandbox.backends import existing_services

    pool_id = str(config.get("UserPoolArn", "")).rsplit("/", 1)[-1]
    for service, _region, backend in existing_services():
        if service == "cognito-idp" and pool_id in backend.user_pools:
            client = backend.user_pools[pool_id].clients.get(config.get("UserPoolClientId"))
            return str(client.secret) if client is not None and client.generate_secret else ""
    return ""


def idp_response(lb: Any, rules: list[dict[str, Any]], request: AlbRequest) -> AlbResponse | None:
    """Answer ``/oauth2/idpresponse`` (step 2), or ``None`` for any other path."""
    if request.path != CALLBACK_PATH:
        return None
    action = _cognito_action(rules)
    params = dict(request.query)
    return_to = _book(lb).pending.pop(params.get("state", ""), None)
    if action is None or return_to is None or "code" not in params:
        return error_page(401, "Authorization Required", "no sign-in under way for this state")
    config = action.get("AuthenticateCognitoConfig") or {}
    client_id = str(config.get("UserPoolClientId", ""))
    base = _hosted_ui(config, _region(lb))
    tokens = requests.post(
        f"{base}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": unquote(params["code"]),
            "redirect_uri": f"{_origin(request)}{CALLBACK_PATH}",
        },
        auth=(client_id, _client_secret(config)),
        timeout=5,
    )
    if tokens.status_code != 200:
        return error_page(401, "Authorization Required", f"token endpoint said {tokens.text}")
    access = str(tokens.json()["access_token"])
    info = requests.get(
        f"{base}/oauth2/userInfo", headers={"Authorization": f"Bearer {access}"}, timeout=5
    )
    if info.status_code != 200:
        return error_page(401, "Authorization Required", f"user info endpoint said {info.text}")
    lives = float(config.get("SessionTimeout") or facts.value("alb.auth_session_timeout_default"))
    value = _book(lb).open(AuthSession(client_id, access, dict(info.json()), time.time() + lives))
    cookie = f"{config.get('SessionCookieName') or DEFAULT_COOKIE}-0"
    secure = "; Secure" if request.scheme == "https" else ""
    return AlbResponse(
        302,
        {
            "Server": ["awselb/2.0"],
            "Location": [return_to],
            "Set-Cookie": [f"{cookie}={value}; Path=/{secure}; HttpOnly"],
        },
        b"",
        "signed in",
    )


def _public_key(request: Any) -> patch_hosts.Reply:
    parts = urlsplit(str(request.url))
    match = PUBLIC_KEYS.match((parts.hostname or "").lower())
    kid = parts.path.strip("/")
    region_signer = _SIGNERS.get(match["region"]) if match else None
    if region_signer is None or region_signer.kid != kid:
        return 404, [("Content-Type", "text/plain")], b"Not Found"
    return 200, [("Content-Type", "text/plain")], region_signer.public_pem().encode("ascii")


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Register the action and the callback with the load balancers' data plane."""
    del sandbox
    patch.AUTHENTICATORS["authenticate-cognito"] = authenticate
    patch.ENDPOINTS.append(idp_response)

    def undo() -> None:
        patch.AUTHENTICATORS.pop("authenticate-cognito", None)
        if idp_response in patch.ENDPOINTS:
            patch.ENDPOINTS.remove(idp_response)

    stack.callback(undo)
    patch_hosts.serve(stack, PUBLIC_KEYS, _public_key)


__all__ = ["CALLBACK_PATH", "DEFAULT_COOKIE", "PUBLIC_KEYS", "authenticate", "install", "signer"]
