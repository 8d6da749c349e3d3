"""Real AWS credentials are never read or used while a lab runs, and come back afterwards.

The learner here has everything that could leak real credentials into a lab: a ``~/.aws`` with a
``real`` profile, ``AWS_PROFILE=real``, real-looking keys and a session token in the environment.
"""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

import labkit
from labkit.sandbox.environment import FAKE_ACCESS_KEY_ID

REAL_FILE_KEY = "AKIAREALKEYFROMFILE1"
REAL_ENV_KEY = "AKIAREALKEYFROMENV01"
REAL_TOKEN = "IQoJb3JpZ2luX2VjEREALSESSIONTOKEN"


@pytest.fixture
def real_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake HOME with real-looking credentials, and an environment that points at them."""
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        f"[real]\naws_access_key_id = {REAL_FILE_KEY}\n"
        "aws_secret_access_key = realsecretfromfile\n"
        f"aws_session_token = {REAL_TOKEN}\n"
    )
    (aws / "config").write_text(
        "[profile real]\nregion = eu-west-3\nendpoint_url = https://real-endpoint.example.org\n"
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("AWS_CONFIG_FILE", raising=False)
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE", raising=False)
    monkeypatch.setenv("AWS_PROFILE", "real")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", REAL_ENV_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "realsecretfromenv")
    monkeypatch.setenv("AWS_SESSION_TOKEN", REAL_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://real-sqs.example.org")
    # A default session made before the lab (with the real credentials in it).
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session()
    return aws


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path passed to ``open`` from now on."""
    paths: list[str] = []
    real_open = builtins.open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, bytes, os.PathLike)):
            paths.append(os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    return paths


def _frozen(client: Any) -> Any:
    return client._request_signer._credentials.get_frozen_credentials()


def test_the_setup_would_leak_without_a_lab(real_setup: Path, opened: list[str]) -> None:
    """Sanity: outside a lab, botocore does read the files and use the real keys."""
    session = botocore.session.Session()
    assert session.get_scoped_config()["region"] == "eu-west-3"
    assert any(p.startswith(str(real_setup)) for p in opened)
    frozen = _frozen(boto3.client("sqs"))
    assert frozen.access_key.startswith("AKIAREAL")
    assert frozen.token == REAL_TOKEN


def test_lab_clients_sign_with_fake_keys_and_no_token(real_setup: Path, opened: list[str]) -> None:
    lab = labkit.start(quiet=True)
    try:
        for client in (lab.client("sqs"), boto3.client("sqs")):
            frozen = _frozen(client)
            assert not frozen.access_key.startswith("AKIA"), frozen.access_key
            assert frozen.access_key not in (REAL_FILE_KEY, REAL_ENV_KEY)
            assert frozen.secret_key not in ("realsecretfromfile", "realsecretfromenv")
            assert frozen.token is None
            # The real profile's region and endpoint are not used either.
            assert client.meta.region_name == "us-east-1"
            assert "example.org" not in client.meta.endpoint_url
        assert _frozen(lab.client("sqs")).access_key == FAKE_ACCESS_KEY_ID
        # The calls really reach the sandbox.
        boto3.client("sqs").create_queue(QueueName="signed-with-fake-keys")
        assert lab.client("sqs").list_queues()["QueueUrls"][0].endswith("/signed-with-fake-keys")
        # No profile and no file-based configuration is visible to botocore.
        assert botocore.session.Session().get_scoped_config().get("region") != "eu-west-3"
    finally:
        lab.stop()
    leaked = [p for p in opened if p.startswith(str(real_setup))]
    assert leaked == [], f"real AWS files were opened during the lab: {leaked}"


def test_environment_is_restored_exactly_after_stop(real_setup: Path) -> None:
    before = dict(os.environ)
    lab = labkit.start(quiet=True)
    assert os.environ.get("AWS_PROFILE") is None
    assert os.environ.get("AWS_SESSION_TOKEN") is None
    assert os.environ.get("AWS_ENDPOINT_URL_SQS") is None
    assert os.environ["AWS_ACCESS_KEY_ID"] != REAL_ENV_KEY
    lab.stop()
    assert dict(os.environ) == before


def test_default_boto3_session_is_given_back_after_stop(real_setup: Path) -> None:
    learners_session = boto3.DEFAULT_SESSION
    lab = labkit.start(quiet=True)
    assert boto3.DEFAULT_SESSION is not learners_session
    lab.stop()
    assert boto3.DEFAULT_SESSION is learners_session


def test_environment_is_restored_after_a_restart_then_stop(real_setup: Path) -> None:
    before = dict(os.environ)
    labkit.start(quiet=True)
    second = labkit.start(quiet=True)
    assert os.environ.get("AWS_PROFILE") is None
    second.stop()
    assert dict(os.environ) == before


def test_requests_finds_no_proxy_while_a_lab_runs_and_the_learners_again_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import requests

    url = "https://abc123.execute-api.us-east-1.amazonaws.com/dev/items"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    lab = labkit.start(quiet=True)
    try:
        os.environ["HTTPS_PROXY"] = "http://proxy.example:3128"  # set by hand mid-lab
        settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
        assert settings["proxies"] == {}
    finally:
        lab.stop()
    settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
    assert settings["proxies"].get("https") == "http://proxy.example:3128"
