"""CloudFormation benchmark: a 30-resource stack and a StackSet over 2 accounts x 3 Regions.

Prints, measured in the same run (medians of interleaved batches):
- deploying a 30-resource template (15 queues, 15 topics) with ``create_stack`` in the sandbox:
  a template it has not seen (cfn-lint runs on it) and the same template again (its findings are
  kept), in seconds of wall time; the one-off import of cfn-lint is printed apart;
- the same deployment on stock moto (``mock_aws``, which lints nothing) and the ratio;
- a 30-resource pipeline the sandbox deploys and stock moto cannot (10 topics, 10 queues, 10
  subscriptions);
- a StackSet over 2 accounts x 3 Regions (6 stacks, one at a time on the lab clock), from
  ``create_stack_instances`` to a finished operation, against stock moto's
  ``create_stack_instances`` (which deploys all six at once and ignores the preferences).

Targets (issue 22): a 30-resource template in under 2 s of wall time; a StackSet over
2 accounts x 3 Regions in under 5 s.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

import support

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

BATCHES = 5
ACCOUNTS = ["111111111111", "222222222222"]
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]


def plain_template(tag: int) -> str:
    resources: dict[str, Any] = {}
    for i in range(15):
        resources[f"Queue{i}"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": f"q{tag}-{i}", "VisibilityTimeout": 30 + i},
        }
        resources[f"Topic{i}"] = {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": f"t{tag}-{i}"},
        }
    return json.dumps({"Resources": resources})


def pipeline_template(tag: int) -> str:
    resources: dict[str, Any] = {}
    for i in range(10):
        resources[f"Queue{i}"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": f"p{tag}-{i}"},
        }
        resources[f"Topic{i}"] = {"Type": "AWS::SNS::Topic"}
        resources[f"Sub{i}"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": f"Topic{i}"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": [f"Queue{i}", "Arn"]},
            },
        }
    return json.dumps({"Resources": resources})


def seconds(fn: Any) -> float:
    return support.timed(lambda _i: fn(), unit=1)[0]


def stock(batch: int) -> tuple[float, float]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        deploy = seconds(
            lambda: cfn.create_stack(StackName="s", TemplateBody=plain_template(batch))
        )
        cfn.create_stack_set(StackSetName="ss", TemplateBody=plain_template(1000 + batch))
        stackset = seconds(
            lambda: cfn.create_stack_instances(
                StackSetName="ss", Accounts=ACCOUNTS, Regions=REGIONS
            )
        )
        return deploy, stackset


def sandbox(batch: int) -> tuple[float, float, float, float]:
    import labkit

    lab = labkit.start(quiet=True)
    try:
        cfn = lab.client("cloudformation")
        # A template never seen in this process: cfn-lint runs on it.
        body = plain_template(batch)
        fresh = seconds(lambda: cfn.create_stack(StackName="a", TemplateBody=body))
        assert cfn.describe_stacks(StackName="a")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        cfn.delete_stack(StackName="a")
        again = seconds(lambda: cfn.create_stack(StackName="b", TemplateBody=body))
        pipeline = seconds(
            lambda: cfn.create_stack(StackName="p", TemplateBody=pipeline_template(batch))
        )
        cfn.create_stack_set(StackSetName="ss", TemplateBody=plain_template(1000 + batch))

        def stackset() -> None:
            op = cfn.create_stack_instances(StackSetName="ss", Accounts=ACCOUNTS, Regions=REGIONS)
            lab.clock.advance(3600)
            done = cfn.describe_stack_set_operation(
                StackSetName="ss", OperationId=op["OperationId"]
            )
            assert done["StackSetOperation"]["Status"] == "SUCCEEDED", done

        return fresh, again, pipeline, seconds(stackset)
    finally:
        lab.stop()


def main() -> int:
    t = time.perf_counter()
    import cfnlint.api  # noqa: F401

    lint_import = time.perf_counter() - t
    stock_deploy: list[float] = []
    stock_sets: list[float] = []
    fresh: list[float] = []
    again: list[float] = []
    pipelines: list[float] = []
    sets: list[float] = []
    for batch in range(BATCHES):
        d, s = stock(batch)
        stock_deploy.append(d)
        stock_sets.append(s)
        f, a, p, ss = sandbox(batch)
        fresh.append(f)
        again.append(a)
        pipelines.append(p)
        sets.append(ss)
    m = statistics.median
    print(f"cfn-lint import (once per process):             {lint_import:.2f} s")
    print(f"30 resources, new template (lint + deploy):     {m(fresh):.3f} s (target < 2 s)")
    print(f"30 resources, same template again:              {m(again):.3f} s")
    print(f"30-resource pipeline with subscriptions:        {m(pipelines):.3f} s")
    print(f"stock moto, 30 resources:                       {m(stock_deploy):.3f} s")
    print(f"new template / stock moto:                      {m(fresh) / m(stock_deploy):.1f}x")
    print(f"same template / stock moto:                     {m(again) / m(stock_deploy):.1f}x")
    print(f"StackSet 2 accounts x 3 Regions (lab clock):    {m(sets):.3f} s (target < 5 s)")
    print(f"stock moto StackSet 2 x 3:                      {m(stock_sets):.3f} s")
    print(f"StackSet / stock moto:                          {m(sets) / m(stock_sets):.1f}x")
    return 0 if m(fresh) < 2 and m(sets) < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
