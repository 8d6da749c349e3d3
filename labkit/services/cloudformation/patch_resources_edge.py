"""CloudFront resource types of the edge lab, deployed through the same backend calls as by hand.

Stock moto 5.2.5 has no CloudFormation support for ``AWS::CloudFront::Distribution`` or
``AWS::CloudFront::OriginAccessControl`` (it skips them). Here they call moto's CloudFront
backend as ``CreateDistribution`` and ``CreateOriginAccessControl`` do, so labkit's CloudFront
patch serves the distribution at its ``*.cloudfront.net`` name, reads the S3 origin as
``cloudfront.amazonaws.com`` with the distribution's ARN as ``AWS:SourceArn`` and checks cache
policy ids, exactly as for a distribution made by hand.

The template's ``DistributionConfig`` is written with plain lists where the API wraps each list
in ``{Quantity, Items}``, has no ``CallerReference`` (CloudFormation makes one) and puts
``CachedMethods`` beside ``AllowedMethods`` instead of inside it:
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-distributionconfig.html.
``Ref`` is the distribution id; ``GetAtt`` gives ``DomainName`` and ``Id``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudfront-distribution.html).
An origin access control's ``Ref`` and ``GetAtt Id`` are its id
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudfront-originaccesscontrol.html).
"""

from __future__ import annotations

from typing import Any, ClassVar

from moto.cloudfront.models import cloudfront_backends
from moto.moto_api._internal import mock_random

from labkit.services.cloudformation.patch_resources import Deployed, GetAtts

#: Template list properties the API wraps as ``{Quantity, Items}`` (by property name).
_WRAPPED = frozenset(
    {
        "Aliases",
        "Origins",
        "CacheBehaviors",
        "CustomErrorResponses",
        "OriginSSLProtocols",
        "Headers",
        "WhitelistedNames",
        "QueryStringCacheKeys",
        "Locations",
        "TrustedSigners",
        "TrustedKeyGroups",
        "LambdaFunctionAssociations",
        "FunctionAssociations",
        "OriginCustomHeaders",
    }
)


def _api_name(key: str) -> str:
    # The one property the template spells otherwise than the API.
    return "OriginSslProtocols" if key == "OriginSSLProtocols" else key


def _behaviour(spec: dict[str, Any]) -> dict[str, Any]:
    """A cache behaviour with ``AllowedMethods``/``CachedMethods`` nested as the API has them."""
    shaped = {
        k: _shape(k, v) for k, v in spec.items() if k not in ("AllowedMethods", "CachedMethods")
    }
    if "AllowedMethods" in spec:
        allowed = list(spec["AllowedMethods"])
        cached = list(spec.get("CachedMethods") or ["GET", "HEAD"])
        shaped["AllowedMethods"] = {
            "Quantity": len(allowed),
            "Items": allowed,
            "CachedMethods": {"Quantity": len(cached), "Items": cached},
        }
    return shaped


def _shape(key: str, value: Any) -> Any:
    """One property of the template's configuration, in the API's shape."""
    if key in ("DefaultCacheBehavior",) and isinstance(value, dict):
        return _behaviour(value)
    if key == "CacheBehaviors" and isinstance(value, list):
        items = [_behaviour(v) for v in value]
        return {"Quantity": len(items), "Items": items}
    if key == "GeoRestriction" and isinstance(value, dict):
        locations = list(value.get("Locations") or [])
        shaped = {k: v for k, v in value.items() if k != "Locations"}
        shaped["Quantity"] = len(locations)
        if locations:
            shaped["Items"] = locations
        return shaped
    if isinstance(value, dict):
        return {_api_name(k): _shape(k, v) for k, v in value.items()}
    if key in _WRAPPED and isinstance(value, list):
        items = [_shape("", v) for v in value]
        return {"Quantity": len(items), "Items": items}
    if isinstance(value, list):
        return [_shape("", v) for v in value]
    return value


def api_config(template_config: dict[str, Any], caller_reference: str) -> dict[str, Any]:
    """``DistributionConfig`` as written in a template, as ``CreateDistribution`` takes it."""
    config: dict[str, Any] = {k: _shape(k, v) for k, v in template_config.items()}
    config.setdefault("CallerReference", caller_reference)
    config.setdefault("Comment", "")
    return config


class Distribution(Deployed):
    """``AWS::CloudFront::Distribution``: ``CreateDistribution``; deleted with the stack."""

    id_attribute = "Id"

    def _domain_name(self) -> Any:
        return self._backend().distributions[self.physical_resource_id].domain_name

    other_attributes: ClassVar[GetAtts] = {"DomainName": _domain_name}

    def _backend(self) -> Any:
        return cloudfront_backends[self.account_id]["global"]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Distribution:
        props = cloudformation_json.get("Properties") or {}
        config = api_config(
            dict(props["DistributionConfig"]), f"{resource_name}-{mock_random.uuid4()}"
        )
        tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags") or []]
        backend = cloudfront_backends[account_id]["global"]
        dist, _, _ = backend.create_distribution(distribution_config=config, tags=tags)
        return cls(dist.distribution_id, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        """In place, as ``UpdateDistribution`` ("Update requires: No interruption"): the id,
        the domain name and the ARN a bucket policy names stay."""
        props = cloudformation_json.get("Properties") or {}
        backend = cloudfront_backends[account_id]["global"]
        dist = backend.distributions[original_resource.physical_resource_id]
        config = api_config(
            dict(props["DistributionConfig"]), dist.distribution_config.caller_reference
        )
        # IfMatch is the current ETag (labkit's CloudFront patch checks it; moto types it bool).
        update: Any = backend.update_distribution
        update(config, dist.distribution_id, dist.etag)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        # CloudFormation disables the distribution and deletes it once deployed; the sandbox
        # deletes it at once.
        self._backend().distributions.pop(self.physical_resource_id, None)


class OriginAccessControl(Deployed):
    """``AWS::CloudFront::OriginAccessControl``: ``CreateOriginAccessControl``."""

    id_attribute = "Id"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> OriginAccessControl:
        props = cloudformation_json.get("Properties") or {}
        backend = cloudfront_backends[account_id]["global"]
        control = backend.create_origin_access_control(dict(props["OriginAccessControlConfig"]))
        return cls(control.id, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = cloudfront_backends[self.account_id]["global"]
        backend.origin_access_controls.pop(self.physical_resource_id, None)


#: The resource types this module adds, by CloudFormation type.
TYPES: dict[str, type[Any]] = {
    "AWS::CloudFront::Distribution": Distribution,
    "AWS::CloudFront::OriginAccessControl": OriginAccessControl,
}
