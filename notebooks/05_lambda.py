# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # AWS Lambda: functions, triggers, limits and cost
#
# **AWS Lambda** runs your code when something happens: a message arrives in a queue, a file
# lands in a bucket, an HTTP request reaches an API. You hand Lambda a function (the
# **handler**), Lambda runs it in an **execution environment** it manages, and you pay per
# request and per unit of compute time. There is no server to patch or keep running.
#
# In this lab your handlers really run: labkit's Lambda runtime executes them inside the
# notebook, with the behaviour of AWS's Python runtime (cold and warm starts, logs in
# CloudWatch Logs, errors and timeouts as AWS reports them, concurrency and throttling), and the
# triggers deliver the events AWS documents, on the lab clock.
#
# This lesson covers:
#
# 1. a function from a cell, and the boto3 calls behind it;
# 2. Lambda's limits;
# 3. cold and warm starts;
# 4. errors, timeouts, logs and asynchronous invocations;
# 5. concurrency and throttling;
# 6. triggers: SQS (with partial batch failures), S3, SNS, DynamoDB Streams, Kinesis and API
#    Gateway;
# 7. the invocation view;
# 8. pricing;
# 9. Lambda in a VPC and RDS Proxy, Lambda@Edge and CloudFront Functions, container images and
#    ECS/Fargate, and serverless architectures.

# %%
import base64
import inspect
import io
import json
import zipfile
from urllib.parse import unquote_plus

import matplotlib.pyplot as plt
import requests

import labkit
from labkit.facts import fact

lab = labkit.start("lambda")
lam = lab.client("lambda")
logs = lab.client("logs")


def show_facts(*fact_ids):
    """Each fact from the course's fact table, then the AWS pages that state them."""
    for fact_id in fact_ids:
        print(fact(fact_id).text().split(" [source:")[0])
    for page in sorted({fact(fact_id).source for fact_id in fact_ids}):
        print("  source:", page)


# %% [markdown]
# ## 1. A function from a cell
#
# A Python handler takes two arguments: the **event** (what happened, parsed from JSON) and the
# **context** (about this invocation: its request id, the time left, the function's name and
# memory). What it returns is the invocation's result.


# %%
def hello(event, context):
    name = event.get("name", "world")
    print(f"saying hello to {name}")  # print goes to CloudWatch Logs
    return {"greeting": f"Hello, {name}!", "memory_mb": context.memory_limit_in_mb}


# %% [markdown]
# Lambda does not take a function object: it takes a **deployment package**, a zip file with
# the code, and the name of the handler inside it (`module.function`). It also needs an **IAM
# role** that the function runs as (its *execution role*, which Lambda itself must be allowed to
# assume). These are the boto3 calls, exactly as against AWS:

# %%
source = inspect.getsource(hello)  # the function's text, as written in the cell above


