"""The Map state: the same sub-workflow for each item, ``MaxConcurrency`` at a time.

- Items: ``ItemsPath`` (JSONPath) or ``Items`` (JSONata) from the state's input, or an
  ``ItemReader`` over S3 (``s3:getObject`` of a JSON, JSON Lines or CSV file;
  ``s3:listObjectsV2`` of a prefix), optionally grouped by an ``ItemBatcher``.
- Each item's input: ``ItemSelector`` (or the older ``Parameters``) with ``$$.Map.Item.Index``
  and ``$$.Map.Item.Value``; by default the item itself.
- ``MaxConcurrency`` (or its ``Path``): 0 means no limit; at most that many iterations run at
  once, the next starting as one ends, so with waits inside the lab clock shows the batches.
- Failures: an inline Map fails on its first failed iteration (the others are stopped) with that
  iteration's error. A ``DISTRIBUTED`` Map tolerates ``ToleratedFailureCount`` failed items or
  ``ToleratedFailurePercentage`` percent of them, then fails with
  ``States.ExceedToleratedFailureThreshold``; a tolerated failure's place in the output holds its
  ``{"Error", "Cause"}``. Distributed iterations run here as inline ones do (AWS runs them as
  child executions with their own histories; the interpreter keeps one history).
https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from labkit.services.stepfunctions import sim_jsonata
from labkit.services.stepfunctions.sim_dataflow import Scope, dumps, field
from labkit.services.stepfunctions.sim_definition import JSONATA
from labkit.services.stepfunctions.sim_errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    ITEM_READER_FAILED,
    RUNTIME,
    StatesError,
)
from labkit.services.stepfunctions.sim_runtime import Future, Process

if TYPE_CHECKING:
    from labkit.services.stepfunctions.sim_interpreter import Interpreter, StateContext

Gen = Generator[Future, Any, Any]


def _number(ctx: StateContext, raw: Any, data: Any, key: str, default: float) -> float:
    spec = ctx.state.spec
    if ctx.state.query_language == JSONATA and sim_jsonata.is_expression(spec.get(key)):
        value = sim_jsonata.evaluate(spec[key], ctx.states(raw), ctx.frame.execution.rng, field=key)
    elif f"{key}Path" in spec:
        value = ctx.scope.select(spec[f"{key}Path"], data, f"{key}Path")
    else:
        value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise StatesError(
            RUNTIME,
            f"The {key} of Map state '{ctx.state.name}' must be a "
            f"non-negative number, not {dumps(value)}",
        )
    return float(value)


def run_map(interp: Interpreter, ctx: StateContext, raw: Any) -> Gen:
    """One attempt of a Map state; returns the list of iteration outputs."""
    spec = ctx.state.spec
    jsonata = ctx.state.query_language == JSONATA
    if jsonata:
        data = raw
        items = interp._jsonata(ctx, "Items", ctx.states(raw), raw)
    else:
        data = interp._filtered(ctx, raw)
        items = ctx.scope.filter_path(field(spec, "ItemsPath"), data, "ItemsPath")
    if "ItemReader" in spec:
        items = _read_items(interp, ctx, spec["ItemReader"], data, raw)
    if not isinstance(items, list):
        raise StatesError(
            RUNTIME, f"Map state '{ctx.state.name}' needs an array of items, not {dumps(items)}"
        )
    if "ItemBatcher" in spec:
        items = _batches(ctx, spec["ItemBatcher"], items, data)
    processor = ctx.state.processor
    assert processor is not None
    config = (spec.get("ItemProcessor") or {}).get("ProcessorConfig") or {}
    distributed = config.get("Mode") == "DISTRIBUTED"
    limit = int(_number(ctx, raw, data, "MaxConcurrency", 0)) or len(items) or 1
    tolerated_count = _number(ctx, raw, data, "ToleratedFailureCount", 0) if distributed else 0
    tolerated_pct = _number(ctx, raw, data, "ToleratedFailurePercentage", 0) if distributed else 0
    interp.event(ctx.frame, "MapStateStarted", {"length": len(items)})

    def iteration(index: int, item: Any) -> Gen:
        frame = ctx.frame.child("Map", index, (index, item))
        item_context = {**ctx.context, "Map": {"Item": {"Index": index, "Value": item}}}
        if jsonata:
            selector = spec.get("ItemSelector")
            bindings = {**ctx.frame.variables, "states": {"input": raw, "context": item_context}}
            value = (
                sim_jsonata.template(
                    selector, bindings, ctx.frame.execution.rng, field="ItemSelector"
                )
                if selector is not None
                else item
            )
        else:
            selector = spec.get("ItemSelector", spec.get("Parameters"))
            scope = Scope(item_context, ctx.frame.variables, ctx.frame.execution.rng)
            value = scope.template(selector, data, "ItemSelector") if selector is not None else item
        frame.last_event = interp.event(
            ctx.frame, "MapIterationStarted", {"name": ctx.state.name, "index": index}
        )
        try:
            output = yield from interp.run_machine(frame, processor, value)
        except StatesError:
            interp.event(ctx.frame, "MapIterationFailed", {"name": ctx.state.name, "index": index})
            raise
        ctx.frame.last_event = max(ctx.frame.last_event, frame.last_event)
        interp.event(ctx.frame, "MapIterationSucceeded", {"name": ctx.state.name, "index": index})
        return output

    results: list[Any] = [None] * len(items)
    waiting = list(enumerate(items))
    running: dict[int, Process] = {}
    failures = 0
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                index, item = waiting.pop(0)
                running[index] = interp.engine.spawn(ctx.frame.execution, iteration(index, item))
            finished = [k for k, p in running.items() if p.done]
            if not finished:
                from labkit.services.stepfunctions.sim_interpreter import first_done

                finished = [(yield first_done(running))]
            for index in sorted(finished):
                process = running.pop(index)
                error = process.error
                if error is None:
                    results[index] = process.value
                    continue
                if not isinstance(error, StatesError) or not distributed:
                    raise error
                failures += 1
                results[index] = {"Error": error.error, "Cause": error.cause}
                if failures > tolerated_count and failures * 100 > tolerated_pct * len(items):
                    raise StatesError(
                        EXCEED_TOLERATED_FAILURE_THRESHOLD,
                        f"The specified tolerated failure threshold was exceeded: {failures} "
                        f"of {len(items)} items failed.",
                    )
    except StatesError:
        interp.event(ctx.frame, "MapStateFailed", None)
        raise
    except GeneratorExit:
        interp.event(ctx.frame, "MapStateAborted", None)
        raise
    finally:
        for process in running.values():
            interp.engine.scheduler.cancel(process)
    interp.event(ctx.frame, "MapStateSucceeded", None)
    return results


def _batches(ctx: StateContext, batcher: dict[str, Any], items: list[Any], data: Any) -> list[Any]:
    size = batcher.get("MaxItemsPerBatch")
    if "MaxItemsPerBatchPath" in batcher:
        size = ctx.scope.select(batcher["MaxItemsPerBatchPath"], data, "MaxItemsPerBatchPath")
    size = int(size or len(items) or 1)
    batch_input = batcher.get("BatchInput") or {}
    return [{**batch_input, "Items": items[i : i + size]} for i in range(0, len(items), size)]


def _read_items(
    interp: Interpreter, ctx: StateContext, reader: dict[str, Any], data: Any, raw: Any
) -> list[Any]:
    resource = str(reader.get("Resource", ""))
    if ctx.state.query_language == JSONATA:
        params = sim_jsonata.template(
            reader.get("Arguments", {}),
            ctx.states(raw),
            ctx.frame.execution.rng,
            field="ItemReader",
        )
    else:
        params = ctx.scope.template(reader.get("Parameters", {}), data, "ItemReader")
    config = reader.get("ReaderConfig") or {}
    max_items = int(config.get("MaxItems", 0) or 0)
    action = resource.rsplit(":", 1)[-1]
    try:
        response = interp.engine.call_service("s3", action, params)
    except StatesError as err:
        raise StatesError(ITEM_READER_FAILED, f"{err.error}: {err.cause}") from None
    if action == "listObjectsV2":
        items: list[Any] = [
            {
                k: v
                for k, v in obj.items()
                if k in ("Key", "Size", "ETag", "LastModified", "StorageClass")
            }
            for obj in response.get("Contents", [])
        ]
    elif action == "getObject":
        items = _parse_body(str(response.get("Body", "")), config)
    else:
        raise StatesError(ITEM_READER_FAILED, f"ItemReader does not read with {resource}")
    return items[:max_items] if max_items else items


def _parse_body(body: str, config: dict[str, Any]) -> list[Any]:
    kind = config.get("InputType", "JSON")
    try:
        if kind == "JSON":
            parsed = json.loads(body)
            if not isinstance(parsed, list):
                raise ValueError("the JSON file does not hold an array")
            return parsed
        if kind == "JSONL":
            return [json.loads(line) for line in body.splitlines() if line.strip()]
        if kind == "CSV":
            delimiter = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}[
                config.get("CSVDelimiter", "COMMA")
            ]
            rows = list(csv.reader(io.StringIO(body), delimiter=delimiter))
            if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
                headers = list(config.get("CSVHeaders") or [])
            else:
                headers, rows = (rows[0] if rows else []), rows[1:]
            return [dict(zip(headers, row, strict=False)) for row in rows]
    except (ValueError, KeyError) as exc:
        raise StatesError(ITEM_READER_FAILED, f"Could not read the items: {exc}") from None
    raise StatesError(ITEM_READER_FAILED, f"Unknown InputType {kind}")
