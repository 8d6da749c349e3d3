"""Lambda runs the learner's handler: results, errors, logs, timeouts, environments, concurrency.

Stock moto without Docker echoes the payload of every invoke; each test here shows behaviour of
AWS's Python runtime that stock moto lacks.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from lambda_support import create, invoke, lambda_state, zip_of

import labkit
from labkit import facts
from labkit.lab import Lab
from labkit.services.awslambda.sim_packaging import (
    PackagingError,
    handler_string,
    module_source,
    package_function,
)
from labkit.services.awslambda.sim_runtime import EnvironmentPool, FunctionConfig


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


COUNTER = """
import logging
INITS = 0
INITS += 1
CALLS = 0
def lambda_handler(event, context):
    global CALLS
    CALLS += 1
    return {"inits": INITS, "calls": CALLS, "echo": event}
"""


def _log_messages(lab: Lab, name: str) -> list[str]:
    events = lab.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [e["message"] for e in events]


def test_handler_return_value_is_the_payload(lab: Lab) -> None:
    create(lab, "counter", COUNTER)
    response, payload = invoke(lab, "counter", {"order": 42})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert payload == {"inits": 1, "calls": 1, "echo": {"order": 42}}


def test_module_init_runs_once_per_environment(lab: Lab) -> None:
    create(lab, "counter", COUNTER)
    first = [invoke(lab, "counter")[1] for _ in range(3)]
    assert [p["calls"] for p in first] == [1, 2, 3]
    assert {p["inits"] for p in first} == {1}
    reports = [m for m in _log_messages(lab, "counter") if m.startswith("REPORT")]
    assert len(reports) == 3
    assert "Init Duration" in reports[0]
    assert all("Init Duration" not in r for r in reports[1:])
    assert sum(m.startswith("INIT_START") for m in _log_messages(lab, "counter")) == 1


def test_exception_becomes_the_python_runtime_error_object(lab: Lab) -> None:
    create(lab, "boom", "def lambda_handler(event, context):\n    raise KeyError('order_id')\n")
    response, payload = invoke(lab, "boom")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert set(payload) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert payload["errorType"] == "KeyError"
    assert payload["errorMessage"] == "'order_id'"
    assert re.fullmatch(r"[0-9a-f-]{36}", payload["requestId"])
    assert payload["stackTrace"] == [
        '  File "/var/task/lambda_function.py", line 2, in lambda_handler\n'
        "    raise KeyError('order_id')\n"
    ]
    error_log = next(m for m in _log_messages(lab, "boom") if m.startswith("[ERROR]"))
    assert error_log.startswith("[ERROR] KeyError: 'order_id'\nTraceback (most recent call last):")


def test_print_and_logging_go_to_cloudwatch_between_start_and_report(lab: Lab) -> None:
    source = """
import logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)
logging.basicConfig(format="%(message)s")  # does nothing: the runtime already has a handler
def lambda_handler(event, context):
    print("two\\nlines")
    logger.info("processing %s", event["id"])
    return "ok"
"""
    create(lab, "talk", source)
    response, _ = invoke(lab, "talk", {"id": 7})
    messages = _log_messages(lab, "talk")
    request_id = response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid")
    start = next(i for i, m in enumerate(messages) if m.startswith("START RequestId: "))
    assert messages[start].endswith("Version: $LATEST")
    assert messages[start + 1 : start + 3] == ["two", "lines"]
    info = messages[start + 3]
    assert re.fullmatch(
        r"\[INFO\]\t2026-01-05T09:00:00\.\d{3}Z\t[0-9a-f-]{36}\tprocessing 7\n", info
    ), info
    assert messages[start + 4].startswith("END RequestId: ")
    assert re.match(
        r"REPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 128 MB\tMax Memory Used: \d+ MB",
        messages[start + 5],
    )
    assert request_id is None or isinstance(request_id, str)


def test_root_logger_stays_at_warning_unless_the_code_lowers_it(lab: Lab) -> None:
    source = """
import logging
def lambda_handler(event, context):
    logging.info("hidden")
    logging.warning("shown")
