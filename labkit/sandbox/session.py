"""The AWS sandbox: in-process moto for every service, on the lab clock, off the network.

This is the only layer that imports moto. It starts moto with the settings a course needs
(fake credentials, a default region, Lambda without Docker, executing Step Functions, classic
DynamoDB endpoints, seeded ids), binds the process clock to the lab clock, installs the network
guard and labkit's fidelity patches, and offers isolated worlds for checks.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

import boto3
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.config import DefaultConfig
from moto.moto_api._internal import mock_random

from labkit.clock import Clock
from labkit.errors import SandboxNotRunningError
from labkit.sandbox.clientargs import resolve
from labkit.sandbox.environment import (
    FAKE_ACCESS_KEY_ID,
    FAKE_SECRET_ACCESS_KEY,
    fake_aws_environment,
    without_proxies,
)
from labkit.sandbox.netguard import network_guard
from labkit.sandbox.patches import install_all
from labkit.sandbox.s3_hosts import buckets_named_like_services
from labkit.sandbox.timeshift import ProcessTime, process_time
from labkit.sandbox.unsimulated import not_simulated_errors

DEFAULT_REGION = "us-east-1"
DEFAULT_SEED = 42

MOTO_CONFIG: DefaultConfig = {
    # Without Docker; labkit's own runtime gives Lambda real execution where a lab needs it.
    "lambda": {"use_docker": False},
    "batch": {"use_docker": False},
    "stepfunctions": {"execute_state_machine": True},
    "core": {"mock_credentials": True, "reset_boto3_session": True},
}

# moto patches botocore and the clock for the whole process, so at most one sandbox can run in a
# process. This slot remembers which one does, so a second labkit.start() can stop the first and
# say so. It holds a weak reference: it never keeps a sandbox alive on its own.
_running: list[weakref.ref[Sandbox]] = []


def running_sandbox() -> Sandbox | None:
    """The sandbox running in this process, if any."""
    for ref in _running:
        sandbox = ref()
        if sandbox is not None and sandbox.running:
            return sandbox
    return None


class Sandbox:
    """In-process AWS for one lab.

    Args:
        clock: The lab clock; moto sees its time.
        region: The default region of clients and of the environment.
        seed: Seed for moto's ids (message ids, receipt handles, ...), so outputs repeat.
    """

    def __init__(
        self, clock: Clock, *, region: str = DEFAULT_REGION, seed: int = DEFAULT_SEED
    ) -> None:
        self._lab_clock = clock
        self.region = region
        self.seed = seed
        #: The lab this sandbox serves (``None`` in free play); set by ``labkit.start``.
        self.lab_id: str | None = None
        self._stack: ExitStack | None = None
        self._time: ProcessTime | None = None
        self._session: boto3.session.Session | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._reset_hooks: list[Callable[[], None]] = []
        self._patches: Callable[[], frozenset[str]] = frozenset

    # -- life cycle -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether this sandbox is the live one."""
        return self._stack is not None

    def start(self) -> Sandbox | None:
        """Start the sandbox; stops a sandbox that was already running in this process.

        Returns:
            The sandbox that was stopped to make room, or ``None``.
        """
        previous = running_sandbox()
        if previous is self:
            return None
        if previous is not None:
            previous.stop()
        stack = ExitStack()
        try:
            stack.enter_context(fake_aws_environment(self.region))
            stack.enter_context(without_proxies())
            stack.enter_context(network_guard())
            stack.enter_context(not_simulated_errors())
            stack.enter_context(buckets_named_like_services())
            self._time = stack.enter_context(process_time(self._lab_clock))
            mock = mock_aws(config=MOTO_CONFIG)
            mock.start(reset=True)
            stack.callback(mock.stop)
            self._patches = install_all(self, stack)
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        _running[:] = [weakref.ref(self)]
        mock_random.seed(self.seed)
        return previous

    def stop(self) -> None:
        """Stop the sandbox and give the process back its network, clock and settings."""
        if self._stack is None:
            return
        stack, self._stack = self._stack, None
        self._clients.clear()
        self._session = None
        self._time = None
        stack.close()

    @property
    def patches(self) -> frozenset[str]:
        """labkit's service patches installed so far (those of unused services wait)."""
        return self._patches()

    def reset(self) -> None:
        """Wipe every AWS resource, keep the clock and everything outside AWS."""
        self._require_running()
        BackendDict.reset()
        mock_random.seed(self.seed)
        for hook in list(self._reset_hooks):
            hook()

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after every reset (simulators that keep state beside moto use this)."""
        self._reset_hooks.append(hook)

    def _require_running(self) -> None:
        if self._stack is None:
            raise SandboxNotRunningError()

    # -- time -------------------------------------------------------------------------------
    @property
    def lab_clock(self) -> Clock:
        """The learner's clock (whatever world is current)."""
        return self._lab_clock

    @property
    def clock(self) -> Clock:
        """The clock that moto follows now (a check's isolated world has its own)."""
        return self._time.clock if self._time is not None else self._lab_clock

    # -- boto3 ------------------------------------------------------------------------------
    def session(self) -> boto3.session.Session:
        """A boto3 session with the fake credentials and the sandbox's region."""
        self._require_running()
        if self._session is None:
            self._session = boto3.session.Session(
                aws_access_key_id=FAKE_ACCESS_KEY_ID,
                aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
                region_name=self.region,
            )
        return self._session

    def client(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 client for a service inside the sandbox; takes what ``boto3.client`` takes.

        ``client("sqs")``, ``client("sqs", "us-west-2")``, ``client(service_name="sqs",
        region_name="us-west-2")``, ``client("sqs", config=Config(region_name="us-west-2"))`` and
        labkit's ``client("sqs", region="us-west-2")`` all work; so do ``api_version``,
        ``use_ssl``, ``verify``, ``endpoint_url`` (an AWS one) and the credential keywords.
        A ``config`` is merged under the sandbox's own settings (one attempt per call). Plain
        calls (service and region only) share one cached client per service and region.

        Raises:
            ClientArgumentError: Two different regions, no service, a keyword boto3 does not
                take, or an ``endpoint_url`` on this machine.
        """
        call = resolve("client", args, kwargs, default_region=self.region)
        if not call.cacheable:
            return self.session().client(
                call.service, region_name=call.region, config=call.config, **call.options
            )
        key = (call.service, call.region)
        if key not in self._clients:
            self._clients[key] = self.session().client(
                call.service, region_name=call.region, config=call.config
            )
        return self._clients[key]

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 resource inside the sandbox; takes what ``boto3.resource`` takes.

        The arguments are read as :meth:`client` reads them (``region_name``, ``region``, the
        region as second positional argument, ``config=Config(region_name=...)``...).
        """
        call = resolve("resource", args, kwargs, default_region=self.region)
        return self.session().resource(
            call.service, region_name=call.region, config=call.config, **call.options
        )

    # -- isolation --------------------------------------------------------------------------
    @contextmanager
    def isolated(self) -> Iterator[Sandbox]:
        """An empty AWS world with its own clock, for a check that needs a clean slate.

        The learner's resources are set aside (not copied) and put back afterwards, as are
        moto's id sequence and the learner's clock: whatever the check does, the learner's
        world is exactly as it was.
        """
        self._require_running()
        assert self._time is not None
        instances: list[Any] = list(BackendDict._instances)  # type: ignore[misc]
        saved = [(backend, dict(backend)) for backend in instances]
        extra = _global_registries()
        saved_extra = [(registry, dict(registry)) for registry in extra]
        rng_state = mock_random.getstate()
        outer_clock = self._time.clock
        clients = self._clients
        for backend in instances:
            backend.clear()
        for registry in extra:
            registry.clear()
        self._clients = {}
        self._time.follow(Clock(outer_clock.now))
        try:
            yield self
        finally:
            for backend in list(BackendDict._instances):  # type: ignore[misc]
                backend.clear()
            for backend, content in saved:
                backend.update(content)
            created = [b for b in BackendDict._instances if b not in instances]  # type: ignore[misc]
            BackendDict._instances[:] = instances + created  # type: ignore[misc]
            for registry, content in saved_extra:
                registry.clear()
                registry.update(content)
            mock_random.setstate(rng_state)
            self._clients = clients
            if self._time is not None:
                self._time.follow(outer_clock)

    def backend(self, service: str, *, region: str | None = None) -> Any:
        """moto's backend for ``service`` in the default account (read-only use: views, checks)."""
        from moto.backends import get_backend
        from moto.core.models import DEFAULT_ACCOUNT_ID

        backends: Any = get_backend(service)  # type: ignore[call-overload]
        account = backends[DEFAULT_ACCOUNT_ID]
        return account[region or self.region] if region != "global" else account["global"]

    def context(self) -> AbstractContextManager[Sandbox]:
        """Use as ``with sandbox.context():`` to stop it at the end of the block."""

        @contextmanager
        def run() -> Iterator[Sandbox]:
            self.start()
            try:
                yield self
            finally:
                self.stop()

        return run()


def _global_registries() -> list[dict[str, Any]]:
    """moto state that lives outside the per-account backends (S3's global bucket names)."""
    from moto.s3.models import s3_backends

    return [s3_backends.bucket_accounts]
