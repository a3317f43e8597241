"""Every subcommand against every selected backend, as a user runs it: bytes go up and come
back exact, listings and sizes are right, sync mirrors deletions, and only the cloud stores sign.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import obstore
from tests.test_checksums import expected_checksums
from tests.transfer.conftest import MIB, local_tree, sha, write_tree

from .conftest import Remote, lines, minio_prefix, ok

#: Nested directories, an empty file, a name with a space, one object of several parts.
FILES: dict[str, bytes] = {
    "top.txt": b"hello command line\n",
    "empty.bin": b"",
    "a/one.bin": bytes(range(256)) * 4,
    "a/b/with space.txt": b"spaces are fine",
    "a/b/big.bin": bytes(range(251)) * (6 * MIB // 251),
}


def test_every_subcommand_round_trips_bytes(remote: Remote, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    total = sum(len(data) for data in FILES.values())

    # cp -r: up, with a part size small enough for the big object to go in parts
    up = ok(remote.run("cp", "-r", "--part-size", "5MiB", str(source), remote.url))
    assert up.stdout == b""
    (report,) = lines(up.stderr)
    assert report.startswith(f"cp: {len(FILES)} transferred") and "0 failed" in report

    # ls -r --json: every object with its size, path and time
    listing = [
        json.loads(line) for line in lines(ok(remote.run("ls", "-r", "--json", remote.url)).stdout)
    ]
    assert {entry["path"]: entry["size"] for entry in listing} == {
        remote.show(rel): len(data) for rel, data in FILES.items()
    }
    assert all(set(entry) == {"path", "size", "last_modified", "e_tag"} for entry in listing)
    assert all("T" in entry["last_modified"] for entry in listing)

    # ls: one level, directories with a trailing /; -l adds time and size columns
    assert sorted(lines(ok(remote.run("ls", remote.url)).stdout)) == ["a/", "empty.bin", "top.txt"]
    long = lines(ok(remote.run("ls", "-l", remote / "a/")).stdout)
    assert long[0].split() == ["DIR", "b/"] and long[1].split()[-2:] == ["1024", "one.bin"]

    # cat: the bytes of one object on stdout, the big one included
    assert ok(remote.run("cat", remote / "a/b/big.bin")).stdout == FILES["a/b/big.bin"]
    assert ok(remote.run("cat", remote / "a/b/with space.txt")).stdout == b"spaces are fine"

    # stat and du
    stat = json.loads(ok(remote.run("stat", "--json", remote / "top.txt")).stdout)
    assert stat["path"] == remote.show("top.txt") and stat["size"] == len(FILES["top.txt"])
    du = json.loads(ok(remote.run("du", "-s", "--json", remote.url)).stdout)
    assert du == {"objects": len(FILES), "bytes": total}
    per_directory = lines(ok(remote.run("du", remote.url)).stdout)
    assert per_directory[-1] == f"{total}\t{remote.url}"
    assert f"{len(FILES['a/b/big.bin']) + 15}\t{remote.show('a/b/')}" in per_directory

    # sync --delete: the changed and new files go up, the removed one is deleted there
    (source / "top.txt").write_bytes(b"changed, and longer than before\n")
    (source / "new.txt").write_bytes(b"new")
    (source / "empty.bin").unlink()
    # (a dry run first: it reports the same work, and leaves all of it to the real run)
    dry = ok(remote.run("sync", "--delete", "--dry-run", "--json", str(source), remote.url))
    synced = ok(remote.run("sync", "--delete", "--json", str(source), remote.url))
    assert lines(dry.stdout)[-1] == lines(synced.stdout)[-1]
    *actions, summary = [json.loads(line) for line in lines(synced.stdout)]
    assert summary == {
        "transferred": 2,
        "skipped": 3,
        "deleted": 1,
        "failed": 0,
        "bytes": len(b"changed, and longer than before\n") + 3,
    }
    # (a local to local transfer is a "copy", a local to store one an "upload")
    moved = sorted(a["dst"] for a in actions if a["action"] in ("upload", "copy"))
    assert moved == [remote.show("new.txt"), remote.show("top.txt")]
    assert [a["dst"] for a in actions if a["action"] == "delete"] == [remote.show("empty.bin")]
    assert all(set(action) == {"action", "src", "dst", "size", "error"} for action in actions)

    # cp -r back down: byte-exact; then sync again finds nothing to do
    down = tmp_path / "down"
    ok(remote.run("cp", "-r", remote.url, str(down)))
    assert local_tree(down) == local_tree(source)
    again = json.loads(lines(ok(remote.run("sync", "--json", str(source), remote.url)).stdout)[-1])
    assert (again["transferred"], again["skipped"]) == (0, len(local_tree(source)))

    # mv: the object moves within the store
    ok(remote.run("mv", remote / "new.txt", remote / "moved/new.txt"))
    assert ok(remote.run("cat", remote / "moved/new.txt")).stdout == b"new"
    gone = remote.run("cat", remote / "new.txt")
    assert gone.returncode == 1 and len(lines(gone.stderr)) == 1

    # sign: the cloud stores give a URL that serves the object; the others say they cannot
    signed = remote.run("sign", "--expires", "600", remote / "a/one.bin")
    if remote.signs:
        url = ok(signed).stdout.decode().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert sha(answer.read()) == sha(FILES["a/one.bin"])
        # a PUT URL takes a new object (counted by the rm -r below)
        put = ok(remote.run("sign", "--method", "PUT", remote / "signed/put.txt"))
        request = urllib.request.Request(
            put.stdout.decode().strip(),
            data=b"put through a signed URL",
            method="PUT",
            headers={"x-ms-blob-type": "BlockBlob"},  # Azure's; the others ignore it
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status in (200, 201)
    else:
        assert signed.returncode == 1
        (message,) = lines(signed.stderr)
        assert message.startswith("obstore: error: sign ") and "S3, GCS and Azure" in message

    # rm: one object, then -r the whole prefix; nothing is left
    ok(remote.run("rm", remote / "moved/new.txt"))
    removed = ok(remote.run("rm", "-r", "--json", remote.url))
    signed_put = 1 if remote.signs else 0
    assert (
        json.loads(lines(removed.stdout)[-1])["deleted"] == len(local_tree(source)) - 1 + signed_put
    )
    assert ok(remote.run("ls", "-r", remote.url)).stdout == b""
    assert json.loads(ok(remote.run("du", "-s", "--json", remote.url)).stdout)["objects"] == 0


def test_checksum_algorithm_reaches_every_upload_and_a_foreign_one_fails_each_object(
    minio: Any, tmp_path: Path
) -> None:
    source = write_tree(tmp_path / "src", FILES)
    remote, store = minio_prefix(minio)

    # sha256 (which object_store sends) and crc32c (which the store adds and signs itself):
    # every object of one part is stored with its checksum (the one of several parts gets a
    # checksum of its parts' checksums, which head does not report as the object's)
    for algorithm in ("sha256", "crc32c"):
        ok(
            remote.run(
                "cp", "-r", "--part-size", "5MiB", "--checksum-algorithm", algorithm,
                str(source), remote / f"{algorithm}/",
            )
        )  # fmt: skip
        for rel, data in FILES.items():
            checksums = obstore.head(store, f"{algorithm}/{rel}")["checksums"]
            if len(data) <= 5 * MIB:
                expected = {algorithm: expected_checksums(data)[algorithm]}
                assert checksums == expected, (rel, checksums)
            assert obstore.get(store, f"{algorithm}/{rel}").bytes() == data

    # none: uploads without a checksum on a store that would otherwise send one
    setting = ["--config", "checksum_algorithm=crc64nvme"]
    ok(remote.run("cp", *setting, str(source / "top.txt"), remote / "store/"))
    assert set(obstore.head(store, "store/top.txt")["checksums"]) == {"crc64nvme"}
    ok(
        remote.run(
            "cp",
            *setting,
            "--checksum-algorithm",
            "none",
            str(source / "top.txt"),
            remote / "none/",
        )
    )
    assert obstore.head(store, "none/top.txt")["checksums"] == {}

    # md5 is not an S3 checksum: each upload fails, named on its own line; nothing is stored
    result = remote.run(
        "cp", "-r", "--checksum-algorithm", "md5", str(source / "a"), remote / "md5/"
    )
    assert result.returncode == 1
    errors = [line for line in lines(result.stderr) if line.startswith("obstore: error:")]
    assert len(errors) == 3 and all("md5" in line for line in errors), errors
    assert "Traceback" not in result.stderr.decode()
    assert obstore.list(store, "md5/").collect() == []
