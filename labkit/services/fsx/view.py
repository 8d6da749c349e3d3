"""FSx for Lustre file systems as HTML and as text: what loaded lazily from S3, what went back.

Plain functions over :func:`labkit.services.fsx.state.snapshot`. Each file's state is a word
(``● loaded``: its data is on the file system; ``○ metadata only``: listed, its data still in
S3), each lazy load says its bytes and the lab seconds the throughput model gives it, and the
exports list the paths written back to S3. Never colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labkit.errors import LabkitError
from labkit.services.fsx.state import snapshot
from labkit.views.base import (
    Column,
    Group,
    Panel,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

Row = Mapping[str, Any]
#: How many files, loads and exports each table lists.
SHOWN = 40

_FILES = (Column("path", mono=True), Column("state"))
_LOADS = (Column("loaded from S3", mono=True), Column("bytes"), Column("lab seconds"))
_EXPORTS = (Column("exported to S3", mono=True),)


def _state(word: str) -> str:
    return "● loaded" if word == "loaded" else "○ metadata only (data in S3)"


def summary_lines(fs: Row) -> list[str]:
    """The file system in sentences: kind, throughput, links, loads and exports."""
    loaded = sum(1 for s in fs["files"].values() if s == "loaded")
    links = ", ".join(f"{path} ↔ {url}" for path, url in fs["links"]) or "none"
    moved = sum(size for _p, size, _s in fs["load_log"])
    return [
        f"{fs['deployment']}, {fs['capacity_gib']:,} GiB, baseline "
        f"{fs['throughput_mbps']:,.0f} MB/s.",
        f"Linked to S3: {links}.",
        f"Files: {len(fs['files'])} known, {loaded} loaded, {len(fs['files']) - loaded} "
        "metadata only.",
        f"Lazy loads: {plural(len(fs['load_log']), 'file')}, {moved:,} bytes read from S3 on "
        f"first access. Exported: {plural(len(fs['exported_paths']), 'file')} written back.",
    ]


def _groups(fs: Row) -> list[tuple[Sequence[Column], Group]]:
    files = sorted(fs["files"].items())
    loads = fs["load_log"]
    exported = fs["exported_paths"]
    out: list[tuple[Sequence[Column], Group]] = [
        (
            _FILES,
            Group(
                "Files",
                plural(len(files), "file"),
                tuple((path, _state(word)) for path, word in files[:SHOWN]),
            ),
        )
    ]
    if loads:
        load_rows = tuple((p, f"{size:,}", f"{sec:.3f}") for p, size, sec in loads[-SHOWN:])
        out.append((_LOADS, Group("Lazy loads", plural(len(loads), "load"), load_rows)))
    if exported:
        export_rows = tuple((p,) for p in exported[-SHOWN:])
        out.append((_EXPORTS, Group("Exports", plural(len(exported), "export"), export_rows)))
    return out


def heading(fs: Row) -> str:
    """The view's heading line."""
    return f"FSx for Lustre {fs['id']} ({fs['region']})"


def render_html(fs: Row, *, notice: str = "", hint: str = "") -> str:
    """One file system as self-contained HTML."""
    body = lines_html(summary_lines(fs))
    for columns, group in _groups(fs):
        body += table_html(columns, [group])
    return panel_html(
        kind="fsx",
        heading=heading(fs),
        subheading="files, lazy loads from S3 and exports back",
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(fs: Row, *, notice: str = "", hint: str = "") -> str:
    """One file system as plain text."""
    lines = [*summary_lines(fs)]
    for columns, group in _groups(fs):
        lines += ["", *text_table(columns, [group])]
    return panel_text(
        heading(fs),
        lines,
        subheading="files, lazy loads from S3 and exports back",
        notice=notice,
        hint=hint,
    )


class UnknownLustreError(LabkitError):
    """No Lustre file system of that id (or more than one, and none named)."""

    code = "UnknownFileSystem"


class FsxView(Panel):
    """A file system at one moment, shown as HTML in Jupyter and as text elsewhere."""

    def __init__(self, state: Row) -> None:
        super().__init__(state, render_html, render_text)


def fsx_view(file_system: str | None = None) -> FsxView:
    """The view of ``file_system`` (its id or ARN; the only Lustre file system when there is
    one)."""
    found = snapshot()
    ids = [fs["id"] for fs in found]
    if file_system is None:
        if len(found) != 1:
            raise UnknownLustreError(
                "Name the file system: the sandbox has "
                + (f"{len(ids)} ({', '.join(ids)})." if ids else "no Lustre file system yet.")
            )
        return FsxView(found[0])
    wanted = file_system.rsplit("/", 1)[-1]
    for fs in found:
        if fs["id"] == wanted:
            return FsxView(fs)
    raise UnknownLustreError(
        f"There is no Lustre file system {file_system!r} "
        f"(file systems: {', '.join(ids) or 'none'})."
    )


__all__ = ["FsxView", "UnknownLustreError", "fsx_view", "render_html", "render_text"]
