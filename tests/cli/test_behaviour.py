"""What scripts rely on, on local directories: exit statuses 0/1/2, one-line errors naming the
bad value or path, --dry-run changing nothing, include/exclude, cp's source and destination
rules, and the console script declared in pyproject.toml."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from obstore.cli import main
from obstore.cli._output import parse_size
from obstore.cli._targets import Targets
from obstore.store import AzureStore, S3Store
from tests.transfer.conftest import local_tree, write_tree

from .conftest import base_env, lines, ok, run_cli

ROOT = Path(__file__).resolve().parents[2]

FILES = {
    "top.txt": b"top",
    "a/one.bin": b"1" * 100,
    "a/b/two.bin": b"2" * 200,
    "a/b/note.txt": b"note",
    "c/three.bin": b"3" * 300,
}


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["cp", "--part-size", "64XB", "a", "b"], "'64XB'"),
        (["cp", "--part-size", "0", "a", "b"], "'0'"),
        (["sync", "--concurrency", "0", "a", "b"], "'0'"),
        (["ls", "--config", "no-equals-sign", "."], "'no-equals-sign'"),
        (["ls", "--config", "bogus_key=1", "s3://bucket/p/"], "bogus_key"),
        (["ls", "--config", "region=eu-west-1", "."], "region"),
        (["cat", "frob://x/y"], "frob://x/y"),
        (["sync", "--size-only", "--checksum", "a", "b"], "--checksum"),
        (["sign", "--method", "POST", "s3://b/k"], "POST"),
        (["frobnicate"], "frobnicate"),
        (["cp", "only-one-argument"], "DST"),
        (["cp", "--checksum-algorithm", "crc33", "a", "b/"], "crc33"),
    ],
)
def test_usage_errors_exit_2_naming_the_bad_value(
    arguments: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert named in err.splitlines()[-1] and "error:" in err.splitlines()[-1]
    assert "Traceback" not in err


def test_sizes_accept_units_of_1024_and_1000() -> None:
    assert parse_size("64MiB") == parse_size("64M") == parse_size("64mib") == 64 * 1024**2
    assert parse_size("100MB") == 100_000_000
    assert parse_size("1.5G") == 3 * 1024**3 // 2
    assert parse_size("4096") == 4096
    with pytest.raises(ValueError, match="'12 parsecs'"):
        parse_size("12 parsecs")


def test_several_sources_need_a_directory_destination(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    result = run_cli("cp", str(source / "top.txt"), str(source / "c"), str(tmp_path / "file"))
    assert result.returncode == 2
    assert lines(result.stderr)[-1].endswith(f"got {tmp_path / 'file'}")
    assert not (tmp_path / "file").exists()


def test_cp_copies_objects_by_name_and_directories_only_when_asked(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    dst = tmp_path / "dst"
    # several objects into a directory, each by its name; one object to an exact name
    ok(run_cli("cp", str(source / "top.txt"), str(source / "a/one.bin"), f"{dst}/"))
    ok(run_cli("cp", "-q", str(source / "c/three.bin"), str(dst / "renamed.bin")))
    assert local_tree(dst) == {
        "top.txt": local_tree(source)["top.txt"],
        "one.bin": local_tree(source)["a/one.bin"],
        "renamed.bin": local_tree(source)["c/three.bin"],
    }
    # a directory without -r or a trailing / is refused, as by cp(1); with either it is copied
    refused = run_cli("cp", str(source / "a"), str(tmp_path / "a1"))
    assert refused.returncode == 1
    assert lines(refused.stderr) == [
        f"obstore: error: cp {source / 'a'}: is a directory: use -r or {source / 'a'}/"
    ]
    ok(run_cli("cp", "-q", f"{source / 'a'}/", str(tmp_path / "a1")))
    ok(run_cli("cp", "-q", "-r", str(source / "a"), str(tmp_path / "a2")))
    assert (
        local_tree(tmp_path / "a1")
        == local_tree(tmp_path / "a2")
        == {
            rel.removeprefix("a/"): digest
            for rel, digest in local_tree(source).items()
            if rel.startswith("a/")
        }
    )


def test_failures_exit_1_each_named_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_tree(tmp_path / "src", FILES)
    missing = tmp_path / "missing.txt"
    result = run_cli("cp", str(source / "top.txt"), str(missing), f"{tmp_path / 'dst'}/")
    assert result.returncode == 1
    errors = [line for line in lines(result.stderr) if line.startswith("obstore: error:")]
    assert len(errors) == 1 and str(missing) in errors[0]
    assert lines(result.stderr)[-1].startswith(
        "cp: 1 transferred (3 B), 0 skipped, 0 deleted, 1 failed"
    )
    assert (tmp_path / "dst/top.txt").read_bytes() == b"top"  # the other source went through
    assert "Traceback" not in result.stderr.decode()

    # a missing object: one line, no traceback; with --debug the traceback too
    cat = run_cli("cat", str(missing))
    assert (cat.returncode, cat.stdout) == (1, b"")
    (line,) = lines(cat.stderr)
    assert line.startswith("obstore: error: ") and "missing.txt" in line and "not found" in line
    capsys.readouterr()
    for verb in ("ls", "stat", "du"):  # in this process: the same main() as the command's
        assert main([verb, str(missing)]) == 1
        (said,) = capsys.readouterr().err.splitlines()
        assert said.startswith("obstore: error: ") and str(missing) in said
    debug = run_cli("cat", "--debug", str(missing))
    assert debug.returncode == 1 and "Traceback" in debug.stderr.decode()
    assert lines(debug.stderr)[-1] == line

    # rm of a prefix without -r is refused before anything is deleted
    refused = run_cli("rm", str(source / "top.txt"), f"{source / 'a'}/")
    assert refused.returncode == 1 and len(lines(refused.stderr)) == 1
    assert "use -r" in refused.stderr.decode() and (source / "top.txt").exists()

    # --json: the failed action carries its error, the summary counts it
    as_json = run_cli("cp", "--json", str(missing), f"{tmp_path / 'dst'}/")
    assert as_json.returncode == 1
    assert json.loads(lines(as_json.stdout)[-1]) == {
        "transferred": 0,
        "skipped": 0,
        "deleted": 0,
        "failed": 1,
        "bytes": 0,
    }


def test_dry_run_prints_what_would_be_done_and_changes_nothing(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    dst = write_tree(tmp_path / "dst", {"stale.txt": b"old", "top.txt": b"different"})
    before = (local_tree(source), local_tree(dst))

    sync = ok(run_cli("sync", "--delete", "--dry-run", str(source), str(dst)))
    assert sorted(lines(sync.stdout)) == sorted(
        [f"would delete {dst / 'stale.txt'}"]
        + [f"would copy {source / rel} -> {dst / rel}" for rel in FILES]
    )
    assert lines(sync.stderr)[-1].startswith("sync (dry run, nothing changed): 5 transferred")

    as_json = ok(run_cli("cp", "-r", "--dry-run", "--json", str(source), str(tmp_path / "new")))
    *actions, summary = [json.loads(line) for line in lines(as_json.stdout)]
    assert len(actions) == len(FILES) and summary["transferred"] == len(FILES)

    ok(run_cli("mv", "-r", "--dry-run", str(source), str(tmp_path / "moved")))
    removed = ok(run_cli("rm", "-r", "--dry-run", str(dst), str(source / "top.txt")))
    assert len(lines(removed.stdout)) == 3
    assert lines(removed.stderr) == [lines(removed.stderr)[-1]]  # the report alone
    assert (local_tree(source), local_tree(dst)) == before
    assert not (tmp_path / "new").exists() and not (tmp_path / "moved").exists()


def test_include_and_exclude_choose_the_objects(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    dst = tmp_path / "dst"
    ok(run_cli("cp", "-r", "--include", "*.bin", "--exclude", "a/b/*", str(source), str(dst)))
    assert sorted(local_tree(dst)) == ["a/one.bin", "c/three.bin"]

    listed = ok(run_cli("ls", "-r", "--include", "*.txt", str(source)))
    assert sorted(lines(listed.stdout)) == ["a/b/note.txt", "top.txt"]
    du = ok(run_cli("du", "-s", "--json", "--exclude", "c/*", "--exclude", "top.txt", str(source)))
    assert json.loads(du.stdout) == {"objects": 3, "bytes": 304}

    # sync --delete leaves excluded objects alone on both sides
    (dst / "keep.log").write_bytes(b"not mine")
    (dst / "stale.bin").write_bytes(b"gone soon")
    ok(run_cli("sync", "-q", "--delete", "--exclude", "*.log", str(source), str(dst)))
    assert sorted(local_tree(dst)) == sorted([*FILES, "keep.log"])

    # rm -r with a filter deletes only what matches
    ok(run_cli("rm", "-q", "-r", "--include", "*.txt", f"{dst}/"))
    assert sorted(local_tree(dst)) == ["a/b/two.bin", "a/one.bin", "c/three.bin", "keep.log"]


def test_memory_urls_share_one_store_within_a_command(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    result = ok(run_cli("cp", "--json", str(source / "top.txt"), "memory:///m/"))
    assert json.loads(lines(result.stdout)[0])["dst"] == "memory:///m/top.txt"


def test_console_script_of_pyproject_runs_the_command(tmp_path: Path) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"obstore": "obstore.cli:main"}
    write_tree(tmp_path / "src", FILES)
    installed = Path(sys.executable).parent / "obstore"
    if installed.exists():  # after `maturin develop` with the scripts entry
        command = [str(installed)]
    else:  # the entry point as the generated script calls it
        module, function = scripts["obstore"].split(":")
        command = [
            sys.executable,
            "-c",
            f"import sys; from {module} import {function}; sys.exit({function}())",
        ]
    result = subprocess.run(
        [*command, "du", "-s", "--json", str(tmp_path / "src")],
        capture_output=True,
        env=base_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"objects": 5, "bytes": 607}


def test_config_settings_go_to_the_stores_that_know_them() -> None:
    targets = Targets({"region": "eu-west-1", "account_name": "acct", "allow_http": "true"})
    s3, azure = targets.build("s3://bucket/a/"), targets.build("az://container/b/key")
    assert isinstance(s3.store, S3Store) and isinstance(azure.store, AzureStore)
    s3_config: dict[str, object] = dict(s3.store.config)
    azure_config: dict[str, object] = dict(azure.store.config)
    assert (s3_config["region"], s3.key, s3.trailing) == ("eu-west-1", "a", True)
    assert (azure_config["account_name"], azure.key, azure.trailing) == ("acct", "b/key", False)
    assert "account_name" not in s3_config and "region" not in azure_config
    assert s3.store.client_options == azure.store.client_options == {"allow_http": "true"}
    assert targets.unused() == []
    # one bucket, two URLs: one store at the bucket root, so copies between them are server-side
    assert targets.build("s3://bucket/other").store == s3.store


def test_listing_commands_do_not_load_the_transfer_engine(tmp_path: Path) -> None:
    # ls, cat and stat start without obstore.transfer's engine and asyncio (40 ms of a start);
    # cp loads them when it runs.
    write_tree(tmp_path, FILES)
    probe = (
        "import sys\n"
        "from obstore.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "loaded = ('asyncio' in sys.modules, 'obstore.transfer._engine' in sys.modules)\n"
        "print(file=sys.stderr)\n"
        "print(code, *loaded, file=sys.stderr)\n"
    )
    for command, loaded in (
        (["ls", str(tmp_path)], "False False"),
        (["cat", str(tmp_path / "top.txt")], "False False"),
        (["cp", "-q", str(tmp_path / "top.txt"), str(tmp_path / "copy.txt")], "True True"),
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, *command], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[-1] == f"0 {loaded}", (command, done.stderr)
    assert (tmp_path / "copy.txt").read_bytes() == b"top"