def zip_source(text, module="lambda_function.py"):
    """A deployment package holding one module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(module, text)
    return buffer.getvalue()


trust = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
role_arn = lab.client("iam").create_role(
    RoleName="hello-role", AssumeRolePolicyDocument=json.dumps(trust)
)["Role"]["Arn"]

created = lam.create_function(
    FunctionName="hello",
    Runtime="python3.12",
    Role=role_arn,
    Handler="lambda_function.hello",  # module lambda_function, function hello
    Code={"ZipFile": zip_source(source)},
)
print(created["FunctionArn"], created["Timeout"], "s", created["MemorySize"], "MB")

# %%
first_call = lam.invoke(FunctionName="hello", Payload=json.dumps({"name": "Ada"}))
print("status:", first_call["StatusCode"])
print("result:", json.loads(first_call["Payload"].read()))

# %% [markdown]
# `lab.deploy_function(handler, name, ...)` does all of the above in one line: it packages the
# function's source (plus the modules it uses), creates the role if it is missing, and calls
# `create_function`, or `update_function_code` and `update_function_configuration` when the
# function exists. Options: `environment={...}`, `timeout=` (seconds), `memory=` (MB),
# `imports=[...]`, `helpers=[...]`, `constants={...}`. The rest of the lesson uses it.

# %%
lab.deploy_function(hello, environment={"STAGE": "dev"}, memory=256)
print(json.loads(lam.invoke(FunctionName="hello", Payload=b"{}")["Payload"].read()))

# %% [markdown]
# ## 2. Limits
#
# The limits every architect meets, read from the course's fact table (each with the AWS page
# that states it):

# %%
show_facts(
    "lambda.timeout_max",
    "lambda.timeout_default",
    "lambda.memory_min",
    "lambda.memory_max",
    "lambda.env_vars_max_total",
    "lambda.tmp_default",
    "lambda.tmp_max",
    "lambda.concurrency_default",
    "lambda.sync_payload_max",
    "lambda.async_payload_max",
    "lambda.package_zip_direct_upload_max",
    "lambda.package_unzipped_max",
)

# %% [markdown]
# The course notes list these as "limit per region". Only the **concurrency** quota is per
# account and Region (and it is a soft quota that AWS raises on request). The timeout, memory,
# `/tmp` size and environment-variable total are settings and limits **of each function**.
# Memory can be set anywhere between the minimum and the maximum above, and CPU comes with
# memory: more memory, more CPU.
#
# Lambda enforces them. Environment variables over the total are refused when you deploy:

# %%
too_big = {"BLOB": "x" * fact("lambda.env_vars_max_total").value}
try:
    lab.deploy_function(hello, environment=too_big)
except lam.exceptions.InvalidParameterValueException as error:
    print(error.response["Error"]["Code"])
    print(error.response["Error"]["Message"][:150], "...")

# %% [markdown]
# ## 3. Cold and warm starts
#
# The first invocation in a new execution environment is a **cold start**: Lambda downloads the
# code, starts the runtime and imports your module, running its module-level code (the **init
# phase**), before the handler runs. Later invocations in the same environment are **warm**:
# only the handler runs, and module-level state is still there. So expensive set-up (clients,
# configuration, lookup tables) belongs at module level.
#
# This function builds a table of primes at module level and counts its calls:

# %%
counter_source = """
PRIMES = [n for n in range(2, 20000) if all(n % d for d in range(2, int(n ** 0.5) + 1))]
calls = 0


def handler(event, context):
    global calls
    calls += 1
    return {"calls_in_this_environment": calls, "primes": len(PRIMES)}
