"""Managed Service for Apache Flink's control plane (``kinesisanalyticsv2``) as AWS runs it.

Stock moto creates, describes, lists and tags applications, and nothing more: a new application
says ``STARTING`` forever, ``StartApplication``, ``StopApplication`` and ``DeleteApplication``
are not implemented, describing a missing application is a server error, the same name can be
created twice, and SQL applications can still be created. This patch, on the lab clock:

- creates applications ``READY`` ("After creating an application, you must exclusively call
  [StartApplication] to start your application",
  https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_StartApplication.html), stamped with
  lab time; a second application of the same name is ``ResourceInUseException``;
- refuses new ``SQL-1_0`` applications: Kinesis Data Analytics for SQL cannot create new
  applications from 2025-10-15 (``flink.sql_applications_no_new_after``), and the lab clock is
  past it;
- ``StartApplication`` reads the application's code from S3 (``S3ContentLocation``: a zip made by
  :func:`labkit.services.flink.deploy.upload_application`), runs the function in it, which builds
  a job with labkit's PyFlink-shaped API, and runs that job on the lab clock: the application is
  ``RUNNING`` and processes records as ``lab.clock.advance`` moves time. AWS takes minutes in
  ``STARTING``; the sandbox starts at once. A job whose code fails stops, keeping the error (the
  window view shows it), as a Flink job fails;
- ``StopApplication`` cancels the job (its window state is lost: the sandbox takes no snapshot)
  and the application is ``READY`` again; ``DeleteApplication`` stops and removes it;
- a missing application is ``ResourceNotFoundException``, starting one that is not ``READY`` or
  stopping one that is not ``RUNNING`` is ``ResourceInUseException``. The error codes are AWS's
  (the API reference lists them); their messages are labkit's wording.

The jobs live on moto's ``Application`` objects, so ``lab.reset()`` and isolated worlds cover
them.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.kinesisanalyticsv2.models import Application, KinesisAnalyticsV2Backend
from moto.kinesisanalyticsv2.responses import KinesisAnalyticsV2Response
from moto.s3.models import s3_backends

from labkit import facts
from labkit.clock import Clock
from labkit.services.flink.deploy import function_for
from labkit.services.flink.sim_stream import JobClient, StreamExecutionEnvironment, clock_provider

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the Managed Flink patches for ``sandbox``."""
    stack.enter_context(flink_fidelity(lambda: sandbox.clock, lambda: sandbox.running))


class _Error(JsonRESTError):
    error_code = "InvalidArgumentException"

    def __init__(self, message: str) -> None:
        super().__init__(self.error_code, message)


class ResourceNotFoundError(_Error):
    """No application of that name."""

    error_code = "ResourceNotFoundException"


class ResourceInUseError(_Error):
    """The application exists already, or is not in a state for this operation."""

    error_code = "ResourceInUseException"


class InvalidArgumentError(_Error):
    """A parameter AWS refuses."""

    error_code = "InvalidArgumentException"


class InvalidApplicationConfigurationError(_Error):
    """The application's configuration (its code) cannot run."""

    error_code = "InvalidApplicationConfigurationException"


def jobs_of(app: Any) -> list[JobClient]:
    """The jobs a moto ``Application`` runs now (empty when it is not running)."""
    jobs: list[JobClient] = getattr(app, "labkit_jobs", None) or []
    return jobs


def _app(backend: KinesisAnalyticsV2Backend, name: str) -> Application:
    app = backend.applications.get(name)
    if app is None:
        raise ResourceNotFoundError(f"Application {name} not found in this account and Region.")
    return app


def _code_location(app: Application) -> dict[str, str]:
    description = app.app_config_description or {}
    code = description.get("ApplicationCodeConfigurationDescription") or {}
    content = code.get("CodeContentDescription") or {}
    location = content.get("S3ApplicationCodeLocationDescription")
    if not isinstance(location, dict) or not location.get("BucketARN"):
        raise InvalidApplicationConfigurationError(
            f"Application {app.application_name} has no code: give ApplicationCodeConfiguration "
            "an S3ContentLocation (labkit: upload_application(main, bucket=...) returns it)."
        )
    return location


def _properties(app: Application) -> dict[str, dict[str, str]]:
    description = app.app_config_description or {}
    groups = (description.get("EnvironmentPropertyDescriptions") or {}).get(
        "PropertyGroupDescriptions"
    ) or []
    return {g["PropertyGroupId"]: dict(g.get("PropertyMap") or {}) for g in groups}


