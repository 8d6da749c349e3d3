"""The mailbox view: what was sent, to whom, with what status, bodies shown but never run."""

from __future__ import annotations

import re

from labkit.lab import Lab
from labkit.services.ses.view import SHOWN, html_as_text

SHOP = "shop@example.com"
EVIL = (
    "<h1>Welcome</h1><p>Confirm <a href='https://shop.example/confirm'>here</a></p>"
    "<script>document.title='pwned'</script><img src=x onerror=\"alert(1)\">"
)


def _send(lab: Lab, to: str, subject: str, *, html: str = "", text: str = "Hello") -> None:
    body = {"Text": {"Data": text}}
    if html:
        body["Html"] = {"Data": html}
    lab.client("ses").send_email(
        Source=SHOP,
        Destination={"ToAddresses": [to]},
        Message={"Subject": {"Data": subject}, "Body": body},
    )
    lab.clock.advance(1)


def test_each_status_is_in_words_and_symbols_in_both_forms(lab: Lab) -> None:
    lab.client("ses").verify_domain_identity(Domain="example.com")
    lab.client("ses").set_identity_feedback_forwarding_enabled(
        Identity="example.com", ForwardingEnabled=False
    )
    _send(lab, "ana@example.com", "Welcome")
    _send(lab, "bounce@simulator.amazonses.com", "Bounced one")
    _send(lab, "complaint@simulator.amazonses.com", "Spam, they say")
    view = lab.mailbox_view(hold=True)
    for form in (view.to_text(), view.to_html()):
        assert "✓ delivered" in form and "✗ bounced" in form
        assert "⚑ complained (marked as spam)" in form
        assert "3 messages · 1 bounced · 1 complained" in form
    assert 'class="labkit-view labkit-mailbox"' in view.to_html()


def test_an_html_body_is_drawn_sandboxed_and_never_runs(lab: Lab) -> None:
    lab.client("ses").verify_domain_identity(Domain="example.com")
    _send(lab, "ana@example.com", "Welcome <b>Ana</b>", html=EVIL)
    page = lab.mailbox_view(hold=True).to_html()
    # No live markup from the email anywhere in the page: only escaped copies.
    assert "<script" not in page and "<img" not in page and "<h1>" not in page
    assert "Welcome &lt;b&gt;Ana&lt;/b&gt;" in page
    frames = re.findall(r"<iframe[^>]*>", page)
    assert len(frames) == 1 and ' sandbox="" ' in frames[0]
    assert "allow-scripts" not in page
    assert "&lt;script&gt;document.title=" in page  # the source, escaped, for reading


def test_the_text_form_reads_the_html_body_without_its_script(lab: Lab) -> None:
    lab.client("ses").verify_domain_identity(Domain="example.com")
    _send(lab, "ana@example.com", "Welcome", html=EVIL, text="")
    text = lab.mailbox_view(hold=True).to_text()
    assert "Confirm [https://shop.example/confirm] here" in text
    assert "pwned" not in text
    assert html_as_text("<style>p{}</style><p>a</p><br>b") == "a\nb"


def test_a_view_of_one_address_and_a_live_view_that_follows(lab: Lab) -> None:
    lab.client("ses").verify_domain_identity(Domain="example.com")
    live, held = lab.mailbox_view(), lab.mailbox_view(hold=True)
    only_bob = lab.mailbox_view("BOB@example.com", hold=False)
    assert "No message has been sent in this lab yet." in held.to_text()
    _send(lab, "ana@example.com", "For Ana")
    _send(lab, "bob@example.com", "For Bob")
    for view in (live, held, only_bob):
        view.refresh()
    assert "For Ana" in live.to_text() and "For Bob" in live.to_text()
    assert "No message has been sent in this lab yet." in held.to_text()
    assert "For Bob" in only_bob.to_text() and "For Ana" not in only_bob.to_text()
    assert only_bob.to_text().startswith("Mailbox of BOB@example.com")


def test_a_long_mailbox_shows_the_newest_and_counts_what_it_leaves_out(lab: Lab) -> None:
    lab.client("ses").verify_domain_identity(Domain="example.com")
    for n in range(SHOWN + 3):
        _send(lab, f"user{n}@example.com", f"Mail {n}")
    text = lab.mailbox_view(hold=True).to_text()
    assert f"Mail {SHOWN + 2}" in text and "Mail 2\n" not in text
    assert "… and 3 older messages not shown." in text
