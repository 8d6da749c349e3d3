"""One evaluator of AWS access policies, as AWS documents it: plain Python, no moto.

>>> from labkit.policy import Principal, Request, evaluate
>>> queue = "arn:aws:sqs:us-east-1:111122223333:orders"
>>> topic = "arn:aws:sns:us-east-1:111122223333:events"
>>> policy = {"Version": "2012-10-17", "Statement": [{"Sid": "AllowTopic", "Effect": "Allow",
...     "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
...     "Resource": queue, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
>>> request = Request(Principal.service("sns.amazonaws.com"), "sqs:SendMessage", queue,
...                   context={"aws:SourceArn": topic})
>>> evaluate(request, resource_policy=policy).reason
'Statement `AllowTopic` of the resource policy allows it.'

Modules: :mod:`~labkit.policy.document` (reading and checking documents),
:mod:`~labkit.policy.request` (principals, requests, context keys),
:mod:`~labkit.policy.wildcards`, :mod:`~labkit.policy.variables`,
:mod:`~labkit.policy.conditions` (operators), :mod:`~labkit.policy.principals` (the Principal
element), :mod:`~labkit.policy.engine` (evaluation and explanation).
"""

from labkit.policy.document import Policy, PolicyError, Statement, load_policy, parse_policy
from labkit.policy.engine import Decision, StatementRef, StatementResult, evaluate, statement_result
from labkit.policy.request import Context, Principal, Request, arn_account

__all__ = [
    "Context",
    "Decision",
    "Policy",
    "PolicyError",
    "Principal",
    "Request",
    "Statement",
    "StatementRef",
    "StatementResult",
    "arn_account",
    "evaluate",
    "load_policy",
    "parse_policy",
    "statement_result",
]
