"""A DataStream API shaped like PyFlink's, running on the lab clock.

``StreamExecutionEnvironment``, ``DataStream.key_by``, ``.window(...)``, ``.allowed_lateness``,
``.side_output_late_data``, ``.reduce``/``.aggregate``/``.process`` and the rest have PyFlink's
names and shapes (https://nightlies.apache.org/flink/flink-docs-stable/api/python/), so a job
written here reads like one written for Managed Service for Apache Flink. It runs in this
process with a parallelism of one; the semantics are Flink's (see :mod:`.sim_windows`,
:mod:`.sim_watermarks`, :mod:`.sim_operator`).

Time. Processing time is the lab clock. A source is polled, and the periodic watermark emitted,
on the grid of ``auto_watermark_interval`` (200 ms by default,
https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/datastream/event-time/generating_watermarks/
"Writing a Periodic WatermarkGenerator"): records that arrive within one interval are read in one
poll and the watermark follows after them. An interval of 0 turns periodic watermarks off, as in
Flink. A bounded source (``from_collection``, :class:`TimedCollectionSource`) sends the maximum
watermark when it ends, which fires every event-time window ("end of input").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from labkit.clock import Clock
from labkit.services.flink.sim_operator import Node, OutputTag, WindowOperator
from labkit.services.flink.sim_time import MAX_TIMESTAMP, MIN_TIMESTAMP, FlinkArgumentError, millis
from labkit.services.flink.sim_watermarks import InputWatermarks, WatermarkStrategy
from labkit.services.flink.sim_windows import WindowAssigner

#: Flink's default ``ExecutionConfig.autoWatermarkInterval``: 200 ms (an Apache Flink setting, not
#: an AWS number, so not in the fact table; Flink's "Generating Watermarks" page).
DEFAULT_WATERMARK_INTERVAL_MS = 200


class Source(Protocol):
    """What ``from_source`` reads: started once, then offers records to the job."""

    def start(self, feed: SourceNode) -> None:
        """Begin offering records with ``feed.offer(...)`` (and ``feed.finish()`` if bounded)."""

    def stop(self) -> None:
        """Stop offering records (the job was cancelled)."""


class ExecutionConfig:
    """The job's configuration (``env.get_config()``)."""

    def __init__(self) -> None:
        self.auto_watermark_interval = DEFAULT_WATERMARK_INTERVAL_MS

    def set_auto_watermark_interval(self, interval: int) -> ExecutionConfig:
        """Emit periodic watermarks every ``interval`` ms of processing time (0: never)."""
        if interval < 0:
            raise FlinkArgumentError("The watermark interval cannot be negative.")
        self.auto_watermark_interval = int(interval)
        return self

    def get_auto_watermark_interval(self) -> int:
        """The periodic watermark interval in milliseconds."""
        return self.auto_watermark_interval


