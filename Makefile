# The two commands a new user needs: `make demo` and `make test`.
# Each builds its own virtual environment from pinned requirements.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PHOENIX_VENV := .venv-phoenix
DEVDUCK_VENV := .venv-devduck
EXPORTER := exporters/devduck-otel-exporter-zip

.PHONY: demo test lint typecheck unit bench bench-quick system-deps clean dist

$(VENV)/.installed: requirements/dev.txt pyproject.toml $(EXPORTER)/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --progress-bar off --upgrade pip==26.3
	$(PY) -m pip install -q --progress-bar off -r requirements/dev.txt
	$(PY) -m pip install -q --progress-bar off --no-deps --no-build-isolation -e $(EXPORTER) -e .
	touch $@

$(PHOENIX_VENV)/.installed: requirements/phoenix.txt
	$(PYTHON) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/python -m pip install -q --progress-bar off -r requirements/phoenix.txt
	touch $@

# devduck 1.15.7, the original recorder, for the side-by-side benchmark (case h). Its
# package imports strands and more; the benchmark compiles only its SessionRecorder,
# which needs dill, so devduck goes in without its dependencies.
$(DEVDUCK_VENV)/.installed: requirements/bench-devduck.txt
	$(PYTHON) -m venv $(DEVDUCK_VENV)
	$(DEVDUCK_VENV)/bin/python -m pip install -q --progress-bar off -r requirements/bench-devduck.txt
	$(DEVDUCK_VENV)/bin/python -m pip install -q --progress-bar off --no-deps devduck==1.15.7
	touch $@

system-deps:
	bash scripts/install-system-deps.sh

demo: $(VENV)/.installed
	$(PY) examples/demo.py

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(VENV)/.installed
	$(PY) -m mypy

unit: $(VENV)/.installed $(PHOENIX_VENV)/.installed $(DEVDUCK_VENV)/.installed system-deps
	DEVDUCK_PHOENIX_PYTHON=$(CURDIR)/$(PHOENIX_VENV)/bin/python $(PY) -m pytest

test: lint typecheck unit

bench: $(VENV)/.installed $(DEVDUCK_VENV)/.installed
	$(PY) benchmarks/run.py

bench-quick: $(VENV)/.installed $(DEVDUCK_VENV)/.installed
	$(PY) benchmarks/run.py --quick --output $(CURDIR)/benchmarks/.work/RESULTS-quick.md

# Both wheels and sdists into $(DIST): `pip install --find-links dist devduck-otel`.
DIST ?= dist
dist: $(VENV)/.installed
	rm -rf $(DIST) && mkdir -p $(DIST)
	cd $(EXPORTER) && $(abspath $(PY)) -m hatchling build -d $(abspath $(DIST))
	$(PY) -m hatchling build -d $(abspath $(DIST))

clean:
	rm -rf $(VENV) $(PHOENIX_VENV) $(DEVDUCK_VENV)
