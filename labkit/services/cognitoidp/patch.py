"""Cognito user pools as AWS runs them: sign-up, confirmation, sign-in and tokens on the lab clock.

moto 5.2.5 keeps users, clients, groups and the sign-in flows, and labkit keeps all of that. What
it does not do, and this module does (each point from the Cognito developer guide and API
reference, numbers in ``facts.toml``):

- **Password policy**: moto answers every broken rule with one invented message; labkit names the
  rule as Cognito does (:mod:`~labkit.services.cognitoidp.sim_passwords`).
- **Confirmation codes**: moto confirms any code. labkit sends a six-digit code to the user's
  email address (or phone) in the pool's verification message when the pool auto-verifies that
  attribute; the message lands in the sandbox mailbox (:mod:`labkit.sandbox.mailbox`).
  ``ConfirmSignUp`` answers ``CodeMismatchException`` for a wrong code and
  ``ExpiredCodeException`` after 24 hours; ``ResendConfirmationCode`` (absent in moto) sends a
  new one. Confirming marks the attribute verified.
- **Tokens**: moto signs every pool's tokens with one key published in its source code (anyone
  can forge them) and a fixed lifetime. labkit gives each pool its own two RSA keys, served as
  the pool's JWKS at ``https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json``
  to ``requests``; tokens carry AWS's claims, ``iat``/``exp`` from the lab clock and the app
  client's token validity (``IdTokenValidity``, ``AccessTokenValidity``,
  ``RefreshTokenValidity``, ``TokenValidityUnits``, with AWS's defaults and ranges), and a
  refreshed token keeps the original ``auth_time``.
- **Expiry**: ``GetUser`` refuses an expired access token ("Access Token has expired") and
  ``REFRESH_TOKEN_AUTH`` an expired refresh token ("Refresh Token has expired").
- **Sign-in flows**: ``InitiateAuth`` with a flow the app client does not allow is refused
  ("USER_PASSWORD_AUTH flow not enabled for this client"); a client without
  ``ExplicitAuthFlows`` allows AWS's defaults. With ``PreventUserExistenceErrors`` on (AWS's
  default for new clients) an unknown user gets "Incorrect username or password.", as a wrong
  password does.

Sources: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-with-identity-providers.html,
https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-managing-errors.html.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.cognitoidp import models as idp
from moto.cognitoidp.exceptions import (
    CodeMismatchException,
    ExpiredCodeException,
    InvalidParameterException,
    NotAuthorizedError,
    ResourceNotFoundError,
    UserNotFoundError,
)
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.cognitoidp.utils import check_secret_hash
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.sandbox.mailbox import Message, mailbox
from labkit.services.cognitoidp.sim_passwords import password_problem
from labkit.services.cognitoidp.sim_tokens import PoolKeys, decode, issuer_url

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: Cognito's default sender for verification email.
SENDER = "no-reply@verificationemail.com"
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
_JWKS = re.compile(
    r"https?://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<pool>[^/]+)"
    r"/\.well-known/jwks\.json$"
)
# Flows InitiateAuth checks against the client's ExplicitAuthFlows (refresh is left to moto).
_CHECKED_FLOWS = ("USER_PASSWORD_AUTH", "USER_SRP_AUTH", "CUSTOM_AUTH")
# The user's own operations that take an access token (GetUser is checked in the backend).
_ACCESS_TOKEN_OPERATIONS = (
    "change_password",
    "global_sign_out",
    "update_user_attributes",
    "verify_software_token",
    "associate_software_token",
    "set_user_mfa_preference",
)


# -- per-pool state kept on moto's own objects (reset and isolation cover it) ----------------


def pool_keys(pool: Any) -> PoolKeys:
    """The pool's signing keys (made on first use)."""
    keys: PoolKeys | None = getattr(pool, "labkit_keys", None)
    if keys is None:
        keys = pool.labkit_keys = PoolKeys(pool.id)
    return keys


def _extras(pool: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] | None = getattr(pool, name, None)
    if found is None:
        found = {}
        setattr(pool, name, found)
    return found


