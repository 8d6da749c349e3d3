"""``GetUsage``: a usage plan's requests per API key and day, which moto does not answer.

The throttle step counts every request a key makes through a usage plan (per UTC day, on the
lab clock); ``GetUsage`` reports, for each day from ``startDate`` to ``endDate``, ``[used,
remaining]`` per key, where ``remaining`` is what the plan's quota had left at the end of that
day (0 when the plan has no quota: labkit's reading; AWS documents the pair for quotas).
https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from labkit.services.apigateway.sim_throttle import Buckets, period_start


def usage_of(backend: Any, plan: Any, key_id: str, first: date, last: date) -> list[list[int]]:
    """``[used, remaining]`` for each day from ``first`` to ``last`` for one key of ``plan``."""
    buckets: Buckets | None = getattr(backend, "labkit_buckets", None)
    counts = buckets.usage if buckets is not None else {}
    quota = plan.quota or {}
    limit = int(quota["limit"]) if quota.get("limit") not in (None, "") else None
    period = str(quota.get("period") or "DAY")
    offset = int(quota.get("offset") or 0)
    days = []
    day = first
    while day <= last:
        used = counts.get((plan.id, key_id, day.isoformat()), 0)
        remaining = 0
        if limit is not None:
            noon = datetime.combine(day, time(12), tzinfo=timezone.utc).timestamp()
            start = datetime.fromtimestamp(period_start(noon, period, offset), tz=timezone.utc)
            so_far = 0
            cursor = start.date()
            while cursor <= day:
                so_far += counts.get((plan.id, key_id, cursor.isoformat()), 0)
                cursor += timedelta(days=1)
            remaining = max(0, limit - so_far)
        days.append([used, remaining])
        day += timedelta(days=1)
    return days


def install(stack: ExitStack) -> None:
    """Answer ``GET /usageplans/{id}/usage``."""
    from moto.apigateway import urls
    from moto.apigateway.exceptions import BadRequestException
    from moto.apigateway.responses import APIGatewayResponse

    def get_usage(self: APIGatewayResponse) -> Any:
        plan_id = self.path.split("/")[2]
        plan = self.backend.get_usage_plan(plan_id)
        try:
            first = date.fromisoformat(str(self._get_param("startDate")))
            last = date.fromisoformat(str(self._get_param("endDate")))
        except ValueError as bad:
            raise BadRequestException(
                f"startDate and endDate are dates (YYYY-MM-DD): {bad}"
            ) from bad
        wanted = self._get_param("keyId")
        keys = [wanted] if wanted else list(self.backend.usage_plan_keys.get(plan_id, {}))
        items = {key: usage_of(self.backend, plan, key, first, last) for key in keys}
        body = {
            "usagePlanId": plan_id,
            "startDate": first.isoformat(),
            "endDate": last.isoformat(),
            "values": items,  # the wire name of GetUsage's items
        }
        return 200, {"status": 200}, json.dumps(body)

    route = "{0}/usageplans/(?P<usage_plan_id>[^/]+)/usage/?$"
    urls.url_paths[route] = APIGatewayResponse.dispatch
    APIGatewayResponse.get_usage = get_usage  # type: ignore[attr-defined]
    stack.callback(urls.url_paths.pop, route, None)
    stack.callback(delattr, APIGatewayResponse, "get_usage")