"""
lam.create_function(
    FunctionName="counter",
    Runtime="python3.12",
    Role=role_arn,
    Handler="lambda_function.handler",
    Code={"ZipFile": zip_source(counter_source)},
)


def invoke_with_report(name, event=None):
    """Invoke; return the result and the REPORT line of the log tail (LogType='Tail')."""
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail")
    tail = base64.b64decode(reply["LogResult"]).decode()
    report = next(line for line in tail.splitlines() if line.startswith("REPORT"))
    return json.loads(reply["Payload"].read()), report


for _ in range(3):
    result, report = invoke_with_report("counter")
    print(result)
    print("   ", report.replace("\t", " | "))

# %% [markdown]
# Only the first `REPORT` line has an `Init Duration`: it was the cold start. The two others
# reused the environment (the call count went on). Changing the code or the configuration makes
# Lambda start **new** environments, so the next call is cold again:

# %%
lam.update_function_configuration(FunctionName="counter", MemorySize=512)
result, report = invoke_with_report("counter")
print(result)
print("   ", report.replace("\t", " | "))

# %% [markdown]
# AWS also reclaims idle environments after a while (it does not say when) and starts several
# environments when invocations overlap (section 5). labkit keeps idle environments until the
# function changes.
#
# ## 4. Errors, timeouts, logs and asynchronous invocations
#
# When a handler raises, the **Invoke call still succeeds** (status 200): the failure is in the
# `FunctionError` field, and the payload is the error object of the Python runtime.


# %%
def charge(event, context):
    amount = event["amount"]
    if amount <= 0:
        raise ValueError(f"amount must be positive, got {amount}")
    return {"charged": amount}


lab.deploy_function(charge)
failed = lam.invoke(FunctionName="charge", Payload=json.dumps({"amount": -5}))
print("status:", failed["StatusCode"], "| FunctionError:", failed.get("FunctionError"))
print(json.dumps(json.loads(failed["Payload"].read()), indent=2))

# %% [markdown]
# Everything the function prints or logs, and Lambda's own `START`, `END` and `REPORT` lines,
# go to the CloudWatch Logs group `/aws/lambda/<function name>`, one log stream per execution
# environment:

# %%
for event in logs.filter_log_events(logGroupName="/aws/lambda/charge")["events"]:
    print(event["message"].rstrip().replace("\t", " | "))

# %% [markdown]
# A handler that runs past its **timeout** is stopped. Lambda reports `Sandbox.Timedout`, the
# `REPORT` line says `Status: timeout`, and the environment is thrown away (the next call is a
# cold start). This one loops for ever; its timeout is one second:


# %%
def spin(event, context):
    n = 0
    while True:
        n += 1


lab.deploy_function(spin, timeout=1)
result, report = invoke_with_report("spin")
print(result)
print(report.replace("\t", " | "))

# %% [markdown]
# An **asynchronous** invocation (`InvocationType="Event"`) is how S3 and SNS invoke functions:
# Lambda queues the event, answers 202 at once and runs it soon after (here: at the lab clock's
# next tick). If the function fails, Lambda retries it itself, twice by default, after these
# waits:

# %%
show_facts(
    "lambda.async_retries_default",
    "lambda.async_retry_first_delay",
    "lambda.async_retry_second_delay",
)

# %%
from labkit.services.awslambda.state import sandbox_snapshot


def attempts(name):
    """The asynchronous invocations of a function so far (what Lambda's record shows)."""
    seen = sandbox_snapshot(lab.sandbox, function=name).invocations
    return [i for i in seen if i.invocation_type == "Event"]


queued = lam.invoke(
    FunctionName="charge", InvocationType="Event", Payload=json.dumps({"amount": 0})
)
print("status:", queued["StatusCode"])
for wait in (
    0,
    fact("lambda.async_retry_first_delay").value,
    fact("lambda.async_retry_second_delay").value,
):
    lab.clock.advance(wait)
    tried = attempts("charge")
    print(f"after {lab.clock.elapsed}: {len(tried)} attempt(s), the last one: {tried[-1].status}")

# %% [markdown]
# After the last retry the event is dropped, unless the function has somewhere to send it. An
# **on-failure destination** (an SQS queue, an SNS topic, another function or an EventBridge
# bus) receives a record of the event, the error and how many times Lambda tried; the older
# **dead-letter queue** (SQS or SNS, set with `DeadLetterConfig`) receives the event alone. An
# **on-success destination** gets a record of each success. `put_function_event_invoke_config`
# sets the destinations, the number of retries and the maximum age of an event, within these
# bounds; here one retry, and failures to a queue.

# %%
show_facts(
    "lambda.async_retries_min",
    "lambda.async_retries_max",
    "lambda.async_event_age_min",
    "lambda.async_event_age_max",
)
sqs = lab.client("sqs")
failures_url = sqs.create_queue(QueueName="charge-failures")["QueueUrl"]
failures_arn = sqs.get_queue_attributes(QueueUrl=failures_url, AttributeNames=["QueueArn"])[
    "Attributes"
]["QueueArn"]
lam.put_function_event_invoke_config(
    FunctionName="charge",
    MaximumRetryAttempts=1,
    DestinationConfig={"OnFailure": {"Destination": failures_arn}},
)
lam.invoke(FunctionName="charge", InvocationType="Event", Payload=json.dumps({"amount": 0}))
lab.clock.advance(fact("lambda.async_retry_first_delay").value)
record = json.loads(sqs.receive_message(QueueUrl=failures_url)["Messages"][0]["Body"])
print(json.dumps({k: record[k] for k in ("requestContext", "requestPayload")}, indent=2))
print("error:", record["responsePayload"]["errorMessage"])

# %% [markdown]
# In production, give every asynchronously invoked function an on-failure destination (or a
# dead-letter queue), so that no event is lost without a trace. The function's execution role
# needs permission to send there (`sqs:SendMessage` here); the sandbox does not check IAM.
#
# ## 5. Concurrency and throttling
#
# **Concurrency** is how many invocations run at the same moment, each in its own execution
# environment. AWS's rule of thumb: concurrency = requests per second × average duration in
# seconds. A function called 500 times a second that runs 200 ms needs about 100 environments:

# %%
requests_per_second, average_seconds = 500, 0.2
print("concurrency needed:", requests_per_second * average_seconds)
show_facts("lambda.concurrency_default", "lambda.scaling_rate")

# %% [markdown]
# When the account's concurrency is used up, Lambda **throttles**: `Invoke` fails with
# `TooManyRequestsException` (HTTP 429). **Reserved concurrency** sets aside part of the quota
# for one function, and also caps it; a reserve of 0 stops a function altogether:

# %%
lam.put_function_concurrency(FunctionName="hello", ReservedConcurrentExecutions=0)
try:
    lam.invoke(FunctionName="hello", Payload=b"{}")
except lam.exceptions.TooManyRequestsException as error:
    print(error.response["Error"]["Code"], "| Reason:", error.response["Reason"])
_ = lam.delete_function_concurrency(FunctionName="hello")

# %% [markdown]
# In this notebook, invocations overlap when a function invokes another one and waits for it.
# This function calls itself to a given depth, so three invocations run at once and need three
# environments; with a reserve of two, the innermost call is throttled:


# %%
def nest(event, context):
    import boto3

    depth = event.get("depth", 0)
    if depth == 0:
        return "leaf"
    client = boto3.client("lambda")
    try:
        inner = client.invoke(FunctionName="nest", Payload=json.dumps({"depth": depth - 1}))
        return json.loads(inner["Payload"].read())
    except client.exceptions.TooManyRequestsException as error:
        return {"throttled": error.response["Reason"]}


lab.deploy_function(nest)
print(
    json.loads(lam.invoke(FunctionName="nest", Payload=json.dumps({"depth": 2}))["Payload"].read())
)
lam.put_function_concurrency(FunctionName="nest", ReservedConcurrentExecutions=2)
print(
    json.loads(lam.invoke(FunctionName="nest", Payload=json.dumps({"depth": 2}))["Payload"].read())
)

# %% [markdown]
# A function calling itself is also how runaway loops start, and a trigger that writes to its
# own source (a function that puts objects into the bucket that triggers it) does the same:
# Lambda detects some recursive loops and stops them, but design them out.
#
# ## 6. Triggers
#
# Services invoke functions in two ways:
#
# - **push** (asynchronous invocation): S3 and SNS hand Lambda an event and move on;
# - **poll** (event source mapping): Lambda itself reads SQS, Kinesis and DynamoDB Streams and
#   invokes the function **synchronously** with a **batch** of records;
# - and **API Gateway** invokes synchronously for every HTTP request and waits for the answer.
#
# To see each event as AWS shapes it, this function prints the event it receives (one log line)
# and reports SQS messages whose body is `bad` as failed:


# %%
def recorder(event, context):
    print(json.dumps(event))
    failures = [
        {"itemIdentifier": r["messageId"]}
        for r in event.get("Records", [])
        if r.get("body") == "bad"
    ]
    return {"batchItemFailures": failures}


recorder_arn = lab.deploy_function(recorder)


def events_seen():
    """Every event the recorder has printed, oldest first (read from CloudWatch Logs)."""
    found = logs.filter_log_events(logGroupName="/aws/lambda/recorder")["events"]
    return [json.loads(e["message"]) for e in found if e["message"].startswith("{")]


# %% [markdown]
# ### SQS: batches, partial batch failures and the dead-letter queue
#
# An SQS event source mapping receives up to `BatchSize` messages, invokes the function with
# them and deletes them when it succeeds. If the function **fails**, the whole batch stays in the
# queue and comes back after the visibility timeout; after `maxReceiveCount` receives, SQS moves
# a message to the dead-letter queue. With `FunctionResponseTypes=["ReportBatchItemFailures"]`
# the function can instead return the ids of the messages it could not handle, and only those
# come back:

# %%
dlq_url = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
    "QueueArn"
]
jobs_url = sqs.create_queue(
    QueueName="jobs",
    Attributes={
        "VisibilityTimeout": "30",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    },
)["QueueUrl"]
jobs_arn = sqs.get_queue_attributes(QueueUrl=jobs_url, AttributeNames=["QueueArn"])["Attributes"][
    "QueueArn"
]
mapping = lam.create_event_source_mapping(
    EventSourceArn=jobs_arn,
    FunctionName="recorder",
    BatchSize=10,
    FunctionResponseTypes=["ReportBatchItemFailures"],
)
for body in ("job-1", "bad", "job-2"):
    sqs.send_message(QueueUrl=jobs_url, MessageBody=body)