def token_validity(config: dict[str, Any] | None, token_use: str) -> int:
    """Seconds a token of ``token_use`` (``id``, ``access``, ``refresh``) lives under an app
    client's settings (its ``extended_config``): the setting in its unit, else AWS's default."""
    config = config or {}
    field = {"id": "IdTokenValidity", "access": "AccessTokenValidity"}.get(
        token_use, "RefreshTokenValidity"
    )
    unit_key = {"id": "IdToken", "access": "AccessToken"}.get(token_use, "RefreshToken")
    default_unit = "days" if token_use == "refresh" else "hours"
    raw = config.get(field)
    if raw is None:
        default = {"id": "id_token", "access": "access_token"}.get(token_use, "refresh_token")
        return int(facts.value(f"cognito.{default}_validity_default"))
    unit = (config.get("TokenValidityUnits") or {}).get(unit_key) or default_unit
    return int(raw) * _UNIT_SECONDS.get(str(unit), 3600)


def _client_config(client: Any) -> dict[str, Any]:
    return dict(getattr(client, "extended_config", None) or {})


def _check_validity(config: dict[str, Any]) -> None:
    """Refuse token validity settings outside AWS's ranges (CreateUserPoolClient)."""
    low = int(facts.value("cognito.id_access_token_validity_min"))
    high = int(facts.value("cognito.id_access_token_validity_max"))
    for use, field in (("id", "IdTokenValidity"), ("access", "AccessTokenValidity")):
        if config.get(field) is not None and not low <= token_validity(config, use) <= high:
            raise InvalidParameterException(
                f"{field} must be between 5 minutes and 1 day in its unit (TokenValidityUnits)."
            )
    low = int(facts.value("cognito.refresh_token_validity_min"))
    high = int(facts.value("cognito.refresh_token_validity_max"))
    if config.get("RefreshTokenValidity") is not None and not (
        low <= token_validity(config, "refresh") <= high
    ):
        raise InvalidParameterException(
            "RefreshTokenValidity must be between 60 minutes and 10 years in its unit "
            "(TokenValidityUnits)."
        )


# -- tokens ---------------------------------------------------------------------------------


def _attribute_claims(pool: Any, client: Any, user: Any) -> dict[str, Any]:
    """The user's attributes an ID token carries: those the client may read (all by default),
    ``*_verified`` as JSON booleans as Cognito writes them."""
    readable = client.get_readable_fields() if client is not None else []
    claims: dict[str, Any] = {}
    for attribute in user.attributes:
        name, value = attribute["Name"], attribute["Value"]
        if name == "sub" or (readable and name not in readable):
            continue
        claims[name] = value == "true" if name.endswith("_verified") else value
    return claims


def _role_claims(user: Any) -> dict[str, Any]:
    """``cognito:roles`` (the IAM roles of the user's groups) and ``cognito:preferred_role``
    (the role of the group with the lowest precedence, when one group has it alone), as the ID
    token carries them for identity pools' role mapping
    (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-user-groups.html)."""
    with_roles = [g for g in user.groups if g.role_arn]
    if not with_roles:
        return {}
    claims: dict[str, Any] = {"cognito:roles": sorted({g.role_arn for g in with_roles})}
    ranked = sorted((g for g in with_roles if g.precedence is not None), key=lambda g: g.precedence)
    if len(claims["cognito:roles"]) == 1:
        claims["cognito:preferred_role"] = claims["cognito:roles"][0]
    elif ranked and (len(ranked) == 1 or ranked[0].precedence < ranked[1].precedence):
        claims["cognito:preferred_role"] = ranked[0].role_arn
    return claims


