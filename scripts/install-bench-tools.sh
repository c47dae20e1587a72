#!/usr/bin/env bash
# Installs the tools `make bench` compares ours with: skopeo from Debian, and regctl at a
# pinned version from the Go module proxy into .tools/bin (next to crane). Safe to rerun:
# what is already there at the right version is left alone.
set -euo pipefail

cd "$(dirname "$0")/.."
REGCTL_VERSION="v0.11.7"
TOOLS_BIN="$PWD/.tools/bin"

if ! command -v skopeo >/dev/null 2>&1; then
    echo "installing skopeo (Debian)"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        skopeo >/dev/null
fi

installed_regctl=""
if [ -x "$TOOLS_BIN/regctl" ]; then
    installed_regctl="$("$TOOLS_BIN/regctl" version --format '{{.VCSTag}}' 2>/dev/null || true)"
fi
if [ "$installed_regctl" != "$REGCTL_VERSION" ]; then
    echo "installing regctl $REGCTL_VERSION"
    mkdir -p "$TOOLS_BIN"
    GOBIN="$TOOLS_BIN" GOFLAGS=-mod=mod go install \
        "github.com/regclient/regclient/cmd/regctl@$REGCTL_VERSION"
fi

# The command under test, installed the way agents get it (a regular, not an editable,
# install: an editable one adds its own import hook to every start), refreshed each run.
BENCH_VENV="$PWD/.tools/bench-venv"
if [ ! -x "$BENCH_VENV/bin/python" ]; then
    python3 -m venv "$BENCH_VENV"
    "$BENCH_VENV/bin/python" -m pip install -q --disable-pip-version-check ./python
fi
"$BENCH_VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
    --force-reinstall ./python
