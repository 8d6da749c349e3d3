"""What is asked of AWS: who asks (:class:`Principal`), and the request (:class:`Request`).

The request context is what conditions and policy variables read. AWS fills some keys from the
principal itself (``aws:username``, ``aws:userid``, ``aws:PrincipalTag/...``, ...); so does
:meth:`Request.context_keys`, unless the caller passed the key explicitly (the caller wins, so a
lab can model odd cases). Key names are case-insensitive, as AWS documents; values are kept as
tuples of strings, a multivalued key (``aws:TagKeys``) being a tuple of any length.

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
(principal key values per principal type), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

PrincipalKind = Literal["user", "role", "root", "service", "anonymous", "federated"]

#: What a caller may pass as a context value: one value, or a sequence for a multivalued key.
ContextValue = str | int | float | bool | bytes | datetime | Sequence[str]


@dataclass(frozen=True)
class Principal:
    """Who makes a request.

    Build one with the class methods (:meth:`user`, :meth:`role_session`, :meth:`root`,
    :meth:`service`, :meth:`anonymous`, :meth:`federated`) rather than by hand.

    Attributes:
        kind: ``user`` (IAM user), ``role`` (an assumed-role session), ``root`` (the account
            itself), ``service`` (an AWS service principal), ``anonymous`` (unsigned), or
            ``federated`` (a web-identity or SAML caller before it assumed a role, as a role's
            trust policy sees it).
        arn: The principal's ARN (the session ARN for a role session); ``""`` when it has none.
        account: Its account id; ``""`` for services, anonymous and federated callers.
        name: The user name, or the role name for a session, or the service / provider name.
        role_arn: For a role session, the ARN of the role (policies may name either).
        session: For a role session, its session name.
        unique_id: ``aws:userid`` (``AIDA...`` for a user, ``AROA...`` for a role); optional.
        canonical_id: An S3 canonical user id, matched by ``{"CanonicalUser": ...}``; optional.
        tags: The principal's tags (``aws:PrincipalTag/KEY``).
    """

    kind: PrincipalKind
    arn: str = ""
    account: str = ""
    name: str = ""
    role_arn: str = ""
    session: str = ""
    unique_id: str = ""
    canonical_id: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def user(
        cls,
        account: str,
        name: str,
        *,
        path: str = "/",
        unique_id: str = "",
        tags: Mapping[str, str] | None = None,
        partition: str = "aws",
    ) -> Principal:
        """An IAM user, e.g. ``Principal.user("111122223333", "alice")``."""
        arn = f"arn:{partition}:iam::{account}:user{_path(path)}{name}"
        return cls("user", arn, account, name, unique_id=unique_id, tags=dict(tags or {}))

    @classmethod
    def role_session(
        cls,
        account: str,
        role: str,
        session: str,
        *,
        path: str = "/",
        role_id: str = "",
        tags: Mapping[str, str] | None = None,
        partition: str = "aws",
    ) -> Principal:
        """A session of an assumed IAM role (Lambda and ECS task roles, Cognito identities).

        Its ARN is ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``; a policy naming the role
        ARN (``arn:aws:iam::ACCOUNT:role/ROLE``) also names every session of it.
        """
        return cls(
            "role",
            f"arn:{partition}:sts::{account}:assumed-role/{role}/{session}",
            account,
            role,
            role_arn=f"arn:{partition}:iam::{account}:role{_path(path)}{role}",
            session=session,
            unique_id=f"{role_id}:{session}" if role_id else "",
            tags=dict(tags or {}),
        )

    @classmethod
    def root(cls, account: str, *, partition: str = "aws") -> Principal:
        """The account's root user (also what an account principal in a policy names)."""
        return cls("root", f"arn:{partition}:iam::{account}:root", account, unique_id=account)

    @classmethod
    def service(cls, name: str) -> Principal:
        """An AWS service principal, e.g. ``Principal.service("sns.amazonaws.com")``."""
        return cls("service", name=name)

    @classmethod
    def anonymous(cls) -> Principal:
        """An unsigned request (S3, SQS and SNS accept some)."""
        return cls("anonymous", unique_id="anonymous")

    @classmethod
    def federated(cls, provider: str) -> Principal:
        """A federated caller of ``provider`` (``cognito-identity.amazonaws.com``, a SAML
        provider ARN, ...) as a role's trust policy sees it."""
        return cls("federated", name=provider)

    @property
    def describe(self) -> str:
        """How the principal reads in an explanation."""
        if self.kind == "service":
            return self.name
        if self.kind == "anonymous":
            return "an anonymous caller"
        if self.kind == "federated":
            return f"a caller federated by {self.name}"
        return self.arn or f"account {self.account}"


