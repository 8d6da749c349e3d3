"""HTTP API resource types (API Gateway v2), deployed through the same backend calls as by hand.

Stock moto 5.2.5 has no ``AWS::ApiGatewayV2::*`` in CloudFormation (it skips them). Here each
type calls the moto backend methods the API handlers call, so labkit's HTTP API patch serves the
API at its invoke URL as one built by hand: an auto-deployed stage serves the API as it is, any
other stage the deployment it names, and a Lambda integration is refused (500) unless the
function's policy lets API Gateway invoke it. Template reference:
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-api.html
(``Target`` is quick create: an integration, a ``$default`` route and an auto-deployed
``$default`` stage), ``...-apigatewayv2-stage.html``, ``...-apigatewayv2-integration.html``,
``...-apigatewayv2-route.html``, ``...-apigatewayv2-deployment.html``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from moto.apigatewayv2.models import apigatewayv2_backends
from moto.moto_api._internal import mock_random

from labkit.services.cloudformation.patch_resources import Deployed, GetAtts
from labkit.services.cloudformation.patch_resources_api import as_bool, camel, props_of


def _v2(account_id: str, region_name: str) -> Any:
    return apigatewayv2_backends[account_id][region_name]


def _v2_api(account_id: str, region_name: str, api_id: str) -> Any:
    return _v2(account_id, region_name).apis.get(api_id)


class HttpApi(Deployed):
    """``AWS::ApiGatewayV2::Api``: ``CreateApi``; with ``Target``, quick create (an
    integration, a ``$default`` route, an auto-deployed ``$default`` stage)."""

    id_attribute = "ApiId"

    def _api_endpoint(self) -> Any:
        api = _v2(self.account_id, self.region_name).get_api(self.physical_resource_id)
        return api.api_endpoint

    other_attributes: ClassVar[GetAtts] = {"ApiEndpoint": _api_endpoint}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> HttpApi:
        props = props_of(cloudformation_json)
        backend = _v2(account_id, region_name)
        protocol = str(props.get("ProtocolType") or "HTTP")
        selection = props.get("RouteSelectionExpression")
        if selection is None and protocol == "HTTP":
            selection = "${request.method} ${request.path}"
        api = backend.create_api(
            api_key_selection_expression=props.get("ApiKeySelectionExpression"),
            cors_configuration=camel(props["CorsConfiguration"])
            if props.get("CorsConfiguration")
            else None,
            description=props.get("Description"),
            disable_schema_validation=props.get("DisableSchemaValidation"),
            disable_execute_api_endpoint=props.get("DisableExecuteApiEndpoint"),
            name=str(props.get("Name") or resource_name),
            protocol_type=protocol,
            route_selection_expression=selection,
            tags=dict(props.get("Tags") or {}),
            version=props.get("Version"),
        )
        if props.get("Target"):
            target = str(props["Target"])
            # A URL makes an HTTP proxy integration, a function ARN a Lambda proxy one.
            web = target.startswith(("http://", "https://"))
            integration = _create_integration(
                backend,
                api.api_id,
                {
                    "IntegrationType": "HTTP_PROXY" if web else "AWS_PROXY",
                    "IntegrationUri": target,
                    **({"IntegrationMethod": "ANY"} if web else {}),
                },
            )
            backend.create_route(
                api_id=api.api_id,
                api_key_required=False,
                authorization_scopes=[],
                authorization_type="NONE",
                authorizer_id=None,
                model_selection_expression=None,
                operation_name=None,
                request_models=None,
                request_parameters=None,
                route_key=str(props.get("RouteKey") or "$default"),
                route_response_selection_expression=None,
                target=f"integrations/{integration.id}",
            )
            backend.create_stage(api.api_id, {"stageName": "$default", "autoDeploy": True})
        return cls(api.api_id, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        """In place, as ``UpdateApi`` (the API keeps its id and endpoint)."""
        props = props_of(cloudformation_json)
        api = _v2(account_id, region_name).get_api(original_resource.physical_resource_id)
        api.name = str(props.get("Name") or api.name)
        api.description = props.get("Description")
        cors = props.get("CorsConfiguration")
        api.cors_configuration = camel(cors) if cors else None
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        _v2(self.account_id, self.region_name).apis.pop(self.physical_resource_id, None)


def _create_integration(backend: Any, api_id: str, props: dict[str, Any]) -> Any:
    kind = str(props["IntegrationType"])
    version = props.get("PayloadFormatVersion")
    if version is None and kind == "AWS_PROXY":
        api = backend.get_api(api_id)
        version = "2.0" if api.protocol_type == "HTTP" else "1.0"
    timeout = props.get("TimeoutInMillis")
    return backend.create_integration(
        api_id=api_id,
        connection_id=props.get("ConnectionId"),
        connection_type=props.get("ConnectionType"),
        content_handling_strategy=props.get("ContentHandlingStrategy"),
        credentials_arn=props.get("CredentialsArn"),
        description=props.get("Description"),
        integration_method=props.get("IntegrationMethod"),
        integration_subtype=props.get("IntegrationSubtype"),
        integration_type=kind,
        integration_uri=props.get("IntegrationUri"),
        passthrough_behavior=props.get("PassthroughBehavior"),
        payload_format_version=version,
        request_parameters=props.get("RequestParameters"),
        request_templates=props.get("RequestTemplates"),
        response_parameters=props.get("ResponseParameters"),
        template_selection_expression=props.get("TemplateSelectionExpression"),
        timeout_in_millis=str(timeout) if timeout is not None else None,
        tls_config=props.get("TlsConfig"),
    )


class _HttpApiPart(Deployed):
    """A part of an HTTP API (integration, route, stage, deployment), kept in the API."""

    #: The API's collection the part lives in.
    collection = ""

    def __init__(self, physical_id: str, account_id: str, region_name: str, api_id: str):
        super().__init__(physical_id, account_id, region_name)
        self.api_id = api_id

    def delete(self, account_id: str, region_name: str) -> None:
        api = _v2_api(self.account_id, self.region_name, self.api_id)
        if api is not None:
            getattr(api, self.collection).pop(self.physical_resource_id, None)


class HttpIntegration(_HttpApiPart):
    """``AWS::ApiGatewayV2::Integration``: ``CreateIntegration`` (``Ref`` its id)."""

    collection = "integrations"

    id_attribute = "IntegrationId"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> HttpIntegration:
        props = props_of(cloudformation_json)
        api_id = str(props["ApiId"])
        made = _create_integration(_v2(account_id, region_name), api_id, props)
        return cls(made.id, account_id, region_name, api_id)


class HttpRoute(_HttpApiPart):
    """``AWS::ApiGatewayV2::Route``: ``CreateRoute`` (``Target`` ``integrations/{id}``)."""

    collection = "routes"

    id_attribute = "RouteId"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> HttpRoute:
        props = props_of(cloudformation_json)
        api_id = str(props["ApiId"])
        route = _v2(account_id, region_name).create_route(
            api_id=api_id,
            api_key_required=as_bool(props.get("ApiKeyRequired", False)),
            authorization_scopes=list(props.get("AuthorizationScopes") or []),
            authorization_type=str(props.get("AuthorizationType") or "NONE"),
            authorizer_id=props.get("AuthorizerId"),
            model_selection_expression=props.get("ModelSelectionExpression"),
            operation_name=props.get("OperationName"),
            request_models=props.get("RequestModels"),
            request_parameters=props.get("RequestParameters"),
            route_key=str(props["RouteKey"]),
            route_response_selection_expression=props.get("RouteResponseSelectionExpression"),
            target=props.get("Target"),
        )
        return cls(route.route_id, account_id, region_name, api_id)


class HttpStage(_HttpApiPart):
    """``AWS::ApiGatewayV2::Stage``: ``CreateStage`` (``AutoDeploy`` serves the API as it is;
    otherwise the stage serves ``DeploymentId``). ``Ref`` is the stage name."""

    collection = "stages"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> HttpStage:
        props = props_of(cloudformation_json)
        api_id = str(props["ApiId"])
        name = str(props["StageName"])
        config: dict[str, Any] = {"stageName": name}
        for key in (
            "AutoDeploy",
            "DeploymentId",
            "Description",
            "DefaultRouteSettings",
            "RouteSettings",
            "StageVariables",
            "AccessLogSettings",
        ):
            if key in props:
                value = props[key]
                if key == "AutoDeploy":
                    value = as_bool(value)
                elif key in ("DefaultRouteSettings", "AccessLogSettings"):
                    value = camel(value)
                config[key[:1].lower() + key[1:]] = value
        stage = _v2(account_id, region_name).create_stage(api_id, config)
        if props.get("DeploymentId"):
            setattr(stage, "labkit_deployment_id", str(props["DeploymentId"]))  # noqa: B010
        return cls(name, account_id, region_name, api_id)


class HttpDeployment(_HttpApiPart):
    """``AWS::ApiGatewayV2::Deployment``: freezes the API as ``CreateDeployment`` does (and
    points ``StageName``'s stage at it). ``Ref`` is the deployment id."""

    collection = ""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> HttpDeployment:
        from labkit.services.apigatewayv2 import patch as v2

        props = props_of(cloudformation_json)
        api_id = str(props["ApiId"])
        api = _v2(account_id, region_name).get_api(api_id)
        deployment_id = "".join(
            mock_random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6)
        )
        shown = {
            "autoDeployed": False,
            "deploymentId": deployment_id,
            "deploymentStatus": "DEPLOYED",
            "description": str(props.get("Description") or ""),
        }
        v2.deployments(api)[deployment_id] = {
            "shown": shown,
            "snapshot": v2.snapshot(api, deployment_id),
        }
        stage = props.get("StageName")
        if stage and stage in api.stages:
            setattr(api.stages[stage], "labkit_deployment_id", deployment_id)  # noqa: B010
        return cls(deployment_id, account_id, region_name, api_id)

    def delete(self, account_id: str, region_name: str) -> None:
        from labkit.services.apigatewayv2 import patch as v2

        api = _v2_api(self.account_id, self.region_name, self.api_id)
        if api is not None:
            v2.deployments(api).pop(self.physical_resource_id, None)


#: The resource types this module adds, by CloudFormation type.
TYPES: dict[str, type[Any]] = {
    "AWS::ApiGatewayV2::Api": HttpApi,
    "AWS::ApiGatewayV2::Integration": HttpIntegration,
    "AWS::ApiGatewayV2::Route": HttpRoute,
    "AWS::ApiGatewayV2::Stage": HttpStage,
    "AWS::ApiGatewayV2::Deployment": HttpDeployment,
}
