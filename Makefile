# The project's commands. The README's two set-up commands are `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
export CARGO_TARGET_DIR ?= $(HOME)/.cache/obstore-target
TEST_DEPS := maturin pytest pytest-asyncio arro3-core pyarrow numpy mypy ruff

.PHONY: demo test build check lint typecheck stubtest servers bench clean

$(VENV)/.deps-installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TEST_DEPS)
	touch $@

# Compile the Rust core (release) and install the package into the venv, editable.
build: $(VENV)/.deps-installed
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release --quiet

# The main job on an embedded default: a local directory and memory, no account needed.
demo: build
	$(PY) examples/quickstart.py

# Install the test servers, then run every test (each server is started and stopped by the tests).
test: build servers
	$(PY) -m pytest -q

servers:
	bash scripts/install-test-servers.sh

lint: $(VENV)/.deps-installed
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check python tests bench examples

typecheck: build
	cd python && ../$(VENV)/bin/mypy --strict obstore
	$(PY) -m mypy.stubtest obstore --allowlist stubtest-allowlist.txt

check: lint typecheck test

bench: build
	$(PY) bench/run_inprocess.py --ours $(PY)

clean:
	rm -rf $(VENV) python/obstore/*.so
