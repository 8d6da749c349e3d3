"""RDS Proxy: a real pool in front of PostgreSQL; max_connections; never public; IAM tokens."""

from __future__ import annotations

import json
from typing import Any

import pg8000
import pytest
from lambda_support import create as create_function

from labkit import facts
from labkit.lab import Lab
from labkit.services.rds import patch, patch_proxy, sim_capacity

USER, PASSWORD = "app", "secret-pass-1"

HANDLER = """
import os, pg8000
# Outside the handler: one connection per execution environment, kept while it lives.
conn = pg8000.connect(host=os.environ["DB_HOST"], port=5432, user="app",
                      password="secret-pass-1", database="postgres")

def lambda_handler(event, context):
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")
    seen = cur.fetchone()[0]
    conn.commit()
    return {"sessions": seen}
"""


def network(lab: Lab) -> tuple[str, list[str]]:
    ec2 = lab.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate(("us-east-1a", "us-east-1b"))
    ]
    return vpc, subnets


def database(lab: Lab, max_connections: int | None = None) -> dict[str, Any]:
    rds = lab.client("rds")
    options: dict[str, Any] = {}
    if max_connections is not None:
        rds.create_db_parameter_group(
            DBParameterGroupName="few", DBParameterGroupFamily="postgres16", Description="x"
        )
        rds.modify_db_parameter_group(
            DBParameterGroupName="few",
            Parameters=[
                {
                    "ParameterName": "max_connections",
                    "ParameterValue": str(max_connections),
                    "ApplyMethod": "pending-reboot",
                }
            ],
        )
        options["DBParameterGroupName"] = "few"
    return dict(
        rds.create_db_instance(
            DBInstanceIdentifier="shop",
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername=USER,
            MasterUserPassword=PASSWORD,
            **options,
        )["DBInstance"]
    )


def proxy(lab: Lab, subnets: list[str], iam: str = "DISABLED") -> dict[str, Any]:
    secret = lab.client("secretsmanager").create_secret(
        Name="shop-db", SecretString=json.dumps({"username": USER, "password": PASSWORD})
    )["ARN"]
    rds = lab.client("rds")
    created = rds.create_db_proxy(
        DBProxyName="shop-proxy",
        EngineFamily="POSTGRESQL",
        Auth=[{"AuthScheme": "SECRETS", "SecretArn": secret, "IAMAuth": iam}],
        RoleArn="arn:aws:iam::123456789012:role/proxy-secrets",
        VpcSubnetIds=subnets,
    )["DBProxy"]
    rds.register_db_proxy_targets(DBProxyName="shop-proxy", DBInstanceIdentifiers=["shop"])
    return dict(created)


def connect(host: str, password: str = PASSWORD, user: str = USER) -> Any:
    return pg8000.connect(host=host, port=5432, user=user, password=password, database="postgres")


def test_max_connections_follows_the_documented_formula() -> None:
    # LEAST(memory / 9531392, 5000): 1 GiB -> 112, 16 GiB -> 1802, never above 5000.
    assert sim_capacity.max_connections("db.t3.micro") == 112
    assert sim_capacity.max_connections("db.r6g.large") == 1802
    assert sim_capacity.max_connections("db.serverless", acu=1000) == facts.value(
        "rds.max_connections_cap"
    )


def test_a_burst_of_lambdas_exhausts_the_database_directly_and_shares_a_pool_via_proxy(
    lab: Lab,
) -> None:
    _vpc, subnets = network(lab)
    db = database(lab, max_connections=8)
    endpoint = proxy(lab, subnets)["Endpoint"]
    config = {"SubnetIds": subnets, "SecurityGroupIds": []}
    direct_env = {"Variables": {"DB_HOST": db["Endpoint"]["Address"]}}
    create_function(lab, "direct", HANDLER, Environment=direct_env, VpcConfig=config)
    create_function(
        lab, "pooled", HANDLER, Environment={"Variables": {"DB_HOST": endpoint}}, VpcConfig=config
    )

    pooled = patch_proxy.concurrent_invocations(lab.sandbox, "pooled", 10)
    assert (pooled.succeeded, pooled.errors) == (10, [])
    burst = patch_proxy.concurrent_invocations(lab.sandbox, "direct", 10)
    assert burst.succeeded < 10
    assert any("too many clients" in e or "connection slots" in e for e in burst.errors)
    pool = patch_proxy.pool_of(lab.sandbox.backend("rds").db_proxies["shop-proxy"])
    assert pool is not None
    assert pool.stats.clients >= 10  # every environment still holds its proxy connection
    assert pool.stats.server_connections_max < 8  # ... on a few database connections
    # The instance counts the connections each function opened to it directly: the pooled
    # function's went through the proxy, none to the instance.
    runtime = patch.runtime_of(lab.sandbox.backend("rds").databases["shop"])
    assert runtime is not None
    assert runtime.lambda_connections.get("direct", 0) == 10
    assert "pooled" not in runtime.lambda_connections


def test_each_invocation_of_a_burst_can_get_its_own_event(lab: Lab) -> None:
    _vpc, subnets = network(lab)
    database(lab)
    endpoint = proxy(lab, subnets)["Endpoint"]
    create_function(
        lab,
        "echo",
        "def lambda_handler(event, context):\n    return event['n'] * 2\n",
        Environment={"Variables": {"DB_HOST": endpoint}},
    )
    burst = patch_proxy.concurrent_invocations(lab.sandbox, "echo", 3, lambda i: {"n": i})
    assert [json.loads(r.payload) for r in burst.results] == [0, 2, 4]


