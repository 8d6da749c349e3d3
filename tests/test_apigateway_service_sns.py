"""REST API ``AWS`` integrations to SNS (and SQS's query form), as people write them: a form body
built by a mapping template, or ``action/Publish`` with mapped query string parameters; the
integration role asked about the real topic; by hand and from a CloudFormation template.

Stock handling failed before the call ("Unsupported protocol [rest-json] for service sns") and
asked the policy engine about ``*`` rather than the topic.

Also here: a WebSocket API's routes run their Lambda function only with leave to invoke it (a
permission for ``apigateway.amazonaws.com`` or a credentials role), as REST and HTTP APIs do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from apigateway_support import rest_api, trace, url
from lambda_support import create, events_of

import labkit
from labkit.lab import Lab
from labkit.sandbox.accounts import OUTSIDER_ACCOUNT, client_in_account
from labkit.services.apigatewayv2.patch_websocket import WebSocketRejectedError

ACCOUNT = "123456789012"
FORM_HEADER = {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"}
#: Three integration responses, so the service's status shows through.
RESPONSES = (
    {"statusCode": "200"},
    {"statusCode": "400", "selectionPattern": "4\\d{2}"},
    {"statusCode": "500", "selectionPattern": "5\\d{2}"},
)


@pytest.fixture(autouse=True)
def no_sandbox_left_running() -> None:
    """The module's one sandbox keeps running between its tests (conftest stops leftovers)."""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """One sandbox for the module: each test makes its own topic, queue, role and API."""
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _topic_and_queue(lab: Lab, name: str) -> tuple[str, str]:
    """A topic delivering (raw) to a queue whose policy lets it; ``(topic ARN, queue URL)``."""
    sqs = lab.client("sqs")
    topic = lab.client("sns").create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}-inbox"
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
    }
    sqs.set_queue_attributes(
        QueueUrl=queue,
        Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})},
    )
    lab.client("sns").subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return topic, queue


def _role(
    lab: Lab, name: str, action: str, resource: str, trusted: str = "apigateway.amazonaws.com"
) -> str:
    """A role the ``trusted`` service may assume (API Gateway), allowed ``action`` on
    ``resource``."""
    iam = lab.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    allow = {"Effect": "Allow", "Action": action, "Resource": resource}
    iam.put_role_policy(
        RoleName=name,
        PolicyName="publish",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
    )
    return str(arn)


def _api(lab: Lab, integration: dict[str, Any], **method: Any) -> str:
    """A POST /orders method integrated as ``integration``, with :data:`RESPONSES`, on ``dev``."""
    integration = {"type": "AWS", "integrationHttpMethod": "POST", **integration}
    api, resource = rest_api(
        lab, ["orders"], method="POST", integration=integration, stage=None, **method
    )
    apig = lab.client("apigateway")
    for answer in RESPONSES:
        apig.put_method_response(
            restApiId=api, resourceId=resource, httpMethod="POST", statusCode=answer["statusCode"]
        )
        apig.put_integration_response(
            restApiId=api, resourceId=resource, httpMethod="POST", **answer
        )
    apig.create_deployment(restApiId=api, stageName="dev")
    return api


def _bodies(lab: Lab, queue: str) -> list[str]:
    got = lab.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    return [m["Body"] for m in got.get("Messages", [])]


def _form_template(topic: str) -> str:
    return (
        f"#set($topic = '{topic}')\n"
        "Action=Publish&TopicArn=$util.urlEncode($topic)&Message=$util.urlEncode($input.body)"
    )


def _integrate_step(api: str) -> str:
    return trace(api)[-1].steps[-2].detail


# --- by hand --------------------------------------------------------------------------------------


