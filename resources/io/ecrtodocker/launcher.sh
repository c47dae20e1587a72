#!/usr/bin/env bash
# Runs the ecr-to-docker command on a Jenkins agent, installing it first when the agent
# does not already have the version this library was released with.
#
# Usage:
#   bash launcher.sh ARGUMENTS...      e.g. bash launcher.sh promote SOURCE
#                                           bash launcher.sh --version
#   Every argument is handed to ecr-to-docker unchanged.
#
# Which ecr-to-docker runs, first match wins:
#   1. an ecr-to-docker on PATH that reports the wanted version;
#   2. the virtual environment $ECR_TO_DOCKER_WORKDIR/ecr-to-docker-VERSION-venv, when an earlier
#      run left a working one there (delete it, with the ecr-to-docker-VERSION-venv.* directories
#      beside it, to force a new installation);
#   3. a new virtual environment, into which pip installs the package.
#
# Several runs may install at once (parallel branches of one build share the directory), so
# a new environment is built in a directory of its own, ecr-to-docker-VERSION-venv.XXXXXX, and
# ecr-to-docker-VERSION-venv is then made a symbolic link to it in one atomic rename. No run
# ever sees a half-built environment under that name, nor has its own removed while it builds
# it; when another run has put a working one there meanwhile, that one is used and the new one
# deleted. (The environment itself cannot be moved into place: its scripts name its path.)
#
# Environment (all optional):
#   ECR_TO_DOCKER_LIBRARY_VERSION  the ecr-to-docker version to run; default: the content of
#                                  version.txt beside this script
#   ECR_TO_DOCKER_WORKDIR          directory that holds the virtual environment; default:
#                                  $WORKSPACE_TMP, else $TMPDIR, else /tmp
#   ECR_TO_DOCKER_PIP_SPEC         what pip installs when the command is missing (required
#                                  then): a local path, a URL or a requirement; the installed
#                                  command must still report VERSION
#   ECR_TO_DOCKER_PYTHON           interpreter that creates the virtual environment; default
#                                  python3
#   CRANE                          path of the crane binary; default: crane on PATH
#   pip's own settings (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, pip.conf) choose the package index.
#
# Exit status:
#   whatever ecr-to-docker promote exits with (0 to 6, or 128 + a signal's number; see
#   `ecr-to-docker promote --help`), or
#   125  ecr-to-docker could not be set up: no Python, no venv module, pip failed, or the
#        installed command reports another version
#   127  crane, which `promote` needs, is not installed
#
# Everything this script says goes to stderr, so that stdout carries only the command's JSON.

set +o xtrace # a caller's `bash -x` must not print the environment handed to the command
set -euo pipefail

readonly SETUP_FAILED=125
readonly CRANE_MISSING=127
readonly CRANE_INSTALL_HINT='go install github.com/google/go-containerregistry/cmd/crane@v0.20.3'

say() {
    printf 'ecr-to-docker launcher: %s\n' "$*" >&2
}

stop() {
    local exit_status=$1
    shift
    say "ERROR: $*"
    exit "$exit_status"
}

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

wanted_version="${ECR_TO_DOCKER_LIBRARY_VERSION:-}"
if [[ -z "$wanted_version" && -r "$script_dir/version.txt" ]]; then
    wanted_version="$(tr -d '[:space:]' <"$script_dir/version.txt")"
fi
if [[ -z "$wanted_version" ]]; then
    stop "$SETUP_FAILED" "no version to run: set ECR_TO_DOCKER_LIBRARY_VERSION" \
        "or keep version.txt beside this script"
fi

# Prints the version that an ecr-to-docker executable reports, or nothing when it cannot run.
reported_version() {
    local executable=$1 output
    [[ -x "$executable" ]] || return 0
    output="$("$executable" --version 2>/dev/null)" || return 0
    output="${output%%$'\n'*}"
    printf '%s' "${output#ecr-to-docker }"
}

# The copy itself is done by crane; checking for it first saves a useless installation.
needs_crane() {
    local argument
    [[ "${1:-}" == "promote" ]] || return 1
    for argument in "$@"; do
        if [[ "$argument" == "-h" || "$argument" == "--help" ]]; then
            return 1
        fi
    done
    return 0
}

check_crane() {
    if [[ -n "${CRANE:-}" ]]; then
        if [[ ! -f "$CRANE" || ! -x "$CRANE" ]]; then
            stop "$CRANE_MISSING" "CRANE is set to '$CRANE', which is not an executable file." \
                "Install crane on this agent ($CRANE_INSTALL_HINT) and point CRANE at it," \
                "or unset CRANE to use the crane on PATH."
        fi
        return 0
    fi
    if ! command -v crane >/dev/null 2>&1; then
        stop "$CRANE_MISSING" "crane is not installed on this agent (not found on PATH)." \
            "Install it with: $CRANE_INSTALL_HINT" \
            "and put \$(go env GOPATH)/bin on the agent's PATH, or set CRANE to its full path."
    fi
}

