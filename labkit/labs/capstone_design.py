"""The capstone's design checks: what the system the learner built costs, how fast it is for its
farthest user, and whether one failure or one open bucket undoes it.

Each builds the learner's system in an empty world of its own (``build(aws)``) and reads it as
AWS would bill and serve it:

- ``monthly_cost``: the monthly bill at the described traffic (:data:`TRAFFIC`), from the fact
  table's prices and what was built (API type, functions' memory and architecture, tables'
  capacity mode and Regions, DAX nodes, SES, CloudFront, Transfer Acceleration), under
  :data:`BUDGET`;
- ``slowest_user``: every described user (:data:`USERS`) gets the home page within
  :data:`LATENCY_TARGET_MS` through the edge network's latency model (a cache hit);
- ``no_weak_spots``: no single point of failure (the orders table in one Region only, a DAX
  cluster of fewer nodes than AWS recommends for production) and no public bucket (an anonymous
  caller reads nothing straight from S3).

The estimate leaves free tiers out and counts a month as AWS's pricing pages do
(``aws_pricing.hours_per_month``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from labkit import edge
from labkit.facts import value
from labkit.grading.checks import CheckContext
from labkit.labs.capstone_journeys import origin_buckets
from labkit.labs.capstone_support import (
    REGION,
    System,
    build_system,
    distribution,
    http,
    rest_api,
    table,
    uploads_bucket,
)

#: The traffic the design is judged at, a month of it.
TRAFFIC: Mapping[str, float] = MappingProxyType(
    {
        "api_requests": 3_000_000,  # calls to the REST API (each runs its function once)
        "order_writes": 1_000_000,  # orders placed (one write of a small item each)
        "order_reads": 2_000_000,  # orders read (eventually consistent)
        "sign_ups": 20_000,  # new users: welcome emails, and runs of the welcome function
        "function_ms": 120,  # average duration of a function run, milliseconds
        "dax_hit_share": 0.9,  # share of order reads DAX answers from its cache
        "website_gb": 200,  # the website's bytes served to visitors, GB
        "upload_gb": 100,  # photos uploaded, GB (mostly from Asia Pacific: Sydney, Tokyo)
    }
)
#: The monthly budget, US dollars.
BUDGET = 200.0
#: Where the app's users are.
USERS = ("New York", "London", "São Paulo", "Mumbai", "Tokyo", "Sydney")
#: The home page (a CloudFront cache hit) reaches every user within this many milliseconds.
LATENCY_TARGET_MS = 60.0


@dataclass(frozen=True)
class CostLine:
    """One line of the estimate: a service, what is billed, and its monthly cost in USD."""

    service: str
    what: str
    usd: float

    def text(self) -> str:
        """``DAX  3 × dax.t3.small nodes × 730 h  $87.60``."""
        return f"{self.service:<12} {self.what:<60} ${self.usd:>9,.2f}"


def _functions_of_api(ctx: CheckContext, api: str) -> list[str]:
    """The functions the API's methods integrate with (by ARN)."""
    apig = ctx.client("apigateway")
    found: list[str] = []
    for resource in apig.get_resources(restApiId=api, limit=500).get("items", []):
        for method in resource.get("resourceMethods", {}) or {}:
            integration = resource["resourceMethods"][method].get("methodIntegration")
            if integration is None:
                try:
                    integration = apig.get_integration(
                        restApiId=api, resourceId=resource["id"], httpMethod=method
                    )
                except ctx.client("apigateway").exceptions.NotFoundException:
                    continue
            uri = str(integration.get("uri", ""))
            if ":lambda:path/" in uri and "/functions/" in uri:
                arn = uri.split("/functions/", 1)[1].split("/invocations", 1)[0]
                if arn not in found:
                    found.append(arn)
    return found


def _stream_functions(ctx: CheckContext) -> list[str]:
    """Functions an event source mapping on a DynamoDB stream invokes."""
    mappings = ctx.client("lambda").list_event_source_mappings().get("EventSourceMappings", [])
    return [str(m["FunctionArn"]) for m in mappings if ":dynamodb:" in str(m.get("EventSourceArn"))]


def _lambda_lines(ctx: CheckContext, runs: Mapping[str, float]) -> list[CostLine]:
    lam = ctx.client("lambda")
    lines = []
    for arn, invocations in runs.items():
        config = lam.get_function_configuration(FunctionName=arn)
        memory_gb = int(config.get("MemorySize", 128)) / 1024
        arm = "arm64" in (config.get("Architectures") or ["x86_64"])
        gb_price = value(f"lambda.price_per_gb_second_{'arm' if arm else 'x86'}")
        seconds = invocations * TRAFFIC["function_ms"] / 1000
        usd = invocations / 1e6 * value("lambda.price_per_million_requests")
        usd += seconds * memory_gb * gb_price
        lines.append(
            CostLine(
                "Lambda",
                f"{config['FunctionName']}: {invocations:,.0f} runs × {TRAFFIC['function_ms']:g} "
                f"ms × {config.get('MemorySize', 128)} MB ({'Arm' if arm else 'x86'})",
                usd,
            )
        )
    return lines


