"""AWS App Runner in the sandbox: a small moto-style backend, its JSON API, and service URLs.

moto (5.2.5) has no App Runner, so labkit answers boto3's ``apprunner`` client itself (requests
to ``apprunner.<region>.amazonaws.com``, the ``AppRunner.<Operation>`` JSON API) with the shapes
botocore's model and the API reference give:

- ``CreateService`` from an image (``SourceConfiguration.ImageRepository``, an ECR image pushed
  with :func:`labkit.services.ecr.deploy.push_image`: the app is the image's WSGI callable) gives
  a service whose ``ServiceUrl`` ``<id>.<region>.awsapprunner.com`` answers HTTPS requests in the
  sandbox (``requests`` and ``urllib``) with the app, in its ``RuntimeEnvironmentVariables`` and
  with the instance role's credentials; or from source (``CodeRepository``): an app made a
  repository with :func:`publish_source` (no connection to GitHub is needed or checked, and
  nothing is built). The service is ``RUNNING`` at once (AWS takes minutes);
- ``DescribeService``, ``ListServices``, ``DeleteService``, ``PauseService`` (the URL stops
  answering: 503 in the sandbox), ``ResumeService``;
- ``CreateAutoScalingConfiguration`` / ``DescribeAutoScalingConfiguration`` /
  ``ListAutoScalingConfigurations`` (``MaxConcurrency``, ``MinSize``, ``MaxSize``, defaults from
  :mod:`labkit.facts`); each minute of lab time a running service's instances follow the
  concurrency its requests made (:mod:`labkit.services.apprunner.sim_scaling`), kept as
  :class:`ScalingPoint` on the service (:func:`instances`).

Sources: https://docs.aws.amazon.com/apprunner/latest/api/API_CreateService.html,
https://docs.aws.amazon.com/apprunner/latest/api/API_CreateAutoScalingConfiguration.html,
https://docs.aws.amazon.com/apprunner/latest/dg/manage-autoscaling.html,
https://docs.aws.amazon.com/apprunner/latest/dg/manage-pause.html.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.botocore_stubber import BotocoreStubber
from moto.core.exceptions import JsonRESTError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.request import normalize_request
from moto.core.responses import BaseResponse
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.errors import LabkitError
from labkit.sandbox import hosts
from labkit.services.apprunner import sim_scaling
from labkit.services.ecs.patch_start import StartFailure, pull
from labkit.services.ecs.sim_tasks import Container, ContainerSpec, wsgi_environ

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox


class SourceNameError(LabkitError):
    """:func:`publish_source` was given a name no repository can have."""

    code = "InvalidSourceName"


#: The running sandbox's clock (``"clock"``), set by :func:`install`.
_RUNNING: dict[str, Clock] = {}

#: Source repositories in the sandbox: their URL and the app they build to.
SOURCES: dict[str, Any] = {}


def publish_source(app: Any, name: str) -> str:
    """Make ``app`` (a WSGI callable) a source code repository App Runner can build from.

    There is no GitHub and no build in the sandbox: the repository URL this returns stands for
    the app's code, and ``CreateService`` with ``CodeRepository.RepositoryUrl`` set to it
    serves ``app`` (AWS would build it with the runtime and commands given).
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        raise SourceNameError(
            f"{name!r} cannot name a repository: use letters, digits, '.', '_' or '-'."
        )
    url = f"https://github.com/labkit-sandbox/{name}"
    SOURCES[url] = app
    return url


_ENDPOINT = re.compile(r"^https?://apprunner\.([a-z0-9-]+)\.amazonaws\.com(?:[:/]|$)")
_SERVICE_HOST = re.compile(r"^[a-z0-9]+\.[a-z0-9-]+\.awsapprunner\.com$")
#: Seconds between scaling evaluations (lab time).
PERIOD = 60


class AppRunnerError(JsonRESTError):
    """Base of the API's errors (HTTP 400, JSON ``__type`` as botocore expects)."""

    def __init__(self, message: str) -> None:
        super().__init__(type(self).__name__, message)


class InvalidRequestException(AppRunnerError):
    """A parameter AWS would refuse."""


class ResourceNotFoundException(AppRunnerError):
    """No service or configuration with that ARN."""


