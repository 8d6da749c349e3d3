"""Whether a statement's ``Principal`` names the caller, and how directly.

Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html.

- ``"*"`` and ``{"AWS": "*"}`` name everyone, anonymous callers and AWS services included.
- ``{"AWS": "123456789012"}`` and ``{"AWS": "arn:aws:iam::123456789012:root"}`` name the
  *account*: "this delegates authority to the account", whose IAM users and roles still need
  their own identity-based permission. They do not name AWS services or anonymous callers.
- ``{"AWS": "arn:aws:iam::123456789012:user/alice"}`` names that user;
  ``{"AWS": "arn:aws:iam::123456789012:role/app"}`` names the role, and so every session of it;
  ``{"AWS": "arn:aws:sts::123456789012:assumed-role/app/s1"}`` names one session.
- ``{"Service": "sns.amazonaws.com"}``, ``{"Federated": "cognito-identity.amazonaws.com"}`` and
  ``{"CanonicalUser": "..."}`` name a service, an identity provider, an S3 canonical user.
- "You cannot use a wildcard to match part of a principal name or ARN": ``arn:aws:iam::*:root``
  names nobody.

:func:`match` answers with a :class:`PrincipalMatch`; its ``direct`` flag is what the same-account
rule of the engine needs (a grant to the account itself is only a delegation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from labkit.policy.request import Principal

_ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class PrincipalMatch:
    """How a principal element covers the caller.

    Attributes:
        matched: Whether it covers the caller at all.
        direct: Whether it names the caller itself (``*``, its user / role / session ARN, its
            service) rather than only its account.
    """

    matched: bool
    direct: bool = False


NO_MATCH = PrincipalMatch(False)


def match(element: Mapping[str, tuple[str, ...]], principal: Principal) -> PrincipalMatch:
    """The best way ``element`` (a normalised ``Principal``) covers ``principal``."""
    best = NO_MATCH
    for kind, names in element.items():
        for name in names:
            found = _match_one(kind, name.strip(), principal)
            if found.direct:
                return found
            if found.matched:
                best = found
    return best


def _match_one(kind: str, name: str, principal: Principal) -> PrincipalMatch:
    if kind == "*" or (kind == "AWS" and name == "*"):
        return PrincipalMatch(True, True)
    if kind == "Service":
        hit = principal.kind == "service" and name.lower() == principal.name.lower()
        return PrincipalMatch(hit, hit)
    if kind == "Federated":
        hit = principal.kind == "federated" and name == principal.name
        return PrincipalMatch(hit, hit)
    if kind == "CanonicalUser":
        hit = bool(principal.canonical_id) and name == principal.canonical_id
        return PrincipalMatch(hit, hit)
    if kind != "AWS" or principal.kind not in ("user", "role", "root"):
        return NO_MATCH
    account = _account_named(name)
    if account:
        # An account principal: every IAM principal of the account, through delegation; for
        # the root user it is the principal itself.
        if account != principal.account:
            return NO_MATCH
        return PrincipalMatch(True, principal.kind == "root")
    if name == principal.arn or (principal.kind == "role" and name == principal.role_arn):
        return PrincipalMatch(True, True)
    return NO_MATCH


def _account_named(name: str) -> str:
    """The account id when ``name`` is an account principal (``123456789012`` or its root
    ARN), else ``""``."""
    if _ACCOUNT_ID.fullmatch(name):
        return name
    parts = name.split(":")
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5] == "root":
        return parts[4]
    return ""


def describe(element: Mapping[str, tuple[str, ...]]) -> str:
    """The principals an element names, for an explanation."""
    if "*" in element:
        return "everyone (*)"
    return ", ".join(name for names in element.values() for name in names)
