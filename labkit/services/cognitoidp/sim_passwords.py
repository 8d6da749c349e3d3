"""A user pool's password policy, checked as Cognito checks it at sign-up.

The policy's fields and defaults are AWS's ``PasswordPolicyType``
(https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_PasswordPolicyType.html;
defaults in ``facts.toml``: ``cognito.password_min_length_default``); the special characters
are the ones the Cognito developer guide lists
(https://docs.aws.amazon.com/cognito/latest/developerguide/managing-users-passwords.html), a
space counting only when it is neither first nor last. A password that breaks the policy gets
``InvalidPasswordException`` with a message naming the first rule it breaks, in Cognito's words
("Password did not conform with policy: Password not long enough"); when it breaks several,
labkit names them in a fixed order (length, lowercase, uppercase, numbers, symbols).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit import facts

SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-")
_PREFIX = "Password did not conform with policy: "


def _symbol(password: str, index: int) -> bool:
    char = password[index]
    if char == " ":
        return 0 < index < len(password) - 1
    return char in SYMBOLS


def password_problem(password: str, policy: Mapping[str, Any] | None) -> str | None:
    """Cognito's message for the first rule ``password`` breaks, or ``None`` when it is valid.

    Args:
        password: The proposed password.
        policy: The pool's ``Policies.PasswordPolicy`` (missing fields take AWS's defaults).
    """
    rules = dict(policy or {})
    minimum = int(rules.get("MinimumLength", facts.value("cognito.password_min_length_default")))
    if len(password) < minimum:
        return _PREFIX + "Password not long enough"
    checks = (
        ("RequireLowercase", any(c.islower() for c in password), "lowercase characters"),
        ("RequireUppercase", any(c.isupper() for c in password), "uppercase characters"),
        ("RequireNumbers", any(c.isdigit() for c in password), "numeric characters"),
        (
            "RequireSymbols",
            any(_symbol(password, i) for i in range(len(password))),
            "symbol characters",
        ),
    )
    for field, present, what in checks:
        if rules.get(field, True) and not present:
            return _PREFIX + f"Password must have {what}"
    return None


__all__ = ["SYMBOLS", "password_problem"]
