"""REST API resource types and Lambda permissions, deployed through the same backend calls as
by hand (HTTP APIs: :mod:`.patch_resources_http`).

Stock moto 5.2.5 deploys ``AWS::ApiGateway::RestApi``, ``Resource``, ``Method`` and
``Deployment`` but skips ``AWS::ApiGateway::Stage`` with a warning, keeps only a method's
``Type``/``Uri``/``IntegrationHttpMethod`` (no integration responses, credentials, templates),
deletes none of them with the stack, and gives methods and deployments no physical id. Its
``AWS::Lambda::Permission`` adds a statement without a ``Sid``, so the stack cannot remove it.
Here each type calls the moto backend methods the API handlers call, so labkit's API Gateway
patches apply as to an API built by hand: a deployment is frozen when it is made, a stage serves
its deployment at the invoke URL, and a Lambda integration is refused (500) unless the
function's policy lets API Gateway invoke it.

Properties and return values follow the template reference:

- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-restapi.html
  (``Ref`` the API id, ``GetAtt RootResourceId``);
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-method.html;
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-deployment.html
  (``Ref`` the deployment id; ``StageName`` creates that stage);
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-stage.html
  (``Ref`` the stage name; ``MethodSettings`` with ``ResourcePath`` ``/*`` and ``HttpMethod``
  ``*`` for every method);
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-permission.html.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from moto.apigateway.models import apigateway_backends

from labkit.services.cloudformation.patch_resources import Deployed, GetAtts


def props_of(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    return dict(cloudformation_json.get("Properties") or {})


def _text(value: Any) -> str | None:
    """A policy or template given as an object in YAML, as the API's JSON string."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def camel(value: Any) -> Any:
    """CloudFormation's ``PascalCase`` keys as the API's ``camelCase`` (recursively)."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


# --- REST APIs -------------------------------------------------------------------------------


class RestApi(Deployed):
    """``AWS::ApiGateway::RestApi``: ``CreateRestApi``; deleted with the stack."""

    id_attribute = "RestApiId"

    def _root_resource_id(self) -> Any:
        api = apigateway_backends[self.account_id][self.region_name].get_rest_api(
            self.physical_resource_id
        )
        return next(r.id for r in api.resources.values() if not r.parent_id)

    other_attributes: ClassVar[GetAtts] = {"RootResourceId": _root_resource_id}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RestApi:
        props = props_of(cloudformation_json)
        backend = apigateway_backends[account_id][region_name]
        config = props.get("EndpointConfiguration")
        api = backend.create_rest_api(
            name=str(props.get("Name") or resource_name),
            description=str(props.get("Description") or ""),
            api_key_source=props.get("ApiKeySourceType"),
            endpoint_configuration=camel(config) if config else None,
            policy=_text(props.get("Policy")),
            disable_execute_api_endpoint=props.get("DisableExecuteApiEndpoint"),
        )
        api.binaryMediaTypes = list(props.get("BinaryMediaTypes") or [])
        return cls(api.id, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        """In place, as ``UpdateRestApi`` (the API keeps its id, so its parts keep working)."""
        props = props_of(cloudformation_json)
        api = apigateway_backends[account_id][region_name].get_rest_api(
            original_resource.physical_resource_id
        )
        api.name = str(props.get("Name") or api.name)
        api.description = str(props.get("Description") or "")
        api.policy = _text(props.get("Policy"))
        api.binaryMediaTypes = list(props.get("BinaryMediaTypes") or [])
        if props.get("EndpointConfiguration"):
            api.endpoint_configuration = camel(props["EndpointConfiguration"])
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        backend = apigateway_backends[self.account_id][self.region_name]
        backend.apis.pop(self.physical_resource_id, None)


def _rest_api(account_id: str, region_name: str, api_id: str) -> Any:
    """The REST API, or ``None`` when it is gone (deleted before its parts)."""
    return apigateway_backends[account_id][region_name].apis.get(api_id)


class ApiResource(Deployed):
    """``AWS::ApiGateway::Resource``: ``CreateResource`` (``ParentId`` may be the API's root)."""

    def __init__(self, physical_id: str, account_id: str, region_name: str, api_id: str):
        super().__init__(physical_id, account_id, region_name)
        self.api_id = api_id

    id_attribute = "ResourceId"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiResource:
        props = props_of(cloudformation_json)
        api_id = str(props["RestApiId"])
        backend = apigateway_backends[account_id][region_name]
        resource = backend.create_resource(
            function_id=api_id,
            parent_resource_id=str(props["ParentId"]),
            path_part=str(props["PathPart"]),
        )
        return cls(resource.id, account_id, region_name, api_id)

    def delete(self, account_id: str, region_name: str) -> None:
        api = _rest_api(self.account_id, self.region_name, self.api_id)
        if api is not None:
            api.resources.pop(self.physical_resource_id, None)


class ApiMethod(Deployed):
    """``AWS::ApiGateway::Method``: ``PutMethod``, ``PutIntegration``, the method and
    integration responses, as the console or the API would make them."""

    def __init__(
        self, physical_id: str, account_id: str, region_name: str, where: tuple[str, str, str]
    ):
        super().__init__(physical_id, account_id, region_name)
        self.where = where  # (api id, resource id, HTTP method)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiMethod:
        props = props_of(cloudformation_json)
        backend = apigateway_backends[account_id][region_name]
        api_id, resource_id = str(props["RestApiId"]), str(props["ResourceId"])
        verb = str(props["HttpMethod"]).upper()
        backend.put_method(
            function_id=api_id,
            resource_id=resource_id,
            method_type=verb,
            authorization_type=str(props.get("AuthorizationType") or "NONE"),
            api_key_required=as_bool(props.get("ApiKeyRequired", False)),
            request_parameters=props.get("RequestParameters"),
            request_models=props.get("RequestModels"),
            operation_name=props.get("OperationName"),
            authorizer_id=props.get("AuthorizerId"),
            authorization_scopes=props.get("AuthorizationScopes"),
            request_validator_id=props.get("RequestValidatorId"),
        )
        for response in props.get("MethodResponses") or []:
            backend.put_method_response(
                api_id,
                resource_id,
                verb,
                str(response["StatusCode"]),
                response.get("ResponseModels"),
                response.get("ResponseParameters"),
            )
        integration = props.get("Integration")
        if integration:
            cls._integrate(backend, (api_id, resource_id, verb), integration)
        return cls(resource_name, account_id, region_name, (api_id, resource_id, verb))

    @staticmethod
    def _integrate(backend: Any, where: tuple[str, str, str], spec: dict[str, Any]) -> None:
        api_id, resource_id, verb = where
        timeout = spec.get("TimeoutInMillis")
        made = backend.put_integration(
            function_id=api_id,
            resource_id=resource_id,
            method_type=verb,
            integration_type=str(spec["Type"]),
            uri=str(spec.get("Uri") or ""),
            integration_method=spec.get("IntegrationHttpMethod"),
            credentials=spec.get("Credentials"),
            request_templates=spec.get("RequestTemplates"),
            passthrough_behavior=spec.get("PassthroughBehavior"),
            cache_namespace=spec.get("CacheNamespace"),
            timeout_in_millis=str(timeout) if timeout is not None else None,
            request_parameters=spec.get("RequestParameters"),
            content_handling=spec.get("ContentHandling"),
            connection_type=spec.get("ConnectionType"),
        )
        if spec.get("CacheKeyParameters"):
            made.cache_key_parameters = [str(k) for k in spec["CacheKeyParameters"]]
        for response in spec.get("IntegrationResponses") or []:
            backend.put_integration_response(
                api_id,
                resource_id,
                verb,
                str(response["StatusCode"]),
                response.get("SelectionPattern"),
                response.get("ResponseTemplates"),
                response.get("ResponseParameters"),
                response.get("ContentHandling"),
            )

    def delete(self, account_id: str, region_name: str) -> None:
        api_id, resource_id, verb = self.where
        api = _rest_api(self.account_id, self.region_name, api_id)
        if api is not None and resource_id in api.resources:
            api.resources[resource_id].resource_methods.pop(verb, None)


class ApiDeployment(Deployed):
    """``AWS::ApiGateway::Deployment``: ``CreateDeployment`` (with ``StageName``, the stage
    too); deleting it deletes the stage it created, then the deployment."""

    def __init__(
        self, physical_id: str, account_id: str, region_name: str, api_id: str, stage: str
    ):
        super().__init__(physical_id, account_id, region_name)
        self.api_id = api_id
        self.stage = stage

    id_attribute = "DeploymentId"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiDeployment:
        props = props_of(cloudformation_json)
        api_id = str(props["RestApiId"])
        stage = str(props.get("StageName") or "")
        described = props.get("StageDescription") or {}
        backend = apigateway_backends[account_id][region_name]
        deployment = backend.create_deployment(
            function_id=api_id,
            name=stage,
            description=str(props.get("Description") or ""),
            stage_variables=described.get("Variables"),
        )
        if stage and described:
            made = backend.get_rest_api(api_id).stages[stage]
            _configure_stage(backend, api_id, made, described)
        return cls(deployment.id, account_id, region_name, api_id, stage)

    def delete(self, account_id: str, region_name: str) -> None:
        api = _rest_api(self.account_id, self.region_name, self.api_id)
        if api is None:
            return
        stage = api.stages.get(self.stage) if self.stage else None
        if stage is not None and stage.deployment_id == self.physical_resource_id:
            api.stages.pop(self.stage, None)
        api.deployments.pop(self.physical_resource_id, None)


def _configure_stage(backend: Any, api_id: str, stage: Any, props: dict[str, Any]) -> None:
    """A stage's cache cluster, tracing and method settings, as ``UpdateStage`` sets them."""
    if "CacheClusterEnabled" in props:
        enabled = as_bool(props["CacheClusterEnabled"])
        stage.cache_cluster_enabled = enabled
        stage.cache_cluster_status = "AVAILABLE" if enabled else "NOT_AVAILABLE"
    if props.get("CacheClusterSize"):
        stage.cache_cluster_size = str(props["CacheClusterSize"])
    if "TracingEnabled" in props:
        stage.tracing_enabled = as_bool(props["TracingEnabled"])
    fields = {
        "ThrottlingRateLimit": "throttling/rateLimit",
        "ThrottlingBurstLimit": "throttling/burstLimit",
        "CachingEnabled": "caching/enabled",
        "CacheTtlInSeconds": "caching/ttlInSeconds",
        "MetricsEnabled": "metrics/enabled",
        "LoggingLevel": "logging/loglevel",
    }
    operations = []
    for setting in props.get("MethodSettings") or []:
        path = str(setting.get("ResourcePath") or "/*")
        # The root resource is "/" in the template and "~1" in UpdateStage's path.
        prefix = "/~1" if path == "/" else path
        verb = str(setting.get("HttpMethod") or "*")
        for name, field in fields.items():
            if name in setting:
                value = setting[name]
                shown = str(value).lower() if isinstance(value, bool) else str(value)
                operations.append(
                    {"op": "replace", "path": f"{prefix}/{verb}/{field}", "value": shown}
                )
    if operations:
        backend.update_stage(api_id, stage.name, operations)


class ApiStage(Deployed):
    """``AWS::ApiGateway::Stage``: ``CreateStage`` for a deployment, with its settings."""

    def __init__(self, name: str, account_id: str, region_name: str, api_id: str) -> None:
        super().__init__(name, account_id, region_name)
        self.api_id = api_id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiStage:
        props = props_of(cloudformation_json)
        api_id = str(props["RestApiId"])
        name = str(props.get("StageName") or resource_name)
        backend = apigateway_backends[account_id][region_name]
        if str(props.get("DeploymentId") or "") not in backend.get_rest_api(api_id).deployments:
            from moto.apigateway.exceptions import BadRequestException

            raise BadRequestException("Invalid deployment identifier specified")
        stage = backend.create_stage(
            function_id=api_id,
            stage_name=name,
            deploymentId=str(props["DeploymentId"]),
            variables=props.get("Variables"),
            description=str(props.get("Description") or ""),
            tags={t["Key"]: t["Value"] for t in props.get("Tags") or []},
        )
        _configure_stage(backend, api_id, stage, props)
        return cls(name, account_id, region_name, api_id)

    def delete(self, account_id: str, region_name: str) -> None:
        api = _rest_api(self.account_id, self.region_name, self.api_id)
        if api is not None:
            api.stages.pop(self.physical_resource_id, None)


# --- Lambda permissions ------------------------------------------------------------------------


def _lambda_backend(account_id: str, region_name: str) -> Any:
    # moto's Lambda backend as moto picks it: the stack's function lives in the no-Docker one.
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region_name)