def test_a_form_body_template_publishes_and_the_queue_gets_the_message(lab: Lab) -> None:
    topic, queue = _topic_and_queue(lab, "orders")
    role = _role(lab, "apigw-orders", "sns:Publish", topic)
    api = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sns:path//",
            "credentials": role,
            "requestParameters": FORM_HEADER,
            "requestTemplates": {"application/json": _form_template(topic)},
        },
    )
    r = requests.post(url(api, "dev", "/orders"), json={"sku": "A-1", "qty": 2})
    assert r.status_code == 200, r.text
    # SNS answers API Gateway's Accept: application/json in the query protocol's JSON form.
    assert r.json()["PublishResponse"]["PublishResult"]["MessageId"]
    assert [json.loads(b) for b in _bodies(lab, queue)] == [{"sku": "A-1", "qty": 2}]
    assert "sns:Publish answered 200" in _integrate_step(api)
    # The action in the URI, the rest in the form (the serverlessland snippet's $input.json).
    form = f"TopicArn=$util.urlEncode('{topic}')&Message=$util.urlEncode($input.json('$.sku'))"
    api = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sns:action/Publish",
            "credentials": role,
            "requestParameters": FORM_HEADER,
            "requestTemplates": {"application/json": form},
        },
    )
    r = requests.post(url(api, "dev", "/orders"), json={"sku": "C-3"})
    assert r.status_code == 200, r.text
    assert _bodies(lab, queue) == ['"C-3"']


def test_action_uri_with_mapped_query_string_parameters_publishes(lab: Lab) -> None:
    topic, queue = _topic_and_queue(lab, "payments")
    role = _role(lab, "apigw-payments", "sns:*", "*")
    # The whole body as the message (method.request.body), the topic a literal.
    api = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sns:action/Publish",
            "credentials": role,
            "requestParameters": {
                "integration.request.querystring.TopicArn": f"'{topic}'",
                "integration.request.querystring.Message": "method.request.body",
            },
        },
    )
    r = requests.post(url(api, "dev", "/orders"), json={"paid": 12})
    assert r.status_code == 200, r.text
    # One field of the body (method.request.body.JSONPath) and the subject from the query string,
    # as the AWS knowledge-center example maps its parameters.
    second = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sns:action/Publish",
            "credentials": role,
            "requestParameters": {
                "integration.request.querystring.TopicArn": "stageVariables.topic",
                "integration.request.querystring.Message": "method.request.body.note",
                "integration.request.querystring.Subject": "method.request.querystring.subject",
            },
        },
        requestParameters={"method.request.querystring.subject": False},
    )
    lab.client("apigateway").create_deployment(
        restApiId=second, stageName="dev", variables={"topic": topic}
    )
    r = requests.post(url(second, "dev", "/orders?subject=hi"), json={"note": "paid in full"})
    assert r.status_code == 200, r.text
    # An HTML form posted through unmapped (passthrough): its Content-Type goes along, so SNS
    # reads the form's Message.
    third = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sns:action/Publish",
            "credentials": role,
            "requestParameters": {"integration.request.querystring.TopicArn": f"'{topic}'"},
        },
    )
    r = requests.post(url(third, "dev", "/orders"), data={"Message": "from a form"})
    assert r.status_code == 200, r.text
    assert sorted(_bodies(lab, queue)) == sorted(['{"paid": 12}', "paid in full", "from a form"])


def test_the_getting_started_tutorial_lists_topics_by_get(lab: Lab) -> None:
    """AWS's "REST API with an AWS integration" tutorial: GET, action ListTopics, a role allowed
    sns:ListTopics; the answer is SNS's JSON form of ListTopics."""
    topic = lab.client("sns").create_topic(Name="MySNSTopic-1")["TopicArn"]
    role = _role(lab, "APIGatewayAWSProxyExecRole", "sns:ListTopics", "*")
    api, resource = rest_api(
        lab,
        ["mydemoawsproxy"],
        integration={
            "type": "AWS",
            "integrationHttpMethod": "GET",
            "uri": "arn:aws:apigateway:us-east-1:sns:action/ListTopics",
            "credentials": role,
        },
        stage=None,
    )
    apig = lab.client("apigateway")
    apig.put_method_response(restApiId=api, resourceId=resource, httpMethod="GET", statusCode="200")
    apig.put_integration_response(
        restApiId=api, resourceId=resource, httpMethod="GET", statusCode="200"
    )
    apig.create_deployment(restApiId=api, stageName="test")
    r = requests.get(url(api, "test", "/mydemoawsproxy"))
    assert r.status_code == 200, r.text
    topics = r.json()["ListTopicsResponse"]["ListTopicsResult"]["Topics"]
    assert {"TopicArn": topic} in topics


