"""Several images in one run: one ECR login, each image its own outcome, the most severe
outcome as the exit code."""

import json

import pytest
from standins import stack as standin


def test_several_sources_are_promoted_in_one_run_with_one_ecr_login(stack, cli, repo_name):
    digests = {}
    for name in ("api", "web", "worker"):
        digests[name], _, _ = stack.source_pusher().push_image(
            f"{repo_name}/{name}", "1.0", [8192], seed=f"{repo_name}-{name}"
        )
    list_file = stack.home + f"/{repo_name}.txt"
    with open(list_file, "w") as images:
        images.write("# release 1.0\n")
        for name in ("api", "web", "worker"):
            images.write(
                f"{stack.source(f'{repo_name}/{name}', '1.0')}   "
                f"{stack.destination(f'{repo_name}-{name}', '1.0')}  # {name}\n"
            )
        images.write("\n")

    run = cli("promote", "--from-file", list_file, "--jobs", "2")

    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert [r["status"] for r in results] == ["promoted"] * 3
    assert [r["destination_digest"] for r in results] == [
        digests[n] for n in ("api", "web", "worker")
    ]
    assert run.stderr.count("logged in to ECR") == 1
    assert "summary: 3 promoted, 0 identical, 0 refused, 0 failed" in run.stderr


def test_a_failed_image_does_not_stop_the_others_and_the_worst_outcome_decides(
    stack, cli, repo_name, tmp_path
):
    stack.source_pusher().push_image(f"{repo_name}/fresh", "2.0", [4096], seed="fresh")
    stack.source_pusher().push_image(f"{repo_name}/taken", "2.0", [4096], seed="taken")
    taken = f"{standin.HUB_NAMESPACE}/taken-{repo_name}"
    stack.hub_pusher_for(taken).push_image(taken, "2.0", [4096], seed="somebody-else")
    list_file = tmp_path / "images.txt"
    lines = [
        f"{stack.source(f'{repo_name}/{name}', '2.0')} {destination}\n"
        for name, destination in (
            ("fresh", stack.destination(f"fresh-{repo_name}", "2.0")),
            ("taken", f"{stack.hub.host}/{taken}:2.0"),
            ("missing", stack.destination(f"missing-{repo_name}", "2.0")),
        )
    ]
    list_file.write_text("".join(lines))
    report = tmp_path / "report.json"

    run = cli("promote", "--from-file", list_file, "--report", report)

    assert run.returncode == 5  # an error outranks a refusal
    results = json.loads(run.stdout)
    assert [r["status"] for r in results] == ["promoted", "refused", "failed"]
    assert [r["exit_code"] for r in results] == [0, 3, 5]
    assert "summary: 1 promoted, 0 identical, 1 refused, 1 failed" in run.stderr
    content = json.loads(report.read_text())
    assert [image["status"] for image in content["images"]] == ["promoted", "refused", "failed"]
    assert content["exit_code"] == 5
    assert all("timings" in image for image in content["images"])


def test_a_refusal_outranks_success(stack, cli, repo_name, tmp_path):
    stack.source_pusher().push_image(f"{repo_name}/a", "1", [4096], seed="a")
    stack.source_pusher().push_image(f"{repo_name}/b", "1", [4096], seed="b")
    already = cli(
        "promote",
        stack.source(f"{repo_name}/a", "1"),
        "--destination",
        stack.destination(f"{repo_name}-a", "1"),
    )
    assert already.returncode == 0
    list_file = tmp_path / "images.txt"
    list_file.write_text(
        f"{stack.source(f'{repo_name}/a', '1')} {stack.destination(f'{repo_name}-a', '1')}\n"
        f"{stack.source(f'{repo_name}/b', '1')} {stack.destination(f'{repo_name}-b', '1')}\n"
    )

    run = cli("promote", "--from-file", list_file)

    assert run.returncode == 3
    assert [r["status"] for r in json.loads(run.stdout)] == ["refused", "promoted"]


