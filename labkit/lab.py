"""The ``Lab``: what ``labkit.start()`` returns to a learner.

It ties together one sandbox, one lab clock, the lab's checks and the learner's progress. It
holds no AWS logic of its own: the sandbox does AWS, the grading layer does checks.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from labkit.clock import Clock
from labkit.errors import LabkitError
from labkit.grading.progress import record_pass
from labkit.grading.results import CheckResult, ScoreReport
from labkit.grading.runner import run_check, run_checks
from labkit.labs.spec import LabSpec
from labkit.sandbox.clientargs import signature as client_signature
from labkit.sandbox.inventory import Resource, inventory
from labkit.sandbox.session import Sandbox
from labkit.sandbox.timeshift import wall_now

if TYPE_CHECKING:
    from labkit.sandbox.access import AccessResult
    from labkit.sandbox.mailbox import Mailbox
    from labkit.services.apigateway.widget import ApiTraceView
    from labkit.services.apigatewayv2.patch_websocket import WebSocketClient
    from labkit.services.awslambda.widget import InvocationView
    from labkit.services.cloudformation.widget import StackView
    from labkit.services.cognitoidp.state import TokenSnapshot
    from labkit.services.dax.widget import DaxView
    from labkit.services.dynamodb.widget import TableView
    from labkit.services.elasticache.widget import CacheView
    from labkit.services.flink.widget import WindowView
    from labkit.services.kinesis.widget import StreamView
    from labkit.services.rds.widget import DbView
    from labkit.services.ses.widget import MailboxView
    from labkit.services.sns.widget import TopicView
    from labkit.services.sqs.widget import QueueView
    from labkit.services.stepfunctions.widget import ExecutionView
    from labkit.widgets.architecture_view import MapView
    from labkit.widgets.sandbox_view import SandboxView


class CheckFailedError(LabkitError):
    """A check failed while checks are set to fail their cell (under pytest and nbval)."""

    code = "CheckFailed"

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.text())
        self.result = result

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback through labkit's internals: the learner
        # (or the CI log) sees what the check found and the hint, nothing else.
        return ["labkit: a check failed", *self.result.text().splitlines()]


def check_mode() -> str:
    """``raise`` (a failed check fails its cell) or ``show`` (it is only displayed).

    ``LABKIT_CHECKS`` decides when set; otherwise checks raise under pytest (nbval runs the
    kernel from pytest) and only show everywhere else, so a learner's notebook keeps running.
    """
    mode = os.environ.get("LABKIT_CHECKS", "").strip().lower()
    if mode in ("raise", "show"):
        return mode
    return "raise" if "PYTEST_CURRENT_TEST" in os.environ else "show"


class Lab:
    """A running lab: its sandbox, its clock and its checks.

    Create one with :func:`labkit.start`.
    """

    def __init__(
        self,
        spec: LabSpec | None,
        *,
        clock: Clock,
        sandbox: Sandbox,
        namespace: Mapping[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.sandbox = sandbox
        self._namespace = namespace

    @property
    def id(self) -> str | None:
        """The lab's id, ``None`` in free play."""
        return self.spec.id if self.spec else None

    # -- AWS --------------------------------------------------------------------------------
    def client(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 client in the sandbox, e.g. ``lab.client("sqs")``.

        Takes what ``boto3.client`` takes, with the same meaning: ``lab.client("sqs",
        region_name="us-west-2")``, ``lab.client("sqs", "us-west-2")``,
        ``lab.client(service_name="sqs")``, ``config=Config(...)``, ``api_version``, ``verify``,
        credentials...; ``region=`` is another spelling of ``region_name=``.
        """
        return self.sandbox.client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 resource in the sandbox, e.g. ``lab.resource("dynamodb")``.

        Takes what ``boto3.resource`` takes (see :meth:`client`).
        """
        return self.sandbox.resource(*args, **kwargs)

    # What help() and the notebook's tooltips show: boto3's own keywords.
    setattr(client, "__signature__", client_signature("client"))  # noqa: B010
    setattr(resource, "__signature__", client_signature("resource"))  # noqa: B010

    def deploy_function(self, handler: Any, name: str | None = None, **options: Any) -> str:
        """Deploy a handler defined in a cell as a Lambda function; returns the function's ARN.

        Packages the handler's source into a zip and calls ``create_function`` (or
        ``update_function_code`` and ``update_function_configuration`` when the function exists),
        with an IAM role for Lambda created when missing.

        Args:
            handler: The handler, ``def name(event, context)``.
            name: The function's name; the handler's own name by default.
            **options: ``environment={...}``, ``timeout=`` (seconds), ``memory=`` (MB),
                ``helpers=[...]``, ``constants={...}``, ``imports=[...]``, ``runtime=``; see
                :func:`labkit.services.awslambda.deploy.deploy_function`.
        """
        from labkit.services.awslambda.deploy import deploy_function

        return deploy_function(self.sandbox, handler, name, **options)

    def reset(self) -> None:
        """Delete every AWS resource in the sandbox; the clock, your files and variables stay."""
        self.sandbox.reset()

    def stop(self) -> None:
        """Stop the sandbox and give the process back its real clock and network."""
        self.sandbox.stop()

    @property
    def running(self) -> bool:
        """Whether this lab's sandbox is still the live one."""
        return self.sandbox.running

    # -- looking inside ---------------------------------------------------------------------
    @property
    def mailbox(self) -> Mailbox:
        """Email and text messages sent in the sandbox (Cognito's confirmation codes, ...):
        ``lab.mailbox.latest("alice@example.com").code``."""
        from labkit.sandbox.mailbox import mailbox

        return mailbox(self.sandbox)

    def mailbox_view(self, to: str | None = None, *, hold: bool = False) -> MailboxView:
        """A live view of the mail sent in the sandbox: from, to, subject, lab time, status
        (delivered, bounced, complained) and each body (HTML drawn in a sandboxed frame).

        Args:
            to: Only the messages to this address; every message when ``None``.
            hold: Keep the moment of this call (a view that never refreshes).
        """
        from labkit.services.ses.widget import mailbox_view

        return mailbox_view(self.sandbox, to, hold=hold)

    def inspect_token(self, token: str) -> TokenSnapshot:
        """A Cognito token decoded: each claim and what it means, whether the issuing pool's key
        signed it, and its time left on the lab clock, as of now (a moment: call it again
        later to see the time run out).

        Args:
            token: An ID or access token (``initiate_auth(...)["AuthenticationResult"]``).
        """
        from labkit.services.cognitoidp.state import inspect_token

        return inspect_token(token, now=self.clock.now)

    def resources(self) -> list[Resource]:
        """What the sandbox holds now, by service."""
        return inventory()

    def view(self) -> SandboxView:
        """A live view of the sandbox's resources that refreshes after every cell."""
        from labkit.widgets.sandbox_view import SandboxView

        return SandboxView(self)

    def map(self, *, hold: bool = False) -> MapView:
        """The sandbox as an architecture diagram: every resource grouped by where it runs
        (edge, each Region's front door, compute, integration and data), and every piece of
        wiring (subscriptions, event source mappings, notifications, origins, integrations,
        authorizers, tasks, replicas, destinations) with the policy that allows it and what
        flowed along it. A connection a policy refuses is drawn broken, with the reason.

        Args:
            hold: Keep the moment of this call (a view that never refreshes).
        """
        from labkit.widgets.architecture_view import MapView

        return MapView(self, hold=hold)

    def queue_view(self, queue: str | None = None) -> QueueView:
        """A live view inside an SQS queue: visible, in flight, delayed and dead-lettered messages.

        Args:
            queue: The queue's name or URL; the only queue when there is one.
        """
        from labkit.services.sqs.widget import queue_view

        return queue_view(self, queue)

    def topic_view(self, topic: str | None = None) -> TopicView:
        """A live view of an SNS topic's fan-out: subscriptions, filters, what went where and why.

        Args:
            topic: The topic's name or ARN; the only topic when there is one.
        """
        from labkit.services.sns.widget import topic_view

        return topic_view(self, topic)

    def stream_view(
        self,
        stream: str | None = None,
        *,
        consumers: Mapping[str, Mapping[str, object]] | None = None,
        firehose: list[str] | bool | None = None,
    ) -> StreamView:
        """A live view of a Kinesis data stream: a lane per shard, consumers' checkpoints,
        throughput against the shard limits, resharding, and its Firehose buffers.

        Args:
            stream: The stream's name or ARN; the only stream when there is one.
            consumers: Consumers' checkpoints to mark, by consumer name.
            firehose: Firehose delivery streams to show (all reading this stream with True).
        """
        from labkit.services.kinesis.widget import stream_view

        return stream_view(self, stream, consumers=consumers, firehose=firehose)

    def stack_view(self, name: str, *, hold: bool = False) -> StackView:
        """A live view of a CloudFormation stack (its resources as a tree with status and drift,
        its events) or of a StackSet (a grid of accounts by Regions with each instance's status).

        Args:
            name: The stack's or the StackSet's name.
            hold: Keep the moment of this call instead of following the lab.
        """
        from labkit.services.cloudformation.widget import stack_view

        return stack_view(self.sandbox, name, hold=hold)

    def dax_view(self, cluster: str | None = None, *, hold: bool = False) -> DaxView:
        """A live view of a DAX cluster's item and query caches: entries and the TTL they have
        left, hits and misses, which entries are stale (differ from the table now), and recent
        requests with their latency.

        Args:
            cluster: The cluster's name or ARN; the only cluster when there is one.
            hold: Keep the moment of this call instead of following the lab.
        """
        from labkit.services.dax.widget import dax_view

        return dax_view(self.sandbox, cluster, hold=hold)

    def window_view(self, application: str | None = None, *, hold: bool = False) -> WindowView:
        """A live view of a Managed Flink application's windows: each source's watermark (per
        shard), open windows per key, late elements (dropped or sent to a side output), firings
        and late firings, and a plot of the results its sinks emitted.

        Args:
            application: The application's name or ARN; the only application when there is one.
            hold: Keep the moment of this call (a view that never refreshes).
        """
        from labkit.services.flink.widget import window_view

        return window_view(self.sandbox, application, hold=hold)

    def cache_view(self, cache: str | None = None, *, hold: bool = False) -> CacheView:
        """A live view of an ElastiCache cluster's Redis engine: keys with their type, value and
        the TTL they have left, hits and misses, evictions and the key evicted next.

        Args:
            cache: The cluster's (or replication group's) id or ARN; the only one when there is
                one.
            hold: Keep the moment of this call instead of following the lab.
        """
        from labkit.services.elasticache.widget import cache_view

        return cache_view(self.sandbox, cache, hold=hold)

    def db_view(self, name: str | None = None, *, hold: bool = False) -> DbView:
        """A live view of an RDS DB instance (endpoint, Multi-AZ standby, failovers, replicas
        and their lag, backups, connections) or an Aurora cluster (writer and readers, the
        six-copy volume, failovers, Serverless v2 capacity).

        Args:
            name: The instance's or cluster's identifier or ARN; the only one when there is one.
            hold: Keep the moment of this call instead of following the lab.
        """
        from labkit.services.rds.widget import db_view

        return db_view(self.sandbox, name, hold=hold)

    def cluster_view(self, cluster: str | None = None, *, hold: bool = False) -> Any:
        """A live view of an ECS cluster: instances and free capacity, tasks and their state,
        ALB targets and their health, scaling over lab time (``cluster``: name or ARN; the only
        cluster when there is one; ``hold``: keep the moment of this call)."""
        from labkit.services.ecs.widget import cluster_view

        return cluster_view(self.sandbox, cluster, hold=hold)

    def dms_view(self, task: str | None = None) -> Any:
        """A DMS replication task now: status, replication lag, rows moved by table, CDC batches
        (``task``: identifier or ARN; the only task when there is one)."""
        from labkit.services.dms.view import dms_view

        return dms_view(task, self.clock.timestamp)

    def redshift_view(self, statement: str | None = None) -> Any:
        """A Redshift Data API statement: its SQL and status, the cluster's nodes and slices, rows
        each join redistributed, blocks zone maps skipped, Spectrum's bytes, a result preview
        (``statement``: its ``Id``, ``<id>:<n>`` for a batch's n-th; the latest when omitted)."""
        from labkit.services.redshift.view import redshift_view

        return redshift_view(statement)

    def search_view(self, index: str | None = None) -> Any:
        """An OpenSearch index now: documents and how many are searchable (the rest wait for the
        next refresh on the lab clock), mappings, the last search with its hits and BM25 scores
        (``index``: ``domain/index`` or its name; the only index when there is one)."""
        from labkit.services.opensearch.view import search_view

        return search_view(index, self.clock.timestamp)

    def lake_view(self) -> Any:
        """The data lake now: each Glue catalog table's schema and partitions, ``key=value``
        folders in S3 the catalog does not hold yet, and the objects under each by format."""
        from labkit.services.athena.view import lake_view

        return lake_view(self.sandbox.region)

    def query_view(self, execution_id: str | None = None) -> Any:
        """An Athena query: state, partitions read and pruned, bytes scanned and billed, cost,
        a result preview (``execution_id``: its ``QueryExecutionId``; the latest when omitted)."""
        from labkit.services.athena.view import query_view

        return query_view(execution_id, self.clock.timestamp, self.sandbox.region)

    def etl_view(self) -> Any:
        """Glue now: crawlers and their last crawl, ETL jobs with each run's objects read and
        written, and the objects each job's bookmark remembers as processed."""
        from labkit.services.glue.view import etl_view

        return etl_view(self.sandbox.region)

    def kafka_view(self, cluster: str | None = None) -> Any:
        """An MSK cluster's Kafka side now: each topic's partitions (leader, replicas, log start
        and end offsets), each consumer group's owners, committed offsets and lag, and its
        rebalances over lab time (``cluster``: name or ARN; the only cluster when there is one)."""
        from labkit.services.kafka.view import kafka_view

        return kafka_view(cluster)

    def emr_view(self, cluster: str | None = None) -> Any:
        """An EMR cluster now: its state, nodes by role (primary, core, task) and its steps in
        order, each with its state, ActionOnFailure, lab time and the engine that ran it or the
        reason it failed (``cluster``: id, ARN or name; the newest cluster by default)."""
        from labkit.services.emr.view import emr_view

        return emr_view(cluster)

    def dashboard_view(
        self, data_set: str | None = None, *, x: str, y: str, kind: str = "bar"
    ) -> Any:
        """A QuickSight visual of a data set (id or ARN; the only one when there is one): ``y``
        by ``x`` as a ``kind`` chart ("bar" or "line") with its numbers in a table, from the SPICE
        copy of the newest completed ingestion (or a direct query run now)."""
        from labkit.services.quicksight.view import dashboard_view

        return dashboard_view(data_set, self.clock.timestamp, x=x, y=y, kind=kind)

    def sftp_endpoint(self, server: str) -> Any:
        """Where an SFTP client connects to a Transfer Family server (id or ARN): ``host, port =
        lab.sftp_endpoint(server_id)``, the server's AWS host name (it resolves inside this lab)
        and 22; ``.loopback`` is the address for a client outside Python (the ``sftp`` command)."""
        from labkit.services.transfer.state import sftp_endpoint

        return sftp_endpoint(server)

    def transfer_view(self, server: str | None = None) -> Any:
        """A Transfer Family server's SFTP activity now: sign-ins, uploads and refusals, and
        where each path landed in S3 (``server``: id or ARN; the only server when there is one)."""
        from labkit.services.transfer.view import transfer_view

        return transfer_view(server)

    def sync_view(self, task: str | None = None) -> Any:
        """DataSync tasks now: each execution over lab time, files moved and skipped as
        unchanged, bytes, verification (``task``: name or ARN; every task when omitted)."""
        from labkit.services.datasync.view import sync_view

        return sync_view(task, self.clock.timestamp)

    def fsx_view(self, file_system: str | None = None) -> Any:
        """An FSx for Lustre file system now: each file loaded or metadata only, what loaded
        lazily from S3, what was exported back (``file_system``: id or ARN; the only one)."""
        from labkit.services.fsx.view import fsx_view

        return fsx_view(file_system)

    def table_view(self, table: str | None = None, *, hold: bool = False) -> TableView:
        """A live view of a DynamoDB table: consumed against provisioned capacity per second
        with throttles, its partitions and which keys live where, indexes, TTL and stream.

        Args:
            table: The table's name or ARN; the only table when there is one.
            hold: Keep the moment of this call (a view that never refreshes).
        """
        from labkit.services.dynamodb.widget import table_view

        return table_view(self, table, hold=hold)

    def execution_view(self, what: str | None = None, *, hold: bool = False) -> ExecutionView:
        """A live view of a Step Functions execution drawn on its state machine's graph: each
        state's status, retries, lab time, input and output, and the path taken.

        Args:
            what: An execution (name or ARN), a state machine (name or ARN: its newest
                execution, as new ones start), or nothing (the newest execution's machine).
            hold: Keep the moment of this call (a view that never refreshes).
        """
        from labkit.services.stepfunctions.widget import execution_view

        return execution_view(self.sandbox, what, hold=hold)

    def invocations(self, function: str | None = None) -> InvocationView:
        """A live timeline of Lambda invocations (cold or warm, duration, errors, throttles).

        Args:
            function: Only this function's invocations; all functions by default.
        """
        from labkit.services.awslambda.widget import InvocationView

        return InvocationView(self, function)

    def api_trace(
        self, api: str | None = None, *, region: str | None = None, hold: bool = False
    ) -> ApiTraceView:
        """A live trace of a REST API's requests: for each, its stage and route, who decided
        about access and why, the throttle bucket, cache hit or miss, the integration, status
        and latency.

        Args:
            api: The API's id or name; the only API when there is one.
            region: The API's Region (the lab's by default).
            hold: Keep the moment of this call instead of following the lab.
        """
        from labkit.services.apigateway.widget import api_trace_view

        return api_trace_view(self.sandbox, api, region=region, hold=hold)

    def websocket(self, url: str, headers: Mapping[str, str] | None = None) -> WebSocketClient:
        """Open a WebSocket connection to a WebSocket API stage, as a browser or app would.

        Args:
            url: ``wss://{api-id}.execute-api.{region}.amazonaws.com/{stage}`` (the API's
                ``ApiEndpoint`` and a stage), with a query string if ``$connect`` reads one.
            headers: Handshake headers (``$connect`` sees them).

        Returns:
            The connection: ``send(message)``, ``receive()``, ``close()``.
        """
        from labkit.services.apigatewayv2.patch_websocket import connect

        self.sandbox._require_running()
        return connect(url, dict(headers or {}))

    def access(
        self,
        resource: str,
        action: str,
        *,
        principal: str,
        source_arn: str | None = None,
        source_account: str | None = None,
        secure: bool = True,
        context: Mapping[str, Any] | None = None,
        identity_policies: list[Any] | None = None,
    ) -> AccessResult:
        """May ``principal`` do ``action`` on ``resource``? The answer, and why, in words.

        Reads the resource's policy from the sandbox (a queue's, bucket's, function's or
        topic's) and asks labkit's policy engine, as AWS evaluates it: which statement allowed
        or denied, or that none did and which came closest. E.g.
        ``lab.access("orders", "sqs:SendMessage", principal="sns.amazonaws.com",
        source_arn=topic_arn)``.

        Args:
            resource: A queue (name, URL or ARN), bucket (``name``, ``name/key`` or ARN),
                function (name or ARN) or topic (name or ARN).
            action: ``service:Operation``, e.g. ``s3:GetObject``.
            principal: ``"anonymous"``, an account id, an IAM user or role ARN, or a service
                principal such as ``"sns.amazonaws.com"``.
            source_arn: What a service acts for (``aws:SourceArn``): a topic, bucket,
                distribution.
            source_account: ``aws:SourceAccount`` (by default the account of ``source_arn``).
            secure: Whether the request comes over HTTPS (``aws:SecureTransport``).
            context: Other condition keys, e.g. ``{"aws:SourceVpce": "vpce-1"}``.
            identity_policies: The caller's IAM policies (documents); by default those IAM
                holds for a user or role of the sandbox.
        """
        from labkit.sandbox.access import ask

        def client(service: str, region: str) -> Any:
            return self.sandbox.client(service, region=region)

        return ask(
            client,
            resource,
            action,
            principal=principal,
            region=self.sandbox.region,
            source_arn=source_arn,
            source_account=source_account,
            secure=secure,
            context=context,
            identity_policies=identity_policies,
        )

    # -- checks -----------------------------------------------------------------------------
    def check(self, name: str, namespace: Mapping[str, Any] | None = None) -> CheckResult:
        """Run one of this lab's checks on your work.

        Args:
            name: The check's name (see ``labkit list``).
            namespace: Your variables; defaults to the notebook's (``globals()`` works too).

        Returns:
            The result. Under pytest/nbval a failed check raises instead, failing its cell.
        """
        spec = self._require_spec()
        check = spec.check(name)
        if check.hidden:
            raise LabkitError(
                f"`{name}` is a hidden check: it runs only when your work is graded "
                "(`labkit grade`)."
            )
        self.sandbox._require_running()
        result = run_check(
            check, lab_id=spec.id, namespace=self._resolve(namespace), sandbox=self.sandbox
        )
        self._record(result)
        if not result.passed and check_mode() == "raise":
            raise CheckFailedError(result)
        return result

    def check_all(self, namespace: Mapping[str, Any] | None = None) -> ScoreReport:
        """Run every check a learner may run; hidden ones are counted, not run."""
        spec = self._require_spec()
        self.sandbox._require_running()
        report = run_checks(
            spec.checks, lab_id=spec.id, namespace=self._resolve(namespace), sandbox=self.sandbox
        )
        for result in report.results:
            self._record(result)
        if not report.all_passed and check_mode() == "raise":
            failed = next(r for r in report.results if not r.passed)
            raise CheckFailedError(failed)
        return report

    def score(self, namespace: Mapping[str, Any] | None = None) -> ScoreReport:
        """Your score in this lab, as a table (runs the checks)."""
        return self.check_all(namespace)

    def grade(self, namespace: Mapping[str, Any]) -> ScoreReport:
        """Every check, hidden ones included: what ``labkit grade`` runs. Never raises."""
        spec = self._require_spec()
        return run_checks(
            spec.checks,
            lab_id=spec.id,
            namespace=namespace,
            sandbox=self.sandbox,
            include_hidden=True,
        )

    def _record(self, result: CheckResult) -> None:
        if os.environ.get("LABKIT_PROGRESS", "on").lower() in ("off", "0", "false"):
            return
        # Progress is a convenience: a read-only home must not break a check.
        with contextlib.suppress(OSError):
            record_pass(result, when=wall_now())

    def _require_spec(self) -> LabSpec:
        if self.spec is None:
            raise LabkitError(
                "This is a free-play sandbox without checks. Start a lab to check your work, "
                'for example `lab = labkit.start("welcome")`.'
            )
        return self.spec

    def _resolve(self, namespace: Mapping[str, Any] | None) -> Mapping[str, Any]:
        if namespace is not None:
            return namespace
        if self._namespace is not None:
            return self._namespace
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is not None:
            return shell.user_ns  # type: ignore[no-any-return]
        raise LabkitError(
            "labkit cannot see your variables here. Pass them explicitly: "
            "`lab.check(name, globals())`, or `labkit.start(lab_id, namespace=globals())`."
        )

    # -- display ----------------------------------------------------------------------------
    def _summary(self) -> str:
        what = f"lab {self.spec.id!r} ({self.spec.title})" if self.spec else "free-play sandbox"
        state = "running" if self.running else "stopped"
        return (
            f"labkit {what}: {state}, region {self.sandbox.region}, "
            f"lab time {self.clock.now:%Y-%m-%d %H:%M:%S} UTC"
        )

    def __repr__(self) -> str:
        return f"<Lab {self._summary()}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._summary())
