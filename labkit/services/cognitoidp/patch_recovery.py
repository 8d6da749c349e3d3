"""Forgotten passwords as Cognito handles them: a recovery code by mail, valid for one hour.

moto's ``ForgotPassword`` returns its code in a private HTTP header
(``x-moto-forgot-password-confirmation-code``) and ``ConfirmForgotPassword`` accepts any code
that does not start with ``moto-confirmation-code:``, and any new password. As AWS documents
(https://docs.aws.amazon.com/cognito/latest/developerguide/how-to-recover-a-user-account.html,
https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ForgotPassword.html):

- the code goes to a *verified* phone number or email address, chosen by the pool's
  ``AccountRecoverySetting`` (lowest ``Priority`` first) or, without one, a verified phone first
  and then a verified email; ``admin_only`` refuses ("Contact administrator to reset
  password."); a user with neither gets ``InvalidParameterException``; the message lands in the
  sandbox mailbox;
- ``ConfirmForgotPassword`` needs that code (``CodeMismatchException``), within an hour
  (``ExpiredCodeException``), and a new password the policy accepts
  (``InvalidPasswordException`` naming the rule).
"""

from __future__ import annotations

import contextlib
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.cognitoidp.exceptions import (
    CodeMismatchException,
    ExpiredCodeException,
    InvalidParameterException,
    NotAuthorizedError,
    UserNotFoundError,
)
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult, EmptyResult

from labkit.services.cognitoidp.patch import delivery_details, send_code

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_MECHANISMS = {"verified_email": "email", "verified_phone_number": "phone_number"}
_LEGACY = ("verified_phone_number", "verified_email")


def recovery_attribute(pool: Any, user: Any) -> str:
    """Where a recovery code for ``user`` goes (``email`` or ``phone_number``).

    Raises:
        NotAuthorizedError: The pool lets only administrators reset passwords.
        InvalidParameterException: The user has no verified address the pool may use.
    """
    setting = (pool.extended_config.get("AccountRecoverySetting") or {}).get("RecoveryMechanisms")
    if setting:
        names = [m["Name"] for m in sorted(setting, key=lambda m: int(m.get("Priority", 1)))]
    else:
        names = list(_LEGACY)
    if names == ["admin_only"]:
        raise NotAuthorizedError("Contact administrator to reset password.")
    for name in names:
        attribute = _MECHANISMS.get(name)
        if attribute and user.attribute_lookup.get(f"{attribute}_verified") == "true":
            return attribute
    raise InvalidParameterException(
        "Cannot reset password for the user as there is no registered/verified email or "
        "phone_number"
    )


def _pool_and_user(response: Any, client_id: str, username: str) -> tuple[Any, Any, Any]:
    backend = response._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            user = pool._get_user(username)
            if not user:
                raise UserNotFoundError("Username/client id combination not found.")
            return backend, pool, user
    raise UserNotFoundError("Username/client id combination not found.")


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer ``ForgotPassword`` and ``ConfirmForgotPassword`` as above while ``sandbox`` runs."""

    def forgot_password(self: Any) -> Any:
        _, pool, user = _pool_and_user(
            self, self._get_param("ClientId"), self._get_param("Username")
        )
        attribute = recovery_attribute(pool, user)
        send_code(
            sandbox,
            pool,
            user,
            attribute=attribute,
            validity="cognito.password_reset_code_validity",
        )
        return ActionResult({"CodeDeliveryDetails": delivery_details(user, attribute)})

    def confirm_forgot_password(self: Any) -> Any:
        backend, pool, user = _pool_and_user(
            self, self._get_param("ClientId"), self._get_param("Username")
        )
        code = str(self._get_param("ConfirmationCode") or "")
        if not user.confirmation_code or code != user.confirmation_code:
            raise CodeMismatchException("Invalid verification code provided, please try again.")
        if time.time() >= getattr(user, "labkit_code_expires", float("inf")):
            raise ExpiredCodeException("Invalid code provided, please request a code again.")
        password = str(self._get_param("Password") or "")
        backend._validate_password(pool.id, password)
        user.password = password
        user.confirmation_code = None
        return EmptyResult()

    for name, new in (
        ("forgot_password", forgot_password),
        ("confirm_forgot_password", confirm_forgot_password),
    ):
        original = CognitoIdpResponse.__dict__[name]
        setattr(CognitoIdpResponse, name, new)
        stack.callback(_restorer(name, original))


def _restorer(name: str, original: Any) -> Any:
    def restore() -> None:
        with contextlib.suppress(AttributeError):
            setattr(CognitoIdpResponse, name, original)

    return restore


__all__ = ["install", "recovery_attribute"]
