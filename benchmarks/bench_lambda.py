"""Lambda benchmarks: labkit's in-process runtime against moto's stock echo invoke, same run.

Prints:
- a warm invoke through boto3, end to end (median ms per call over batches), labkit running the
  real handler vs stock moto (``use_docker: False``) echoing the payload without running anything;
- a cold start (create + first invoke of a new function);
- an SQS event source mapping draining 1,000 messages (wall seconds for ``lab.clock.advance``),
  vs stock moto, which invokes its echo inside every ``send_message``.

Targets (the Lambda lab issue): a warm invoke under 3 ms; 1,000 messages drained in under 5 s.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import time
import zipfile

HANDLER = "def lambda_handler(event, context):\n    return {'ok': True, 'n': event.get('n')}\n"

STOCK = r"""
import io, json, statistics, sys, time, zipfile
import boto3
from moto import mock_aws
HANDLER = sys.argv[1]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("lambda_function.py", HANDLER)
with mock_aws(config={"lambda": {"use_docker": False}}):
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name="us-east-1")
    lam.create_function(FunctionName="f", Runtime="python3.12", Role=role,
                        Handler="lambda_function.lambda_handler", Code={"ZipFile": buf.getvalue()})
    times = []
    for b in range(10):
        t = time.perf_counter()
        for i in range(100):
            lam.invoke(FunctionName="f", Payload=json.dumps({"n": i}))
        times.append((time.perf_counter() - t) / 100 * 1000)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    arn = attrs["QueueArn"]
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="f", BatchSize=10)
    t = time.perf_counter()
    for i in range(1000):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    drain = time.perf_counter() - t
    print(json.dumps({"warm_ms": statistics.median(times), "sqs_s": drain}))
"""


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("lambda_function.py", HANDLER)
    return buf.getvalue()


def labkit_figures() -> dict[str, float]:
    """Warm invoke, cold start and SQS drain with labkit."""
    import labkit

    lab = labkit.start(quiet=True)
    try:
        iam = lab.client("iam")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = lab.client("lambda")
        code = _zip()
        spec = {
            "Runtime": "python3.12",
            "Role": role,
            "Handler": "lambda_function.lambda_handler",
            "Code": {"ZipFile": code},
        }
        cold = []
        for i in range(5):
            t = time.perf_counter()
            lam.create_function(FunctionName=f"cold{i}", **spec)
            lam.invoke(FunctionName=f"cold{i}", Payload=b"{}")
            cold.append((time.perf_counter() - t) * 1000)
        lam.create_function(FunctionName="f", **spec)
        lam.invoke(FunctionName="f", Payload=b"{}")
        times = []
        for _ in range(10):
            t = time.perf_counter()
            for i in range(100):
                out = lam.invoke(FunctionName="f", Payload=json.dumps({"n": i}))
                out["Payload"].read()
            times.append((time.perf_counter() - t) / 100 * 1000)
        sqs = lab.client("sqs")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        lam.create_event_source_mapping(
            EventSourceArn=attrs["Attributes"]["QueueArn"], FunctionName="f", BatchSize=10
        )
        for start in range(0, 1000, 10):
            sqs.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(start, start + 10)],
            )
        t = time.perf_counter()
        lab.clock.advance(1)
        drain = time.perf_counter() - t
        left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert left["ApproximateNumberOfMessages"] == "0", left
        assert left["ApproximateNumberOfMessagesNotVisible"] == "0", left
        return {
            "warm_ms": statistics.median(times),
            "cold_ms": statistics.median(cold),
            "sqs_s": drain,
        }
    finally:
        lab.stop()


def main() -> None:
    stock = json.loads(
        subprocess.run(
            [sys.executable, "-c", STOCK, HANDLER], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    ours = labkit_figures()
    print("Lambda (labkit runs the handler; stock moto echoes the payload without running it)")
    print(
        f"  warm invoke via boto3   labkit {ours['warm_ms']:.2f} ms"
        f"   stock {stock['warm_ms']:.2f} ms   (target < 3 ms)"
    )
    print(f"  cold start (create + first invoke)   labkit {ours['cold_ms']:.1f} ms")
    print(
        f"  SQS mapping, 1,000 messages   labkit drain {ours['sqs_s']:.2f} s (advance)"
        f"   stock {stock['sqs_s']:.2f} s (1,000 sends with echo inside)   (target < 5 s)"
    )


if __name__ == "__main__":
    main()
