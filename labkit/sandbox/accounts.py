"""Clients that act as another AWS account in the sandbox: the outsiders of access checks.

One place for every lab: the decoupling checks publish from another account's topic, the edge
checks read a bucket through another account's distribution.

moto keeps one world per account id and picks the account of each request from the
``x-moto-account-id`` header before it looks at the access key
(``moto.core.responses.BaseResponse.get_current_account``). A client that sends the header acts
as that account: its topics and queues live there, and their ARNs carry that account id, so a
check can publish from a topic of another account and see what a queue's access policy lets in.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

#: An account that is not the learner's (the learner's is moto's default, 123456789012).
OUTSIDER_ACCOUNT = "210987654321"
_HEADER = "x-moto-account-id"


def client_in_account(
    sandbox: Any, service: str, account_id: str = OUTSIDER_ACCOUNT, *, region: str | None = None
) -> Any:
    """A boto3 client for ``service`` in the sandbox that acts as ``account_id``.

    Args:
        sandbox: The running sandbox (or a check's isolated world).
        service: The boto3 service name.
        account_id: The 12-digit account the client acts as.
        region: The region; the sandbox's by default.
    """
    # A config of its own gives a fresh client, never the sandbox's cached one: the header must
    # not leak into the learner's calls. (On AWS the credentials say the account.)
    client = sandbox.client(service, region=region, config=Config())

    def as_account(request: Any, **_: Any) -> None:
        request.headers[_HEADER] = account_id

    event = f"before-sign.{client.meta.service_model.service_id.hyphenize()}"
    client.meta.events.register(event, as_account)
    return client