def counts(url):
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]


for seconds in (1, 30, 31):
    lab.clock.advance(seconds)
    print(
        f"+{seconds:>2} s: jobs (visible, in flight) = {counts(jobs_url)}, "
        f"dead-letter = {counts(dlq_url)}"
    )
record = events_seen()[0]["Records"][0]
print("an SQS record has:", sorted(record))
print("batches delivered:", [[r["body"] for r in e["Records"]] for e in events_seen()])

# %% [markdown]
# The two good jobs were deleted after the first batch; only `bad` came back (its
# `ApproximateReceiveCount` went up) and, after two receives, landed in the dead-letter queue.
# Had the function **raised** instead, all three messages would have come back, and all three
# would have ended in the dead-letter queue.
#
# A mapping can also **filter** before it invokes: `FilterCriteria` holds up to this many
# patterns in EventBridge's syntax, and a record is kept when it matches any of them. An SQS
# message that matches none is **deleted** without ever reaching the function (no invocation, no
# cost); a stream record that matches none is skipped.

# %%
show_facts("lambda.esm_filters_max")
lam.update_event_source_mapping(
    UUID=mapping["UUID"],
    FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": [{"prefix": "job-"}]})}]},
)
for body in ("job-3", "spam"):
    sqs.send_message(QueueUrl=jobs_url, MessageBody=body)