# An installation in progress: its directory, deleted if this script stops before the
# environment is in place, and the name it is to be put in place as.
build_dir=""
build_target=""

discard_build() {
    # Once the link names it, the environment is in place (a signal can come just then).
    if [[ -n "$build_dir" && "$(readlink "$build_target" 2>/dev/null)" != "${build_dir##*/}" ]]
    then
        rm -rf "$build_dir" "$build_dir.link"
    fi
    build_dir=""
}

install_into() {
    local venv=$1 workdir=$2
    local python="${ECR_TO_DOCKER_PYTHON:-python3}"
    local spec="${ECR_TO_DOCKER_PIP_SPEC:-}"
    local installed

    # Never a bare package name from whatever index pip is pointed at: the name is not
    # published, so anyone could publish it, and this command gets the credentials.
    if [[ -z "$spec" ]]; then
        stop "$SETUP_FAILED" "ecr-to-docker $wanted_version is not on the agent's PATH and" \
            "ECR_TO_DOCKER_PIP_SPEC is not set: set it to where pip finds this library's" \
            "python/ folder (git+https://<your git>/ecr-to-docker.git@<tag>#subdirectory=python," \
            "a path, or a wheel you built), or install the command on the agent"
    fi

    if ! command -v "$python" >/dev/null 2>&1; then
        stop "$SETUP_FAILED" "'$python' not found: the agent needs Python 3.10 or later with" \
            "the venv module (Debian/Ubuntu: apt-get install python3 python3-venv)," \
            "or ecr-to-docker $wanted_version on its PATH"
    fi
    mkdir -p "$workdir" || stop "$SETUP_FAILED" "cannot create the directory $workdir"
    # An abort (SIGTERM from Jenkins) or a failure leaves no half-built environment behind.
    trap discard_build EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    build_target="$venv"
    build_dir="$(mktemp -d "$venv.XXXXXX")" ||
        stop "$SETUP_FAILED" "cannot create a directory in $workdir"
    say "installing $spec into $build_dir, to be used as $venv"
    if ! "$python" -m venv "$build_dir" >&2; then
        stop "$SETUP_FAILED" "'$python -m venv' failed; install the venv module" \
            "(Debian/Ubuntu: apt-get install python3-venv)"
    fi
    if ! "$build_dir/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
        "$spec" >&2; then
        stop "$SETUP_FAILED" "pip could not install '$spec'; see pip's message above. The" \
            "package index comes from pip's settings (PIP_INDEX_URL, pip.conf);" \
            "ECR_TO_DOCKER_PIP_SPEC can name a local path or URL instead"
    fi
    installed="$(reported_version "$build_dir/bin/ecr-to-docker")"
    if [[ "$installed" != "$wanted_version" ]]; then
        stop "$SETUP_FAILED" "'$spec' installed ecr-to-docker '${installed:-unknown}'," \
            "but this library needs $wanted_version"
    fi

    if [[ "$(reported_version "$venv/bin/ecr-to-docker")" == "$wanted_version" ]]; then
        say "another run installed $venv meanwhile; using that one"
        discard_build
    else
        publish "$build_dir" "$venv" "$python"
        build_dir=""
    fi
    trap - EXIT HUP INT TERM
}

# Makes $venv a symbolic link to the environment built in $build, with rename(2), which
# replaces an existing link atomically: Python's os.replace, as mv cannot be told the same on
# Linux and macOS. When two runs put theirs in place at once, the later rename wins and the
# other environment is left unused but whole, as a run may still be running from it.
publish() {
    local build=$1 venv=$2 python=$3
    ln -s "${build##*/}" "$build.link" ||
        stop "$SETUP_FAILED" "cannot create a symbolic link in ${venv%/*}"
    if [[ -d "$venv" && ! -L "$venv" ]]; then
        # A real directory there is an environment that does not work (it failed the version
        # check above), left half built by an interrupted run of an earlier launcher.
        rm -rf "$venv" 2>/dev/null || true
    fi
    if ! "$python" -c 'import os, sys; os.replace(sys.argv[1], sys.argv[2])' \
        "$build.link" "$venv" >&2; then
        stop "$SETUP_FAILED" "cannot put the new environment in place as $venv"
    fi
}

if needs_crane "$@"; then
    check_crane
fi

command_on_path="$(command -v ecr-to-docker 2>/dev/null || true)"
if [[ -n "$command_on_path" && "$(reported_version "$command_on_path")" == "$wanted_version" ]]
then
    cli="$command_on_path"
    say "using $cli ($wanted_version)"
else
    workdir="${ECR_TO_DOCKER_WORKDIR:-${WORKSPACE_TMP:-${TMPDIR:-/tmp}}}"
    venv="$workdir/ecr-to-docker-$wanted_version-venv"
    if [[ "$(reported_version "$venv/bin/ecr-to-docker")" == "$wanted_version" ]]; then
        say "using $venv ($wanted_version), installed by an earlier run"
    else
        install_into "$venv" "$workdir"
    fi
    cli="$venv/bin/ecr-to-docker"
fi

exec "$cli" "$@"
