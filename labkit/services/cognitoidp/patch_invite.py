"""Users an administrator creates: a temporary password by mail, valid for a week.

moto's ``AdminCreateUser`` without ``TemporaryPassword`` leaves the user with no password at all
(nobody can ever sign in), accepts a temporary password that breaks the pool's policy, and sends
nothing. As AWS documents
(https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/how-to-create-user-accounts.html):

- a temporary password is made when none is given (one the policy accepts), and a given one must
  meet the policy (``InvalidPasswordException``);
- unless ``MessageAction`` is ``SUPPRESS``, the invitation (the pool's ``InviteMessageTemplate``,
  ``{username}`` and ``{####}`` filled in) goes to the user's email and/or phone as
  ``DesiredDeliveryMediums`` asks (``SMS`` by default), into the sandbox mailbox; ``RESEND``
  sends a new temporary password to an existing user;
- the temporary password expires after the policy's ``TemporaryPasswordValidityDays`` (7 by
  default): signing in with it then fails (:func:`temporary_password_expired`).
"""

from __future__ import annotations

import contextlib
import string
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.cognitoidp import models as idp
from moto.cognitoidp.exceptions import NotAuthorizedError
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.sandbox.mailbox import Message, mailbox
from labkit.services.cognitoidp.patch import SENDER
from labkit.services.cognitoidp.sim_passwords import password_problem

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: Cognito's message when a temporary password is used after it expired.
EXPIRED = "Temporary password has expired and must be reset by an administrator."


def _policy(pool: Any) -> dict[str, Any]:
    return dict((pool.extended_config.get("Policies") or {}).get("PasswordPolicy") or {})


def make_password(policy: dict[str, Any]) -> str:
    """A temporary password the pool's policy accepts (upper, lower, digit, symbol, long)."""
    length = max(int(policy.get("MinimumLength", 8)), 8) + 4
    letters = string.ascii_letters + string.digits
    body = "".join(mock_random.choice(letters) for _ in range(length - 4))
    return (
        mock_random.choice(string.ascii_uppercase)
        + mock_random.choice(string.ascii_lowercase)
        + body
        + mock_random.choice(string.digits)
        + mock_random.choice("!#%+=")
    )


def temporary_password_expired(user: Any) -> bool:
    """Whether ``user`` still has only a temporary password, and it has expired."""
    expires = getattr(user, "labkit_temporary_expires", None)
    return bool(
        expires is not None
        and user.status == idp.UserStatus.FORCE_CHANGE_PASSWORD
        and time.time() >= expires
    )


def _invite(sandbox: Sandbox, pool: Any, user: Any, password: str, mediums: list[str]) -> None:
    config = pool.extended_config.get("AdminCreateUserConfig") or {}
    template = config.get("InviteMessageTemplate") or {}
    default = "Your username is {username} and temporary password is {####}. "

    def fill(text: str) -> str:
        return text.replace("{username}", user.username).replace("{####}", password)

    now, box = sandbox.clock.now, mailbox(sandbox)
    email = user.attribute_lookup.get("email")
    if "EMAIL" in mediums and email:
        box.deliver(
            Message(
                email,
                str(template.get("EmailSubject") or "Your temporary password"),
                fill(str(template.get("EmailMessage") or default)),
                now,
                SENDER,
                "email",
                pool.arn,
            )
        )
    phone = user.attribute_lookup.get("phone_number")
    if "SMS" in mediums and phone:
        text = fill(str(template.get("SMSMessage") or default))
        box.deliver(Message(phone, "", text, now, "", "sms", pool.arn))


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer ``AdminCreateUser`` as above while ``sandbox`` runs."""
    original = CognitoIdpResponse.__dict__["admin_create_user"]

    def admin_create_user(self: Any) -> Any:
        pool_id = self._get_param("UserPoolId")
        username = self._get_param("Username")
        action = self._get_param("MessageAction")
        given = self._get_param("TemporaryPassword")
        pool = self.backend.describe_user_pool(pool_id)
        policy = _policy(pool)
        if given:
            problem = password_problem(given, policy)
            if problem:
                raise JsonRESTError("InvalidPasswordException", problem)
        if action == "RESEND":
            user = self.backend.admin_get_user(pool_id, username)
            if user.status != idp.UserStatus.FORCE_CHANGE_PASSWORD:
                raise JsonRESTError(
                    "UnsupportedUserStateException",
                    f"Resend not possible. {user.username} status is not FORCE_CHANGE_PASSWORD.",
                )
        else:
            original(self)
            user = self.backend.admin_get_user(pool_id, username)
        password = given or make_password(policy)
        user.password = password
        days = policy.get("TemporaryPasswordValidityDays")
        if days is None:
            days = facts.value("cognito.temporary_password_validity_default") / 86400
        user.labkit_temporary_expires = time.time() + float(days) * 86400
        if action != "SUPPRESS":
            mediums = list(self._get_param("DesiredDeliveryMediums") or ["SMS"])
            _invite(sandbox, pool, user, password, mediums)
        return ActionResult({"User": user.to_json(extended=True)})

    backend_cls = idp.CognitoIdpBackend
    original_initiate = backend_cls.initiate_auth

    def initiate_auth(
        self: Any, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
    ) -> Any:
        # Inside the user-pool patch's client checks, outside SRP: both sign-in flows see it.
        params = auth_parameters or {}
        if auth_flow in ("USER_PASSWORD_AUTH", "USER_SRP_AUTH"):
            pool = next((p for p in self.user_pools.values() if client_id in p.clients), None)
            user = pool._get_user(params.get("USERNAME", "")) if pool is not None else None
            right = auth_flow == "USER_SRP_AUTH" or (
                user is not None and user.password == params.get("PASSWORD")
            )
            if user is not None and right and temporary_password_expired(user):
                raise NotAuthorizedError(EXPIRED)
        return original_initiate(self, client_id, auth_flow, auth_parameters)

    CognitoIdpResponse.admin_create_user = admin_create_user  # type: ignore[method-assign]
    backend_cls.initiate_auth = initiate_auth  # type: ignore[method-assign]

    def undo() -> None:
        with contextlib.suppress(AttributeError):
            CognitoIdpResponse.admin_create_user = original  # type: ignore[method-assign]
            backend_cls.initiate_auth = original_initiate  # type: ignore[method-assign]

    stack.callback(undo)


__all__ = ["EXPIRED", "install", "make_password", "temporary_password_expired"]
