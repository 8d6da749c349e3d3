"""An EMR cluster's life and its steps, one at a time, on the lab clock (plain Python, no moto).

The model follows the EMR API reference:

- a cluster is ``STARTING`` while its nodes are provisioned (:data:`START_SECONDS`, labkit's
  model), then ``RUNNING`` while a step runs and ``WAITING`` when none is left; with
  ``KeepJobFlowAliveWhenNoSteps`` false it shuts down instead (``TERMINATED``, reason
  ``ALL_STEPS_COMPLETED``);
- steps run in the order they were added (``StepConcurrencyLevel`` 1, the default): ``PENDING``
  → ``RUNNING`` → ``COMPLETED`` or ``FAILED``, a failure with ``FailureDetails`` (reason, message,
  log file);
- a failed step's ``ActionOnFailure`` (https://docs.aws.amazon.com/emr/latest/APIReference/API_StepConfig.html):
  ``CONTINUE`` runs the next step; ``CANCEL_AND_WAIT`` cancels every pending step and returns
  the cluster to ``WAITING`` (a cluster that does not stay alive then shuts down, having no step
  left); ``TERMINATE_CLUSTER`` (and the older ``TERMINATE_JOB_FLOW``) cancels them and shuts the
  cluster down (reason ``STEP_FAILURE``).

A step's script runs when the step starts (its reads and writes happen then, in lab time); the
step stays ``RUNNING`` for its modeled length (:func:`step_seconds`), then ends and its logs are
written. The objects here are moto's, handled by attribute (``state``, ``steps``, ...): this
module imports no moto; the patch gives it the callbacks that touch the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

#: labkit's model of provisioning: EMR clusters take minutes to start; this is a round figure.
START_SECONDS = 300.0
#: labkit's model of a step's length: spark-submit's start-up plus time per byte read.
STEP_BASE_SECONDS = 30.0
STEP_BYTES_PER_SECOND = 100 * 1024 * 1024
#: Polls of DescribeStep/DescribeCluster after which a wait ends whatever the lab clock says:
#: ``time.sleep`` (a boto3 waiter's) does not move the lab clock.
POLLS_TO_FINISH = 3
#: Attributes labkit keeps on moto's objects (``lab.reset()`` drops them with the objects).
RUN_ATTR = "_labkit_emr"
RESULT_ATTR = "_labkit_emr_result"
STEP_ENDED = ("COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED")
TERMINATING_ACTIONS = ("TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW")


class Scheduler(Protocol):
    """What the model needs of the lab clock."""

    def call_later(self, delay: float, callback: Callable[[], object], *, label: str = "") -> Any:
        """Run ``callback`` after ``delay`` seconds of lab time; returns a cancellable event."""


@dataclass
class StepResult:
    """How a step's run ended: what its log says and why it failed, if it did."""

    ok: bool
    seconds: float
    engine: str
    stdout: str = ""
    stderr: str = ""
    reason: str = ""
    message: str = ""
    log_file: str = ""
    #: Writes the step's logs to the cluster's LogUri; called when the step ends.
    publish: Callable[[], None] | None = None


@dataclass
class ClusterRun:
    """labkit's bookkeeping for one cluster: the event that will move it next."""

    pending: Any = None
    polls: int = 0
    reason_code: str = ""


def run_of(cluster: Any) -> ClusterRun:
    """The bookkeeping kept on a moto cluster (made on first use)."""
    found: ClusterRun | None = cluster.__dict__.get(RUN_ATTR)
    if found is None:
        found = ClusterRun()
        cluster.__dict__[RUN_ATTR] = found
    return found


def result_of(step: Any) -> StepResult | None:
    """How a step's run went (``None`` before it started)."""
    found: StepResult | None = step.__dict__.get(RESULT_ATTR)
    return found


def step_seconds(bytes_read: int) -> float:
    """How long a step runs on the lab clock (labkit's model)."""
    return STEP_BASE_SECONDS + bytes_read / STEP_BYTES_PER_SECOND