"""
    create(lab, "quiet", source)
    invoke(lab, "quiet")
    messages = _log_messages(lab, "quiet")
    assert any(m.startswith("[WARNING]") and "shown" in m for m in messages)
    assert not any("hidden" in m for m in messages)


def test_log_tail_returns_the_last_4_kb(lab: Lab) -> None:
    source = (
        "def lambda_handler(event, context):\n"
        "    for i in range(500):\n"
        "        print('x' * 30, i)\n"
    )
    create(lab, "chatty", source)
    response, _ = invoke(lab, "chatty", LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert len(tail.encode()) == 4096
    assert tail.rstrip("\n").splitlines()[-1].startswith("REPORT RequestId:")
    response, _ = invoke(lab, "chatty")
    assert "LogResult" not in response


def test_timeout_reports_sandbox_timedout_and_resets_the_environment(lab: Lab) -> None:
    source = (
        "CALLS = []\ndef lambda_handler(event, context):\n    CALLS.append(1)\n"
        "    if event.get('spin'):\n        while True:\n            pass\n    return len(CALLS)\n"
    )
    create(lab, "spin", source, Timeout=1)
    assert invoke(lab, "spin")[1] == 1
    response, payload = invoke(lab, "spin", {"spin": True}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(
        r"RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds",
        payload["errorMessage"],
    )
    report = base64.b64decode(response["LogResult"]).decode().strip().splitlines()[-1]
    assert "Duration: 1000.00 ms" in report and report.endswith("Status: timeout")
    # The environment was thrown away: the next call is a cold start with fresh module state.
    assert invoke(lab, "spin")[1] == 1


def test_os_exit_in_a_handler_is_a_runtime_exit_error_and_the_process_lives_on(lab: Lab) -> None:
    import os

    real_exit = os._exit
    create(lab, "hard", "import os\ndef lambda_handler(event, context):\n    os._exit(3)\n")
    response, payload = invoke(lab, "hard")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")
    assert os._exit is real_exit  # given back once the handler is done


def test_sys_exit_is_a_runtime_exit_error_not_a_dead_kernel(lab: Lab) -> None:
    create(lab, "quit", "import sys\ndef lambda_handler(event, context):\n    sys.exit(2)\n")
    response, payload = invoke(lab, "quit")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Error: Runtime exited with error: exit status 2")


def test_init_errors_use_the_runtime_error_types(lab: Lab) -> None:
    create(lab, "noimport", "import not_a_module\ndef lambda_handler(e, c):\n    return 1\n")
    _, payload = invoke(lab, "noimport")
    assert payload == {
        "errorMessage": "Unable to import module 'lambda_function': No module named 'not_a_module'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    create(lab, "nohandler", "def other(e, c):\n    return 1\n")
    _, payload = invoke(lab, "nohandler")
    assert payload["errorType"] == "Runtime.HandlerNotFound"
    assert payload["errorMessage"] == "Handler 'lambda_handler' missing on module 'lambda_function'"


def test_a_result_that_is_not_json_is_a_marshal_error(lab: Lab) -> None:
    create(lab, "setter", "def lambda_handler(e, c):\n    return {1, 2}\n")
    response, payload = invoke(lab, "setter")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.MarshalError"
    assert payload["errorMessage"].startswith("Unable to marshal response: Object of type set")


def test_context_object_has_the_runtime_attributes(lab: Lab) -> None:
    source = """
def lambda_handler(event, context):
    return {k: getattr(context, k) for k in ("function_name", "function_version",
        "invoked_function_arn", "memory_limit_in_mb", "log_group_name", "log_stream_name",
        "aws_request_id")} | {"remaining": context.get_remaining_time_in_millis()}
"""
    arn = create(lab, "ctx", source, MemorySize=256, Timeout=5)
    _, payload = invoke(lab, "ctx")
    assert payload["function_name"] == "ctx"
    assert payload["function_version"] == "$LATEST"
    assert payload["invoked_function_arn"] == arn
    assert payload["memory_limit_in_mb"] == "256"  # a string, as the runtime reads it
    assert payload["log_group_name"] == "/aws/lambda/ctx"
    assert re.fullmatch(r"2026/01/05/\[\$LATEST\][0-9a-f]{32}", payload["log_stream_name"])
    assert 4000 < payload["remaining"] <= 5000


def test_environment_variables_and_a_tmp_of_its_own(lab: Lab, tmp_path: Path) -> None:
    source = """
import os, tempfile
def lambda_handler(event, context):
    path = os.path.join(tempfile.gettempdir(), "seen.txt")
    existed = os.path.exists(path)
    open(path, "w").write("x")
    return {"table": os.environ["TABLE"], "region": os.environ["AWS_REGION"],
            "tmp": os.environ["TMPDIR"] == tempfile.gettempdir(), "existed": existed}