# -- operators ----------------------------------------------------------------------------------
class SourceNode(Node):
    """A source: records arrive in its inbox and are read at the next poll."""

    name = "source"

    def __init__(self, source: Any, strategy: WatermarkStrategy | None, label: str) -> None:
        super().__init__()
        self.source = source
        self.strategy = strategy
        self.label = label
        self.inbox: list[tuple[Any, int, str]] = []
        self.marks = InputWatermarks(strategy) if strategy is not None else None
        self.finished = False
        self.records_in = 0

    def offer(self, records: Iterable[tuple[Any, int | None, str]]) -> None:
        """Records ``(value, record_timestamp ms or None, split)`` that have just arrived."""
        now = self.runtime.now_ms()
        for value, stamp, split in records:
            self.inbox.append((value, MIN_TIMESTAMP if stamp is None else stamp, split))
        if self.marks is not None:
            for _, _, split in self.inbox[-1:]:
                self.marks.add_input(split, now)
        self.runtime.request_poll()

    def add_split(self, split: str) -> None:
        """Register an input split (a shard) that has no record yet: it holds the watermark."""
        if self.marks is not None:
            self.marks.add_input(split, self.runtime.now_ms())

    def remove_split(self, split: str) -> None:
        """A split that has ended (a Kinesis shard closed by resharding and read to its end): its
        watermark no longer holds the others back."""
        if self.marks is not None:
            self.marks.remove_input(split)

    def finish(self) -> None:
        """The source is bounded and has no more records: end of input after the last poll."""
        self.finished = True
        self.runtime.request_poll()

    def poll(self) -> None:
        """Read the inbox, then emit the periodic watermark."""
        batch, self.inbox = self.inbox, []
        now = self.runtime.now_ms()
        self.records_in += len(batch)
        marks = self.marks
        if marks is None:
            for value, stamp, _ in batch:
                self.emit(value, stamp)
        else:
            assert self.strategy is not None
            assign = self.strategy.assigner
            emit = self.emit
            # The watermark is emitted after the poll, so each split's largest timestamp in the
            # batch is all its generator needs (one call per split, not per record).
            highest: dict[str, int] = {}
            get = highest.get
            for value, stamp, split in batch:
                ts = int(assign(value, stamp)) if assign is not None else stamp
                if ts > get(split, MIN_TIMESTAMP):
                    highest[split] = ts
                emit(value, ts)
            for split, ts in highest.items():
                marks.on_event(split, ts, now)

    def periodic(self, emit_watermarks: bool) -> None:
        """The periodic watermark (and the final one after a bounded source's last record)."""
        if self.finished and not self.inbox:
            if self.watermark < MAX_TIMESTAMP:
                self.advance_watermark(MAX_TIMESTAMP)
            return
        if self.marks is not None and emit_watermarks:
            mark = self.marks.emit(self.runtime.now_ms())
            if mark is not None and mark > self.watermark:
                self.advance_watermark(mark)


class _Map(Node):
    name = "map"

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        super().__init__()
        self.fn = fn

    def process(self, value: Any, timestamp: int) -> None:
        self.emit(self.fn(value), timestamp)


class _Filter(Node):
    name = "filter"

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        super().__init__()
        self.fn = fn

    def process(self, value: Any, timestamp: int) -> None:
        if self.fn(value):
            self.emit(value, timestamp)


class _FlatMap(Node):
    name = "flat_map"

    def __init__(self, fn: Callable[[Any], Iterable[Any]]) -> None:
        super().__init__()
        self.fn = fn

    def process(self, value: Any, timestamp: int) -> None:
        for item in self.fn(value) or ():
            self.emit(item, timestamp)


class TimestampsNode(Node):
    """``assign_timestamps_and_watermarks``: new timestamps, and its own periodic watermark.

    Like Flink's operator it ignores the watermarks from upstream except the final one.
    """

    name = "timestamps/watermarks"

    def __init__(self, strategy: WatermarkStrategy) -> None:
        super().__init__()
        self.strategy = strategy
        self.generator = strategy.create_generator()
        self.assign = strategy.assigner

    def process(self, value: Any, timestamp: int) -> None:
        ts = int(self.assign(value, timestamp)) if self.assign is not None else timestamp
        self.generator.on_event(ts)
        self.emit(value, ts)

    def receive_watermark(self, source: int, mark: int) -> None:
        if mark == MAX_TIMESTAMP and self.watermark < MAX_TIMESTAMP:
            self.advance_watermark(MAX_TIMESTAMP)

    def periodic(self, emit_watermarks: bool) -> None:
        """Emit the generator's watermark if it moved."""
        if emit_watermarks:
            mark = self.generator.on_periodic_emit()
            if mark > self.watermark:
                self.advance_watermark(mark)


class SinkNode(Node):
    """Hands each element to a sink; remembers ``(processing ms, event ms, value)`` of each."""

    name = "sink"

    def __init__(self, sink: Any, label: str) -> None:
        super().__init__()
        write = getattr(sink, "invoke", None) or getattr(sink, "write", None) or sink
        if not callable(write):
            raise FlinkArgumentError(
                f"A sink is a function of one element or has invoke(value); {sink!r} is neither."
            )
        self.sink = sink
        self.write = write
        # A sink that records each element's timestamp (Kafka's record timestamp) takes it too.
        timed = getattr(sink, "invoke_with_timestamp", None)
        self.write_timed: Callable[[Any, int], None] | None = timed if callable(timed) else None
        self.label = label
        self.emitted: list[tuple[int, int, Any]] = []

    def process(self, value: Any, timestamp: int) -> None:
        self.emitted.append((self.runtime.now_ms(), timestamp, value))
        if self.write_timed is not None:
            self.write_timed(value, timestamp)
        else:
            self.write(value)


