"""Several images in one run: one ECR login, each image its own outcome, the most severe
outcome as the exit code."""

import json

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
