#!/usr/bin/env bash
# Installs the command-line peers of the bulk_* scenarios into ~/.cache/obstore-bench/peers
# (never into the repo): s5cmd built from source with go, the AWS CLI v1 in a venv of its own,
# and a link to Debian's rclone. Idempotent: what is already there is kept. A tool that cannot
# be installed is reported and skipped; the scenarios then show it as "n/a".
set -u
PEERS="${OBSTORE_BENCH_PEERS:-$HOME/.cache/obstore-bench/peers}"
S5CMD_VERSION="${S5CMD_VERSION:-v2.3.0}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$PEERS/bin"

# s5cmd: `go install github.com/peak/s5cmd/v2@...` is refused by the module proxy (it does not
# list the module's versions); `go get` of the exact version inside a scratch module works.
if [ ! -x "$PEERS/bin/s5cmd" ]; then
    if command -v go >/dev/null; then
        src="$PEERS/src/s5cmd"
        rm -rf "$src" && mkdir -p "$src" && cd "$src" || exit 1
        go mod init s5 >/dev/null 2>&1
        printf 'package main\n\nimport _ "github.com/peak/s5cmd/v2/command"\n' >tools.go
        if go get "github.com/peak/s5cmd/v2@$S5CMD_VERSION" >build.log 2>&1 &&
            go build -o "$PEERS/bin/s5cmd" github.com/peak/s5cmd/v2 >>build.log 2>&1; then
            echo "s5cmd: built $("$PEERS/bin/s5cmd" version)"
        else
            echo "s5cmd: build failed, see $src/build.log" >&2
        fi
        cd - >/dev/null || exit 1
    else
        echo "s5cmd: go not found, skipped" >&2
    fi
fi

# rclone: Debian's package.
if [ ! -x "$PEERS/bin/rclone" ]; then
    if command -v rclone >/dev/null; then
        ln -sf "$(command -v rclone)" "$PEERS/bin/rclone"
    elif command -v apt-get >/dev/null && apt-get install -y -qq rclone >/dev/null 2>&1; then
        ln -sf "$(command -v rclone)" "$PEERS/bin/rclone"
    else
        echo "rclone: not installed (apt-get install rclone)" >&2
    fi
fi

# The AWS CLI v1 from PyPI, in a venv of its own.
if [ ! -x "$PEERS/awscli/bin/aws" ]; then
    if "$PYTHON" -m venv "$PEERS/awscli" &&
        "$PEERS/awscli/bin/pip" install -q --disable-pip-version-check awscli; then
        echo "aws: installed $("$PEERS/awscli/bin/aws" --version 2>&1)"
    else
        echo "aws: pip install awscli failed" >&2
    fi
fi
ln -sf "$PEERS/awscli/bin/aws" "$PEERS/bin/aws"
exit 0
