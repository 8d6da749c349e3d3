"""What S3 holds for Transfer Acceleration: each bucket's setting and the uploads it received.

Read-only, for views and checks; reads moto's backends through :mod:`labkit.sandbox.backends`
(none is created by asking). The upload records are kept by
:mod:`labkit.services.s3.patch_accelerate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.errors import LabkitError
from labkit.sandbox import backends
from labkit.services.s3.sim_acceleration import UPLOADS_KEY, Upload


class BucketNotFoundError(LabkitError):
    """A bucket the sandbox does not have."""

    code = "NoSuchBucket"


@dataclass(frozen=True)
class BucketAcceleration:
    """A bucket's Transfer Acceleration setting.

    Attributes:
        bucket: Its name.
        region: Its Region.
        status: ``Enabled``, ``Suspended`` or ``""`` (never set).
    """

    bucket: str
    region: str
    status: str

    @property
    def endpoint(self) -> str:
        """The accelerate endpoint's host name."""
        return f"{self.bucket}.s3-accelerate.amazonaws.com"


def bucket_acceleration(bucket: str) -> BucketAcceleration:
    """The acceleration setting of ``bucket``.

    Raises:
        BucketNotFoundError: The sandbox has no such bucket.
    """
    for _partition, backend in backends.existing("s3"):
        found = backend.buckets.get(bucket)
        if found is not None:
            return BucketAcceleration(
                bucket, str(found.region_name), str(found.accelerate_configuration or "")
            )
    raise BucketNotFoundError(f"The sandbox has no bucket called {bucket!r}.")


def uploads(bucket: str | None = None, *, sandbox: object | None = None) -> list[Upload]:
    """Every object upload recorded in this AWS world, oldest first (to ``bucket`` when given).

    Each has the uploader's city, the edge location acceleration uses, and both modelled times.
    """
    del sandbox  # the running sandbox's world is the one moto's backends hold now
    found: list[Upload] = []
    for _partition, backend in backends.existing("s3"):
        found += [u for u in backend.__dict__.get(UPLOADS_KEY, []) if bucket in (None, u.bucket)]
    return sorted(found, key=lambda u: u.at)


__all__ = ["BucketAcceleration", "BucketNotFoundError", "bucket_acceleration", "uploads"]
