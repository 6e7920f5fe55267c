# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The extras `make dev` installs; CI adds oracle (the reference vpdq: needs FFmpeg dev libraries).
EXTRAS ?= dev,bench,cluster
export SAFESPACE_DATA_DIR ?= $(CURDIR)/var

.PHONY: run test lint typecheck pytest bench bench-quick clean install dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

## run: set up, load the demo bank, then serve the API and web console on the SQLite default
run: install
	$(BIN)/safespace demo --serve

## test: install the dev dependencies, lint, type-check and run the whole suite
test: dev lint typecheck pytest

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: dev
	$(BIN)/mypy src

pytest: dev
	$(BIN)/pytest $(PYTEST_ARGS)

## bench: every benchmark at full size (10M hashes; needs several GB and minutes)
bench: dev
	$(BIN)/python bench/bench_hashing.py
	$(BIN)/python bench/bench_index.py --sizes 1000000,10000000
	$(BIN)/python bench/bench_deter.py
	$(BIN)/python bench/bench_contact.py
	$(BIN)/python bench/bench_text.py
	$(BIN)/python bench/bench_video.py
	$(BIN)/python bench/bench_video_lookup.py --sizes 1000000,10000000

## bench-quick: the same benchmarks at small sizes
bench-quick: dev
	$(BIN)/python bench/bench_hashing.py --quick
	$(BIN)/python bench/bench_index.py --sizes 100000
	$(BIN)/python bench/bench_deter.py --quick
	$(BIN)/python bench/bench_contact.py --quick
	$(BIN)/python bench/bench_text.py --quick
	$(BIN)/python bench/bench_video.py --quick
	$(BIN)/python bench/bench_video_lookup.py --sizes 100000

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
