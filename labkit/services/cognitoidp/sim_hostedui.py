"""The rules of a user pool's hosted UI and OAuth 2.0 endpoints, in plain Python.

A user pool with a domain serves ``https://{domain}.auth.{region}.amazoncognito.com``:
``/oauth2/authorize`` (which sends the browser to ``/login``), ``/login`` (the sign-in form),
``/oauth2/token`` and ``/oauth2/userInfo``. What this module decides, from the Cognito developer
guide (https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html):

- an authorization request must name an app client of the pool and a ``redirect_uri`` that is
  exactly one of the client's ``CallbackURLs``; otherwise Cognito does not redirect there (it
  shows its error page, ``error=redirect_mismatch``). Other faults go back to the
  ``redirect_uri`` as ``error=...`` with the ``state``: a response type other than ``code`` or
  ``token`` (``unsupported_response_type``), a flow or scope the client does not allow
  (``unauthorized_client``, ``invalid_scope``);
- an authorization code is used once and lives five minutes (``facts.toml``), bound to its
  client and ``redirect_uri``: a second use, another client or another URI is ``invalid_grant``;
- a client with a secret must authenticate (HTTP Basic or ``client_secret`` in the form), else
  ``invalid_client``.

:class:`CodeBook` keeps issued codes and hosted-UI sessions; the patch
(:mod:`labkit.services.cognitoidp.patch_hostedui`) keeps one per pool on moto's pool object.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from labkit.errors import LabkitError


class OAuthError(LabkitError):
    """An OAuth error as Cognito's endpoints name it (``error`` in the answer)."""

    code = "invalid_request"

    def __init__(self, error: str, message: str = "") -> None:
        super().__init__(message or error)
        self.code = error


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked ``/oauth2/authorize`` (or ``/login``) request."""

    client_id: str
    redirect_uri: str
    response_type: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None = None


@dataclass
class IssuedCode:
    """An authorization code and what it was issued for."""

    client_id: str
    redirect_uri: str
    username: str
    scopes: tuple[str, ...]
    expires: float
    nonce: str | None = None


@dataclass
class CodeBook:
    """A pool's issued authorization codes and its hosted-UI sign-in sessions."""

    codes: dict[str, IssuedCode] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    csrf: set[str] = field(default_factory=set)
    refresh_scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def issue(self, code: IssuedCode) -> str:
        """Record ``code`` and return the value sent to the ``redirect_uri``."""
        value = secrets.token_hex(18)
        self.codes[value] = code
        return value

    def redeem(self, value: str, client_id: str, redirect_uri: str, now: float) -> IssuedCode:
        """Use a code once, for the client and URI it was issued for, before it expires."""
        issued = self.codes.pop(value, None)
        if issued is None or now >= issued.expires:
            raise OAuthError("invalid_grant")
        if issued.client_id != client_id or issued.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant")
        return issued

    def new_session(self, username: str) -> str:
        """A hosted-UI session for ``username`` (the ``cognito`` cookie's value)."""
        value = secrets.token_urlsafe(24)
        self.sessions[value] = username
        return value

    def new_csrf(self) -> str:
        """A CSRF token for one sign-in form (``_csrf`` field and ``XSRF-TOKEN`` cookie)."""
        value = secrets.token_urlsafe(24)
        self.csrf.add(value)
        return value


def check_authorization(
    params: Mapping[str, str],
    *,
    client_exists: bool,
    callback_urls: Sequence[str],
    allowed_flows: Sequence[str],
    allowed_scopes: Sequence[str],
    oauth_enabled: bool,
) -> AuthorizationRequest:
    """Check an authorization request against its app client.

    Raises:
        OAuthError: ``redirect_mismatch`` or ``invalid_request`` (no redirect: Cognito's error
            page), or an error sent back to the ``redirect_uri`` (``unsupported_response_type``,
            ``unauthorized_client``, ``invalid_scope``).
    """
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    if not client_id or not client_exists:
        raise OAuthError("invalid_request", "client_id is missing or is not an app client")
    if not redirect_uri or redirect_uri not in callback_urls:
        raise OAuthError("redirect_mismatch", f"{redirect_uri!r} is not a callback URL")
    response_type = params.get("response_type", "")
    if response_type not in ("code", "token"):
        raise OAuthError("unsupported_response_type")
    flow = "code" if response_type == "code" else "implicit"
    if not oauth_enabled or flow not in allowed_flows:
        raise OAuthError("unauthorized_client")
    requested = tuple(params.get("scope", "").split()) or tuple(allowed_scopes)
    if any(scope not in allowed_scopes for scope in requested):
        raise OAuthError("invalid_scope")
    return AuthorizationRequest(
        client_id,
        redirect_uri,
        response_type,
        requested,
        params.get("state"),
        params.get("nonce"),
    )


__all__ = [
    "AuthorizationRequest",
    "CodeBook",
    "IssuedCode",
    "OAuthError",
    "check_authorization",
]
