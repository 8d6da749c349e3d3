"""Every lesson and solution, run in a real browser: every widget renders, no JavaScript errors.

For each notebook (the course index, then each lab's lesson and solution) the test opens it in
JupyterLab in Chromium, runs all cells from the menu as a learner would, waits for the kernel to
finish, and asserts that

- every code cell ran (a cell that raises stops "Run All" and is reported with its error);
- every widget output rendered as a widget, and nothing says "Error displaying widget" or
  "model not found";
- each ``.view()`` in the notebook's code produced a rendered widget;
- the browser console logged no error and the page threw no exception.

A full-length screenshot of each notebook is saved in ``artifacts/screenshots/``: what a learner
sees after running it. Each notebook file is compared before and after: running it in the
browser must not change it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from labkit.labs import catalog

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
RUN_TIMEOUT_MS = 300_000
WIDTH = 1280
PAGE = 4_000
STDERR = ("application/vnd.jupyter.stderr", "application/vnd.jupyter.error")


def notebooks() -> list[str]:
    found = ["notebooks/00_index.ipynb"]
    for spec in catalog().values():
        found += [spec.lesson, spec.solution]
    return found


def code_cells(path: str) -> list[str]:
    """The sources of the notebook's code cells (read, never written)."""
    cells = json.loads((ROOT / path).read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def views_in(path: str) -> int:
    """How many code cells end with a ``.view()`` call (each should show a widget)."""
    return sum(1 for source in code_cells(path) if re.search(r"\.view\(\s*\)\s*$", source))


# Every code cell's prompt, and every output: its MIME type and what it shows.
_STATE = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')];
  return cells.map(cell => ({
    prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
    source: (cell.querySelector('.jp-InputArea-editor') || {}).textContent || '',
    outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(out => ({
      mime: out.getAttribute('data-mime-type'),
      widget: !!out.querySelector('.jupyter-widgets'),
      text: out.innerText,
    })),
  }));
}"""

_KERNEL_READY = """() => {
  const bar = document.querySelector('#jp-main-statusbar');
  return !!bar && /\\|\\s*Idle/.test(bar.innerText);
}"""

_DONE = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim());
  const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const idle = !status || status.getAttribute('data-status') === 'idle';
  return idle && !prompts.some(p => p.includes('*'))
    && (prompts.length === 0 || prompts.some(p => /\\d/.test(p)));
}"""


def digest(path: str) -> str:
    return hashlib.sha256((ROOT / path).read_bytes()).hexdigest()


def screenshots(page: Any, name: str) -> list[Path]:
    """The whole notebook, top to bottom, in pages of at most PAGE pixels.

    ``name.png`` when it fits in one page, else ``name-1.png``, ``name-2.png``, ... The window is
    made as tall as a page and the notebook scrolled page by page, so what is saved is exactly
    what a learner scrolling through it sees.
    """
    outer = "document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"
    height = int(page.evaluate(f"() => {outer}.scrollHeight"))
    chrome = int(page.evaluate(f"() => window.innerHeight - {outer}.clientHeight"))
    view = min(height, PAGE)
    page.set_viewport_size({"width": WIDTH, "height": view + chrome})
    page.wait_for_timeout(300)
    pages = max(1, -(-height // view))
    for old in SCREENSHOTS.glob(f"{name}*.png"):
        old.unlink()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved = []
    for index in range(pages):
        page.evaluate(f"() => {outer}.scrollTo(0, {index * view})")
        page.wait_for_timeout(300)
        target = SCREENSHOTS / (f"{name}.png" if pages == 1 else f"{name}-{index + 1}.png")
        page.screenshot(path=str(target))
        saved.append(target)
    return saved


@pytest.mark.parametrize("path", notebooks())
def test_notebook_runs_in_the_browser_with_every_widget_rendered(
    path: str, jupyterlab: Any, browser: Any
) -> None:
    if not (ROOT / path).is_file():
        pytest.fail(f"{path} does not exist: run `labkit assign` to generate it")
    before = digest(path)
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console error: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    name = path.replace("/", "_").removesuffix(".ipynb")
    cells: list[dict[str, Any]] = []
    try:
        # A workspace of its own, reset: only this notebook open, as a learner opening it.
        workspace = re.sub(r"\W", "-", path)
        page.goto(
            f"{jupyterlab.url}/lab/workspaces/{workspace}/tree/{path}?reset&token={jupyterlab.token}"
        )
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=120_000)
        # As a learner would: wait until the kernel has started and says it is idle.
        page.wait_for_function(_KERNEL_READY, timeout=120_000, polling=250)
        # The file browser off: the screenshot is the notebook, at full width.
        page.click("li.lm-MenuBar-item:has-text('View')")
        page.click("li.lm-Menu-item:has-text('File Browser')")
        if code_cells(path):
            page.click("li.lm-MenuBar-item:has-text('Run')")
            page.click("li.lm-Menu-item:has-text('Run All Cells')")
            try:
                page.wait_for_function(_DONE, timeout=RUN_TIMEOUT_MS, polling=500)
            except Exception:
                problems.append(f"the cells were still running after {RUN_TIMEOUT_MS // 1000} s")
        page.wait_for_timeout(1_500)  # widgets render after their cell has finished
        cells = page.evaluate(_STATE)
    finally:
        # Saved whatever happened: when the test fails, the screenshot shows why.
        with contextlib.suppress(Exception):
            screenshots(page, name)
        page.close()
        jupyterlab.shut_down_kernels()

    for number, cell in enumerate(cells, start=1):
        code = cell["source"].strip().splitlines()[:1]
        if not re.search(r"\[\d+\]", cell["prompt"]):
            problems.append(f"code cell {number} ({code}) did not run: {cell['prompt']!r}")
        for output in cell["outputs"]:
            text = output["text"]
            # An exception's traceback (IPython's, or labkit's failed check) is shown as stderr;
            # text a cell merely prints (a Lambda's logged error, say) is not.
            if output["mime"] in STDERR and re.search(
                r"Traceback \(most recent call last\)|labkit: a check failed", text
            ):
                problems.append(f"code cell {number} ({code}) raised: {text[-400:]}")
            if "error displaying widget" in text.lower() or "model not found" in text.lower():
                problems.append(f"code cell {number} ({code}): {text[:200]}")
            if output["mime"] is None and not output["widget"] and text.strip():
                problems.append(
                    f"code cell {number} ({code}): an output that is neither a widget nor a "
                    f"known type: {text[:200]}"
                )
    if digest(path) != before:
        problems.append("running it in JupyterLab changed the notebook file")
    widgets = sum(o["widget"] for c in cells for o in c["outputs"])
    if widgets < views_in(path):
        problems.append(f"{views_in(path)} .view() call(s) but {widgets} rendered widget(s)")
    assert not problems, f"{path}:\n" + "\n".join(problems)
