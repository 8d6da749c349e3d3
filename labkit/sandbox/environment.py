"""Fake AWS credentials and configuration for the process while a lab runs.

Real credentials must never be read or used while a lab runs: not from the environment, not from
``~/.aws``, not from an instance metadata service. Everything set here is put back when the lab
stops, so a learner's own shell configuration survives the lab.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import requests.sessions

FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"

# Variables that could make botocore use real credentials, real profiles or real endpoints.
_REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCOUNT_ID",
    "AWS_ENDPOINT_URL",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    # A proxy on loopback passes the network guard and would fetch from the internet for us.
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def fake_settings(region: str) -> dict[str, str]:
    """The environment a lab runs with."""
    return {
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # Point the shared files at an empty file so ~/.aws/credentials and ~/.aws/config are
        # never read, whatever HOME is.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # Current botocore sends DynamoDB (Streams) calls to account-id endpoints that moto does
        # not route; the classic endpoints are what moto serves.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        # Retries only add wall time against an in-process emulator.
        "AWS_MAX_ATTEMPTS": "1",
    }


@contextmanager
def fake_aws_environment(region: str) -> Iterator[None]:
    """Replace every AWS setting of the process with fake ones, and restore them afterwards."""
    settings = fake_settings(region)
    names = (
        set(_REMOVED) | set(settings) | {k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")}
    )
    saved = {name: os.environ.get(name) for name in names}
    saved_session = boto3.DEFAULT_SESSION
    try:
        for name in names:
            os.environ.pop(name, None)
        os.environ.update(settings)
        # A default session made before the lab may hold real credentials: drop it.
        boto3.DEFAULT_SESSION = None
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        boto3.DEFAULT_SESSION = saved_session


def _no_proxies(url: str, no_proxy: str | None = None) -> dict[str, str]:
    """``requests``' proxy lookup while a lab runs: none (the proxy variables are removed)."""
    del url, no_proxy
    return {}


@contextmanager
def without_proxies() -> Iterator[None]:
    """Make ``requests`` skip its per-request proxy lookup while a lab runs.

    The lab removes every proxy variable (see ``_REMOVED``), so the lookup always finds none; but
    ``requests`` reads the whole environment twice per request to learn that, about a third of
    a request to a sandbox endpoint (an API Gateway invoke URL, a CloudFront domain). A proxy set
    by hand mid-lab stays unused, which is what removing them is for.
    """
    # requests.sessions calls the name it imported from requests.utils: replace that one.
    module = requests.sessions
    saved = getattr(module, "get_environ_proxies")  # noqa: B009 (not exported: mypy)
    setattr(module, "get_environ_proxies", _no_proxies)  # noqa: B010
    try:
        yield
    finally:
        setattr(module, "get_environ_proxies", saved)  # noqa: B010
