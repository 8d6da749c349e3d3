"""``lab.map()`` drawn in Chromium: the picture renders (every node and edge on the page, broken
edges dashed and saying so), follows the theme's text colour on light and dark backgrounds, and
its text form lists the same connections. Screenshots go to
``artifacts/screenshots/architecture-map-*.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from architecture_support import api_to_function, queue_to_function, topic_to_queue

from labkit.lab import Lab

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.mark.parametrize(
    ("theme", "background", "text"),
    [("light", "#fff", "rgb(0, 0, 0)"), ("dark", "#111", "rgb(255, 255, 255)")],
)
def test_the_map_renders_with_its_text_form(
    browser: Any, lab: Lab, theme: str, background: str, text: str
) -> None:
    topic_to_queue(lab)
    topic_to_queue(lab, "alerts", "closed", allow=False)
    queue_to_function(lab)
    api_to_function(lab)
    view = lab.map(hold=True)
    bundle = view._repr_mimebundle_()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.set_content(
            f'<html><body style="background:{background};color:{text}">'
            f"{bundle['text/html']}</body></html>"
        )
        svg = page.locator(".labkit-map svg")
        box = svg.bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 200
        assert page.locator(".labkit-map-node").count() == 8
        assert page.locator(".labkit-map-edge").count() == 4
        broken = page.locator('.labkit-map-edge[data-status="broken"]')
        assert broken.count() == 1 and "✗ broken" in (broken.text_content() or "")
        dash = broken.locator("path").evaluate("p => getComputedStyle(p).strokeDasharray")
        assert dash not in ("", "none")
        stroke = page.locator(".labkit-map-edge path").first.evaluate(
            "p => getComputedStyle(p).stroke"
        )
        assert stroke == text  # currentColor: the theme's text colour, readable on both
        table = page.locator(".labkit-map table").inner_text()
        for name in ("orders", "billing", "alerts", "closed", "jobs", "worker", "shop"):
            assert name in table
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"architecture-map-{theme}.png"), full_page=True)
    finally:
        page.close()
    words = bundle["text/plain"]
    assert "✗ BROKEN" in words and "closed" in words
    assert words.count("✓ allowed") == 2 and "⚠ DENIED ON AWS" in words