def test_sqs_query_form_by_action_and_query_string(lab: Lab) -> None:
    queue = lab.client("sqs").create_queue(QueueName="returns")["QueueUrl"]
    role = _role(
        lab, "apigw-returns", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:returns"
    )
    api = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sqs:action/SendMessage",
            "credentials": role,
            "requestParameters": {
                "integration.request.querystring.QueueUrl": f"'{queue}'",
                "integration.request.querystring.MessageBody": "method.request.body",
            },
        },
    )
    r = requests.post(url(api, "dev", "/orders"), json={"rma": 7})
    assert r.status_code == 200, r.text
    assert r.json()["SendMessageResponse"]["SendMessageResult"]["MessageId"]
    assert _bodies(lab, queue) == ['{"rma": 7}']


def test_what_a_query_service_reads_from_the_integration_request() -> None:
    from labkit.services.apigateway import sim_query

    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    call = sim_query.read("sns", {"Action": "Publish"}, form, "TopicArn=arn%3Aaws%3Asns%3Ax&M=1")
    assert call.params == {"Action": "Publish", "TopicArn": "arn:aws:sns:x", "M": "1"}
    assert call.ignored == ""
    ignored = sim_query.read("sns", {"Action": "Publish"}, {}, '{"TopicArn": "arn:aws:sns:x"}')
    assert ignored.params == {"Action": "Publish"} and "application/json" in ignored.ignored
    # SQS names its queue in the path or in QueueUrl; SNS in TopicArn or TargetArn.
    sqs = sim_query.read("sqs", {"Action": "SendMessage", "MessageBody": "x"}, {}, "")
    assert sim_query.invalid(sqs, path=f"/{ACCOUNT}/q") is None
    no_queue = sim_query.invalid(sqs, path="/")
    assert no_queue is not None and no_queue[1] == "ValidationError"
    assert sim_query.resource_arn(sqs, "eu-west-1", ACCOUNT, f"/{ACCOUNT}/q") == (
        f"arn:aws:sqs:eu-west-1:{ACCOUNT}:q"
    )
    target = sim_query.read("sns", {"Action": "Publish", "TargetArn": "arn:aws:sns:t"}, {}, "")
    assert sim_query.resource_arn(target, "us-east-1", ACCOUNT, "/") == "arn:aws:sns:t"
    # SQS's JSON protocol (X-Amz-Target) is not the query form; SNS has only the query form.
    assert not sim_query.is_query_service("sqs", {"X-Amz-Target": "AmazonSQS.SendMessage"})
    assert sim_query.is_query_service("sns", {}) and not sim_query.is_query_service("kinesis", {})


# --- mistakes -------------------------------------------------------------------------------------


def test_a_template_posting_json_is_not_read_by_sns(lab: Lab) -> None:
    topic, queue = _topic_and_queue(lab, "shipping")
    role = _role(lab, "apigw-shipping", "sns:Publish", topic)
    template = f'{{"TopicArn": "{topic}", "Message": "$util.escapeJavaScript($input.body)"}}'
    api = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sns:action/Publish",
            "credentials": role,
            "requestTemplates": {"application/json": template},
        },
    )
    r = requests.post(url(api, "dev", "/orders"), json={"box": 1})
    assert r.status_code == 400
    error = r.json()["Error"]
    assert error["Code"] == "InvalidParameter" and "TopicArn or TargetArn" in error["Message"]
    detail = _integrate_step(api)
    assert "sent as application/json" in detail and "x-www-form-urlencoded" in detail
    # The same form template without the Content-Type mapping: the body is ignored as well.
    no_header = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sns:path//",
            "credentials": role,
            "requestTemplates": {"application/json": _form_template(topic)},
        },
    )
    r = requests.post(url(no_header, "dev", "/orders"), json={"box": 2})
    assert (r.status_code, r.json()["Error"]["Code"]) == (400, "MissingAction")
    assert _bodies(lab, queue) == []