# -- the runtime --------------------------------------------------------------------------------
class Runtime:
    """Drives one job on a clock: polls, periodic watermarks, processing-time timers."""

    def __init__(self, clock: Clock, config: ExecutionConfig, nodes: list[Node]) -> None:
        self.clock = clock
        self.interval = config.auto_watermark_interval
        self.nodes = nodes
        self.sources = [n for n in nodes if isinstance(n, SourceNode)]
        self.periodic_nodes = [n for n in nodes if isinstance(n, (SourceNode, TimestampsNode))]
        self._poll_at: float | None = None
        # Pending clock events only (each leaves the set when it runs), so a job that runs for
        # days of lab time keeps no record of every poll it made.
        self._events: dict[int, Any] = {}
        self.sinks = [n for n in nodes if isinstance(n, SinkNode)]
        self.cancelled = False
        #: ``raise``: a failing user function raises out of the clock (tests, a notebook job);
        #: ``record``: the job stops and keeps the error (a Managed Flink application).
        self.failure_mode = "raise"
        self.failure: str | None = None
        for node in nodes:
            node.runtime = self

    def now_ms(self) -> int:
        """The lab clock in epoch milliseconds."""
        return round(self.clock.timestamp * 1000)

    def request_poll(self) -> None:
        """Poll at the next tick of the watermark interval (now if on the grid)."""
        if self.cancelled:
            return
        now = self.now_ms()
        step = self.interval or 1
        at = math.ceil(now / step) * step
        if self._poll_at is not None and self._poll_at <= at:
            return
        self._poll_at = at
        self._schedule(at, self.tick, "flink poll")

    def tick(self) -> None:
        """Read every source's inbox, then emit periodic watermarks in dataflow order."""
        self._poll_at = None
        if self.cancelled:
            return
        self._guarded(self._poll)

    def _poll(self) -> None:
        for source in self.sources:
            source.poll()
        for node in self.periodic_nodes:
            node.periodic(self.interval > 0)
        self._flush()
        idle_checks = [
            s.marks.strategy.idleness
            for s in self.sources
            if s.marks is not None and s.marks.strategy.idleness is not None
        ]
        if idle_checks and not all(s.finished for s in self.sources):
            self._idle_recheck(min(idle_checks))

    def _idle_recheck(self, idleness: int) -> None:
        # An input turns idle with no element arriving, so look again when it would.
        at = self.now_ms() + idleness
        if self._poll_at is None or self._poll_at > at:
            self._poll_at = at
            self._schedule(at, self.tick, "flink idle")

    def processing_timer(self, at_ms: int, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the lab clock reaches ``at_ms``."""

        def run() -> None:
            if not self.cancelled:
                self._guarded(callback)
                self._flush()

        self._schedule(at_ms, run, "flink timer")

    def _schedule(self, at_ms: int, callback: Callable[[], None], label: str) -> None:
        def run() -> None:
            self._events.pop(event.seq, None)
            callback()

        event = self.clock.call_at(at_ms / 1000, run, label=label)
        self._events[event.seq] = event

    def _flush(self) -> None:
        for node in self.sinks:
            flush = getattr(node.sink, "flush", None)
            if callable(flush):
                self._guarded(flush)

    def _guarded(self, step: Callable[[], Any]) -> None:
        """Run a step of the job; in ``record`` mode a failure stops the job and is kept."""
        if self.failure_mode == "raise":
            step()
            return
        try:
            step()
        except Exception as exc:  # the job's own code failed: Flink fails the job
            self.failure = f"{type(exc).__name__}: {exc}"
            self.cancel()

    def cancel(self) -> None:
        """Stop the job: no more polls or timers; its sources stop."""
        self.cancelled = True
        for event in self._events.values():
            event.cancel()
        self._events.clear()
        for source in self.sources:
            stop = getattr(source.source, "stop", None)
            if callable(stop):
                stop()


# -- the API ------------------------------------------------------------------------------------
class CollectionSource:
    """A bounded source of the elements of a collection, all arriving when the job starts."""

    def __init__(self, collection: Iterable[Any]) -> None:
        self.items = list(collection)

    def start(self, feed: SourceNode) -> None:
        feed.offer((item, None, "0") for item in self.items)
        feed.finish()

    def stop(self) -> None:
        pass


class TimedCollectionSource:
    """A bounded source whose elements arrive at given lab times after the job starts.

    Args:
        arrivals: ``(seconds after start, element)`` pairs, or ``(seconds, element, split)``
            with the split (shard) each arrives on.
    """

    def __init__(self, arrivals: Iterable[tuple[Any, ...]]) -> None:
        self.arrivals = sorted(arrivals, key=lambda item: item[0])
        self._events: list[Any] = []

    def start(self, feed: SourceNode) -> None:
        clock = feed.runtime.clock
        start = clock.timestamp
        groups: dict[float, list[tuple[Any, int | None, str]]] = {}
        for item in self.arrivals:
            split = str(item[2]) if len(item) > 2 else "0"
            feed.add_split(split)
            groups.setdefault(float(item[0]), []).append((item[1], None, split))
        times = sorted(groups)
        for at in times:
            batch = groups[at]
            self._events.append(clock.call_at(start + at, lambda b=batch: feed.offer(b)))
        last = times[-1] if times else 0.0
        self._events.append(clock.call_at(start + last, feed.finish))

    def stop(self) -> None:
        for event in self._events:
            event.cancel()


class JobClient:
    """A job running on the clock (``env.execute_async``)."""

    def __init__(self, name: str, runtime: Runtime, env: StreamExecutionEnvironment) -> None:
        self.name = name
        self.runtime = runtime
        self.env = env

    def cancel(self) -> None:
        """Stop the job."""
        self.runtime.cancel()

    @property
    def window_operators(self) -> list[WindowOperator]:
        """The job's window operators, in the order they were defined."""
        return [n for n in self.runtime.nodes if isinstance(n, WindowOperator)]

    @property
    def sinks(self) -> list[SinkNode]:
        """The job's sinks."""
        return [n for n in self.runtime.nodes if isinstance(n, SinkNode)]

    @property
    def sources(self) -> list[SourceNode]:
        """The job's sources."""
        return self.runtime.sources


class StreamExecutionEnvironment:
    """Where a job is defined and run (``get_execution_environment()``).

    Args:
        clock: The clock the job runs on: the running lab's when there is one, else a new one.
    """

    #: Set by the Managed Flink sandbox while it runs an application's code: ``execute`` hands
    #: the job to the application instead of running it here.
    host: Callable[[StreamExecutionEnvironment, str], Any] | None = None

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock if clock is not None else _default_clock()
        self.config = ExecutionConfig()
        self.nodes: list[Node] = []
        self.parallelism = 1
        self.job: JobClient | None = None

    @staticmethod
    def get_execution_environment(clock: Clock | None = None) -> StreamExecutionEnvironment:
        """A new environment on ``clock`` (the running lab's clock by default)."""
        return StreamExecutionEnvironment(clock)

    def get_config(self) -> ExecutionConfig:
        """The job's configuration."""
        return self.config

    def set_parallelism(self, parallelism: int) -> StreamExecutionEnvironment:
        """Accepted for compatibility; the job runs with a parallelism of one."""
        self.parallelism = int(parallelism)
        return self

    def _add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def from_collection(self, collection: Iterable[Any], type_info: Any = None) -> DataStream:
        """A bounded stream of the collection's elements (no timestamps until assigned)."""
        node = SourceNode(CollectionSource(collection), None, "collection")
        return DataStream(self, self._add(node))

    def from_source(
        self, source: Any, watermark_strategy: WatermarkStrategy, source_name: str = "source"
    ) -> DataStream:
        """A stream read from ``source``, with per-split timestamps and watermarks."""
        if not isinstance(watermark_strategy, WatermarkStrategy):
            raise FlinkArgumentError(
                "from_source needs a WatermarkStrategy (WatermarkStrategy.no_watermarks() for "
                "none)."
            )
        node = SourceNode(source, watermark_strategy, source_name)
        return DataStream(self, self._add(node))

    def add_source(self, source_func: Any, source_name: str = "source") -> DataStream:
        """A stream read from ``source_func`` (a ``FlinkKinesisConsumer``), timestamps from the
        records; assign watermarks on the stream."""
        node = SourceNode(source_func, None, source_name)
        return DataStream(self, self._add(node))

    def execute_async(self, job_name: str = "job", failure_mode: str = "raise") -> JobClient:
        """Start the job on the clock and return at once."""
        runtime = Runtime(self.clock, self.config, list(self.nodes))
        runtime.failure_mode = failure_mode
        self.job = JobClient(job_name, runtime, self)
        for source in runtime.sources:
            source.source.start(source)
        return self.job

    def execute(self, job_name: str = "job") -> JobClient:
        """Run the job: inside a Managed Flink application the application runs it; otherwise
        bounded sources run to their end now (the clock moves only through timed sources'
        arrivals)."""
        if StreamExecutionEnvironment.host is not None:
            return StreamExecutionEnvironment.host(self, job_name)  # type: ignore[no-any-return]
        job = self.execute_async(job_name)
        self.clock.advance(0)
        while not all(s.finished and not s.inbox for s in job.sources):
            if self.clock.run_next() is None:
                break
        return job


class DataStream:
    """A stream of elements (each with a timestamp once one is assigned)."""

    def __init__(self, env: StreamExecutionEnvironment, node: Node) -> None:
        self.env = env
        self.node = node

    def _then(self, node: Node) -> DataStream:
        self.node.connect(node)
        return DataStream(self.env, self.env._add(node))

    def name(self, name: str) -> DataStream:
        """Names the operator (for compatibility)."""
        return self

    def uid(self, uid: str) -> DataStream:
        """Sets the operator's id (for compatibility)."""
        return self

    def set_parallelism(self, parallelism: int) -> DataStream:
        """Accepted for compatibility."""
        return self

    def map(self, func: Any, output_type: Any = None) -> DataStream:
        """Each element transformed by ``func`` (a function or a ``MapFunction``)."""
        return self._then(_Map(_method(func, "map")))

    def filter(self, func: Any) -> DataStream:
        """The elements for which ``func`` is true."""
        return self._then(_Filter(_method(func, "filter")))

    def flat_map(self, func: Any, output_type: Any = None) -> DataStream:
        """Every element ``func`` returns or yields for each element."""
        return self._then(_FlatMap(_method(func, "flat_map")))

    def assign_timestamps_and_watermarks(self, watermark_strategy: WatermarkStrategy) -> DataStream:
        """Event time for each element and periodic watermarks, from ``watermark_strategy``."""
        if not isinstance(watermark_strategy, WatermarkStrategy):
            raise FlinkArgumentError("assign_timestamps_and_watermarks takes a WatermarkStrategy.")
        return self._then(TimestampsNode(watermark_strategy))

    def union(self, *streams: DataStream) -> DataStream:
        """This stream and ``streams`` as one (its watermark is the lowest of theirs)."""
        node = self.env._add(_Map(lambda v: v))
        node.name = "union"
        self.node.connect(node)
        for stream in streams:
            stream.node.connect(node)
        return DataStream(self.env, node)

    def key_by(self, key_selector: Any, key_type: Any = None) -> KeyedStream:
        """The stream partitioned by ``key_selector`` (a function or a ``KeySelector``)."""
        return KeyedStream(self.env, self.node, _method(key_selector, "get_key"))

    def window_all(self, window_assigner: WindowAssigner) -> WindowedStream:
        """Windows over the whole stream (one key)."""
        return WindowedStream(self, window_assigner, None)

    def get_side_output(self, output_tag: OutputTag) -> DataStream:
        """The elements this operator sent to side output ``output_tag``."""
        node = self.env._add(_Map(lambda v: v))
        node.name = f"side output {output_tag.tag_id}"
        self.node.connect_side(output_tag, node)
        return DataStream(self.env, node)

    def add_sink(self, sink_func: Any) -> DataStream:
        """Send every element to ``sink_func`` (a function or an object with ``invoke``)."""
        label = getattr(sink_func, "label", None) or getattr(sink_func, "__name__", "sink")
        if label == "<lambda>":
            label = "a function (lambda)"
        return self._then(SinkNode(sink_func, str(label)))

    def sink_to(self, sink: Any) -> DataStream:
        """Send every element to ``sink`` (PyFlink's unified sink API)."""
        return self.add_sink(sink)

    def print(self) -> DataStream:
        """Print every element."""
        return self.add_sink(print)

    def execute_and_collect(self, job_name: str = "collect") -> Iterator[Any]:
        """Run the job (bounded) and return this stream's elements."""
        collected: list[Any] = []
        self.add_sink(collected.append)
        self.env.execute(job_name)
        return iter(collected)


class KeyedStream(DataStream):
    """A stream partitioned by key."""

    def __init__(
        self, env: StreamExecutionEnvironment, node: Node, selector: Callable[[Any], Any]
    ) -> None:
        super().__init__(env, node)
        self.selector = selector

    def window(self, window_assigner: WindowAssigner) -> WindowedStream:
        """Windows per key."""
        if not isinstance(window_assigner, WindowAssigner):
            raise FlinkArgumentError(
                "window takes a window assigner, e.g. TumblingEventTimeWindows.of(Time.minutes(1))."
            )
        return WindowedStream(self, window_assigner, self.selector)


class WindowedStream:
    """A keyed (or all-) windowed stream, waiting for its window function."""

    def __init__(
        self,
        stream: DataStream,
        assigner: WindowAssigner,
        selector: Callable[[Any], Any] | None,
    ) -> None:
        self.stream = stream
        self.assigner = assigner
        self.selector = selector
        self.lateness = 0
        self.late_tag: OutputTag | None = None

    def allowed_lateness(self, time_ms: Any) -> WindowedStream:
        """Keep each window's state ``time_ms`` after it fires; later elements re-fire it."""
        lateness = millis(time_ms, "The allowed lateness")
        if lateness < 0:
            raise FlinkArgumentError("The allowed lateness cannot be negative.")
        self.lateness = lateness
        return self

    def side_output_late_data(self, output_tag: OutputTag) -> WindowedStream:
        """Send elements that arrive too late to side output ``output_tag`` instead of dropping
        them."""
        if not isinstance(output_tag, OutputTag):
            raise FlinkArgumentError("side_output_late_data takes an OutputTag.")
        self.late_tag = output_tag
        return self

    def _operator(self, kind: str, function: Any, window_function: Any = None) -> DataStream:
        node = WindowOperator(
            self.assigner,
            self.selector,
            kind,
            function,
            window_function,
            self.lateness,
            self.late_tag,
        )
        return self.stream._then(node)

    def reduce(
        self, reduce_function: Any, window_function: Any = None, output_type: Any = None
    ) -> DataStream:
        """Each window's elements combined pairwise (then ``window_function`` if given)."""
        return self._operator("reduce", reduce_function, window_function)

    def aggregate(
        self,
        aggregate_function: Any,
        window_function: Any = None,
        accumulator_type: Any = None,
        output_type: Any = None,
    ) -> DataStream:
        """Each window aggregated incrementally (then ``window_function`` if given)."""
        return self._operator("aggregate", aggregate_function, window_function)

    def process(self, process_window_function: Any, output_type: Any = None) -> DataStream:
        """Each window's elements, all at once, given to ``process_window_function``."""
        return self._operator("process", process_window_function)


def _method(func: Any, name: str) -> Callable[..., Any]:
    method = getattr(func, name, None)
    if callable(method):
        return method  # type: ignore[no-any-return]
    if callable(func):
        return func  # type: ignore[no-any-return]
    raise FlinkArgumentError(f"Expected a function or an object with {name}(), not {func!r}.")


#: Set by the Managed Flink sandbox: the running lab's clock, so that a job defined in a
#: notebook runs on it (simulators import no sandbox).
clock_provider: list[Callable[[], Clock | None]] = []


def _default_clock() -> Clock:
    for provide in clock_provider:
        clock = provide()
        if clock is not None:
            return clock
    return Clock()


__all__ = [
    "DEFAULT_WATERMARK_INTERVAL_MS",
    "CollectionSource",
    "DataStream",
    "ExecutionConfig",
    "JobClient",
    "KeyedStream",
    "StreamExecutionEnvironment",
    "TimedCollectionSource",
    "WindowedStream",
    "clock_provider",
]
