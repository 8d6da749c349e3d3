"""CloudFront's distribution configuration rules that moto does not enforce.

moto 5.2.5 accepts any ``IfMatch`` on ``UpdateDistribution`` and never changes a distribution's
``ETag``, takes a ``Quantity`` that disagrees with its ``Items``, lets an update change the
``CallerReference`` and stores any geo restriction. So a learner who updates with an ETag read
before an earlier update, or lists countries CloudFront would refuse, sees success in the sandbox
and an error on AWS. While a lab runs this module makes ``CreateDistribution`` and
``UpdateDistribution`` answer as the API reference says
(https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistribution.html,
https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateDistribution.html):

- every change gives the distribution a new ``ETag`` (the version ``IfMatch`` must name);
- ``IfMatch`` missing: ``InvalidIfMatchVersion`` (moto already); an ``IfMatch`` that is not the
  current ``ETag``: ``PreconditionFailed`` (HTTP 412, "The precondition in one or more of the
  request fields evaluated to false");
- a changed ``CallerReference``: ``IllegalUpdate``;
- a list whose ``Quantity`` is not the number of its ``Items``: ``InconsistentQuantities``
  ("The value of Quantity and the size of Items don't match");
- geo restriction: a ``RestrictionType`` other than ``blacklist``/``whitelist``/``none`` is an
  ``InvalidArgument``, a location that is not an upper-case ISO 3166-1 alpha-2 code is an
  ``InvalidLocationCode``, and ``none`` with locations is an ``InvalidGeoRestrictionParameter``
  (:mod:`labkit.services.cloudfront.sim_geo`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.cloudfront import models as cf_models
from moto.cloudfront.exceptions import CloudFrontException

from labkit.services.cloudfront.sim_geo import RESTRICTION_TYPES, location_problem

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class PreconditionFailed(CloudFrontException):
    """``IfMatch`` names a version of the distribution that is not the current one."""

    def __init__(self, given: str) -> None:
        super().__init__(
            "PreconditionFailed",
            "The precondition in one or more of the request fields evaluated to false "
            f"(IfMatch {given!r} is not the distribution's current ETag: it changes with every "
            "update).",
        )


class IllegalUpdate(CloudFrontException):
    """An update that changes what cannot change."""

    def __init__(self, message: str) -> None:
        super().__init__("IllegalUpdate", message)


class InconsistentQuantities(CloudFrontException):
    """A ``Quantity`` that is not the number of ``Items``."""

    def __init__(self, where: str, quantity: object, items: int) -> None:
        super().__init__(
            "InconsistentQuantities",
            f"The value of Quantity and the size of Items don't match ({where}: Quantity "
            f"{quantity}, {items} Items).",
        )


class InvalidLocationCode(CloudFrontException):
    """A geo restriction location CloudFront does not know."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            "InvalidLocationCode", f"The location code specified is not valid: {problem}."
        )


class InvalidGeoRestrictionParameter(CloudFrontException):
    """A geo restriction whose parts do not fit together."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidGeoRestrictionParameter", message)


class InvalidRestrictionType(CloudFrontException):
    """A ``RestrictionType`` the API does not have."""

    def __init__(self, given: object) -> None:
        super().__init__(
            "InvalidArgument",
            f"RestrictionType {given!r} is not valid: use 'blacklist' (a block list), "
            "'whitelist' (an allow list) or 'none'.",
        )


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the configuration rules (called by the CloudFront patch)."""
    stack.enter_context(configuration_rules())


def check_quantities(value: Any, where: str = "DistributionConfig") -> None:
    """Raise ``InconsistentQuantities`` for any list in ``value`` whose counts disagree."""
    if isinstance(value, Mapping):
        if "Quantity" in value:
            items = value.get("Items") or []
            count = len(items) if isinstance(items, list) else 1
            try:
                quantity = int(value["Quantity"])
            except (TypeError, ValueError):
                quantity = -1
            if quantity != count:
                raise InconsistentQuantities(where, value["Quantity"], count)
        for key, inner in value.items():
            check_quantities(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            check_quantities(inner, f"{where}[{index}]")


def check_geo(config: Mapping[str, Any]) -> None:
    """Raise the API's error for a geo restriction CloudFront would refuse."""
    restrictions = config.get("Restrictions")
    geo = restrictions.get("GeoRestriction") if isinstance(restrictions, Mapping) else None
    if not isinstance(geo, Mapping):
        return
    kind = geo.get("RestrictionType")
    if kind not in RESTRICTION_TYPES:
        raise InvalidRestrictionType(kind)
    items = geo.get("Items") or []
    if kind == "none" and items:
        raise InvalidGeoRestrictionParameter(
            "With RestrictionType 'none' the geo restriction lists no locations (Quantity 0)."
        )
    for code in items:
        problem = location_problem(code)
        if problem:
            raise InvalidLocationCode(problem)


def check_config(config: Mapping[str, Any]) -> None:
    """Every rule of this module that concerns a configuration alone."""
    check_quantities(config)
    check_geo(config)


def new_etag() -> str:
    """A fresh version identifier, shaped like CloudFront's (``E2QWRUHEXAMPLE``)."""
    return "E" + cf_models.random_id(length=13)[1:]


@contextmanager
def configuration_rules() -> Iterator[None]:
    """Enforce ``IfMatch``, ``CallerReference``, quantities and geo codes; rotate ETags."""
    backend = cf_models.CloudFrontBackend
    create = backend.create_distribution_with_tags
    update = backend.update_distribution

    def create_checked(self: Any, distribution_config: dict[str, Any], tags: Any) -> Any:
        check_config(distribution_config or {})
        return create(self, distribution_config, tags)

    def update_checked(self: Any, dist_config: dict[str, Any], _id: str, if_match: Any) -> Any:
        dist = self.distributions.get(_id)
        if dist is not None and if_match:
            if str(if_match) != dist.etag:
                raise PreconditionFailed(str(if_match))
            reference = (dist_config or {}).get("CallerReference")
            if reference is not None and reference != dist.distribution_config.caller_reference:
                raise IllegalUpdate("The CallerReference of a distribution cannot be changed.")
            check_config(dist_config or {})
        result = update(self, dist_config, _id, if_match)
        dist = self.distributions[_id]
        dist.etag = new_etag()
        return result[0], result[1], dist.etag

    backend.create_distribution_with_tags = create_checked  # type: ignore[method-assign]
    backend.update_distribution = update_checked  # type: ignore[method-assign]
    try:
        yield
    finally:
        backend.create_distribution_with_tags = create  # type: ignore[method-assign]
        backend.update_distribution = update  # type: ignore[method-assign]


__all__ = [
    "IllegalUpdate",
    "InconsistentQuantities",
    "InvalidGeoRestrictionParameter",
    "InvalidLocationCode",
    "InvalidRestrictionType",
    "PreconditionFailed",
    "check_config",
    "check_geo",
    "check_quantities",
    "configuration_rules",
    "install",
    "new_etag",
]