lab.clock.advance(1)
print("latest batch:", [r["body"] for r in events_seen()[-1]["Records"]])
print("jobs (visible, in flight):", counts(jobs_url))

# %% [markdown]
# ### S3: one event per object, with the key URL-encoded
#
# S3 invokes the function itself, so the function's **resource-based policy** must let
# `s3.amazonaws.com` invoke it for this bucket (`add_permission`; `SourceAccount` too, because a
# bucket's ARN carries no account). S3 checks that when you configure the notification: without
# the permission, `put_bucket_notification_configuration` fails with `InvalidArgument`, "Unable
# to validate the following destination configurations". (The console adds the permission for
# you; code and templates must.)

# %%
s3 = lab.client("s3")
s3.create_bucket(Bucket="reports-bucket")
lam.add_permission(
    FunctionName="recorder",
    StatementId="reports-bucket-may-invoke",
    Action="lambda:InvokeFunction",
    Principal="s3.amazonaws.com",
    SourceArn="arn:aws:s3:::reports-bucket",
    SourceAccount="123456789012",
)
s3.put_bucket_notification_configuration(
    Bucket="reports-bucket",
    NotificationConfiguration={
        "LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": recorder_arn, "Events": ["s3:ObjectCreated:*"]}
        ]
    },
)
s3.put_object(Bucket="reports-bucket", Key="2026/Q1 summary (final).pdf", Body=b"%PDF")
lab.clock.advance(0)  # S3 invokes asynchronously: the invocation runs at the next tick
s3_record = events_seen()[-1]["Records"][0]
print(s3_record["eventSource"], s3_record["eventName"], s3_record["s3"]["bucket"]["name"])
print("key in the event:", s3_record["s3"]["object"]["key"])
print("decoded:         ", unquote_plus(s3_record["s3"]["object"]["key"]))

# %% [markdown]
# The key arrives **URL-encoded** (a space is `+`, other characters `%XX`): use
# `urllib.parse.unquote_plus` before you look the object up.
#
# ### SNS: a topic's message, pushed
#
# SNS, too, needs the function's permission (`Principal` `sns.amazonaws.com`, `SourceArn` the
# topic), which the cell below adds first. Without it the subscription is still accepted, but
# every delivery fails and AWS tells nobody: only the topic's delivery status logs would show it.

# %%
sns = lab.client("sns")
topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
lam.add_permission(
    FunctionName="recorder",
    StatementId="alerts-topic-may-invoke",
    Action="lambda:InvokeFunction",
    Principal="sns.amazonaws.com",
    SourceArn=topic_arn,
)
sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=recorder_arn)
sns.publish(TopicArn=topic_arn, Message="disk almost full", Subject="ops")
lab.clock.advance(0)
sns_record = events_seen()[-1]["Records"][0]
print(sns_record["EventSource"], "| Sns keys:", sorted(sns_record["Sns"]))
print(sns_record["Sns"]["Subject"], "/", sns_record["Sns"]["Message"])

# %% [markdown]
# ### DynamoDB Streams: every change to a table, in order

# %%
dynamodb = lab.client("dynamodb")
stream_arn = dynamodb.create_table(
    TableName="profiles",
    KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
)["TableDescription"]["LatestStreamArn"]
lam.create_event_source_mapping(
    EventSourceArn=stream_arn, FunctionName="recorder", StartingPosition="LATEST", BatchSize=10
)
dynamodb.put_item(TableName="profiles", Item={"user": {"S": "ada"}, "plan": {"S": "free"}})
dynamodb.put_item(TableName="profiles", Item={"user": {"S": "ada"}, "plan": {"S": "pro"}})
lab.clock.advance(1)
for change in events_seen()[-1]["Records"]:
    images = change["dynamodb"]
    print(change["eventName"], "old:", images.get("OldImage"), "new:", images.get("NewImage"))

