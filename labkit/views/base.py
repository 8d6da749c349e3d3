"""Building blocks shared by labkit's renderers: escaping, a panel, a grouped table, plain text.

Every renderer returns self-contained HTML (inline styles, no CSS classes it depends on, no
script) that stays readable in JupyterLab's light and dark themes, in an nbconvert export and on
GitHub, plus a plain-text form for terminals. Colour never carries meaning on its own: states are
written out in words, with a symbol beside them.

Theme safety: text colour is always inherited, and the only tints are translucent greys, which
read on a white and on a black background alike. JupyterLab's own variables are used where they
exist (fonts), with plain fallbacks elsewhere.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timezone
from typing import Any

#: One row of a snapshot kept as plain values (what a widget syncs).
Row = Mapping[str, Any]

#: Inherited text colour on purpose: the theme decides it.
FONT = (
    "font-family:var(--jp-ui-font-family,system-ui,-apple-system,'Segoe UI',Roboto,sans-serif);"
    "font-size:var(--jp-ui-font-size1,13px);line-height:1.45"
)
MONO = "font-family:var(--jp-code-font-family,ui-monospace,SFMono-Regular,Menlo,Consolas,monospace)"
#: Translucent greys: visible on light and dark backgrounds alike.
RULE = "rgba(128,128,128,0.45)"
SHADE = "rgba(128,128,128,0.16)"
#: JupyterLab's rendered-HTML stylesheet right-aligns and centres tables; these undo it.
_TABLE = "border-collapse:collapse;margin:4px 0 0 0;table-layout:auto;width:auto;max-width:100%"
_CELL = "text-align:left;vertical-align:top;padding:3px 12px 3px 8px;border:none"


#: Inline style of small print (notes under a panel).
SMALL = "opacity:0.85;font-size:92%"


_CODE = re.compile(r"`([^`\n]+)`")


def rich(text: str) -> str:
    """Escape ``text`` for HTML and show its `backticked` spans as code, as hints write them."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text))


# -- snapshots as plain values ------------------------------------------------------------------
def plain(value: Any) -> Any:
    """``value`` with every dataclass and mapping turned into a dict with string keys and every
    tuple a list: a snapshot as the plain, JSON-able values a widget syncs."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def snapshot_state(snapshot: Any) -> dict[str, Any]:
    """A snapshot (a dataclass or a mapping) as plain values; ``{}`` for ``None``."""
    if snapshot is None:
        return {}
    if is_dataclass(snapshot) and not isinstance(snapshot, type):
        return plain(asdict(snapshot))  # type: ignore[no-any-return]
    return plain(dict(snapshot))  # type: ignore[no-any-return]


def short_id(message_id: str) -> str:
    """The first eight characters of a message id (enough to tell messages apart)."""
    return message_id[:8]


def snapshot_time(state: Row, now: float | None = None) -> str:
    """``lab time 14:03:27`` (UTC): ``now``, else the state's own ``now``; ``""`` when unknown."""
    at = now if now is not None else state.get("now")
    if not at:
        return ""
    return f"lab time {datetime.fromtimestamp(at, tz=timezone.utc):%H:%M:%S}"


# -- HTML ---------------------------------------------------------------------------------------
def esc(value: object) -> str:
    """``value`` as text that is safe inside HTML, quotes included."""
    return html.escape(str(value), quote=True)


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    """``1 queue``, ``2 queues``; pass ``plural_form`` for irregular words."""
    return f"{count} {word}" if count == 1 else f"{count} {plural_form or word + 's'}"


@dataclass(frozen=True)
class Column:
    """A column of a table.

    Attributes:
        label: Its heading.
        mono: Whether its values are identifiers, shown in the code font.
    """

    label: str
    mono: bool = False


@dataclass(frozen=True)
class Group:
    """A titled run of rows (one service, one shard, ...).

    Attributes:
        title: What the rows have in common, e.g. ``SQS``.
        count: How many things the group holds, in words, e.g. ``2 resources``.
        rows: The rows, one string per column.
    """

    title: str
    count: str
    rows: tuple[tuple[str, ...], ...]


def notice_html(symbol: str, text: str) -> str:
    """A one-paragraph notice with a symbol and a bar; the words carry the meaning."""
    return (
        f'<div role="note" style="border-left:3px solid {RULE};padding:2px 8px;margin:4px 0">'
        f'<span aria-hidden="true">{esc(symbol)}</span> {esc(text)}</div>'
    )


def lines_html(lines: Iterable[str]) -> str:
    """Each line of plain text as its own paragraph."""
    return "".join(f'<div style="margin:2px 0">{esc(line)}</div>' for line in lines)


