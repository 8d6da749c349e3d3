"""The window operator: window state per key, triggers, lateness, and the dataflow it sits in.

Flink's rules, from the "Windows" page
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/datastream/operators/windows/,
sections "Window Lifecycle", "Triggers", "Allowed Lateness", "Getting late data as a side
output") and the ``WindowOperator``/``EventTimeTrigger`` it documents:

- A window is created when its first element arrives. Its event-time trigger fires once the
  watermark reaches the window's last millisecond (``end - 1``); the result carries that
  timestamp, so a downstream window (top five after counting) sees it in the right window.
- An element is late when every window it belongs to is past its cleanup time
  (``end - 1 + allowed_lateness``) under the current watermark. A late element is dropped
  ("By default, late elements are dropped") or, with ``side_output_late_data(tag)``, sent to that
  side output; it never changes a result already emitted.
- With ``allowed_lateness`` the window's state is kept until the watermark passes its cleanup
  time, and an element that arrives after the first firing but before then fires the window again
  with the updated contents (a "late firing": "elements emitted by a late firing should be
  treated as updated results of a previous computation").
- Session windows merge: an element's ``[t, t + gap)`` window merges with every session it
  touches, their contents are merged (``AggregateFunction.merge``, the reduce function, or the
  concatenated elements), and the merged window's trigger replaces theirs.
- Processing-time windows fire when the lab clock passes their end; lateness does not apply.
"""

from __future__ import annotations

import heapq
import itertools
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from labkit.services.flink.sim_time import MAX_TIMESTAMP, MIN_TIMESTAMP, FlinkArgumentError
from labkit.services.flink.sim_windows import (
    MissingTimestampError,
    TimeWindow,
    WindowAssigner,
    _Session,
    _Tumbling,
)


class OutputTag:
    """Names a side output (``OutputTag("late-readings")``)."""

    def __init__(self, tag_id: str, type_info: Any = None) -> None:
        if not isinstance(tag_id, str) or not tag_id:
            raise FlinkArgumentError("An OutputTag needs a non-empty string id.")
        self.tag_id = tag_id
        self.type_info = type_info

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OutputTag) and other.tag_id == self.tag_id

    def __hash__(self) -> int:
        return hash(("OutputTag", self.tag_id))

    def __repr__(self) -> str:
        return f"OutputTag({self.tag_id!r})"


class Node:
    """One operator of the dataflow: gets elements and watermarks, sends them on.

    Every operator keeps its own watermark: the minimum of what its inputs sent (a union has
    several), and forwards it after handling the timers it fires.
    """

    name = "operator"

    def __init__(self) -> None:
        self.downstream: list[Node] = []
        self.side: dict[OutputTag, list[Node]] = {}
        self.input_marks: dict[int, int] = {}
        self.watermark = MIN_TIMESTAMP
        self.runtime: Any = None

    def connect(self, node: Node) -> None:
        """Send this operator's output to ``node``."""
        self.downstream.append(node)
        node.input_marks[id(self)] = MIN_TIMESTAMP

    def connect_side(self, tag: OutputTag, node: Node) -> None:
        """Send this operator's side output ``tag`` to ``node``."""
        self.side.setdefault(tag, []).append(node)
        node.input_marks[id(self)] = MIN_TIMESTAMP

    def process(self, value: Any, timestamp: int) -> None:
        """Handle one element."""
        self.emit(value, timestamp)

    def emit(self, value: Any, timestamp: int) -> None:
        """Send an element downstream."""
        for node in self.downstream:
            node.process(value, timestamp)

    def emit_side(self, tag: OutputTag, value: Any, timestamp: int) -> None:
        """Send an element to side output ``tag`` (nowhere if nothing reads it)."""
        for node in self.side.get(tag, ()):
            node.process(value, timestamp)

    def receive_watermark(self, source: int, mark: int) -> None:
        """A watermark from input ``source``; advances this operator's if the minimum moved."""
        marks = self.input_marks
        if marks.get(source, MIN_TIMESTAMP) >= mark:
            return
        marks[source] = mark
        lowest = min(marks.values()) if len(marks) > 1 else mark
        if lowest > self.watermark:
            self.advance_watermark(lowest)

    def advance_watermark(self, mark: int) -> None:
        """Fire what the new watermark makes due, then forward it."""
        self.watermark = mark
        self.forward_watermark(mark)

    def forward_watermark(self, mark: int) -> None:
        """Send this operator's watermark to everything downstream."""
        me = id(self)
        for node in self.downstream:
            node.receive_watermark(me, mark)
        for nodes in self.side.values():
            for node in nodes:
                node.receive_watermark(me, mark)