class ClusterModel:
    """Moves a cluster and its steps along the lab clock.

    Args:
        clock: The lab clock.
        now: The lab time as a datetime (what moto's timestamps are).
        execute: Runs a step (fetches its script, runs it, writes its logs) and says how it went.
    """

    def __init__(
        self,
        clock: Scheduler,
        now: Callable[[], datetime],
        execute: Callable[[Any, Any], StepResult],
    ) -> None:
        self._clock = clock
        self._now = now
        self._execute = execute

    # -- the cluster ------------------------------------------------------------------------
    def created(self, cluster: Any) -> None:
        """A new cluster starts provisioning; its steps wait for it."""
        cluster.state = "STARTING"
        cluster.ready_datetime = None
        cluster.end_datetime = None
        for step in cluster.steps:
            self._reset_step(step)
        run = run_of(cluster)
        run.pending = self._clock.call_later(
            START_SECONDS, lambda: self._ready(cluster), label=f"emr {cluster.id} ready"
        )

    @staticmethod
    def _gone(cluster: Any) -> bool:
        # lab.reset() empties the backend: an event scheduled before it must not run the step.
        backend = getattr(cluster, "emr_backend", None)
        return backend is not None and backend.clusters.get(cluster.id) is not cluster

    def _ready(self, cluster: Any) -> None:
        if self._gone(cluster):
            return
        run = run_of(cluster)
        run.pending = None
        run.polls = 0
        cluster.ready_datetime = self._now()
        cluster.state = "WAITING"
        self.next_step(cluster)

    def steps_added(self, cluster: Any, steps: list[Any]) -> None:
        """Steps added to a cluster wait their turn."""
        for step in steps:
            self._reset_step(step)
        if cluster.state in ("RUNNING", "WAITING"):
            self.next_step(cluster)

    def _reset_step(self, step: Any) -> None:
        step.state = "PENDING"
        step.start_date_time = None
        step.end_date_time = None

    def next_step(self, cluster: Any) -> None:
        """Start the first pending step, or wait, or shut down when none is left."""
        if cluster.state not in ("RUNNING", "WAITING"):
            return
        if any(step.state == "RUNNING" for step in cluster.steps):
            return
        pending = [step for step in cluster.steps if step.state == "PENDING"]
        if not pending:
            if not cluster.keep_job_flow_alive_when_no_steps:
                self.terminate(cluster, "ALL_STEPS_COMPLETED", "Steps completed")
            else:
                cluster.state = "WAITING"
            return
        step = pending[0]
        cluster.state = "RUNNING"
        step.state = "RUNNING"
        step.start_date_time = self._now()
        result = self._execute(cluster, step)
        step.__dict__[RESULT_ATTR] = result
        run = run_of(cluster)
        run.polls = 0
        run.pending = self._clock.call_later(
            result.seconds,
            lambda: self._step_ended(cluster, step, result),
            label=f"emr {cluster.id} {step.id}",
        )

    def _step_ended(self, cluster: Any, step: Any, result: StepResult) -> None:
        if self._gone(cluster):
            return
        run = run_of(cluster)
        run.pending = None
        step.end_date_time = self._now()
        if result.publish is not None:
            result.publish()
        if result.ok:
            step.state = "COMPLETED"
            self.next_step(cluster)
            return
        step.state = "FAILED"
        action = str(step.action_on_failure or "TERMINATE_CLUSTER")
        if action == "CONTINUE":
            self.next_step(cluster)
            return
        self._cancel_pending(cluster)
        if action in TERMINATING_ACTIONS:
            self.terminate(
                cluster, "STEP_FAILURE", "Shut down as step failed", "TERMINATED_WITH_ERRORS"
            )
        else:  # CANCEL_AND_WAIT
            cluster.state = "WAITING"
            self.next_step(cluster)

    def _cancel_pending(self, cluster: Any) -> None:
        for step in cluster.steps:
            if step.state in ("PENDING", "RUNNING"):
                step.state = "CANCELLED"
                step.end_date_time = self._now()

    def terminate(self, cluster: Any, code: str, message: str, state: str = "TERMINATED") -> None:
        """Shut the cluster down: steps not ended are cancelled, nothing further runs."""
        run = run_of(cluster)
        if run.pending is not None:
            run.pending.cancel()
            run.pending = None
        self._cancel_pending(cluster)
        run.reason_code = code
        cluster.last_state_change_reason = message
        cluster.state = state
        cluster.end_datetime = self._now()

    # -- waiting by polling -----------------------------------------------------------------
    def polled(self, cluster: Any) -> None:
        """A poll of the cluster or a step: after :data:`POLLS_TO_FINISH`, what is due happens."""
        run = run_of(cluster)
        if run.pending is None:
            return
        run.polls += 1
        if run.polls >= POLLS_TO_FINISH:
            event = run.pending
            event.cancel()
            event.callback()


#: spark-submit's options that take a value (the first other argument is the application).
_VALUED = {
    "--master", "--deploy-mode", "--class", "--name", "--jars", "--packages", "--py-files",
    "--files", "--conf", "-c", "--properties-file", "--driver-memory", "--driver-cores",
    "--executor-memory", "--executor-cores", "--num-executors", "--queue", "--archives",
    "--exclude-packages", "--repositories", "--driver-java-options", "--driver-library-path",
    "--driver-class-path", "--total-executor-cores", "--principal", "--keytab",
}  # fmt: skip


class StepError(Exception):
    """A step that cannot start its script (the step fails with this as its reason)."""


def application(jar: str, args: list[str]) -> tuple[str, list[str]]:
    """The script's ``s3://`` URL and its arguments, from a step's jar and arguments."""
    if jar.endswith("script-runner.jar"):
        if not args:
            raise StepError(
                "script-runner.jar needs the script's S3 location as its first argument"
            )
        return args[0], list(args[1:])
    if jar != "command-runner.jar":
        raise StepError(
            f"the sandbox runs command-runner.jar (spark-submit) and script-runner.jar steps, "
            f"not {jar!r}"
        )
    if not args or args[0] != "spark-submit":
        first = args[0] if args else "nothing"
        raise StepError(f"command-runner.jar runs spark-submit in the sandbox, not {first!r}")
    rest = list(args[1:])
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in _VALUED and "=" not in option and rest:
            rest.pop(0)
    if not rest:
        raise StepError("spark-submit was given no application (s3://bucket/job.py)")
    return rest[0], rest[1:]
