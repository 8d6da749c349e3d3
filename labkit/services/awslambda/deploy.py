"""Deploy a handler written in a notebook cell as a Lambda function, in one call.

A learner writes ``def handler(event, context): ...`` in a cell. Running it on Lambda takes an IAM
role for the function, a deployment zip, and ``create_function`` (or, the second time,
``update_function_code`` and ``update_function_configuration``). :func:`deploy_function` makes
exactly those boto3 calls, so the lesson can show them once and use the short form afterwards::

    arn = deploy_function(sandbox, handler, environment={"TABLE_NAME": "orders"})

The package is made by
:func:`labkit.services.awslambda.sim_packaging.package_function`: the handler's source, the
modules it uses by name, and the helpers, constants and import lines passed here.
"""

from __future__ import annotations

import builtins
import inspect
import json
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from labkit import facts
from labkit.services.awslambda.sim_packaging import (
    PackagingError,
    handler_string,
    package_function,
    source_globals,
)

#: The role :func:`deploy_function` gives every function it deploys (created when missing).
ROLE_NAME = "labkit-lambda-role"

#: Who may assume the role: the Lambda service, as the console's "basic execution role" says.
#: https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


class ClientSource(Protocol):
    """What :func:`deploy_function` needs of a sandbox: boto3 clients (a check's world works)."""

    def client(self, service: str, *, region: str | None = None, **kwargs: Any) -> Any: ...


def execution_role(sandbox: ClientSource, name: str = ROLE_NAME) -> str:
    """The ARN of the functions' IAM role, created (trusting the Lambda service) when missing."""
    iam = sandbox.client("iam")
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description="Execution role of the functions labkit deploys",
        )
        return str(role["Role"]["Arn"])


def _literal(value: Any) -> bool:
    """Whether ``repr(value)`` re-creates ``value`` (what a package's constant can hold)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_literal(v) for v in value)
    if isinstance(value, dict):
        return all(_literal(k) and _literal(v) for k, v in value.items())
    return False


def notebook_dependencies(
    func: Callable[..., Any],
) -> tuple[list[str], list[Callable[..., Any] | type], dict[str, Any]]:
    """What ``func`` uses from its notebook: ``(imports, helpers, constants)`` for packaging.

    Functions and classes imported from a library become import lines, the notebook's own ones
    helpers (followed in turn), simple values constants. A check passes them to
    :func:`deploy_function`, so a learner who split a handler into helpers (and deployed it with
    ``helpers=[...]``) is graded like one who wrote a single function.

    The names come from :func:`~labkit.services.awslambda.sim_packaging.source_globals`, the scan
    packaging checks a package with: global reads of the source as the package compiles it
    (decorators and default values included, annotations and attribute names left out). A
    function or class whose source cannot be read is left for packaging to report.
    """
    imports: list[str] = []
    helpers: list[Callable[..., Any] | type] = []
    constants: dict[str, Any] = {}
    home = getattr(func, "__module__", None)
    seen = {getattr(func, "__name__", "")}
    # Each entry: something to scan, and the namespace its global names are looked up in (a
    # class has no ``__globals__``: it reads the namespace it was found in).
    todo: list[tuple[Any, Mapping[str, Any]]] = [(func, getattr(func, "__globals__", {}))]
    while todo:
        current, scope = todo.pop()
        try:
            used = source_globals(current)
        except PackagingError:
            continue  # no source to scan: packaging says so, where the caller handles it
        for name in sorted(used):
            if name in seen or name not in scope or hasattr(builtins, name):
                continue
            value = scope[name]
            if isinstance(value, types.ModuleType):
                continue  # packaging imports modules by itself
            if inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value):
                seen.add(name)
                module = getattr(value, "__module__", None)
                qualname = getattr(value, "__qualname__", "")
                if module and module != home and "." not in qualname:
                    imports.append(f"from {module} import {qualname} as {name}")
                elif not inspect.isbuiltin(value):
                    helpers.append(value)
                    todo.append((value, getattr(value, "__globals__", scope)))
            elif _literal(value):
                seen.add(name)
                constants[name] = value
    return imports, helpers, constants


def deploy_function(
    sandbox: ClientSource,
    handler: Callable[..., Any],
    name: str | None = None,
    *,
    imports: Iterable[str] = (),
    helpers: Iterable[Callable[..., Any] | type] = (),
    constants: Mapping[str, Any] | None = None,
    environment: Mapping[str, str] | None = None,
    timeout: int | None = None,
    memory: int | None = None,
    runtime: str = "python3.12",
) -> str:
    """Package ``handler`` and create the function, or update it if it exists; return its ARN.

    The function ends up exactly as described here: deploying again replaces its code and its
    whole configuration (environment variables left out are removed), as a fresh deployment does.

    Args:
        sandbox: Where to deploy (``lab.sandbox``, or a check's isolated world).
        handler: The handler, ``def name(event, context)``, defined in a cell or a file.
        name: The function's name; the handler's own name by default.
        imports: Import lines the package needs beyond the modules the handler uses by name.
        helpers: Functions or classes the handler calls, copied into the package.
        constants: Module-level values of the package (strings, numbers, ...).
        environment: The function's environment variables.
        timeout: Seconds before Lambda stops an invocation; Lambda's default when ``None``.
        memory: Megabytes of memory; Lambda's default when ``None``.
        runtime: The runtime identifier.

    Returns:
        The function's ARN.

    Raises:
        PackagingError: The handler uses a notebook name that the package would not have.
        botocore.exceptions.ClientError: Lambda refused the function (as it would on AWS).
    """
    code = package_function(handler, imports=imports, helpers=helpers, constants=constants)
    function_name = name or handler.__name__
    settings: dict[str, Any] = {
        "Runtime": runtime,
        "Handler": handler_string(handler),
        "Timeout": int(timeout if timeout is not None else facts.value("lambda.timeout_default")),
        "MemorySize": int(memory if memory is not None else facts.value("lambda.memory_min")),
        "Environment": {"Variables": {str(k): str(v) for k, v in (environment or {}).items()}},
        "Role": execution_role(sandbox),
    }
    lam = sandbox.client("lambda")
    try:
        lam.get_function(FunctionName=function_name)
    except lam.exceptions.ResourceNotFoundException:
        created = lam.create_function(
            FunctionName=function_name, Code={"ZipFile": code}, **settings
        )
        return str(created["FunctionArn"])
    lam.update_function_code(FunctionName=function_name, ZipFile=code)
    updated = lam.update_function_configuration(FunctionName=function_name, **settings)
    return str(updated["FunctionArn"])


__all__ = ["ROLE_NAME", "deploy_function", "execution_role", "notebook_dependencies"]