class InvalidStateException(AppRunnerError):
    """Pausing a paused service, resuming a running one."""


@dataclass(frozen=True)
class ScalingPoint:
    """A minute of a service: the concurrency its requests made and the instances it ran."""

    at: float
    concurrency: float
    instances: int


@dataclass
class Scaling:
    """An auto scaling configuration (one revision)."""

    arn: str
    name: str
    revision: int
    max_concurrency: int
    min_size: int
    max_size: int
    created: datetime

    def describe(self) -> dict[str, Any]:
        return {
            "AutoScalingConfigurationArn": self.arn,
            "AutoScalingConfigurationName": self.name,
            "AutoScalingConfigurationRevision": self.revision,
            "Latest": True,
            "Status": "ACTIVE",
            "MaxConcurrency": self.max_concurrency,
            "MinSize": self.min_size,
            "MaxSize": self.max_size,
            "CreatedAt": self.created.timestamp(),
        }

    def summary(self) -> dict[str, Any]:
        return {
            "AutoScalingConfigurationArn": self.arn,
            "AutoScalingConfigurationName": self.name,
            "AutoScalingConfigurationRevision": self.revision,
        }


@dataclass
class Service:
    """An App Runner service and the app it serves."""

    name: str
    service_id: str
    arn: str
    url: str
    source: dict[str, Any]
    instance: dict[str, Any]
    scaling: Scaling
    container: Container
    created: datetime
    status: str = "RUNNING"
    busy_seconds: float = 0.0
    history: list[ScalingPoint] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        stamp = self.created.timestamp()
        return {
            "ServiceName": self.name,
            "ServiceId": self.service_id,
            "ServiceArn": self.arn,
            "ServiceUrl": self.url,
            "CreatedAt": stamp,
            "UpdatedAt": stamp,
            "Status": self.status,
            "SourceConfiguration": self.source,
            "InstanceConfiguration": self.instance,
            "AutoScalingConfigurationSummary": self.scaling.summary(),
            "NetworkConfiguration": {
                "EgressConfiguration": {"EgressType": "DEFAULT"},
                "IngressConfiguration": {"IsPubliclyAccessible": True},
                "IpAddressType": "IPV4",
            },
        }

    def summary(self) -> dict[str, Any]:
        full = self.describe()
        keys = ("ServiceName", "ServiceId", "ServiceArn", "ServiceUrl", "CreatedAt", "UpdatedAt")
        return {**{k: full[k] for k in keys}, "Status": self.status}


