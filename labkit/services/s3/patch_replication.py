"""S3 replication on the lab clock: new objects copied to the destination bucket, later.

moto stores a bucket's replication configuration and does nothing with it. While a lab runs,
this module makes the rules work as S3 describes them
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html):

- An object written to the source bucket after the rule exists, matching an ``Enabled`` rule's
  filter (prefix, tags, or both), is copied to each rule's destination bucket asynchronously:
  ``ReplicationStatus`` reads ``PENDING`` on the source until the copy lands, then
  ``COMPLETED`` (``FAILED`` if the destination is missing or not versioned); the copy reads
  ``REPLICA`` and keeps the version id, metadata and tags. Objects that existed before the rule
  are not replicated, nor are replicas themselves (no chains).
- Where several rules send to one destination, the one with the highest ``Priority`` decides.
- Delete markers (a delete without a version id) are replicated by rules of the older, prefix
  form, and by filter rules only with ``DeleteMarkerReplication`` enabled. Deleting a specific
  version is never replicated.
- The copy lands after a lag on the lab clock. S3 documents no typical figure; labkit's model is
  a few seconds to half a minute plus the transfer time, and with Replication Time Control the
  lag never passes the RTC target (``s3.rtc_replication_time``). A lesson can fix the lag with
  :func:`set_replication_lag`.
- ``GetBucketReplication`` returns the rules as they were put (moto drops filters and the delete
  marker setting).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.core.common_types import TYPE_RESPONSE
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeDeleteMarker, FakeKey, S3Backend, s3_backends
from moto.s3.responses import S3Response

from labkit import facts

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox

#: Seconds before any copy lands, and the spread added on top (labkit's model).
BASE_LAG_SECONDS = 2.0
LAG_SPREAD_SECONDS = 28.0
#: Assumed cross-Region transfer rate for the size-dependent part of the lag, bytes per second.
TRANSFER_BYTES_PER_SECOND = 50 * 1024 * 1024

_STATUS = "labkit_replication_status"


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the replication patches for ``sandbox``."""
    stack.enter_context(replication_on_clock(lambda: sandbox.clock))


def set_replication_lag(seconds: float | None, *, sandbox: Sandbox | None = None) -> None:
    """Fix the replication lag for every rule (``None``: back to labkit's model).

    Kept on moto's S3 backend, so ``lab.reset()`` forgets it.
    """
    from labkit.services.edge.patch import running

    (sandbox or running())._require_running()
    s3_backends[DEFAULT_ACCOUNT_ID]["aws"].__dict__["labkit_replication_lag"] = seconds


# -- rules -----------------------------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _rule_filter(rule: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The prefix and tags a rule matches."""
    if "Filter" not in rule:
        return str(rule.get("Prefix") or ""), {}
    flt = rule.get("Filter") or {}
    tags: dict[str, str] = {}
    if "And" in flt:
        both = flt["And"] or {}
        for tag in _as_list(both.get("Tag")) + _as_list(both.get("Tags")):
            tags[str(tag["Key"])] = str(tag.get("Value", ""))
        return str(both.get("Prefix") or ""), tags
    if "Tag" in flt:
        tag = flt["Tag"]
        return "", {str(tag["Key"]): str(tag.get("Value", ""))}
    return str(flt.get("Prefix") or ""), {}


def _enabled_rules(bucket: Any) -> list[Mapping[str, Any]]:
    config = getattr(bucket, "replication", None) or {}
    return [r for r in _as_list(config.get("Rule")) if str(r.get("Status")) == "Enabled"]


def _destination_name(rule: Mapping[str, Any]) -> str:
    arn = str((rule.get("Destination") or {}).get("Bucket", ""))
    return arn.rsplit(":", 1)[-1]


