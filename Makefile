# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   -> creates .venv/, installs runfleet, runs the RI 16-run rate-design chain on the embedded local cluster
#   make test   -> creates .venv/, installs runfleet with test extras and system test services, runs all tests
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo hello test install system-deps clean bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[clusters,cholera,test]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ratedesign demo

# The small generic example study (chain, grid, seeds, parquet outputs).
hello: install
	$(BIN)/runfleet run examples/hello.yaml

# System packages for the tests that need real SLURM, R and headless Chromium (only as root; skipped with a reason elsewhere).
system-deps:
	bash scripts/system_deps.sh

# Tests that start system daemons (SLURM) or other interpreters (R) run in a pytest process of
# their own, after the rest: they get a clean Dask state whatever ran before them.
test: install system-deps
	$(BIN)/python -m pytest -m "not root"
	$(BIN)/python -m pytest -m root

bench: install
	$(BIN)/pip install -q ".[bench]"
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) runs demo-data
