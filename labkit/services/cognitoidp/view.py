"""The token inspector as HTML and as text: header, claims and their meaning, time left.

States are written in words with a symbol beside them (``✓ valid``, ``✗ expired``), never in
colour alone (see :mod:`labkit.views.base`).
"""

from __future__ import annotations

from labkit.services.cognitoidp.state import TokenSnapshot
from labkit.views.base import (
    Column,
    Group,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

_COLUMNS = (Column("Claim", mono=True), Column("Value", mono=True), Column("Meaning"))
_KINDS = {"id": "ID token", "access": "Access token"}


def time_left(snapshot: TokenSnapshot) -> str:
    """How long the token has left on the lab clock, in words with a symbol."""
    if snapshot.seconds_left is None:
        return "? no expiry (exp) in the token"
    left = int(snapshot.seconds_left)
    if left <= 0:
        return f"✗ expired {_span(-left)} ago (lab clock)"
    return f"✓ valid for {_span(left)} more (lab clock)"


def _span(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes or hours:
        parts.append(f"{minutes} min")
    if not hours:
        parts.append(f"{secs} s")
    return " ".join(parts)


def _signature(snapshot: TokenSnapshot) -> str:
    symbol = (
        "✓"
        if snapshot.signature.startswith("valid")
        else ("✗" if snapshot.signature.startswith("invalid") else "?")
    )
    return f"{symbol} signature {snapshot.signature}"


def _groups(snapshot: TokenSnapshot) -> list[Group]:
    header = Group(
        "Header",
        plural(len(snapshot.header), "field"),
        tuple((r.name, r.value, r.meaning) for r in snapshot.header),
    )
    claims = Group(
        "Claims",
        plural(len(snapshot.claims), "claim"),
        tuple((r.name, r.value, r.meaning) for r in snapshot.claims),
    )
    return [header, claims]


def _heading(snapshot: TokenSnapshot) -> str:
    return f"Token inspector: {_KINDS.get(snapshot.kind, 'token')}"


def _now(snapshot: TokenSnapshot) -> str:
    return f"lab time {snapshot.now:%Y-%m-%d %H:%M:%S} UTC"


def token_html(snapshot: TokenSnapshot) -> str:
    """The snapshot as self-contained HTML."""
    if snapshot.error:
        return panel_html(
            kind="token",
            heading=_heading(snapshot),
            subheading=_now(snapshot),
            body=lines_html([f"✗ not a readable token: {snapshot.error}"]),
        )
    body = lines_html([time_left(snapshot), _signature(snapshot)])
    body += table_html(_COLUMNS, _groups(snapshot))
    return panel_html(
        kind="token",
        heading=_heading(snapshot),
        subheading=_now(snapshot),
        body=body,
        hint="Decoded without trusting it: a server trusts a token only after checking the "
        "signature, exp, iss and aud/client_id.",
    )


def token_text(snapshot: TokenSnapshot) -> str:
    """The snapshot as plain text."""
    if snapshot.error:
        return panel_text(
            _heading(snapshot),
            [f"✗ not a readable token: {snapshot.error}"],
            subheading=_now(snapshot),
        )
    lines = [time_left(snapshot), _signature(snapshot)]
    lines += text_table(_COLUMNS, _groups(snapshot), group_label="Part")
    return panel_text(_heading(snapshot), lines, subheading=_now(snapshot))


__all__ = ["time_left", "token_html", "token_text"]
