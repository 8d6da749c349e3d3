"""IAM with AWS's managed policies, as in every real account, loaded one policy at a time.

Every AWS account can use AWS managed policies such as
``arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole``: AWS's own Lambda
getting-started code attaches it to the function's role ("AWS managed policies ... are created
and administered by AWS", https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html).
Stock moto starts IAM without them (``NoSuchEntity``) unless its ``iam.load_aws_managed_policies``
setting is on, and then every IAM backend (each account, each reset, each check's isolated
world) parses moto's 4.7 MB catalogue (``moto/iam/aws_managed_policies.py``, about 1,600
policies) and builds every policy object up front.

Here a policy is read from the catalogue when its ARN is first asked for (the whole
catalogue is parsed at most once per process, for listings), and a backend's
``managed_policies`` builds an AWS policy only when it is asked for by ARN (``GetPolicy``,
``AttachRolePolicy`` ...). The operations that list policies (``ListPolicies``,
``GetAccountAuthorizationDetails``) build them all first, so a listing sees every one of them.
"""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from functools import cache
from typing import TYPE_CHECKING, Any

from moto.iam.models import AWSManagedPolicy, IAMBackend, iam_backends

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

# arn:<partition>:iam::aws:policy<path><name>; the key is "policy<path><name>".
_AWS_ARN = re.compile(r"^arn:([^:]+):iam::aws:(policy/.+)$")


@cache
def catalogue() -> dict[str, tuple[str, dict[str, Any]]]:
    """moto's AWS managed policies by ``policy<path><name>``, parsed once per process."""
    parsed: dict[str, dict[str, Any]] = json.loads(_data())
    return {_key(name, data): (name, data) for name, data in parsed.items()}


@cache
def entry(key: str) -> tuple[str, dict[str, Any]] | None:
    """One policy of the catalogue by ``policy<path><name>``, without parsing all 4.7 MB.

    moto writes the catalogue one top-level key per line (``\n "Name":{``), so the policy's
    object is found by its name and decoded alone; any other layout falls back to the full parse.
    """
    name = key.rsplit("/", 1)[-1]
    data = _data()
    at = data.find(f'\n "{name}":{{')
    if at < 0 or data.find(f'\n "{name}":{{', at + 1) >= 0:
        return catalogue().get(key)
    try:
        value, _ = json.JSONDecoder().raw_decode(data, data.index("{", at))
    except ValueError:
        return catalogue().get(key)
    if not isinstance(value, dict) or _key(name, value) != key:
        return None
    return name, value


def _data() -> str:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return str(aws_managed_policies_data)


def _key(name: str, data: dict[str, Any]) -> str:
    return f"policy{data.get('Path', '/')}{name}"


class ManagedPolicies(dict[str, Any]):
    """An IAM backend's ``managed_policies`` that holds every AWS managed policy, built on demand.

    Customer managed policies are stored as in a plain dict. An AWS managed policy is built
    (and added to the backend's ``aws_managed_policies``) the first time its ARN is looked up.
    Iterating shows the policies built so far: moto iterates on every attach and detach (to
    find one ARN), which must not build 1,600 policies; the operations that list policies call
    :meth:`load_all` first (see :func:`install`).
    """

    def __init__(self, backend: IAMBackend) -> None:
        super().__init__()
        self._backend = backend
        self._removed: set[str] = set()
        self._complete = False

    def _build(self, arn: object, found: tuple[str, dict[str, Any]] | None = None) -> None:
        if self._complete or not isinstance(arn, str) or arn in self._removed:
            return
        if dict.__contains__(self, arn):
            return
        if found is None:
            match = _AWS_ARN.match(arn)
            found = entry(match.group(2)) if match else None
        if found is None:
            return
        name, data = found
        policy = AWSManagedPolicy.from_data(
            name, self._backend.account_id, self._backend.region_name, data
        )
        if policy.arn == arn:  # another partition's spelling is not this account's policy
            dict.__setitem__(self, arn, policy)
            self._backend.aws_managed_policies.append(policy)

    def load_all(self) -> None:
        """Build every AWS managed policy not built yet (before anything lists them)."""
        if self._complete:
            return
        partition = self._backend.partition
        for key, found in catalogue().items():
            self._build(f"arn:{partition}:iam::aws:{key}", found)
        self._complete = True

    # -- lookups by ARN build that one policy ------------------------------------------------
    def __getitem__(self, arn: str) -> Any:
        self._build(arn)
        return dict.__getitem__(self, arn)

    def __contains__(self, arn: object) -> bool:
        self._build(arn)
        return dict.__contains__(self, arn)

    def get(self, arn: str, default: Any = None) -> Any:
        self._build(arn)
        return dict.get(self, arn, default)

    def __delitem__(self, arn: str) -> None:
        self._build(arn)
        dict.__delitem__(self, arn)
        self._removed.add(arn)

    def pop(self, arn: str, *default: Any) -> Any:
        self._build(arn)
        self._removed.add(arn)
        return dict.pop(self, arn, *default)


def _with_aws_policies(backend: IAMBackend) -> None:
    """Give ``backend`` the lazily built AWS managed policies (keeping what it holds)."""
    current = backend.managed_policies
    if isinstance(current, ManagedPolicies):
        return
    lazy = ManagedPolicies(backend)
    dict.update(lazy, current)
    backend.managed_policies = lazy


# moto methods that look one policy ARN up by iterating every managed policy.
_BY_ARN = tuple(
    f"{verb}_{whom}_policy" for verb in ("attach", "detach") for whom in ("role", "group", "user")
)
# moto methods that list the managed policies.
_LISTING = ("list_policies", "get_account_authorization_details")


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Every IAM backend, existing or created while the sandbox runs, has the AWS policies."""
    real_init_managed = IAMBackend._init_managed_policies

    def init_managed_policies(self: IAMBackend) -> dict[str, Any]:
        # moto's own loading stays off (aws_managed_policies starts empty); ours fills it.
        lazy = ManagedPolicies(self)
        dict.update(lazy, real_init_managed(self))
        return lazy

    def by_arn(real: Any) -> Any:
        def method(self: IAMBackend, policy_arn: str, *args: Any, **kwargs: Any) -> Any:
            _with_aws_policies(self)
            self.managed_policies.get(policy_arn)  # builds it when it is an AWS policy
            return real(self, policy_arn, *args, **kwargs)

        return method

    def listing(real: Any) -> Any:
        def method(self: IAMBackend, *args: Any, **kwargs: Any) -> Any:
            _with_aws_policies(self)
            self.managed_policies.load_all()  # type: ignore[attr-defined]
            return real(self, *args, **kwargs)

        return method

    originals: dict[str, Any] = {"_init_managed_policies": real_init_managed}
    for name in (*_BY_ARN, *_LISTING):
        originals[name] = getattr(IAMBackend, name)
        setattr(IAMBackend, name, (by_arn if name in _BY_ARN else listing)(originals[name]))
    IAMBackend._init_managed_policies = init_managed_policies  # type: ignore[method-assign]
    # Backends made before IAM's first request (Lambda's models reach IAM without one).
    for account in list(iam_backends.values()):
        for backend in list(account.values()):
            _with_aws_policies(backend)

    def undo() -> None:
        for name, real in originals.items():
            setattr(IAMBackend, name, real)

    stack.callback(undo)
