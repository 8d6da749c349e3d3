"""A user pool's hosted UI and OAuth 2.0 endpoints, served at its domain.

moto stores a user-pool domain (``CreateUserPoolDomain``) and serves nothing there. labkit answers
``https://{domain}.auth.{region}.amazoncognito.com`` for ``requests`` and ``urllib`` (rules in
:mod:`labkit.services.cognitoidp.sim_hostedui`):

- ``GET /oauth2/authorize``: checks the client, ``redirect_uri`` and scopes, then sends the
  browser to ``/login`` with the same parameters (or, with a hosted-UI session cookie, straight
  back to the ``redirect_uri`` with a code);
- ``GET /login``: the sign-in form (``username``, ``password`` and a ``_csrf`` field matching the
  ``XSRF-TOKEN`` cookie, as the hosted UI's form has); ``POST /login``: a right password for a
  confirmed user redirects to ``redirect_uri?code=...&state=...``; a wrong one shows the form
  again with "Incorrect username or password.";
- ``POST /oauth2/token``: ``authorization_code``, ``refresh_token`` and ``client_credentials``
  grants, answering ``id_token``/``access_token``/``refresh_token``/``expires_in``/``token_type``
  (tokens from the pool's own keys, on the lab clock) or ``{"error": ...}`` with status 400;
- ``GET``/``POST /oauth2/userInfo``: the user's attributes for a valid access token; an expired or
  unknown one gets 401 with ``WWW-Authenticate: Bearer error="invalid_token"``.

Sources: https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/login-endpoint.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from contextlib import ExitStack
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.sandbox import hosts as patch_hosts
from labkit.services.cognitoidp.patch import issued_by, pool_keys
from labkit.services.cognitoidp.sim_hostedui import (
    CodeBook,
    IssuedCode,
    OAuthError,
    check_authorization,
)
from labkit.services.cognitoidp.sim_tokens import decode, issuer_url

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

HOSTED_UI = re.compile(
    r"^(?P<domain>[a-z0-9-]+)\.auth\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazoncognito\.com$"
)
Reply = patch_hosts.Reply
_INVALID_TOKEN = (
    "Access token is expired, disabled, or deleted, or the user has globally signed out."
)


def _book(pool: Any) -> CodeBook:
    book: CodeBook | None = getattr(pool, "labkit_hosted_ui", None)
    if book is None:
        book = pool.labkit_hosted_ui = CodeBook()
    return book


def find_domain(region: str, domain: str) -> tuple[Any, Any] | None:
    """``(backend, pool)`` whose domain prefix is ``domain`` in ``region``, or ``None``."""
    from labkit.sandbox.backends import existing_services

    for service, found_region, backend in existing_services():
        if service != "cognito-idp" or found_region != region:
            continue
        entry = backend.user_pool_domains.get(domain)
        if entry is not None and entry.user_pool_id in backend.user_pools:
            return backend, backend.user_pools[entry.user_pool_id]
    return None


def _json(status: int, body: dict[str, Any], *extra: tuple[str, str]) -> Reply:
    headers = [("Content-Type", "application/json;charset=UTF-8"), *extra]
    return status, headers, json.dumps(body).encode()


def _page(status: int, text: str, *extra: tuple[str, str]) -> Reply:
    return status, [("Content-Type", "text/html;charset=UTF-8"), *extra], text.encode()


def _redirect(location: str, *extra: tuple[str, str]) -> Reply:
    return 302, [("Location", location), *extra], b""


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _cookies(request: Any) -> dict[str, str]:
    raw = dict(request.headers or {}).get("Cookie") or dict(request.headers or {}).get("cookie")
    jar: SimpleCookie = SimpleCookie()
    if raw:
        jar.load(str(raw))
    return {name: morsel.value for name, morsel in jar.items()}


def _config(client: Any) -> dict[str, Any]:
    return dict(getattr(client, "extended_config", None) or {})


def _authorize(pool: Any, params: dict[str, str]) -> Any:
    client = pool.clients.get(params.get("client_id", ""))
    config = _config(client)
    return check_authorization(
        params,
        client_exists=client is not None,
        callback_urls=list(config.get("CallbackURLs") or []),
        allowed_flows=list(config.get("AllowedOAuthFlows") or []),
        allowed_scopes=list(config.get("AllowedOAuthScopes") or []),
        oauth_enabled=bool(config.get("AllowedOAuthFlowsUserPoolClient")),
    )


def _error_redirect(host: str, params: dict[str, str], error: OAuthError) -> Reply:
    if error.code in ("redirect_mismatch", "invalid_request"):
        # Not to the redirect_uri, which is not trusted: Cognito's own error page.
        query = {"error": error.code, "client_id": params.get("client_id", "")}
        return _redirect(f"https://{host}/error?{urlencode(query)}")
    query = {"error": error.code}
    if params.get("state"):
        query["state"] = params["state"]
    return _redirect(_with_query(params["redirect_uri"], query))


def _code_redirect(pool: Any, auth: Any, username: str, *extra: tuple[str, str]) -> Reply:
    lives = float(facts.value("cognito.authorization_code_validity"))
    code = _book(pool).issue(
        IssuedCode(
            auth.client_id,
            auth.redirect_uri,
            username,
            auth.scopes,
            time.time() + lives,
            auth.nonce,
        )
    )
    query = {"code": code}
    if auth.state:
        query["state"] = auth.state
    return _redirect(_with_query(auth.redirect_uri, query), *extra)


def _login_form(pool: Any, query: str, message: str = "") -> Reply:
    token = _book(pool).new_csrf()
    error = (
        f'<p id="loginErrorMessage" class="errorMessage">{html.escape(message)}</p>'
        if message
        else ""
    )
    body = (
        "<!DOCTYPE html><html><head><title>Signin</title></head><body>"
        f"{error}"
        f'<form name="cognitoSignInForm" method="post" action="/login?{html.escape(query)}">'
        f'<input type="hidden" name="_csrf" value="{token}"/>'
        '<input id="signInFormUsername" name="username" type="text"/>'
        '<input id="signInFormPassword" name="password" type="password"/>'
        '<input name="signInSubmitButton" type="submit" value="Sign in"/>'
        "</form></body></html>"
    )
    cookie = ("Set-Cookie", f"XSRF-TOKEN={token}; Path=/; Secure; HttpOnly; SameSite=Lax")
    return _page(200, body, cookie)


def _sign_in(pool: Any, username: str, password: str) -> tuple[Any, str]:
    """The user, or why the hosted UI refuses (its message)."""
    user = pool._get_user(username) if username else None
    if user is None or user.password != password:
        return None, "Incorrect username or password."
    if str(getattr(user.status, "value", user.status)) != "CONFIRMED":
        return None, "User is not confirmed."
    if not getattr(user, "enabled", True):
        return None, "User is disabled."
    return user, ""


def _login(request: Any, host: str, pool: Any, params: dict[str, str]) -> Reply:
    query = urlencode(params)
    try:
        auth = _authorize(pool, params)
    except OAuthError as refused:
        return _error_redirect(host, params, refused)
    if request.method == "GET":
        return _login_form(pool, query)
    form = dict(parse_qsl(patch_hosts.body_of(request.body).decode("utf-8", "replace")))
    token = form.get("_csrf", "")
    if not token or token != _cookies(request).get("XSRF-TOKEN") or token not in _book(pool).csrf:
        return _page(
            403,
            "<html><body>Forbidden: the sign-in form's CSRF token is missing or stale."
            "</body></html>",
        )
    _book(pool).csrf.discard(token)
    user, problem = _sign_in(pool, form.get("username", ""), form.get("password", ""))
    if user is None:
        return _login_form(pool, query, problem)
    session = _book(pool).new_session(user.username)
    cookie = ("Set-Cookie", f"cognito={session}; Path=/; Secure; HttpOnly; SameSite=Lax")
    return _code_redirect(pool, auth, user.username, cookie)


def _client_auth(request: Any, form: dict[str, str], pool: Any) -> Any:
    """The app client the token request authenticates as."""
    header = str(dict(request.headers or {}).get("Authorization") or "")
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            raise OAuthError("invalid_client") from None
    client = pool.clients.get(client_id)
    if client is None:
        raise OAuthError("invalid_client")
    if client.generate_secret and secret != client.secret:
        raise OAuthError("invalid_client")
    return client


def _user_tokens(
    pool: Any, client_id: str, username: str, scopes: tuple[str, ...]
) -> dict[str, Any]:
    refresh, origin_jti = pool.create_refresh_token(client_id, username)
    access, expires = pool.create_jwt(
        client_id,
        username,
        "access",
        extra_data={"origin_jti": origin_jti, "scope": " ".join(scopes)},
    )
    pool.access_tokens[access] = (client_id, username)
    answer: dict[str, Any] = {"access_token": access}
    if "openid" in scopes:
        answer["id_token"] = pool.create_id_token(client_id, username, origin_jti)[0]
    answer.update(refresh_token=refresh, expires_in=expires, token_type="Bearer")
    _book(pool).refresh_scopes[refresh] = scopes
    return answer


def _token(request: Any, pool: Any) -> Reply:
    form = dict(parse_qsl(patch_hosts.body_of(request.body).decode("utf-8", "replace")))
    try:
        client = _client_auth(request, form, pool)
        config = _config(client)
        grant = form.get("grant_type", "")
        if grant == "authorization_code":
            issued = _book(pool).redeem(
                form.get("code", ""), client.id, form.get("redirect_uri", ""), time.time()
            )
            return _json(200, _user_tokens(pool, client.id, issued.username, issued.scopes))
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            found = pool.refresh_tokens.get(token)
            expiry = (getattr(pool, "labkit_refresh_expiry", None) or {}).get(token)
            if not found or found[0] != client.id or (expiry is not None and time.time() >= expiry):
                raise OAuthError("invalid_grant")
            scopes = _book(pool).refresh_scopes.get(token, ("openid",))
            answer = _user_tokens(pool, client.id, found[1], scopes)
            del answer["refresh_token"]  # Cognito does not rotate refresh tokens by default
            return _json(200, answer)
        if grant == "client_credentials":
            return _json(200, _client_credentials(pool, client, config, form))
        raise OAuthError("unsupported_grant_type")
    except OAuthError as refused:
        return _json(400, {"error": refused.code})


def _client_credentials(
    pool: Any, client: Any, config: dict[str, Any], form: dict[str, str]
) -> dict[str, Any]:
    if not client.generate_secret:
        raise OAuthError("invalid_client")
    if "client_credentials" not in (config.get("AllowedOAuthFlows") or []):
        raise OAuthError("unauthorized_client")
    allowed = list(config.get("AllowedOAuthScopes") or [])
    scopes = form.get("scope", "").split() or allowed
    if not scopes or any(s not in allowed for s in scopes):
        raise OAuthError("invalid_scope")
    from labkit.services.cognitoidp.patch import token_validity

    now = int(time.time())
    lives = token_validity(config, "access")
    claims = {
        "sub": client.id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "auth_time": now,
        "iss": issuer_url(pool.region, pool.id),
        "exp": now + lives,
        "iat": now,
        "version": 2,
        "jti": str(mock_random.uuid4()),
        "client_id": client.id,
    }
    return {
        "access_token": pool_keys(pool).sign(claims, "access"),
        "expires_in": lives,
        "token_type": "Bearer",
    }


def _user_info(request: Any, backend: Any, pool: Any) -> Reply:
    header = str(dict(request.headers or {}).get("Authorization") or "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""

    def refuse() -> Reply:
        challenge = f'Bearer error="invalid_token", error_description="{_INVALID_TOKEN}"'
        return _json(
            401,
            {"error": "invalid_token", "error_description": _INVALID_TOKEN},
            ("WWW-Authenticate", challenge),
        )

    if not token or token not in pool.access_tokens or issued_by(backend, token) is not pool:
        return refuse()
    claims = decode(token).claims
    if time.time() >= float(claims.get("exp", 0)):
        return refuse()
    user = pool._get_user(pool.access_tokens[token][1])
    if user is None:
        return refuse()
    info: dict[str, Any] = {"sub": user.id}
    for attribute in user.attributes:
        name, value = attribute["Name"], attribute["Value"]
        info[name] = value
    info["username"] = user.username
    return _json(200, info)


def handle(request: Any) -> Reply:
    """Answer one request to a user pool's hosted-UI domain."""
    parts = urlsplit(str(request.url))
    host = (parts.hostname or "").lower()
    match = HOSTED_UI.match(host)
    found = find_domain(match["region"], match["domain"]) if match else None
    if found is None:
        import requests

        raise requests.exceptions.ConnectionError(
            f"Failed to resolve '{host}': no user pool in the sandbox has this domain "
            "(CreateUserPoolDomain gives a pool its domain prefix)."
        )
    backend, pool = found
    params = dict(parse_qsl(parts.query))
    path = parts.path.rstrip("/") or "/"
    if path == "/oauth2/authorize" and request.method == "GET":
        try:
            auth = _authorize(pool, params)
        except OAuthError as refused:
            return _error_redirect(host, params, refused)
        session = _cookies(request).get("cognito")
        username = _book(pool).sessions.get(session or "")
        if username is not None and pool._get_user(username) is not None:
            return _code_redirect(pool, auth, username)
        return _redirect(f"https://{host}/login?{urlencode(params)}")
    if path == "/login" and request.method in ("GET", "POST"):
        return _login(request, host, pool, params)
    if path == "/oauth2/token" and request.method == "POST":
        return _token(request, pool)
    if path == "/oauth2/userInfo" and request.method in ("GET", "POST"):
        return _user_info(request, backend, pool)
    if path == "/error":
        return _page(
            400, "<html><body>An error was encountered with the requested page.</body></html>"
        )
    return _page(404, "<html><body>Not found</body></html>")


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Serve user pools' hosted-UI domains while ``sandbox`` runs."""
    del sandbox
    patch_hosts.serve(stack, HOSTED_UI, handle)


__all__ = ["HOSTED_UI", "find_domain", "handle", "install"]