# %% [markdown]
# ### Kinesis Data Streams: records in order per shard, data base64-encoded

# %%
kinesis = lab.client("kinesis")
kinesis.create_stream(StreamName="clicks", ShardCount=1)
clicks_arn = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
lam.create_event_source_mapping(
    EventSourceArn=clicks_arn, FunctionName="recorder", StartingPosition="TRIM_HORIZON"
)
for page in ("/home", "/cart"):
    kinesis.put_record(StreamName="clicks", Data=page.encode(), PartitionKey="user-1")
lab.clock.advance(1)
for rec in events_seen()[-1]["Records"]:
    data = base64.b64decode(rec["kinesis"]["data"]).decode()
    print(rec["eventSource"], rec["kinesis"]["partitionKey"], data)

# %% [markdown]
# A failing batch **blocks its shard** (or its stream) until it succeeds, expires or runs out of
# retries: order is kept, so one bad record holds up the ones behind it. Partial batch responses
# (`ReportBatchItemFailures`) and `MaximumRetryAttempts` limit the damage.
#
# ### API Gateway: the Lambda proxy integration
#
# With the **proxy integration** API Gateway turns the whole HTTP request into the event
# (`httpMethod`, `path`, `pathParameters`, `queryStringParameters`, `headers`, `body`, ...) and
# the function's result into the HTTP response: it must return `statusCode`, optional `headers`
# and a **string** `body`.


# %%
def greet(event, context):
    name = event["pathParameters"]["name"]
    loud = (event.get("queryStringParameters") or {}).get("loud") == "yes"
    text = f"Hello, {name}!"
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": text.upper() if loud else text}),
    }


greet_arn = lab.deploy_function(greet)
apigw = lab.client("apigateway")
api_id = apigw.create_rest_api(name="greetings")["id"]
root_id = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
hello_id = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="hello")["id"]
name_id = apigw.create_resource(restApiId=api_id, parentId=hello_id, pathPart="{name}")["id"]
apigw.put_method(restApiId=api_id, resourceId=name_id, httpMethod="GET", authorizationType="NONE")
apigw.put_integration(
    restApiId=api_id,
    resourceId=name_id,
    httpMethod="GET",
    type="AWS_PROXY",
    integrationHttpMethod="POST",  # Lambda is always invoked with POST
    uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{greet_arn}/invocations",
)
# API Gateway invokes the function as itself: the function's resource policy must let it, for
# this API (the console adds this statement for you; without it every request answers 500).
account = lab.client("sts").get_caller_identity()["Account"]
lab.client("lambda").add_permission(
    FunctionName=greet_arn,
    StatementId="greetings-api",
    Action="lambda:InvokeFunction",
    Principal="apigateway.amazonaws.com",
    SourceArn=f"arn:aws:execute-api:us-east-1:{account}:{api_id}/*",
)
apigw.create_deployment(restApiId=api_id, stageName="prod")
stage_url = f"https://{api_id}.execute-api.us-east-1.amazonaws.com/prod"

reply = requests.get(f"{stage_url}/hello/ada?loud=yes", timeout=10)
print(reply.status_code, reply.headers["Content-Type"], reply.text)
print(requests.get(f"{stage_url}/goodbye", timeout=10).text)

# %% [markdown]
# A route that does not exist answers 403 `Missing Authentication Token` (API Gateway's
# famously confusing wording). If the function raises, or returns a `body` that is not a string,
# the caller gets **502**:


# %%
def greet_badly(event, context):
    return {"statusCode": 200, "body": {"message": "hi"}}  # body is a dict, not a string


lab.deploy_function(greet_badly, "greet")
reply = requests.get(f"{stage_url}/hello/ada", timeout=10)
print(reply.status_code, reply.text)

# %% [markdown]
# ## 7. The invocation view
#
# Every invocation so far, function by function: cold or warm, how long it ran, how it ended,
# throttles, and how many environments were busy when it started. It updates after every cell,
# and keeps each state it showed: its step control (`◀ earlier`, `later ▶`) goes back through
# them.

# %%
from labkit.services.awslambda.view import as_state, plot, render_text
from labkit.services.awslambda.widget import invocation_view

invocation_view(lab)

# %% [markdown]
# The same as a plot over lab time, with its text form below it:

# %%
state = as_state(sandbox_snapshot(lab.sandbox))
figure = plot(state["invocations"], state["throttles"], start=state["start"])
plt.show()
print(render_text(state["invocations"], state["throttles"], limit=5))

