"""A fuzz harness that checks no input makes a Rust panic, a crash or a hang reach Python.

`cases` says what an input is and generates them (Hypothesis), `execute` runs one in a worker
process (`worker`) against a local server (`server`), and `runner` drives the search and reports.
``python -m tests.fuzz --help`` runs it; ``tests/test_fuzz.py`` runs a short round in the suite.
"""