class AppRunnerBackend(BaseBackend):
    """App Runner services and auto scaling configurations of one account and Region."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.services: dict[str, Service] = {}
        self.scalings: dict[str, Scaling] = {}

    def _arn(self, kind: str, name: str, *rest: str) -> str:
        tail = "/".join((name, *rest))
        return f"arn:aws:apprunner:{self.region_name}:{self.account_id}:{kind}/{tail}"

    @property
    def clock(self) -> Clock | None:
        """The running sandbox's clock."""
        return _RUNNING.get("clock")

    def _now(self) -> datetime:
        return self.clock.now if self.clock is not None else datetime.now(timezone.utc)

    # -- auto scaling configurations -------------------------------------------------------------
    def create_auto_scaling_configuration(self, p: dict[str, Any]) -> dict[str, Any]:
        name = str(p.get("AutoScalingConfigurationName") or "")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\-_]{3,31}", name):
            raise InvalidRequestException(
                "AutoScalingConfigurationName must be 4 to 32 letters, digits, '-' or '_'."
            )
        scaling = self._scaling(
            name,
            int(p.get("MaxConcurrency") or facts.value("apprunner.default_max_concurrency")),
            int(p.get("MinSize") or facts.value("apprunner.default_min_size")),
            int(p.get("MaxSize") or facts.value("apprunner.default_max_size")),
        )
        return {"AutoScalingConfiguration": scaling.describe()}

    def _scaling(self, name: str, concurrency: int, low: int, high: int) -> Scaling:
        if not 1 <= low <= high or not 1 <= concurrency <= 200:
            raise InvalidRequestException(
                "MinSize must be at least 1 and at most MaxSize; MaxConcurrency 1 to 200."
            )
        revision = 1 + sum(1 for s in self.scalings.values() if s.name == name)
        arn = self._arn("autoscalingconfiguration", name, str(revision), mock_random.uuid4().hex)
        scaling = Scaling(arn, name, revision, concurrency, low, high, self._now())
        self.scalings[arn] = scaling
        return scaling

    def describe_auto_scaling_configuration(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"AutoScalingConfiguration": self._get_scaling(p).describe()}

    def list_auto_scaling_configurations(self, p: dict[str, Any]) -> dict[str, Any]:
        del p
        return {
            "AutoScalingConfigurationSummaryList": [s.summary() for s in self.scalings.values()]
        }

    def _get_scaling(self, p: dict[str, Any]) -> Scaling:
        arn = str(p.get("AutoScalingConfigurationArn") or "")
        found = self.scalings.get(arn)
        if found is None:
            raise ResourceNotFoundException(f"Auto scaling configuration {arn} not found.")
        return found

    # -- services ------------------------------------------------------------------------------
    def create_service(self, p: dict[str, Any]) -> dict[str, Any]:
        name = str(p.get("ServiceName") or "")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\-_]{3,39}", name):
            raise InvalidRequestException(
                "ServiceName must be 4 to 40 letters, digits, '-' or '_', starting with a "
                "letter or digit."
            )
        if any(s.name == name for s in self.services.values()):
            raise InvalidRequestException(f"Service with the provided name already exists: {name}")
        source = dict(p.get("SourceConfiguration") or {})
        entry, identifier, config = self._source(source)
        env = {str(k): str(v) for k, v in (config.get("RuntimeEnvironmentVariables") or {}).items()}
        port = int(config.get("Port") or 8080)
        env.setdefault("PORT", str(port))
        scaling_arn = p.get("AutoScalingConfigurationArn")
        if scaling_arn:
            scaling = self._get_scaling({"AutoScalingConfigurationArn": scaling_arn})
        else:
            scaling = next(
                (s for s in self.scalings.values() if s.name == "DefaultConfiguration"), None
            ) or self._scaling(
                "DefaultConfiguration",
                int(facts.value("apprunner.default_max_concurrency")),
                int(facts.value("apprunner.default_min_size")),
                int(facts.value("apprunner.default_max_size")),
            )
        instance = {"Cpu": "1024", "Memory": "2048", **(p.get("InstanceConfiguration") or {})}
        service_id = mock_random.uuid4().hex
        session = _role_session(instance.get("InstanceRoleArn"), service_id, self.region_name)
        container = Container(
            ContainerSpec(name, identifier, entry, True, env, port),
            {"AWS_REGION": self.region_name, "AWS_DEFAULT_REGION": self.region_name},
            session,
            lambda line: None,
        )
        container.start()
        if container.app is None:
            raise InvalidRequestException(
                f"The source {identifier} is not a web app (a WSGI callable): "
                "App Runner serves web applications."
            )
        source.setdefault("AutoDeploymentsEnabled", False)
        service = Service(
            name,
            service_id,
            self._arn("service", name, service_id),
            f"{service_id[:10]}.{self.region_name}.awsapprunner.com",
            source,
            instance,
            scaling,
            container,
            self._now(),
        )
        self.services[service.arn] = service
        if self.clock is not None:
            _watch(self, service)
        return {"Service": service.describe(), "OperationId": mock_random.uuid4().hex}

    def _source(self, source: dict[str, Any]) -> tuple[Any, str, dict[str, Any]]:
        """The app, its identifier and its configuration (environment, port) of a
        ``SourceConfiguration``: an ECR image, or a source repository :func:`publish_source`
        made."""
        repo: Any = source.get("ImageRepository")
        code: Any = source.get("CodeRepository")
        if bool(repo) == bool(code):
            raise InvalidRequestException(
                "SourceConfiguration needs exactly one of ImageRepository and CodeRepository."
            )
        if code:
            url = str(code.get("RepositoryUrl") or "")
            entry = SOURCES.get(url)
            if entry is None:
                raise InvalidRequestException(
                    f"No source repository at {url} in the sandbox: publish the app with "
                    "labkit.services.apprunner.patch.publish_source(app, name) first."
                )
            if not (code.get("SourceCodeVersion") or {}).get("Value"):
                raise InvalidRequestException("CodeRepository needs a SourceCodeVersion.")
            given = code.get("CodeConfiguration") or {}
            if given.get("ConfigurationSource") not in ("API", "REPOSITORY"):
                raise InvalidRequestException(
                    "CodeConfiguration.ConfigurationSource must be API or REPOSITORY."
                )
            return entry, url, dict(given.get("CodeConfigurationValues") or {})
        if repo.get("ImageRepositoryType") != "ECR":
            raise InvalidRequestException(
                "The sandbox serves ECR images only (ImageRepositoryType ECR)."
            )
        identifier = str(repo.get("ImageIdentifier", ""))
        try:
            entry = pull(identifier, self.account_id, self.region_name, None, "")
        except StartFailure as failed:
            raise InvalidRequestException(str(failed)) from None
        return entry, identifier, dict(repo.get("ImageConfiguration") or {})

    def _get(self, p: dict[str, Any]) -> Service:
        arn = str(p.get("ServiceArn") or "")
        found = self.services.get(arn)
        if found is None or found.status == "DELETED":
            raise ResourceNotFoundException(f"Service {arn} not found.")
        return found

    def describe_service(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"Service": self._get(p).describe()}

    def list_services(self, p: dict[str, Any]) -> dict[str, Any]:
        del p
        alive = [s for s in self.services.values() if s.status != "DELETED"]
        return {"ServiceSummaryList": [s.summary() for s in alive]}

    def delete_service(self, p: dict[str, Any]) -> dict[str, Any]:
        service = self._get(p)
        service.status = "DELETED"
        return {"Service": service.describe(), "OperationId": mock_random.uuid4().hex}

    def pause_service(self, p: dict[str, Any]) -> dict[str, Any]:
        service = self._get(p)
        if service.status != "RUNNING":
            raise InvalidStateException(f"Service is not RUNNING (it is {service.status}).")
        service.status = "PAUSED"
        return {"Service": service.describe(), "OperationId": mock_random.uuid4().hex}

    def resume_service(self, p: dict[str, Any]) -> dict[str, Any]:
        service = self._get(p)
        if service.status != "PAUSED":
            raise InvalidStateException(f"Service is not PAUSED (it is {service.status}).")
        service.status = "RUNNING"
        return {"Service": service.describe(), "OperationId": mock_random.uuid4().hex}


