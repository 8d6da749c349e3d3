"""What a stack's resource holds now, read for drift detection (:mod:`.patch_drift`).

Which types AWS checks: the resource type support list
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-supported-resources.html)
and, behind it, each type's registry schema: drift detection "compares that value with the
current resource property value returned by the resource read handler"
(https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-model-false-drift.html),
so a type whose schema has no ``read`` handler is never checked, and a property the schema lists
in ``writeOnlyProperties`` is never compared (the read handler cannot return it). The schemas
read here are AWS's published provider schemas as cfn-lint 1.58 bundles them (schema date
2026-10-20):

- no read handler, so ``NOT_CHECKED``: ``AWS::SQS::QueuePolicy``, ``AWS::SNS::TopicPolicy`` and
  ``AWS::IAM::Policy`` (whose reference page also says "This resource does not support drift
  detection",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-policy.html);
- read here: ``AWS::IAM::Role``, ``AWS::S3::Bucket``, ``AWS::S3::BucketPolicy``,
  ``AWS::SNS::Subscription``, ``AWS::Lambda::EventSourceMapping``, ``AWS::Kinesis::Stream``,
  ``AWS::SSM::Parameter`` (``Description``, ``Tier``, ``AllowedPattern`` and ``Policies`` are
  write-only: not compared), ``AWS::ApiGateway::RestApi``, ``AWS::ApiGatewayV2::Api``,
  ``AWS::CloudFront::Distribution`` (part of its ``DistributionConfig``: see
  ``_DISTRIBUTION``), besides the queue, table, topic and function :mod:`.patch_drift` reads;
- checked by AWS but not read yet (so ``NOT_CHECKED`` here): the other API Gateway types
  (routes, integrations, stages, methods, ...), ``AWS::Lambda::Permission`` and Firehose
  delivery streams (whose stack resource keeps only the stream's name, so one deleted and made
  again by hand could not be told from the stack's).

Policy documents (``AssumeRolePolicyDocument``, inline ``Policies``, a subscription's
``FilterPolicy``/``RedrivePolicy``, a mapping's filter patterns) are ``Json`` properties: they
are compared as JSON values, so whitespace, key order and a document written as a JSON string
or as an object do not matter. Nothing more: no schema declares a ``propertyTransform`` for
them, so a string and a one-element list (``"Action": "s3:GetObject"`` against
``["s3:GetObject"]``) are different values, as they are to AWS's comparison. A document is
compared whole: any change in it is one ``NOT_EQUAL`` difference at the property's path.
Lists AWS keeps as sets (``Tags`` by ``Key``, inline ``Policies`` by ``PolicyName``) are
compared in key order.

The bucket, role and mapping properties :mod:`.patch_properties` deploys are read too: a
bucket's ``VersioningConfiguration``, ``PublicAccessBlockConfiguration``,
``OwnershipControls``, ``AccelerateConfiguration``, ``CorsConfiguration`` and
``WebsiteConfiguration`` (each ``None`` once removed by hand, so a removal is a ``REMOVE``
difference), a role's ``ManagedPolicyArns`` (a set: compared sorted) and a mapping's ``Tags``.
Properties deployed but not read yet are in :data:`NOT_READ`: left out of the comparison rather
than reported as drift.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import xmltodict  # type: ignore[import-untyped]
from moto.apigateway.models import apigateway_backends
from moto.apigatewayv2.models import apigatewayv2_backends
from moto.awslambda.utils import get_backend
from moto.cloudfront.models import cloudfront_backends
from moto.iam.models import iam_backends
from moto.kinesis.models import kinesis_backends
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.ssm.models import ssm_backends

Reader = Callable[[Any, str, str], "dict[str, Any] | None"]

#: Properties a template may set that are not read (so never reported as drift), by type.
#: Topic and function tags are deployed (:mod:`.patch_properties`) but read by
#: :mod:`.patch_drift`'s own readers, which do not return them yet.
NOT_READ: dict[str, tuple[str, ...]] = {
    "AWS::S3::Bucket": ("LifecycleConfiguration", "NotificationConfiguration"),
}


@dataclass(frozen=True)
class Spec:
    """How one resource type is read and compared.

    ``documents``: properties compared whole as JSON values. ``normalise`` puts a property
    dict (the template's or the resource's) in the form both are compared in: JSON strings
    parsed, set-like lists sorted.
    """

    read: Reader
    documents: frozenset[str] = field(default_factory=frozenset)
    normalise: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def same_object(found: Any, resource: Any) -> bool:
    """Whether the stack's object is still the one the service holds (not deleted, nor deleted
    and made again by hand under the same name: that one is ``DELETED``, not ``IN_SYNC``)."""
    return found is resource


def parse_json(value: Any) -> Any:
    """A JSON document given as text, parsed; any other value as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _sorted_by(items: Any, key: str) -> Any:
    if not isinstance(items, list):
        return items
    return sorted(items, key=lambda item: str(item.get(key)) if isinstance(item, dict) else "")


