"""What a REST API stage serves: a deployment's frozen copy of the API, as plain data.

API Gateway serves a stage from the *deployment* the stage points at, not from the API as it is
being edited: a method or integration changed after ``CreateDeployment`` reaches no caller until
the API is deployed again. labkit freezes the resources, methods, integrations, authorizers and
the resource policy into a :class:`DeploymentSnapshot` when a deployment is created (the patch
does it), and the request pipeline serves from that snapshot. Stage *settings* (stage variables,
method settings for throttling and caching, the cache cluster) are read live, as AWS applies
them without a redeployment.
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-deploy-api.html

Plain Python: no moto, no Jupyter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class IntegrationResponseSpec:
    """One integration response of a non-proxy integration (``PutIntegrationResponse``)."""

    status_code: str
    selection_pattern: str | None = None
    response_templates: dict[str, str | None] = field(default_factory=dict)
    response_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IntegrationSpec:
    """A method's integration as deployed (``PutIntegration``)."""

    type: str
    uri: str = ""
    http_method: str | None = None
    request_templates: dict[str, str | None] = field(default_factory=dict)
    request_parameters: dict[str, str] = field(default_factory=dict)
    passthrough_behavior: str = "WHEN_NO_MATCH"
    cache_key_parameters: tuple[str, ...] = ()
    cache_namespace: str | None = None
    timeout_ms: float | None = None
    credentials: str | None = None
    content_handling: str | None = None
    responses: tuple[IntegrationResponseSpec, ...] = ()


@dataclass(frozen=True)
class MethodSpec:
    """A method as deployed (``PutMethod``): who may call it and what it calls."""

    http_method: str
    authorization_type: str = "NONE"
    authorizer_id: str | None = None
    authorization_scopes: tuple[str, ...] = ()
    api_key_required: bool = False
    request_parameters: dict[str, bool] = field(default_factory=dict)
    integration: IntegrationSpec | None = None


@dataclass(frozen=True)
class ResourceSpec:
    """A resource (a path) and its methods, as deployed."""

    id: str
    path: str
    methods: dict[str, MethodSpec] = field(default_factory=dict)

    @property
    def parts(self) -> tuple[str, ...]:
        """The path's segments (``/orders/{id}`` → ``("orders", "{id}")``)."""
        return tuple(p for p in self.path.split("/") if p)

    def method_for(self, verb: str) -> MethodSpec | None:
        """The method that answers ``verb``: its own, else ``ANY``."""
        return self.methods.get(verb) or self.methods.get("ANY")


@dataclass(frozen=True)
class DeploymentSnapshot:
    """A REST API frozen at ``CreateDeployment``.

    Attributes:
        id: The deployment id.
        api_id: The REST API's id.
        account_id: The account that owns the API.
        region: The API's Region.
        created_at: When it was deployed (lab clock, epoch seconds).
        resources: Every resource with its methods.
        authorizers: The API's authorizers by id, as ``GetAuthorizer`` shows them.
        policy: The resource policy (a JSON document), if any.
        api_key_source: ``HEADER`` (``x-api-key``) or ``AUTHORIZER`` (a Lambda authorizer's
            ``usageIdentifierKey``).
        binary_media_types: The API's binary media types.
    """

    id: str
    api_id: str
    account_id: str
    region: str
    created_at: float
    resources: tuple[ResourceSpec, ...]
    authorizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    policy: str | None = None
    api_key_source: str = "HEADER"
    binary_media_types: tuple[str, ...] = ()

    def match(self, path: str) -> tuple[ResourceSpec, dict[str, str]] | None:
        """The resource that serves ``path`` and its path parameters, as API Gateway matches
        them: literal parts win over ``{param}``, which wins over a greedy ``{proxy+}``."""
        return match_path(self.resources, path)


def match_path(
    resources: tuple[ResourceSpec, ...], path: str
) -> tuple[ResourceSpec, dict[str, str]] | None:
    """The best-matching resource for ``path`` among ``resources`` (see
    :meth:`DeploymentSnapshot.match`)."""
    want = [p for p in path.split("/") if p]
    best: tuple[tuple[int, ...], ResourceSpec, dict[str, str]] | None = None
    for resource in resources:
        parts = resource.parts
        params: dict[str, str] = {}
        score: list[int] = []
        ok = True
        for i, part in enumerate(parts):
            if part.startswith("{") and part.endswith("+}"):
                rest = want[i:]
                if not rest:
                    ok = False
                    break
                params[part[1:-2]] = unquote("/".join(rest))
                score.append(0)
                break
            if i >= len(want):
                ok = False
                break
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = unquote(want[i])
                score.append(1)
            elif part == want[i]:
                score.append(2)
            else:
                ok = False
                break
        else:
            ok = ok and len(parts) == len(want)
        if ok and (best is None or tuple(score) > best[0]):
            best = (tuple(score), resource, params)
    return (best[1], best[2]) if best else None


@dataclass(frozen=True)
class MethodSettings:
    """A stage's settings for one method (or ``*/*``), as ``UpdateStage`` sets them."""

    throttling_rate_limit: float | None = None
    throttling_burst_limit: int | None = None
    caching_enabled: bool = False
    cache_ttl_seconds: int | None = None
    require_authorization_for_cache_control: bool = True
    unauthorized_cache_control_header_strategy: str = "SUCCEED_WITH_RESPONSE_HEADER"


@dataclass(frozen=True)
class StageConfig:
    """A stage's live settings.

    Attributes:
        name: The stage name.
        deployment_id: The deployment it serves.
        variables: Stage variables.
        method_settings: By ``{resourcePath}/{METHOD}`` key (``*/*`` for all; a resource path's
            slashes written ``~1`` as ``UpdateStage`` takes it).
        cache_cluster_enabled: Whether the stage has a cache.
        canary: Whether this request goes to the stage's canary deployment (its variables are
            then the stage's with the canary's overrides).
        canary_uses_stage_cache: Whether canary requests use the stage cache.
    """

    name: str
    deployment_id: str | None
    variables: dict[str, str] = field(default_factory=dict)
    method_settings: dict[str, MethodSettings] = field(default_factory=dict)
    cache_cluster_enabled: bool = False
    canary: bool = False
    canary_uses_stage_cache: bool = True

    @property
    def label(self) -> str:
        """The stage as traces and metrics name it (``prod``, or ``prod/Canary``)."""
        return f"{self.name}/Canary" if self.canary else self.name

    def settings_for(self, resource_path: str, verb: str) -> MethodSettings:
        """The settings that apply to one method: its own override, else ``*/*``."""
        key = f"{resource_path.replace('/', '~1')}/{verb}"
        return self.method_settings.get(key) or self.method_settings.get("*/*") or MethodSettings()