def test_malformed_templates_and_unknown_topics(lab: Lab) -> None:
    topic, queue = _topic_and_queue(lab, "billing")
    role = _role(lab, "apigw-billing", "sns:Publish", "*")
    cases = {
        # A typo in the parameter's name: SNS finds no target.
        "Action=Publish&TopicArm=$util.urlEncode('" + topic + "')&Message=x": (
            400,
            "InvalidParameter",
        ),
        # The message forgotten: a required member.
        "Action=Publish&TopicArn=$util.urlEncode('" + topic + "')": (400, "ValidationError"),
        "Action=Pubish&TopicArn=$util.urlEncode('" + topic + "')&Message=x": (
            400,
            "InvalidAction",
        ),
        "Action=Publish&TopicArn=$util.urlEncode('" + topic + "-old')&Message=x": (
            404,
            "NotFound",
        ),
    }
    for template, (status, code) in cases.items():
        # The method answers 400 for any 4xx (its integration response); the trace has SNS's.
        api = _api(
            lab,
            {
                "uri": "arn:aws:apigateway:us-east-1:sns:path//",
                "credentials": role,
                "requestParameters": FORM_HEADER,
                "requestTemplates": {"application/json": template},
            },
        )
        r = requests.post(url(api, "dev", "/orders"), json={})
        assert (r.status_code, r.json()["Error"]["Code"]) == (400, code), template
        assert f"answered {status} {code}" in _integrate_step(api)
    # Velocity that does not parse: API Gateway's own 500, the trace says why.
    api = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sns:path//",
            "credentials": role,
            "requestParameters": FORM_HEADER,
            "requestTemplates": {"application/json": "#if($input.body Action=Publish"},
        },
    )
    r = requests.post(url(api, "dev", "/orders"), json={})
    assert (r.status_code, r.json()) == (500, {"message": "Internal server error"})
    assert "mapping template" in _integrate_step(api)
    assert _bodies(lab, queue) == []


# --- access ---------------------------------------------------------------------------------------


def test_a_role_allowed_on_another_topic_is_refused(lab: Lab) -> None:
    topic, queue = _topic_and_queue(lab, "refunds")
    audit = lab.client("sns").create_topic(Name="audit")["TopicArn"]
    role = _role(lab, "apigw-audit-only", "sns:Publish", audit)
    integration = {
        "uri": "arn:aws:apigateway:us-east-1:sns:path//",
        "credentials": role,
        "requestParameters": FORM_HEADER,
        "requestTemplates": {"application/json": _form_template(topic)},
    }
    api = _api(lab, integration)
    r = requests.post(url(api, "dev", "/orders"), json={"refund": 5})
    assert r.status_code == 400  # the 4xx integration response
    error = r.json()["Error"]
    assert error["Code"] == "AuthorizationError"
    assert f"is not authorized to perform: sns:Publish on resource: {topic}" in error["Message"]
    detail = _integrate_step(api)
    assert "denied" in detail and role in detail and topic in detail
    # A role made for Lambda (its trust policy names lambda.amazonaws.com): API Gateway cannot
    # assume it, whatever it allows; AWS answers 500 and logs why.
    for_lambda = _role(lab, "lambda-publisher", "sns:Publish", topic, "lambda.amazonaws.com")
    untrusted = _api(lab, {**integration, "credentials": for_lambda})
    r = requests.post(url(untrusted, "dev", "/orders"), json={"refund": 7})
    assert (r.status_code, r.json()) == (500, {"message": "Internal server error"})
    assert "does not have permission to assume the provided role" in _integrate_step(untrusted)
    # No credentials role at all: refused too.
    bare = _api(lab, {k: v for k, v in integration.items() if k != "credentials"})
    r = requests.post(url(bare, "dev", "/orders"), json={"refund": 6})
    assert r.json()["Error"]["Code"] == "AuthorizationError"
    assert "no credentials role" in _integrate_step(bare)
    assert _bodies(lab, queue) == []


