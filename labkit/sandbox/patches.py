"""Which of labkit's moto patches exist, and when each is installed.

Each service folder's patch module (``labkit/services/<service>/patch*.py``) named in
:data:`PATCHES` has ``install(sandbox, stack)``, which patches moto while
the sandbox runs and registers the undo on ``stack``. State a patch adds belongs on moto's own
model or backend objects, so that ``lab.reset()`` and a check's isolated world cover it.

A patch for a service is installed when moto first loads that service's backend, not at start:
moto's Lambda models alone import IAM, ECR, Logs, S3, Kinesis and DynamoDB (a third of a second),
which a lab that never touches Lambda should not pay for. Every API call reaches its backend
through ``moto.backends.get_backend``, so the patch is in place before the first request of its
service is answered, and a resource of that service cannot exist without it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


@dataclass(frozen=True)
class Patch:
    """One service module's patches and when to install them.

    Attributes:
        name: The patch's name (``lab.sandbox.patches`` lists these).
        backends: moto backend modules (``moto.<name>``) whose first load installs it; empty means
            "at start" (patches that answer requests no moto backend serves, and the SQS patch,
            which others wrap and which every lab uses).
        after: Patches installed first whenever this one is.
        module: The module with ``install``; by default ``labkit.services.<name>.patch``.
    """

    name: str
    backends: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    module: str = ""

    @property
    def path(self) -> str:
        """The dotted path of the module with ``install``."""
        return self.module or f"labkit.services.{self.name}.patch"


PATCHES: tuple[Patch, ...] = (
    Patch("sqs"),
    # Requests to *.cloudfront.net and to the Global Accelerator API reach no moto backend.
    Patch("edge"),
    Patch("globalaccelerator"),
    Patch("apprunner"),  # no moto backend: App Runner's API and service URLs
    # AWS managed policies, built on demand; Lambda's models reach IAM's backends directly, so
    # the Lambda patch brings this one along.
    Patch("iam", ("iam",)),
    Patch("awslambda", ("awslambda",), after=("sqs", "iam")),
    Patch("apigateway", ("apigateway",), after=("awslambda",)),
    Patch(
        "apigateway_auth",
        ("apigateway",),
        after=("apigateway",),
        module="labkit.services.apigateway.patch_auth",
    ),
    # Endpoint types: edge-optimized through the edge, private only through a VPC endpoint.
    Patch(
        "apigateway_endpoints",
        ("apigateway",),
        after=("apigateway",),
        module="labkit.services.apigateway.patch_endpoints",
    ),
    # HTTP and WebSocket APIs (API Gateway v2): moto answers v2's API from REST's backend.
    Patch("apigatewayv2", ("apigateway", "apigatewayv2"), after=("apigateway",)),
    Patch(
        "apigatewayv2_websocket",
        ("apigateway", "apigatewayv2", "apigatewaymanagementapi"),
        after=("apigatewayv2",),
        module="labkit.services.apigatewayv2.patch_websocket",
    ),
    # SNS wraps the subscription delivery that the Lambda triggers wrap too; installing the
    # triggers first keeps the order every test has run with.
    Patch("sns", ("sns",), after=("awslambda",)),
    Patch("kinesis", ("kinesis",)),
    Patch("firehose", ("firehose",), after=("kinesis",)),
    Patch("cloudfront", ("cloudfront",)),
    Patch("dax", ("dax",)),
    Patch("s3_replication", ("s3",), module="labkit.services.s3.patch_replication"),
    Patch("s3_notifications", ("s3",), module="labkit.services.s3.patch_notifications"),
    Patch("dynamodb", ("dynamodb",)),
    Patch("dynamodb_ttl", ("dynamodb",), module="labkit.services.dynamodb.patch_ttl"),
    Patch(
        "dynamodb_streams",
        ("dynamodb", "dynamodbstreams"),
        module="labkit.services.dynamodb.patch_streams",
    ),
    Patch(
        "dynamodb_global",
        ("dynamodb", "dynamodbstreams"),
        after=("dynamodb_ttl", "dynamodb_streams"),
        module="labkit.services.dynamodb.patch_global",
    ),
    Patch(
        "dynamodb_autoscaling",
        ("applicationautoscaling",),
        module="labkit.services.dynamodb.patch_autoscaling",
    ),
    Patch(
        "dynamodb_recovery",
        ("dynamodb",),
        after=("dynamodb_global",),
        module="labkit.services.dynamodb.patch_recovery",
    ),
    Patch("stepfunctions", ("stepfunctions",)),
    # SES v2 answers from SES v1's backend: either loading installs the mailbox delivery.
    Patch("ses", ("ses", "sesv2")),
    # The SES sandbox's rules wrap the mailbox delivery: a refused send delivers nothing.
    Patch(
        "ses_sending",
        ("ses", "sesv2"),
        after=("ses",),
        module="labkit.services.ses.patch_sending",
    ),
    # Requests signed with the temporary credentials the sandbox issues (Cognito identity pools).
    Patch("s3_identity", ("s3",), module="labkit.services.s3.patch_identity"),
    # Transfer Acceleration's endpoint is refused before the identity patch decides access.
    Patch(
        "s3_accelerate",
        ("s3",),
        after=("s3_identity",),
        module="labkit.services.s3.patch_accelerate",
    ),
    # Sign-in is wrapped in layers: the user-pool patch's client checks outside, then expired
    # temporary passwords (invite), then SRP; so the inner ones are installed first.
    Patch("cognitoidp", ("cognitoidp",), after=("cognitoidp_invite",)),
    Patch(
        "cognitoidp_invite",
        ("cognitoidp",),
        after=("cognitoidp_srp",),
        module="labkit.services.cognitoidp.patch_invite",
    ),
    Patch("cognitoidp_srp", ("cognitoidp",), module="labkit.services.cognitoidp.patch_srp"),
    Patch("cognitoidp_revoke", ("cognitoidp",), module="labkit.services.cognitoidp.patch_revoke"),
    Patch(
        "cognitoidp_recovery",
        ("cognitoidp",),
        after=("cognitoidp",),
        module="labkit.services.cognitoidp.patch_recovery",
    ),
    # A real PostgreSQL behind each RDS instance's endpoint (reached through the network guard).
    Patch("rds", ("rds",)),
    Patch("rds_proxy", ("rds",), after=("rds",), module="labkit.services.rds.patch_proxy"),
    Patch("rds_aurora", ("rds",), after=("rds",), module="labkit.services.rds.patch_aurora"),
    Patch("rds_global", ("rds",), after=("rds_aurora",), module="labkit.services.rds.patch_global"),
    # A Redis engine (fakeredis) behind each ElastiCache endpoint, for the real redis client.
    Patch("elasticache", ("elasticache",)),
    # A pool's domain serves its hosted UI and OAuth endpoints, with the pool's own tokens.
    Patch(
        "cognitoidp_hostedui",
        ("cognitoidp",),
        after=("cognitoidp",),
        module="labkit.services.cognitoidp.patch_hostedui",
    ),
    # Identity pools check user-pool tokens with the pools' own keys.
    Patch("cognitoidentity", ("cognitoidentity",), after=("cognitoidp",)),
    # Application Load Balancers answer at their DNS names (a name exists only once moto's
    # elbv2 backend holds the load balancer; v1 and v2 share a host, so moto may load "elb"
    # first); their Lambda targets run in Lambda's runtime.
    Patch("elbv2", ("elb", "elbv2"), after=("awslambda",)),
    # authenticate-cognito: sign-in through a pool's hosted UI, sessions, signed user claims.
    Patch(
        "elbv2_auth",
        ("elb", "elbv2"),
        after=("elbv2",),
        module="labkit.services.elbv2.patch_auth",
    ),
    Patch("cloudformation", ("cloudformation",)),
    Patch(
        "cloudformation_properties",
        ("cloudformation",),
        after=("cloudformation",),
        module="labkit.services.cloudformation.patch_properties",
    ),
    # ECS tasks run learner apps from ECR images; services register them as ALB targets.
    Patch("ecs", ("ecs",), after=("elbv2",)),
    Patch(
        "ecs_scaling",
        ("applicationautoscaling", "cloudwatch"),
        after=("ecs",),
        module="labkit.services.ecs.patch_scaling",
    ),
    Patch("ecs_capacity", ("ecs",), after=("ecs",), module="labkit.services.ecs.patch_capacity"),
    # Athena's queries run on DuckDB over the Glue catalog and S3 (Glue, S3 backends read too).
    Patch("athena", ("athena",)),
    Patch("lakeformation", ("lakeformation",)),  # data cells filters (row filters)
    # Glue crawlers infer tables and partitions from S3 on the lab clock.
    Patch("glue", ("glue",)),
    # Transfer Family servers speak real SFTP on a loopback port, storing files in the sandbox's S3.
    Patch("transfer", ("transfer",)),
    # DataSync task executions copy a local folder (NFS/SMB location) to S3, only what changed.
    Patch("datasync", ("datasync",)),
    # DMS tasks move rows from an RDS instance's PostgreSQL to S3, Kinesis or DynamoDB.
    Patch("dms", ("dms",)),
    # FSx for Lustre file systems linked to S3 (lazy load, export) as a folder on this machine.
    Patch("fsx", ("fsx",)),
    # Redshift's Data API runs SQL on a DuckDB database per cluster; snapshots carry the data.
    Patch("redshift", ("redshift", "redshiftdata")),
    # Managed Service for Apache Flink: applications start, run their job on the lab clock, stop.
    Patch("flink", ("kinesisanalyticsv2",), after=("kinesis",)),
    Patch("kafka", ("kafka",)),  # MSK clusters run an embedded Kafka broker on loopback
    # OpenSearch domains answer the REST API at their endpoints from tantivy.
    Patch("opensearch", ("es", "opensearch")),  # the API host es.<region> loads moto.es
    Patch("emr", ("emr",)),  # EMR steps run PySpark scripts from S3 on the lab clock
    Patch("quicksight"),  # data sets and SPICE ingestions (paths moto does not route) over Athena
)


class _Installer:
    """Installs each patch once, on start or when moto loads its backend."""

    def __init__(self, sandbox: Sandbox, stack: ExitStack) -> None:
        self._sandbox = sandbox
        self._stack = stack
        self._by_name = {p.name: p for p in PATCHES}
        self._installed: set[str] = set()
        # Re-entrant: installing one patch may load another backend (and so another patch).
        self._lock = threading.RLock()

    def install(self, name: str) -> None:
        with self._lock:
            if name in self._installed:
                return
            self._installed.add(name)
            for first in self._by_name[name].after:
                self.install(first)
            patch = self._by_name[name]
            importlib.import_module(patch.path).install(self._sandbox, self._stack)

    def on_backend(self, module_name: str) -> None:
        for patch in PATCHES:
            if module_name in patch.backends and patch.name not in self._installed:
                self.install(patch.name)

    @property
    def installed(self) -> frozenset[str]:
        return frozenset(self._installed)


def install_all(sandbox: Sandbox, stack: ExitStack) -> Callable[[], frozenset[str]]:
    """Install the start-up patches now and the others when moto loads their backends.

    Args:
        sandbox: The sandbox the patches serve.
        stack: Undoes every patch (and the hook that installs them) when the sandbox stops.

    Returns:
        A function that tells which patches are installed so far.
    """
    import moto.backends

    installer = _Installer(sandbox, stack)
    for patch in PATCHES:
        if not patch.backends:
            installer.install(patch.name)

    # moto resolves a backend on every request (``get_backend`` calls this each time), so the
    # hook also sees services whose modules an earlier sandbox in this process had loaded.
    original = moto.backends._import_backend

    def import_backend(module_name: str, backends_name: str) -> Any:
        installer.on_backend(module_name)
        return original(module_name, backends_name)

    moto.backends._import_backend = import_backend

    def undo() -> None:
        moto.backends._import_backend = original

    stack.callback(undo)
    return lambda: installer.installed
