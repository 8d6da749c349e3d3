"""The architecture map's model: what the sandbox holds as a graph of resources and their wiring.

``lab.map()`` draws what the learner built the way AWS architecture diagrams do: resources as
nodes grouped by where they run (the edge network outside any Region; inside each Region the front
door, compute, integration and data tiers), and edges drawn from the actual wiring the sandbox
holds (SNS subscriptions, event source mappings, S3 notifications, CloudFront origins, API Gateway
integrations and authorizers, Step Functions tasks, global table replicas, DAX, Firehose, Lambda
destinations). Nothing comes from a hand-written list: each node and edge is read from moto's
backends (through :mod:`labkit.sandbox.backends`, creating nothing), and each edge carries the
policy engine's answer for the call it stands for, so a missing permission is a broken edge with
the engine's reason, never a silently missing one.

The nodes are read by :mod:`labkit.sandbox.architecture_nodes`, the edges by
:mod:`labkit.sandbox.architecture_wiring`; :mod:`labkit.views.architecture` renders the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID

#: Where a node stands on the map, outside-in, as AWS diagrams group services.
TIERS: tuple[str, ...] = ("edge", "front door", "compute", "integration", "data")

#: An edge's status: the call it stands for is allowed (and the target exists).
OK = "ok"
#: The call is refused, in the sandbox as on AWS (a policy denies it): nothing flows.
BROKEN = "broken"
#: The wiring names a resource the sandbox does not hold.
MISSING = "missing"
#: AWS would refuse the call (an execution role or a resource policy the sandbox does not
#: enforce lacks the permission), though the sandbox lets it through.
DENIED_ON_AWS = "denied on AWS"
#: The wiring exists but is switched off (a disabled event source mapping).
DISABLED = "disabled"

STATUSES: tuple[str, ...] = (OK, BROKEN, MISSING, DENIED_ON_AWS, DISABLED)


@dataclass(frozen=True)
class Node:
    """One resource on the map.

    Attributes:
        id: What identifies it across the map (its ARN, or ``service:region:name``).
        service: The service as AWS names it (``SQS``, ``Lambda``...).
        kind: What sort of resource (``queue``, ``function``...).
        name: Its name.
        region: Its Region; ``global`` for the edge network (CloudFront, Global Accelerator).
        tier: Where it stands: one of :data:`TIERS`.
        detail: A short description (stages, shards, replicas...).
        missing: Whether the sandbox lacks it: wiring names it, but it does not exist.
    """

    id: str
    service: str
    kind: str
    name: str
    region: str
    tier: str
    detail: str = ""
    missing: bool = False


@dataclass(frozen=True)
class Edge:
    """One piece of wiring: ``source`` calls or feeds ``target``.

    Attributes:
        source: The id of the node the call comes from.
        target: The id of the node it goes to.
        kind: What wiring it is (``SNS subscription``, ``event source mapping``...).
        label: What it carries, briefly (``sqs``, ``GET /orders``, ``s3:ObjectCreated:*``).
        status: One of :data:`STATUSES`.
        reason: Why, in words: the policy engine's reason, or what is missing.
        count: How many messages, events or requests went along it so far; ``None`` when the
            sandbox keeps no record of this kind of traffic.
        flow: The count in words, with its failures (``3 delivered · 1 failed``).
    """

    source: str
    target: str
    kind: str
    label: str
    status: str = OK
    reason: str = ""
    count: int | None = None
    flow: str = ""


@dataclass(frozen=True)
class ArchitectureMap:
    """The sandbox as an architecture diagram at one moment.

    Attributes:
        account: The account whose resources are drawn.
        nodes: Every resource, sorted by tier, Region, service and name.
        edges: Every piece of wiring, sorted by source, target and kind.
        now: The lab time of the reading (epoch seconds).
        problems: What could not be read (moto internals that changed), in words.
    """

    account: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    now: float = 0.0
    problems: tuple[str, ...] = field(default=())

    def node(self, node_id: str) -> Node | None:
        """The node with that id, or ``None``."""
        return next((n for n in self.nodes if n.id == node_id), None)

    def named(self, name: str) -> Node | None:
        """The first node called ``name`` (tests and lessons look nodes up by name)."""
        return next((n for n in self.nodes if n.name == name), None)

    def edges_between(self, source: str, target: str) -> list[Edge]:
        """The edges from the node named (or id) ``source`` to the one named ``target``."""
        ids = {n.name: n.id for n in self.nodes}
        a, b = ids.get(source, source), ids.get(target, target)
        return [e for e in self.edges if e.source == a and e.target == b]

    @property
    def regions(self) -> list[str]:
        """The Regions that hold a node, sorted (the edge network's ``global`` left out)."""
        return sorted({n.region for n in self.nodes if n.region != "global"})


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    """``1 request``, ``2 requests``: counts as edges and nodes say them."""
    return f"{count} {word}" if count == 1 else f"{count} {plural_form or word + 's'}"


def tier_rank(tier: str) -> int:
    """Where ``tier`` stands in :data:`TIERS` (unknown tiers last)."""
    return TIERS.index(tier) if tier in TIERS else len(TIERS)


def build_map(*, account_id: str = DEFAULT_ACCOUNT_ID, now: float = 0.0) -> ArchitectureMap:
    """Read the sandbox's resources and wiring into an :class:`ArchitectureMap`.

    Args:
        account_id: The account to draw.
        now: The lab time of the reading (epoch seconds), kept on the map.
    """
    from labkit.sandbox.architecture_nodes import collect_nodes
    from labkit.sandbox.architecture_wiring import collect_edges

    nodes, problems = collect_nodes(account_id)
    edges, extra, more = collect_edges(account_id, {n.id: n for n in nodes})
    known = {n.id for n in nodes}
    every = list(nodes) + [n for n in extra if n.id not in known]
    every.sort(key=lambda n: (tier_rank(n.tier), n.region, n.service, n.name, n.id))
    unique = {(e.source, e.target, e.kind, e.label): e for e in edges}
    ordered = sorted(unique.values(), key=lambda e: (e.source, e.target, e.kind, e.label))
    return ArchitectureMap(
        account=account_id,
        nodes=tuple(every),
        edges=tuple(ordered),
        now=now,
        problems=tuple(problems + more),
    )


__all__ = [
    "BROKEN",
    "DENIED_ON_AWS",
    "DISABLED",
    "MISSING",
    "OK",
    "STATUSES",
    "TIERS",
    "ArchitectureMap",
    "Edge",
    "Node",
    "build_map",
    "plural",
    "tier_rank",
]
