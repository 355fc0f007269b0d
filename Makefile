# The README's two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
STAMP := $(VENV)/.installed

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

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/run.py

# Extract the UI texts and merge them into the catalogues (then translate messages.po).
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F procedures/translations/babel.cfg -k _l -o procedures/translations/messages.pot .
	$(VENV)/bin/pybabel update -i procedures/translations/messages.pot -d procedures/translations --no-fuzzy-matching
