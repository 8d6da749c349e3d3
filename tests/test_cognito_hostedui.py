"""A user pool's hosted UI and OAuth 2.0 endpoints at its domain (moto serves nothing there)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import labkit
from labkit.lab import Lab
from labkit.services.cognitoidp.sim_tokens import decode

CALLBACK = "https://app.example.com/callback"
DOMAIN = "https://shop-login.auth.us-east-1.amazoncognito.com"


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _pool(lab: Lab, *, secret: bool = True, **client: Any) -> dict[str, str]:
    idp = lab.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="shop")["UserPool"]
    idp.create_user_pool_domain(Domain="shop-login", UserPoolId=pool["Id"])
    settings: dict[str, Any] = {
        "CallbackURLs": [CALLBACK],
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": ["openid", "email"],
        "AllowedOAuthFlowsUserPoolClient": True,
        "SupportedIdentityProviders": ["COGNITO"],
    }
    settings.update(client)
    made = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="web", GenerateSecret=secret, **settings
    )["UserPoolClient"]
    idp.admin_create_user(
        UserPoolId=pool["Id"],
        Username="ana",
        UserAttributes=[{"Name": "email", "Value": "ana@example.com"}],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool["Id"], Username="ana", Password="Corr3ct-horse!", Permanent=True
    )
    return {"pool": pool["Id"], "client": made["ClientId"], "secret": made.get("ClientSecret", "")}


def _authorize_url(client: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client,
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": "s-42",
    }
    params.update(extra)
    return requests.Request("GET", f"{DOMAIN}/oauth2/authorize", params=params).prepare().url or ""


def _sign_in(session: requests.Session, client: str, password: str = "Corr3ct-horse!") -> Any:
    """Follow authorize → login form → POST, as a browser does; the last response (not followed
    to the callback, which is the app's)."""
    form = session.get(_authorize_url(client), timeout=5)
    assert form.status_code == 200 and "cognitoSignInForm" in form.text
    csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    return session.post(
        form.url,
        data={"_csrf": csrf[1], "username": "ana", "password": password},
        allow_redirects=False,
        timeout=5,
    )


def _code(reply: Any) -> str:
    assert reply.status_code == 302, reply.text
    location = urlsplit(reply.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["s-42"]
    return str(query["code"][0])


def _basic(ids: dict[str, str]) -> dict[str, str]:
    raw = f"{ids['client']}:{ids['secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _exchange(ids: dict[str, str], code: str, **extra: str) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    data.update(extra)
    return requests.post(f"{DOMAIN}/oauth2/token", data=data, headers=_basic(ids), timeout=5)


def test_code_flow_signs_in_and_tokens_carry_the_scopes(lab: Lab) -> None:
    ids = _pool(lab)
    code = _code(_sign_in(requests.Session(), ids["client"]))
    tokens = _exchange(ids, code).json()
    assert set(tokens) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    access = decode(tokens["access_token"]).claims
    assert access["scope"] == "openid email" and access["client_id"] == ids["client"]
    assert decode(tokens["id_token"]).claims["email"] == "ana@example.com"
    info = requests.get(
        f"{DOMAIN}/oauth2/userInfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert info.status_code == 200
    assert info.json()["email"] == "ana@example.com" and info.json()["username"] == "ana"


def test_a_code_works_once_and_only_for_its_redirect_uri(lab: Lab) -> None:
    ids = _pool(lab)
    code = _code(_sign_in(requests.Session(), ids["client"]))
    wrong = _exchange(ids, code, redirect_uri="https://elsewhere.example.com/cb")
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant"})
    code = _code(_sign_in(requests.Session(), ids["client"]))
    assert _exchange(ids, code).status_code == 200
    assert _exchange(ids, code).json() == {"error": "invalid_grant"}


def test_a_code_expires_after_five_minutes_of_lab_time(lab: Lab) -> None:
    ids = _pool(lab)
    first = _code(_sign_in(requests.Session(), ids["client"]))
    second = _code(_sign_in(requests.Session(), ids["client"]))
    lab.clock.advance(299)
    assert _exchange(ids, first).status_code == 200
    lab.clock.advance(1)
    assert _exchange(ids, second).json() == {"error": "invalid_grant"}


def test_client_secret_is_required(lab: Lab) -> None:
    ids = _pool(lab)
    code = _code(_sign_in(requests.Session(), ids["client"]))
    reply = requests.post(
        f"{DOMAIN}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": ids["client"],
        },
        timeout=5,
    )
    assert (reply.status_code, reply.json()) == (400, {"error": "invalid_client"})
    # The secret in the form works as well as in the Basic header.
    reply = requests.post(
        f"{DOMAIN}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": ids["client"],
            "client_secret": ids["secret"],
        },
        timeout=5,
    )
    assert reply.status_code == 200


def test_wrong_password_shows_the_form_again(lab: Lab) -> None:
    ids = _pool(lab)
    reply = _sign_in(requests.Session(), ids["client"], password="nope")
    assert reply.status_code == 200 and "Incorrect username or password." in reply.text


def test_login_without_the_csrf_token_is_refused(lab: Lab) -> None:
    ids = _pool(lab)
    login = _authorize_url(ids["client"]).replace("/oauth2/authorize", "/login")
    reply = requests.post(
        login, data={"username": "ana", "password": "Corr3ct-horse!"}, allow_redirects=False
    )
    assert reply.status_code == 403


def test_session_cookie_skips_the_form(lab: Lab) -> None:
    ids = _pool(lab)
    browser = requests.Session()
    _code(_sign_in(browser, ids["client"]))
    again = browser.get(_authorize_url(ids["client"]), allow_redirects=False, timeout=5)
    assert _code(again)


def test_redirect_uri_must_be_a_callback_url(lab: Lab) -> None:
    ids = _pool(lab)
    reply = requests.get(
        _authorize_url(ids["client"], redirect_uri="https://evil.example.com/cb"),
        allow_redirects=False,
        timeout=5,
    )
    assert reply.status_code == 302
    assert "error=redirect_mismatch" in reply.headers["Location"]
    assert reply.headers["Location"].startswith(DOMAIN + "/error")


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"scope": "openid phone"}, "invalid_scope"),
        ({"response_type": "id_token"}, "unsupported_response_type"),
        ({"response_type": "token"}, "unauthorized_client"),
    ],
)
def test_other_faults_go_back_to_the_callback(lab: Lab, extra: dict[str, str], error: str) -> None:
    ids = _pool(lab)
    reply = requests.get(_authorize_url(ids["client"], **extra), allow_redirects=False, timeout=5)
    location = urlsplit(reply.headers["Location"])
    assert location.netloc == "app.example.com"
    assert parse_qs(location.query) == {"error": [error], "state": ["s-42"]}


