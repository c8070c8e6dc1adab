# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check -q

.PHONY: run test chat install install-test browser bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Debian's Chromium for the Playwright tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: install
	$(BIN)/python server.py

chat: install
	$(BIN)/posterchat chat

test: install-test browser
	$(BIN)/python -m pytest

bench: install-test
	$(PIP) install -e '.[bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)  # e.g. make bench BENCH_ARGS='--quick' or '--only gateway'

soak: install-test
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) build *.egg-info
