"""Resource types of the earlier labs that stock moto's CloudFormation skips.

Moto warns "not supported by moto's CloudFormation implementation" and creates nothing for
``AWS::SNS::Subscription``, ``AWS::SQS::QueuePolicy``, ``AWS::SNS::TopicPolicy``,
``AWS::S3::BucketPolicy`` and ``AWS::KinesisFirehose::DeliveryStream``, so a stack that wires a
topic to a queue deploys without the wiring.
Here each is made through the same moto backend calls the APIs use (so every labkit patch on
those backends applies: a subscription delivers only when the queue's policy allows it, the
policy engine reads the policy a stack set), with the properties of the template reference:

- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-subscription.html
  (``TopicArn``, ``Protocol``, ``Endpoint``, ``RawMessageDelivery``, ``FilterPolicy``,
  ``FilterPolicyScope``, ``RedrivePolicy``; ``Ref`` is the subscription ARN);
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queuepolicy.html
  (``Queues`` are queue URLs, ``PolicyDocument``);
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-topicpolicy.html
  (``Topics`` are topic ARNs);
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucketpolicy.html
  (``Bucket`` is a bucket name).

Deleting the stack removes the subscription or the policy, as AWS does.

Moto's ``AWS::DynamoDB::Table`` has no update at all (a changed table is left as it was and the
stack forgets it): :class:`DynamoDbTable` updates it as the template reference says
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html):
``BillingMode``, ``ProvisionedThroughput``, ``AttributeDefinitions`` and
``GlobalSecondaryIndexes`` change in place (items kept); a new ``TableName``, ``KeySchema`` or
``LocalSecondaryIndexes`` requires replacement (facts ``cloudformation.dynamodb_table_*``): a
new table, the old one deleted with its items, and, when the name stays the same, the update
fails with the reason in fact ``cloudformation.custom_name_replacement_reason``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html:
"You can't perform an update that causes a custom-named resource to be replaced").

Moto's ``AWS::SSM::Parameter`` fails without a ``Name`` ("'NoneType' object has no attribute
'lower'") and deletes and re-creates the parameter on every update. :class:`SsmParameter` takes
the stack's generated name when ``Name`` is absent, as AWS does ("If you don't specify a name,
CloudFormation generates a unique physical ID",
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ssm-parameter.html),
updates the value in place (a new version of the same parameter), and replaces it only when the
``Name`` changes.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any, ClassVar

from moto.cloudformation import parsing as cfn_parsing
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.moto_api._internal import mock_random
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.ssm.models import Parameter, ssm_backends


def install(stack: ExitStack) -> None:
    """Make these resource types deployable until ``stack`` closes."""
    stack.enter_context(more_resource_types())


def _region_of(arn: str, default: str) -> tuple[str, str]:
    parts = arn.split(":")
    if len(parts) > 4 and parts[3] and parts[4]:
        return parts[4], parts[3]
    return "", default


def _policy_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


#: ``Fn::GetAtt`` names with the function that computes each from a resource.
GetAtts = Mapping[str, Callable[[Any], Any]]


class Deployed(ABC):
    """Base of the resources below: what moto's stack code asks of a resource. Each resource
    says how it is made (:meth:`create_from_cloudformation_json`) and unmade (:meth:`delete`)
    through the same backend calls as the service's API."""

    cloudformation_type_name = ""
    #: The ``Fn::GetAtt`` name answered with the physical id (``ResourceId``, ``RouteId``, ...).
    id_attribute: ClassVar[str] = ""
    #: The other ``Fn::GetAtt`` names the type answers, each with the function that computes it
    #: from the resource.
    other_attributes: ClassVar[GetAtts] = {}

    def __init__(self, physical_id: str, account_id: str, region_name: str) -> None:
        self.physical_resource_id = physical_id
        self.account_id = account_id
        self.region_name = region_name

    def is_created(self) -> bool:
        return True

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(attr) and (attr == cls.id_attribute or attr in cls.other_attributes)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name and attribute_name == self.id_attribute:
            return self.physical_resource_id
        compute = self.other_attributes.get(attribute_name)
        if compute is not None:
            return compute(self)
        raise UnformattedGetAttTemplateException()

    @abstractmethod
    def delete(self, account_id: str, region_name: str) -> None:
        """Undo what :meth:`create_from_cloudformation_json` made."""

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        # Replace: remove what the old properties made, make what the new ones say.
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    @abstractmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        """Make the resource from its template ``Properties``; return it."""


