"""The sandbox core: moto in-process on the lab clock, off the network (with the service patches,
the only code that imports moto)."""

from labkit.sandbox.session import Sandbox, running_sandbox

__all__ = ["Sandbox", "running_sandbox"]
