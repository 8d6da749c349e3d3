"""How an Application Load Balancer listener picks the rule that answers a request.

A listener evaluates its rules in priority order (lowest number first) and the default rule
last; the first rule whose conditions all match answers. Within one condition, any of its values
may match. What each condition compares
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html):

- ``path-pattern``: the path (no query string), case-sensitive; ``*`` matches any run of
  characters (``/`` included) and ``?`` exactly one;
- ``host-header``: the ``Host`` header (port removed), case-insensitive, with wildcards;
- ``http-header``: the named header (name case-insensitive), its value case-insensitive, with
  wildcards;
- ``http-request-method``: the method, exact and case-sensitive;
- ``query-string``: ``key=value`` pairs, each case-insensitive with wildcards; a pair without a
  key matches any key's value;
- ``source-ip``: the client's address (not ``X-Forwarded-For``) within a CIDR block.

The older spelling ``{"Field": "path-pattern", "Values": [...]}`` (and for ``host-header``) is
accepted as AWS accepts it. Plain Python: moto keeps the rules, this module reads them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class AlbRequest:
    """A request as it reaches a listener.

    Attributes:
        method: ``GET``, ``POST``, ...
        scheme: ``http`` or ``https`` (the listener's protocol).
        host: The ``Host`` header without its port.
        port: The listener's port.
        path: The path, percent-encoded as sent, without the query string.
        query: The query string's pairs in order, as sent (not decoded: ALB passes them on
            encoded).
        headers: Header names (lower case) to their values, in order.
        body: The body.
        source_ip: The client's address.
        raw_query: The query string exactly as sent, when known (``#{query}`` keeps it).
    """

    method: str
    scheme: str
    host: str
    port: int
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    raw_query: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or ``None``."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def query_string(self) -> str:
        """The query string as sent, without ``?``."""
        if self.raw_query is not None:
            return self.raw_query
        return "&".join(f"{k}={v}" if v else k for k, v in self.query)


@lru_cache(maxsize=512)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = ("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, text: str, *, ignore_case: bool) -> bool:
    """Whether ``text`` matches ``pattern`` whole (``*`` any run, ``?`` one character)."""
    return _wildcard(pattern, ignore_case).fullmatch(text) is not None


def _values(condition: Mapping[str, Any], config_key: str) -> list[Any]:
    config = condition.get(config_key) or {}
    values = config.get("Values") if isinstance(config, Mapping) else None
    return list(values if values is not None else condition.get("Values") or [])


def condition_matches(condition: Mapping[str, Any], request: AlbRequest) -> bool:
    """Whether one rule condition (as ``DescribeRules`` returns it) matches ``request``."""
    kind = str(condition.get("Field", ""))
    if kind == "path-pattern":
        return any(
            wildcard_match(str(v), request.path, ignore_case=False)
            for v in _values(condition, "PathPatternConfig")
        )
    if kind == "host-header":
        return any(
            wildcard_match(str(v), request.host, ignore_case=True)
            for v in _values(condition, "HostHeaderConfig")
        )
    if kind == "http-request-method":
        return request.method in [str(v) for v in _values(condition, "HttpRequestMethodConfig")]
    if kind == "http-header":
        config = condition.get("HttpHeaderConfig") or {}
        sent = request.headers.get(str(config.get("HttpHeaderName", "")).lower(), ())
        return any(
            wildcard_match(str(v), value, ignore_case=True)
            for v in config.get("Values") or []
            for value in sent
        )
    if kind == "query-string":
        return any(
            _pair_matches(pair, request.query) for pair in _values(condition, "QueryStringConfig")
        )
    if kind == "source-ip":
        return any(
            _in_block(str(v), request.source_ip) for v in _values(condition, "SourceIpConfig")
        )
    return False


def _pair_matches(pair: Mapping[str, Any], query: Sequence[tuple[str, str]]) -> bool:
    key, value = pair.get("Key"), str(pair.get("Value", ""))
    for sent_key, sent_value in query:
        if key is not None and not wildcard_match(str(key), sent_key, ignore_case=True):
            continue
        if wildcard_match(value, sent_value, ignore_case=True):
            return True
    return False


def _in_block(block: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(block, strict=False)
    except ValueError:
        return False


def _priority(rule: Mapping[str, Any]) -> float:
    raw = rule.get("Priority")
    return float("inf") if raw in (None, "default") else float(str(raw))


def choose_rule(
    rules: Sequence[Mapping[str, Any]], request: AlbRequest
) -> Mapping[str, Any] | None:
    """The rule that answers ``request``: the lowest-priority rule whose conditions all match,
    else the default rule (``IsDefault``); ``None`` only when there is neither."""
    ordered = sorted(rules, key=_priority)
    for rule in ordered:
        if rule.get("IsDefault") or rule.get("Priority") == "default":
            continue
        if all(condition_matches(c, request) for c in rule.get("Conditions") or []):
            return rule
    return next((r for r in ordered if r.get("IsDefault") or r.get("Priority") == "default"), None)


def ordered_actions(actions: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A rule's actions in the order the load balancer performs them (``Order``, lowest
    first; an action without ``Order`` keeps its place after the ordered ones)."""
    indexed = list(enumerate(actions))
    indexed.sort(key=lambda item: (int(item[1].get("Order") or 50001), item[0]))
    return [action for _, action in indexed]


class WeightedPicker:
    """Spreads requests over weighted target groups in proportion to their weights.

    AWS picks by weight for each request; labkit uses smooth weighted round-robin, which gives
    every group exactly its share over each cycle of ``sum(weights)`` requests, so a lesson's
    counts are what the weights say rather than a random draw. A group with weight 0 gets none.
    """

    def __init__(self) -> None:
        self._current: dict[tuple[str, ...], dict[str, int]] = {}

    def pick(self, groups: Sequence[tuple[str, int]]) -> str | None:
        """The target group ARN the next request goes to, of ``(arn, weight)`` pairs."""
        live = [(arn, weight) for arn, weight in groups if weight > 0]
        if not live:
            return None
        key = tuple(arn for arn, _ in live)
        current = self._current.setdefault(key, dict.fromkeys(key, 0))
        total = sum(weight for _, weight in live)
        for arn, weight in live:
            current[arn] += weight
        best = max(key, key=lambda arn: current[arn])
        current[best] -= total
        return best


def forward_groups(action: Mapping[str, Any]) -> list[tuple[str, int]]:
    """A forward action's ``(target group ARN, weight)`` pairs, in either spelling
    (``TargetGroupArn`` or ``ForwardConfig.TargetGroups``; a missing weight counts 1)."""
    config = action.get("ForwardConfig") or {}
    groups = config.get("TargetGroups") or []
    if groups:
        return [(str(g["TargetGroupArn"]), int(g.get("Weight", 1))) for g in groups]
    arn = action.get("TargetGroupArn")
    return [(str(arn), 1)] if arn else []


def redirect_location(config: Mapping[str, Any], request: AlbRequest) -> str:
    """The ``Location`` of a redirect action: each component the config leaves out (or gives
    as ``#{protocol}``, ``#{host}``, ``#{port}``, ``#{path}``, ``#{query}``) keeps the request's
    value; the path must start with ``/``
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-action-types.html)."""
    values = {
        "protocol": request.scheme.upper(),
        "host": request.host,
        "port": str(request.port),
        "path": request.path.lstrip("/"),
        "query": request.query_string,
    }

    def fill(template: str) -> str:
        for name, value in values.items():
            template = template.replace(f"#{{{name}}}", value)
        return template

    protocol = fill(str(config.get("Protocol") or "#{protocol}")).lower()
    host = fill(str(config.get("Host") or "#{host}"))
    port = fill(str(config.get("Port") or "#{port}"))
    path = fill(str(config.get("Path") or "/#{path}"))
    query = fill(str(config.get("Query") if config.get("Query") is not None else "#{query}"))
    default_port = {"http": "80", "https": "443"}.get(protocol)
    netloc = host if port == default_port else f"{host}:{port}"
    location = f"{protocol}://{netloc}{path if path.startswith('/') else '/' + path}"
    return f"{location}?{query}" if query else location


def redirect_status(config: Mapping[str, Any]) -> int:
    """``HTTP_301`` → 301, ``HTTP_302`` → 302."""
    return int(str(config.get("StatusCode", "HTTP_302")).removeprefix("HTTP_"))


__all__ = [
    "AlbRequest",
    "WeightedPicker",
    "choose_rule",
    "condition_matches",
    "forward_groups",
    "ordered_actions",
    "redirect_location",
    "redirect_status",
    "wildcard_match",
]
