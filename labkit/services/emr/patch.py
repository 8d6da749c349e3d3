"""EMR clusters whose steps run PySpark scripts from S3, one after another, on the lab clock.

moto 5.2.5 records clusters and steps and runs nothing: a new cluster is ``WAITING`` at once,
its first step ``RUNNING`` for ever, the others ``PENDING``, and a cluster whose steps are done
never shuts down. While a lab runs, :mod:`.sim_steps` moves them instead (``STARTING``, steps in
order, ``ActionOnFailure``, auto-termination), and a step

``{"HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "s3://b/job.py", ...]}}``

(or the older ``script-runner.jar`` with ``s3://b/job.py`` first) fetches the script from the
sandbox's S3 and runs it with the PySpark API: on sqlframe over DuckDB (:mod:`.sim_pyspark`), or
on real Apache Spark in local mode when ``LABKIT_EMR_ENGINE=spark`` and pyspark is installed
(:mod:`.sim_spark`). Its stdout and stderr, and a controller log naming the engine that ran it,
go gzipped to ``<LogUri>/<cluster id>/steps/<step id>/`` as EMR archives them; a failed step's
``Status.FailureDetails`` gives the script's exception and that log file.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.core.utils import utcnow
from moto.emr import models as emr_models
from moto.emr import responses as emr_responses
from moto.emr.exceptions import ValidationException

from labkit.services.athena.patch import S3Store
from labkit.services.emr import sim_spark
from labkit.services.emr.sim_pyspark import ScriptOutcome, WritableStore, run_script, split_url
from labkit.services.emr.sim_steps import (
    ClusterModel,
    StepError,
    StepResult,
    application,
    result_of,
    run_of,
    step_seconds,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class StepStore(S3Store):
    """The sandbox's S3 as a step reads and writes it."""

    def delete(self, bucket: str, key: str) -> None:
        self._backend.delete_object(bucket, key)


def _script(store: StepStore, url: str) -> str:
    if not url.startswith(("s3://", "s3a://", "s3n://")):
        raise StepError(f"the step's script {url!r} is not in S3: give it as s3://bucket/key.py")
    if not url.endswith(".py"):
        raise StepError(f"the sandbox runs PySpark scripts (.py): {url!r} is not one")
    bucket, key = split_url(url)
    try:
        size = store.size(bucket, key)
        return store.read(bucket, key, 0, size).decode("utf-8")
    except KeyError as err:
        raise StepError(f"the step's script {url} is not an object in S3") from err


def _log_prefix(cluster: Any, step: Any) -> tuple[str, str] | None:
    if not cluster.log_uri:
        return None
    bucket, prefix = split_url(str(cluster.log_uri).replace("s3n://", "s3://"))
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    return bucket, f"{prefix}{cluster.id}/steps/{step.id}/"


