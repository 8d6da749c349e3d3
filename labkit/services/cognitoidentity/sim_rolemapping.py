"""Which role an identity pool gives a signed-in user: role mapping by token or by rules.

Without a role mapping every signed-in user gets the pool's authenticated role. A mapping for a
login provider (key ``cognito-idp.<region>.amazonaws.com/<pool-id>:<app-client-id>``) chooses
from the user's ID token instead
(https://docs.aws.amazon.com/cognito/latest/developerguide/role-based-access-control.html,
https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_RoleMapping.html):

- ``Token``: the ``cognito:preferred_role`` claim (the role of the user's group with the lowest
  precedence), or the request's ``CustomRoleArn`` if it is one of the token's ``cognito:roles``,
  or the only role in ``cognito:roles``;
- ``Rules``: the first rule whose claim matches (``Equals``, ``Contains``, ``StartsWith``,
  ``NotEqual``; a list claim such as ``cognito:groups`` ``Contains`` a value when one of its
  items equals it);
- otherwise the choice is ambiguous, and ``AmbiguousRoleResolution`` decides:
  ``AuthenticatedRole`` falls back to the pool's authenticated role, ``Deny`` gives nothing.

Plain Python: the identity-pool patch asks :func:`choose_role`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.errors import LabkitError


class RoleMappingError(LabkitError):
    """The mapping gives the user no role (``Deny``, or a ``CustomRoleArn`` not in the token)."""

    code = "RoleMappingDenied"


def _matches(claim: Any, match_type: str, value: str) -> bool:
    items = [str(v) for v in claim] if isinstance(claim, (list, tuple)) else None
    text = ",".join(items) if items is not None else ("" if claim is None else str(claim))
    if match_type == "Equals":
        return claim is not None and text == value
    if match_type == "NotEqual":
        return claim is not None and text != value
    if match_type == "StartsWith":
        return claim is not None and text.startswith(value)
    if match_type == "Contains":
        return value in items if items is not None else value in text
    return False


def choose_role(
    mapping: Mapping[str, Any] | None,
    claims: Mapping[str, Any],
    *,
    authenticated_role: str | None,
    custom_role: str | None = None,
) -> str | None:
    """The role ARN a signed-in user gets (``None`` when the pool has none for them).

    Args:
        mapping: The pool's ``RoleMappings`` entry for the user's provider and client, if any.
        claims: The user's ID-token claims.
        authenticated_role: The pool's ``authenticated`` role.
        custom_role: ``CustomRoleArn`` from ``GetCredentialsForIdentity``.

    Raises:
        RoleMappingError: The mapping denies an ambiguous choice, or ``custom_role`` is not one
            of the token's roles.
    """
    if not mapping:
        return authenticated_role
    kind = mapping.get("Type")
    if kind == "Token":
        roles = [str(r) for r in claims.get("cognito:roles") or []]
        if custom_role:
            if custom_role not in roles:
                raise RoleMappingError(
                    f"CustomRoleArn {custom_role} is not one of the token's cognito:roles."
                )
            return custom_role
        preferred = claims.get("cognito:preferred_role")
        if preferred:
            return str(preferred)
        if len(roles) == 1:
            return roles[0]
    elif kind == "Rules":
        rules = (mapping.get("RulesConfiguration") or {}).get("Rules") or []
        for rule in rules:
            claim = claims.get(str(rule.get("Claim", "")))
            if _matches(claim, str(rule.get("MatchType", "")), str(rule.get("Value", ""))):
                return str(rule["RoleARN"])
    if mapping.get("AmbiguousRoleResolution") == "AuthenticatedRole":
        return authenticated_role
    raise RoleMappingError(
        "The identity pool's role mapping matched no role for this user and denies ambiguous "
        "choices (AmbiguousRoleResolution: Deny)."
    )


__all__ = ["RoleMappingError", "choose_role"]
