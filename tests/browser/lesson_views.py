"""What each lesson's views must show after Run All, checked on the page the browser test ran.

A live view shows its resource as it is now, so in a lesson run top to bottom every earlier view
would show the end state (issue 11 §4). Lessons therefore show a moment with a **held** view
(``view.hold()``, ``hold=True``) and keep a **live** view, with its history, where the text says
it updates. :func:`view_problems` is called by ``test_notebooks_in_browser.py`` on the page where
it has just run a lesson (each notebook runs once per ``make test``), and says what is wrong:

- each held view, in the order of the lesson, shows the state its text describes (the markers
  below, taken from that text: "all available", "in flight", "one key for the fleet") and says
  which moment it holds ("Held as of lab time ...");
- the lesson's first live view shows the present and, where its resource changed later, its step
  control goes back to the earlier state the text described when it was first shown, and forward
  again.

Screenshots of each held view and of the live view stepped back are saved in
``artifacts/screenshots/lesson-views-*.png``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
HELD = "Held as of lab time"


@dataclass(frozen=True)
class Lesson:
    """What a lesson's views must show after Run All.

    Attributes:
        path: The lesson notebook.
        held: For each held view, in the lesson's order, the words it must show.
        live_now: Words the lesson's first live view shows at the end.
        live_before: Words of an earlier state the live view's step control goes back to;
            empty when the resource does not change after the view is first shown.
        panels: For each static view (a panel shown once, not a widget), in the lesson's
            order, the words it must show; a lesson of static views only has no live view.
    """

    path: str
    held: tuple[tuple[str, ...], ...]
    live_now: tuple[str, ...]
    live_before: tuple[str, ...] = ()
    panels: tuple[tuple[str, ...], ...] = ()


LESSONS = {
    lesson.path: lesson
    for lesson in [
        Lesson(
            "notebooks/01_welcome.ipynb",
            held=(),
            live_now=("AWS sandbox: empty",),  # lab.reset() at the end
            live_before=("greetings",),  # the queue the text before the view created
        ),
        Lesson(
            "notebooks/02_decoupling.ipynb",
            held=(
                ("● 12 available",),  # "Now the queue holds a dozen messages, all available"
                ("● 0 available · ◐ 0 in flight",),  # the consumer loop emptied it
                ("× 1 deleted by the retention period",),
                ("PartnerMaySendOrders",),
                ("◐ 1 in flight", "visible again in 20 s"),  # the visibility timeout counts down
                ("◷ 1 delayed",),
                ("● 1 available", "3×", "✝ 0 in the dead-letter queue"),  # received three times
                ("✝ 1 in the dead-letter queue",),  # "The next receive moves it"
                ("● 1 available", "0×"),  # redriven: a new message, received 0×
                ("● 0 available", "✝ 0 in the dead-letter queue"),  # "the queues are empty again"
                ("◐ 1 in flight", "⊘ blocked"),  # ana's group is blocked
                ("● 2 available", "ready"),  # ana's group is free again
                ("1 message published", "AccessDenied"),  # no access policy yet
                ("2 messages published", "✓ delivered"),
                ("5 messages published", "on body"),
                ("3 messages published", "duplicate of"),  # the FIFO topic dropped the retry
            ),
            live_now=("Standard queue orders",),
            live_before=("● 12 available",),
        ),
        Lesson(
            "notebooks/03_streaming.ipynb",
            held=(
                # "one key for the fleet": records there, the lane full of one key, throttles
                ("Kinesis stream fleet", "10,000 records", "A = fleet", "✕ 2,000"),
                ("8 open shards (12 in all), 37 records", "shard 0 · closed"),  # after the reshard
                ("dashboard read 2 of 8 records",),  # the consumer's checkpoint moved
                ("buffer: 36 records", "delivered: 0 objects"),  # thirty seconds in
                ("delivered: 1 object, 36 records", "buffer empty"),  # a minute later
            ),
            live_now=("Kinesis stream trucks",),
            live_before=("4 open shards, 1 record",),  # the first record, T-00042
        ),
        Lesson(
            "notebooks/04_edge.ipynb",
            held=(
                ("geo restriction: block list CU", "blocked"),  # the trace with the block list
                ("Global Accelerator shop", "✓ healthy"),  # health before the failover
            ),
            live_now=("CloudFront",),
            live_before=("40 requests at 7 edge locations",),  # the first trace, six cities
        ),
        Lesson(
            "notebooks/05_lambda.ipynb",
            held=(),
            live_now=("Lambda invocations:", "throttled"),  # "every invocation so far"
        ),
        Lesson(
            "notebooks/06_dynamodb.ipynb",
            held=(
                # "one partition is marked throttled and holds sensor-7"
                ("DynamoDB table readings", "sensor-7 (66)", "✕ throttled: 14 writes"),
                ("sensor-7#0",),  # the key sharded by a suffix spreads over the partitions
                ("DynamoDB table tickets", "by-status"),  # the GSI a step behind, throttling
                ("DynamoDB table orders", "300 / 300"),  # burst capacity saved up
                ("DynamoDB table clicks", "double its previous peak"),  # on-demand
                ("Auto scaling", "5 → 10 units"),  # the scale-out on the clock
                ("TTL attribute expires_at", "REMOVE s-ana"),  # TTL's deletions in the stream
                ("lost update",),  # last writer wins: Ana's phone write lost on the laptop
                ("eu-west-1 down", "1 write on the way"),  # a Region outage
                ("2 hits, 2 misses", "negative entry"),  # reads through DAX
                ("STALE",),  # Ada's change made around DAX
                ("write-through", "passed through"),  # writes through DAX, a consistent read
                ("Query cache · 1 entry", "1 of its items"),  # the query cache does not see writes
                ("profiles-fresh",),  # the new parameter group's TTLs
            ),
            live_now=("DynamoDB table shop", "by-status"),
            live_before=("6 items", "No secondary index."),  # before section 2 added one
        ),
        Lesson(
            "notebooks/07_stepfunctions.ipynb",
            held=(
                ("execution order-1: … running", "Settle · running"),  # "it waits in Settle"
                ("Charge card · succeeded · 15 s · 4 retries",),  # "retried after 1, 2, 4 and 8"
                ("Charge card · caught an error", "Declined · failed"),  # the declined card
                ("Price · map 3 · succeeded",),  # the Map's three items
                ("Ask manager · running",),  # "the execution is waiting"
            ),
            live_now=("execution order-1: ✓ succeeded", "Settle · succeeded · 60 s"),
            live_before=("Settle · running",),  # before the clock moved past the Wait
        ),
        Lesson(
            "notebooks/08_serverless_api.ipynb",
            held=(
                ("✗ 429", "out of tokens"),  # "the sixth was refused with 429"
                ("forged or changed", "The token expired"),  # the edited and the expired token
                ("3 hits, 1 miss", "invalidation refused"),  # one miss, hits, max-age=0 ignored
            ),
            live_now=("API trace: shop", "POST /events"),
            live_before=("stage prod: 1 request",),  # "the two requests above, one on each stage"
        ),
        Lesson(
            "notebooks/09_capstone.ipynb",
            held=(
                ("Welcome to the shop", "welcome@shop.example"),  # Ana's welcome email arrived
                ("accelerated via SYD",),  # the photo from Sydney went through the edge
                ("Architecture map", "event source mapping", "S3 (OAC)"),  # the shop's wiring
            ),
            live_now=("Mailbox", "Your verification code", "Welcome to the shop"),
        ),
        Lesson(
            "notebooks/10_databases.ipynb",
            held=(
                ("read replica shop-reports (of shop)", "5 s of lab time late"),  # its lag
                ("primary in us-east-1b", "failover @"),  # after the Multi-AZ failover
                ("leaderboard", "4 hits, 3 misses"),  # the cache after section 5's reads
            ),
            live_now=("RDS DB instance shop", "failover @"),
            live_before=("primary in us-east-1a",),  # as first shown, before the failover
        ),
        Lesson(
            "notebooks/11_containers.ipynb",
            held=(
                # "the crashed task stopped (its exit code and AWS's reason), ... running"
                ("○ STOPPED", "Essential container in task exited", "2 running tasks"),
                # "the provider's group, its instances, the tasks and every scaling change with
                # the reservation that caused it"
                (
                    "Capacity provider nodes",
                    "scale-out 0 → 2 instances at 200%",
                    "scale-in 2 → 1 instances",
                    "capacity provider nodes",
                ),
            ),
            live_now=("8 running tasks", "family:note-writer", "scale-out 3 → 4"),
            live_before=("6 running tasks",),  # before the EFS section started its two tasks
        ),
        Lesson(
            "notebooks/13_iac.ipynb",
            held=(
                ("ROLLBACK_COMPLETE", "CREATE_FAILED", "DELETE_COMPLETE"),  # undone by rollback
                ("✎ MODIFIED", "/VisibilityTimeout: 120 → 5"),  # changed by hand
                ("1 of 4 done, 1 running",),  # "a minute in, one instance is done"
                ("4 of 4 done, 0 running",),  # the clock ran the operation to its end
            ),
            live_now=("Stack shop", "UPDATE_COMPLETE", "in sync at the last detection"),
            live_before=("Drift: not checked yet",),  # just created, before the drift section
        ),
        Lesson(
            "notebooks/12_analytics.ipynb",
            held=(),
            live_now=(),
            panels=(
                # "dt=2026-03-04 marked ✗ not in the catalog (Athena skips it)"
                ("raw.orders", "✓ registered", "dt=2026-03-04", "✗ not in the catalog"),
                ("● 4 of 4 read, ○ 0 pruned", "deliveries", "billed 10.0 MB"),  # every day
                ("8", "✓ SUCCEEDED", "bookmark remembers 10 objects"),  # runs of 8, then 2
                ("● 1 of 5 read, ○ 4 pruned",),  # the cheapest query
                ("⇄ redistributed", "2 nodes, 4 slices"),  # no keys: the join moves rows
                ("Spectrum read",),  # the bytes Spectrum read from S3
                ("✓ all searchable", "→ 23 hits"),  # the incident's search
                # QuickSight's first SPICE copy: the five days the curated crawl registered
                ("QuickSight visual: revenue by dt", "SPICE: ✓ copy from ingestion", "(5 rows)"),
                # after MSCK REPAIR and a refresh: the sixth day is in
                ("ingestion after-the-repair", "(6 rows)", "2026-03-06"),
                # the job's step done, the cluster kept alive for the next step
                ("⏸ WAITING", "core 2 × m5.xlarge", "✓ COMPLETED", "sqlframe"),
                # revenue by tier: the DynamoDB table read through its connector
                ("ddb.default.loyalty", "federated: read by its Lambda connector"),
            ),
        ),
        Lesson(
            "notebooks/14_streaming_analytics.ipynb",
            held=(
                # "each reading that arrived after the watermark passed ... went to the side output"
                ("late: 0 ✗ dropped, 6 → side output", "→ side output 'late-readings'"),
            ),
            live_now=("Managed Flink application top-products", "sliding 5 min every 1 min"),
        ),
        Lesson(
            "notebooks/15_migration.ipynb",
            held=(),  # its DataSync, DMS, Transfer and FSx views are panels of one moment each
            live_now=("shop-lake", "partner-drop", "genomes"),  # every bucket the lesson made
            live_before=("AWS sandbox: 1 resource in 1 service",),  # "for now, one bucket"
        ),
    ]
}

# Each code cell's source and the labkit views in its outputs (the widget boxes, not the
# panels inside them): held or live, whether it has a step control, and what it shows.
_VIEWS = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')].map(cell => ({
  source: (cell.querySelector('.jp-InputArea-editor') || {}).textContent || '',
  prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
  views: [...cell.querySelectorAll('.jp-OutputArea-output .widget-vbox.labkit-view')].map(v => ({
    held: v.classList.contains('labkit-held'),
    history: !!v.querySelector('.labkit-history'),
    // What it shows, and the SVG titles a pointer or a screen reader gets (a checkpoint's).
    text: [v.innerText, ...[...v.querySelectorAll('title')].map(t => t.textContent)].join('\\n'),
  })),
  // Static views: panels shown once (outermost ones, outside any widget).
  panels: [...cell.querySelectorAll('.jp-OutputArea-output div.labkit-view')]
    .filter(p => !p.closest('.widget-vbox') && !p.parentElement.closest('.labkit-view'))
    .map(p => p.innerText),
}))"""

