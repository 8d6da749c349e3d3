"""Helpers for the load balancer tests: a load balancer, a Lambda target group, a listener."""

from __future__ import annotations

from typing import Any

from lambda_support import create

ECHO = """
import json
def lambda_handler(event, context):
    return {"statusCode": 200, "statusDescription": "200 OK",
            "headers": {"Content-Type": "application/json", "X-Fn": context.function_name},
            "multiValueHeaders": {"X-Multi": ["a", "b"]},
            "body": json.dumps(event)}
"""


def load_balancer(lab: Any, name: str = "web") -> dict[str, Any]:
    """An internet-facing Application Load Balancer in two subnets of a new VPC."""
    ec2 = lab.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    elb = lab.client("elbv2")
    return dict(elb.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0])


def lambda_group(
    lab: Any,
    name: str,
    source: str = ECHO,
    *,
    permit: bool = True,
    register: bool = True,
    multi_value: bool = False,
) -> str:
    """A target group with the function ``name`` (made from ``source``) registered; returns the
    target group's ARN."""
    elb = lab.client("elbv2")
    fn_arn = create(lab, name, source)
    tg = elb.create_target_group(Name=f"tg-{name}", TargetType="lambda")["TargetGroups"][0]
    arn = str(tg["TargetGroupArn"])
    if multi_value:
        elb.modify_target_group_attributes(
            TargetGroupArn=arn,
            Attributes=[{"Key": "lambda.multi_value_headers.enabled", "Value": "true"}],
        )
    if permit:
        lab.client("lambda").add_permission(
            FunctionName=name,
            StatementId="elb",
            Action="lambda:InvokeFunction",
            Principal="elasticloadbalancing.amazonaws.com",
            SourceArn=arn,
        )
    if register:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": fn_arn}])
    return arn


def listener(
    lab: Any, lb: dict[str, Any], actions: list[dict[str, Any]], *, https: bool = False
) -> str:
    """A listener on port 80 (HTTP) or 443 (HTTPS) with ``actions`` as its default."""
    args: dict[str, Any] = {"Protocol": "HTTP", "Port": 80}
    if https:
        args = {
            "Protocol": "HTTPS",
            "Port": 443,
            "Certificates": [{"CertificateArn": certificate(lab)}],
        }
    return str(
        lab.client("elbv2").create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], DefaultActions=actions, **args
        )["Listeners"][0]["ListenerArn"]
    )


def certificate(lab: Any) -> str:
    """An ACM certificate ARN for the HTTPS listener."""
    acm = lab.client("acm")
    return str(acm.request_certificate(DomainName="*.elb.amazonaws.com")["CertificateArn"])


def forward(arn: str) -> list[dict[str, Any]]:
    """A listener's actions that forward to target group ``arn``."""
    return [{"Type": "forward", "TargetGroupArn": arn}]


def url(lb: dict[str, Any], path: str = "/", *, https: bool = False) -> str:
    """A URL of ``path`` at the load balancer's DNS name."""
    return f"{'https' if https else 'http'}://{lb['DNSName']}{path}"
