# labkit: the two commands of the README, and a few for authors.
#   make lab    set everything up and open the course in JupyterLab
#   make test   set everything up and run the whole test suite
# Everything installs into .venv from requirements.lock (exact versions for every learner).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.labkit-installed
UV_VERSION := 0.13.8
# pytest-xdist workers for the unit tests: one per core (`make test WORKERS=1` runs them in turn).
WORKERS ?= auto
# The stages of `make test`, in order; each is also a target of its own. The unit and browser
# tests run at the same time (unit+browser): the browser tests keep about one core busy with
# JupyterLab, a kernel and Chromium, and spend much of their time waiting on the page, while the
# unit tests' workers fill what is left.
TEST_STAGES := lint unit+browser
MOTO_NEXT := .venv-moto-next

.PHONY: setup lab test lint unit notebooks bench lock assign browser unit+browser grade-bench \
	moto-next

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

# Every stage in turn, stopping at the first that fails, then the wall time of each and in all.
test: setup
	@status=0; times=""; start=$$(date +%s.%N); \
	for stage in $(TEST_STAGES); do \
	  begin=$$(date +%s.%N); \
	  $(MAKE) --no-print-directory $$stage || status=$$?; \
	  times="$$times$$(printf '  %-12s %7.1f s' $$stage $$(echo "$$(date +%s.%N) $$begin" | awk '{print $$1 - $$2}'))\n"; \
	  [ $$status -eq 0 ] || { times="$$times  ($$stage failed: later stages not run)\n"; break; }; \
	done; \
	printf '\nmake test, wall time by stage:\n%b  %-12s %7.1f s\n' "$$times" total \
	  $$(echo "$$(date +%s.%N) $$start" | awk '{print $$1 - $$2}'); \
	exit $$status

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/labkit assign --check

# Unit tests on every core. They include tests/test_labs.py, which grades every lab's worked
# solution (every cell runs, every check passes) and exercise: the solutions run there, once.
# The 20 slowest tests are listed at the end: where to look when the suite nears its 20 minutes.
unit: setup
	$(BIN)/pytest tests -q -n $(WORKERS) --dist loadscope --ignore=tests/browser --durations=20

# Authors: every lesson and solution with nbval, as learners' notebooks are graded in CI. Not part
# of `make test`, which runs each notebook once: lessons in the browser, solutions in `unit`.
notebooks: setup
	$(BIN)/pytest --nbval-lax -q -p no:cacheprovider notebooks solutions

bench: setup
	$(BIN)/python benchmarks/run_all.py

# The course index and every lesson run in JupyterLab in Chromium, screenshots in
# artifacts/screenshots/ (one JupyterLab server for the whole run).
browser: setup
	$(BIN)/pytest tests/browser -q

# The unit and browser tests at the same time; the browser's output follows the unit tests',
# then the wall time of each. Fails when either fails.
unit+browser: setup
	@log=$$(mktemp); start=$$(date +%s.%N); \
	( $(MAKE) --no-print-directory browser >$$log 2>&1; status=$$?; \
	  echo "$$(date +%s.%N) $$start" | awk '{print $$1 - $$2}' >$$log.took; exit $$status ) & \
	browser=$$!; \
	status=0; \
	$(MAKE) --no-print-directory unit || status=$$?; \
	unit=$$(echo "$$(date +%s.%N) $$start" | awk '{print $$1 - $$2}'); \
	wait $$browser || status=$$?; \
	printf '\nbrowser tests (run beside the unit tests):\n'; cat $$log; \
	printf '\n  %-12s %7.1f s\n  %-12s %7.1f s\n' unit $$unit browser $$(cat $$log.took); \
	rm -f $$log $$log.took; \
	exit $$status

# Grading speed: labkit grade against pytest --nbval-lax, and 100 submissions (figures printed).
grade-bench: setup
	$(BIN)/python benchmarks/bench_grading.py

# Authors: regenerate exercises and notebooks after editing a source (*.py beside them).
assign: setup
	$(BIN)/labkit assign

# Maintainers: re-resolve the lock after changing dependencies in pyproject.toml.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 -o requirements.lock

# Maintainers: the unit tests against the newest moto on PyPI (everything else as locked), in
# .venv-moto-next/, then what broke, by test module. Never fails: it is a survey for an upgrade.
moto-next: setup
	rm -rf $(MOTO_NEXT)
	$(PYTHON) -m venv $(MOTO_NEXT)
	$(BIN)/uv pip sync --quiet --python $(MOTO_NEXT)/bin/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(MOTO_NEXT)/bin/python --no-deps -e .
	$(BIN)/uv pip install --quiet --python $(MOTO_NEXT)/bin/python --upgrade-package moto 'moto[all]'
	@version=$$($(MOTO_NEXT)/bin/python -c 'import moto; print(moto.__version__)'); \
	echo "moto-next: moto $$version (the lock has $$(grep -m1 '^moto==' requirements.lock))"; \
	$(MOTO_NEXT)/bin/pytest tests -q -n $(WORKERS) --dist loadscope --ignore=tests/browser -p no:cacheprovider \
	  --junitxml=$(MOTO_NEXT)/unit.xml >$(MOTO_NEXT)/unit.log 2>&1; \
	tail -n 3 $(MOTO_NEXT)/unit.log; \
	$(BIN)/python .ci/moto_next_report.py $(MOTO_NEXT)/unit.xml $$version