def panel_html(
    *, kind: str, heading: str, subheading: str = "", body: str, notice: str = "", hint: str = ""
) -> str:
    """The frame every view shares: a heading line, then ``body`` (already HTML).

    Args:
        kind: A short machine name (``sandbox``, ``queue``); becomes the CSS class
            ``labkit-<kind>`` so that tests and users can find the element.
        heading: The heading, plain text.
        subheading: Quieter text after the heading (time, region), plain text.
        body: HTML that follows the heading.
        notice: Something the reader must know first (the lab stopped, ...), shown above
            ``body`` as a :func:`notice_html`; nothing when empty.
        hint: A quieter last line (how the view updates), plain text; nothing when empty.
    """
    if notice:
        body = notice_html("⚠", notice) + body
    if hint:
        body += f'<div style="opacity:0.8;margin-top:4px">{esc(hint)}</div>'
    sub = (
        f' <span style="font-weight:normal;opacity:0.8">· {esc(subheading)}</span>'
        if subheading
        else ""
    )
    return (
        f'<div class="labkit-view labkit-{esc(kind)}" style="{FONT};margin:2px 0;'
        f'text-align:left">'
        f'<div style="font-weight:600">{esc(heading)}{sub}</div>{body}</div>'
    )


def table_html(columns: Sequence[Column], groups: Sequence[Group]) -> str:
    """A table whose rows come in titled groups; every value is escaped here."""
    head = "".join(
        f'<th scope="col" style="{_CELL};font-weight:600;border-bottom:1px solid {RULE}">'
        f"{esc(c.label)}</th>"
        for c in columns
    )
    body: list[str] = []
    for group in groups:
        body.append(
            f'<tr style="background:{SHADE}"><th scope="colgroup" colspan="{len(columns)}" '
            f'style="{_CELL};border-top:1px solid {RULE};font-weight:600">{esc(group.title)} '
            f'<span style="font-weight:normal;opacity:0.8">· {esc(group.count)}</span></th></tr>'
        )
        for row in group.rows:
            cells = "".join(
                f'<td style="{_CELL}{";" + MONO if col.mono else ""}">{esc(value)}</td>'
                for col, value in zip(columns, row, strict=True)
            )
            # Only group rows are shaded: JupyterLab's zebra stripes would look like them.
            body.append(f'<tr style="background:transparent">{cells}</tr>')
    return (
        f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


# -- plain text ---------------------------------------------------------------------------------
def panel_text(
    heading: str, lines: Iterable[str], *, subheading: str = "", notice: str = "", hint: str = ""
) -> str:
    """The text twin of :func:`panel_html`: the heading line, ``! notice``, ``lines``, ``hint``.

    The subheading follows the heading after a ``·``; an empty notice, hint or subheading leaves
    no trace.
    """
    head = heading + (f" · {subheading}" if subheading else "")
    return "\n".join(
        [head, *([f"! {notice}"] if notice else []), *lines, *([hint] if hint else [])]
    )


def clean(value: str) -> str:
    """One line of text: control characters (newlines, tabs, escapes) become spaces."""
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in value)


def width(text: str) -> int:
    """How many terminal columns ``text`` takes (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def text_table(
    columns: Sequence[Column], groups: Sequence[Group], *, group_label: str = ""
) -> list[str]:
    """The same table as aligned plain text.

    The group's title and count fill a first column on the group's first row (and stay blank
    below it), so that every column lines up across groups.
    """
    labels = [group_label, *(c.label for c in columns)]
    rows: list[list[str]] = []
    for group in groups:
        for i, row in enumerate(group.rows):
            first = f"{group.title} ({group.count})" if i == 0 else ""
            rows.append([clean(first), *(clean(v) for v in row)])
        if not group.rows:
            rows.append([clean(f"{group.title} ({group.count})"), *("" for _ in columns)])
    widths = [max(width(r[i]) for r in [labels, *rows]) for i in range(len(labels))]

    def line(cells: Sequence[str]) -> str:
        padded = [c + " " * (w - width(c)) for c, w in zip(cells, widths, strict=True)]
        return "  ".join(padded).rstrip()

    return [line(labels), line(["-" * w for w in widths]), *(line(r) for r in rows)]


class Panel:
    """A view of one moment: HTML in Jupyter (with a text form beside it), text elsewhere.

    Args:
        snapshot: What the view shows (the service view module's plain values or snapshot).
        html: Renders ``snapshot`` as self-contained HTML.
        text: Renders ``snapshot`` as plain text.
    """

    def __init__(
        self, snapshot: Any, html: Callable[[Any], str], text: Callable[[Any], str]
    ) -> None:
        self.snapshot = snapshot
        self._html = html
        self._text = text

    @property
    def state(self) -> Any:
        """The same as :attr:`snapshot` (the name the views of plain values use)."""
        return self.snapshot

    def _repr_html_(self) -> str:
        return self._html(self.snapshot)

    def _repr_mimebundle_(self, **_: Any) -> dict[str, str]:
        return {"text/html": self._html(self.snapshot), "text/plain": self._text(self.snapshot)}

    def __str__(self) -> str:
        return self._text(self.snapshot)

    def __repr__(self) -> str:
        return self._text(self.snapshot)
