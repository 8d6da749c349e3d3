"""deploy_function: a handler from a cell becomes a Lambda function that runs.

Also the packaging and validation gaps found while writing the Lambda lab (attribute names taken
for notebook globals, annotations evaluated without their imports, settings beyond Lambda's limits).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit import facts
from labkit.lab import Lab
from labkit.services.awslambda.deploy import ROLE_NAME, deploy_function, notebook_dependencies
from labkit.services.awslambda.sim_packaging import PackagingError, module_source


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def greet(event, context):  # type: ignore[no-untyped-def]
    return {"hello": event.get("name", "world"), "stage": os.environ.get("STAGE")}


def greet_v2(event, context):  # type: ignore[no-untyped-def]
    return {"hi": event.get("name", "world"), "stage": os.environ.get("STAGE")}


import os  # noqa: E402  (after the handlers on purpose: packaging finds modules by name)


def _invoke(lab: Lab, name: str, event: Any = None) -> Any:
    reply = lab.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}))
    return json.loads(reply["Payload"].read())


def test_deploy_creates_the_role_and_a_function_that_runs(lab: Lab) -> None:
    arn = deploy_function(lab.sandbox, greet, environment={"STAGE": "dev"})
    assert arn == "arn:aws:lambda:us-east-1:123456789012:function:greet"
    role = lab.client("iam").get_role(RoleName=ROLE_NAME)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    config = lab.client("lambda").get_function_configuration(FunctionName="greet")
    assert config["Handler"] == "lambda_function.greet"
    assert config["Runtime"] == "python3.12"
    assert config["Role"] == role["Arn"]
    assert config["Timeout"] == facts.value("lambda.timeout_default")
    assert config["MemorySize"] == facts.value("lambda.memory_min")
    assert _invoke(lab, "greet", {"name": "Ada"}) == {"hello": "Ada", "stage": "dev"}


def test_deploying_again_updates_code_and_the_whole_configuration(lab: Lab) -> None:
    deploy_function(lab.sandbox, greet, "svc", environment={"STAGE": "dev"}, timeout=5)
    assert _invoke(lab, "svc") == {"hello": "world", "stage": "dev"}
    arn = deploy_function(lab.sandbox, greet_v2, "svc", memory=512)
    assert arn.endswith(":function:svc")
    config = lab.client("lambda").get_function_configuration(FunctionName="svc")
    assert config["Handler"] == "lambda_function.greet_v2"
    assert (config["Timeout"], config["MemorySize"]) == (facts.value("lambda.timeout_default"), 512)
    # The variables left out are gone, as after a fresh deployment.
    assert _invoke(lab, "svc") == {"hi": "world", "stage": None}
    assert len(lab.client("iam").list_roles()["Roles"]) == 1


def test_lab_deploy_function_delegates(lab: Lab) -> None:
    arn = lab.deploy_function(greet, "from-lab", environment={"STAGE": "prod"})
    assert arn.endswith(":function:from-lab")
    assert _invoke(lab, "from-lab")["stage"] == "prod"


def test_a_handler_needing_notebook_state_is_refused_before_anything_is_created(lab: Lab) -> None:
    counter = {"n": 0}

    def leaky(event, context):  # type: ignore[no-untyped-def]
        return TABLE  # noqa: F821  (a notebook name the package would not have)

    leaky.__globals__["TABLE"] = counter
    try:
        with pytest.raises(PackagingError, match="`TABLE`"):
            deploy_function(lab.sandbox, leaky)
    finally:
        del leaky.__globals__["TABLE"]
    assert lab.client("lambda").list_functions()["Functions"] == []


def test_lambda_refuses_what_aws_refuses(lab: Lab) -> None:
    too_big = "x" * int(facts.value("lambda.env_vars_max_total"))
    with pytest.raises(ClientError) as info:
        deploy_function(lab.sandbox, greet, environment={"BIG": too_big})
    assert info.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_deploy_works_in_a_checks_isolated_world(lab: Lab) -> None:
    with lab.sandbox.isolated() as world:
        deploy_function(world, greet, "inside")
        assert _invoke(lab, "inside")["hello"] == "world"
    assert lab.client("lambda").list_functions()["Functions"] == []


# -- gaps found while writing the Lambda lab (fixed in the runtime) -------------------------------
item = threading.Lock()  # a notebook variable whose name is also an attribute name below


def reads_an_attribute(event, context):  # type: ignore[no-untyped-def]
    order = event
    return order.item if hasattr(order, "item") else None


def test_packaging_ignores_attribute_names_that_match_notebook_variables() -> None:
    assert "def reads_an_attribute" in module_source(reads_an_attribute)


def annotated(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"ok": True}


def test_an_annotated_handler_runs(lab: Lab) -> None:
    deploy_function(lab.sandbox, annotated)
    assert _invoke(lab, "annotated") == {"ok": True}


@pytest.mark.parametrize(
    "settings",
    [
        {"timeout": int(facts.value("lambda.timeout_max")) + 1},
        {"memory": int(facts.value("lambda.memory_max")) + 1},
    ],
)
def test_lambda_refuses_settings_beyond_its_limits(lab: Lab, settings: dict[str, int]) -> None:
    with pytest.raises(ClientError) as info:
        deploy_function(lab.sandbox, greet, **settings)  # type: ignore[arg-type]
    assert info.value.response["Error"]["Code"] == "ValidationException"


# -- what a check finds a handler needs (the scan packaging uses) ---------------------------------
RETRIES = 2
PAGE_SIZE = 25
TAX = 0.5


def retried(times):  # type: ignore[no-untyped-def]
    def wrap(fn):  # type: ignore[no-untyped-def]
        fn.retries = times
        return fn

    return wrap


@retried(RETRIES)  # type: ignore[no-untyped-call]
def paged(event, context, size=PAGE_SIZE):  # type: ignore[no-untyped-def]
    return {"size": size, "retries": paged.retries}


class Basket:
    def total(self, prices):  # type: ignore[no-untyped-def]
        return sum(prices) * (1 + TAX)


def checkout(event, context):  # type: ignore[no-untyped-def]
    return Basket().total(event["prices"])  # type: ignore[no-untyped-call]


def test_dependencies_include_decorators_and_default_values(lab: Lab) -> None:
    imports, helpers, constants = notebook_dependencies(paged)
    assert (imports, helpers) == ([], [retried])
    assert constants == {"RETRIES": 2, "PAGE_SIZE": 25}
    deploy_function(lab.sandbox, paged, imports=imports, helpers=helpers, constants=constants)
    assert _invoke(lab, "paged") == {"size": 25, "retries": 2}


def test_a_helper_class_is_followed_for_what_its_methods_use(lab: Lab) -> None:
    imports, helpers, constants = notebook_dependencies(checkout)
    assert (imports, helpers, constants) == ([], [Basket], {"TAX": 0.5})
    deploy_function(lab.sandbox, checkout, helpers=helpers, constants=constants)
    assert _invoke(lab, "checkout", {"prices": [2, 4]}) == 9


def test_names_used_only_in_annotations_are_not_dependencies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A notebook without `from __future__ import annotations`: a nested function's annotations
    # are evaluated by the handler's own bytecode, but the package never evaluates them.
    source = (
        "class Order:\n    pass\n\n\n"
        "def handler(event, context):\n"
        "    def inner(order: Order) -> Order:\n"
        "        return order\n\n"
        "    return inner(event)\n"
    )
    path = tmp_path / "notebook_without_future.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("notebook_without_future", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "notebook_without_future", module)
    spec.loader.exec_module(module)
    assert "Order" not in module.handler.__annotations__  # the handler itself has none
    assert notebook_dependencies(module.handler) == ([], [], {})


def test_a_handler_without_source_is_left_to_packaging_to_report(lab: Lab) -> None:
    namespace: dict[str, Any] = {}
    exec("def nosource(event, context):\n    return LIMIT\n", namespace)
    namespace["LIMIT"] = 3
    func = namespace["nosource"]
    assert notebook_dependencies(func) == ([], [], {})
    with pytest.raises(PackagingError, match="cannot read the source"):
        deploy_function(lab.sandbox, func)
