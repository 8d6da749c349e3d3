"""WebSocket APIs: ``lab.websocket(url)``, routes to Lambda, ``@connections``, and timeouts on
the lab clock.

Stock moto serves no WebSocket connection and accepts ``PostToConnection`` to any id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lambda_support import create, events_of

import labkit
from labkit.lab import Lab
from labkit.services.apigatewayv2.patch_websocket import (
    WebSocketClosedError,
    WebSocketRejectedError,
)

CHAT = """
import json, boto3
def lambda_handler(event, context):
    print(json.dumps(event))
    ctx = event["requestContext"]
    if ctx["eventType"] == "CONNECT":
        token = (event.get("queryStringParameters") or {}).get("token")
        return {"statusCode": 200 if token == "letmein" else 401}
    if ctx["eventType"] == "DISCONNECT":
        return {"statusCode": 200}
    body = json.loads(event["body"])
    if body.get("action") == "whoami":
        return {"statusCode": 200, "body": ctx["connectionId"]}
    if body.get("action") == "boom":
        raise RuntimeError("boom")
    mgmt = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://" + ctx["domainName"] + "/" + ctx["stage"],
    )
    mgmt.post_to_connection(
        ConnectionId=ctx["connectionId"], Data=json.dumps({"echo": body}).encode()
    )
    return {"statusCode": 200}
