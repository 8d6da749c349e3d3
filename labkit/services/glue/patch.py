"""Glue crawlers that crawl and ETL jobs that run, on the lab clock.

moto 5.2.5 records crawlers and their runs and creates no table. While a lab runs,
``StartCrawler`` lists each S3 target, infers its tables (:mod:`.sim_crawler`), and when the
crawl ends on the lab clock (:func:`.sim_crawler.crawl_seconds`; ``lab.clock.advance`` gets
there) writes them to the crawler's database: new tables are created, known tables get their
columns updated (``SchemaChangePolicy`` ``UPDATE_IN_DATABASE``, the default, or left alone with
``LOG``) and every new partition added. The crawler reads ``RUNNING`` until then, ``READY``
after, with ``LastCrawl`` ``SUCCEEDED`` (``FAILED`` with a message when a target's bucket is
missing).

``StartJobRun`` runs the job's script from its ``ScriptLocation`` in S3 (:mod:`.sim_jobs`: a
``main(job)`` function, with job bookmarks), then reads ``RUNNING`` until the run's modeled
length has passed on the lab clock, then ``SUCCEEDED`` or ``FAILED`` with the script's error as
``ErrorMessage``.

``time.sleep`` does not move the lab clock: a crawl or run polled :data:`POLLS_TO_FINISH` times
(``GetCrawler``, ``GetJobRun``) ends then, so a loop that sleeps between polls still ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.glue import models as glue_models
from moto.glue import responses as glue_responses
from moto.moto_api._internal.managed_state_model import ManagedState
from moto.s3.models import FakeKey, s3_backends

from labkit.services.athena.patch import S3Store
from labkit.services.glue import sim_jobs
from labkit.services.glue.sim_crawler import InferredTable, crawl, crawl_seconds

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_RUNNING = "_labkit_running"
_RESULT = "_labkit_result"
_PENDING = "_labkit_pending"
#: Polls of GetCrawler / GetJobRun after which a crawl or run ends whatever the lab clock says:
#: ``time.sleep`` does not move the lab clock, so a loop that sleeps between polls still ends.
POLLS_TO_FINISH = 3
#: Attributes on moto's FakeJob (its bookmark) and FakeJobRun (what the run did).
BOOKMARK = sim_jobs.BOOKMARK_ATTR
REPORT = sim_jobs.REPORT_ATTR


def bookmark_of(job: Any) -> sim_jobs.Bookmark:
    """A moto Glue job's bookmark (made on first use; ``lab.reset()`` drops it with the job)."""
    found: sim_jobs.Bookmark | None = job.__dict__.get(BOOKMARK)
    if found is None:
        found = sim_jobs.Bookmark()
        job.__dict__[BOOKMARK] = found
    return found


def _script(account_id: str, location: str) -> str:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    try:
        fake = s3_backends[account_id]["aws"].buckets[bucket].keys.get(key)
    except KeyError:
        fake = None
    if not isinstance(fake, FakeKey):
        raise sim_jobs.JobError(f"the job's ScriptLocation {location} is not an object in S3")
    return bytes(fake.value).decode("utf-8")


def _objects(account_id: str, bucket: str, prefix: str) -> tuple[list[tuple[str, int]], Any]:
    backend = s3_backends[account_id]["aws"]
    store = backend.buckets[bucket].keys
    found = []
    for name in list(dict.keys(store)):
        if name.startswith(prefix) and isinstance(store.get(name), FakeKey):
            found.append((name, int(store.get(name).size)))

    def read(key: str) -> bytes:
        value: bytes = store.get(key).value
        return value

    return sorted(found), read