def test_refresh_token_grant(lab: Lab) -> None:
    ids = _pool(lab)
    tokens = _exchange(ids, _code(_sign_in(requests.Session(), ids["client"]))).json()
    lab.clock.advance(7200)  # the access token has expired
    expired = requests.get(
        f"{DOMAIN}/oauth2/userInfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    fresh = requests.post(
        f"{DOMAIN}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=_basic(ids),
        timeout=5,
    ).json()
    assert "refresh_token" not in fresh and decode(fresh["access_token"]).claims["scope"] == (
        "openid email"
    )


def test_client_credentials_grant(lab: Lab) -> None:
    idp = lab.client("cognito-idp")
    ids = _pool(lab)
    idp.create_resource_server(
        UserPoolId=ids["pool"],
        Identifier="orders",
        Name="orders",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "read"}],
    )
    machine = idp.create_user_pool_client(
        UserPoolId=ids["pool"],
        ClientName="batch",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=["orders/read"],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]
    creds = {"client": machine["ClientId"], "secret": machine["ClientSecret"]}
    reply = requests.post(
        f"{DOMAIN}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "orders/read"},
        headers=_basic(creds),
        timeout=5,
    ).json()
    claims = decode(reply["access_token"]).claims
    assert claims["sub"] == machine["ClientId"] and claims["scope"] == "orders/read"
    # The web client may not use this grant.
    refused = requests.post(
        f"{DOMAIN}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=_basic(ids),
        timeout=5,
    )
    assert refused.json() == {"error": "unauthorized_client"}


def test_unknown_domain_does_not_resolve(lab: Lab) -> None:
    _pool(lab)
    with pytest.raises(requests.exceptions.ConnectionError, match="no user pool"):
        requests.get("https://other.auth.us-east-1.amazoncognito.com/login", timeout=5)