def test_a_closed_client_is_gone_once_the_proxy_has_settled(lab: Lab) -> None:
    vpc, subnets = network(lab)
    database(lab)
    endpoint = proxy(lab, subnets)["Endpoint"]
    pool = patch_proxy.pool_of(lab.sandbox.backend("rds").db_proxies["shop-proxy"])
    assert pool is not None
    with patch_proxy.inside_vpc(vpc):
        conn = connect(endpoint)
        pool.settled()
        assert len(pool.clients) == 1
        conn.close()
        pool.settled()  # the proxy's loop has read the close: no wall-clock wait
        assert pool.clients == []


def test_the_proxy_is_never_public(lab: Lab) -> None:
    vpc, subnets = network(lab)
    database(lab)
    endpoint = proxy(lab, subnets)["Endpoint"]
    with pytest.raises(pg8000.InterfaceError):
        connect(endpoint)  # the notebook is outside the VPC
    create_function(lab, "novpc", HANDLER, Environment={"Variables": {"DB_HOST": endpoint}})
    burst = patch_proxy.concurrent_invocations(lab.sandbox, "novpc", 1)
    assert burst.succeeded == 0
    with patch_proxy.inside_vpc(vpc):
        conn = connect(endpoint)
        cursor = conn.cursor()
        cursor.execute("SELECT 41 + 1")
        assert cursor.fetchone()[0] == 42
        conn.close()


def test_the_proxy_checks_the_secrets_password(lab: Lab) -> None:
    vpc, subnets = network(lab)
    database(lab)
    endpoint = proxy(lab, subnets)["Endpoint"]
    with patch_proxy.inside_vpc(vpc):
        with pytest.raises(pg8000.DatabaseError, match="password authentication failed"):
            connect(endpoint, password="guess")
        with pytest.raises(pg8000.DatabaseError, match="no secret for user"):
            connect(endpoint, user="someone")


def test_iam_authentication_takes_a_token_checked_by_the_policy_engine(lab: Lab) -> None:
    vpc, subnets = network(lab)
    database(lab)
    endpoint = proxy(lab, subnets, iam="REQUIRED")["Endpoint"]
    rds = lab.client("rds")
    token = rds.generate_db_auth_token(DBHostname=endpoint, Port=5432, DBUsername=USER)
    with patch_proxy.inside_vpc(vpc):
        connect(endpoint, password=token).close()
        with pytest.raises(pg8000.DatabaseError, match="not an IAM authentication token"):
            connect(endpoint)  # the secret's password no longer does
        other = rds.generate_db_auth_token(DBHostname=endpoint, Port=5432, DBUsername="admin")
        with pytest.raises(pg8000.DatabaseError, match="for user admin"):
            connect(endpoint, password=other)
        forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
        with pytest.raises(pg8000.DatabaseError, match="signature does not match"):
            connect(endpoint, password=forged)

        iam = lab.client("iam")
        iam.create_user(UserName="dev")
        keys = iam.create_access_key(UserName="dev")["AccessKey"]
        dev_rds = lab.client(
            "rds",
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
        )
        dev_token = dev_rds.generate_db_auth_token(DBHostname=endpoint, Port=5432, DBUsername=USER)
        with pytest.raises(pg8000.DatabaseError, match="may not rds-db:connect"):
            connect(endpoint, password=dev_token)
        proxy_id = lab.sandbox.backend("rds").db_proxies["shop-proxy"].unique_id
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "rds-db:connect",
                    "Resource": f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{proxy_id}/{USER}",
                }
            ],
        }
        iam.put_user_policy(UserName="dev", PolicyName="db", PolicyDocument=json.dumps(policy))
        connect(endpoint, password=dev_token).close()

        lab.clock.advance(facts.value("rds.iam_auth_token_lifetime") + 1)
        with pytest.raises(pg8000.DatabaseError, match="expired"):
            connect(endpoint, password=token)


def test_session_state_pins_a_client_to_its_connection(lab: Lab) -> None:
    vpc, subnets = network(lab)
    database(lab)
    endpoint = proxy(lab, subnets)["Endpoint"]
    with patch_proxy.inside_vpc(vpc):
        plain, pinned = connect(endpoint), connect(endpoint)
        cursor = pinned.cursor()
        cursor.execute("SET search_path TO public")
        pinned.commit()
        plain.cursor().execute("SELECT 1")
        plain.commit()
        pool = patch_proxy.pool_of(lab.sandbox.backend("rds").db_proxies["shop-proxy"])
        assert pool is not None
        assert pool.stats.pinned == 1
        assert [c.pinned_by != "" for c in pool.clients].count(True) == 1


def test_a_pool_full_of_pinned_sessions_refuses_the_next_client(lab: Lab) -> None:
    vpc, subnets = network(lab)
    database(lab, max_connections=6)  # the proxy may hold 6 - 4 = 2 connections
    endpoint = proxy(lab, subnets)["Endpoint"]
    with patch_proxy.inside_vpc(vpc):
        held = []
        for _ in range(2):
            conn = connect(endpoint)
            conn.cursor().execute("SET application_name TO 'pinned'")
            conn.commit()
            held.append(conn)
        late = connect(endpoint)  # logging in to the proxy costs no database connection
        with pytest.raises(pg8000.DatabaseError, match="2 pinned"):
            late.cursor().execute("SELECT 1")