class SnsSubscription(Deployed):
    """``AWS::SNS::Subscription``: ``SNS.Subscribe`` and its attributes."""

    _ATTRIBUTES = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SnsSubscription:
        props = cloudformation_json.get("Properties") or {}
        topic_arn = str(props["TopicArn"])
        account, region = _region_of(topic_arn, str(props.get("Region") or region_name))
        backend = sns_backends[account or account_id][region]
        subscription = backend.subscribe(topic_arn, str(props["Endpoint"]), str(props["Protocol"]))
        for name in cls._ATTRIBUTES:
            if name in props:
                value = props[name]
                if isinstance(value, (dict, list)):
                    value = json.dumps(value)
                elif isinstance(value, bool):
                    value = str(value).lower()
                backend.set_subscription_attributes(subscription.arn, name, str(value))
        return cls(subscription.arn, account or account_id, region)

    def delete(self, account_id: str, region_name: str) -> None:
        sns_backends[self.account_id][self.region_name].unsubscribe(self.physical_resource_id)


class SqsQueuePolicy(Deployed):
    """``AWS::SQS::QueuePolicy``: the ``Policy`` attribute of each queue listed."""

    def __init__(self, physical_id: str, account_id: str, region_name: str, queues: list[str]):
        super().__init__(physical_id, account_id, region_name)
        self.queues = queues

    @staticmethod
    def _backend_and_name(url: str, account_id: str, region_name: str) -> tuple[Any, str]:
        # https://sqs.<region>.amazonaws.com/<account>/<name>
        parts = url.rstrip("/").split("/")
        name = parts[-1]
        account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else account_id
        host = parts[2] if len(parts) > 2 else ""
        pieces = host.split(".")
        region = pieces[1] if len(pieces) > 2 and pieces[0] == "sqs" else region_name
        return sqs_backends[account][region], name

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SqsQueuePolicy:
        props = cloudformation_json.get("Properties") or {}
        queues = [str(q) for q in props.get("Queues", [])]
        policy = _policy_text(props["PolicyDocument"])
        for url in queues:
            backend, name = cls._backend_and_name(url, account_id, region_name)
            backend.set_queue_attributes(name, {"Policy": policy})
        physical = f"{resource_name}-{str(mock_random.uuid4())[:12]}"
        return cls(physical, account_id, region_name, queues)

    def delete(self, account_id: str, region_name: str) -> None:
        for url in self.queues:
            backend, name = self._backend_and_name(url, self.account_id, self.region_name)
            if name in backend.queues:
                backend.set_queue_attributes(name, {"Policy": ""})


class SnsTopicPolicy(Deployed):
    """``AWS::SNS::TopicPolicy``: the ``Policy`` attribute of each topic listed."""

    def __init__(self, physical_id: str, account_id: str, region_name: str, topics: list[str]):
        super().__init__(physical_id, account_id, region_name)
        self.topics = topics

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SnsTopicPolicy:
        props = cloudformation_json.get("Properties") or {}
        topics = [str(t) for t in props.get("Topics", [])]
        policy = _policy_text(props["PolicyDocument"])
        for arn in topics:
            account, region = _region_of(arn, region_name)
            sns_backends[account or account_id][region].set_topic_attribute(arn, "policy", policy)
        physical = f"{resource_name}-{str(mock_random.uuid4())[:12]}"
        return cls(physical, account_id, region_name, topics)

    def delete(self, account_id: str, region_name: str) -> None:
        for arn in self.topics:
            account, region = _region_of(arn, self.region_name)
            backend = sns_backends[account or self.account_id][region]
            topic = backend.topics.get(arn)
            if topic is not None:
                # Back to the default policy the topic had on creation.
                topic._policy_json = topic._create_default_topic_policy(
                    backend.region_name, topic.account_id, topic.name
                )