def test_an_outsider_topic_is_refused_unless_its_policy_lets_the_account_in(lab: Lab) -> None:
    outsider = client_in_account(lab.sandbox, "sns")
    topic = outsider.create_topic(Name="partner")["TopicArn"]
    assert topic.split(":")[4] == OUTSIDER_ACCOUNT
    # The partner's topic delivers to a queue of ours (its policy lets the topic in).
    queue = lab.client("sqs").create_queue(QueueName="partner-inbox")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:partner-inbox"
    let_in = {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
    }
    lab.client("sqs").set_queue_attributes(
        QueueUrl=queue, Attributes={"Policy": json.dumps({"Statement": [let_in]})}
    )
    outsider.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    role = _role(lab, "apigw-anything", "sns:Publish", "*")
    api = _api(
        lab,
        {
            "uri": "arn:aws:apigateway:us-east-1:sns:action/Publish",
            "credentials": role,
            "requestParameters": {
                "integration.request.querystring.TopicArn": f"'{topic}'",
                "integration.request.querystring.Message": "method.request.body",
            },
        },
    )
    r = requests.post(url(api, "dev", "/orders"), json={"x": 1})
    error = r.json()["Error"]
    assert (r.status_code, error["Code"]) == (400, "AuthorizationError")
    assert f"does not let account {ACCOUNT} in" in error["Message"]
    assert "denied" in _integrate_step(api) and topic in _integrate_step(api)
    assert _bodies(lab, queue) == []
    # The partner lets this account publish: the role's allow is then enough.
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sns:Publish",
                "Resource": topic,
            }
        ],
    }
    outsider.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(grant)
    )
    r = requests.post(url(api, "dev", "/orders"), json={"x": 2})
    assert r.status_code == 200, r.text
    assert _bodies(lab, queue) == ['{"x": 2}']


# --- from a CloudFormation template ---------------------------------------------------------------

STACK = """
Parameters:
  Stage: {Type: String, Default: prod}
Resources:
  Orders:
    Type: AWS::SNS::Topic
    Properties: {TopicName: cfn-orders}
  Inbox:
    Type: AWS::SQS::Queue
    Properties: {QueueName: cfn-inbox}
  InboxPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Inbox]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt Inbox.Arn
            Condition: {ArnEquals: {aws:SourceArn: !Ref Orders}}
  Subscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Orders
      Protocol: sqs
      Endpoint: !GetAtt Inbox.Arn
      RawMessageDelivery: true
  PublishRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: apigateway.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: publish
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: sns:Publish
                Resource: !Ref Orders
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: cfn-orders}
  OrdersResource:
    Type: AWS::ApiGateway::Resource
    Properties:
      RestApiId: !Ref Api
      ParentId: !GetAtt Api.RootResourceId
      PathPart: orders
  PostOrder:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref OrdersResource
      HttpMethod: POST
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: !Sub "arn:aws:apigateway:${AWS::Region}:sns:path//"
        Credentials: !GetAtt PublishRole.Arn
        RequestParameters:
          integration.request.header.Content-Type: "'application/x-www-form-urlencoded'"
        RequestTemplates:
          application/json: !Sub >-
            Action=Publish&TopicArn=$util.urlEncode('${Orders}')&Message=$util.urlEncode($input.body)
        IntegrationResponses:
          - StatusCode: "200"
            ResponseTemplates: {application/json: '{"accepted": true}'}
      MethodResponses:
        - StatusCode: "200"
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: PostOrder
    Properties:
      RestApiId: !Ref Api
      StageName: !Ref Stage
Outputs:
  Url:
    Value: !Sub "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/${Stage}/orders"
  Queue:
    Value: !Ref Inbox
"""