# -- window functions ---------------------------------------------------------------------------
class ReduceFunction(ABC):
    """Combines two elements into one (``reduce(value1, value2)``): subclass it, as in PyFlink."""

    @abstractmethod
    def reduce(self, value1: Any, value2: Any) -> Any:
        """The combination of two elements."""


class AggregateFunction(ABC):
    """Incremental aggregation with an accumulator (PyFlink's ``AggregateFunction``): subclass it
    and give all four methods."""

    @abstractmethod
    def create_accumulator(self) -> Any:
        """A new, empty accumulator."""

    @abstractmethod
    def add(self, value: Any, accumulator: Any) -> Any:
        """The accumulator with ``value`` added."""

    @abstractmethod
    def get_result(self, accumulator: Any) -> Any:
        """The window's result from its accumulator."""

    @abstractmethod
    def merge(self, acc_a: Any, acc_b: Any) -> Any:
        """Two accumulators as one (session windows merge them)."""


class ProcessWindowFunction(ABC):
    """Sees all of a window's elements (or its one pre-aggregated result) with its context."""

    @abstractmethod
    def process(self, key: Any, context: WindowContext, elements: Iterable[Any]) -> Iterable[Any]:
        """Results for one window: return or ``yield`` them; ``yield tag, value`` for a side
        output."""


class ProcessAllWindowFunction(ABC):
    """``process(context, elements)`` for a non-keyed (``window_all``) window."""

    @abstractmethod
    def process(self, context: WindowContext, elements: Iterable[Any]) -> Iterable[Any]:
        """Results for one window."""


@dataclass
class WindowContext:
    """What a process window function may ask about the window it is computing."""

    _window: TimeWindow
    _operator: WindowOperator
    _key: Any

    def window(self) -> TimeWindow:
        """The window being computed."""
        return self._window

    def current_watermark(self) -> int:
        """The operator's watermark (epoch milliseconds)."""
        return self._operator.watermark

    def current_processing_time(self) -> int:
        """The lab clock in epoch milliseconds."""
        return int(self._operator.runtime.now_ms())

    def output(self, tag: OutputTag, value: Any) -> None:
        """Send ``value`` to side output ``tag``."""
        self._operator.emit_side(tag, value, self._window.max_timestamp())


_MISSING = object()
# Building a window straight from the tuple type skips the NamedTuple's Python-level __new__.
_new_tuple = tuple.__new__
_ALL = object()  # the one key of a window_all


@dataclass(frozen=True)
class Firing:
    """One window result, for views and tests."""

    key: Any
    window: TimeWindow
    watermark: int
    processing_time: int
    late: bool
    results: tuple[Any, ...]


@dataclass(frozen=True)
class LateElement:
    """One element that arrived after its windows were done."""

    key: Any
    value: Any
    timestamp: int
    watermark: int
    processing_time: int
    to_side_output: bool