"""
    create(lab, "envy", source, Environment={"Variables": {"TABLE": "orders"}})
    import os
    import tempfile

    before = tempfile.gettempdir()
    _, first = invoke(lab, "envy")
    _, second = invoke(lab, "envy")
    assert first == {"table": "orders", "region": "us-east-1", "tmp": True, "existed": False}
    assert second["existed"] is True  # /tmp lasts for the execution environment
    assert "TABLE" not in os.environ and tempfile.gettempdir() == before


def test_environment_variables_over_4_kb_are_refused(lab: Lab) -> None:
    with pytest.raises(ClientError) as info:
        create(lab, "big", COUNTER, Environment={"Variables": {"A": "x" * 4100}})
    error = info.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"].startswith(
        "Lambda was unable to configure your environment variables because the environment "
        'variables you have provided exceeded the 4KB limit. String measured: {"A":"xxx'
    )
    create(lab, "small", COUNTER, Environment={"Variables": {"A": "x"}})
    with pytest.raises(ClientError):
        lab.client("lambda").update_function_configuration(
            FunctionName="small", Environment={"Variables": {"A": "y" * 5000}}
        )


def test_timeout_and_memory_beyond_lambdas_limits_are_refused(lab: Lab) -> None:
    timeout_max = int(facts.value("lambda.timeout_max"))
    memory_max = int(facts.value("lambda.memory_max"))
    with pytest.raises(ClientError) as info:
        create(lab, "slow", COUNTER, Timeout=timeout_max + 1)
    assert info.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": f"1 validation error detected: Value '{timeout_max + 1}' at 'timeout' failed "
        f"to satisfy constraint: Member must have value less than or equal to {timeout_max}",
    }
    assert lab.client("lambda").list_functions()["Functions"] == []
    create(lab, "ok", COUNTER, Timeout=timeout_max, MemorySize=memory_max)
    with pytest.raises(ClientError) as info:
        lab.client("lambda").update_function_configuration(
            FunctionName="ok", MemorySize=memory_max + 1
        )
    assert info.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{memory_max + 1}' at 'memorySize' failed to "
        f"satisfy constraint: Member must have value less than or equal to {memory_max}"
    )
    config = lab.client("lambda").get_function_configuration(FunctionName="ok")
    assert (config["Timeout"], config["MemorySize"]) == (timeout_max, memory_max)


def test_every_setting_out_of_range_is_named_in_one_error(lab: Lab) -> None:
    # boto3 refuses memory under its model's minimum before sending; without that check the
    # service itself answers, naming each error as AWS does.
    timeout_max = int(facts.value("lambda.timeout_max"))
    memory_min = int(facts.value("lambda.memory_min"))
    create(lab, "fn", COUNTER)
    unchecked = lab.client("lambda", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as info:
        unchecked.update_function_configuration(
            FunctionName="fn", Timeout=timeout_max + 1, MemorySize=memory_min - 1
        )
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["Error"]["Message"] == (
        f"2 validation errors detected: Value '{timeout_max + 1}' at 'timeout' failed to satisfy "
        f"constraint: Member must have value less than or equal to {timeout_max}; Value "
        f"'{memory_min - 1}' at 'memorySize' failed to satisfy constraint: Member must have value "
        f"greater than or equal to {memory_min}"
    )


def test_update_function_code_runs_new_code_in_a_new_environment(lab: Lab) -> None:
    create(lab, "counter", COUNTER)
    invoke(lab, "counter")
    lab.client("lambda").update_function_code(
        FunctionName="counter", ZipFile=zip_of("def lambda_handler(e, c):\n    return 'v2'\n")
    )
    assert invoke(lab, "counter")[1] == "v2"


def test_two_functions_with_the_same_module_name_stay_apart(lab: Lab) -> None:
    create(lab, "one", "NAME = 'one'\ndef lambda_handler(e, c):\n    return NAME\n")
    create(lab, "two", "NAME = 'two'\ndef lambda_handler(e, c):\n    return NAME\n")
    assert [invoke(lab, n)[1] for n in ("one", "two", "one")] == ["one", "two", "one"]
    import sys

    assert "lambda_function" not in sys.modules


def test_event_invocation_answers_202_and_runs_at_the_next_tick(lab: Lab) -> None:
    create(lab, "counter", COUNTER)
    response = lab.client("lambda").invoke(
        FunctionName="counter", InvocationType="Event", Payload=b"{}"
    )
    assert response["StatusCode"] == 202
    state = lambda_state(lab)
    assert state.history == []
    lab.clock.advance(0)
    assert [(h.invocation_type, h.result.status) for h in state.history] == [("Event", "success")]


def test_failed_event_invocation_is_retried_twice_one_then_two_minutes_later(lab: Lab) -> None:
    create(lab, "boom", "def lambda_handler(e, c):\n    raise ValueError('no')\n")
    lab.client("lambda").invoke(FunctionName="boom", InvocationType="Event", Payload=b"{}")
    state = lambda_state(lab)
    lab.clock.advance(0)
    assert len(state.history) == 1
    lab.clock.advance(59)
    assert len(state.history) == 1
    lab.clock.advance(1)
    assert len(state.history) == 2
    lab.clock.advance(120)
    assert len(state.history) == 3
    lab.clock.advance(3600)
    assert len(state.history) == 3


def test_dry_run_answers_204_without_running(lab: Lab) -> None:
    create(lab, "counter", COUNTER)
    response = lab.client("lambda").invoke(FunctionName="counter", InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert lambda_state(lab).history == []


NESTED = """
import boto3, json
def lambda_handler(event, context):
    if event.get("depth", 0) == 0:
        return "leaf"
    client = boto3.client("lambda")
    try:
        inner = {"depth": event["depth"] - 1, "target": event["target"]}
        out = client.invoke(FunctionName=event["target"], Payload=json.dumps(inner))
        return json.loads(out["Payload"].read())
    except client.exceptions.TooManyRequestsException as e:
        return {"throttled": e.response["Reason"]}
