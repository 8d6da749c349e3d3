"""The access view: an access question's answer as HTML and as text, in words.

Renders a :class:`labkit.sandbox.access.AccessResult` (what ``lab.access(...)`` returns): allowed
or not, the statement that decided (Sid or position, and which policy), and one line per
statement saying whether it applies and, if not, the first element that did not match. States are
written in words beside a symbol, never by colour alone. Plain functions, no Jupyter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit import policy as engine
from labkit.views.base import (
    SMALL,
    Column,
    Group,
    esc,
    lines_html,
    panel_html,
    panel_text,
    plural,
    rich,
    table_html,
    text_table,
)

if TYPE_CHECKING:
    from labkit.sandbox.access import AccessResult


# -- rendering ----------------------------------------------------------------------------------
def verdict_words(decision: engine.Decision) -> tuple[str, str]:
    """``(symbol, words)`` for the heading: ``✓ Allowed``, ``✗ Denied: an explicit deny``, ..."""
    if decision.allowed:
        return "✓", "Allowed"
    if decision.kind == "explicit-deny":
        return "✗", "Denied by an explicit deny"
    return "✗", "Denied: nothing allows it (implicit deny)"


def statement_rows(decision: engine.Decision) -> list[tuple[engine.StatementResult, str, str]]:
    """Each statement with a symbol and its verdict in words (``◀`` marks a deciding one)."""
    rows = []
    deciding = set(decision.deciding)
    for result in decision.statements:
        if result.applies:
            symbol, words = ("✓", "allows") if result.effect == "Allow" else ("✗", "denies")
            if result.effect == "Allow" and not result.direct:
                words = "allows (names only the account)"
        else:
            symbol, words = "·", "does not apply"
        if result.ref in deciding:
            words += " ◀ decides"
        rows.append((result, symbol, words))
    return rows


def _why(result: engine.StatementResult) -> str:
    return result.reason[:1].upper() + result.reason[1:] if result.reason else "It applies."


def _groups(decision: engine.Decision) -> list[Group]:
    by_policy: dict[str, list[tuple[str, ...]]] = {}
    for result, symbol, words in statement_rows(decision):
        ref = result.ref
        by_policy.setdefault(ref.policy, []).append(
            (
                str(ref.index),
                ref.sid or "-",
                result.effect or "?",
                f"{symbol} {words}",
                _why(result),
            )
        )
    return [
        Group(name, plural(len(rows), "statement"), tuple(rows)) for name, rows in by_policy.items()
    ]


_COLUMNS = (
    Column("#"),
    Column("Sid", mono=True),
    Column("Effect"),
    Column("Verdict"),
    Column("Why"),
)


def _facts(result: AccessResult) -> list[str]:
    lines = [
        f"Who: {result.principal}",
        f"Action: {result.action}",
        f"Resource: {result.resource}",
    ]
    if result.context:
        lines.append(
            "Context: " + ", ".join(f"{k} = {v}" for k, v in sorted(result.context.items()))
        )
    policies = [result.policy or "no resource policy", *result.identity]
    lines.append("Policies read: " + ", ".join(policies))
    return lines


def access_html(result: AccessResult) -> str:
    """The result as self-contained HTML (see :mod:`labkit.views.base`)."""
    symbol, words = verdict_words(result.decision)
    body = (
        f'<div style="margin:4px 0"><span aria-hidden="true">{esc(symbol)}</span> '
        f"<strong>{esc(words)}.</strong> {rich(result.reason)}</div>"
        f'<div style="{SMALL}">{lines_html(_facts(result))}</div>'
    )
    groups = _groups(result.decision)
    if groups:
        body += table_html(_COLUMNS, groups)
    if result.decision.problems:
        body += lines_html(f"⚠ {p}" for p in result.decision.problems)
    return panel_html(
        kind="access",
        heading=f"Access: {result.action}",
        subheading=f"{symbol} {words}",
        body=body,
    )


def access_text(result: AccessResult) -> str:
    """The result as plain text, for terminals and logs."""
    symbol, words = verdict_words(result.decision)
    lines = [f"{symbol} {words}. {result.reason}", *(f"  {line}" for line in _facts(result))]
    groups = _groups(result.decision)
    if groups:
        lines += text_table(_COLUMNS, groups, group_label="Policy")
    lines += [f"! {p}" for p in result.decision.problems]
    return panel_text(f"Access: {result.action}", lines)


__all__ = ["access_html", "access_text", "statement_rows", "verdict_words"]