def _table_line(ctx: CheckContext, name: str, writes: float, reads: float, label: str) -> CostLine:
    described = ctx.client("dynamodb").describe_table(TableName=name)["Table"]
    regions = 1 + len([r for r in described.get("Replicas", []) if r.get("RegionName") != REGION])
    hours = value("aws_pricing.hours_per_month")
    mode = described.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if mode == "PAY_PER_REQUEST":
        # Every Region of a global table does each write (replicated writes cost as writes).
        usd = writes * regions / 1e6 * value("dynamodb.price_write_request_million_standard")
        usd += reads * 0.5 / 1e6 * value("dynamodb.price_read_request_million_standard")
        what = f"{label}: on demand, {writes:,.0f} writes × {regions} Region(s), {reads:,.0f} reads"
    else:
        throughput = described.get("ProvisionedThroughput", {})
        rcu = int(throughput.get("ReadCapacityUnits", 0))
        wcu = int(throughput.get("WriteCapacityUnits", 0))
        usd = hours * regions * rcu * value("dynamodb.price_rcu_hour_standard")
        usd += hours * regions * wcu * value("dynamodb.price_wcu_hour_standard")
        what = f"{label}: provisioned {rcu} RCU + {wcu} WCU × {regions} Region(s) × {hours} h"
    return CostLine("DynamoDB", what, usd)


def _dax_lines(ctx: CheckContext) -> list[CostLine]:
    hours = value("aws_pricing.hours_per_month")
    small = value("dax.node_hour_price_t3_small")
    memory = value("dax.node_memory")
    lines = []
    for cluster in ctx.client("dax").describe_clusters().get("Clusters", []):
        node_type = str(cluster.get("NodeType"))
        nodes = int(cluster.get("TotalNodes") or len(cluster.get("Nodes", [])) or 1)
        # Only dax.t3.small's price is in the fact table: larger nodes in proportion to memory.
        price = small * memory.get(node_type, memory["dax.t3.small"]) / memory["dax.t3.small"]
        lines.append(
            CostLine(
                "DAX",
                f"{cluster['ClusterName']}: {nodes} × {node_type} × {hours} h",
                nodes * hours * price,
            )
        )
    return lines


def estimate(ctx: CheckContext, system: System) -> list[CostLine]:
    """The system's monthly cost at :data:`TRAFFIC`, line by line."""
    api, _ = rest_api(system)
    lines = [
        CostLine(
            "API Gateway",
            f"REST API: {TRAFFIC['api_requests']:,.0f} requests",
            TRAFFIC["api_requests"] / 1e6 * value("api_gateway.rest_price_per_million_requests"),
        )
    ]
    runs: dict[str, float] = {}
    api_functions = _functions_of_api(ctx, api)
    for arn in api_functions:
        runs[arn] = runs.get(arn, 0) + TRAFFIC["api_requests"] / len(api_functions)
    for arn in _stream_functions(ctx):
        runs[arn] = runs.get(arn, 0) + TRAFFIC["sign_ups"]
    lines += _lambda_lines(ctx, runs)
    dax = _dax_lines(ctx)
    reads = TRAFFIC["order_reads"] * ((1 - TRAFFIC["dax_hit_share"]) if dax else 1)
    lines.append(
        _table_line(ctx, table(system, "orders"), TRAFFIC["order_writes"], reads, "orders")
    )
    lines.append(_table_line(ctx, table(system, "users"), TRAFFIC["sign_ups"], 0, "users"))
    lines += dax
    lines.append(
        CostLine(
            "SES",
            f"{TRAFFIC['sign_ups']:,.0f} welcome emails",
            TRAFFIC["sign_ups"] / 1000 * value("ses.price_per_thousand_emails"),
        )
    )
    lines.append(
        CostLine(
            "CloudFront",
            f"{TRAFFIC['website_gb']:g} GB of website to visitors",
            TRAFFIC["website_gb"] * value("cloudfront.transfer_out_price_north_america"),
        )
    )
    bucket = uploads_bucket(system)
    accelerated = (
        ctx.client("s3").get_bucket_accelerate_configuration(Bucket=bucket).get("Status")
        == "Enabled"
    )
    if accelerated:
        lines.append(
            CostLine(
                "S3",
                f"Transfer Acceleration: {TRAFFIC['upload_gb']:g} GB uploaded via Asia Pacific",
                TRAFFIC["upload_gb"] * value("s3.transfer_acceleration_price_other"),
            )
        )
    return lines


