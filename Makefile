# labkit: the two commands of the README, and a few for authors.
#   make lab    set everything up and open the course in JupyterLab
#   make test   set everything up and run the whole test suite
# Everything installs into .venv from requirements.lock (exact versions for every learner).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.labkit-installed
UV_VERSION := 0.13.8

.PHONY: setup lab test lint unit notebooks bench lock assign browser grade-bench

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "labkit needs Python 3.10 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

lab: setup
	$(BIN)/labkit lab

test: setup lint unit notebooks

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/labkit assign --check

unit: setup
	$(BIN)/pytest tests -q

# Lessons and worked solutions must run top to bottom with every check passing.
notebooks: setup
	$(BIN)/pytest --nbval-lax -q -p no:cacheprovider notebooks solutions

bench: setup
	$(BIN)/python benchmarks/run_all.py

# The browser test alone: every lesson and solution run in JupyterLab in Chromium, screenshots in
# artifacts/screenshots/ (`make test` runs it too, as part of the unit tests).
browser: setup
	$(BIN)/pytest tests/browser -q

# Grading speed: labkit grade against pytest --nbval-lax, and 100 submissions (figures printed).
grade-bench: setup
	$(BIN)/python benchmarks/bench_grading.py

# Authors: regenerate exercises and notebooks after editing a source (*.py beside them).
assign: setup
	$(BIN)/labkit assign

# Maintainers: re-resolve the lock after changing dependencies in pyproject.toml.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 -o requirements.lock
