"""``authenticate-cognito``: a load balancer signs users in through a user pool's hosted UI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from elbv2_support import lambda_group, listener, load_balancer, url

import labkit
from labkit.lab import Lab
from labkit.services.elbv2.sim_session import b64_decode, verify_es256

CLAIMS = """
import json
def lambda_handler(event, context):
    h = event["headers"]
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({k: h.get(k) for k in
                ("x-amzn-oidc-identity", "x-amzn-oidc-accesstoken", "x-amzn-oidc-data")})}
"""


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _setup(lab: Lab, **auth: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pool with a domain and user, and an HTTPS listener that authenticates, then forwards to
    a function that echoes the OIDC headers."""
    lb = load_balancer(lab)
    idp = lab.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="staff")["UserPool"]
    idp.create_user_pool_domain(Domain="staff-login", UserPoolId=pool["Id"])
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="alb",
        GenerateSecret=True,
        CallbackURLs=[f"https://{lb['DNSName'].lower()}/oauth2/idpresponse"],
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email"],
        AllowedOAuthFlowsUserPoolClient=True,
        SupportedIdentityProviders=["COGNITO"],
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
    config = {
        "UserPoolArn": pool["Arn"],
        "UserPoolClientId": client["ClientId"],
        "UserPoolDomain": "staff-login",
    }
    config.update(auth)
    arn = lambda_group(lab, "claims", CLAIMS)
    listener(
        lab,
        lb,
        [
            {"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": config},
            {"Type": "forward", "Order": 2, "TargetGroupArn": arn},
        ],
        https=True,
    )
    return lb, pool


def _sign_in(browser: requests.Session, start: str) -> requests.Response:
    """Follow the load balancer to the hosted UI, post the form, follow back."""
    form = browser.get(start, timeout=5)
    assert "cognitoSignInForm" in form.text, form.text
    csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    return browser.post(
        form.url,
        data={"_csrf": csrf[1], "username": "ana", "password": "Corr3ct-horse!"},
        timeout=5,
    )


def test_unauthenticated_browser_is_sent_to_the_hosted_ui(lab: Lab) -> None:
    lb, _pool = _setup(lab)
    reply = requests.get(url(lb, "/reports?y=2026", https=True), allow_redirects=False, timeout=5)
    assert reply.status_code == 302
    location = urlsplit(reply.headers["Location"])
    assert location.netloc == "staff-login.auth.us-east-1.amazoncognito.com"
    assert location.path == "/oauth2/authorize"
    query = parse_qs(location.query)
    assert query["redirect_uri"] == [f"https://{lb['DNSName'].lower()}/oauth2/idpresponse"]
    assert query["response_type"] == ["code"] and query["scope"] == ["openid"]
    assert query["state"][0]


def test_sign_in_then_the_function_gets_signed_claims(lab: Lab) -> None:
    lb, pool = _setup(lab)
    browser = requests.Session()
    reply = _sign_in(browser, url(lb, "/reports?y=2026", https=True))
    assert reply.status_code == 200
    assert urlsplit(reply.url).path == "/reports" and urlsplit(reply.url).query == "y=2026"
    assert any(c.name == "AWSELBAuthSessionCookie-0" for c in browser.cookies)
    headers = reply.json()
    data = headers["x-amzn-oidc-data"]
    header = json.loads(b64_decode(data.split(".")[0]))
    assert header["alg"] == "ES256" and header["signer"] == lb["LoadBalancerArn"]
    key = requests.get(
        f"https://public-keys.auth.elb.us-east-1.amazonaws.com/{header['kid']}", timeout=5
    )
    assert key.status_code == 200 and "BEGIN PUBLIC KEY" in key.text
    claims = verify_es256(data, key.text)
    assert claims["email"] == "ana@example.com" and claims["username"] == "ana"
    assert headers["x-amzn-oidc-identity"] == claims["sub"]
    assert headers["x-amzn-oidc-accesstoken"].count(".") == 2
    # A tampered claims JWT does not verify.
    head, body, sig = data.split(".")
    with pytest.raises(ValueError):
        verify_es256(f"{head}.{body[:-4]}AAA=.{sig}", key.text)
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool['Id']}"


def test_session_times_out_on_the_lab_clock(lab: Lab) -> None:
    lb, _pool = _setup(lab, SessionTimeout=600)
    browser = requests.Session()
    _sign_in(browser, url(lb, "/", https=True))
    lab.clock.advance(599)
    assert (
        browser.get(url(lb, "/", https=True), allow_redirects=False, timeout=5).status_code == 200
    )
    lab.clock.advance(1)
    again = browser.get(url(lb, "/", https=True), allow_redirects=False, timeout=5)
    assert again.status_code == 302


def test_deny_answers_401(lab: Lab) -> None:
    lb, _pool = _setup(lab, OnUnauthenticatedRequest="deny")
    reply = requests.get(url(lb, "/", https=True), allow_redirects=False, timeout=5)
    assert reply.status_code == 401


def test_allow_forwards_without_claims(lab: Lab) -> None:
    lb, _pool = _setup(lab, OnUnauthenticatedRequest="allow")
    reply = requests.get(url(lb, "/", https=True), timeout=5)
    assert reply.status_code == 200
    assert reply.json() == {
        "x-amzn-oidc-identity": None,
        "x-amzn-oidc-accesstoken": None,
        "x-amzn-oidc-data": None,
    }


def test_forged_oidc_headers_from_the_client_are_replaced(lab: Lab) -> None:
    lb, _pool = _setup(lab, OnUnauthenticatedRequest="allow")
    reply = requests.get(
        url(lb, "/", https=True), headers={"x-amzn-oidc-identity": "admin"}, timeout=5
    )
    assert reply.json()["x-amzn-oidc-identity"] is None


def test_callback_with_unknown_state_is_refused(lab: Lab) -> None:
    lb, _pool = _setup(lab)
    reply = requests.get(url(lb, "/oauth2/idpresponse?code=x&state=forged", https=True), timeout=5)
    assert reply.status_code == 401


def test_callback_url_missing_from_the_app_client_is_redirect_mismatch(lab: Lab) -> None:
    lb, pool = _setup(lab)
    idp = lab.client("cognito-idp")
    client = idp.list_user_pool_clients(UserPoolId=pool["Id"])["UserPoolClients"][0]
    idp.update_user_pool_client(
        UserPoolId=pool["Id"],
        ClientId=client["ClientId"],
        CallbackURLs=["https://app.example.com/oauth2/idpresponse"],
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email"],
        AllowedOAuthFlowsUserPoolClient=True,
    )
    reply = requests.get(url(lb, "/", https=True), timeout=5)
    assert reply.status_code == 400
    assert "error=redirect_mismatch" in reply.url


def test_public_key_of_an_unknown_kid_is_404(lab: Lab) -> None:
    _setup(lab)
    reply = requests.get("https://public-keys.auth.elb.us-east-1.amazonaws.com/no-such-kid")
    assert reply.status_code == 404