"""


def test_reserved_concurrency_zero_throttles_every_call(lab: Lab) -> None:
    create(lab, "counter", COUNTER)
    lab.client("lambda").put_function_concurrency(
        FunctionName="counter", ReservedConcurrentExecutions=0
    )
    with pytest.raises(ClientError) as info:
        invoke(lab, "counter")
    assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert info.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_nested_invocations_are_concurrent_and_need_new_environments(lab: Lab) -> None:
    create(lab, "nest", NESTED)
    _, payload = invoke(lab, "nest", {"depth": 2, "target": "nest"})
    assert payload == "leaf"
    envs = {h.result.environment_id for h in lambda_state(lab).history}
    assert len(envs) == 3  # three at once: three environments, three cold starts
    lab.client("lambda").put_function_concurrency(
        FunctionName="nest", ReservedConcurrentExecutions=2
    )
    _, payload = invoke(lab, "nest", {"depth": 2, "target": "nest"})
    assert payload == {"throttled": "ReservedFunctionConcurrentInvocationLimitExceeded"}


def test_the_account_limit_throttles_unreserved_functions(lab: Lab) -> None:
    create(lab, "nest", NESTED)
    lambda_state(lab).account_concurrency = 1
    _, payload = invoke(lab, "nest", {"depth": 1, "target": "nest"})
    assert payload == {"throttled": "ConcurrentInvocationLimitExceeded"}


# -- without moto --------------------------------------------------------------------------------
def test_pool_reuses_idle_environments_and_reclaims_old_ones(tmp_path: Path) -> None:
    now = [1000.0]
    pool = EnvironmentPool(tmp_path, now=lambda: now[0], idle_lifetime=600)
    config = FunctionConfig(
        name="f",
        arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        version="$LATEST",
        handler="lambda_function.lambda_handler",
        runtime="python3.12",
        timeout=3,
        memory_mb=128,
        region="us-east-1",
        code=zip_of(COUNTER),
        code_sha256="a",
    )
    first = pool.acquire(config).invoke({}, "r1", config.arn)
    second = pool.acquire(config).invoke({}, "r2", config.arn)
    assert first.cold and not second.cold and first.environment_id == second.environment_id
    now[0] += 601
    third = pool.acquire(config).invoke({}, "r3", config.arn)
    assert third.cold and third.environment_id != first.environment_id
    assert json.loads(third.payload)["calls"] == 1


# -- packaging -----------------------------------------------------------------------------------
def _notebook_handler(event, context):  # type: ignore[no-untyped-def]
    return json.dumps({"total": _price(event["qty"]) * TAX})


def _price(qty):  # type: ignore[no-untyped-def]
    return qty * 2


TAX = 2


def test_package_a_function_with_its_imports_helpers_and_constants(lab: Lab) -> None:
    code = package_function(_notebook_handler, helpers=[_price], constants={"TAX": TAX})
    source = module_source(_notebook_handler, helpers=[_price], constants={"TAX": TAX})
    assert source.startswith("from __future__ import annotations\nimport json\n")
    lab.client("lambda").create_function(
        FunctionName="packaged",
        Runtime="python3.12",
        Role=create.__globals__["role_arn"](lab),
        Handler=handler_string(_notebook_handler),
        Code={"ZipFile": code},
    )
    assert invoke(lab, "packaged", {"qty": 3})[1] == json.dumps({"total": 12})


def test_packaging_names_what_the_handler_is_missing() -> None:
    with pytest.raises(PackagingError) as info:
        module_source(_notebook_handler)
    assert "`TAX`" in str(info.value) and "`_price`" in str(info.value)


# A notebook cell as a learner writes it: no `from __future__ import annotations`, so Python
# evaluates every annotation, and a variable whose name is also an attribute the handler reads.
NOTEBOOK = """
import json
from typing import Any

