"""The agent launcher the Jenkins step runs: it installs the package when the agent lacks
it, checks for crane, and runs a real promotion against the stand-ins."""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(ROOT, "resources", "io", "ecrtodocker", "launcher.sh")
CRANE = os.environ.get("CRANE") or shutil.which("crane")


def system_path_without_ecr_to_docker():
    """PATH entries that hold neither this checkout's virtual environment nor any other
    ecr-to-docker, so that the launcher has to install one."""
    entries = []
    for entry in os.environ["PATH"].split(os.pathsep):
        if entry and not os.path.exists(os.path.join(entry, "ecr-to-docker")):
            entries.append(entry)
    return os.pathsep.join(entries)


def agent_environment(stack, workdir, **overrides):
    """An agent without ecr-to-docker on its PATH and outside this checkout's virtual
    environment, keeping its virtual environment in `workdir`."""
    settings = dict(
        PATH=system_path_without_ecr_to_docker(),
        ECR_TO_DOCKER_WORKDIR=str(workdir),
        VIRTUAL_ENV=None,
        PYTHONPATH=None,
    )
    settings.update(overrides)
    return stack.environment(**settings)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("launcher-workdir")


def launch(arguments, environment):
    return subprocess.run(
        ["bash", LAUNCHER, *arguments], env=environment, capture_output=True, text=True, timeout=600
    )


def test_the_launcher_installs_the_package_and_performs_a_real_promotion(stack, workdir, repo_name):
    digest, _, _ = stack.source_pusher().push_image(repo_name, "1.0", [8192], seed=repo_name)
    environment = agent_environment(
        stack, workdir, CRANE=CRANE, ECR_TO_DOCKER_PIP_SPEC=os.path.join(ROOT, "python")
    )

    run = launch(
        [
            "promote",
            stack.source(repo_name, "1.0"),
            "--destination",
            stack.destination(repo_name, "1.0"),
        ],
        environment,
    )

    assert run.returncode == 0, run.stderr
    assert "installing" in run.stderr
    assert f'"destination_digest": "{digest}"' in run.stdout
    assert (workdir / "ecr-to-docker-0.1.0-venv" / "bin" / "ecr-to-docker").exists()

    again = launch(
        [
            "promote",
            stack.source(repo_name, "1.0"),
            "--destination",
            stack.destination(repo_name, "1.0"),
        ],
        environment,
    )

    assert again.returncode == 3
    assert "installed by an earlier run" in again.stderr


def test_without_crane_the_launcher_stops_with_how_to_install_it(stack, tmp_path):
    environment = agent_environment(
        stack,
        tmp_path,
        PATH=system_path_without_ecr_to_docker().replace(os.path.dirname(CRANE), "/nonexistent"),
        CRANE=None,
    )

    run = launch(["promote", stack.source("any/app", "1.0")], environment)

    assert run.returncode == 127
    assert "crane is not installed" in run.stderr
    assert "go install github.com/google/go-containerregistry/cmd/crane@" in run.stderr
    assert list(tmp_path.iterdir()) == []  # stopped before installing anything


def test_without_a_pip_spec_the_launcher_installs_nothing_from_an_index(stack, tmp_path):
    # The package name is not published: a bare name from the default index could be
    # anyone's package, handed the credentials.
    environment = agent_environment(stack, tmp_path, ECR_TO_DOCKER_PIP_SPEC=None)

    run = launch(["promote", stack.source("any/app", "1.0")], environment)

    assert run.returncode == 125
    assert "ECR_TO_DOCKER_PIP_SPEC is not set" in run.stderr
    assert "installing" not in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_launcher_and_the_package_name_the_same_crane_release():
    from ecr_to_docker.copier import CRANE_VERSION

    with open(LAUNCHER) as launcher:
        pinned = re.search(r"cmd/crane@(v[0-9.]+)", launcher.read()).group(1)

    assert pinned == CRANE_VERSION
