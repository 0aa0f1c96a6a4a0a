# Quick start: `make demo` and `make test`. Both work on a bare machine: they create .venv and install.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench clean system-deps compile

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[compile]'
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,compile]'
	touch $@ $(STAMP)

# The dialer's core as a C extension (mypyc; cctool/native.py). Does nothing when the build is current.
compile: $(STAMP)
	$(BIN)/python scripts/compile_core.py

demo: system-deps $(STAMP)
	$(BIN)/python scripts/compile_core.py --optional
	$(BIN)/cctool demo

lint: $(TEST_STAMP)
	$(BIN)/ruff check cctool tests bench
	$(BIN)/ruff format --check cctool tests bench
	$(BIN)/mypy cctool

system-deps:
	bash scripts/install-test-deps.sh

test: $(TEST_STAMP) lint system-deps compile
	CCTOOL_EXPECT_COMPILED=1 $(BIN)/python -m pytest

bench: system-deps compile
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
	rm -f cctool/*.so *__mypyc.*.so