def tags_list(pairs: dict[str, str]) -> list[dict[str, str]]:
    """Tags a service keeps as a map, in a template's ``[{Key, Value}]`` form, by key."""
    return [{"Key": k, "Value": v} for k, v in sorted(pairs.items())]


def with_sorted_tags(props: dict[str, Any]) -> dict[str, Any]:
    """``props`` with its ``Tags`` list sorted by key: AWS keeps tags as a set."""
    out = dict(props)
    if "Tags" in out:
        out["Tags"] = _sorted_by(out["Tags"], "Key")
    return out


# -- IAM role --------------------------------------------------------------------------------------
def _role(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    backend = iam_backends[account]["aws"]
    if not same_object(backend.roles.get(resource.id), resource):
        return None
    actual: dict[str, Any] = {
        "RoleName": resource.name,
        "Path": resource.path,
        "AssumeRolePolicyDocument": parse_json(resource.assume_role_policy_document),
        "MaxSessionDuration": resource.max_session_duration,
        "Policies": [
            {"PolicyName": name, "PolicyDocument": parse_json(document)}
            for name, document in sorted(resource.policies.items())
        ],
        "Tags": list(resource.tags),
        "ManagedPolicyArns": sorted(resource.managed_policies),
    }
    if resource.description:
        actual["Description"] = resource.description
    return actual


def _role_form(props: dict[str, Any]) -> dict[str, Any]:
    out = with_sorted_tags(props)
    if isinstance(out.get("ManagedPolicyArns"), list):
        # The schema's insertionOrder is false: a set of ARNs.
        out["ManagedPolicyArns"] = sorted(out["ManagedPolicyArns"])
    if "AssumeRolePolicyDocument" in out:
        out["AssumeRolePolicyDocument"] = parse_json(out["AssumeRolePolicyDocument"])
    if isinstance(out.get("Policies"), list):
        out["Policies"] = _sorted_by(
            [
                {**p, "PolicyDocument": parse_json(p.get("PolicyDocument"))}
                if isinstance(p, dict)
                else p
                for p in out["Policies"]
            ],
            "PolicyName",
        )
    return out


# -- S3 bucket -------------------------------------------------------------------------------------
def _encryption(api: Any) -> dict[str, Any] | None:
    # moto keeps the PutBucketEncryption XML shape: {"Rule": {...} or [{...}]}.
    if not api:
        return None
    rules = api.get("Rule")
    rules = rules if isinstance(rules, list) else [rules]
    out: list[dict[str, Any]] = []
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        default = dict(rule.get("ApplyServerSideEncryptionByDefault") or {})
        entry: dict[str, Any] = {"ServerSideEncryptionByDefault": default}
        if "BucketKeyEnabled" in rule:
            entry["BucketKeyEnabled"] = rule["BucketKeyEnabled"]
        out.append(entry)
    return {"ServerSideEncryptionConfiguration": out}


def _bucket(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    backend = s3_backends[account]["aws"]
    if not same_object(backend.buckets.get(resource.name), resource):
        return None
    actual: dict[str, Any] = {"BucketName": resource.name}
    encryption = _encryption(resource.encryption)
    if encryption is not None:
        actual["BucketEncryption"] = encryption
    tags = backend.tagger.list_tags_for_resource(resource.arn).get("Tags", [])
    actual["Tags"] = _sorted_by(list(tags), "Key")
    actual.update(_bucket_configurations(resource))
    return actual


def _bucket_configurations(bucket: Any) -> dict[str, Any]:
    """The configurations :mod:`.patch_properties` deploys, in the template's shape (``None``:
    not set, so a template that sets one finds it removed)."""
    block = bucket.public_access_block
    website = _website(bucket.website_configuration)
    return {
        "VersioningConfiguration": (
            {"Status": bucket.versioning_status} if bucket.versioning_status else None
        ),
        "PublicAccessBlockConfiguration": (
            None
            if block is None
            else {
                "BlockPublicAcls": block.block_public_acls,
                "BlockPublicPolicy": block.block_public_policy,
                "IgnorePublicAcls": block.ignore_public_acls,
                "RestrictPublicBuckets": block.restrict_public_buckets,
            }
        ),
        "OwnershipControls": (
            {"Rules": [{"ObjectOwnership": bucket.ownership_rule}]}
            if bucket.ownership_rule
            else None
        ),
        "AccelerateConfiguration": (
            {"AccelerationStatus": bucket.accelerate_configuration}
            if bucket.accelerate_configuration
            else None
        ),
        "CorsConfiguration": (
            {"CorsRules": [_cors_rule(rule) for rule in bucket.cors]} if bucket.cors else None
        ),
        "WebsiteConfiguration": website,
    }


def _cors_rule(rule: Any) -> dict[str, Any]:
    fields = {
        "Id": rule.id_,
        "AllowedMethods": rule.allowed_methods,
        "AllowedOrigins": rule.allowed_origins,
        "AllowedHeaders": rule.allowed_headers,
        "ExposedHeaders": rule.exposed_headers,
        "MaxAge": rule.max_age_seconds,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _website(body: Any) -> dict[str, Any] | None:
    """A PutBucketWebsite body (as moto keeps it) in the template's shape."""
    if not body:
        return None
    try:
        parsed = xmltodict.parse(body).get("WebsiteConfiguration") or {}
    except Exception:
        return None
    out: dict[str, Any] = {}
    if isinstance(parsed.get("IndexDocument"), dict):
        out["IndexDocument"] = parsed["IndexDocument"].get("Suffix")
    if isinstance(parsed.get("ErrorDocument"), dict):
        out["ErrorDocument"] = parsed["ErrorDocument"].get("Key")
    if isinstance(parsed.get("RedirectAllRequestsTo"), dict):
        out["RedirectAllRequestsTo"] = dict(parsed["RedirectAllRequestsTo"])
    rules = (parsed.get("RoutingRules") or {}).get("RoutingRule")
    if rules:
        out["RoutingRules"] = [
            {
                **({"RoutingRuleCondition": dict(r["Condition"])} if r.get("Condition") else {}),
                "RedirectRule": dict(r.get("Redirect") or {}),
            }
            for r in (rules if isinstance(rules, list) else [rules])
        ]
    return out


# -- SNS subscription ------------------------------------------------------------------------------
_SUBSCRIPTION = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")


def _subscription(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    # The physical id is the subscription ARN, which ends in a fresh id: one unsubscribed and
    # made again by hand is another subscription.
    found = sns_backends[resource.account_id][resource.region_name].subscriptions.get(
        resource.physical_resource_id
    )
    if found is None:
        return None
    actual: dict[str, Any] = {
        "TopicArn": found.topic.arn,
        "Protocol": found.protocol,
        "Endpoint": found.endpoint,
    }
    for name in _SUBSCRIPTION:
        if name in found.attributes:
            actual[name] = found.attributes[name]
    return actual


def _subscription_form(props: dict[str, Any]) -> dict[str, Any]:
    out = dict(props)
    for name in ("FilterPolicy", "RedrivePolicy"):
        if name in out:
            out[name] = parse_json(out[name])
    return out


# -- Lambda event source mapping -------------------------------------------------------------------
def _mapping(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    # The backend moto itself picks, as for functions (see ``patch_drift._function``).
    found = get_backend(account, region)._event_source_mappings.get(resource.uuid)
    if not same_object(found, resource):
        return None
    actual: dict[str, Any] = {
        "FunctionName": resource.function_name,
        "EventSourceArn": resource.event_source_arn,
        "Enabled": resource.enabled,
        "BatchSize": resource.batch_size,
    }
    if resource.max_batch_window is not None:
        actual["MaximumBatchingWindowInSeconds"] = resource.max_batch_window
    if resource.filter_criteria:
        actual["FilterCriteria"] = resource.filter_criteria
    actual["Tags"] = tags_list(dict(resource.tags or {}))
    return actual


def _mapping_form(props: dict[str, Any]) -> dict[str, Any]:
    out = with_sorted_tags(props)
    # The schema's propertyTransform: a function named by name, ARN or partial ARN is the same
    # function ("$split(FunctionName, ":")[-1]").
    if isinstance(out.get("FunctionName"), str):
        out["FunctionName"] = out["FunctionName"].split(":")[-1]
    criteria = out.get("FilterCriteria")
    if isinstance(criteria, dict) and isinstance(criteria.get("Filters"), list):
        out["FilterCriteria"] = {
            **criteria,
            "Filters": [
                {**f, "Pattern": parse_json(f.get("Pattern"))} if isinstance(f, dict) else f
                for f in criteria["Filters"]
            ],
        }
    return out


# -- Kinesis stream --------------------------------------------------------------------------------
def _stream(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    streams = kinesis_backends[account][region].streams
    if not same_object(streams.get(resource.stream_name), resource):
        return None
    actual: dict[str, Any] = {
        "Name": resource.stream_name,
        "RetentionPeriodHours": resource.retention_period_hours,
        "StreamModeDetails": dict(resource.stream_mode or {"StreamMode": "PROVISIONED"}),
        "Tags": tags_list(dict(resource.tags)),
    }
    if actual["StreamModeDetails"].get("StreamMode") != "ON_DEMAND":
        actual["ShardCount"] = resource.shard_count
    return actual


# -- SSM parameter ---------------------------------------------------------------------------------
def _parameter(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    backend = ssm_backends[account][region]
    history = backend._parameters.get(resource.name) or []
    # A new value is a new version of the same parameter; deleted and put again by hand, the
    # stack's version is no longer in the parameter's history.
    if not any(version is resource for version in history):
        return None
    latest = history[-1]
    actual: dict[str, Any] = {
        "Name": latest.name,
        "Type": latest.parameter_type,
        "Value": latest.value,
        "DataType": latest.data_type,
    }
    # The parameter exists (above), so its tags are there to read (none is an empty dict). A
    # parameter's template Tags are a map ({"team": "shop"}), not a Key/Value list.
    actual["Tags"] = dict(backend.list_tags_for_resource("Parameter", latest.name))
    return actual


# -- S3 bucket policy ------------------------------------------------------------------------------
def _bucket_policy(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    # The policy belongs to the bucket: removed by hand (DeleteBucketPolicy, or the bucket
    # deleted), the stack's policy is gone. It has no identity of its own beyond its bucket
    # (the schema's primaryIdentifier is Bucket), so one put back by hand is the same policy.
    bucket = s3_backends[resource.account_id]["aws"].buckets.get(resource.bucket)
    if bucket is None or not bucket.policy:
        return None
    policy = bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy
    return {"Bucket": resource.bucket, "PolicyDocument": parse_json(policy)}


def _bucket_policy_form(props: dict[str, Any]) -> dict[str, Any]:
    out = dict(props)
    if "PolicyDocument" in out:
        out["PolicyDocument"] = parse_json(out["PolicyDocument"])
    return out


# -- API Gateway REST API --------------------------------------------------------------------------
def _rest_api(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    # The physical id is the API id, generated: an API deleted and made again by hand under the
    # same name has another id.
    api = apigateway_backends[resource.account_id][resource.region_name].apis.get(
        resource.physical_resource_id
    )
    if api is None:
        return None
    actual: dict[str, Any] = {
        "Name": api.name,
        "BinaryMediaTypes": list(api.binaryMediaTypes or []),
        "ApiKeySourceType": api.api_key_source,
        "DisableExecuteApiEndpoint": api.disableExecuteApiEndpoint,
    }
    if api.description:
        actual["Description"] = api.description
    if api.policy:
        actual["Policy"] = parse_json(api.policy)
    return actual


def _rest_api_form(props: dict[str, Any]) -> dict[str, Any]:
    out = dict(props)
    if "Policy" in out:
        out["Policy"] = parse_json(out["Policy"])
    return out


# -- API Gateway HTTP/WebSocket API ----------------------------------------------------------------
def _pascal(value: Any) -> Any:
    # The API keeps CorsConfiguration in its camelCase wire form; templates write PascalCase.
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: _pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pascal(v) for v in value]
    return value


def _http_api(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    # The physical id is the API id, generated: one made again by hand has another.
    backend = apigatewayv2_backends[resource.account_id][resource.region_name]
    api = backend.apis.get(resource.physical_resource_id)
    if api is None:
        return None
    actual: dict[str, Any] = {
        "Name": api.name,
        "ProtocolType": api.protocol_type,
        "RouteSelectionExpression": api.route_selection_expression,
        "DisableExecuteApiEndpoint": api.disable_execute_api_endpoint,
    }
    if api.description:
        actual["Description"] = api.description
    if api.version:
        actual["Version"] = api.version
    if api.cors_configuration:
        actual["CorsConfiguration"] = _pascal(api.cors_configuration)
    return actual


# -- CloudFront distribution ----------------------------------------------------------------------
#: The parts of ``DistributionConfig`` read (with the default cache behaviour's, below); the
#: origins, other cache behaviours, certificates and restrictions are not read yet.
_DISTRIBUTION = {
    "Enabled": "Enabled",
    "Comment": "Comment",
    "DefaultRootObject": "DefaultRootObject",
    "PriceClass": "PriceClass",
    "HttpVersion": "HttpVersion",
    "IsIPV6Enabled": "IPV6Enabled",
    "WebACLId": "WebACLId",
}
_DEFAULT_BEHAVIOR = {
    "target_origin_id": "TargetOriginId",
    "viewer_protocol_policy": "ViewerProtocolPolicy",
    "compress": "Compress",
    "cache_policy_id": "CachePolicyId",
}


def _distribution(resource: Any, account: str, region: str) -> dict[str, Any] | None:
    # The physical id is the distribution id, generated: one made again by hand has another.
    backend = cloudfront_backends[resource.account_id]["global"]
    dist = backend.distributions.get(resource.physical_resource_id)
    if dist is None:
        return None
    api = vars(dist.distribution_config)
    config: dict[str, Any] = {
        prop: api[name] for name, prop in _DISTRIBUTION.items() if api.get(name) not in (None, "")
    }
    aliases = api.get("Aliases") or {}
    config["Aliases"] = list(aliases.get("Items") or [])
    behavior = api.get("DefaultCacheBehavior")
    if behavior is not None:
        config["DefaultCacheBehavior"] = {
            prop: getattr(behavior, name)
            for name, prop in _DEFAULT_BEHAVIOR.items()
            if getattr(behavior, name, None) not in (None, "")
        }
    return {"DistributionConfig": config}


def _distribution_form(props: dict[str, Any]) -> dict[str, Any]:
    # Only what the reader reads is compared (see _DISTRIBUTION): the rest of the template's
    # DistributionConfig is left out on both sides rather than reported REMOVE.
    out = dict(props)
    config = out.get("DistributionConfig")
    if isinstance(config, dict):
        kept = {k: v for k, v in config.items() if k in _DISTRIBUTION.values() or k == "Aliases"}
        behavior = config.get("DefaultCacheBehavior")
        if isinstance(behavior, dict):
            wanted = set(_DEFAULT_BEHAVIOR.values())
            kept["DefaultCacheBehavior"] = {k: v for k, v in behavior.items() if k in wanted}
        out["DistributionConfig"] = kept
    return out


#: The types read beyond :mod:`.patch_drift`'s own four, by CloudFormation type.
SPECS: dict[str, Spec] = {
    "AWS::IAM::Role": Spec(
        _role, frozenset({"AssumeRolePolicyDocument", "Policies", "Tags"}), _role_form
    ),
    "AWS::S3::Bucket": Spec(_bucket, frozenset({"Tags"}), with_sorted_tags),
    "AWS::SNS::Subscription": Spec(
        _subscription, frozenset({"FilterPolicy", "RedrivePolicy"}), _subscription_form
    ),
    "AWS::Lambda::EventSourceMapping": Spec(
        _mapping, frozenset({"FilterCriteria", "Tags"}), _mapping_form
    ),
    "AWS::Kinesis::Stream": Spec(_stream, frozenset({"Tags"}), with_sorted_tags),
    "AWS::SSM::Parameter": Spec(_parameter, frozenset({"Tags"})),
    "AWS::ApiGateway::RestApi": Spec(_rest_api, frozenset({"Policy"}), _rest_api_form),
    "AWS::ApiGatewayV2::Api": Spec(_http_api),
    "AWS::CloudFront::Distribution": Spec(_distribution, normalise=_distribution_form),
    "AWS::S3::BucketPolicy": Spec(
        _bucket_policy, frozenset({"PolicyDocument"}), _bucket_policy_form
    ),
}

#: Types AWS never checks for drift (no read handler in their schemas): always ``NOT_CHECKED``.
NEVER_CHECKED = frozenset({"AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::IAM::Policy"})
