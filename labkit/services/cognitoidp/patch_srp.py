"""``USER_SRP_AUTH`` as Cognito runs it: the password is proved, never sent, and must be right.

moto answers ``InitiateAuth`` with ``USER_SRP_AUTH`` with random ``SRP_B`` and ``SALT`` and a
``SECRET_BLOCK`` no client can decode, and its ``RespondToAuthChallenge`` (``PASSWORD_VERIFIER``)
accepts any signature: anyone signs in as anyone without the password. Here the server side of
Cognito's SRP (:mod:`labkit.services.cognitoidp.sim_srp`) answers instead: a real challenge from
the user's password, a base64 secret block, and a signature check; a wrong password gets
"Incorrect username or password.", as a wrong password does in ``USER_PASSWORD_AUTH``. What
follows a correct signature (tokens, ``NEW_PASSWORD_REQUIRED``, MFA) stays moto's.
Source: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow-methods.html.
"""

from __future__ import annotations

import base64
import contextlib
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.cognitoidp import models as idp
from moto.cognitoidp.exceptions import (
    InvalidParameterException,
    NotAuthorizedError,
    UserNotConfirmedException,
)
from moto.moto_api._internal import mock_random

from labkit.services.cognitoidp.sim_srp import ServerChallenge

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_WRONG = "Incorrect username or password."


def _challenges(pool: Any) -> dict[str, ServerChallenge]:
    found: dict[str, ServerChallenge] | None = getattr(pool, "labkit_srp", None)
    if found is None:
        found = pool.labkit_srp = {}
    return found


def start(backend: Any, pool: Any, parameters: dict[str, str]) -> dict[str, Any]:
    """The ``PASSWORD_VERIFIER`` challenge for ``USERNAME`` and the client's ``SRP_A``."""
    username = parameters.get("USERNAME", "")
    srp_a = parameters.get("SRP_A", "")
    if not srp_a:
        raise InvalidParameterException("Missing required parameter SRP_A")
    user = pool._get_user(username)
    if not user or not user.enabled:
        raise NotAuthorizedError(_WRONG)
    if user.status == idp.UserStatus.UNCONFIRMED:
        raise UserNotConfirmedException("User is not confirmed.")
    salt = f"{mock_random.getrandbits(128):032x}"
    try:
        challenge = ServerChallenge.start(
            pool.id,
            user.username,
            user.password or "",
            srp_a,
            salt_hex=salt,
            small_b=mock_random.getrandbits(256) or 1,
        )
    except ValueError:
        raise InvalidParameterException("SRP_A is not valid") from None
    secret_block = base64.standard_b64encode(mock_random.getrandbits(1024).to_bytes(128, "big"))
    block = secret_block.decode("ascii")
    _challenges(pool)[block] = challenge
    # moto finds the pool of a PASSWORD_VERIFIER answer by its secret block.
    backend.sessions[block] = (user.username, pool)
    return {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": salt,
            "SRP_B": f"{challenge.big_b:x}",
            "USERNAME": user.username,
            "USER_ID_FOR_SRP": user.username,
            "SECRET_BLOCK": block,
        },
    }


def check(backend: Any, responses: dict[str, str]) -> None:
    """Refuse a ``PASSWORD_VERIFIER`` answer whose signature does not prove the password."""
    block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")
    entry = backend.sessions.get(block)
    challenge = _challenges(entry[1]).pop(block, None) if entry else None
    if challenge is None:
        raise NotAuthorizedError("Invalid session for the user.")
    signature = responses.get("PASSWORD_CLAIM_SIGNATURE", "")
    timestamp = responses.get("TIMESTAMP", "")
    if not challenge.accepts(signature, block, timestamp):
        backend.sessions.pop(block, None)
        raise NotAuthorizedError(_WRONG)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Run SRP sign-in as Cognito does while ``sandbox`` runs."""
    del sandbox
    backend_cls = idp.CognitoIdpBackend
    original_initiate = backend_cls.initiate_auth
    original_respond = backend_cls.respond_to_auth_challenge

    def initiate_auth(
        self: Any, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
    ) -> Any:
        if auth_flow != "USER_SRP_AUTH":
            return original_initiate(self, client_id, auth_flow, auth_parameters)
        pool = next((p for p in self.user_pools.values() if client_id in p.clients), None)
        if pool is None:
            # moto's own answer for an unknown client.
            return original_initiate(self, client_id, auth_flow, auth_parameters)
        return start(self, pool, auth_parameters or {})

    def respond_to_auth_challenge(
        self: Any,
        session: str,
        client_id: str,
        challenge_name: str,
        challenge_responses: dict[str, str],
    ) -> Any:
        if challenge_name == "PASSWORD_VERIFIER":
            check(self, challenge_responses or {})
        return original_respond(self, session, client_id, challenge_name, challenge_responses)

    # Installed before the cognitoidp patch, which wraps this: its client checks (allowed
    # flows, SECRET_HASH, unknown users) run first, and this answers only what they let through.
    backend_cls.initiate_auth = initiate_auth  # type: ignore[method-assign]
    backend_cls.respond_to_auth_challenge = respond_to_auth_challenge  # type: ignore[method-assign]

    def undo() -> None:
        with contextlib.suppress(AttributeError):
            backend_cls.initiate_auth = original_initiate  # type: ignore[method-assign]
            backend_cls.respond_to_auth_challenge = original_respond  # type: ignore[method-assign]

    stack.callback(undo)


__all__ = ["check", "install", "start"]
