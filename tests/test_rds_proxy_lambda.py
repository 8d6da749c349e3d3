"""RDS Proxy IAM authentication from inside a Lambda function: the token carries the role.

On AWS a function's code signs with its execution role's session
(``arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION``), so ``generate_db_auth_token`` in a
handler makes a token that asks ``rds-db:connect`` of the role: a role without it is refused, one
with it gets in. Keys the handler chose itself (an IAM user's) still sign as that user.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pg8000
import pytest
from lambda_support import create as create_function
from lambda_support import role_arn
from test_rds_proxy import USER, database, network, proxy

import labkit
from labkit.lab import Lab
from labkit.services.rds import patch_proxy

HANDLER = """
import os, boto3, pg8000

def lambda_handler(event, context):
    host = os.environ["DB_HOST"]
    keys = event.get("keys")
    rds = boto3.client("rds", **keys) if keys else boto3.client("rds")
    token = rds.generate_db_auth_token(DBHostname=host, Port=5432, DBUsername="app")
    try:
        conn = pg8000.connect(host=host, port=5432, user="app", password=token,
                              database="postgres")
    except pg8000.DatabaseError as refused:
        return {"refused": refused.args[0]["M"]}
    cur = conn.cursor()
    cur.execute("SELECT 41 + 1")
    answer = cur.fetchone()[0]
    conn.close()
    return {"answer": answer}
"""


@pytest.fixture(autouse=True)
def no_sandbox_left_running() -> None:
    """The module's one sandbox keeps running between its tests (conftest stops leftovers)."""


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Lab, str, str]]:
    """One sandbox for the module: an instance, a proxy requiring IAM, a function in its VPC.

    Yields ``(lab, vpc id, proxy endpoint)``; each test leaves the role as it found it.
    """
    lab = labkit.start(quiet=True)
    try:
        vpc, subnets = network(lab)
        database(lab)
        endpoint = str(proxy(lab, subnets, iam="REQUIRED")["Endpoint"])
        create_function(
            lab,
            "orders",
            HANDLER,
            Environment={"Variables": {"DB_HOST": endpoint}},
            VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": []},
        )
        yield lab, vpc, endpoint
    finally:
        lab.stop()


def _connect_policy(lab: Lab) -> str:
    proxy_id = lab.sandbox.backend("rds").db_proxies["shop-proxy"].unique_id
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "rds-db:connect",
                    "Resource": f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{proxy_id}/{USER}",
                }
            ],
        }
    )


def _invoke(lab: Lab, event: dict[str, object] | None = None) -> dict[str, object]:
    response = lab.client("lambda").invoke(FunctionName="orders", Payload=json.dumps(event or {}))
    answer = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, answer
    return dict(answer)


def test_a_token_made_in_a_handler_asks_the_functions_role(world: tuple[Lab, str, str]) -> None:
    lab, _vpc, _endpoint = world
    role = role_arn(lab).rsplit("/", 1)[-1]

    # The role has no policy: the token is the role's session's, and the role may not connect.
    refused = str(_invoke(lab).get("refused", ""))
    assert f"assumed-role/{role}/orders may not rds-db:connect" in refused

    # Allowed on the proxy's user, the same function gets in, with no change to its code.
    iam = lab.client("iam")
    iam.put_role_policy(RoleName=role, PolicyName="db", PolicyDocument=_connect_policy(lab))
    try:
        assert _invoke(lab) == {"answer": 42}
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="db")

    # Taken away again, the next token is refused: the role decides each time.
    assert "may not rds-db:connect" in str(_invoke(lab).get("refused", ""))


def test_keys_a_handler_chose_itself_still_sign_as_their_user(
    world: tuple[Lab, str, str],
) -> None:
    lab, _vpc, _endpoint = world
    iam = lab.client("iam")
    role = role_arn(lab).rsplit("/", 1)[-1]
    iam.put_role_policy(RoleName=role, PolicyName="db", PolicyDocument=_connect_policy(lab))
    try:
        iam.create_user(UserName="dev")
        made = iam.create_access_key(UserName="dev")["AccessKey"]
        keys = {
            "aws_access_key_id": made["AccessKeyId"],
            "aws_secret_access_key": made["SecretAccessKey"],
        }
        # The role may connect, the user may not: the user's token is the user's.
        refused = str(_invoke(lab, {"keys": keys}).get("refused", ""))
        assert "user/dev may not rds-db:connect" in refused
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="db")


def test_the_notebook_still_signs_as_the_account(world: tuple[Lab, str, str]) -> None:
    lab, vpc, endpoint = world
    token = lab.client("rds").generate_db_auth_token(
        DBHostname=endpoint, Port=5432, DBUsername=USER
    )
    verdict = patch_proxy.may_connect(lab.sandbox, "shop-proxy", USER, token)
    assert verdict.allowed, verdict.reason
    assert "assumed-role" not in verdict.principal
    with patch_proxy.inside_vpc(vpc):
        pg8000.connect(
            host=endpoint, port=5432, user=USER, password=token, database="postgres"
        ).close()
