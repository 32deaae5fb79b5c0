# Every target creates or reuses .venv and installs the project into it,
# so a fresh machine needs nothing but python3 (>= 3.11) and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
CONFIG ?= config/livesvc.toml

.PHONY: run test bench soak lint emulator chat clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/livesvc serve --config $(CONFIG)

emulator: $(STAMP)
	$(VENV)/bin/livesvc emulator --tls-self-signed .livesvc/tls

chat: $(STAMP)
	$(VENV)/bin/livesvc chat --key dev-key

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

# Chaos soak: SOAK_ARGS="--minutes 1 --sessions 8" make soak
SOAK_ARGS ?= --minutes 5
soak: $(STAMP)
	$(PY) -m bench.soak $(SOAK_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check livesvc supervisors tests bench examples
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .livesvc .pytest_cache .mypy_cache .ruff_cache
