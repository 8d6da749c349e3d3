"""JupyterLab started the way the README does, and Chromium driven by Playwright.

``jupyterlab`` starts ``labkit lab --no-browser --port PORT`` from the repository, as a learner
would, with everything JupyterLab would write (settings, workspaces, runtime files, labkit's
progress) redirected to a temporary folder and autosave off, so running the course in a browser
leaves the repository untouched. ``browser`` is Debian's Chromium (``/usr/bin/chromium``)
driven by Playwright's Python package; nothing is downloaded.

Without Playwright or Chromium the browser tests are skipped, unless ``LABKIT_REQUIRE_BROWSER=1``
(CI sets it), in which case they fail: CI must never skip them quietly.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# JupyterLab settings for an unattended run: no autosave (the notebooks in the repository must
# not change), every cell rendered (not only those in view), no news pop-up over the notebook.
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def missing(reason: str) -> None:
    if os.environ.get("LABKIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser test cannot run: {reason}")
    pytest.skip(f"{reason} (set LABKIT_REQUIRE_BROWSER=1 to make this a failure)")


@dataclass
class JupyterLab:
    """A running JupyterLab: where it listens and how to talk to its REST API."""

    url: str
    token: str
    log: Path

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self, path: str) -> None:
        """Shut down the notebook's session and kernel (and only those: one server is shared)."""
        for session in self.api("GET", "/api/sessions"):
            if session.get("path") == path:
                self.api("DELETE", f"/api/sessions/{session['id']}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    if shutil.which("labkit", path=str(ROOT / ".venv" / "bin")) is None:
        missing("labkit is not installed in .venv (run `make setup`)")
    home = tmp_path_factory.mktemp("jupyterlab")
    settings = home / "settings"
    for plugin, values in SETTINGS.items():
        target = settings / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")
    token = secrets.token_hex(16)
    config = home / "config"
    config.mkdir()
    # CI runs as root, which JupyterLab refuses without allow_root. The application object is
    # exposed as window.jupyterapp so the test can ask a document whether it is modified.
    server_config = {
        "ServerApp": {"allow_root": True},
        "IdentityProvider": {"token": token},
        "LabApp": {"expose_app_in_browser": True},
    }
    (config / "jupyter_server_config.json").write_text(json.dumps(server_config), encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        # A learner's JupyterLab is not under pytest: checks must show, not raise.
        if k not in ("PYTEST_CURRENT_TEST", "LABKIT_CHECKS")
    }
    env.update(
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        LABKIT_HOME=str(home / "labkit"),
    )
    port = free_port()
    log = home / "jupyterlab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "labkit"), "lab", "--no-browser", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    lab = JupyterLab(f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                lab.api("GET", "/api/status")
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield lab
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed (it is in the dev extra: `make setup`)")
    if not Path(CHROMIUM).exists():
        missing(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()