# %% [markdown]
# ## 8. What Lambda costs
#
# Lambda bills **requests** and **compute**: memory (in GB) × billed duration (in seconds),
# summed over all invocations, the **GB-seconds**. The `Billed Duration` of each `REPORT` line is
# what is billed. The prices (x86, us-east-1, the first volume tier):

# %%
from labkit.services.awslambda.sim_pricing import cpu_bound_duration, price

show_facts("lambda.price_per_million_requests", "lambda.price_per_gb_second_x86")
print(price(requests=3_000_000, duration_ms=120, memory_mb=512))

# %% [markdown]
# The calculator leaves out the monthly **free tier**: it is not in the course's fact table
# (see the pricing page), nor are Arm prices, volume discounts or provisioned concurrency.
#
# Memory is the main dial. For code that waits on the network (**I/O-bound**), more memory does
# not make it faster, so the cost grows with memory. For code that computes (**CPU-bound**),
# Lambda's CPU grows with memory, so the duration falls about as fast as memory rises (a model,
# until the code cannot use more cores): the cost stays flat while the function gets faster.

# %%
smallest = fact("lambda.memory_min").value
memories = [smallest, 256, 512, 1024, 2048, 4096, fact("lambda.memory_max").value]
monthly = 5_000_000
io_bound = [price(monthly, 200, m) for m in memories]
cpu_bound = [price(monthly, cpu_bound_duration(1600, smallest, m), m) for m in memories]

fig, (by_memory, by_duration) = plt.subplots(1, 2, figsize=(11, 4))
by_memory.plot(
    memories, [c.total for c in io_bound], "o-", color="black", label="I/O-bound (200 ms)"
)
by_memory.plot(
    memories,
    [c.total for c in cpu_bound],
    "s--",
    color="black",
    label=f"CPU-bound (1,600 ms at {smallest} MB)",
)
by_memory.set_xscale("log", base=2)
by_memory.set_xticks(memories, [f"{m:,}" for m in memories], rotation=45)
by_memory.set_xlabel("memory (MB, log scale)")
by_memory.set_ylabel(f"USD for {monthly:,} requests")
by_memory.set_title("Cost against memory")
by_memory.legend()
durations = [10, 50, 100, 250, 500, 1000, 2000]
for memory, style in ((smallest, "o-"), (1024, "s--")):
    by_duration.plot(
        durations,
        [price(monthly, d, memory).total for d in durations],
        style,
        color="black",
        label=f"{memory} MB",
    )
by_duration.set_xlabel("billed duration per request (ms)")
by_duration.set_ylabel(f"USD for {monthly:,} requests")
by_duration.set_title("Cost against duration")
by_duration.legend()
fig.tight_layout()
plt.show()

print(f"{'memory MB':>10} {'I/O-bound USD':>14} {'CPU-bound ms':>13} {'CPU-bound USD':>14}")
for m, a, b in zip(memories, io_bound, cpu_bound, strict=True):
    print(f"{m:>10,} {a.total:>14.2f} {b.duration_ms:>13.1f} {b.total:>14.2f}")

# %% [markdown]
# Measure before you choose: run the function at a few memory sizes and compare the `Billed
# Duration` of the `REPORT` lines (AWS Lambda Power Tuning automates this).
#
# ## 9. Around Lambda: VPCs, databases, the edge and containers
#
# These are not simulated in labkit; they are design knowledge.
#
# ### Lambda in a VPC (ENIs)
#
# A function runs in a VPC **owned by Lambda** (the notes are right), with access to the internet
# and to AWS's public endpoints, such as DynamoDB's, but not to **your** private subnets. To
# reach a database in a private subnet, attach the function to your VPC (`VpcConfig` with
# subnets and security groups): Lambda then creates **elastic network interfaces (ENIs)** in
# those subnets, shared by the functions that use the same subnets and security groups, when you
# configure the function rather than at every cold start.
#
# The catch the notes leave out: once attached, the function reaches only what the VPC reaches.
# DynamoDB "being public" then no longer helps: it needs a **NAT gateway** or a **VPC gateway
# endpoint** for DynamoDB or S3 (interface endpoints for other services).
#
# ### RDS Proxy
#
# Each concurrent invocation may open its own database connection, and a burst of invocations
# can exhaust the database's connection limit. **RDS Proxy** pools and shares connections,
# keeps them through a failover, and can use IAM authentication with credentials in Secrets
# Manager. It is reachable only from inside the VPC (never public, as the notes say), so the
# function must be attached to the VPC.
#
# The other direction exists too: Aurora (MySQL, PostgreSQL) and RDS for PostgreSQL can
# **invoke** a function from SQL, if the database has outbound network access to Lambda and an
# IAM role that allows it. RDS **event notifications** are about the database (a snapshot, a
# failover, a version change), never about the data in it.
#
# ### Lambda@Edge versus CloudFront Functions

