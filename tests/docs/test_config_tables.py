"""The backend pages' configuration tables (docs/hooks/config_tables.py) list keys the stores
accept: every documented key is known to its store, and so is every environment variable named
for it (a store reads ``AWS_X`` from the environment as it reads the key ``aws_x``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from obstore.exceptions import UnknownConfigurationKeyError
from obstore.store import AzureStore, GCSStore, S3Store

ROOT = Path(__file__).resolve().parents[2]
STORES: dict[str, Any] = {"S3Config": S3Store, "GCSConfig": GCSStore, "AzureConfig": AzureStore}
BUCKET_KEY = {"S3Config": "bucket", "GCSConfig": "bucket", "AzureConfig": "container_name"}
PREFIX = {"S3Config": "AWS_", "GCSConfig": "GOOGLE_", "AzureConfig": "AZURE_"}


def _rows() -> list[tuple[str, str, str, list[str], str]]:
    spec = importlib.util.spec_from_file_location(
        "config_tables", ROOT / "docs/hooks/config_tables.py"
    )
    assert spec and spec.loader
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return [(table, *row) for table in sorted(STORES) for row in hook.typed_dict_keys(table)]


ROWS = _rows()


def _case(table: str, name: str) -> Any:
    return pytest.param(table, name, id=f"{table}.{name}")


def _known(table: str, key: str, value: str) -> bool:
    """Whether the store class takes `key` (a value it then refuses still counts as known)."""
    try:
        STORES[table](config={BUCKET_KEY[table]: "b", key: value})
    except UnknownConfigurationKeyError:
        return False
    except Exception:
        pass  # a bad URL, a missing file, a missing account: the key itself was accepted
    return True


def _value(annotation: str) -> str:
    return "true" if annotation.startswith("bool") else "value"


ANNOTATIONS = {(table, key): annotation for table, key, annotation, _, _ in ROWS}


@pytest.mark.parametrize(("table", "key"), [_case(t, k) for t, k, *_ in ROWS])
def test_documented_key_is_known_to_its_store(table: str, key: str) -> None:
    assert _known(table, key, _value(ANNOTATIONS[table, key])), (
        f"{table} documents {key!r}, which {STORES[table].__name__} does not know"
    )


@pytest.mark.parametrize(
    ("table", "variable"), [_case(t, v) for t, _, _, env, _ in ROWS for v in env]
)
def test_documented_environment_variable_is_read_by_its_store(table: str, variable: str) -> None:
    assert variable.startswith(PREFIX[table])
    assert _known(table, variable.lower(), "value"), (
        f"{table} documents {variable}, which {STORES[table].__name__} does not read"
    )


def test_every_table_row_has_a_description() -> None:
    assert len(ROWS) > 50
    assert all(text for *_, text in ROWS)


def test_an_unknown_key_is_refused_so_these_checks_can_fail() -> None:
    assert not _known("S3Config", "no_such_key", "x")