def test_a_batch_stopped_midway_says_what_each_image_reached(stack, repo_name, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from test_promote_end_to_end import hub_digest

    names = [f"{repo_name}-{index}" for index in range(8)]
    digests = {}
    list_file = tmp_path / "images.txt"
    with open(list_file, "w") as images:
        for name in names:
            digests[name], _, _ = stack.source_pusher().push_image(
                name, "1.0", [512 * 1024] * 2, seed=name
            )
            images.write(f"{stack.source(name, '1.0')} {stack.destination(name, '1.0')}\n")
    report = tmp_path / "report.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "ecr_to_docker", "promote", "--from-file", str(list_file)]
        + ["--jobs", "2", "--report", str(report)],
        env=stack.environment(TMPDIR=str(tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Stop it once the first tag is there: some images done, some not.
    first = f"{standin.HUB_NAMESPACE}/{names[0]}"
    deadline = time.monotonic() + 60
    while hub_digest(stack, first, "1.0") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 143, stderr
    results = json.loads(stdout)
    assert [r["source"] for r in results] == [stack.source(name, "1.0") for name in names]
    content = json.loads(report.read_text())
    reported = content["images"]
    assert [{k: v for k, v in image.items() if k != "timings"} for image in reported] == results
    # The summary counts every image, the unfinished ones as interrupted.
    assert sum(content["summary"].values()) == len(names)
    unfinished = sum(r["status"] in ("tagged", "tagging", "interrupted") for r in results)
    assert content["summary"]["interrupted"] == unfinished
    assert "summary: " in stderr
    # The copies stopped on purpose are not mistaken for faults worth a second run.
    assert "trying once more" not in stderr
    for name, result in zip(names, results, strict=True):
        published = hub_digest(stack, f"{standin.HUB_NAMESPACE}/{name}", "1.0")
        # Every tag that is there is one the result owns up to, and holds the source.
        if published is not None:
            assert result["status"] in ("promoted", "tagged", "tagging"), (name, result)
            assert published == digests[name]
        if result["status"] in ("promoted", "tagged"):
            assert published == digests[name]
        assert result["status"] in ("promoted", "tagged", "tagging", "interrupted"), result


COUNTING_CRANE = """#!/bin/bash
# Counts the copies running at once: one marker file per running crane.
marker="{directory}/running.$$"
touch "$marker"
ls "{directory}" | grep -c '^running\\.' > "{directory}/seen.$$"
printf '%s' "${{GOMAXPROCS-unset}}" > "{directory}/threads.$$"
sleep 0.3  # long enough for the copies that may overlap to do so
"{crane}" "$@"
status=$?
rm -f "$marker"
exit $status
"""


def test_jobs_bounds_the_copies_and_the_next_images_are_checked_meanwhile(
    stack, cli, repo_name, tmp_path
):
    import os
    import shutil
    import stat

    names = [f"{repo_name}-{index}" for index in range(6)]
    list_file = tmp_path / "images.txt"
    with open(list_file, "w") as images:
        for name in names:
            stack.source_pusher().push_image(name, "1.0", [4096], seed=name)
            images.write(f"{stack.source(name, '1.0')} {stack.destination(name, '1.0')}\n")
    counts = tmp_path / "counts"
    counts.mkdir()
    wrapper = tmp_path / "crane"
    real_crane = os.environ.get("CRANE") or shutil.which("crane")
    wrapper.write_text(COUNTING_CRANE.format(directory=counts, crane=real_crane))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    report = tmp_path / "report.json"

    run = cli(
        "promote",
        "--from-file",
        list_file,
        "--jobs",
        "2",
        "--report",
        report,
        env={"CRANE": str(wrapper)},
    )

    assert run.returncode == 0, run.stderr
    seen = [int(path.read_text()) for path in counts.glob("seen.*")]
    assert len(seen) == len(names)
    assert max(seen) == 2  # never more than --jobs, and the slots were used
    # Copies side by side get one thread of Go code each.
    assert {path.read_text() for path in counts.glob("threads.*")} == {"1"}
    images = json.loads(report.read_text())["images"]
    # Images waited for a copy slot, and had their checks made before their turn came.
    assert sum(1 for image in images if image["timings"].get("copy_queue", 0) > 0.1) >= 2
    assert all("destination_check" in image["timings"] for image in images)


def test_an_image_still_waiting_for_its_turn_when_the_time_budget_ends_fails(
    stack, cli, repo_name, tmp_path
):
    import stat

    names = [f"{repo_name}-{index}" for index in range(2)]
    list_file = tmp_path / "images.txt"
    with open(list_file, "w") as images:
        for name in names:
            stack.source_pusher().push_image(name, "1.0", [4096], seed=name)
            images.write(f"{stack.source(name, '1.0')} {stack.destination(name, '1.0')}\n")
    slow_crane = tmp_path / "crane"
    slow_crane.write_text("#!/bin/bash\nsleep 30\n")
    slow_crane.chmod(slow_crane.stat().st_mode | stat.S_IXUSR)

    run = cli(
        "promote",
        "--from-file",
        list_file,
        "--jobs",
        "1",
        "--timeout",
        "3",
        env={"CRANE": str(slow_crane)},
        timeout=60,
    )

    assert run.returncode == 5, run.stderr
    results = json.loads(run.stdout)
    assert [r["status"] for r in results] == ["failed", "failed"]
    errors = sorted(r["error"] for r in results)
    assert any("did not finish within the run's time budget" in e for e in errors), errors
    assert any("still waiting for its turn to copy" in e for e in errors), errors


def test_images_done_early_are_verified_even_when_a_slow_copy_uses_up_the_budget(
    stack, cli, repo_name, tmp_path
):
    import os
    import shutil
    import stat

    names = [f"{repo_name}-{index}" for index in range(4)]
    list_file = tmp_path / "images.txt"
    digests = {}
    with open(list_file, "w") as images:
        for name in names:
            digests[name], _, _ = stack.source_pusher().push_image(name, "1.0", [4096], seed=name)
            images.write(f"{stack.source(name, '1.0')} {stack.destination(name, '1.0')}\n")
    # The last image's copy hangs; the others copy at once.
    wrapper = tmp_path / "crane"
    real_crane = os.environ.get("CRANE") or shutil.which("crane")
    wrapper.write_text(
        f'#!/bin/bash\ncase "$*" in *{names[-1]}@*) sleep 60;; esac\nexec "{real_crane}" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)

    run = cli(
        "promote",
        "--from-file",
        list_file,
        "--jobs",
        "2",
        "--timeout",
        "6",
        env={"CRANE": str(wrapper)},
        timeout=60,
    )

    assert run.returncode == 5, run.stderr
    results = json.loads(run.stdout)
    assert [r["status"] for r in results] == ["promoted"] * 3 + ["failed"]
    assert [r["destination_digest"] for r in results[:3]] == [digests[n] for n in names[:3]]
    assert "did not finish within the run's time budget" in results[3]["error"]


def test_a_signal_the_kernel_hands_to_a_worker_thread_still_stops_the_batch_at_once(
    stack, repo_name, tmp_path
):
    import ctypes
    import os
    import platform
    import shutil
    import signal
    import stat
    import subprocess
    import sys
    import time

    names = [f"{repo_name}-{index}" for index in range(8)]
    list_file = tmp_path / "images.txt"
    with open(list_file, "w") as images:
        for name in names:
            stack.source_pusher().push_image(name, "1.0", [4096], seed=name)
            images.write(f"{stack.source(name, '1.0')} {stack.destination(name, '1.0')}\n")
    wrapper = tmp_path / "crane"
    real_crane = os.environ.get("CRANE") or shutil.which("crane")
    wrapper.write_text(f'#!/bin/bash\nsleep 0.5\nexec "{real_crane}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    process = subprocess.Popen(
        [sys.executable, "-m", "ecr_to_docker", "promote", "--from-file", str(list_file)]
        + ["--jobs", "1"],
        env=stack.environment(TMPDIR=str(tmp_path), CRANE=str(wrapper)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    # tgkill (system call 234 on x86_64): SIGTERM to one thread that is not the main one,
    # as the kernel may choose to.
    if platform.machine() != "x86_64":
        pytest.skip("the tgkill system call number used here is x86_64's")
    tgkill = ctypes.CDLL(None, use_errno=True).syscall
    signalled_at = None
    for _ in range(50):
        workers = [int(tid) for tid in os.listdir(f"/proc/{process.pid}/task")]
        workers = [tid for tid in workers if tid != process.pid]
        if workers and tgkill(234, process.pid, workers[0], signal.SIGTERM) == 0:
            signalled_at = time.monotonic()
            break
        time.sleep(0.02)
    assert signalled_at is not None, "no worker thread to signal"
    stdout, stderr = process.communicate(timeout=60)
    stopped_after = time.monotonic() - signalled_at

    assert process.returncode == 143, stderr
    assert stopped_after < 1.5, stopped_after
    statuses = [result["status"] for result in json.loads(stdout)]
    assert "interrupted" in statuses, statuses


def _long_dry_run_list(stack, repo_name, tmp_path, count):
    """A list of `count` images, all one small source, each to a repository of its own:
    with --dry-run nothing is written, and each image still logs in and checks."""
    stack.source_pusher().push_image(repo_name, "1.0", [1024], seed=repo_name)
    source = stack.source(repo_name, "1.0")
    list_file = tmp_path / "long.txt"
    list_file.write_text(
        "".join(
            f"{source} {stack.destination(f'{repo_name}-{index}', '1.0')}\n"
            for index in range(count)
        )
    )
    return list_file


def test_a_long_batch_stopped_by_a_signal_starts_no_further_image(stack, repo_name, tmp_path):
    # Jenkins kills an aborted build after a grace period: the run must end at once, not
    # after the workers have gone through the rest of the list.
    import signal
    import threading
    import time

    from conftest import start_command

    jobs = 4
    list_file = _long_dry_run_list(stack, repo_name, tmp_path, 4000)
    process = start_command(
        ["promote", "--from-file", str(list_file), "--dry-run", "--jobs", str(jobs)],
        stack.environment(TMPDIR=str(tmp_path)),
    )
    checked = []  # one entry per "would copy" line, as it is written

    def read_log():
        for line in process.stderr:
            if "dry run: would copy" in line:
                checked.append(line)

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while len(checked) < 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    checked_at_signal = len(checked)
    process.send_signal(signal.SIGTERM)
    stdout = process.stdout.read()
    process.wait(timeout=30)
    reader.join(timeout=10)

    assert process.returncode == 143
    results = json.loads(stdout)
    assert len(results) == 4000
    # Only the images already under way when the signal came may finish: at most one per
    # worker (2 x --jobs of them), plus log lines that were on their way to this reader.
    # Before, the workers went on through hundreds more.
    assert len(checked) - checked_at_signal <= 4 * jobs + 10
    assert sum(r["status"] == "interrupted" for r in results) >= 4000 - len(checked) - 4 * jobs


def test_images_whose_turn_comes_after_the_time_budget_fail_at_once_in_one_line(
    stack, cli, repo_name, tmp_path
):
    list_file = _long_dry_run_list(stack, repo_name, tmp_path, 3000)

    run = cli("promote", "--from-file", list_file, "--dry-run", "--timeout", "2", timeout=120)

    assert run.returncode == 5, run.stderr[-2000:]
    results = run.result
    not_started = [r for r in results if r.get("error", "").startswith("not started")]
    assert not_started, "the budget of 2 s was expected to end before 3000 checks"
    assert all(r["status"] == "failed" and r["exit_code"] == 5 for r in not_started)
    # Said once for all of them, not once per image.
    assert run.stderr.count("not started") == 1
    assert f"{len(not_started)} images were not started" in run.stderr


def test_once_the_stop_is_set_no_further_step_starts():
    import threading

    from ecr_to_docker import parallel

    stop = threading.Event()
    started = []

    def step(index):
        started.append(index)
        if index == 2:
            stop.set()
        return index

    results = parallel.run_bounded([lambda i=i: step(i) for i in range(10)], 1, stop=stop)

    assert started == [0, 1, 2]
    assert results == [0, 1, 2] + [None] * 7