def test_the_same_api_from_a_cloudformation_template_delivers_to_the_queue(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="orders-api", TemplateBody=STACK, Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName="orders-api")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    r = requests.post(outputs["Url"], json={"sku": "B-2"})
    assert (r.status_code, r.json()) == (200, {"accepted": True}), r.text
    assert _bodies(lab, outputs["Queue"]) == ['{"sku": "B-2"}']


# --- WebSocket APIs: API Gateway needs leave to invoke a route's function -------------------------

ROUTES = """
import json
def lambda_handler(event, context):
    print(json.dumps({"route": event["requestContext"]["routeKey"]}))
    return {"statusCode": 200, "body": "ok"}
"""


def _socket_api(lab: Lab, function: str, credentials: str | None = None) -> tuple[str, str]:
    """A WebSocket API whose ``$connect`` and ``send`` routes call ``function``; its id and
    stage URL."""
    c = lab.client("apigatewayv2")
    api = c.create_api(
        Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )
    fn_arn = lab.client("lambda").get_function(FunctionName=function)["Configuration"][
        "FunctionArn"
    ]
    extra = {"CredentialsArn": credentials} if credentials else {}
    integration = c.create_integration(
        ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=fn_arn, **extra
    )["IntegrationId"]
    for key in ("$connect", "send"):
        c.create_route(ApiId=api["ApiId"], RouteKey=key, Target=f"integrations/{integration}")
    c.create_stage(ApiId=api["ApiId"], StageName="prod", AutoDeploy=True)
    return api["ApiId"], f"{api['ApiEndpoint']}/prod"


def _routes_run(lab: Lab, function: str) -> list[str]:
    return [e["route"] for e in events_of(lab, function)]


def test_websocket_routes_run_only_with_leave_to_invoke(lab: Lab) -> None:
    create(lab, "ws-routes", ROUTES)
    _, endpoint = _socket_api(lab, "ws-routes")
    # No lambda:InvokeFunction for apigateway.amazonaws.com: the handshake fails (500) and the
    # function never runs.
    with pytest.raises(WebSocketRejectedError) as refused:
        lab.websocket(endpoint)
    assert refused.value.status == 500
    assert "Invalid permissions on Lambda function ws-routes" in str(refused.value)
    assert _routes_run(lab, "ws-routes") == []
    # Leave for $connect only (as a source ARN ending in the route key): connecting works, a
    # message to another route gets the gateway's error, and only $connect ran.
    api, endpoint = _socket_api(lab, "ws-routes")
    lab.client("lambda").add_permission(
        FunctionName="ws-routes",
        StatementId="connect-only",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{api}/*/$connect",
    )
    socket = lab.websocket(endpoint)
    socket.send({"action": "send", "text": "hi"})
    assert socket.receive_json()["message"] == "Internal server error"
    assert _routes_run(lab, "ws-routes") == ["$connect"]


def test_websocket_integration_role_allowed_to_invoke(lab: Lab) -> None:
    create(lab, "ws-role", ROUTES)
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ws-role"
    allowed = _role(lab, "apigw-ws-invoke", "lambda:InvokeFunction", fn)
    _, endpoint = _socket_api(lab, "ws-role", credentials=allowed)
    socket = lab.websocket(endpoint)
    socket.send({"action": "send"})
    assert socket.receive() is None  # no route response asked for, no error either
    assert _routes_run(lab, "ws-role") == ["$connect", "send"]
    # A role allowed to invoke another function only, or one API Gateway cannot assume:
    # refused like a missing permission.
    other = _role(lab, "apigw-ws-other", "lambda:InvokeFunction", fn + "-other")
    for_lambda = _role(lab, "ws-for-lambda", "lambda:InvokeFunction", fn, "lambda.amazonaws.com")
    for role, said in ((other, "Invalid permissions"), (for_lambda, "assume the provided role")):
        _, endpoint = _socket_api(lab, "ws-role", credentials=role)
        with pytest.raises(WebSocketRejectedError) as refused:
            lab.websocket(endpoint)
        assert said in str(refused.value)
    assert _routes_run(lab, "ws-role") == ["$connect", "send"]
