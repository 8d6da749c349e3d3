"""Stage settings moto does not keep: canary releases, and the cache TTL's bounds.

- **Canary**: ``CreateDeployment`` with ``canarySettings`` on an existing stage makes the new
  deployment the stage's canary (the stage keeps serving its deployment); ``percentTraffic`` of
  the requests go to the canary, with ``stageVariableOverrides`` over the stage's variables, and
  use the stage cache only with ``useStageCache``. ``UpdateStage`` changes
  ``/canarySettings/...``, removes ``/canarySettings``, and promotes with
  ``copy /canarySettings/deploymentId → /deploymentId`` (and the overrides to ``/variables``).
  ``GetStage`` shows ``canarySettings``. Canary requests are counted under the stage
  ``{stage}/Canary`` in the trace and metrics, as CloudWatch shows them.
  https://docs.aws.amazon.com/apigateway/latest/developerguide/canary-release.html
- ``caching/ttlInSeconds`` outside 0..3600 is refused with ``BadRequestException``.
- ``DeleteDeployment`` is refused while a stage (or a stage's canary) serves the deployment,
  and allowed once none does; moto looked at the stage the deployment was created for.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from labkit import facts


def canary_of(stage: Any) -> dict[str, Any] | None:
    """A stage's canary settings (``deploymentId``, ``percentTraffic``,
    ``stageVariableOverrides``, ``useStageCache``), or ``None``."""
    canary: dict[str, Any] | None = getattr(stage, "labkit_canary", None)
    return canary


def _set_canary(stage: Any, canary: dict[str, Any] | None) -> None:
    setattr(stage, "labkit_canary", canary)  # noqa: B010 (moto's model has no slot)


def _bool(value: Any) -> bool:
    return str(value).lower() == "true" if not isinstance(value, bool) else value


def _canary_operation(stage: Any, op: dict[str, Any]) -> None:
    path = str(op["path"])
    kind = op.get("op")
    canary = canary_of(stage)
    if path == "/canarySettings" and kind == "remove":
        _set_canary(stage, None)
        return
    if canary is None:
        canary = {"percentTraffic": 0.0, "stageVariableOverrides": {}, "useStageCache": False}
        canary["deploymentId"] = stage.deployment_id
        _set_canary(stage, canary)
    field = path.removeprefix("/canarySettings/")
    if field.startswith("stageVariableOverrides/"):
        name = field.removeprefix("stageVariableOverrides/")
        if kind == "remove":
            canary["stageVariableOverrides"].pop(name, None)
        else:
            canary["stageVariableOverrides"][name] = str(op.get("value", ""))
    elif field == "percentTraffic":
        canary["percentTraffic"] = float(op.get("value", 0))
    elif field == "useStageCache":
        canary["useStageCache"] = _bool(op.get("value"))
    elif field == "deploymentId":
        canary["deploymentId"] = str(op.get("value"))


def _promote(stage: Any, op: dict[str, Any]) -> bool:
    """``copy`` from the canary's settings to the stage's (promotion); whether it was one."""
    canary = canary_of(stage)
    source, target = str(op.get("from", "")), str(op["path"])
    if op.get("op") != "copy" or canary is None or not source.startswith("/canarySettings/"):
        return False
    if source == "/canarySettings/deploymentId" and target == "/deploymentId":
        stage.deployment_id = canary["deploymentId"]
    elif source == "/canarySettings/stageVariableOverrides" and target == "/variables":
        stage.variables.update(canary["stageVariableOverrides"])
    return True


def install(stack: ExitStack) -> None:
    """Keep canary settings on moto's stages and check the cache TTL's bounds."""
    from moto.apigateway.exceptions import BadRequestException, StageStillActive
    from moto.apigateway.models import RestAPI, Stage
    from moto.apigateway.responses import APIGatewayResponse

    original_apply = Stage.apply_operations
    original_json = Stage.to_json
    original_deploy = APIGatewayResponse.create_deployment
    ttl_max = int(facts.value("api_gateway.cache_ttl_max"))

    def apply_operations(self: Stage, patch_operations: list[dict[str, Any]]) -> Stage:
        rest = []
        for op in patch_operations:
            path = str(op.get("path", ""))
            if _promote(self, op):
                continue
            if path.startswith("/canarySettings"):
                _canary_operation(self, op)
                continue
            if path.endswith("/caching/ttlInSeconds") and op.get("op") == "replace":
                try:
                    ttl = int(op.get("value", ""))
                except ValueError:
                    ttl = -1
                if not 0 <= ttl <= ttl_max:
                    raise BadRequestException(
                        f"Invalid cache TTL {op.get('value')!r}: it must be between 0 and "
                        f"{ttl_max} seconds."
                    )
            rest.append(op)
        return original_apply(self, rest)

    def to_json(self: Stage) -> dict[str, Any]:
        shown = dict(original_json(self))
        canary = canary_of(self)
        if canary is not None:
            shown["canarySettings"] = dict(canary)
        return shown

    def create_deployment(self: APIGatewayResponse) -> Any:
        settings = self._get_param("canarySettings")
        name = self._get_param("stageName")
        api_id = self.path.replace("/restapis/", "", 1).split("/")[0]
        stage = self.backend.get_rest_api(api_id).stages.get(name) if name else None
        kept = (stage.deployment_id, dict(stage.variables)) if stage is not None else None
        answer = original_deploy(self)
        if settings and stage is not None and kept is not None:
            deployed = stage.deployment_id
            stage.deployment_id, stage.variables = kept
            _set_canary(
                stage,
                {
                    "deploymentId": deployed,
                    "percentTraffic": float(settings.get("percentTraffic", 0)),
                    "stageVariableOverrides": dict(settings.get("stageVariableOverrides") or {}),
                    "useStageCache": bool(settings.get("useStageCache", False)),
                },
            )
        return answer

    original_delete = RestAPI.delete_deployment

    def delete_deployment(self: RestAPI, deployment_id: str) -> Any:
        if deployment_id not in self.deployments:
            return original_delete(self, deployment_id)  # moto's NotFoundException
        for stage in self.stages.values():
            canary = canary_of(stage) or {}
            if deployment_id in (stage.deployment_id, canary.get("deploymentId")):
                raise StageStillActive()
        return self.deployments.pop(deployment_id)

    RestAPI.delete_deployment = delete_deployment  # type: ignore[method-assign]
    stack.callback(setattr, RestAPI, "delete_deployment", original_delete)
    Stage.apply_operations = apply_operations  # type: ignore[method-assign]
    Stage.to_json = to_json  # type: ignore[method-assign]
    APIGatewayResponse.create_deployment = create_deployment  # type: ignore[method-assign]
    stack.callback(setattr, Stage, "apply_operations", original_apply)
    stack.callback(setattr, Stage, "to_json", original_json)
    stack.callback(setattr, APIGatewayResponse, "create_deployment", original_deploy)