# %%
show_facts("cloudfront.lambda_edge_scale", "cloudfront.functions_scale")

# %% [markdown]
# | | CloudFront Functions | Lambda@Edge |
# |---|---|---|
# | language | JavaScript only | Node.js and Python |
# | runs at | every edge location | regional edge caches |
# | triggers | viewer request and response | viewer and origin, request and response |
# | network and body access | no | yes |
# | for | header rewrites, redirects, cache keys, tokens | calling services, picking origins |
#
# Lambda@Edge functions are created in us-east-1 and replicated by CloudFront.
#
# ### Container images versus ECS and Fargate
#
# The notes say "Lambda container image: ECS/Fargate is better!". That is not a rule. A
# container image is just another way to **package** a Lambda function (bigger, and built with
# the Docker tooling you know); the function keeps Lambda's limits and its event model:

# %%
show_facts(
    "lambda.container_image_max",
    "lambda.package_unzipped_max",
    "lambda.timeout_max",
    "lambda.memory_max",
    "fargate.task_cpu_max",
    "fargate.task_memory_max",
)

# %% [markdown]
# Choose **ECS on Fargate** when the work runs longer than Lambda's maximum timeout, needs more
# memory or CPU than a function can have, is a long-lived service (WebSockets, a steady busy
# API where paying per request costs more than a task that is always on), or needs sidecars and
# control over the runtime. Choose **Lambda** (zip or image) for event-driven, bursty, short
# work that should scale to zero.
#
# ### Serverless architectures from the notes
#
# - **A REST API**: API Gateway → Lambda → DynamoDB. For reads at microsecond latency, DAX in
#   front of DynamoDB (DAX lives in your VPC, so the function must be attached to it); global
#   tables for users in several Regions.
# - **E-mails on data changes**: DynamoDB Streams → Lambda (its execution role allows
#   `ses:SendEmail`) → Amazon SES.
# - **Uploads**: clients upload to S3 (with Transfer Acceleration when far away) → S3 event →
#   Lambda → SQS for the slow work, handled by a queue-triggered function with partial batch
#   responses and a dead-letter queue.

# %% [markdown]
# ## Summary
#
# - A function is a handler in a **deployment package**, an **execution role** and settings
#   (runtime, memory, timeout, environment variables); `lab.deploy_function` does the boto3
#   calls `create_function` / `update_function_code` for a handler written in a cell.
# - Limits come from the fact table: timeout, memory range, environment variables, `/tmp` are
#   per **function**; the concurrency quota is per account and Region (a soft quota).
# - A **cold start** runs the module-level code (init) once per execution environment; warm
#   invocations reuse it. Put set-up at module level.
# - A handler's exception is a **function error**: `Invoke` still answers 200 with
#   `FunctionError` and the runtime's error object; timeouts report `Sandbox.Timedout`.
#   Everything goes to CloudWatch Logs `/aws/lambda/<name>`. Lambda retries failed asynchronous
#   invocations itself (twice by default), then sends them to an on-failure destination or a
#   dead-letter queue if there is one.
# - Concurrency ≈ requests per second × duration; past the quota (or a reserved concurrency)
#   Lambda throttles with `TooManyRequestsException`.
# - Triggers push (S3, SNS: asynchronous) or are polled (SQS, Kinesis, DynamoDB Streams: batches,
#   synchronous); report partial batch failures so that only bad records are retried; S3 keys
#   arrive URL-encoded; API Gateway's proxy integration needs `statusCode` and a string `body`.
# - Cost = requests + GB-seconds; more memory also means more CPU, so measure.
# - A VPC-attached function gets ENIs in your subnets and loses the internet unless NAT or
#   endpoints give it back; RDS Proxy pools database connections; CloudFront Functions are for
#   tiny, massive edge logic and Lambda@Edge for richer logic; container images are a packaging
#   choice, ECS/Fargate a different compute model.
#
# Next: the **Lambda exercise** (`exercises/05_lambda.ipynb`).
