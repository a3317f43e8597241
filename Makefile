# The project's commands. The README's two set-up commands are `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
export CARGO_TARGET_DIR ?= $(HOME)/.cache/obstore-target
TEST_DEPS := maturin pytest pytest-asyncio arro3-core pyarrow numpy mypy ruff \
	fsspec zarr pandas "dask[distributed]" boto3 google-auth azure-identity requests aiohttp \
	aiohttp-retry python-dotenv hypothesis tqdm rich opentelemetry-sdk \
	google-crc32c cryptography
# The documentation site (`make docs`) and its browser test; also the `docs` extra of pyproject.
DOCS_DEPS := mkdocs mkdocs-material mkdocstrings-python matplotlib selenium

.PHONY: demo test test-rust test-fast build check lint stubtest pydoc servers browser docs bench fuzz clean

$(VENV)/.deps-installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TEST_DEPS) $(DOCS_DEPS)
	touch $@

# Compile the Rust core (release) and install the package into the venv, editable.
build: $(VENV)/.deps-installed
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release --quiet

# The main job on an embedded default: a local directory and memory, no account needed; then
# the obstore command line syncing a directory into a file:// "bucket" and back.
demo: build
	$(PY) examples/quickstart.py
	$(PY) examples/command_line.py

# Every store kind of the conformance suite: in-process stores and one real server each.
ALL_STORES := memory,local,s3-minio,s3-moto,azurite,gcs,webdav

# Install the test servers, then run every test against every store (the tests start and stop
# each server), then check the stubs against the compiled module. The tests run where the only
# network is loopback when the machine allows it, so no socket, Rust's included, leaves it.
test: build servers browser
	$(MAKE) --no-print-directory test-rust
	OBSTORE_TEST_STORES=$(ALL_STORES) scripts/loopback-only $(PY) -m pytest -q
	$(MAKE) --no-print-directory stubtest

# The Rust unit tests (redirects, error kinds, checksums, signing, redaction): a debug build of
# their own, linked against the venv's interpreter, built first and then run loopback-only.
test-rust: $(VENV)/.deps-installed
	PYO3_PYTHON=$(abspath $(PY)) cargo test --workspace --quiet --no-run
	PYO3_PYTHON=$(abspath $(PY)) scripts/loopback-only cargo test --workspace --quiet --offline

# Only the in-process stores: a fast check while developing.
test-fast: build
	$(PY) -m pytest -q

servers:
	bash scripts/install-test-servers.sh

# Debian's headless Chromium and chromedriver, for tests/docs/test_site_browser.py.
browser:
	bash scripts/install-browser.sh

# The documentation site into site/: config tables, CLI help and benchmark charts are generated
# from the package and bench/ at build time; --strict fails on any broken link or reference.
docs: build
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

lint: $(VENV)/.deps-installed
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check python tests bench examples

# The stubs against the compiled module, and the package and tests under mypy.
stubtest: build
	$(PY) -m mypy.stubtest obstore --allowlist stubtest-allowlist.txt
	cd python && ../$(VENV)/bin/mypy --strict obstore
	$(VENV)/bin/mypy tests

check: lint test

# The compiled module's docstrings (crates/obstore-stores/src/pydoc.rs) from the .pyi stubs; run
# after editing a stub docstring, then rebuild. tests/docs/test_runtime_docs.py checks the file.
pydoc:
	$(PYTHON) scripts/gen_pydoc.py

# Fuzz every entry point for FUZZ_SECONDS: generated values may name any host, so the
# worker runs in a loopback-only network namespace (needs root or user namespaces; else it refuses:
# then `FUZZ_ARGS=--hosts loopback`). Prints the inputs tried and every panic, crash and hang found.
FUZZ_SECONDS ?= 300
FUZZ_ARGS ?=
fuzz: build
	$(PY) -m tests.fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)

bench: build
	$(PY) bench/run.py --ours $(PY) "$(SCENARIO)"

clean:
	rm -rf $(VENV) python/obstore/*.so site site-screenshots