RATE = 3
LIMIT = 2
FACTOR = 10
response = "a notebook variable"


def handler(event, context):
    scale = lambda x: x * RATE

    def inner(v: Any) -> Any:
        return v.response if hasattr(v, "response") else None

    return json.dumps(
        {
            "scaled": [scale(i) for i in event["items"] if i < LIMIT],
            "factors": {k: FACTOR for k in "ab"},
            "reply": inner(event),
        }
    )


def with_default(event, context, rate=RATE):
    return rate
"""


@pytest.fixture
def notebook(tmp_path: Path) -> types.ModuleType:
    """The cell above, loaded from a file so that ``inspect.getsource`` reads it."""
    path = tmp_path / "notebook_cell.py"
    path.write_text(NOTEBOOK)
    spec = importlib.util.spec_from_file_location("notebook_cell", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_packaging_finds_globals_in_nested_code_and_ignores_attributes_and_annotations(
    notebook: Any,
) -> None:
    with pytest.raises(PackagingError) as info:
        module_source(notebook.handler)
    message = str(info.value)
    # Read in a lambda, a comprehension and a dict comprehension: all globals of the package.
    assert "`RATE`" in message and "`LIMIT`" in message and "`FACTOR`" in message
    # `v.response` is an attribute and `Any` only an annotation: neither is needed.
    assert "`response`" not in message and "`Any`" not in message


def test_a_handler_with_nested_code_and_annotations_runs_when_packaged(
    lab: Lab, notebook: Any
) -> None:
    constants = {"RATE": 3, "LIMIT": 2, "FACTOR": 10}
    lab.client("lambda").create_function(
        FunctionName="nested",
        Runtime="python3.12",
        Role=create.__globals__["role_arn"](lab),
        Handler=handler_string(notebook.handler),
        Code={"ZipFile": package_function(notebook.handler, constants=constants)},
    )
    reply, payload = invoke(lab, "nested", {"items": [0, 1, 5]})
    assert "FunctionError" not in reply
    assert json.loads(payload) == {"scaled": [0, 3], "factors": {"a": 10, "b": 10}, "reply": None}


def test_packaging_checks_what_the_def_line_itself_reads(notebook: Any) -> None:
    # A default value is evaluated when the package's module runs, not inside the function.
    with pytest.raises(PackagingError, match="`RATE`"):
        module_source(notebook.with_default)


def test_future_imports_come_first(notebook: Any) -> None:
    source = module_source(
        notebook.with_default,
        imports=["import os", "from __future__ import generator_stop"],
        constants={"RATE": 1},
    )
    assert source.splitlines()[:3] == [
        "from __future__ import annotations",
        "from __future__ import generator_stop",
        "import os",
    ]
    compile(source, "lambda_function.py", "exec")


def test_invoke_with_a_qualifier_runs_that_version(lab: Lab) -> None:
    # Stock moto reads the qualifier from the wrong query parameter and runs $LATEST.
    create(lab, "versioned", "def lambda_handler(event, context):\n    return 1\n")
    lam = lab.client("lambda")
    version = lam.publish_version(FunctionName="versioned")["Version"]
    lam.update_function_code(
        FunctionName="versioned",
        ZipFile=zip_of("def lambda_handler(event, context):\n    return 2\n"),
    )
    assert invoke(lab, "versioned", Qualifier=version)[1] == 1
    assert invoke(lab, "versioned")[1] == 2
    assert invoke(lab, "versioned", Qualifier="$LATEST")[1] == 2