class S3BucketPolicy(Deployed):
    """``AWS::S3::BucketPolicy``: ``PutBucketPolicy`` on the bucket."""

    def __init__(self, physical_id: str, account_id: str, region_name: str, bucket: str):
        super().__init__(physical_id, account_id, region_name)
        self.bucket = bucket

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> S3BucketPolicy:
        props = cloudformation_json.get("Properties") or {}
        bucket = str(props["Bucket"])
        policy = _policy_text(props["PolicyDocument"])
        s3_backends[account_id]["aws"].put_bucket_policy(bucket, policy.encode())
        return cls(bucket, account_id, region_name, bucket)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = s3_backends[self.account_id]["aws"]
        if self.bucket in backend.buckets:
            backend.delete_bucket_policy(self.bucket)


class FirehoseDeliveryStream(Deployed):
    """``AWS::KinesisFirehose::DeliveryStream``: ``CreateDeliveryStream`` with S3 destinations.

    ``Ref`` is the name, ``Fn::GetAtt ... Arn`` the ARN
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kinesisfirehose-deliverystream.html);
    delivery (buffering, compression, keys, a Kinesis source) is labkit's Firehose patch, as for
    a stream made by hand.
    """

    def __init__(self, name: str, account_id: str, region_name: str, arn: str) -> None:
        super().__init__(name, account_id, region_name)
        self.arn = arn

    other_attributes: ClassVar[GetAtts] = {"Arn": lambda self: self.arn}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FirehoseDeliveryStream:
        from moto.firehose.models import firehose_backends

        props = cloudformation_json.get("Properties") or {}
        name = str(props.get("DeliveryStreamName") or resource_name)
        backend = firehose_backends[account_id][region_name]
        # Positionally, in moto's order, as its API handler calls it (labkit's Firehose patch
        # wraps it so); the destinations the labs do not use are None.
        create: Any = backend.create_delivery_stream
        arn = create(
            region_name,
            name,
            str(props.get("DeliveryStreamType") or "DirectPut"),
            props.get("KinesisStreamSourceConfiguration"),
            props.get("DeliveryStreamEncryptionConfigurationInput"),
            props.get("S3DestinationConfiguration"),
            props.get("ExtendedS3DestinationConfiguration"),
            *([None] * 6),  # Redshift, Elasticsearch, Splunk, HTTP endpoint, Snowflake, Iceberg
            list(props.get("Tags") or []),
        )
        return cls(name, account_id, region_name, str(arn))

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.firehose.models import firehose_backends

        backend = firehose_backends[self.account_id][self.region_name]
        if self.physical_resource_id in backend.delivery_streams:
            backend.delete_delivery_stream(self.physical_resource_id)


