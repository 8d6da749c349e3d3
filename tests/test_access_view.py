"""``lab.access(...)``: the policy engine's answer about a resource in the sandbox, in words."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labkit import policy as engine
from labkit.lab import Lab
from labkit.sandbox.access import AccessQuestionError, AccessResult, parse_principal
from labkit.views.access import access_html, access_text, statement_rows

ACCOUNT = "123456789012"
OTHER = "444455556666"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def queue(lab: Lab) -> tuple[str, str, str]:
    """A queue (url, arn) and a topic that may send to it; a Deny of plain HTTP."""
    sqs, sns = lab.client("sqs"), lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url = sqs.create_queue(QueueName="billing")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = doc(
        {
            "Sid": "AllowTopic",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
        },
        {
            "Sid": "NoHttp",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": OTHER},
            "Action": "sqs:ReceiveMessage",
            "Resource": arn,
        },
    )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return url, arn, topic


def test_allowed_names_the_deciding_statement_for_every_spelling_of_the_queue(
    lab: Lab, queue: tuple[str, str, str]
) -> None:
    url, arn, topic = queue
    for spelling in ("billing", url, arn):
        result = lab.access(spelling, "sqs:SendMessage", principal="sns.amazonaws.com",
                            source_arn=topic)  # fmt: skip
        assert result.allowed and bool(result)
        assert result.resource == arn
        assert [r.sid for r in result.decision.deciding] == ["AllowTopic"]
        assert result.context["aws:SourceAccount"] == ACCOUNT  # from the topic's ARN


def test_implicit_deny_says_which_statement_came_closest(
    lab: Lab, queue: tuple[str, str, str]
) -> None:
    _, _, topic = queue
    other_topic = topic.replace("orders", "refunds")
    result = lab.access("billing", "sqs:SendMessage", principal="sns.amazonaws.com",
                        source_arn=other_topic)  # fmt: skip
    assert not result.allowed and result.decision.kind == "implicit-deny"
    assert "`AllowTopic` of the queue's policy comes closest" in result.reason
    assert other_topic in result.reason
    text = access_text(result)
    assert "✗ Denied: nothing allows it" in text
    assert "does not apply" in text and "aws:SourceArn" in text


def test_explicit_deny_wins_and_is_marked(lab: Lab, queue: tuple[str, str, str]) -> None:
    _, _, topic = queue
    result = lab.access("billing", "sqs:SendMessage", principal="sns.amazonaws.com",
                        source_arn=topic, secure=False)  # fmt: skip
    assert not result.allowed and result.decision.kind == "explicit-deny"
    assert [r.sid for r in result.decision.deciding] == ["NoHttp"]
    text = access_text(result)
    assert "✗ Denied by an explicit deny" in text
    # The Allow still applies; the Deny decides.
    verdicts = {r.ref.sid: words for r, _, words in statement_rows(result.decision)}
    assert verdicts["AllowTopic"] == "allows"
    assert verdicts["NoHttp"] == "denies ◀ decides"
    assert "✗ denies ◀ decides" in text and "✓ allows" in text


def test_cross_account_needs_both_policies(lab: Lab, queue: tuple[str, str, str]) -> None:
    bob = f"arn:aws:iam::{OTHER}:user/bob"
    alone = lab.access("billing", "sqs:ReceiveMessage", principal=bob)
    assert not alone.allowed
    assert "another account also needs an identity-based policy" in alone.reason
    receive = {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}
    mine = {"Version": "2012-10-17", "Statement": [receive]}
    both = lab.access("billing", "sqs:ReceiveMessage", principal=bob, identity_policies=[mine])
    assert both.allowed and "needs both" in both.reason
    assert both.identity == ("identity policy 1",)
    # The other account's root user: the queue policy alone decides.
    assert lab.access("billing", "sqs:ReceiveMessage", principal=OTHER).allowed
    assert not lab.access("billing", "sqs:DeleteQueue", principal=OTHER).allowed


def test_a_user_of_the_sandbox_is_read_from_iam(lab: Lab, queue: tuple[str, str, str]) -> None:
    iam = lab.client("iam")
    iam.create_user(UserName="alice")
    alice = f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert not lab.access("billing", "sqs:ReceiveMessage", principal=alice).allowed
    statement = {"Sid": "Read", "Effect": "Allow", "Action": "sqs:Receive*", "Resource": "*"}
    iam.put_user_policy(UserName="alice", PolicyName="read", PolicyDocument=doc(statement))
    result = lab.access("billing", "sqs:ReceiveMessage", principal=alice)
    assert result.allowed and "inline policy `read` of alice" in result.reason


def test_bucket_policy_for_cloudfront_and_anonymous(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="site-bucket")
    dist = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1"
    oac = {
        "Sid": "OAC",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::site-bucket/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": dist}},
    }
    assert not lab.access("site-bucket/index.html", "s3:GetObject", principal="anonymous")
    s3.put_bucket_policy(Bucket="site-bucket", Policy=doc(oac))
    ok = lab.access("s3://site-bucket/index.html", "s3:GetObject",
                    principal="cloudfront.amazonaws.com", source_arn=dist)  # fmt: skip
    assert ok.allowed and ok.resource == "arn:aws:s3:::site-bucket/index.html"
    anonymous = lab.access("arn:aws:s3:::site-bucket/index.html", "s3:GetObject",
                           principal="anonymous")  # fmt: skip
    assert not anonymous.allowed and "an anonymous caller" in anonymous.reason


def test_function_policy_from_add_permission(lab: Lab) -> None:
    from lambda_support import create

    arn = create(lab, "on-upload", "def handler(event, context):\n    return 1\n")
    assert not lab.access("on-upload", "lambda:InvokeFunction", principal="s3.amazonaws.com",
                          source_arn="arn:aws:s3:::uploads")  # fmt: skip
    lab.client("lambda").add_permission(
        FunctionName="on-upload",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::uploads",
        SourceAccount=ACCOUNT,
    )
    ok = lab.access(arn, "lambda:InvokeFunction", principal="s3.amazonaws.com",
                    source_arn="arn:aws:s3:::uploads", source_account=ACCOUNT)  # fmt: skip
    assert ok.allowed and "`s3` of the function's policy" in ok.reason
    # A bucket ARN has no account: without aws:SourceAccount the condition does not hold.
    unsure = lab.access(arn, "lambda:InvokeFunction", principal="s3.amazonaws.com",
                        source_arn="arn:aws:s3:::uploads")  # fmt: skip
    assert not unsure.allowed and "AWS:SourceAccount" in unsure.reason


def test_topic_policy(lab: Lab) -> None:
    topic = lab.client("sns").create_topic(Name="alerts")["TopicArn"]
    owner = lab.access("alerts", "sns:Publish", principal=ACCOUNT)
    assert owner.allowed and "root user" in owner.reason
    stranger = lab.access(topic, "sns:Publish", principal=OTHER, context={"AWS:SourceOwner": OTHER})
    assert not stranger.allowed and "__default_statement_ID" in stranger.reason


def test_html_says_it_in_words_with_symbols(lab: Lab, queue: tuple[str, str, str]) -> None:
    _, _, topic = queue
    denied = lab.access("billing", "sqs:SendMessage", principal="sns.amazonaws.com",
                        source_arn=topic, secure=False)  # fmt: skip
    bundle = denied._repr_mimebundle_()
    page = bundle["text/html"]
    assert bundle["text/plain"] == access_text(denied) == repr(denied)
    assert 'class="labkit-view labkit-access"' in page
    assert "Denied by an explicit deny" in page and "✗ denies ◀ decides" in page
    assert "NoHttp" in page and "AllowTopic" in page
    assert "the queue&#x27;s policy" in page  # escaped
    assert "color:" not in page.replace("border-left:3px solid", "")  # no colour carries meaning
    allowed = lab.access("billing", "sqs:SendMessage", principal="sns.amazonaws.com",
                         source_arn=topic)  # fmt: skip
    assert "✓ Allowed" in access_html(allowed) and "✓ allows ◀ decides" in access_html(allowed)
    # The reason names its statement as code, as the check hints do, not in literal backticks.
    assert "<code>AllowTopic</code>" in access_html(allowed) and "`" not in access_html(allowed)


def test_malformed_policy_is_reported_not_raised() -> None:
    decision = engine.evaluate(
        engine.Request(engine.Principal.anonymous(), "s3:GetObject", "arn:aws:s3:::b/k"),
        resource_policy=engine.load_policy({"Statement": [{"Effect": "allow"}]}, name="p"),
    )
    result = AccessResult("an anonymous caller", "s3:GetObject", "arn:aws:s3:::b/k", "p", decision)
    assert "is malformed" in access_text(result) and "⚠" in access_html(result)
    assert "Effect must be" in access_text(result)


@pytest.mark.parametrize(
    ("who", "kind", "account"),
    [
        ("anonymous", "anonymous", ""),
        (ACCOUNT, "root", ACCOUNT),
        (f"arn:aws:iam::{OTHER}:root", "root", OTHER),
        (f"arn:aws:iam::{ACCOUNT}:user/team/alice", "user", ACCOUNT),
        (f"arn:aws:iam::{ACCOUNT}:role/app", "role", ACCOUNT),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1", "role", ACCOUNT),
        ("sns.amazonaws.com", "service", ""),
    ],
)
def test_principal_spellings(who: str, kind: str, account: str) -> None:
    principal = parse_principal(who)
    assert (principal.kind, principal.account) == (kind, account)


def test_bad_questions_get_a_clear_error(lab: Lab, queue: tuple[str, str, str]) -> None:
    with pytest.raises(AccessQuestionError, match="cannot tell who"):
        lab.access("billing", "sqs:SendMessage", principal="alice")
    with pytest.raises(AccessQuestionError, match="service:Operation"):
        lab.access("billing", "dynamodb:GetItem", principal="anonymous")
    with pytest.raises(AccessQuestionError, match="no sqs resource 'nowhere'") as error:
        lab.access("nowhere", "sqs:SendMessage", principal="anonymous")
    assert error.value.code == "BadAccessQuestion"
