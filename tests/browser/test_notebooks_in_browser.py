"""Every lesson, run in a real browser: every widget renders, no JavaScript errors.

For each notebook (the course index, then each lab's lesson) the test opens it in JupyterLab in
Chromium and asserts that opening it does not mark it modified (a learner who only reads is never
asked to save). Then it runs all cells from the menu as a learner would, waits for the kernel to
finish, and asserts that

- every code cell ran (a cell that raises stops "Run All" and is reported with its error);
- every check the lesson runs passed (shown as a learner sees it, not raised);
- every widget output rendered as a widget, and nothing says "Error displaying widget" or
  "model not found";
- each ``.view()`` in the notebook's code produced a rendered widget;
- the browser console logged no error and the page threw no exception;
- each lesson view still shows what its text describes (held views hold their moment, a live
  view steps back through its history): ``lesson_views.py``.

A full-length screenshot of each notebook is saved in ``artifacts/screenshots/``: what a learner
sees after running it. Each notebook file is compared before and after: running it in the
browser must not change it.

Each notebook is executed once per ``make test``. Worked solutions are not run here: the unit
tests grade each one (``tests/test_labs.py``, the ``labkit grade`` path graders use: every cell
runs without raising and every check passes), and every widget a solution shows is shown by its
lesson too, which ``test_every_widget_of_a_solution_is_shown_by_its_lesson`` keeps true.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from lesson_views import view_problems

from labkit.authoring.assign import PYTHON_VERSION
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
        found.append(spec.lesson)
    return found


def code_cells(path: str) -> list[str]:
    """The sources of the notebook's code cells (read, never written)."""
    cells = json.loads((ROOT / path).read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def views_in(path: str) -> int:
    """How many code cells end with a ``.view()`` call (each should show a widget)."""
    return sum(1 for source in code_cells(path) if re.search(r"\.view\(\s*\)\s*$", source))


# Every code cell's prompt, and every output: its MIME type, what it shows, and whether it shows
# a check that did not pass (a check's card, or a row of lab.score()'s table).
_STATE = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')];
  const notPassed = out => [
    ...[...out.querySelectorAll('.labkit-check.labkit-failed, .labkit-check.labkit-error')]
      .map(card => card.innerText),
    ...[...out.querySelectorAll('.labkit-score tbody tr')]
      .filter(row => /(failed|error)\\s*$/.test(row.cells[0].innerText))
      .map(row => row.innerText),
  ];
  return cells.map(cell => ({
    prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
    source: (cell.querySelector('.jp-InputArea-editor') || {}).textContent || '',
    outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(out => ({
      mime: out.getAttribute('data-mime-type'),
      widget: !!out.querySelector('.jupyter-widgets'),
      text: out.innerText,
      failed: notPassed(out),
    })),
  }));
}"""

# The open notebook: JupyterLab's modified flag, the tab's dirty mark, and the metadata it holds.
_OPENED = """() => {
  const widget = window.jupyterapp.shell.currentWidget;
  return {
    dirty: widget.context.model.dirty,
    tab: !!document.querySelector('.jp-mod-current.jp-mod-dirty, .lm-TabBar-tab.jp-mod-dirty'),
    metadata: widget.context.model.toJSON().metadata,
  };
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


def opened_problems(path: str, opened: dict[str, Any]) -> list[str]:
    """What is wrong with how JupyterLab holds a notebook it has just opened (nothing, ideally).

    Opening must not mark the notebook modified. The one change tolerated is the kernel's
    Python version (``language_info.version``) when the kernel runs another Python than the one
    the notebooks were generated for (``PYTHON_VERSION`` in ``labkit/authoring/assign.py``): a
    warning, as a learner with that Python will be asked to save.
    """
    if not opened["dirty"] and not opened["tab"]:
        return []
    stored = json.loads((ROOT / path).read_text(encoding="utf-8"))["metadata"]
    held = opened["metadata"]
    version = held.get("language_info", {}).get("version")
    if version != PYTHON_VERSION:
        held = {**held, "language_info": {**held["language_info"], "version": PYTHON_VERSION}}
        if held == stored:
            warnings.warn(
                f"{path}: the kernel runs Python {version}, the notebooks are generated for "
                f"{PYTHON_VERSION}: opening one marks it modified here",
                stacklevel=1,
            )
            return []
    return [
        f"opening it in JupyterLab marks it modified (model.dirty={opened['dirty']}, dirty tab="
        f"{opened['tab']}); metadata on disk {stored}, in JupyterLab {opened['metadata']}"
    ]


def widget_calls(source: str) -> set[str]:
    """The widget-showing calls in a notebook source: ``.view()`` and ``name_view(...)``."""
    found = set(re.findall(r"\b(\w+_view)\(", source))
    if re.search(r"\.view\(", source):
        found.add(".view")
    return found


@pytest.mark.parametrize("lab_id", list(catalog()))
def test_every_widget_of_a_solution_is_shown_by_its_lesson(lab_id: str) -> None:
    """Solutions run in the unit tests, not here: their widgets must be proven by the lessons."""
    spec = catalog()[lab_id]
    lesson = widget_calls((ROOT / spec.lesson_source).read_text(encoding="utf-8"))
    solution = widget_calls((ROOT / spec.source).read_text(encoding="utf-8"))
    assert solution <= lesson, f"only in {spec.source}: {sorted(solution - lesson)}"


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
        page.wait_for_timeout(500)  # the kernel's info reply has reached the document
        opened = page.evaluate(_OPENED)
        problems += opened_problems(path, opened)
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
        # After Run All, each held view still shows its moment and the live view steps back.
        problems += view_problems(page, path)
    finally:
        # Saved whatever happened: when the test fails, the screenshot shows why.
        with contextlib.suppress(Exception):
            screenshots(page, name)
        page.close()
        jupyterlab.shut_down_kernels(path)

    stopped = False
    for number, cell in enumerate(cells, start=1):
        code = cell["source"].strip().splitlines()[:1]
        if not re.search(r"\[\d+\]", cell["prompt"]):
            problems.append(f"code cell {number} ({code}) did not run: {cell['prompt']!r}")
            if not stopped and number > 1:
                # Run All stops at a cell that raises, whatever its output looks like (an error
                # labkit shows without a traceback, say): name the cell it stopped after.
                last = " | ".join(o["text"][-300:] for o in cells[number - 2]["outputs"])
                problems.append(
                    f"Run All stopped after code cell {number - 1}, which showed: {last}"
                )
            stopped = True
        for output in cell["outputs"]:
            text = output["text"]
            # An exception's traceback (IPython's, or labkit's failed check) is shown as stderr;
            # text a cell merely prints (a Lambda's logged error, say) is not.
            if output["mime"] in STDERR and re.search(
                r"Traceback \(most recent call last\)|labkit: a check failed", text
            ):
                problems.append(f"code cell {number} ({code}) raised: {text[-400:]}")
            for failed in output["failed"]:
                problems.append(f"code cell {number} ({code}): a check did not pass: {failed}")
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