class DynamoDbTable(Table):
    """moto's table, with the update moto lacks (see the module docstring)."""

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        """Update ``original_resource`` in place, or replace it when its name or key changes."""
        from labkit.services.cloudformation.patch import ResourceCreationFailed

        backend = dynamodb_backends[account_id][region_name]
        properties = cloudformation_json.get("Properties", {})
        key_changed = properties.get("KeySchema") not in (None, original_resource.schema)
        local_indexes = {i["IndexName"] for i in properties.get("LocalSecondaryIndexes") or []}
        local_changed = local_indexes != {i.name for i in original_resource.indexes}
        # A table without a TableName keeps its generated name unless it is replaced (moto
        # generates a new name on every update).
        renamed = "TableName" in properties and new_resource_name != original_resource.name
        if renamed or key_changed or local_changed:
            if new_resource_name == original_resource.name:
                raise ResourceCreationFailed(
                    str(getattr(original_resource, "logical_resource_id", original_resource.name)),
                    "CloudFormation cannot update a stack when a custom-named resource requires "
                    f"replacing. Rename {original_resource.name} and update the stack again.",
                )
            table = Table.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            backend.delete_table(name=original_resource.name)
            return table
        billing = (
            "PAY_PER_REQUEST"
            if properties.get("BillingMode") == "PAY_PER_REQUEST"
            else "PROVISIONED"
        )
        table = original_resource
        table.billing_mode = billing
        table.throughput = (
            properties.get("ProvisionedThroughput") or {}
            if billing == "PROVISIONED"
            else {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
        )
        if properties.get("AttributeDefinitions"):
            table.attr = properties["AttributeDefinitions"]
        wanted = {g["IndexName"]: g for g in properties.get("GlobalSecondaryIndexes") or []}
        present = {g.name for g in table.global_indexes}
        updates: list[dict[str, Any]] = [
            {"Delete": {"IndexName": name}} for name in sorted(present - set(wanted))
        ]
        updates += [{"Create": wanted[name]} for name in wanted if name not in present]
        if updates:
            backend.update_table_global_indexes(table, updates)
        return table


#: The resource types this module adds, by CloudFormation type.
class SsmParameter(Parameter):
    """moto's parameter, named when the template does not name it, updated in place."""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        """Create the parameter, under ``resource_name`` (generated) when ``Name`` is absent."""
        properties = dict(cloudformation_json.get("Properties") or {})
        properties["Name"] = properties.get("Name") or resource_name
        named = {**cloudformation_json, "Properties": properties}
        return Parameter.create_from_cloudformation_json(
            resource_name, named, account_id, region_name, **kwargs
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        """A new version of the same parameter; a new one (the old deleted) for a new ``Name``."""
        backend = ssm_backends[account_id][region_name]
        properties = dict(cloudformation_json.get("Properties") or {})
        name = properties.get("Name") or original_resource.name
        if name != original_resource.name:
            created = cls.create_from_cloudformation_json(
                name, cloudformation_json, account_id, region_name
            )
            backend.delete_parameter(original_resource.name)
            return created
        # PutParameter refuses Tags with Overwrite: a tag change is not a new value.
        properties.pop("Tags", None)
        properties.update(Name=name, Overwrite=True)
        return Parameter.create_from_cloudformation_json(
            name, {**cloudformation_json, "Properties": properties}, account_id, region_name
        )


TYPES: dict[str, type[Any]] = {
    "AWS::SNS::Subscription": SnsSubscription,
    "AWS::SQS::QueuePolicy": SqsQueuePolicy,
    "AWS::SNS::TopicPolicy": SnsTopicPolicy,
    "AWS::S3::BucketPolicy": S3BucketPolicy,
    "AWS::KinesisFirehose::DeliveryStream": FirehoseDeliveryStream,
    "AWS::DynamoDB::Table": DynamoDbTable,
    "AWS::SSM::Parameter": SsmParameter,
}


class Unsupported:
    """Stands for a resource type neither moto nor labkit deploys: creating it fails the
    resource (``CREATE_FAILED``, and the stack rolls back as AWS's does after a failure)
    where stock moto skipped it with a log line and reported the stack complete."""

    resource_type = ""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        """Refuse: the sandbox cannot make this resource."""
        raise UnsupportedResourceType(cls.resource_type)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        """Nothing was made."""


class UnsupportedResourceType(Exception):
    """A template names a resource type the sandbox cannot deploy (its message is the
    resource's ``CREATE_FAILED`` reason)."""

    def __init__(self, resource_type: str) -> None:
        self.message = (
            f"Resource type {resource_type} is not supported by the sandbox "
            "(labkit deploys the resource types of the course's labs)"
        )
        super().__init__(self.message)


#: Types moto deliberately makes nothing for (a wait condition has nothing to create).
_NOTHING_TO_MAKE = frozenset(cfn_parsing.NULL_MODELS)


def all_types() -> dict[str, type[Any]]:
    """Every resource type labkit adds or replaces, by CloudFormation type."""
    from labkit.services.cloudformation import (
        patch_resources_api,
        patch_resources_edge,
        patch_resources_http,
    )

    return {
        **TYPES,
        **patch_resources_api.TYPES,
        **patch_resources_http.TYPES,
        **patch_resources_edge.TYPES,
    }


@contextmanager
def more_resource_types() -> Iterator[None]:
    """Let stacks deploy :func:`all_types` for the block; fail every other type moto lacks."""
    original = cfn_parsing.resource_class_from_type
    added = all_types()
    unsupported: dict[str, type[Any]] = {}

    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type in added:
            return added[resource_type]
        found = original(resource_type)
        if found is None and resource_type not in _NOTHING_TO_MAKE:
            if resource_type not in unsupported:
                unsupported[resource_type] = type(
                    "Unsupported", (Unsupported,), {"resource_type": resource_type}
                )
            return unsupported[resource_type]
        return found

    cfn_parsing.resource_class_from_type = resource_class_from_type
    try:
        yield
    finally:
        cfn_parsing.resource_class_from_type = original
