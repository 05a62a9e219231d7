# Two commands are all the set-up anyone needs: `make build` and `make test`.
# Both create the virtual environment in .venv and install cpdgen into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

NODE_TOOLS := node_modules/.installed

.PHONY: build test check bench golden clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# The Nu HTML checker and axe-core, for the site's tests (no install scripts are run).
$(NODE_TOOLS): package.json
	@if command -v npm >/dev/null 2>&1; then \
		npm install --no-audit --no-fund --ignore-scripts && touch $(NODE_TOOLS); \
	else \
		echo "npm not found: the HTML validity and accessibility tests will be skipped"; \
	fi

## build: install, then build the example portfolio in content/ into site/
build: $(INSTALLED)
	$(BIN)/cpdgen build
	@echo "To preview it over HTTP instead: $(BIN)/python -m http.server -b 127.0.0.1 -d site 8000, then open http://127.0.0.1:8000/"

## test: install, then run the whole test suite
test: $(INSTALLED) $(NODE_TOOLS)
	$(BIN)/python -m pytest

## golden: refresh the stored example site (tests/golden/) after an intended change; review the diff
golden: $(INSTALLED)
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_html.py -k golden

## check: judge the example portfolio (the CI check a member runs)
check: $(INSTALLED)
	$(BIN)/cpdgen check

## bench: time cpdgen on a generated 1,000-activity portfolio
bench: $(INSTALLED)
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) site records .pytest_cache .hypothesis node_modules
