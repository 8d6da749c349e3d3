"""An application's code in the sandbox: a Python function uploaded to S3 as the app's zip.

There is no JVM or Python Flink runtime here, so a Managed Flink application's code is a
function defined in a cell that builds the job with labkit's PyFlink-shaped API
(:mod:`labkit.services.flink.sim_stream`) and calls ``env.execute()``. :func:`upload_application`
is what packaging and ``aws s3 cp`` are on AWS: it zips the function's source as ``main.py``, puts
the zip into the sandbox's S3 bucket, and returns the ``ApplicationCodeConfiguration`` for
``create_application``. The function itself is kept here by the zip's MD5, so an application
whose S3 object is deleted (or replaced by a zip labkit did not make) cannot start, as on AWS an
application whose code is gone cannot.

The function takes no argument, or one: the application's runtime properties
(``EnvironmentProperties.PropertyGroups`` as ``{group id: {key: value}}``), which a PyFlink
application on AWS reads from ``/etc/flink/application_properties.json``.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import textwrap
import zipfile
from collections.abc import Callable
from typing import Any

from labkit.errors import LabkitError

#: Application functions by the MD5 of the zip that holds their source.
_APPS: dict[str, Callable[..., Any]] = {}


class ApplicationUploadError(LabkitError):
    """``upload_application`` could not upload (no lab, no bucket, not a function)."""

    code = "ApplicationUploadError"


def package(main: Callable[..., Any]) -> bytes:
    """The zip of ``main``'s source as ``main.py`` (deterministic: fixed timestamps)."""
    try:
        source = textwrap.dedent(inspect.getsource(main))
    except (OSError, TypeError):
        source = f"# {getattr(main, '__qualname__', repr(main))} (source not available)\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("main.py", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(info, source + f"\n# entry point: {main.__name__}\n")
    return buffer.getvalue()


def upload_application(
    main: Callable[..., Any], *, bucket: str, key: str = "flink-app.zip", region: str | None = None
) -> dict[str, Any]:
    """Upload ``main`` as an application's code to ``s3://bucket/key``.

    Args:
        main: A function that builds the job and calls ``env.execute()``; it may take one
            argument, the application's property groups.
        bucket: An existing bucket of the lab.
        key: The object key of the zip.
        region: The bucket's Region (the lab's by default).

    Returns:
        ``ApplicationCodeConfiguration`` for ``create_application(ApplicationConfiguration=
        {"ApplicationCodeConfiguration": ...})``.
    """
    from labkit.sandbox.session import running_sandbox

    if not callable(main):
        raise ApplicationUploadError(f"The application's code is a function, not {main!r}.")
    sandbox = running_sandbox()
    if sandbox is None:
        raise ApplicationUploadError("Start a lab first (labkit.start(...)): code goes to its S3.")
    s3 = sandbox.client("s3", region_name=region) if region else sandbox.client("s3")
    body = package(main)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    except s3.exceptions.NoSuchBucket:
        raise ApplicationUploadError(
            f"The bucket {bucket!r} does not exist: create it first (s3.create_bucket)."
        ) from None
    _APPS[hashlib.md5(body).hexdigest()] = main
    return {
        "CodeContent": {
            "S3ContentLocation": {"BucketARN": f"arn:aws:s3:::{bucket}", "FileKey": key}
        },
        "CodeContentType": "ZIPFILE",
    }


def function_for(body: bytes) -> Callable[..., Any] | None:
    """The function uploaded as the zip ``body``, if this process uploaded it."""
    return _APPS.get(hashlib.md5(body).hexdigest())


__all__ = ["ApplicationUploadError", "function_for", "package", "upload_application"]
