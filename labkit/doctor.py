"""``labkit doctor``: is this installation one a class can run on?

The commonest breakage in notebook courses is version drift: a JupyterLab front end and an
ipywidgets kernel package that do not speak the same widget protocol show "Error displaying
widget: model not found" instead of the lab's views; moto or boto3 at another version behave
differently from what the course was written and tested against. Doctor checks, and says what
to do for each problem:

- the Python version;
- the JupyterLab server against its front end;
- that the widget front end (``@jupyter-widgets/jupyterlab-manager``) is installed and enabled;
- that the kernel's ipywidgets speaks the protocol that front end expects;
- that jupyterlab, ipywidgets, jupyterlab-widgets, ipykernel, moto and boto3 are the versions in
  ``requirements.lock``.

Each check is a small function of plain values, so tests can feed it broken installations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

MINIMUM_PYTHON = (3, 10)
WIDGET_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
#: Packages whose versions must be exactly the locked ones for the course to behave as tested.
LOCKED_PACKAGES = ("jupyterlab", "ipywidgets", "jupyterlab-widgets", "ipykernel", "moto", "boto3")
#: The widget model version a kernel's ipywidgets speaks (``__jupyter_widgets_base_version__``
#: major) and the major version of the front end's ``@jupyter-widgets/base`` that speaks it.
WIDGET_PROTOCOL = {"1": "4", "2": "6"}
SETUP_FIX = (
    "Reinstall the locked versions: `make setup` (or `.venv/bin/uv pip sync --python "
    ".venv/bin/python requirements.lock`), then restart JupyterLab and the kernel."
)


@dataclass(frozen=True)
class Finding:
    """One check's verdict.

    Attributes:
        name: What was checked.
        ok: Whether it is fine.
        detail: What was found.
        fix: What to do when it is not fine (empty when it is).
    """

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return asdict(self)

    def text(self) -> str:
        """One line, and the fix on the next when there is a problem."""
        mark = "✔ ok     " if self.ok else "✘ PROBLEM"
        line = f"{mark} {self.name}: {self.detail}"
        return line if self.ok or not self.fix else f"{line}\n            → {self.fix}"


# -- the checks, on plain values --------------------------------------------------------------
def check_python(version: Sequence[int]) -> Finding:
    """Python must be at least :data:`MINIMUM_PYTHON`."""
    shown = ".".join(str(v) for v in version[:3])
    need = ".".join(str(v) for v in MINIMUM_PYTHON)
    if tuple(version[:2]) >= MINIMUM_PYTHON:
        return Finding("Python", True, f"{shown} (labkit needs {need} or newer)")
    return Finding(
        "Python",
        False,
        f"{shown}, but labkit needs {need} or newer",
        f"Install Python {need} or newer, then run `make setup` with it "
        f"(`make setup PYTHON=python{need}`).",
    )


def parse_lock(text: str, environment: Mapping[str, str] | None = None) -> dict[str, str]:
    """``name -> version`` from a uv/pip-compile lock, keeping lines whose marker applies here."""
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "-")) or "==" not in line:
            continue
        requirement, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(
            dict(environment) if environment else None
        ):
            continue
        name, _, version = requirement.partition("==")
        name = name.split("[", 1)[0].strip()
        pins[canonicalize_name(name)] = version.strip()
    return pins


def check_locked(
    installed: Mapping[str, str | None],
    locked: Mapping[str, str],
    names: Sequence[str] = LOCKED_PACKAGES,
) -> list[Finding]:
    """Each of ``names`` must be installed at its locked version."""
    findings = []
    for name in names:
        want = locked.get(name)
        have = installed.get(name)
        if want is None:
            findings.append(Finding(name, True, f"{have or 'not installed'} (not in the lock)"))
        elif have is None:
            findings.append(Finding(name, False, f"not installed; the lock says {want}", SETUP_FIX))
        elif have != want:
            findings.append(
                Finding(name, False, f"{have} installed, but the lock says {want}", SETUP_FIX)
            )
        else:
            findings.append(Finding(name, True, f"{have}, as locked"))
    return findings


def check_frontend(server: str | None, front_end: str | None) -> Finding:
    """The JupyterLab server package and the front end it serves must be one release."""
    if server is None:
        return Finding("JupyterLab", False, "not installed in this environment", SETUP_FIX)
    if front_end is None:
        return Finding(
            "JupyterLab",
            False,
            f"server {server}, but its front end (share/jupyter/lab/static) is missing",
            SETUP_FIX,
        )
    if front_end != server:
        return Finding(
            "JupyterLab",
            False,
            f"server {server}, but the front end it serves is {front_end}",
            "Rebuild or reinstall JupyterLab so both match: " + SETUP_FIX,
        )
    return Finding("JupyterLab", True, f"{server}, server and front end match")


def check_widget_extension(
    extension: Mapping[str, Any] | None, where: str | None, disabled: bool
) -> Finding:
    """The widget front end must be installed (as a prebuilt extension) and enabled."""
    name = "widget extension"
    if extension is None:
        return Finding(
            name,
            False,
            f"{WIDGET_EXTENSION} is not installed, so widgets show as "
            '"Error displaying widget: model not found"',
            "Install the locked jupyterlab-widgets: " + SETUP_FIX,
        )
    if disabled:
        return Finding(
            name,
            False,
            f"{WIDGET_EXTENSION} {extension.get('version')} is installed but disabled",
            f"Enable it: `jupyter labextension enable {WIDGET_EXTENSION}`, then reload the page.",
        )
    return Finding(name, True, f"{WIDGET_EXTENSION} {extension.get('version')} in {where}")


def check_widget_protocol(
    kernel_ipywidgets: str | None,
    kernel_base_version: str | None,
    extension: Mapping[str, Any] | None,
    kernel: str = "python3",
) -> Finding:
    """The kernel's ipywidgets must speak the widget protocol of the front end."""
    name = f"widgets in the {kernel} kernel"
    if kernel_ipywidgets is None or kernel_base_version is None:
        return Finding(
            name,
            False,
            "ipywidgets is not installed in the kernel, so lab.view() cannot show anything",
            "Install the locked packages into the kernel's environment: " + SETUP_FIX,
        )
    if extension is None:
        return Finding(name, False, "no widget front end to talk to (see above)", SETUP_FIX)
    wanted = WIDGET_PROTOCOL.get(kernel_base_version.split(".", 1)[0])
    base = str(extension.get("dependencies", {}).get("@jupyter-widgets/base", ""))
    have = base.lstrip("^~=>< ").split(".", 1)[0]
    if wanted is None or have != wanted:
        return Finding(
            name,
            False,
            f"ipywidgets {kernel_ipywidgets} (widget models {kernel_base_version}) cannot be "
            f"shown by {WIDGET_EXTENSION} {extension.get('version')} (@jupyter-widgets/base "
            f"{base or '?'}): widgets would show 'Error displaying widget: model not found'",
            "Use the ipywidgets and jupyterlab-widgets of one release pair, as locked: "
            + SETUP_FIX,
        )
    return Finding(
        name,
        True,
        f"ipywidgets {kernel_ipywidgets} (widget models {kernel_base_version}) matches "
        f"{WIDGET_EXTENSION} {extension.get('version')}",
    )


