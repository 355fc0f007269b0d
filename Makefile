# The README's two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
# `make run` serves on 127.0.0.1:$(PORT); `PORT=5301 make run` picks another port.
PORT ?= 5000
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
# One stamp per set of packages: `make run` installs the app's own dependencies only, `make test`
# the test tools too (and marks the app's as installed, so `make run` after it installs nothing).
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# axe-core for the accessibility tests (tests/test_accessibility.py), pinned by its lock file.
A11Y := tests/a11y
A11Y_STAMP := $(A11Y)/node_modules/.installed

# pip with its output held back: shown in full only when it fails, so a working install is quiet.
pip_install = @out=$$($(PY) -m pip install --progress-bar off $(1) 2>&1) || { printf '%s\n' "$$out" >&2; exit 1; }

.PHONY: run test lint format bench translations

$(PY):
	@$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(PY)
	@echo "installing the app's dependencies into $(VENV) (a minute or two the first time)"
	$(call pip_install,--upgrade pip)
	$(call pip_install,-e .)
	@touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	@echo "installing the app and its test tools into $(VENV) (a few minutes the first time)"
	$(call pip_install,--upgrade pip)
	$(call pip_install,-e '.[dev]')
	@touch $@ $(RUN_STAMP)

# Each step says one line at most; `serve` ends with where the app is and who can sign in.
run: $(RUN_STAMP)
	@$(FLASK) init-db
	@$(FLASK) load-demo --with-accounts
	@$(FLASK) ensure-admin --quiet
	@$(FLASK) serve --port $(PORT)

# Without npm the accessibility tests skip with that reason (or fail under REQUIRE_BROWSER).
$(A11Y_STAMP): $(A11Y)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(A11Y) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the accessibility tests will be skipped"; fi

test: $(DEV_STAMP) $(A11Y_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(DEV_STAMP)
	$(PY) bench/run.py

# Fuzz the importer with mutated real inventories for a bounded time (FUZZ_SECONDS, default 180).
.PHONY: bench-fuzz
bench-fuzz: $(DEV_STAMP)
	$(PY) bench/fuzz.py --seconds $(or $(FUZZ_SECONDS),180)

# gunicorn on loopback, 20 Locust clerks for 60 s over the national inventory (SQLite, and
# PostgreSQL when BENCH_POSTGRES_URL is set); writes the load section of docs/BENCHMARKS.md.
.PHONY: bench-load
bench-load: $(DEV_STAMP)
	$(PY) bench/load.py

# Extract the UI texts and merge them into the catalogues (then translate messages.po).
translations: $(DEV_STAMP)
	$(VENV)/bin/pybabel extract -F procedures/translations/babel.cfg -k _l -o procedures/translations/messages.pot .
	$(VENV)/bin/pybabel update -i procedures/translations/messages.pot -d procedures/translations --no-fuzzy-matching --ignore-obsolete
