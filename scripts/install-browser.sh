#!/usr/bin/env bash
# Install Debian's headless Chromium and its WebDriver, which tests/docs/test_site_browser.py
# drives through Selenium to look at the documentation site. Idempotent: a no-op when both are
# on PATH. `--check` exits 0 iff they are.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
    echo "chromium and chromedriver are not installed: run scripts/install-browser.sh" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    echo "install-browser: needs apt-get (Debian); install chromium and chromedriver by hand" >&2
    exit 1
fi
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