def check_monthly_cost(ctx: CheckContext) -> None:
    """The estimated monthly bill at the described traffic stays under the budget."""
    system = build_system(ctx)
    lines = estimate(ctx, system)
    total = sum(line.usd for line in lines)
    if total > BUDGET:
        worst = max(lines, key=lambda line: line.usd)
        hint = (
            "DAX bills every node for every hour, used or not: dax.t3.small nodes serve this "
            "traffic (3 of them for production)."
            if worst.service == "DAX"
            else "Provisioned capacity bills every hour, used or not: at this traffic on-demand "
            "(`BillingMode='PAY_PER_REQUEST'`) costs far less."
            if worst.service == "DynamoDB" and "provisioned" in worst.what
            else "Look at the largest line: fewer, smaller or cheaper resources of that kind."
        )
        ctx.fail(
            f"At the described traffic the design costs ${total:,.2f} a month, over the budget "
            f"of ${BUDGET:,.0f}; the largest line is {worst.service}, {worst.what}: "
            f"${worst.usd:,.2f}.",
            hint=hint,
        )


def check_slowest_user(ctx: CheckContext) -> None:
    """Every described user gets the home page from a nearby edge location, within the target."""
    system = build_system(ctx)
    found = distribution(system)
    s3 = ctx.client("s3")
    for bucket in origin_buckets(found):
        s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>shop</h1>")
    url = f"https://{found['DomainName']}/index.html"
    times: dict[str, tuple[float, str, str]] = {}
    for city in USERS:
        edge.fetch(url, viewer_at=city)  # the first visitor there fills the edge's cache
        answer = edge.fetch(url, viewer_at=city)
        if answer.status != 200:
            ctx.fail(
                f"A visitor in {city} asked {url} and got {answer.status}.",
                hint="The website check says what the distribution needs to serve the page.",
            )
        times[city] = (float(answer.latency_ms), str(answer.served_by), str(answer.cache))
    slowest = max(times, key=lambda c: times[c][0])
    ms, pop, cache = times[slowest]
    if ms > LATENCY_TARGET_MS:
        price_class = found["DistributionConfig"].get("PriceClass", "PriceClass_All")
        # What the second visitor got: a hit is the edge's own distance; anything else went
        # back to the bucket's Region.
        how = "a cache hit" if cache == "Hit" else f"CloudFront said {cache or 'nothing'}"
        if cache != "Hit":
            hint = (
                "The edge location did not answer from its cache on a second visit, so every "
                "visitor waits for the bucket's Region: give the default cache behaviour a "
                "policy that caches (e.g. the managed CachingOptimized), not CachingDisabled "
                "or a TTL of 0."
            )
        elif price_class != "PriceClass_All":
            hint = (
                f"The distribution's price class is {price_class}: it uses edge locations "
                "only in cheaper parts of the world, so far users reach a distant one. "
                "PriceClass_All serves everyone from their nearest edge location."
            )
        else:
            hint = "Serve the page from CloudFront's edge locations, cached there."
        ctx.fail(
            f"The slowest user, in {slowest}, waits {ms:.0f} ms for the home page ({how}, "
            f"served by {pop}); the target is {LATENCY_TARGET_MS:g} ms for every user.",
            hint=hint,
        )


def check_no_weak_spots(ctx: CheckContext) -> None:
    """No single point of failure, and no bucket anyone can read."""
    system = build_system(ctx)
    orders = table(system, "orders")
    replicas = [
        r
        for r in ctx.client("dynamodb")
        .describe_table(TableName=orders)["Table"]
        .get("Replicas", [])
        if r.get("RegionName") != REGION
    ]
    if not replicas:
        ctx.fail(
            f"Single point of failure: the orders table `{orders}` lives in {REGION} only.",
            hint="A replica in another Region (a global table) keeps orders readable and "
            "writable when a Region fails.",
        )
    wanted = int(value("dax.production_min_nodes"))
    for cluster in ctx.client("dax").describe_clusters().get("Clusters", []):
        nodes = int(cluster.get("TotalNodes") or len(cluster.get("Nodes", [])) or 1)
        if nodes < wanted:
            ctx.fail(
                f"Single point of failure: the DAX cluster `{cluster['ClusterName']}` has "
                f"{nodes} node{'s' if nodes != 1 else ''}; when "
                f"{'it fails' if nodes == 1 else 'one fails'}, the cache goes with it "
                f"(AWS recommends at least {wanted} for production, in different Availability "
                "Zones).",
                hint=f"`ReplicationFactor={wanted}` when you create the cluster.",
            )
    buckets = [*origin_buckets(distribution(system)), uploads_bucket(system)]
    s3 = ctx.client("s3")
    for bucket in buckets:
        s3.put_object(Bucket=bucket, Key="labkit-probe.txt", Body=b"private")
        answer = http("GET", f"https://{bucket}.s3.amazonaws.com/labkit-probe.txt")
        if answer.status_code == 200:
            ctx.fail(
                f"The bucket `{bucket}` is public: an anonymous GET of an object in it "
                "answered 200.",
                hint="Keep buckets private: no statement for `Principal: '*'` (or a public "
                "ACL); let CloudFront in through an origin access control instead.",
            )


__all__ = [
    "BUDGET",
    "LATENCY_TARGET_MS",
    "TRAFFIC",
    "USERS",
    "CostLine",
    "check_monthly_cost",
    "check_no_weak_spots",
    "check_slowest_user",
    "estimate",
]
