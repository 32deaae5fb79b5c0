# Every target creates or reuses .venv and installs the project into it,
# so a fresh machine needs nothing but python3 (>= 3.11) and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
CONFIG ?= config/livesvc.toml

.PHONY: js-deps run test bench soak lint emulator chat clean system-deps

# Real servers and tools the tests use (Debian packages): Redis for the
# fleet store, HAProxy in front of a fleet, iproute2 for the fleet tests' network
# namespaces, systemd-analyze to verify deploy/livesvc.service (package
# systemd; `verify` works without systemd running). Installed only where missing;
# as root (CI) with apt-get, else the command to run is printed.
SYSTEM_DEPS := redis-server:redis-server haproxy:haproxy ip:iproute2 systemd-analyze:systemd

# First run: each slow step says what it does (pip lists every package it fetches).
$(STAMP): pyproject.toml
	@echo "==> [1/3] creating the virtualenv $(VENV) with $$($(PYTHON) --version 2>&1)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] upgrading pip in $(VENV)"
	$(PY) -m pip install --quiet --upgrade pip
	@echo "==> [3/3] installing livesvc and its dependencies into $(VENV) (about a minute on a fresh machine)"
	$(PY) -m pip install --progress-bar off -e '.[dev]'
	@echo "==> installed; later runs skip these steps until pyproject.toml changes"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/livesvc serve --config $(CONFIG)

emulator: $(STAMP)
	$(VENV)/bin/livesvc emulator --tls-self-signed .livesvc/tls

chat: $(STAMP)
	$(VENV)/bin/livesvc chat --key dev-key

system-deps:
	@missing=""; for pair in $(SYSTEM_DEPS); do \
		cmd=$${pair%%:*}; pkg=$${pair##*:}; \
		command -v $$cmd >/dev/null 2>&1 || [ -x /usr/sbin/$$cmd ] || [ -x /usr/bin/$$cmd ] || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; \
		fi; \
	fi

test: $(STAMP) system-deps js-deps
	$(PY) -m pytest -q

# The stock JavaScript SDK for tests/daemon/test_js_sdk.py, where Node.js exists
# (pinned in tests/js/package-lock.json; the test skips, saying why, without node).
js-deps:
	@if command -v npm >/dev/null 2>&1 && [ ! -d tests/js/node_modules/@google/genai ]; then \
		echo "installing the JavaScript SDK for the tests (npm ci in tests/js)"; \
		cd tests/js && npm ci --no-audit --no-fund --loglevel=error; \
	fi

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