class LambdaPermission(Deployed):
    """``AWS::Lambda::Permission``: ``AddPermission`` with a statement id of its own, so
    deleting the stack removes the statement (``RemovePermission``)."""

    _FIELDS = (
        "Action",
        "Principal",
        "SourceArn",
        "SourceAccount",
        "EventSourceToken",
        "PrincipalOrgID",
        "FunctionUrlAuthType",
    )

    def __init__(self, sid: str, account_id: str, region_name: str, function: str) -> None:
        super().__init__(sid, account_id, region_name)
        self.function = function

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaPermission:
        props = props_of(cloudformation_json)
        function = str(props["FunctionName"])
        raw = {"StatementId": resource_name}
        raw.update({k: props[k] for k in cls._FIELDS if k in props})
        _lambda_backend(account_id, region_name).add_permission(function, None, json.dumps(raw))
        return cls(resource_name, account_id, region_name, function)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _lambda_backend(self.account_id, self.region_name)
        try:
            backend.remove_permission(self.function, self.physical_resource_id)
        except Exception:  # the function (or the statement) is already gone
            return


#: The resource types this module adds, by CloudFormation type.
TYPES: dict[str, type[Any]] = {
    "AWS::ApiGateway::RestApi": RestApi,
    "AWS::ApiGateway::Resource": ApiResource,
    "AWS::ApiGateway::Method": ApiMethod,
    "AWS::ApiGateway::Deployment": ApiDeployment,
    "AWS::ApiGateway::Stage": ApiStage,
    "AWS::Lambda::Permission": LambdaPermission,
}
