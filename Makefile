# The README's commands. Each target creates the environment it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
REPLICATES ?= 10

.PHONY: demo test test-all lint baseline bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || "$$(tools/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m sim.runs.warmup  # compiles the kernels once (about half a minute)
	touch $@

demo: $(VENV)/.installed  ## run the embedded default scenario, write results and figures
	$(VENV)/bin/lhsim run scenarios/demo.yaml --replicates $(REPLICATES) --out results/demo --force

test: $(VENV)/.installed  ## the default test run (slow tests excluded)
	$(PY) -m pytest -m "not slow" -q

test-all: $(VENV)/.installed  ## every test, slow ones included
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check sim tests benchmarks calibration
	$(VENV)/bin/ruff format --check sim tests benchmarks calibration
	$(VENV)/bin/mypy sim
	$(VENV)/bin/lint-imports

baseline: $(VENV)/.installed  ## rewrite the fixed-seed regression baseline (review the diff!)
	$(PY) tests/regression.py --update

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) results/*
