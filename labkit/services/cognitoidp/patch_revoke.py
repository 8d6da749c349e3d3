"""``RevokeToken``: a refresh token and every token issued from it stop working.

moto has no ``RevokeToken``. As AWS documents
(https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RevokeToken.html),
revoking a refresh token revokes it and the access tokens issued from it (the same
``origin_jti``): ``REFRESH_TOKEN_AUTH`` with it is refused ("Refresh Token has been revoked") and
``GetUser`` with those access tokens answers "Access Token has been revoked". A token that is not
a refresh token of this client changes nothing, as the OAuth revocation standard asks. Tokens
already handed to a resource server stay valid there until they expire: a JWT verifier cannot
know (API Gateway's Cognito authorizer does not either).
"""

from __future__ import annotations

import contextlib
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import EmptyResult

from labkit.services.cognitoidp.sim_tokens import decode

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


def revoke(pool: Any, client_id: str, refresh_token: str) -> bool:
    """Revoke ``refresh_token`` of ``client_id`` and its access tokens; whether it was one."""
    entry = pool.refresh_tokens.get(refresh_token)
    if not entry or entry[0] != client_id:
        return False
    origin = entry[2]
    pool.refresh_tokens[refresh_token] = None
    for token in list(pool.access_tokens):
        with contextlib.suppress(Exception):
            if decode(token).claims.get("origin_jti") == origin:
                del pool.access_tokens[token]
    return True


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer ``RevokeToken`` while ``sandbox`` runs."""
    del sandbox

    def revoke_token(self: Any) -> Any:
        client_id = self._get_param("ClientId")
        backend = self._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
        for pool in backend.user_pools.values():
            if client_id in pool.clients:
                revoke(pool, client_id, str(self._get_param("Token") or ""))
        return EmptyResult()

    CognitoIdpResponse.revoke_token = revoke_token  # type: ignore[attr-defined]

    def undo() -> None:
        with contextlib.suppress(AttributeError):
            del CognitoIdpResponse.revoke_token  # type: ignore[attr-defined]

    stack.callback(undo)


__all__ = ["install", "revoke"]