"""


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def chat_api(lab: Lab, routes: tuple[str, ...] = ("$connect", "$disconnect", "send")) -> str:
    """A WebSocket API whose routes call one function; its stage URL."""
    c = lab.client("apigatewayv2")
    api = c.create_api(
        Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )
    try:
        arn = lab.client("lambda").get_function(FunctionName="chat")["Configuration"]["FunctionArn"]
    except ClientError:
        arn = create(lab, "chat", CHAT)
    integration = c.create_integration(
        ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=arn
    )["IntegrationId"]
    # API Gateway may invoke the function for every route of the API (as AWS requires).
    lab.client("lambda").add_permission(
        FunctionName="chat",
        StatementId=f"ws-{api['ApiId']}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api['ApiId']}/*",
    )
    for key in routes:
        extra: dict[str, Any] = (
            {"RouteResponseSelectionExpression": "$default"} if key == "whoami" else {}
        )
        c.create_route(
            ApiId=api["ApiId"], RouteKey=key, Target=f"integrations/{integration}", **extra
        )
    c.create_stage(ApiId=api["ApiId"], StageName="prod", AutoDeploy=True)
    assert api["ApiEndpoint"].startswith("wss://")
    return f"{api['ApiEndpoint']}/prod"


def management(lab: Lab, url: str) -> Any:
    return lab.client("apigatewaymanagementapi", endpoint_url=url.replace("wss://", "https://"))


def test_connect_send_and_post_back_through_connections(lab: Lab) -> None:
    url = chat_api(lab)
    socket = lab.websocket(url + "?token=letmein")
    socket.send({"action": "send", "text": "hi"})
    assert socket.receive_json() == {"echo": {"action": "send", "text": "hi"}}
    assert socket.receive() is None  # nothing else waits, and nothing blocks
    connect = events_of(lab, "chat")[0]
    assert connect["requestContext"]["routeKey"] == "$connect"
    assert connect["requestContext"]["connectionId"] == socket.connection_id
    info = management(lab, url).get_connection(ConnectionId=socket.connection_id)
    assert info["Identity"]["SourceIp"] == "127.0.0.1"


def test_connect_route_can_refuse_the_handshake(lab: Lab) -> None:
    url = chat_api(lab)
    with pytest.raises(WebSocketRejectedError) as refused:
        lab.websocket(url)
    assert refused.value.status == 401
    with pytest.raises(WebSocketRejectedError):
        lab.websocket(url.replace("/prod", "/nostage") + "?token=letmein")


def test_route_selection_default_and_gateway_errors(lab: Lab) -> None:
    url = chat_api(lab, ("$connect", "send", "whoami"))
    socket = lab.websocket(url + "?token=letmein")
    socket.send("not json at all")
    unmatched = socket.receive_json()
    assert unmatched["message"] == "Forbidden"
    assert unmatched["connectionId"] == socket.connection_id
    socket.send({"action": "$connect"})  # the handshake's route takes no messages
    assert socket.receive_json()["message"] == "Forbidden"
    # A route with a route response sends the function's answer back.
    socket.send({"action": "whoami"})
    assert socket.receive() == socket.connection_id

    with_default = chat_api(lab, ("$connect", "$default"))
    other = lab.websocket(with_default + "?token=letmein")
    other.send({"action": "anything"})
    assert other.receive_json() == {"echo": {"action": "anything"}}
    other.send({"action": "boom"})
    assert other.receive_json()["message"] == "Internal server error"


def test_close_tells_disconnect_and_the_connection_is_gone(lab: Lab) -> None:
    url = chat_api(lab)
    socket = lab.websocket(url + "?token=letmein")
    socket.close()
    assert socket.closed and socket.close_code == 1000
    last = events_of(lab, "chat")[-1]["requestContext"]
    assert last["eventType"] == "DISCONNECT" and last["connectionId"] == socket.connection_id
    with pytest.raises(ClientError) as gone:
        management(lab, url).post_to_connection(ConnectionId=socket.connection_id, Data=b"x")
    assert gone.value.response["Error"]["Code"] == "GoneException"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    with pytest.raises(WebSocketClosedError):
        socket.send({"action": "send"})
    with pytest.raises(ClientError):
        management(lab, url).get_connection(ConnectionId="neverExisted=")


def test_delete_connection_closes_it_from_the_backend(lab: Lab) -> None:
    url = chat_api(lab)
    socket = lab.websocket(url + "?token=letmein")
    management(lab, url).delete_connection(ConnectionId=socket.connection_id)
    assert socket.closed and "DeleteConnection" in socket.close_reason


def test_idle_timeout_and_maximum_duration_on_the_lab_clock(lab: Lab) -> None:
    url = chat_api(lab)
    socket = lab.websocket(url + "?token=letmein")
    lab.clock.advance(599)
    assert not socket.closed
    management(lab, url).post_to_connection(ConnectionId=socket.connection_id, Data=b"ping")
    lab.clock.advance(599)  # the post was activity: the idle timer started again
    assert not socket.closed
    lab.clock.advance(2)
    assert socket.closed and "idle" in socket.close_reason
    assert events_of(lab, "chat")[-1]["requestContext"]["eventType"] == "DISCONNECT"

    busy = lab.websocket(url + "?token=letmein")
    for _ in range(13):  # a message every 9 minutes, for 117 minutes
        lab.clock.advance(540)
        busy.send({"action": "send"})
        assert not busy.closed
    lab.clock.advance(180)
    assert busy.closed and "2-hour" in busy.close_reason


def test_a_message_over_128_kb_closes_the_connection(lab: Lab) -> None:
    url = chat_api(lab)
    socket = lab.websocket(url + "?token=letmein")
    socket.send("x" * (128 * 1024 + 1))
    assert socket.closed and socket.close_code == 1009
    with pytest.raises(ClientError) as too_big:
        other = lab.websocket(url + "?token=letmein")
        management(lab, url).post_to_connection(
            ConnectionId=other.connection_id, Data=json.dumps("y" * 140_000).encode()
        )
    assert too_big.value.response["Error"]["Code"] == "PayloadTooLargeException"


def test_a_reset_or_a_deleted_api_ends_the_connection(lab: Lab) -> None:
    url = chat_api(lab)
    socket = lab.websocket(url + "?token=letmein")
    api_id = url.split("//")[1].split(".")[0]
    lab.client("apigatewayv2").delete_api(ApiId=api_id)
    assert socket.closed and "no longer exists" in socket.close_reason
    other = lab.websocket(chat_api(lab) + "?token=letmein")
    lab.reset()
    with pytest.raises(WebSocketClosedError):
        other.send({"action": "send"})


def test_manage_connections_needs_the_permission_for_a_role_session(lab: Lab) -> None:
    url = chat_api(lab)
    api_id = url.split("//")[1].split(".")[0]
    socket = lab.websocket(url + "?token=letmein")
    iam, sts = lab.client("iam"), lab.client("sts")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}
        ],
    }

    def session(name: str, resource: str) -> Any:
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "execute-api:ManageConnections", "Resource": resource}
            ],
        }
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        found = sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="backend")[
            "Credentials"
        ]
        return lab.client(
            "apigatewaymanagementapi",
            endpoint_url=url.replace("wss://", "https://"),
            aws_access_key_id=found["AccessKeyId"],
            aws_secret_access_key=found["SecretAccessKey"],
            aws_session_token=found["SessionToken"],
        )

    allowed = session("poster", f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/prod/*")
    allowed.post_to_connection(ConnectionId=socket.connection_id, Data=b"hello")
    assert socket.receive() == "hello"
    other = session("elsewhere", "arn:aws:execute-api:us-east-1:123456789012:otherapi/*")
    with pytest.raises(ClientError) as refused:
        other.post_to_connection(ConnectionId=socket.connection_id, Data=b"hello")
    assert refused.value.response["Error"]["Code"] == "ForbiddenException"
    assert "ManageConnections" in refused.value.response["Error"]["Message"]
    assert socket.receive() is None