# -- looking at this installation -------------------------------------------------------------
def _installed(names: Sequence[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _front_end_version() -> str | None:
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("lab"):
        package = Path(folder) / "static" / "package.json"
        if package.is_file():
            version = json.loads(package.read_text(encoding="utf-8")).get("version")
            return str(version) if version else None
    return None


def _widget_extension() -> tuple[dict[str, Any] | None, str | None, bool]:
    from jupyter_core.paths import jupyter_config_path, jupyter_path

    found: dict[str, Any] | None = None
    where = None
    for folder in jupyter_path("labextensions"):
        package = Path(folder) / WIDGET_EXTENSION / "package.json"
        if package.is_file():
            found = json.loads(package.read_text(encoding="utf-8"))
            where = folder
            break
    disabled = False
    for folder in jupyter_config_path():
        config = Path(folder) / "labconfig" / "page_config.json"
        if config.is_file():
            try:
                off = json.loads(config.read_text(encoding="utf-8")).get("disabledExtensions", {})
            except ValueError:
                continue
            if (isinstance(off, dict) and off.get(WIDGET_EXTENSION)) or (
                isinstance(off, list) and WIDGET_EXTENSION in off
            ):
                disabled = True
    return found, where, disabled


_KERNEL_PROBE = (
    "import json\n"
    "try:\n"
    "    import ipywidgets, ipywidgets._version as v\n"
    "    print(json.dumps([ipywidgets.__version__, v.__jupyter_widgets_base_version__]))\n"
    "except ImportError:\n"
    "    print(json.dumps([None, None]))\n"
)


def _kernel_widgets(kernel: str = "python3") -> tuple[str | None, str | None, str]:
    """ipywidgets' version and widget-model version in the kernel's own Python."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        return None, None, f"no kernel called {kernel!r}"
    program = spec.argv[0] if spec.argv else ""
    # jupyter_client runs "python" kernels with the server's own Python.
    if program in ("python", "python3", "{python}"):
        program = sys.executable
    if os.path.realpath(program) == os.path.realpath(sys.executable):
        from labkit.widgets.versions import installed

        found = installed()
        if found is None:
            return None, None, program
        return found[0], found[1], program
    try:
        out = subprocess.run(
            [program, "-c", _KERNEL_PROBE], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        widgets, base = json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None, None, program
    return widgets, base, program


def lock_path() -> Path:
    """The course's lock file (labkit is installed from the repository in editable mode)."""
    return Path(__file__).resolve().parent.parent / "requirements.lock"


def diagnose(*, lock: Path | None = None, kernel: str = "python3") -> list[Finding]:
    """Run every check on this installation."""
    findings = [check_python(tuple(sys.version_info[:3]))]
    installed = _installed(LOCKED_PACKAGES)
    findings.append(check_frontend(installed.get("jupyterlab"), _front_end_version()))
    extension, where, disabled = _widget_extension()
    findings.append(check_widget_extension(extension, where, disabled))
    widgets, base, _program = _kernel_widgets(kernel)
    findings.append(check_widget_protocol(widgets, base, extension, kernel))
    path = lock or lock_path()
    if path.is_file():
        findings.extend(check_locked(installed, parse_lock(path.read_text(encoding="utf-8"))))
    else:
        findings.append(
            Finding(
                "locked versions",
                False,
                f"no lock file at {path}",
                "Run labkit from the course repository (where requirements.lock is).",
            )
        )
    return findings


def format_report(findings: Sequence[Finding]) -> str:
    """The plain-text report of ``labkit doctor``."""
    problems = [f for f in findings if not f.ok]
    lines = [f.text() for f in findings]
    lines.append(
        "All good: this installation matches the course."
        if not problems
        else f"{len(problems)} problem(s): fix them in the order shown, then run `labkit doctor` "
        "again."
    )
    return "\n".join(lines)