def _run_code(app: Application, main: Callable[..., Any]) -> list[JobClient]:
    jobs: list[JobClient] = []

    def host(env: StreamExecutionEnvironment, name: str) -> JobClient:
        job = env.execute_async(name, failure_mode="record")
        jobs.append(job)
        return job

    previous = StreamExecutionEnvironment.host
    StreamExecutionEnvironment.host = host
    try:
        takes = [
            p
            for p in inspect.signature(main).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if takes:
            main(_properties(app))
        else:
            main()
    except Exception as exc:
        for job in jobs:
            job.cancel()
        raise InvalidApplicationConfigurationError(
            f"Application {app.application_name}'s code failed while building its job: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    finally:
        StreamExecutionEnvironment.host = previous
    if not jobs:
        raise InvalidApplicationConfigurationError(
            f"Application {app.application_name}'s code ran but started no job: end it with "
            "env.execute()."
        )
    return jobs


@contextmanager
def flink_fidelity(clock_of: Callable[[], Clock], running: Callable[[], bool]) -> Iterator[None]:
    """Patch moto's kinesisanalyticsv2 for the ``with`` block."""
    no_sql_after = datetime.fromisoformat(
        str(facts.value("flink.sql_applications_no_new_after"))
    ).replace(tzinfo=timezone.utc)

    def provide() -> Clock | None:
        return clock_of() if running() else None

    original_create = KinesisAnalyticsV2Backend.create_application

    def create_application(self: KinesisAnalyticsV2Backend, **kwargs: Any) -> dict[str, Any]:
        name = kwargs["application_name"]
        if name in self.applications:
            raise ResourceInUseError(f"Application {name} already exists.")
        runtime = str(kwargs.get("runtime_environment") or "")
        now = clock_of().now
        if runtime.startswith("SQL-") and now >= no_sql_after:
            raise InvalidArgumentError(
                f"Kinesis Data Analytics for SQL applications cannot be created since "
                f"{no_sql_after:%Y-%m-%d}; run your analytics as a Managed Service for Apache "
                "Flink application (RuntimeEnvironment FLINK-1_20)."
            )
        detail: dict[str, Any] = original_create(self, **kwargs)
        app = self.applications[name]
        stamp = now.isoformat()
        app.application_status = "READY"
        app.creation_date_time = app.last_updated_date_time = stamp
        detail.update(
            ApplicationStatus="READY",
            CreateTimestamp=stamp,
            LastUpdateTimestamp=stamp,
            ApplicationVersionCreateTimestamp=stamp,
        )
        return detail

    original_describe = KinesisAnalyticsV2Backend.describe_application

    def describe_application(
        self: KinesisAnalyticsV2Backend, application_name: str
    ) -> dict[str, Any]:
        _app(self, application_name)
        detail: dict[str, Any] = original_describe(self, application_name)
        return detail

    def start_application(self: KinesisAnalyticsV2Response) -> str:
        backend = self.kinesisanalyticsv2_backend
        app = _app(backend, self._get_param("ApplicationName"))
        if app.application_status != "READY":
            raise ResourceInUseError(
                f"Application {app.application_name} is {app.application_status}; only a READY "
                "application can be started."
            )
        location = _code_location(app)
        bucket = location["BucketARN"].rsplit(":", 1)[-1]
        key = location["FileKey"]
        try:
            found = s3_backends[backend.account_id][backend.partition].get_object(bucket, key)
            body = bytes(found.value) if found is not None else b""
        except Exception:
            body = b""
        if not body:
            raise InvalidApplicationConfigurationError(
                f"Application {app.application_name}'s code s3://{bucket}/{key} does not exist."
            ) from None
        main = function_for(body)
        if main is None:
            raise InvalidApplicationConfigurationError(
                f"s3://{bucket}/{key} holds no code the sandbox can run: upload it with "
                "labkit's upload_application(main, bucket=..., key=...)."
            )
        app.labkit_jobs = _run_code(app, main)  # type: ignore[attr-defined]
        app.application_status = "RUNNING"
        app.last_updated_date_time = clock_of().now.isoformat()
        return json.dumps({"OperationId": uuid.uuid4().hex[:16]})

    def _stop(app: Application) -> None:
        for job in jobs_of(app):
            job.cancel()
        app.labkit_jobs = []  # type: ignore[attr-defined]

    def stop_application(self: KinesisAnalyticsV2Response) -> str:
        app = _app(self.kinesisanalyticsv2_backend, self._get_param("ApplicationName"))
        if app.application_status != "RUNNING":
            raise ResourceInUseError(
                f"Application {app.application_name} is {app.application_status}; only a RUNNING "
                "application can be stopped."
            )
        _stop(app)
        app.application_status = "READY"
        app.last_updated_date_time = clock_of().now.isoformat()
        return json.dumps({"OperationId": uuid.uuid4().hex[:16]})

    def delete_application(self: KinesisAnalyticsV2Response) -> str:
        backend = self.kinesisanalyticsv2_backend
        app = _app(backend, self._get_param("ApplicationName"))
        _stop(app)
        del backend.applications[app.application_name]
        return json.dumps({})

    clock_provider.append(provide)
    with _attributes(
        [
            (KinesisAnalyticsV2Backend, "create_application", create_application),
            (KinesisAnalyticsV2Backend, "describe_application", describe_application),
            (KinesisAnalyticsV2Response, "start_application", start_application),
            (KinesisAnalyticsV2Response, "stop_application", stop_application),
            (KinesisAnalyticsV2Response, "delete_application", delete_application),
        ]
    ):
        try:
            yield
        finally:
            clock_provider.remove(provide)


_ABSENT = object()


@contextmanager
def _attributes(patches: list[tuple[type, str, Any]]) -> Iterator[None]:
    """Set (or add) ``owner.name = value`` for the block; restore or remove them after it."""
    originals = [(owner, name, owner.__dict__.get(name, _ABSENT)) for owner, name, _ in patches]
    try:
        for owner, name, value in patches:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(originals):
            if value is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