def create_jwt(
    self: Any,
    client_id: str,
    username: str,
    token_use: str,
    expires_in: int = 3600,
    extra_data: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """moto's ``CognitoIdpUserPool.create_jwt`` as Cognito issues tokens: the pool's own key,
    the lab clock, the client's validity, AWS's claims in AWS's order."""
    del expires_in  # the client's setting decides, not moto's fixed hour
    extra = dict(extra_data or {})
    user = self._get_user(username)
    client = self.clients.get(client_id)
    now = int(time.time())
    validity = token_validity(_client_config(client), token_use)
    origin_jti = extra.pop("origin_jti", str(mock_random.uuid4()))
    auth_time = _extras(self, "labkit_auth_times").setdefault(origin_jti, now)
    groups = [group.group_name for group in user.groups]
    claims: dict[str, Any] = {"sub": user.id}
    if groups:
        claims["cognito:groups"] = sorted(groups)
    if token_use == "id":
        claims.update(_role_claims(user))
    claims["iss"] = issuer_url(self.region, self.id)
    if token_use == "id":
        claims.update(_attribute_claims(self, client, user))
        claims["cognito:username"] = user.username
        claims["origin_jti"] = origin_jti
        claims["aud"] = client_id
    else:
        claims["version"] = 2
        claims["client_id"] = client_id
        claims["origin_jti"] = origin_jti
    claims["event_id"] = str(mock_random.uuid4())
    claims["token_use"] = token_use
    if token_use == "access":
        claims["scope"] = extra.pop("scope", "aws.cognito.signin.user.admin")
    claims["auth_time"] = auth_time
    claims["exp"] = now + validity
    claims["iat"] = now
    claims["jti"] = str(mock_random.uuid4())
    if token_use == "access":
        claims["username"] = user.username
    for key, value in extra.items():
        if key.startswith("custom:") and token_use == "id":
            claims[key] = value
    return pool_keys(self).sign(claims, token_use), validity


def _expired(token: str) -> bool:
    try:
        exp = decode(token).claims.get("exp")
    except Exception:
        return False
    return isinstance(exp, (int, float)) and time.time() >= exp


def issued_by(backend: Any, token: str) -> Any:
    """The pool of ``backend`` whose key signed ``token`` (listed or not), or ``None``."""
    try:
        decoded = decode(token)
    except Exception:
        return None
    pool = backend.user_pools.get(str(decoded.claims.get("iss", "")).rsplit("/", 1)[-1])
    keys = getattr(pool, "labkit_keys", None)
    if keys is None:
        return None
    kid = decoded.header.get("kid")
    for key in keys.public():
        if key.kid == kid and key.verifies(decoded.signing_input, decoded.signature):
            return pool
    return None


# -- sign-up confirmation -------------------------------------------------------------------


def _delivery_attribute(pool: Any, user: Any) -> str | None:
    """Which attribute Cognito sends the confirmation code to (email before phone), or ``None``
    when the pool verifies neither automatically (then no code is sent at all)."""
    auto = pool.extended_config.get("AutoVerifiedAttributes") or []
    for attribute in ("email", "phone_number"):
        if attribute in auto and user.attribute_lookup.get(attribute):
            return attribute
    return None


def send_code(
    sandbox: Sandbox,
    pool: Any,
    user: Any,
    *,
    attribute: str | None = None,
    validity: str = "cognito.confirmation_code_validity",
) -> str | None:
    """Make a new code for ``user``, send it, and say to which attribute.

    Args:
        sandbox: Whose mailbox receives it.
        pool: The user pool (its message templates).
        user: The user (the code is kept on moto's user object).
        attribute: ``email`` or ``phone_number``; by default the attribute the pool verifies
            automatically (a sign-up confirmation); ``None`` there means nothing is sent.
        validity: The fact that says how long the code stays valid.
    """
    attribute = attribute or _delivery_attribute(pool, user)
    if attribute is None:
        return None
    code = f"{mock_random.randint(0, 999999):06d}"
    user.confirmation_code = code
    user.labkit_code_expires = time.time() + float(facts.value(validity))
    config = pool.extended_config
    template = config.get("VerificationMessageTemplate") or {}
    to = user.attribute_lookup[attribute]
    now = sandbox.clock.now
    if attribute == "email":
        body = config.get("EmailVerificationMessage") or template.get("EmailMessage")
        subject = config.get("EmailVerificationSubject") or template.get("EmailSubject")
        message = Message(
            to,
            str(subject or "Your verification code"),
            str(body or "Your verification code is {####}. ").replace("{####}", code),
            now,
            SENDER,
            "email",
            pool.arn,
        )
    else:
        body = config.get("SmsVerificationMessage") or template.get("SmsMessage")
        text = str(body or "Your verification code is {####}. ").replace("{####}", code)
        message = Message(to, "", text, now, "", "sms", pool.arn)
    mailbox(sandbox).deliver(message)
    return attribute


def delivery_details(user: Any, attribute: str | None) -> dict[str, str] | None:
    """``CodeDeliveryDetails`` for a code sent to ``attribute``, its destination masked as
    Cognito masks it (``a***@e***``, ``+*******1234``)."""
    if attribute is None:
        return None
    value = str(user.attribute_lookup[attribute])
    if attribute == "email":
        local, _, domain = value.partition("@")
        return {
            "Destination": f"{local[:1]}***@{domain[:1]}***",
            "DeliveryMedium": "EMAIL",
            "AttributeName": "email",
        }
    return {
        "Destination": "+*******" + value[-4:],
        "DeliveryMedium": "SMS",
        "AttributeName": "phone_number",
    }


def _pool_of_client(response: Any, client_id: str) -> Any:
    """The user pool that has app client ``client_id`` (in whatever Region it lives)."""
    backend = response._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            return pool
    raise ResourceNotFoundError(client_id)


def _find_user(pool: Any, username: str) -> Any:
    user = pool._get_user(username)
    if not user:
        raise UserNotFoundError("Username/client id combination not found.")
    return user


# -- install --------------------------------------------------------------------------------


def _replace(stack: ExitStack, owner: Any, name: str, new: Any) -> Any:
    original = owner.__dict__.get(name)
    setattr(owner, name, new)

    def undo() -> None:
        if original is None:
            with contextlib.suppress(AttributeError):
                delattr(owner, name)
        else:
            setattr(owner, name, original)

    stack.callback(undo)
    return original


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Make moto's user pools behave as described above while ``sandbox`` runs."""
    pool_cls, backend_cls = idp.CognitoIdpUserPool, idp.CognitoIdpBackend
    _replace(stack, pool_cls, "create_jwt", create_jwt)

    original_refresh = pool_cls.create_refresh_token

    def create_refresh_token(self: Any, client_id: str, username: str) -> tuple[str, str]:
        token, origin_jti = original_refresh(self, client_id, username)
        lives = token_validity(_client_config(self.clients.get(client_id)), "refresh")
        _extras(self, "labkit_refresh_expiry")[token] = time.time() + lives
        return token, origin_jti

    _replace(stack, pool_cls, "create_refresh_token", create_refresh_token)

    original_from_refresh = pool_cls.create_tokens_from_refresh_token

    def create_tokens_from_refresh_token(self: Any, refresh_token: str) -> Any:
        expiry = _extras(self, "labkit_refresh_expiry").get(refresh_token)
        if expiry is not None and time.time() >= expiry:
            raise NotAuthorizedError("Refresh Token has expired")
        return original_from_refresh(self, refresh_token)

    _replace(stack, pool_cls, "create_tokens_from_refresh_token", create_tokens_from_refresh_token)

    def validate_password(self: Any, user_pool_id: str, password: str) -> None:
        pool = self.describe_user_pool(user_pool_id)
        policy = (pool.extended_config.get("Policies") or {}).get("PasswordPolicy")
        problem = password_problem(password or "", policy)
        if problem:
            raise JsonRESTError("InvalidPasswordException", problem)

    _replace(stack, backend_cls, "_validate_password", validate_password)

    original_get_user = backend_cls.get_user

    def get_user(self: Any, access_token: str) -> Any:
        for pool in self.user_pools.values():
            if access_token in pool.access_tokens:
                if _expired(access_token):
                    raise NotAuthorizedError("Access Token has expired")
                return original_get_user(self, access_token)
        if issued_by(self, access_token) is not None:
            # Genuine, but no longer listed: signed out (GlobalSignOut, RevokeToken).
            raise NotAuthorizedError("Access Token has been revoked")
        raise NotAuthorizedError("Invalid Access Token")

    _replace(stack, backend_cls, "get_user", get_user)

    original_sign_up = backend_cls.sign_up

    def sign_up(self: Any, client_id: str, *args: Any, **kwargs: Any) -> Any:
        user, _moto_details = original_sign_up(self, client_id, *args, **kwargs)
        pool = next(p for p in self.user_pools.values() if client_id in p.clients)
        # Where the code went, not moto's guess from the account-recovery settings; nothing
        # sent means no CodeDeliveryDetails in AWS's response.
        return user, delivery_details(user, send_code(sandbox, pool, user))

    _replace(stack, backend_cls, "sign_up", sign_up)

    original_details = backend_cls._get_code_delivery_details

    def code_delivery_details(self: Any, *args: Any, **kwargs: Any) -> Any:
        # moto's SignUp asks this with the account-recovery settings and so fails for an
        # admin_only pool; labkit reports where the code really went (delivery_details).
        try:
            return original_details(self, *args, **kwargs)
        except NotAuthorizedError:
            return {}

    _replace(stack, backend_cls, "_get_code_delivery_details", code_delivery_details)

    original_initiate = backend_cls.initiate_auth

    def initiate_auth(
        self: Any, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
    ) -> Any:
        pool = next((p for p in self.user_pools.values() if client_id in p.clients), None)
        client = pool.clients[client_id] if pool is not None else None
        secret_flows = ("USER_PASSWORD_AUTH", "USER_SRP_AUTH")
        if client is not None and client.generate_secret and auth_flow in secret_flows:
            _check_secret_hash(client, auth_parameters)
        if client is not None and auth_flow in _CHECKED_FLOWS:
            allowed = (
                client.extended_config.get("ExplicitAuthFlows")
                or str(facts.value("cognito.default_explicit_auth_flows")).split()
            )
            if f"ALLOW_{auth_flow}" not in allowed and auth_flow not in allowed:
                raise InvalidParameterException(f"{auth_flow} flow not enabled for this client")
        try:
            return original_initiate(self, client_id, auth_flow, auth_parameters)
        except UserNotFoundError:
            prevent = client.extended_config.get("PreventUserExistenceErrors") if client else None
            if prevent == "LEGACY":
                raise
            raise NotAuthorizedError("Incorrect username or password.") from None

    _replace(stack, backend_cls, "initiate_auth", initiate_auth)

    for name in ("create_user_pool_client", "update_user_pool_client"):
        _wrap_client_settings(stack, backend_cls, name)

    _install_responses(sandbox, stack)
    for name in _ACCESS_TOKEN_OPERATIONS:
        _guard_access_token(stack, name)
    _install_jwks(stack)


def _check_secret_hash(client: Any, parameters: dict[str, str]) -> None:
    """A client with a secret must prove it knows it (``SECRET_HASH``), as Cognito demands."""
    secret_hash = parameters.get("SECRET_HASH")
    if not secret_hash:
        raise NotAuthorizedError(
            f"Client {client.id} is configured with secret but SECRET_HASH was not received"
        )
    if not check_secret_hash(client.secret, client.id, parameters.get("USERNAME", ""), secret_hash):
        raise NotAuthorizedError(f"Unable to verify secret hash for client {client.id}")


def _guard_access_token(stack: ExitStack, name: str) -> None:
    """Refuse an expired access token in operation ``name`` (moto checks none)."""
    original = CognitoIdpResponse.__dict__.get(name)
    if original is None:
        return

    def guarded(self: Any) -> Any:
        token = self._get_param("AccessToken")
        if token and _expired(token):
            raise NotAuthorizedError("Access Token has expired")
        pools = self.backend.user_pools.values()
        listed = any(token in p.access_tokens for p in pools)
        if token and not listed and issued_by(self.backend, token) is not None:
            raise NotAuthorizedError("Access Token has been revoked")
        return original(self)

    _replace(stack, CognitoIdpResponse, name, guarded)


def _wrap_client_settings(stack: ExitStack, backend_cls: Any, name: str) -> None:
    original = getattr(backend_cls, name)

    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        config = kwargs.get("extended_config", args[-1] if args else None)
        if isinstance(config, dict):
            _check_validity(config)
        return original(self, *args, **kwargs)

    _replace(stack, backend_cls, name, checked)


def _install_responses(sandbox: Sandbox, stack: ExitStack) -> None:
    original_confirm: Callable[[Any], Any] = CognitoIdpResponse.confirm_sign_up

    def confirm_sign_up(self: Any) -> Any:
        client_id = self._get_param("ClientId")
        username = self._get_param("Username")
        code = str(self._get_param("ConfirmationCode") or "")
        pool = _pool_of_client(self, client_id)
        user = _find_user(pool, username)
        if user.status == idp.UserStatus.CONFIRMED:
            raise NotAuthorizedError("User cannot be confirmed. Current status is CONFIRMED")
        if not user.confirmation_code or code != user.confirmation_code:
            raise CodeMismatchException("Invalid verification code provided, please try again.")
        if time.time() >= getattr(user, "labkit_code_expires", float("inf")):
            raise ExpiredCodeException("Invalid code provided, please request a code again.")
        attribute = _delivery_attribute(pool, user)
        user.confirmation_code = None
        if attribute is not None:
            user.update_attributes([{"Name": f"{attribute}_verified", "Value": "true"}])
        return original_confirm(self)

    _replace(stack, CognitoIdpResponse, "confirm_sign_up", confirm_sign_up)

    def resend_confirmation_code(self: Any) -> Any:
        client_id = self._get_param("ClientId")
        pool = _pool_of_client(self, client_id)
        user = _find_user(pool, self._get_param("Username"))
        if user.status == idp.UserStatus.CONFIRMED:
            raise InvalidParameterException("User is already confirmed.")
        attribute = send_code(sandbox, pool, user)
        if attribute is None:
            raise InvalidParameterException(
                "Auto verification not turned on for this user pool (AutoVerifiedAttributes)."
            )
        return ActionResult({"CodeDeliveryDetails": delivery_details(user, attribute)})

    _replace(stack, CognitoIdpResponse, "resend_confirmation_code", resend_confirmation_code)


def _install_jwks(stack: ExitStack) -> None:
    """Answer ``GET`` of a pool's ``jwks.json`` with that pool's keys (moto serves one fixed
    key set for every pool, the one its tokens used)."""
    import responses
    from moto.core.models import responses_mock

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        match = _JWKS.match(request.url.split("?", 1)[0])
        assert match is not None
        pool = _find_pool(match["region"], match["pool"])
        if pool is None:
            body = {
                "code": "ResourceNotFoundException",
                "message": f"User pool {match['pool']} does not exist.",
            }
            return 404, {"Content-Type": "application/json"}, json.dumps(body)
        return 200, {"Content-Type": "application/json"}, json.dumps(pool_keys(pool).jwks())

    matcher = responses.CallbackResponse(method="GET", url=_JWKS, callback=answer)
    registry = responses_mock._registry
    previous = registry.__dict__.get("find")
    scan = registry.find

    def find(request: Any) -> Any:
        if request.method == "GET" and _JWKS.match(request.url.split("?", 1)[0]):
            return matcher, []
        return scan(request)

    registry.find = find  # type: ignore[method-assign]

    def undo() -> None:
        if registry.__dict__.get("find") is find:
            if previous is None:
                del registry.find
            else:
                registry.find = previous  # type: ignore[method-assign]

    stack.callback(undo)


def _find_pool(region: str, pool_id: str) -> Any:
    from labkit.sandbox.backends import existing_services

    for service, found_region, backend in existing_services():
        if service == "cognito-idp" and found_region == region and pool_id in backend.user_pools:
            return backend.user_pools[pool_id]
    return None


__all__ = [
    "SENDER",
    "create_jwt",
    "delivery_details",
    "install",
    "issued_by",
    "pool_keys",
    "send_code",
    "token_validity",
]