class WindowOperator(Node):
    """Keyed windows with Flink's triggers, lateness and merging.

    Args:
        assigner: Which windows an element belongs to.
        key_selector: The key of an element (``None`` for ``window_all``).
        kind: ``reduce``, ``aggregate`` or ``process``.
        function: The reduce function, aggregate function or process window function.
        window_function: A process window function run on a reduce or aggregate result.
        allowed_lateness: Milliseconds a window's state is kept after it first fires.
        late_tag: Where late elements go (dropped when ``None``).
    """

    name = "window"

    def __init__(
        self,
        assigner: WindowAssigner,
        key_selector: Callable[[Any], Any] | None,
        kind: str,
        function: Any,
        window_function: Any = None,
        allowed_lateness: int = 0,
        late_tag: OutputTag | None = None,
    ) -> None:
        super().__init__()
        self.assigner = assigner
        self.key_selector = key_selector
        self.kind = kind
        self.window_function = window_function
        self.allowed_lateness = allowed_lateness if assigner.event_time else 0
        self.late_tag = late_tag
        self.state: dict[Any, dict[TimeWindow, Any]] = {}
        self._timers: list[tuple[int, int, Any, TimeWindow]] = []
        self._active: set[tuple[Any, TimeWindow, int]] = set()
        self._seq = itertools.count()
        self._fired: dict[tuple[Any, TimeWindow], int] = {}
        self.firings: deque[Firing] = deque(maxlen=500)
        self.late: deque[LateElement] = deque(maxlen=200)
        self.late_dropped = 0
        self.late_to_side = 0
        self.elements = 0
        self._tumbling: tuple[int, int] | None = None
        if isinstance(assigner, _Tumbling) and assigner.event_time:
            self._tumbling = (assigner.size, assigner.offset)
        self._setup(kind, function)

    # -- the function -------------------------------------------------------------------------
    def _setup(self, kind: str, function: Any) -> None:
        self.function = function
        if kind == "reduce":
            reduce = getattr(function, "reduce", function)
            if not callable(reduce):
                raise FlinkArgumentError("reduce takes a ReduceFunction or a function (a, b).")

            def add_reduce(value: Any, acc: Any) -> Any:
                return value if acc is _MISSING else reduce(acc, value)

            self._create: Callable[[], Any] = lambda: _MISSING
            self._add: Callable[[Any, Any], Any] = add_reduce
            self._merge: Callable[[Any, Any], Any] = lambda a, b: (
                b if a is _MISSING else (a if b is _MISSING else reduce(a, b))
            )
            self._result: Callable[[Any], list[Any]] = lambda acc: [acc]
        elif kind == "aggregate":
            for method in ("create_accumulator", "add", "get_result"):
                if not callable(getattr(function, method, None)):
                    raise FlinkArgumentError(
                        f"aggregate takes an AggregateFunction; {function!r} has no {method}()."
                    )
            get_result = function.get_result
            self._create = function.create_accumulator
            self._add = function.add
            self._merge = function.merge
            self._result = lambda acc: [get_result(acc)]
        elif kind == "process":
            if not (callable(getattr(function, "process", None)) or callable(function)):
                raise FlinkArgumentError(
                    "process takes a ProcessWindowFunction (process(key, context, elements))."
                )
            self._create = list

            def add_element(value: Any, acc: list[Any]) -> list[Any]:
                acc.append(value)
                return acc

            self._add = add_element
            self._merge = lambda a, b: a + b
            self._result = lambda acc: acc
        else:  # pragma: no cover - the API only builds the three kinds
            raise FlinkArgumentError(f"unknown window function kind {kind!r}")

    def _call_process(
        self, function: Any, key: Any, window: TimeWindow, items: list[Any]
    ) -> list[Any]:
        context = WindowContext(window, self, key)
        process = getattr(function, "process", function)
        produced = process(context, items) if key is _ALL else process(key, context, items)
        out: list[Any] = []
        for item in produced or ():
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], OutputTag):
                self.emit_side(item[0], item[1], window.max_timestamp())
            else:
                out.append(item)
        return out

    # -- elements -----------------------------------------------------------------------------
    def _cleanup_time(self, window: TimeWindow) -> int:
        if not self.assigner.event_time:
            return window.end - 1
        cleanup = window.end - 1 + self.allowed_lateness
        return cleanup if cleanup >= window.end - 1 else MAX_TIMESTAMP

    def process(self, value: Any, timestamp: int) -> None:
        self.elements += 1
        key = self.key_selector(value) if self.key_selector is not None else _ALL
        wm = self.watermark
        lateness = self.allowed_lateness
        per = self.state.get(key)
        tumbling = self._tumbling
        if tumbling is not None:
            # The common case, inlined: one window per element (same rules as the loop below).
            if timestamp == MIN_TIMESTAMP:
                raise MissingTimestampError()
            size, offset = tumbling
            start = timestamp - (timestamp - offset) % size
            last = start + size - 1
            if last + lateness <= wm:
                if timestamp + lateness <= wm:
                    self._late(key, value, timestamp)
                return
            window = _new_tuple(TimeWindow, (start, start + size))
            if per is None:
                per = self.state[key] = {}
            acc = per.get(window, _MISSING)
            if acc is _MISSING:
                acc = self._create()
                self._register(key, window)
            per[window] = self._add(value, acc)
            if last <= wm:
                self._fire(key, window)
            return
        event_time = self.assigner.event_time
        if not event_time:
            timestamp = int(self.runtime.now_ms())
        if self.assigner.merging:
            self._process_merging(key, value, timestamp)
            return
        skipped = True
        for window in self.assigner.assign_windows(timestamp):
            last = window.end - 1
            if event_time and last + lateness <= wm:
                continue  # the window is past its cleanup time: this element is late for it
            skipped = False
            if per is None:
                per = self.state[key] = {}
            acc = per.get(window, _MISSING)
            if acc is _MISSING:
                acc = self._create()
                self._register(key, window)
            per[window] = self._add(value, acc)
            if event_time and last <= wm:
                self._fire(key, window)  # a late firing: the window already fired once
        if skipped and event_time and timestamp + lateness <= wm:
            self._late(key, value, timestamp)

    def _process_merging(self, key: Any, value: Any, timestamp: int) -> None:
        assigner = self.assigner
        assert isinstance(assigner, _Session)
        wm = self.watermark
        new = assigner.assign_session(value, timestamp)
        per = self.state.setdefault(key, {})
        touching = [w for w in per if w.intersects(new)]
        merged = new
        for window in touching:
            merged = merged.cover(window)
        if not touching and assigner.event_time and self._cleanup_time(merged) <= wm:
            if not per:
                del self.state[key]
            if timestamp + self.allowed_lateness <= wm:
                self._late(key, value, timestamp)
            return
        acc: Any = _MISSING
        fired = 0
        for window in touching:
            part = per.pop(window)
            acc = part if acc is _MISSING else self._merge(acc, part)
            self._unregister(key, window)
            fired += self._fired.pop((key, window), 0)
        if acc is _MISSING:
            acc = self._create()
        if fired:
            self._fired[(key, merged)] = fired
        per[merged] = self._add(value, acc)
        self._register(key, merged)
        if assigner.event_time and merged.end - 1 <= wm:
            self._fire(key, merged)

    def _late(self, key: Any, value: Any, timestamp: int) -> None:
        side = self.late_tag is not None
        if side:
            self.late_to_side += 1
            assert self.late_tag is not None
            self.emit_side(self.late_tag, value, timestamp)
        else:
            self.late_dropped += 1
        self.late.append(
            LateElement(key, value, timestamp, self.watermark, int(self.runtime.now_ms()), side)
        )

    # -- timers -------------------------------------------------------------------------------
    def _register(self, key: Any, window: TimeWindow) -> None:
        times = {window.end - 1, self._cleanup_time(window)}
        for at in times:
            entry = (key, window, at)
            if entry in self._active:
                continue
            self._active.add(entry)
            if self.assigner.event_time:
                heapq.heappush(self._timers, (at, next(self._seq), key, window))
            else:
                self.runtime.processing_timer(at, lambda e=entry: self._on_processing_timer(e))

    def _unregister(self, key: Any, window: TimeWindow) -> None:
        for at in {window.end - 1, self._cleanup_time(window)}:
            self._active.discard((key, window, at))

    def _on_timer(self, key: Any, window: TimeWindow, at: int) -> None:
        per = self.state.get(key)
        if per is None or window not in per:
            return
        if at == window.end - 1:
            self._fire(key, window)
        if at == self._cleanup_time(window):
            del per[window]
            self._fired.pop((key, window), None)
            if not per:
                del self.state[key]

    def _on_processing_timer(self, entry: tuple[Any, TimeWindow, int]) -> None:
        if entry not in self._active:
            return
        self._active.discard(entry)
        self._on_timer(*entry)

    def advance_watermark(self, mark: int) -> None:
        self.watermark = mark
        timers = self._timers
        active = self._active
        while timers and timers[0][0] <= mark:
            at, _, key, window = heapq.heappop(timers)
            entry = (key, window, at)
            if entry not in active:
                continue
            active.discard(entry)
            self._on_timer(key, window, at)
        self.forward_watermark(mark)

    # -- results ------------------------------------------------------------------------------
    def _fire(self, key: Any, window: TimeWindow) -> None:
        acc = self.state[key][window]
        if acc is _MISSING:
            return
        items = self._result(acc)
        if self.window_function is not None:
            results = self._call_process(self.window_function, key, window, list(items))
        elif self.kind == "process":
            results = self._call_process(self.function, key, window, list(items))
        else:
            results = items
        count = self._fired.get((key, window), 0)
        self._fired[(key, window)] = count + 1
        now = int(self.runtime.now_ms())
        self.firings.append(
            Firing(
                None if key is _ALL else key,
                window,
                self.watermark,
                now,
                count > 0,
                tuple(results),
            )
        )
        stamp = window.end - 1
        for result in results:
            self.emit(result, stamp)

    # -- looking inside -----------------------------------------------------------------------
    def open_windows(self) -> list[tuple[Any, TimeWindow, int, int]]:
        """``(key, window, elements or 1, times fired)`` for every window holding state now."""
        out = []
        for key, per in self.state.items():
            for window, acc in per.items():
                size = len(acc) if isinstance(acc, list) else 1
                fired = self._fired.get((key, window), 0)
                out.append((None if key is _ALL else key, window, size, fired))
        out.sort(key=lambda item: (item[1].start, str(item[0])))
        return out

    def fired_count(self, key: Any, window: TimeWindow) -> int:
        """How often the window has fired (0 while open, >1 after late firings)."""
        return self._fired.get((key, window), 0)