def _rules_by_destination(
    bucket: Any, key_name: str, tags: Mapping[str, str] | None
) -> dict[str, Mapping[str, Any]]:
    """For each destination, the highest-priority enabled rule matching the key (tags are
    checked only when given)."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for rule in _enabled_rules(bucket):
        prefix, wanted = _rule_filter(rule)
        if not key_name.startswith(prefix):
            continue
        if tags is not None and any(tags.get(k) != v for k, v in wanted.items()):
            continue
        destination = _destination_name(rule)
        best = chosen.get(destination)
        if best is None or int(rule.get("Priority") or 0) > int(best.get("Priority") or 0):
            chosen[destination] = rule
    return chosen


def replication_lag(
    backend: S3Backend,
    rule: Mapping[str, Any],
    bucket_name: str,
    key_name: str,
    version_id: str,
    size: int,
) -> float:
    """Seconds until a copy lands: the lesson's fixed lag, else labkit's model (a spread of a
    few seconds to half a minute, fixed per object, plus transfer time), capped at the RTC
    target when the rule uses Replication Time Control."""
    fixed = backend.__dict__.get("labkit_replication_lag")
    if fixed is not None:
        return float(fixed)
    digest = hashlib.sha256(f"{bucket_name}/{key_name}/{version_id}".encode()).digest()
    spread = int.from_bytes(digest[:8], "big") / 2**64
    lag = BASE_LAG_SECONDS + LAG_SPREAD_SECONDS * spread + size / TRANSFER_BYTES_PER_SECOND
    rtc = ((rule.get("Destination") or {}).get("ReplicationTime") or {}).get("Status")
    if rtc == "Enabled":
        lag = min(lag, float(facts.value("s3.rtc_replication_time")))
    return lag


def _find_bucket(name: str) -> tuple[S3Backend, Any] | tuple[None, None]:
    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None, None
    partition, account = owner
    backend = s3_backends[account][partition]
    return backend, backend.buckets.get(name)


# -- the copy ----------------------------------------------------------------------------------
def _replicate(backend: S3Backend, bucket: Any, key: Any, rule: Mapping[str, Any]) -> None:
    """Copy one source version (or delete marker) to the rule's destination, if still due."""
    if backend.buckets.get(bucket.name) is not bucket:
        return  # the world was reset (or this is another world): nothing to do
    pending: dict[str, str] = key.__dict__.setdefault("labkit_pending", {})
    destination = _destination_name(rule)
    if isinstance(key, FakeKey):
        _, wanted = _rule_filter(rule)
        tags = backend.tagger.get_tag_dict_for_resource(key.arn)
        if any(tags.get(k) != v for k, v in wanted.items()):
            pending.pop(destination, None)
            _settle(key)
            return
    dest_backend, dest = _find_bucket(destination)
    if dest_backend is None or dest is None or not dest.is_versioned:
        pending[destination] = "FAILED"
        _settle(key)
        return
    dest_backend.__dict__["labkit_replicating"] = True
    try:
        if isinstance(key, FakeDeleteMarker):
            if key.name in dest.keys:
                marker = FakeDeleteMarker(key=dest.keys[key.name])
                marker._version_id = key.version_id
                dest.keys[key.name] = marker
        else:
            storage = (rule.get("Destination") or {}).get("StorageClass") or key.storage_class
            copy = dest_backend.put_object(
                dest.name, key.name, key.value, storage=storage, disable_notification=True
            )
            copy._version_id = key.version_id
            copy.set_metadata(key.metadata)
            copy.last_modified = key.last_modified
            copy.__dict__[_STATUS] = "REPLICA"
            dest_backend.tagger.copy_tags(key.arn, copy.arn)
    finally:
        dest_backend.__dict__["labkit_replicating"] = False
    pending[destination] = "COMPLETED"
    _settle(key)


def _settle(key: Any) -> None:
    pending: dict[str, str] = key.__dict__.get("labkit_pending", {})
    states = set(pending.values())
    if not pending:
        key.__dict__.pop(_STATUS, None)
    elif "FAILED" in states:
        key.__dict__[_STATUS] = "FAILED"
    elif "PENDING" in states:
        key.__dict__[_STATUS] = "PENDING"
    else:
        key.__dict__[_STATUS] = "COMPLETED"


def _copier(
    backend: S3Backend, bucket: Any, key: Any, rule: Mapping[str, Any]
) -> Callable[[], None]:
    def copy() -> None:
        _replicate(backend, bucket, key, rule)

    return copy


def _schedule(
    clock: Clock, backend: S3Backend, bucket: Any, key: Any, rules: Mapping[str, Mapping[str, Any]]
) -> None:
    pending: dict[str, str] = key.__dict__.setdefault("labkit_pending", {})
    for destination, rule in rules.items():
        pending[destination] = "PENDING"
        clock.call_later(
            replication_lag(
                backend,
                rule,
                bucket.name,
                key.name,
                str(key.version_id),
                len(key.value) if isinstance(key, FakeKey) else 0,
            ),
            _copier(backend, bucket, key, rule),
            label=f"s3 replication {bucket.name}/{key.name} -> {destination}",
        )
    _settle(key)


