"""Container images in the sandbox: an app defined in a cell, pushed to an ECR repository.

There is no Docker here, so an image is a Python callable (a WSGI app, or a command: see
:mod:`labkit.services.ecs.sim_tasks`). :func:`push_image` is ``docker push`` for it: the image
goes into the sandbox's ECR repository under a tag, with a manifest whose digest is derived
from the callable's code, so ``describe_images``, ``batch_get_image`` and ``list_images`` show it
as they show any pushed image, and a task definition names it by URI
(``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG`` or ``...@sha256:DIGEST``).

The callable itself is kept here by digest; ECS finds it through the image ECR still holds, so
an image deleted from ECR (or by ``lab.reset()``) can no longer be pulled, as on AWS. Pushing to
a repository that does not exist fails as ``docker push`` does ("name unknown").
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit.errors import LabkitError

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
#: ``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@sha256:DIGEST]``.
ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repo>[a-z0-9._/-]+?)(?::(?P<tag>[A-Za-z0-9_.-]+)|@(?P<digest>sha256:[0-9a-f]{64}))?$"
)

#: Apps by image digest (the manifest's digest, which ECR reports).
_APPS: dict[str, Callable[..., Any]] = {}


class ImagePushError(LabkitError):
    """``push_image`` could not push (no such repository, not a callable, bad tag)."""

    code = "ImagePushError"


@dataclass(frozen=True)
class PushedImage:
    """What ``docker push`` reports: where the image is and its digest."""

    uri: str
    digest: str
    repository: str
    tag: str

    def __str__(self) -> str:
        return self.uri


def _fingerprint(app: Callable[..., Any]) -> bytes:
    """Bytes that change when the app's code changes (a new image), stable otherwise."""
    try:
        source = inspect.getsource(app)
    except (OSError, TypeError):
        source = getattr(app, "__qualname__", type(app).__qualname__)
    code = getattr(app, "__code__", None)
    extra = code.co_code if code is not None else b""
    return source.encode("utf-8") + extra + str(id(app)).encode()


def manifest_for(app: Callable[..., Any]) -> str:
    """An image manifest (Docker v2 schema 2) whose layer stands for the app's code."""
    layer = hashlib.sha256(_fingerprint(app)).hexdigest()
    config = hashlib.sha256(f"config:{layer}".encode()).hexdigest()
    size = len(_fingerprint(app))
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1024,
                "digest": f"sha256:{config}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": size,
                    "digest": f"sha256:{layer}",
                }
            ],
        },
        separators=(",", ":"),
    )


def push_image(
    app: Callable[..., Any],
    *,
    repository: str,
    tag: str = "latest",
    region: str | None = None,
) -> PushedImage:
    """Push ``app`` as an image to the sandbox's ECR ``repository`` under ``tag``.

    Args:
        app: A WSGI app ``(environ, start_response)``, or a command of no arguments (it runs when
            the container starts; if it returns a WSGI app, the container serves that).
        repository: The ECR repository's name (create it first, as on AWS).
        tag: The image tag.
        region: The repository's Region (the lab's by default).

    Returns:
        The image's URI (for a container definition's ``image``) and digest.
    """
    from labkit.sandbox.session import running_sandbox

    if not callable(app):
        raise ImagePushError(f"An image is a callable (a WSGI app or a command), not {app!r}.")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
        raise ImagePushError(f"{tag!r} is not a valid tag (letters, digits, _ . -; 128 at most).")
    sandbox = running_sandbox()
    if sandbox is None:
        raise ImagePushError("Start a lab first (labkit.start(...)): images live in its ECR.")
    ecr = sandbox.client("ecr", region_name=region) if region else sandbox.client("ecr")
    try:
        repo = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException:
        raise ImagePushError(
            f"name unknown: The repository with name '{repository}' does not exist in the "
            "registry (create it with ecr.create_repository first)."
        ) from None
    manifest = manifest_for(app)
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    _APPS[digest] = app
    try:
        answer = ecr.put_image(
            repositoryName=repository,
            imageManifest=manifest,
            imageManifestMediaType=MANIFEST_TYPE,
            imageTag=tag,
        )
        digest = answer["image"]["imageId"]["imageDigest"]
    except ecr.exceptions.ImageAlreadyExistsException:
        pass  # the same image pushed again under the same tag: docker reports it as pushed
    _APPS[digest] = app
    return PushedImage(f"{repo['repositoryUri']}:{tag}", digest, repository, tag)


def app_for_digest(digest: str) -> Callable[..., Any] | None:
    """The callable pushed as the image with ``digest``, if this process pushed it."""
    return _APPS.get(digest)


__all__ = [
    "ECR_URI",
    "MANIFEST_TYPE",
    "ImagePushError",
    "PushedImage",
    "app_for_digest",
    "manifest_for",
    "push_image",
]