def _execute(store: StepStore, cluster: Any, step: Any) -> StepResult:
    engine = sim_spark.chosen_engine()
    try:
        url, args = application(str(step.jar), [str(a) for a in step.args])
        source = _script(store, url)
    except StepError as err:
        outcome = ScriptOutcome(engine=engine, error=f"StepError: {err}")
        outcome.traceback = outcome.error + "\n"
        url, args = "", []
    else:
        if engine == "spark":
            outcome = sim_spark.run_script(source, url, args, store)
        else:
            outcome = run_script(source, url, args, store)
    where = _log_prefix(cluster, step)
    controller = (
        f"{utcnow().isoformat()}Z INFO startExec 'hadoop jar {step.jar} {' '.join(step.args)}'\n"
        f"INFO labkit: ran on {outcome.engine}\n"
        f"INFO labkit: read {outcome.bytes_read} bytes from "
        f"{', '.join(outcome.read_paths) or '-'}\n"
        f"INFO labkit: wrote {len(outcome.written)} objects\n"
        f"INFO Step {'succeeded' if outcome.ok else 'failed'}"
        f"{'' if outcome.ok else ' with exitCode 1'}\n"
    )
    stderr = f"labkit: this step ran on {outcome.engine}\n{outcome.stderr}{outcome.traceback}"
    log_file = f"s3://{where[0]}/{where[1]}stderr.gz" if where else ""

    def publish() -> None:
        if where is None:
            return
        bucket, prefix = where
        for name, text in (
            ("controller", controller),
            ("stdout", outcome.stdout),
            ("stderr", stderr),
        ):
            try:
                store.put(bucket, f"{prefix}{name}.gz", gzip.compress(text.encode("utf-8")))
            except Exception:  # moto's MissingBucket: a LogUri bucket that does not exist
                return  # EMR too archives nothing there (and the step's outcome stands)

    reason, message = "", ""
    if not outcome.ok:
        reason = outcome.error
        message = outcome.traceback.strip().splitlines()[-1] if outcome.traceback else reason
    return StepResult(
        ok=outcome.ok,
        seconds=step_seconds(outcome.bytes_read),
        engine=outcome.engine,
        stdout=outcome.stdout,
        stderr=stderr,
        reason=reason,
        message=message,
        log_file=log_file,
        publish=publish,
    )


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Make EMR clusters run their steps while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = emr_models.ElasticMapReduceBackend
    step_cls = emr_models.Step
    cluster_cls = emr_models.Cluster
    response_cls = emr_responses.ElasticMapReduceResponse
    original_run = backend_cls.run_job_flow
    original_add = backend_cls.add_job_flow_steps
    original_terminate = backend_cls.terminate_job_flows
    original_list = backend_cls.list_steps
    original_step_status = step_cls.__dict__["status"]
    original_cluster_status = cluster_cls.__dict__["status"]
    # What boto3's EMR waiters poll (cluster_running, step_complete, cluster_terminated).
    originals = {
        name: getattr(response_cls, name) for name in ("describe_step", "describe_cluster")
    }

    def model_for(backend: Any) -> ClusterModel:
        store = StepStore(backend.account_id)
        return ClusterModel(sandbox.clock, utcnow, lambda c, s: _execute(store, c, s))

    def run_job_flow(self: Any, **kwargs: Any) -> Any:
        cluster = original_run(self, **kwargs)
        model_for(self).created(cluster)
        return cluster

    def add_job_flow_steps(self: Any, job_flow_id: str, steps: list[dict[str, Any]]) -> Any:
        cluster = self.describe_cluster(job_flow_id)
        if cluster.state in ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"):
            raise ValidationException(
                "A job flow that is shutting down, terminated, or finished may not be modified."
            )
        state = cluster.state
        added = original_add(self, job_flow_id, steps)
        cluster.state = state  # moto sets RUNNING; the model decides
        model_for(self).steps_added(cluster, added)
        return added

    def terminate_job_flows(self: Any, job_flow_ids: list[str]) -> Any:
        done = original_terminate(self, job_flow_ids)
        for cluster in done:
            model_for(self).terminate(cluster, "USER_REQUEST", "Terminated by user request")
        return done

    def list_steps(self: Any, cluster_id: str, *args: Any, **kwargs: Any) -> Any:
        # EMR lists steps newest first (ListSteps: "in reverse order"); moto sorts by creation
        # time, which steps added in one call share, so they came out oldest first.
        listed = original_list(self, cluster_id, *args, **kwargs)
        order = {id(s): n for n, s in enumerate(self.clusters[cluster_id].steps)}
        return sorted(listed, key=lambda s: order.get(id(s), 0), reverse=True)

    def step_status(self: Any) -> dict[str, Any]:
        data: dict[str, Any] = dict(original_step_status.fget(self))
        result = result_of(self)
        if self.state == "FAILED" and result is not None:
            details = {"Reason": result.reason[:10280], "Message": result.message[:10280]}
            if result.log_file:
                details["LogFile"] = result.log_file
            data["FailureDetails"] = details
        if self.state in ("PENDING", "CANCELLED") or not data["Timeline"].get("StartDateTime"):
            data["Timeline"].pop("StartDateTime", None)
        data["StateChangeReason"] = {}
        return data

    def cluster_status(self: Any) -> dict[str, Any]:
        data: dict[str, Any] = dict(original_cluster_status.fget(self))
        code = run_of(self).reason_code
        reason: dict[str, str] = {}
        if code and str(self.state).startswith("TERMINATED"):
            reason = {"Code": code, "Message": str(self.last_state_change_reason or "")}
        data["StateChangeReason"] = reason
        return data

    def polled(response: Any) -> None:
        try:
            cluster = response.backend.describe_cluster(response._get_param("ClusterId"))
        except Exception:  # moto's own error answers
            return
        model_for(response.backend).polled(cluster)

    def wrap(name: str) -> Any:
        original = originals[name]

        def answer(self: Any) -> Any:
            polled(self)
            return original(self)

        return answer

    setattr(backend_cls, "run_job_flow", run_job_flow)  # noqa: B010 - mypy: a method
    setattr(backend_cls, "add_job_flow_steps", add_job_flow_steps)  # noqa: B010
    setattr(backend_cls, "terminate_job_flows", terminate_job_flows)  # noqa: B010
    setattr(backend_cls, "list_steps", list_steps)  # noqa: B010
    setattr(step_cls, "status", property(step_status))  # noqa: B010
    setattr(cluster_cls, "status", property(cluster_status))  # noqa: B010
    for name in originals:
        setattr(response_cls, name, wrap(name))
    try:
        yield
    finally:
        setattr(backend_cls, "run_job_flow", original_run)  # noqa: B010
        setattr(backend_cls, "add_job_flow_steps", original_add)  # noqa: B010
        setattr(backend_cls, "terminate_job_flows", original_terminate)  # noqa: B010
        setattr(backend_cls, "list_steps", original_list)  # noqa: B010
        setattr(step_cls, "status", original_step_status)  # noqa: B010
        setattr(cluster_cls, "status", original_cluster_status)  # noqa: B010
        for name, original in originals.items():
            setattr(response_cls, name, original)


__all__ = ["StepStore", "WritableStore", "install"]
