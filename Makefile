# The README's two commands: `make serve` and `make test`. Each sets up everything it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_OK  := $(VENV)/.installed
JS_OK  := node_modules/.installed
# Lint and fuzz tools (slither, schemathesis) live in a venv of their own, .venv/dev, pinned by
# requirements-dev.lock: `make test` neither installs nor imports them.
DEV    := $(VENV)/dev/bin
DEV_OK := $(VENV)/dev/.installed
FUZZ_TIME ?= 300

.PHONY: serve test install demo bench lint fuzz clean

serve: install  ## start the API on the embedded chain at http://127.0.0.1:8000
	$(BIN)/civic-ledger serve

test: install  ## run the whole test suite (embedded chain and anvil)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(PY_OK) $(JS_OK)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(PY_OK): $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(JS_OK): package.json package-lock.json
	@# `npm ci` installs exactly the lock and never writes it: a fresh clone stays clean. The lock
	@# lists every platform's optional anvil binary (npm installs only this platform's), so `npm ci`
	@# accepts it; regenerate it with `npm install --package-lock-only` after changing package.json.
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: install  ## fill the server `make serve` runs (another shell) with a small demo city
	$(BIN)/civic-ledger demo $(DEMO_ARGS)

bench: install  ## print the benchmark figures (JSON)
	$(BIN)/python scripts/bench.py all --json

$(DEV_OK): requirements-dev.lock $(BIN)/python
	$(PYTHON) -m venv $(VENV)/dev
	$(DEV)/python -m pip install --quiet --upgrade pip
	$(DEV)/python -m pip install --quiet -r requirements-dev.lock
	touch $@

lint: install $(DEV_OK)  ## ruff, mypy, then slither over contracts/ (settings: slither.config.json)
	$(BIN)/python -m ruff check backend tests scripts
	$(BIN)/python -m mypy backend/civic_ledger
	$(DEV)/slither contracts

fuzz: install $(DEV_OK)  ## schemathesis over /openapi.json, signed out and in (FUZZ_TIME s per pass)
	$(BIN)/python scripts/fuzz.py --time $(FUZZ_TIME)

clean:
	rm -rf $(VENV) node_modules build .pytest_cache
