"""The AWS sandbox layer: the only part of labkit that imports moto."""

from labkit.sandbox.session import Sandbox, running_sandbox

__all__ = ["Sandbox", "running_sandbox"]
