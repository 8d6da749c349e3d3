"""What ``lab.client(...)`` and ``lab.resource(...)`` were asked for, read the way boto3 reads it.

A learner copies code written for ``boto3.client``: ``region_name=``, ``service_name=``, the region
as the second positional argument, ``config=Config(region_name=...)``, credentials, ``verify``...
Each keeps boto3's meaning here; labkit's own ``region=`` (and ``service=``) are aliases. What boto3
would reject, or what disagrees (two different regions), is a :class:`ClientArgumentError` that
says so, not a ``TypeError`` from inside boto3.

The sandbox's own settings always win over a learner's ``Config`` where they protect the lesson:
one attempt per call (a throttle reaches the learner at once, with no retry sleeping in real
time) and the classic endpoints moto serves.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from botocore.config import Config

from labkit.errors import ClientArgumentError
from labkit.sandbox.netguard import is_local_host

# boto3.session.Session.client's parameters, in its order (the positional order too).
CLIENT_PARAMS = (
    "service_name",
    "region_name",
    "api_version",
    "use_ssl",
    "verify",
    "endpoint_url",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "config",
    "aws_account_id",
)
# boto3.session.Session.resource takes the same, without aws_account_id.
RESOURCE_PARAMS = CLIENT_PARAMS[:-1]

# labkit's own spellings, kept for the notebooks written with them.
_ALIASES = {"service": "service_name", "region": "region_name"}


def sandbox_config() -> Config:
    """The sandbox's client settings, which a learner's ``Config`` cannot override."""
    # One attempt in all: a throttled or failed call reaches the learner at once, as the lesson
    # wants to show it, with no hidden retry sleeping in real time. The classic (not account-id)
    # endpoints are the ones moto routes.
    return Config(account_id_endpoint_mode="disabled", retries={"total_max_attempts": 1})


@dataclass(frozen=True)
class BotoArgs:
    """A resolved call: which service, which region, the settings, and boto3's other keywords.

    Attributes:
        service: The service name (``sqs``).
        region: The region the client talks to.
        config: The learner's ``Config`` (if any) under the sandbox's own settings.
        options: The other boto3 keywords, as given (``api_version``, ``verify``, credentials...).
        custom_config: Whether the learner passed a ``Config`` (such clients are not cached).
    """

    service: str
    region: str
    config: Config
    options: dict[str, Any] = field(default_factory=dict)
    custom_config: bool = False

    @property
    def cacheable(self) -> bool:
        """Whether the sandbox may hand out one shared client for this call."""
        return not self.options and not self.custom_config


def resolve(
    kind: Literal["client", "resource"],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    default_region: str,
) -> BotoArgs:
    """Read a ``client``/``resource`` call as boto3 would, with labkit's aliases.

    Args:
        kind: ``client`` or ``resource`` (a resource takes no ``aws_account_id``).
        args: The positional arguments, in boto3's order.
        kwargs: The keyword arguments (boto3's, plus ``region=`` and ``service=``).
        default_region: The sandbox's region, used when the call names none.

    Raises:
        ClientArgumentError: For anything boto3 would refuse, and for values that disagree.
    """
    params = CLIENT_PARAMS if kind == "client" else RESOURCE_PARAMS
    call = f"lab.{kind}()"
    if len(args) > len(params):
        raise ClientArgumentError(
            f"{call} takes at most {len(params)} positional arguments ({', '.join(params)}), "
            f"but {len(args)} were given."
        )
    given: dict[str, Any] = dict(zip(params, args, strict=False))
    spellings: dict[str, list[tuple[str, Any]]] = {"service_name": [], "region_name": []}
    for name, value in given.items():
        if name in spellings:
            spellings[name].append((f"the {_ordinal(params.index(name))} argument", value))
    for name, value in kwargs.items():
        canonical = _ALIASES.get(name, name)
        if canonical not in params:
            raise ClientArgumentError(
                f"{call} got an unexpected keyword {name}=. It takes what boto3.{kind}() takes: "
                f"{', '.join(params)} (and region= as another spelling of region_name=)."
            )
        if canonical in spellings:
            spellings[canonical].append((f"{name}=", value))
            continue
        if canonical in given:
            raise ClientArgumentError(
                f"{call} got {name} twice: as a positional argument and as {name}=."
            )
        given[canonical] = value

    config = given.pop("config", None)
    if config is not None and not isinstance(config, Config):
        raise ClientArgumentError(
            f"config= must be a botocore.config.Config, not a {type(config).__name__}: "
            "`from botocore.config import Config`, then `config=Config(...)`."
        )
    if config is not None and config.region_name is not None:
        spellings["region_name"].append(("config=Config(region_name=...)", config.region_name))

    service = _one(call, "service", spellings["service_name"])
    if service is None:
        raise ClientArgumentError(
            f"{call} needs the service's name, e.g. {call[:-1]}'sqs') or "
            f"{call[:-1]}service_name='sqs')."
        )
    region = _one(call, "region", spellings["region_name"]) or default_region

    endpoint = given.get("endpoint_url")
    if endpoint is not None:
        host = urlsplit(str(endpoint)).hostname
        if host is None or is_local_host(host):
            raise ClientArgumentError(
                f"endpoint_url={endpoint!r} points at this machine (as for LocalStack), but the "
                "lab sandbox answers AWS's own endpoints inside Python: leave endpoint_url out."
            )

    given.pop("service_name", None)
    given.pop("region_name", None)
    merged = sandbox_config() if config is None else config.merge(sandbox_config())
    # boto3's defaults, passed explicitly, change nothing: such a call can share a cached client.
    options = {
        k: v for k, v in given.items() if not (k == "use_ssl" and v is True) and v is not None
    }
    return BotoArgs(service, region, merged, options, custom_config=config is not None)


def _one(call: str, what: str, values: list[tuple[str, Any]]) -> str | None:
    """The one value all spellings agree on (``None`` when none is given)."""
    present = [(how, v) for how, v in values if v is not None]
    for how, value in present:
        if not isinstance(value, str) or not value:
            raise ClientArgumentError(
                f"{call}: the {what} ({how}) must be a non-empty string such as "
                f"{'us-west-2' if what == 'region' else 'sqs'!r}, not {value!r}."
            )
    distinct = {v for _, v in present}
    if len(distinct) > 1:
        listed = ", ".join(f"{how} {v!r}" for how, v in present)
        raise ClientArgumentError(
            f"{call} was given two different {what}s: {listed}. Give the {what} once."
        )
    return present[0][1] if present else None


def _ordinal(index: int) -> str:
    return ("first", "second", "third")[index] if index < 3 else f"#{index + 1}"


def signature(kind: Literal["client", "resource"]) -> inspect.Signature:
    """boto3's signature for ``client``/``resource`` plus ``region=``, for ``help()`` and IDEs.

    The methods take ``*args, **kwargs`` so that every mistake becomes a
    :class:`ClientArgumentError`; this signature is what introspection shows instead.
    """
    params = CLIENT_PARAMS if kind == "client" else RESOURCE_PARAMS
    defaults: dict[str, Any] = {"use_ssl": True}
    positional = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=defaults.get(name))
        for name in params
    ]
    keyword = inspect.Parameter("region", inspect.Parameter.KEYWORD_ONLY, default=None)
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return inspect.Signature([self, *positional, keyword])
