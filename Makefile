# The README's two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
STAMP := $(VENV)/.installed
# axe-core for the accessibility tests (tests/test_accessibility.py), pinned by its lock file.
A11Y := tests/a11y
A11Y_STAMP := $(A11Y)/node_modules/.installed

.PHONY: run test lint format bench translations

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(FLASK) init-db
	$(FLASK) load-demo
	$(FLASK) ensure-admin
	$(FLASK) run --host 127.0.0.1 --port 5000

# Without npm the accessibility tests skip with that reason (or fail under REQUIRE_BROWSER).
$(A11Y_STAMP): $(A11Y)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(A11Y) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the accessibility tests will be skipped"; fi

test: $(STAMP) $(A11Y_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/run.py

# Fuzz the importer with mutated real inventories for a bounded time (FUZZ_SECONDS, default 180).
.PHONY: bench-fuzz
bench-fuzz: $(STAMP)
	$(PY) bench/fuzz.py --seconds $(or $(FUZZ_SECONDS),180)

# gunicorn on loopback, 20 Locust clerks for 60 s over the national inventory (SQLite, and
# PostgreSQL when BENCH_POSTGRES_URL is set); writes the load section of docs/BENCHMARKS.md.
.PHONY: bench-load
bench-load: $(STAMP)
	$(PY) bench/load.py

# Extract the UI texts and merge them into the catalogues (then translate messages.po).
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F procedures/translations/babel.cfg -k _l -o procedures/translations/messages.pot .
	$(VENV)/bin/pybabel update -i procedures/translations/messages.pot -d procedures/translations --no-fuzzy-matching --ignore-obsolete
