#!/usr/bin/env bash
# Installs what `make demo` and `make test` need, and nothing is assumed to be there
# already: Debian packages (the reference registry, Gradle), crane at a pinned version,
# and a virtual environment with the package and its test dependencies. Safe to rerun.
set -euo pipefail

cd "$(dirname "$0")/.."
CRANE_VERSION="$(sed -n 's/^CRANE_VERSION = "\(.*\)"$/\1/p' python/ecr_to_docker/copier.py)"
TOOLS_BIN="$PWD/.tools/bin"

need_apt=()
[ -x /usr/bin/docker-registry ] || need_apt+=(docker-registry)
command -v gradle >/dev/null 2>&1 || need_apt+=(gradle)
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${need_apt[*]}"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# The package starts nothing here (no init system), but make sure no system registry
# holds the default port either way: the tests start their own on free ports.

# crane and toxiproxy at their pinned versions declare go 1.23 in their go.mod.
go_too_old() {
    local version
    version="$(go env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
    [ -z "$version" ] && return 0
    set -- $version
    [ "$1" -lt 1 ] || { [ "$1" -eq 1 ] && [ "$2" -lt 23 ]; }
}

if [ ! -x "$TOOLS_BIN/crane" ] || [ "$("$TOOLS_BIN/crane" version 2>/dev/null)" != "$CRANE_VERSION" ]; then
    if go_too_old; then
        echo "ERROR: building crane $CRANE_VERSION needs Go 1.23 or later; found:" \
            "$(go version 2>/dev/null || echo 'no go')." \
            "Install a newer Go (https://go.dev/dl/) and put it first on PATH." >&2
        exit 1
    fi
    echo "installing crane $CRANE_VERSION"
    mkdir -p "$TOOLS_BIN"
    GOBIN="$TOOLS_BIN" GOFLAGS=-mod=mod go install \
        "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
fi

# toxiproxy, for the connection-level faults of the reliability tests. Its binary calls
# its version "git", so only its presence is checked.
TOXIPROXY_VERSION="v2.12.0"
if [ ! -x "$TOOLS_BIN/toxiproxy-server" ]; then
    echo "installing toxiproxy $TOXIPROXY_VERSION"
    mkdir -p "$TOOLS_BIN/.toxiproxy"
    GOBIN="$TOOLS_BIN/.toxiproxy" GOFLAGS=-mod=mod go install \
        "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
    mv "$TOOLS_BIN/.toxiproxy/server" "$TOOLS_BIN/toxiproxy-server"
    rmdir "$TOOLS_BIN/.toxiproxy"
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ python/pyproject.toml -nt .venv/.installed ]; then
    echo "installing the Python package and its test dependencies"
    # pip's own chatter (build back-end notices) goes to a log, shown only on failure.
    if ! { .venv/bin/python -m pip install -q --upgrade pip &&
           .venv/bin/python -m pip install -q -e "python[test]"; } >.venv/install.log 2>&1; then
        cat .venv/install.log >&2
        exit 1
    fi
    touch .venv/.installed
fi