_LIVE = ".jp-OutputArea-output .widget-vbox.labkit-view:not(.labkit-held)"
_HELD = ".jp-OutputArea-output .widget-vbox.labkit-held"


def _shot(locator: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(Exception):
        locator.scroll_into_view_if_needed(timeout=5_000)
        locator.screenshot(path=str(SCREENSHOTS / f"lesson-views-{name}.png"), timeout=10_000)


def _step_back_to(page: Any, view: Any, words: tuple[str, ...], limit: int = 60) -> str:
    """Press the view's "◀ earlier" until it shows all ``words``; what it shows then."""
    earlier = view.locator(".labkit-history button", has_text="earlier")
    text = str(view.inner_text())
    for _ in range(limit):
        if all(word in text for word in words) or earlier.is_disabled():
            break
        earlier.click()
        # The kernel answers the click with the earlier state: wait until the page shows it.
        page.wait_for_function(
            "([el, before]) => el.innerText !== before",
            arg=[view.element_handle(), text],
            timeout=30_000,
            polling=100,
        )
        text = str(view.inner_text())
    return text


def view_problems(page: Any, path: str) -> list[str]:
    """What the views of the lesson at ``path``, just run on ``page``, fail to show."""
    lesson = LESSONS.get(path)
    if lesson is None:
        return []
    name = Path(path).stem
    cells = page.evaluate(_VIEWS)
    views = [view for cell in cells for view in cell["views"]]
    problems: list[str] = []
    held = [view["text"] for view in views if view["held"]]
    if len(held) != len(lesson.held):
        problems.append(
            f"{len(held)} held views, the lesson's text describes {len(lesson.held)} moments"
        )
    for number, (text, words) in enumerate(zip(held, lesson.held, strict=False), start=1):
        _shot(page.locator(_HELD).nth(number - 1), f"{name}-held-{number}")
        missing = [word for word in (HELD, *words) if word not in text]
        if missing:
            problems.append(f"held view {number} does not show {missing}:\n{text[:1500]}")
    if any(view["history"] for view in views if view["held"]):
        problems.append("a held view has a step control (it has nothing to step through)")
    panels = [text for cell in cells for text in cell.get("panels", [])]
    if lesson.panels and len(panels) != len(lesson.panels):
        problems.append(
            f"{len(panels)} static views, the lesson's text describes {len(lesson.panels)}"
        )
    for number, (text, words) in enumerate(zip(panels, lesson.panels, strict=False), start=1):
        missing = [word for word in words if word not in text]
        if missing:
            problems.append(f"static view {number} does not show {missing}:\n{text[:1500]}")
    live = [view for view in views if not view["held"]]
    if not live and not lesson.live_now:
        return problems  # a lesson of static views
    if not live:
        return [*problems, "no live view"]
    now = live[0]["text"]
    if not all(word in now for word in lesson.live_now) or HELD in now:
        problems.append(f"the live view does not show {lesson.live_now} now:\n{now[:1500]}")
    if "As of lab time" not in now:
        problems.append("the live view does not say which moment it shows")
    if lesson.live_before:
        if not live[0]["history"]:
            return [*problems, "the live view has no step control"]
        view = page.locator(_LIVE).first
        view.scroll_into_view_if_needed()
        before = _step_back_to(page, view, lesson.live_before)
        _shot(view, f"{name}-live-stepped-back")
        if not all(word in before for word in lesson.live_before):
            problems.append(f"stepping back never showed {lesson.live_before}:\n{before[:1500]}")
        if "(an earlier state" not in before:
            problems.append("a view stepped back does not say it shows an earlier state")
        # ... and forward again to the present.
        view.locator(".labkit-history button", has_text="latest").click()
        page.wait_for_function(
            "([el, before]) => el.innerText !== before",
            arg=[view.element_handle(), before],
            timeout=30_000,
        )
        if not all(word in view.inner_text() for word in lesson.live_now):
            problems.append("pressing latest did not bring the live view back to now")
    return problems