# -- the patches -----------------------------------------------------------------------------
@contextmanager
def replication_on_clock(clock_of: Callable[[], Clock]) -> Iterator[None]:
    """Patch moto so that replication rules copy objects on the lab clock."""
    put_object = S3Backend.put_object
    delete_object = S3Backend.delete_object
    response_dict = FakeKey.response_dict
    get_replication = S3Response.get_bucket_replication

    def put_object_replicated(
        self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        key = put_object(self, bucket_name, key_name, *args, **kwargs)
        if self.__dict__.get("labkit_replicating"):
            return key
        bucket = self.buckets.get(bucket_name)
        if bucket is not None and getattr(bucket, "replication", None):
            rules = _rules_by_destination(bucket, key_name, None)
            if rules:
                _schedule(clock_of(), self, bucket, key, rules)
        return key

    def delete_object_replicated(
        self: S3Backend,
        bucket_name: str,
        key_name: str,
        version_id: str | None = None,
        bypass: bool = False,
    ) -> Any:
        result = delete_object(self, bucket_name, key_name, version_id, bypass)
        bucket = self.buckets.get(bucket_name)
        if version_id is None and bucket is not None and getattr(bucket, "replication", None):
            marker = bucket.keys.get(key_name) if key_name in bucket.keys else None
            if isinstance(marker, FakeDeleteMarker):
                rules = {
                    dest: rule
                    for dest, rule in _rules_by_destination(bucket, key_name, None).items()
                    if "Filter" not in rule
                    or ((rule.get("DeleteMarkerReplication") or {}).get("Status") == "Enabled")
                }
                if rules:
                    _schedule(clock_of(), self, bucket, marker, rules)
        return result

    def response_dict_with_status(self: FakeKey) -> dict[str, Any]:
        out: dict[str, Any] = response_dict.fget(self)  # type: ignore[attr-defined]
        status = self.__dict__.get(_STATUS)
        if status:
            out["x-amz-replication-status"] = status
        return out

    def get_bucket_replication(self: S3Response) -> TYPE_RESPONSE:
        from moto.core.responses import ActionResult
        from moto.s3.exceptions import ReplicationConfigurationNotFoundError

        self.data["Action"] = "GetBucketReplication"
        replication = self.backend.get_bucket_replication(self.bucket_name)
        if not replication:
            raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
        rules = [_rule_out(rule) for rule in _as_list(replication.get("Rule"))]
        return self.serialized(
            ActionResult(
                {"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}
            )
        )

    S3Backend.put_object = put_object_replicated  # type: ignore[method-assign]
    S3Backend.delete_object = delete_object_replicated  # type: ignore[method-assign]
    FakeKey.response_dict = property(response_dict_with_status)  # type: ignore[assignment,method-assign]
    S3Response.get_bucket_replication = get_bucket_replication  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Backend.put_object = put_object  # type: ignore[method-assign]
        S3Backend.delete_object = delete_object  # type: ignore[method-assign]
        FakeKey.response_dict = response_dict  # type: ignore[method-assign]
        S3Response.get_bucket_replication = get_replication  # type: ignore[method-assign]


def _rule_out(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A stored rule as GetBucketReplication returns it (boto3's shape)."""
    out: dict[str, Any] = {"ID": rule.get("ID"), "Status": rule.get("Status")}
    if "Filter" not in rule:
        out["Prefix"] = rule.get("Prefix") or ""
    else:
        out["Priority"] = int(rule.get("Priority") or 0)
        flt = rule.get("Filter") or {}
        if "And" in flt:
            both = flt["And"] or {}
            shaped: dict[str, Any] = {}
            if "Prefix" in both:
                shaped["Prefix"] = both["Prefix"] or ""
            tags = _as_list(both.get("Tag")) + _as_list(both.get("Tags"))
            if tags:
                shaped["Tags"] = [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]
            out["Filter"] = {"And": shaped}
        elif "Tag" in flt:
            out["Filter"] = {"Tag": dict(flt["Tag"])}
        else:
            out["Filter"] = {"Prefix": flt.get("Prefix") or ""}
        out["DeleteMarkerReplication"] = {
            "Status": (rule.get("DeleteMarkerReplication") or {}).get("Status", "Disabled")
        }
    out["Destination"] = _typed(rule.get("Destination") or {})
    for optional in ("SourceSelectionCriteria", "ExistingObjectReplication"):
        if optional in rule:
            out[optional] = rule[optional]
    return out


def _typed(value: Any) -> Any:
    """XML-parsed numbers back to ints (``Minutes``), recursively."""
    if isinstance(value, dict):
        return {k: (int(v) if k == "Minutes" else _typed(v)) for k, v in value.items()}
    return value


def replication_status(bucket_name: str, key_name: str) -> str | None:
    """The ``ReplicationStatus`` of the current version of a key (for views and checks)."""
    _backend, bucket = _find_bucket(bucket_name)
    if bucket is None or key_name not in bucket.keys:
        return None
    status = bucket.keys[key_name].__dict__.get(_STATUS)
    return str(status) if status else None


__all__ = [
    "BASE_LAG_SECONDS",
    "LAG_SPREAD_SECONDS",
    "install",
    "replication_lag",
    "replication_on_clock",
    "replication_status",
    "set_replication_lag",
]
