"""A human approval by email: SES delivers to the sandbox mailbox, and a Step Functions task that
mails its task token waits on the lab clock until someone answers (or nobody does)."""

from __future__ import annotations

import json
import re
from email.mime.text import MIMEText
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab

ROLE = "arn:aws:iam::123456789012:role/sfn-role"
SHOP, BOSS = "shop@example.com", "boss@example.com"


def test_send_email_reaches_each_recipient_on_the_lab_clock(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_email_identity(EmailAddress=SHOP)
    ses.verify_domain_identity(Domain="example.com")  # the SES sandbox: recipients verified too
    lab.clock.advance(42)
    ses.send_email(
        Source=f"Shop <{SHOP}>",
        Destination={"ToAddresses": [BOSS], "CcAddresses": ["Audit <audit@example.com>"]},
        Message={"Subject": {"Data": "Order o-1"}, "Body": {"Text": {"Data": "Approve 500?"}}},
    )
    mail = lab.mailbox.latest(BOSS)
    assert mail is not None and (mail.subject, mail.body, mail.sender) == (
        "Order o-1",
        "Approve 500?",
        SHOP,
    )
    assert mail.sent_at == lab.clock.now and mail.source.endswith(f":identity/{SHOP}")
    assert [m.to for m in lab.mailbox] == [BOSS, "audit@example.com"]


def test_a_refused_email_delivers_nothing(lab: Lab) -> None:
    with pytest.raises(ClientError) as refused:
        lab.client("ses").send_email(
            Source=SHOP,
            Destination={"ToAddresses": [BOSS]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
        )
    assert refused.value.response["Error"]["Code"] == "MessageRejected"
    assert len(lab.mailbox) == 0


def test_templated_raw_and_v2_email_arrive_as_their_recipients_read_them(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_domain_identity(Domain="example.com")
    ses.create_template(
        Template={
            "TemplateName": "approve",
            "SubjectPart": "Order {{id}}",
            "TextPart": "Approve {{amount}}?",
        }
    )
    ses.send_templated_email(
        Source=SHOP,
        Destination={"ToAddresses": [BOSS]},
        Template="approve",
        TemplateData=json.dumps({"id": "o-2", "amount": 900}),
    )
    lab.clock.advance(1)  # the SES sandbox sends one recipient a second
    raw = MIMEText("Raw body")
    raw["Subject"], raw["From"], raw["To"] = "Raw subject", SHOP, "cfo@example.com"
    ses.send_raw_email(RawMessage={"Data": raw.as_string()})
    lab.clock.advance(1)
    lab.client("sesv2").send_email(
        FromEmailAddress=SHOP,
        Destination={"ToAddresses": ["ops@example.com"]},
        Content={"Simple": {"Subject": {"Data": "v2"}, "Body": {"Text": {"Data": "hello"}}}},
    )
    got = {m.to: (m.subject, m.body.strip()) for m in lab.mailbox}
    assert got == {
        BOSS: ("Order o-2", "Approve 900?"),
        "cfo@example.com": ("Raw subject", "Raw body"),
        "ops@example.com": ("v2", "hello"),
    }
    assert lab.mailbox.latest(BOSS).source.endswith(":identity/example.com")  # type: ignore[union-attr]


def test_a_check_world_keeps_its_mail_to_itself(lab: Lab) -> None:
    with lab.sandbox.isolated():
        ses = lab.client("ses")
        ses.verify_domain_identity(Domain="example.com")
        ses.send_email(
            Source=SHOP,
            Destination={"ToAddresses": [BOSS]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
        )
        assert len(lab.mailbox) == 1
    assert len(lab.mailbox) == 0


APPROVAL: dict[str, Any] = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:ses:sendEmail.waitForTaskToken",
            "Parameters": {
                "Source": SHOP,
                "Destination": {"ToAddresses": [BOSS]},
                "Message": {
                    "Subject": {"Data": "Approval needed"},
                    "Body": {
                        "Text": {
                            "Data.$": "States.Format('Approve {}: https://x.example/approve"
                            "?token={}', $.order, $$.Task.Token)"
                        }
                    },
                },
            },
            "TimeoutSeconds": 86400,
            "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Rejected"}],
            "Next": "Approved",
        },
        "Approved": {"Type": "Succeed"},
        "Rejected": {"Type": "Fail", "Error": "Rejected", "Cause": "nobody answered"},
    },
}


def _start(lab: Lab, order: str) -> tuple[Any, str]:
    lab.client("ses").verify_email_identity(EmailAddress=SHOP)
    lab.client("ses").verify_email_identity(EmailAddress=BOSS)  # the SES sandbox's recipient rule
    sfn = lab.client("stepfunctions")
    arn = sfn.create_state_machine(name="approve", definition=json.dumps(APPROVAL), roleArn=ROLE)
    ex = sfn.start_execution(
        stateMachineArn=arn["stateMachineArn"], input=json.dumps({"order": order})
    )
    return sfn, ex["executionArn"]


def _token(lab: Lab) -> str:
    mail = lab.mailbox.latest(BOSS)
    assert mail is not None and mail.subject == "Approval needed"
    found = re.search(r"token=(\S+)", mail.body)
    assert found is not None
    return found.group(1)


def test_the_emailed_token_approves_the_order(lab: Lab) -> None:
    sfn, ex = _start(lab, "o-7")
    lab.clock.advance(3600)
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
    assert "Approve o-7" in lab.mailbox.latest(BOSS).body  # type: ignore[union-attr]
    sfn.send_task_success(taskToken=_token(lab), output=json.dumps({"approved": True}))
    assert sfn.describe_execution(executionArn=ex)["status"] == "SUCCEEDED"


def test_an_unanswered_email_times_out_after_a_day_of_lab_time(lab: Lab) -> None:
    sfn, ex = _start(lab, "o-8")
    token = _token(lab)
    lab.clock.advance(86399)
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
    lab.clock.advance(1)
    described = sfn.describe_execution(executionArn=ex)
    assert (described["status"], described["error"]) == ("FAILED", "Rejected")
    with pytest.raises(ClientError) as late:
        sfn.send_task_success(taskToken=token, output="{}")
    assert late.value.response["Error"]["Code"] == "TaskTimedOut"
