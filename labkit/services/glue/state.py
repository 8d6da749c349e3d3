"""Read-only snapshots of Glue's crawlers and ETL jobs (runs, bookmarks) for views and checks."""

from __future__ import annotations

from typing import Any

from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing_in
from labkit.services.glue.sim_jobs import BOOKMARK_ATTR, REPORT_ATTR, Bookmark, RunReport


def etl_snapshot(account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1") -> dict[str, Any]:
    """Crawlers (state, targets, last crawl) and jobs (bookmark, runs: read, written, error)."""
    crawlers: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    for glue in existing_in("glue", account_id, region):
        for name, crawler in sorted(getattr(glue, "crawlers", {}).items()):
            info = crawler.as_dict()
            crawlers.append(
                {
                    "name": name,
                    "state": info.get("State", ""),
                    "database": info.get("DatabaseName", ""),
                    "targets": [
                        t.get("Path", "") for t in (info.get("Targets") or {}).get("S3Targets", [])
                    ],
                    "last": (info.get("LastCrawl") or {}).get("Status", ""),
                }
            )
        for name, job in sorted(getattr(glue, "jobs", {}).items()):
            bookmark: Bookmark | None = job.__dict__.get(BOOKMARK_ATTR)
            option = (job.default_arguments or {}).get(
                "--job-bookmark-option", "job-bookmark-disable"
            )
            runs = []
            for run in job.job_runs:
                report: RunReport | None = run.__dict__.get(REPORT_ATTR)
                runs.append(
                    {
                        "id": run.job_run_id,
                        "state": run.status,
                        "read": len(report.read_objects) if report else 0,
                        "written": len(report.written_objects) if report else 0,
                        "bytes_read": report.bytes_read if report else 0,
                        "error": report.error if report else "",
                    }
                )
            jobs.append(
                {
                    "name": name,
                    "script": (job.command or {}).get("ScriptLocation", ""),
                    "bookmarks": option,
                    "processed": sorted(bookmark.processed) if bookmark else [],
                    "runs": runs,
                }
            )
    return {"region": region, "crawlers": crawlers, "jobs": jobs}