def _apply(backend: Any, database: str, tables: list[InferredTable], policy: str) -> None:
    db = backend.get_database(database)
    for table in tables:
        table_input = table.table_input()
        if table.name not in db.tables:
            backend.create_table(database, table.name, table_input)
        elif policy != "LOG":
            backend.update_table(database, table.name, table_input)
        existing = db.tables[table.name]
        for values, location in table.partitions.items():
            if str(list(values)) in existing.partitions:
                continue
            storage = dict(table_input["StorageDescriptor"])
            storage["Location"] = location
            existing.create_partition({"Values": list(values), "StorageDescriptor": storage})


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Make Glue crawlers crawl while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = glue_models.GlueBackend
    crawl_cls = glue_models.FakeCrawl
    run_cls = glue_models.FakeJobRun
    original_start = backend_cls.start_crawler
    original_start_run = backend_cls.start_job_run
    original_run_dict = run_cls.as_dict
    original_status: Any = crawl_cls.__dict__.get("status") or ManagedState.status

    def status(self: Any) -> Any:
        if self.__dict__.get(_RUNNING):
            return "RUNNING"
        if _RESULT in self.__dict__:
            return self.__dict__[_RESULT]
        return original_status.fget(self)

    def start_crawler(self: Any, name: str) -> None:
        original_start(self, name)
        crawler = self.get_crawler(name)
        run = crawler.crawls[-1]
        run.__dict__[_RUNNING] = True
        tables: list[InferredTable] = []
        failure = ""
        count = 0
        for target in (crawler.targets or {}).get("S3Targets", []):
            path = str(target.get("Path", ""))
            bucket, _, prefix = path.removeprefix("s3://").partition("/")
            try:
                objects, read = _objects(self.account_id, bucket, prefix)
            except KeyError:
                failure = f"The specified bucket does not exist: {bucket}"
                continue
            count += len(objects)
            tables += crawl(bucket, prefix, objects, read, table_prefix=crawler.table_prefix or "")
        policy = str((crawler.schema_change_policy or {}).get("UpdateBehavior") or "")

        def finish() -> None:
            run.__dict__[_RUNNING] = False
            if failure and not tables:
                run.__dict__[_RESULT] = "FAILED"
            else:
                _apply(self, crawler.database_name, tables, policy)
                run.__dict__[_RESULT] = "COMPLETED"
            crawler.crawl_elapsed_time = int(crawl_seconds(count) * 1000)

        event = sandbox.clock.call_later(crawl_seconds(count), finish)
        run.__dict__[_PENDING] = [event, finish, 0]

    def start_job_run(self: Any, name: str, arguments: Any, *rest: Any, **kwargs: Any) -> str:
        run_id: str = original_start_run(self, name, arguments, *rest, **kwargs)
        job = self.get_job(name)
        run = job.job_runs[-1]
        args = dict(run.arguments or {})
        context = sim_jobs.JobContext(
            run_id=run_id, args=args, store=S3Store(self.account_id), bookmark=bookmark_of(job)
        )
        try:
            source = _script(self.account_id, str((job.command or {}).get("ScriptLocation", "")))
        except sim_jobs.JobError as err:
            context.report.error = str(err)
            context.finish(False)
            report = context.report
        else:
            report = sim_jobs.run_script(source, context)
        run.__dict__[_RUNNING] = True
        run.__dict__[REPORT] = report

        def finish() -> None:
            run.__dict__[_RUNNING] = False
            run.__dict__[_RESULT] = "FAILED" if report.error else "SUCCEEDED"

        event = sandbox.clock.call_later(sim_jobs.run_seconds(report), finish)
        run.__dict__[_PENDING] = [event, finish, 0]
        return run_id

    def run_dict(self: Any) -> dict[str, Any]:
        data: dict[str, Any] = original_run_dict(self)
        report: sim_jobs.RunReport | None = self.__dict__.get(REPORT)
        if report is not None:
            data["ExecutionTime"] = int(sim_jobs.run_seconds(report))
            if report.error and data.get("JobRunState") == "FAILED":
                data["ErrorMessage"] = report.error
        return data

    def run_status(self: Any) -> Any:
        if self.__dict__.get(_RUNNING):
            return "RUNNING"
        if _RESULT in self.__dict__:
            return self.__dict__[_RESULT]
        return original_status.fget(self)

    response_cls = glue_responses.GlueResponse
    original_get_crawler = response_cls.get_crawler
    original_get_job_run = response_cls.get_job_run

    def polled(run: Any) -> None:
        pending = run.__dict__.get(_PENDING)
        if not pending or not run.__dict__.get(_RUNNING):
            return
        pending[2] += 1
        if pending[2] >= POLLS_TO_FINISH:
            pending[0].cancel()
            pending[1]()

    def get_crawler(self: Any) -> Any:
        try:
            crawler = self.glue_backend.get_crawler(self.parameters.get("Name"))
        except Exception:  # moto's own error answers below
            crawler = None
        if crawler is not None and crawler.crawls:
            polled(crawler.crawls[-1])
        return original_get_crawler(self)

    def get_job_run(self: Any) -> Any:
        try:
            job = self.glue_backend.get_job(self.parameters.get("JobName"))
        except Exception:  # moto's own error answers below
            job = None
        for run in job.job_runs if job is not None else []:
            if run.job_run_id == self.parameters.get("RunId"):
                polled(run)
        return original_get_job_run(self)

    setattr(response_cls, "get_crawler", get_crawler)  # noqa: B010
    setattr(response_cls, "get_job_run", get_job_run)  # noqa: B010
    setattr(backend_cls, "start_crawler", start_crawler)  # noqa: B010 - mypy: a method
    setattr(backend_cls, "start_job_run", start_job_run)  # noqa: B010
    setattr(run_cls, "as_dict", run_dict)  # noqa: B010
    setattr(crawl_cls, "status", property(status, original_status.fset))  # noqa: B010
    setattr(run_cls, "status", property(run_status, original_status.fset))  # noqa: B010
    try:
        yield
    finally:
        setattr(backend_cls, "start_crawler", original_start)  # noqa: B010
        setattr(response_cls, "get_crawler", original_get_crawler)  # noqa: B010
        setattr(response_cls, "get_job_run", original_get_job_run)  # noqa: B010
        setattr(backend_cls, "start_job_run", original_start_run)  # noqa: B010
        setattr(run_cls, "as_dict", original_run_dict)  # noqa: B010
        for cls in (crawl_cls, run_cls):
            if "status" in cls.__dict__:
                delattr(cls, "status")
