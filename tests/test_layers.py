"""The house rules of ``labkit/``, checked on every import statement (issue 12's contract).

labkit is laid out by AWS service (``labkit/services/<service>/``) around a small core, and each
module's role is in its name (see :mod:`labkit.services`). The rules keep the layers apart:

- only patch modules (``services/*/patch*.py``) and the sandbox core (``labkit/sandbox/``) import
  moto;
- only widget modules (``services/*/widget*.py`` and ``labkit/widgets/``) import ipywidgets;
- views (``services/*/view*.py`` and ``labkit/views/``) import no widget and no Jupyter;
- simulators (``services/*/sim_*.py``) and state readers (``services/*/state.py``) import neither
  moto nor Jupyter (state readers reach moto through ``labkit.sandbox.backends``);
- the policy engine (``labkit/policy/``) is plain Python;
- nothing imports the CLI.

Every ``import`` counts, at the top of a module or inside a function: a lazy import crosses a layer
as much as an eager one. The checker is tested on planted violations, so it cannot pass vacuously.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "labkit"

MOTO = ("moto",)
WIDGETS = ("ipywidgets",)
JUPYTER = ("ipywidgets", "IPython", "ipykernel", "jupyter_client", "jupyterlab", "nbclient")


@dataclass(frozen=True)
class Rule:
    """Modules matching ``where`` (paths relative to ``labkit/``) must not import ``forbidden``.

    Attributes:
        name: The rule in words, as a failure says it.
        where: Whether a module (its path relative to the package) falls under the rule.
        forbidden: Modules it must not import, nor any beneath them (``*`` matches any name).
    """

    name: str
    where: Callable[[str], bool]
    forbidden: tuple[str, ...]


def _is(*patterns: str) -> Callable[[str], bool]:
    return lambda path: any(fnmatch(path, p) for p in patterns)


def _not(*patterns: str) -> Callable[[str], bool]:
    return lambda path: not any(fnmatch(path, p) for p in patterns)


RULES = (
    Rule(
        "only patch modules and the sandbox core import moto",
        _not("services/*/patch*.py", "sandbox/*.py"),
        MOTO,
    ),
    Rule(
        "only widget modules import ipywidgets",
        _not("services/*/widget*.py", "widgets/*.py"),
        WIDGETS,
    ),
    Rule(
        "views import no widget and no Jupyter",
        _is("services/*/view*.py", "views/*.py"),
        (*JUPYTER, "labkit.widgets", "labkit.services.*.widget*", "traitlets"),
    ),
    Rule(
        "simulators and state readers import neither moto nor Jupyter",
        _is("services/*/sim_*.py", "services/*/state.py"),
        (*MOTO, *JUPYTER, "traitlets"),
    ),
    Rule("the policy engine is plain Python", _is("policy/*.py"), (*MOTO, *JUPYTER, "boto3")),
    Rule("nothing imports the CLI", _not("cli.py"), ("labkit.cli",)),
)


def _imports(source: str) -> Iterator[tuple[int, str]]:
    """``(line, dotted module)`` of every import in ``source``, wherever it stands."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:  # ``from labkit import cli`` imports labkit.cli
                yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.level:
            yield node.lineno, "." * node.level + (node.module or "")


def _hits(module: str, forbidden: tuple[str, ...]) -> bool:
    """Whether ``module`` is one of ``forbidden`` or beneath one (entries may use ``*``)."""
    return any(fnmatch(module, f) or fnmatch(module, f"{f}.*") for f in forbidden)


def violations(package: Path) -> list[str]:
    """Every import in ``package`` that breaks a rule, as ``path:line: module (rule)``."""
    found: list[str] = []
    for file in sorted(package.rglob("*.py")):
        path = file.relative_to(package).as_posix()
        for line, module in _imports(file.read_text(encoding="utf-8")):
            if module.startswith("."):
                found.append(f"{path}:{line}: relative import {module} (labkit imports absolutely)")
                continue
            for rule in RULES:
                if rule.where(path) and _hits(module, rule.forbidden):
                    found.append(f"{path}:{line}: {module} ({rule.name})")
    return found


def test_labkit_keeps_its_layers_apart() -> None:
    assert violations(PACKAGE) == []


def test_every_service_folder_names_its_modules_by_role() -> None:
    roles = ("__init__.py", "patch*.py", "access.py", "state.py", "sim_*.py", "view*.py")
    roles += ("widget*.py", "deploy.py")
    odd = [
        file.relative_to(PACKAGE).as_posix()
        for file in (PACKAGE / "services").glob("*/*.py")
        if not any(fnmatch(file.name, role) for role in roles)
    ]
    assert odd == []


@pytest.mark.parametrize(
    ("path", "source", "rule"),
    [
        ("services/sqs/view.py", "import moto\n", "only patch modules"),
        ("services/sqs/state.py", "from moto.sqs.models import Queue\n", "only patch modules"),
        ("services/kinesis/sim_load.py", "def f():\n    import ipywidgets\n", "ipywidgets"),
        ("services/sns/view.py", "from labkit.services.sns.widget import TopicView\n", "views"),
        ("views/base.py", "import traitlets\n", "views import no widget"),
        ("services/awslambda/sim_runtime.py", "from IPython import display\n", "simulators"),
        ("policy/engine.py", "import boto3\n", "policy engine"),
        ("grading/report.py", "from labkit import cli\n", "CLI"),
        ("labs/welcome.py", "from labkit.cli import main\n", "CLI"),
        ("services/sqs/patch.py", "from . import state\n", "relative import"),
    ],
)
def test_a_planted_violation_is_caught(tmp_path: Path, path: str, source: str, rule: str) -> None:
    file = tmp_path / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(source)
    found = violations(tmp_path)
    assert found and all(f.startswith(f"{path}:") for f in found)
    assert any(rule in f for f in found), found


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("services/sqs/patch.py", "from moto.sqs import models\n"),
        ("sandbox/backends.py", "from moto.core.base_backend import BackendDict\n"),
        ("services/sqs/widget.py", "import ipywidgets\n"),
        ("cli.py", "from labkit.grading import batch\n"),
        ("services/sqs/state.py", "from labkit.sandbox.backends import existing\n"),
    ],
)
def test_what_the_rules_allow_passes(tmp_path: Path, path: str, source: str) -> None:
    file = tmp_path / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(source)
    assert violations(tmp_path) == []


#: DEVELOPERS.md: a module per concept, no file past about 800 lines.
MAX_LINES = 800


def too_long(root: Path, limit: int = MAX_LINES) -> list[str]:
    """The modules under ``root`` longer than ``limit`` lines, with their length."""
    found = []
    for path in sorted(root.rglob("*.py")):
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > limit:
            found.append(f"{path.relative_to(root)}: {count} lines")
    return found


def test_every_module_stays_under_the_size_limit() -> None:
    assert too_long(PACKAGE) == [], "split these modules by concept"


def test_a_planted_long_module_is_caught(tmp_path: Path) -> None:
    (tmp_path / "short.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    assert too_long(tmp_path) == [f"long.py: {MAX_LINES + 1} lines"]