def _path(path: str) -> str:
    path = path or "/"
    return path if path.endswith("/") else path + "/"


def arn_account(arn: str) -> str:
    """The account id field of an ARN (``""`` when it has none, e.g. an S3 bucket)."""
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else ""


@dataclass(frozen=True)
class Request:
    """One request: ``principal`` wants to do ``action`` on ``resource``.

    Attributes:
        principal: Who asks.
        action: ``service:Operation``, e.g. ``sqs:SendMessage``.
        resource: The resource's ARN (``"*"`` for actions without a resource).
        resource_account: The account that owns the resource. Defaults to the ARN's account
            field; pass it for resources whose ARN has none (S3 buckets).
        context: Condition keys (any case) and values; a list or tuple is a multivalued key.
    """

    principal: Principal
    action: str
    resource: str
    resource_account: str = ""
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        """The resource's account: given, else from the ARN, else the principal's (same
        account is the safe reading: it never asks for a cross-account grant that is not
        needed)."""
        return self.resource_account or arn_account(self.resource) or self.principal.account

    @property
    def cross_account(self) -> bool:
        """Whether an IAM principal of another account asks (services and anonymous callers
        have no account, so they are never cross-account in this sense)."""
        return bool(self.principal.account) and self.principal.account != self.owner

    def context_keys(self) -> Context:
        """The request context: the given keys plus those AWS derives from the principal."""
        return Context.build(self)


@dataclass(frozen=True)
class Context:
    """Condition keys by lower-cased name; each value a tuple of strings.

    A single-valued key is a one-element tuple built from a scalar; a multivalued key keeps the
    sequence it was given (possibly empty). :meth:`single` is how policy variables read a key:
    AWS substitutes only single values.
    """

    values: Mapping[str, tuple[str, ...]]
    multi: frozenset[str]

    @classmethod
    def build(cls, request: Request) -> Context:
        values: dict[str, tuple[str, ...]] = {}
        multi: set[str] = set()
        for key, value in _principal_keys(request.principal).items():
            values[key.lower()] = (value,)
        for key, raw in request.context.items():
            name = str(key).lower()
            if isinstance(raw, (list, tuple, set, frozenset)):
                values[name] = tuple(_scalar(v) for v in raw)
                multi.add(name)
            else:
                values[name] = (_scalar(raw),)
                multi.discard(name)
        return cls(values, frozenset(multi))

    def get(self, key: str) -> tuple[str, ...] | None:
        """The key's values, or ``None`` when the request lacks it."""
        return self.values.get(key.lower())

    def single(self, key: str) -> str | None:
        """The key's value when it has exactly one and is not multivalued, else ``None``."""
        name = key.lower()
        found = self.values.get(name)
        if found is None or name in self.multi or len(found) != 1:
            return None
        return found[0]


def _scalar(value: object) -> str:
    # JSON-ish spelling, so a Bool condition compares "true" with "true".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _principal_keys(principal: Principal) -> dict[str, str]:
    """The global keys AWS puts in every request of this principal (IAM user guide, "Principal
    key values"): ``aws:username`` only for IAM users, ``aws:userid`` per principal type, tags."""
    keys: dict[str, str] = {}
    types = {"user": "User", "role": "AssumedRole", "root": "Account", "anonymous": "Anonymous"}
    if principal.kind in types:
        keys["aws:PrincipalType"] = types[principal.kind]
    if principal.kind == "user":
        keys["aws:username"] = principal.name
    if principal.unique_id:
        keys["aws:userid"] = principal.unique_id
    if principal.kind in ("user", "root"):
        keys["aws:PrincipalArn"] = principal.arn
    if principal.kind == "role":
        keys["aws:PrincipalArn"] = principal.role_arn
    if principal.account:
        keys["aws:PrincipalAccount"] = principal.account
    if principal.kind == "service":
        keys["aws:PrincipalServiceName"] = principal.name
    if principal.kind != "anonymous":
        keys["aws:PrincipalIsAWSService"] = "true" if principal.kind == "service" else "false"
    for tag, value in principal.tags.items():
        keys[f"aws:PrincipalTag/{tag}"] = value
    return keys
