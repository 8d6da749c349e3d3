"""DynamoDB UpdateTable and the 400 KB item limit, as AWS checks them.

Part of :mod:`labkit.services.dynamodb.patch` (which installs it):

- ``UpdateTable`` with AWS's validation of a throughput or billing change (moto makes none):
  the same throughput again is refused ("will not change"), throughput with
  ``PAY_PER_REQUEST`` is refused, a switch to ``PROVISIONED`` needs throughput; an on-demand
  table and its indexes report ``ProvisionedThroughput`` of zero; ``NumberOfDecreasesToday``
  counts decreases. The table's meters follow the change at once.
- Items are limited to 400 KB of attribute names and values counted as
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
  counts them (moto counts its own bytes, binary as base64 and numbers as text, up to 405,000).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.dynamodb.exceptions import ItemSizeTooLarge, MockValidationException
from moto.dynamodb.models.dynamo_type import LimitedSizeDict
from moto.dynamodb.responses import DynamoHandler

from labkit.clock import Clock
from labkit.services.dynamodb.sim_capacity import CapacityLimits
from labkit.services.dynamodb.sim_capacity_table import ON_DEMAND, TableMeters, attr_size


def _validation(message: str) -> MockValidationException:
    return MockValidationException(message)


def table_patches(
    clock_of: Callable[[], Clock], cap: CapacityLimits, meters: Callable[[Any, float], TableMeters]
) -> list[tuple[type, str, Any]]:
    """The UpdateTable handler and the item size check, wrapped around those found now."""
    # -- UpdateTable -------------------------------------------------------------------------
    original_update_table = DynamoHandler.__dict__["update_table"]

    def handler_update_table(self: DynamoHandler) -> Any:
        body = self.body
        table = self.dynamodb_backend.get_table(body["TableName"])
        now = clock_of().timestamp
        meters(table, now)  # the meters as they were, before the change
        current = str(table.billing_mode or "PROVISIONED")
        billing = str(body.get("BillingMode") or current)
        throughput = body.get("ProvisionedThroughput")
        validate_update_table(body, table, current, billing, throughput)
        before = dict(table.throughput or {})
        decreases = int(before.get("NumberOfDecreasesToday", 0))
        result = original_update_table(self)
        if billing == ON_DEMAND:
            # An on-demand table (and its indexes) report zero provisioned throughput.
            table.throughput = {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
            for gsi in table.global_indexes:
                gsi.throughput = {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
        elif throughput and current != ON_DEMAND:
            lowered = any(
                int(throughput.get(k, 0)) < int(before.get(k, 0))
                for k in ("ReadCapacityUnits", "WriteCapacityUnits")
            )
            decreases += 1 if lowered else 0
        table.throughput["NumberOfDecreasesToday"] = decreases
        meters(table, now)
        return result

    # -- the 400 KB item limit, counted as AWS counts ------------------------------------------
    def limited_setitem(self: LimitedSizeDict, key: str, value: Any) -> None:
        # moto refuses items past 405,000 of its own bytes (binary as base64, numbers as text);
        # AWS's limit is 400 KB of names and values as CapacityUnitCalculations.html counts them.
        def size(name: str, v: Any) -> int:
            measured = attr_size(v) if hasattr(v, "type") else len(str(v).encode("utf-8"))
            return len(name.encode("utf-8")) + measured

        total = sum(size(k, v) for k, v in self.items() if k != key) + size(key, value)
        if total > cap.item_size_max:
            raise ItemSizeTooLarge()
        dict.__setitem__(self, key, value)

    return [
        (LimitedSizeDict, "__setitem__", limited_setitem),
        (DynamoHandler, "update_table", handler_update_table),
    ]


def validate_update_table(
    body: dict[str, Any], table: Any, current: str, billing: str, throughput: Any
) -> None:
    """AWS's checks of a throughput or billing change (moto makes none of them)."""
    if billing == ON_DEMAND and throughput:
        raise _validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
            "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
        )
    if billing != ON_DEMAND and current == ON_DEMAND and not throughput:
        raise _validation(
            "One or more parameter values were invalid: ReadCapacityUnits and "
            "WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    only_throughput = set(body) <= {"TableName", "ProvisionedThroughput", "BillingMode"}
    if throughput and current != ON_DEMAND and only_throughput:
        now_r = int(table.throughput.get("ReadCapacityUnits", 0))
        now_w = int(table.throughput.get("WriteCapacityUnits", 0))
        want_r = int(throughput.get("ReadCapacityUnits", now_r))
        want_w = int(throughput.get("WriteCapacityUnits", now_w))
        if (now_r, now_w) == (want_r, want_w):
            raise _validation(
                "The provisioned throughput for the table will not change. The requested value "
                "equals the current value. Current ReadCapacityUnits provisioned for the table: "
                f"{now_r}. Requested ReadCapacityUnits: {want_r}. Current WriteCapacityUnits "
                f"provisioned for the table: {now_w}. Requested WriteCapacityUnits: {want_w}. "
                "Refer to the Amazon DynamoDB Developer Guide for current limits and how to "
                "increase them."
            )


__all__ = ["table_patches", "validate_update_table"]