def _role_session(role: Any, name: str, region: str) -> Any:
    """A boto3 session of the instance role (what the app's own calls act as), or ``None``."""
    if not role:
        return None
    import boto3

    from labkit.services.ecs.patch_identity import guard
    from labkit.services.ecs.patch_start import session_of

    held = session_of(str(role), f"apprunner-{name[:16]}", region)
    session = boto3.session.Session(
        aws_access_key_id=held.access_key_id,
        aws_secret_access_key=held.secret_access_key,
        aws_session_token=held.session_token,
        region_name=region,
    )
    guard(session, held.access_key_id, region)  # the policy engine decides its calls
    return session


@cache
def apprunner_backends() -> BackendDict[AppRunnerBackend]:
    """moto-style backends of App Runner, by account and Region."""
    return BackendDict(AppRunnerBackend, "apprunner")


def backend(region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> AppRunnerBackend:
    """The App Runner backend of ``account_id`` in ``region``."""
    return apprunner_backends()[account_id][region]


def instances(service_arn: str, account_id: str = DEFAULT_ACCOUNT_ID) -> list[ScalingPoint]:
    """The service's minutes so far: concurrency and instances (oldest first)."""
    region = service_arn.split(":")[3]
    service = backend(region, account_id).services.get(service_arn)
    return list(service.history) if service is not None else []


def _watch(owner: AppRunnerBackend, service: Service) -> None:
    clock = owner.clock
    assert clock is not None

    def tick() -> None:
        if owner.services.get(service.arn) is not service or service.status == "DELETED":
            ticking.cancel()
            return
        busy, service.busy_seconds = service.busy_seconds, 0.0
        scaling = service.scaling
        count = (
            0
            if service.status == "PAUSED"
            else sim_scaling.instances_needed(
                busy, PERIOD, scaling.max_concurrency, scaling.min_size, scaling.max_size
            )
        )
        service.history.append(ScalingPoint(clock.timestamp, round(busy / PERIOD, 3), count))

    ticking = clock.every(PERIOD, tick, label=f"apprunner {service.name}")


class AppRunnerResponse(BaseResponse):
    """The JSON API (``AppRunner.<Operation>``) over the backend."""

    # See GlobalAcceleratorResponse: an annotated attribute keeps moto from creating
    # ``__annotations__`` inside a graded check.
    api_kind: str = "json"

    def __init__(self) -> None:
        super().__init__(service_name="apprunner")

    def _call(self, method: str) -> str:
        try:
            loaded = json.loads(self.body or "{}")
        except ValueError:
            loaded = {}
        params = loaded if isinstance(loaded, dict) else {}
        result = getattr(backend(self.region, self.current_account), method)(params)
        return json.dumps(result)

    def create_service(self) -> str:
        return self._call("create_service")

    def describe_service(self) -> str:
        return self._call("describe_service")

    def list_services(self) -> str:
        return self._call("list_services")

    def delete_service(self) -> str:
        return self._call("delete_service")

    def pause_service(self) -> str:
        return self._call("pause_service")

    def resume_service(self) -> str:
        return self._call("resume_service")

    def create_auto_scaling_configuration(self) -> str:
        return self._call("create_auto_scaling_configuration")

    def describe_auto_scaling_configuration(self) -> str:
        return self._call("describe_auto_scaling_configuration")

    def list_auto_scaling_configurations(self) -> str:
        return self._call("list_auto_scaling_configurations")


def _find(host: str) -> Service | None:
    region = host.split(".")[1]
    for by_region in apprunner_backends().values():
        owner = by_region.get(region) if hasattr(by_region, "get") else None
        if owner is None:
            continue
        for service in owner.services.values():
            if service.url == host and service.status != "DELETED":
                return service
    return None


def handle(request: Any) -> hosts.Reply:
    """Answer a request to a service URL with the service's app."""
    from urllib.parse import urlsplit

    parts = urlsplit(str(request.url))
    host = (parts.hostname or "").lower()
    service = _find(host)
    if service is None:
        raise hosts_error(host)
    if service.status != "RUNNING":
        return 503, {"Content-Type": "text/plain"}, f"Service {service.name} is {service.status}."
    headers = {str(k): (str(v),) for k, v in dict(request.headers or {}).items()}
    environ = wsgi_environ(
        method=str(request.method),
        path=parts.path or "/",
        query=parts.query,
        headers=headers,
        body=hosts.body_of(request.body),
        host=host,
        port=int(service.container.spec.container_port or 8080),
        remote_addr="10.0.0.1",
    )
    environ["wsgi.url_scheme"] = "https"
    service.busy_seconds += sim_scaling.request_seconds(service.container.spec.entry)
    answer = service.container.serve(environ)
    return answer.status, answer.headers, answer.body


def hosts_error(host: str) -> Exception:
    """A host that does not resolve: no App Runner service answers there."""
    import requests

    return requests.exceptions.ConnectionError(
        f"Failed to resolve '{host}': there is no App Runner service at this URL in the sandbox."
    )


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer App Runner API calls and serve the services' URLs while ``sandbox`` runs."""
    # Kept in a dict changed in place: the grader's tamper guard rightly flags labkit classes
    # or module globals replaced while a check runs (a check starts its own sandbox).
    _RUNNING["clock"] = sandbox.clock
    stack.callback(_RUNNING.pop, "clock", None)
    stack.enter_context(api_answered())
    stack.callback(SOURCES.clear)
    hosts.serve(stack, _SERVICE_HOST, handle)


@contextmanager
def api_answered() -> Iterator[None]:
    """Route botocore requests for ``apprunner.*.amazonaws.com`` to the backend."""
    original = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        if _ENDPOINT.match(str(request.url)) is None:
            return original(self, request)
        normalized = normalize_request(request)
        return AppRunnerResponse.dispatch(normalized, normalized.raw_url, normalized.headers)

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]


__all__ = [
    "AppRunnerBackend",
    "ScalingPoint",
    "apprunner_backends",
    "backend",
    "install",
    "instances",
    "publish_source",
]
