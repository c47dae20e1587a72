"""From the raw results to docs/BENCHMARKS.md: the targets, met or missed and by how much,
the tables behind them, and where our fixed cost goes."""

import re
import statistics

MB = 1000 * 1000
TOOL_LABELS = {
    "ours": "ecr-to-docker promote",
    "crane": "crane copy (ready config)",
    "skopeo": "skopeo copy --all --preserve-digests",
    "regctl": "regctl image copy",
    "floor": "floor: the ECR token through the AWS SDK, then crane copy, no checks",
}
# The targets a run is judged against, here and never in a timed test.
LARGE_RATIO_LIMIT = 1.10
FIXED_COST_LIMIT = 0.35
REFUSAL_LIMIT = 0.5
BATCH_SPEEDUP_FLOOR = 3.0
MEMORY_LIMIT = 80 * MB
HELP_LIMIT = 0.150
BATCH_JOBS_COMPARED = 4  # --jobs of the batch target


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def imports_by_package(importtime_output):
    """Self time of every imported module, added up by top-level package, largest first."""
    totals = {}
    for line in importtime_output.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            package = match.group(2).split(".")[0]
            totals[package] = totals.get(package, 0) + int(match.group(1)) / 1e6
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


# -- numbers out of the runs ----------------------------------------------------------


def walls(runs):
    return [run["wall"] for run in runs]


def median_wall(runs):
    return statistics.median(walls(runs))


def phase(runs, name):
    values = [run["timings"].get(name, 0.0) for run in runs]
    return statistics.median(values)


def paired_differences(runs_a, runs_b):
    """Per repetition, a minus b (both ran in the same round)."""
    return [a["wall"] - b["wall"] for a, b in zip(runs_a, runs_b, strict=True)]


def paired_ratios(runs_a, runs_b):
    """Per repetition, a's wall time over b's (both ran in the same round)."""
    return [a["wall"] / b["wall"] for a, b in zip(runs_a, runs_b, strict=True)]


def rounds_text(values):
    """Per-round ratios, as text: their median and range."""
    return (
        f"per round {statistics.median(values):.2f}× median, "
        f"{min(values):.2f}–{max(values):.2f}×"
    )


def requests_median(runs, part=None):
    if part is None:
        return statistics.median(run["requests"]["total"] for run in runs)
    if part in ("tokens", "ecr_api"):
        return statistics.median(run["requests"].get(part, 0) for run in runs)
    return statistics.median(sum(run["requests"][part].values()) for run in runs)


def requests_parts(runs):
    """'ECR registry + destination + token service + ECR API' medians, as text."""
    return " + ".join(
        f"{requests_median(runs, part):g}" for part in ("ecr", "hub", "tokens", "ecr_api")
    )


def cpu_text(runs):
    """CPU seconds of the tool (with its children) + of the stand-ins, medians."""
    tool = statistics.median(run["cpu"] for run in runs)
    servers = statistics.median(run["server_cpu"] for run in runs)
    return f"{tool:.2f} + {servers:.2f}"


# -- formatting -----------------------------------------------------------------------


def seconds(value):
    return f"{value:.3f} s" if value < 10 else f"{value:.2f} s"


def offset(difference, unit=""):
    """How far one time lies from another, either way: "0.123 s above", "0.045 s below"."""
    return f"{seconds(abs(difference))}{unit} {'above' if difference >= 0 else 'below'}"


def spread(runs):
    values = walls(runs)
    return f"{min(values):.3f}–{max(values):.3f}"


def megabytes(value):
    return f"{value / MB:.1f} MB"


def ratio(value):
    return f"{value:.2f}×"


def judged(name, limit_text, measured_text, met, margin_text):
    return {
        "name": name,
        "target": limit_text,
        "measured": measured_text,
        "met": met,
        "margin": margin_text,
    }


def below(measured, limit, unit_format):
    """How a '≤ limit' target went, in words."""
    difference = measured - limit
    share = abs(difference) / limit * 100
    if difference <= 0:
        return f"met, {unit_format(-difference)} ({share:.0f} %) to spare"
    return f"missed by {unit_format(difference)} ({share:.0f} %)"


# -- targets --------------------------------------------------------------------------


def judge_targets(results):
    cases = results.get("cases", {})
    targets = []

    large = cases.get("large")
    if large:
        runs = large["runs"]
        ours = median_wall(runs["ours"])
        crane = median_wall(runs["crane"])
        value = ours / crane
        targets.append(
            judged(
                "large image: our wall time against crane's",
                f"≤ {LARGE_RATIO_LIMIT:.2f}× crane",
                f"{ratio(value)} ({seconds(ours)} vs {seconds(crane)}; "
                f"{rounds_text(paired_ratios(runs['ours'], runs['crane']))})",
                value <= LARGE_RATIO_LIMIT,
                below(value, LARGE_RATIO_LIMIT, ratio),
            )
        )
        for other in ("skopeo", "regctl"):
            theirs = median_wall(runs[other])
            targets.append(
                judged(
                    f"large image: ours at or below {other}",
                    f"≤ {other} ({seconds(theirs)})",
                    seconds(ours),
                    ours <= theirs,
                    below(ours, theirs, seconds),
                )
            )
    else:
        targets.append(
            judged(
                "large image", "≤ 1.10× crane, ≤ skopeo, ≤ regctl", "not run in this run", None, ""
            )
        )

    small = cases.get("small")
    if small:
        differences = paired_differences(small["runs"]["ours"], small["runs"]["crane"])
        value = statistics.median(differences)
        targets.append(
            judged(
                "fixed cost: ours minus crane, small image (median of paired runs)",
                f"≤ {FIXED_COST_LIMIT:.2f} s",
                f"{seconds(value)} (range {min(differences):.3f}–{max(differences):.3f})",
                value <= FIXED_COST_LIMIT,
                below(value, FIXED_COST_LIMIT, seconds),
            )
        )

    refusal = results.get("refusal")
    if refusal:
        runs = refusal["runs"]
        value = median_wall(runs)
        forbidden = sum(
            run["requests"]["hub"].get("blob", 0) + run["requests"]["hub"].get("manifest GET", 0)
            for run in runs
        )
        targets.append(
            judged(
                "refusal path: wall time including interpreter start",
                f"≤ {REFUSAL_LIMIT:.2f} s",
                f"{seconds(value)} (max {max(walls(runs)):.3f})",
                value <= REFUSAL_LIMIT,
                below(value, REFUSAL_LIMIT, seconds),
            )
        )
        targets.append(
            judged(
                "refusal path: blob requests and manifest GETs sent to the destination",
                "0",
                f"{forbidden} in {len(runs)} runs",
                forbidden == 0,
                "met" if forbidden == 0 else f"missed: {forbidden} requests",
            )
        )

    batch = results.get("batch")
    if batch:
        loop_runs, four_runs = batch["runs"]["loop of ours"], batch["runs"]["ours --jobs 4"]
        loop, ours = median_wall(loop_runs), median_wall(four_runs)
        value = loop / ours
        share = (value - BATCH_SPEEDUP_FLOOR) / BATCH_SPEEDUP_FLOOR * 100
        targets.append(
            judged(
                "batch of 20: --jobs 4 against a loop of single promotions",
                f"≥ {BATCH_SPEEDUP_FLOOR:.1f}× faster",
                f"{ratio(value)} ({seconds(ours)} vs {seconds(loop)}; "
                f"{rounds_text(paired_ratios(loop_runs, four_runs))})",
                value >= BATCH_SPEEDUP_FLOOR,
                f"met, {share:.0f} % to spare"
                if value >= BATCH_SPEEDUP_FLOOR
                else f"missed by {BATCH_SPEEDUP_FLOOR - value:.2f}× ({-share:.0f} %)",
            )
        )

    peaks = []
    for name, case in cases.items():
        peaks += [(run["peak_rss"], name) for run in case["runs"]["ours"]]
    if batch:
        peaks += [(run["peak_rss"], "batch --jobs 4") for run in batch["runs"]["ours --jobs 4"]]
        peaks += [(run["peak_rss"], "batch --jobs 1") for run in batch["runs"]["ours --jobs 1"]]
    if peaks:
        value, where = max(peaks)
        targets.append(
            judged(
                "peak memory of our Python processes, any image",
                f"≤ {megabytes(MEMORY_LIMIT)}",
                f"{megabytes(value)} (highest: {where})",
                value <= MEMORY_LIMIT,
                below(value, MEMORY_LIMIT, megabytes),
            )
        )

    help_result = results.get("help", {}).get("--help")
    if help_result:
        value = help_result["median"]
        targets.append(
            judged(
                "ecr-to-docker --help",
                f"≤ {HELP_LIMIT * 1000:.0f} ms",
                f"{value * 1000:.0f} ms",
                value <= HELP_LIMIT,
                below(value, HELP_LIMIT, lambda v: f"{v * 1000:.0f} ms"),
            )
        )
    return targets


def verdict(met):
    return {True: "**met**", False: "**missed**", None: "not measured"}[met]


def targets_text(targets):
    lines = ["targets:"]
    for target in targets:
        state = {True: "met   ", False: "MISSED", None: "n/a   "}[target["met"]]
        lines.append(
            f"  {state} {target['name']}: {target['measured']} "
            f"(target {target['target']}) {target['margin']}"
        )
    return "\n".join(lines)


# -- the document ---------------------------------------------------------------------


def render(results):
    targets = judge_targets(results)
    meta = results["meta"]
    machine = meta["machine"]
    out = []
    add = out.append
    add("# Benchmarks\n")
    add(
        "How long a promotion takes and what it costs, next to the tools it could be "
        "replaced by. This file is written by `tests/bench.py`; rerun it to refresh it.\n"
    )
    add(
        "```\nmake bench        # installs skopeo and regctl first "
        "(scripts/install-bench-tools.sh)\n"
        "make bench BENCH_ARGS=--quick   # smoke run: fewer repetitions, no large image, "
        "written to build/bench/\n```\n"
    )
    add(
        f"- run: `{meta['command']}` on {meta['date']}, {meta['duration_seconds']} s in all"
        + (" (**quick run**: fewer repetitions, no large image)" if meta["quick"] else "")
        + (" (**partial run**)" if not meta.get("complete", True) and not meta["quick"] else "")
    )
    add(
        f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['os']}, Linux {machine['kernel']}, Python {machine['python']}"
    )
    versions = meta["versions"]
    add(
        "- tools: "
        + ", ".join(f"{name} {version.split()[-1]}" for name, version in versions.items())
    )
    add(
        "- registries: the stand-ins of `make test` on 127.0.0.1 (moto's ECR API, the "
        "reference distribution registry as ECR with Basic auth and as Docker Hub with a "
        "token service), so network latency is near zero and every fixed cost shows "
        "at full size.\n"
    )

    add("## Targets\n")
    add("| target | limit | measured | verdict | margin |")
    add("|---|---|---|---|---|")
    for target in targets:
        add(
            f"| {target['name']} | {target['target']} | {target['measured']} | "
            f"{verdict(target['met'])} | {target['margin']} |"
        )
    add("")
    missed = [target for target in targets if target["met"] is False]
    explanations = explain_misses(results, missed)
    if explanations:
        add("### Why the missed targets are missed\n")
        out.extend(explanations)
        add("")
    tension = targets_in_tension(results)
    if tension:
        add("### The large-image and batch targets together\n")
        add(tension)
        add("")

    add("## How it is measured\n")
    add(
        "- One run of the script times every tool, alternating them run for run: each round "
        "starts with the next tool in turn and runs the others in a shuffled order (fixed "
        "seed), so that a slow moment of this shared machine hits all of them and no tool "
        "always runs right after the same one; "
        "each case is repeated and the tables give the median and the range (min–max). "
        "Ratios are against crane's median from the same run."
    )
    add(
        "- Each case starts with one untimed crane copy, so that the source's blobs are in "
        "the page cache for everyone. Every copy then goes to a repository of its own on "
        "the destination, and that repository and the destination's whole blob store are "
        "removed after the run: every run uploads every blob, nothing is found there "
        "already. skopeo also gets an empty blob-location cache per run."
    )
    add(
        "- crane gets a ready `DOCKER_CONFIG`, skopeo an `--authfile`, regctl a logged-in "
        "configuration: their setup is not timed. Our command is timed whole: interpreter "
        "start, ECR token from the moto stand-in, checks, crane, verification."
    )
    add(
        "- The floor (`tests/bench/token_then_crane.py`) is what a promotion built on the "
        "AWS SDK and crane does at the least: a fresh interpreter fetches the ECR token the "
        "way our command does, writes a config for crane, and runs `crane copy` (crane asks "
        "the destination's token service itself, some six times an image). It checks "
        "nothing, so it is a yardstick, not a tool. For the batch it runs once per image in "
        "a loop, and once for the whole list: one ECR token and a token per destination "
        "repository, asked side by side and handed to crane as our command hands them, "
        "then the copies 4 at a time with one Go thread each, as our command runs them; its "
        "logins are all made before the first copy, where our command makes them for 8 "
        "images at a time."
    )
    add(
        "- Ratios are of medians. The targets' rows also give the ratio of the two runs "
        "made in the same round (median and range over the rounds): this machine's load "
        "drifts within a run, and these show how much."
    )
    add(
        "- Wall time is from process start to exit, measured by the caller. Peak memory is "
        "the VmHWM of the started process, read from `/proc/<pid>/status` every 5 ms "
        "until it exits (VmHWM only grows, so a late sample still holds an earlier peak). "
        "For our command it is its Python process, plus any fork of it that stays Python "
        "(summed: an upper bound, since the pages a fork shares with its parent would "
        "count twice), but not the crane it runs. The "
        "`ru_maxrss` that `wait4` reports is not used: a forked child keeps the high-water "
        "mark of the process that forked it, here the benchmark itself."
    )
    add(
        "- Requests are the access-log lines of the two registries (one per request, 401 "
        "challenges included), plus the token service's requests, in the window of each "
        "run, and the ECR API calls moto answered (GetAuthorizationToken); the tables give "
        "the total and its parts: ECR registry + destination registry + token service + "
        "ECR API. Every copy's result is checked with `crane digest` outside that window."
    )
    add(
        "- CPU is the user plus system time of the tool and every child it waited for "
        "(crane, for ours), and, apart, what the stand-ins spent meanwhile (both registry "
        "processes, and the benchmark's own process, which runs the token service and "
        "moto): on two cores, a busy machine is a limit no tool can pass."
    )
    add(
        "- crane asks every destination but Docker Hub itself (`index.docker.io`) to mount "
        "each blob from the source's repository. The stand-in refuses with a 401 (twice, "
        "with a token request between, when crane holds a password rather than a token), "
        "and crane then uploads the blob. On Docker Hub crane skips the attempt. Every "
        "run here but skopeo's and regctl's copies with crane and pays it for every blob."
    )
    add(
        "- The token stand-in signs with its key loaded once, so that its own cost stays "
        "small and a tool is not charged by the number of tokens it asks for.\n"
    )

    for name, case in results.get("cases", {}).items():
        add(f"## {name}: {case['description']}\n")
        add(f"{case['repetitions']} repetitions per tool; {load_text(case)}.\n")
        add(case_table(case["runs"]))
        add("")

    fixed = fixed_cost_section(results)
    if fixed:
        out.extend(fixed)

    refusal = results.get("refusal")
    if refusal:
        out.extend(refusal_section(refusal))

    batch = results.get("batch")
    if batch:
        out.extend(batch_section(batch, machine["cores"]))

    help_results = results.get("help", {})
    if help_results:
        add("## --help\n")
        add("| command | median | range |")
        add("|---|---|---|")
        for arguments, value in help_results.items():
            add(
                f"| `ecr-to-docker {arguments}` | {value['median'] * 1000:.0f} ms | "
                f"{value['min'] * 1000:.0f}–{value['max'] * 1000:.0f} ms |"
            )
        add("")
    return "\n".join(out) + "\n", targets


def load_text(case):
    before, after = case.get("load", (None, None))
    if before is None:
        return "machine load not recorded"
    return f"1-minute load average {before:.1f} before, {after:.1f} after"


def case_table(runs):
    crane_wall = median_wall(runs["crane"])
    crane_requests = requests_median(runs["crane"])
    lines = [
        "| tool | wall (median) | range (s) | vs crane | CPU s: tool + stand-ins | peak memory "
        "of the process | requests | vs crane |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tool, tool_runs in runs.items():
        wall = median_wall(tool_runs)
        peak = max(run["peak_rss"] for run in tool_runs)
        requests = requests_median(tool_runs)
        label = TOOL_LABELS.get(tool, tool)
        memory = megabytes(peak) + (" (Python only)" if tool == "ours" else "")
        lines.append(
            f"| {label} | {seconds(wall)} | {spread(tool_runs)} | "
            f"{ratio(wall / crane_wall)} | {cpu_text(tool_runs)} | {memory} | "
            f"{requests:g} ({requests_parts(tool_runs)}) | "
            f"{ratio(requests / crane_requests)} |"
        )
    return "\n".join(lines)


def fixed_cost_parts(results):
    """Our small-image run, split into what it spends before, around and after crane."""
    small = results.get("cases", {}).get("small")
    if not small:
        return None
    ours = small["runs"]["ours"]
    crane = median_wall(small["runs"]["crane"])
    wall = median_wall(ours)
    total = phase(ours, "total")
    ecr_side = statistics.median(
        run["timings"].get("ecr_login", 0) + run["timings"].get("source_resolve", 0) for run in ours
    )
    destination_side = statistics.median(
        run["timings"].get("destination_login", 0) + run["timings"].get("destination_check", 0)
        for run in ours
    )
    after_copy = statistics.median(
        sum(
            run["timings"].get(name, 0)
            for name in ("destination_recheck", "tag", "settle", "verify")
        )
        for run in ours
    )
    copy = phase(ours, "copy")
    startup = results.get("startup", {})

    def probe(label):
        return startup.get(label, {}).get("min")

    return {
        "wall": wall,
        "crane": crane,
        "total": total,
        "outside_clock": wall - total,
        "ecr_side": ecr_side,
        "destination_side": destination_side,
        "copy": copy,
        "copy_over_crane": copy - crane,
        "after_copy": after_copy,
        "difference": statistics.median(paired_differences(ours, small["runs"]["crane"])),
        "interpreter": probe("interpreter"),
        "command_line_imports": _difference(probe("command line"), probe("interpreter")),
        "promote_command_imports": _difference(probe("promote command"), probe("command line")),
        "promotion_imports": _difference(probe("promote imports"), probe("promote command")),
        "sdk_import": _difference(probe("+ botocore"), probe("promote imports")),
        "ecr_client": _difference(probe("+ ECR client"), probe("+ botocore")),
        "token_alone": probe("ECR token alone"),
        "phases": {
            name: phase(ours, name)
            for name in (
                "validate",
                "ecr_login",
                "source_resolve",
                "destination_login",
                "destination_check",
                "copy",
                "destination_recheck",
                "tag",
                "settle",
                "verify",
                "total",
            )
        },
    }


def _difference(a, b):
    return None if a is None or b is None else a - b


def fixed_cost_section(results):
    parts = fixed_cost_parts(results)
    if parts is None:
        return []
    out = [
        "## Our fixed cost, small image\n",
        f"Median of the small-image runs: ours {seconds(parts['wall'])}, crane alone "
        f"{seconds(parts['crane'])}, ours minus crane {seconds(parts['difference'])} "
        "(median of the paired differences).\n",
        "Phases, from `--report` (each the median over the runs; the ECR side and the "
        "destination side run at the same time):\n",
        "| phase | median | what it is |",
        "|---|---|---|",
    ]
    descriptions = {
        "validate": "arguments, environment, crane's presence, and last the AWS configuration "
        "files, which loads botocore",
        "ecr_login": "ECR token: build the client, GetAuthorizationToken",
        "source_resolve": "source registry: /v2/ and one GET of the manifest",
        "destination_login": "destination: /v2/, token for pull,push",
        "destination_check": "destination: HEAD of the tag",
        "copy": "crane copy by digest, with its private DOCKER_CONFIG",
        "destination_recheck": "destination: HEAD of the tag again",
        "tag": "destination: PUT of the manifest under the tag",
        "settle": "pause before the read-back: twice the time from the second check to the "
        "tag write",
        "verify": "destination: HEAD of the tag (and of each child of an index)",
        "total": "from the run's clock start (after imports) to the report",
    }
    for name, value in parts["phases"].items():
        out.append(f"| {name} | {seconds(value)} | {descriptions[name]} |")
    out.append("")
    out.append(
        "Where ours minus crane goes (medians; the parts are estimates and need not "
        "add up exactly):\n"
    )
    out.append("| part | seconds | how it is measured |")
    out.append("|---|---|---|")
    rows = [
        (
            "interpreter start and imports, and exit (outside the run's clock)",
            parts["outside_clock"],
            "wall time minus the report's total",
        ),
        (
            "· of which: bare interpreter start",
            parts["interpreter"],
            "`python -c pass`, fresh process, fastest of the probes (every probe leaves "
            "with `os._exit`, as the command does)",
        ),
        (
            "· of which: importing the command line",
            parts["command_line_imports"],
            "`import ecr_to_docker.__main__` minus the bare start",
        ),
        (
            "· of which: importing the promote command (input checks)",
            parts["promote_command_imports"],
            "`import ...promote_command` minus the line above",
        ),
        (
            "· of which: importing the promotion (requests, urllib3, ...)",
            parts["promotion_imports"],
            "`import ...promotion` minus the line above (inside the run's clock since the "
            "input checks come first)",
        ),
        (
            "input checks (the validate phase)",
            parts["phases"]["validate"],
            "phase",
        ),
        (
            "· of which: importing botocore (for the AWS configuration check)",
            parts["sdk_import"],
            "fastest probe with botocore minus fastest without",
        ),
        (
            "checks before the copy: the slower of the two sides",
            max(parts["ecr_side"], parts["destination_side"]),
            f"ECR side {seconds(parts['ecr_side'])}, destination side "
            f"{seconds(parts['destination_side'])}",
        ),
        (
            "· of which: building the ECR client (inside ecr_login)",
            parts["ecr_client"],
            "fastest probe with `ecr_login.ecr_client(...)` minus fastest with the import only",
        ),
        (
            "crane inside our run, beyond crane alone",
            parts["copy_over_crane"],
            "copy phase minus crane's own wall time",
        ),
        ("after the copy: recheck, tag, settle, verify", parts["after_copy"], "phases"),
        (
            "for comparison: the ECR token alone, in a fresh process",
            parts["token_alone"],
            "`ecr_login.login(...)` and nothing else, fastest probe: no promotion can "
            "start its copy sooner",
        ),
    ]
    for label, value, how in rows:
        shown = "–" if value is None else f"{value:.3f}"
        out.append(f"| {label} | {shown} | {how} |")
    out.append("")
    imports = results.get("imports") or []
    if imports:
        out.append(
            "Import time by package (`python -X importtime`, self time summed per "
            "top-level package, one run, everything the promote path imports):\n"
        )
        out.append("| package | seconds |")
        out.append("|---|---|")
        for package, value in imports[:10]:
            out.append(f"| {package} | {value:.3f} |")
        out.append(f"| all {len(imports)} packages | {sum(v for _, v in imports):.3f} |")
        out.append("")
    return out


def refusal_section(refusal):
    runs = refusal["runs"]
    kinds = {}
    for run in runs:
        for kind, count in run["requests"]["hub"].items():
            kinds.setdefault(kind, []).append(count)
    destination = ", ".join(
        f"{kind}: {statistics.median(counts):g}" for kind, counts in sorted(kinds.items())
    )
    return [
        "## Refusal: the destination tag already exists\n",
        f"{refusal['repetitions']} runs; exit code 3 each time.\n",
        "| wall (median) | range (s) | peak memory | destination requests per run | ECR "
        "registry requests | token requests | ECR API calls |",
        "|---|---|---|---|---|---|---|",
        f"| {seconds(median_wall(runs))} | {spread(runs)} | "
        f"{megabytes(max(run['peak_rss'] for run in runs))} | {destination} | "
        f"{requests_median(runs, 'ecr'):g} | {requests_median(runs, 'tokens'):g} | "
        f"{requests_median(runs, 'ecr_api'):g} |",
        "",
    ]


def batch_section(batch, cores):
    runs = batch["runs"]
    loop = median_wall(runs["loop of ours"])
    descriptions = {
        "ours --jobs 4": "one `ecr-to-docker promote --from-file LIST --jobs 4`",
        "ours --jobs 1": "the same with `--jobs 1`",
        "loop of ours": "bash loop, one `ecr-to-docker promote SRC --destination DEST` per "
        "image (ECR login, checks, copy, tag, verify each time)",
        "loop of crane": "bash loop as a hand-written stage: fresh DOCKER_CONFIG, "
        "`crane auth login` to both, `crane digest` check, `crane copy` "
        "(no ECR token call: no AWS CLI here)",
        "floor --jobs 4": "the floor once for the whole list: one ECR token and a token per "
        "destination repository, then `crane copy` of every image, 4 at a time, no checks",
        "loop of floor": "bash loop of the floor, once per image: the ECR token, then `crane "
        "copy`, no checks",
    }
    out = [
        f"## Batch: {batch['description']}\n",
        f"{batch['repetitions']} repetitions per variant; {load_text(batch)}. The loop of "
        "single runs of our command is the baseline of the target: it is how a CI pipeline "
        "stage promotes several images when each is its own run.\n",
        "| variant | wall (median) | range (s) | faster than the loop of ours | CPU s: "
        "tool + stand-ins | both cores busy | peak memory | requests |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant, variant_runs in runs.items():
        wall = median_wall(variant_runs)
        memory = (
            megabytes(max(run["peak_rss"] for run in variant_runs))
            if variant.startswith("ours --jobs")
            else "–"
        )
        out.append(
            f"| {descriptions[variant]} | {seconds(wall)} | {spread(variant_runs)} | "
            f"{ratio(loop / wall)} | {cpu_text(variant_runs)} | "
            f"{busy_share(variant_runs, cores):.0f} % | {memory} | "
            f"{requests_median(variant_runs):g} ({requests_parts(variant_runs)}) |"
        )
    out.append("")
    return out


def busy_share(runs, cores):
    """How much of the machine's CPU the tool and the stand-ins used together."""
    return statistics.median(
        (run["cpu"] + run["server_cpu"]) / (run["wall"] * cores) * 100 for run in runs
    )


def explain_misses(results, missed):
    """A line per missed target, with the measured reason."""
    lines = []
    names = {target["name"] for target in missed}
    parts = fixed_cost_parts(results)
    cases = results.get("cases", {})
    if any(name.startswith("large image") for name in names) and "large" in cases:
        runs = cases["large"]["runs"]
        ours, crane = median_wall(runs["ours"]), median_wall(runs["crane"])
        copy = phase(runs["ours"], "copy")
        around = statistics.median(run["wall"] - run["timings"]["copy"] for run in runs["ours"])
        fastest = min(("skopeo", "regctl"), key=lambda tool: median_wall(runs[tool]))
        theirs = median_wall(runs[fastest])
        text = (
            f"- **Large image.** Ours takes {seconds(ours)}, crane alone {seconds(crane)}: "
            f"ours adds {seconds(ours - crane)}. Inside our run crane's copy took "
            f"{seconds(copy)}, and the fixed cost around it was {seconds(around)} (median "
            "of wall minus copy phase per run; see the small image)"
        )
        text += (
            f"; the rest is this machine's noise between runs (crane's own range: "
            f"{spread(runs['crane'])} s). "
            if copy > crane
            else ". "
        )
        if "floor" in runs:
            floor = median_wall(runs["floor"])
            text += (
                "The floor, timed beside the others, fetches the ECR token through the AWS "
                "SDK in a fresh process, as our command does, and then runs crane, with no "
                f"check before or after: {seconds(floor)}, {ratio(floor / crane)} crane "
                f"({rounds_text(paired_ratios(runs['floor'], runs['crane']))}). A promotion "
                "built on that SDK and on crane cannot copy a byte before the ECR token is "
                "here, so it beats the floor only by getting the token sooner, or by noise"
                + (
                    f" (on this run ours came out {seconds(floor - ours)} below it: see the "
                    "per-round ratios)"
                    if ours < floor
                    else ""
                )
            )
            floor_rounds = paired_ratios(runs["floor"], runs["crane"])
            within = sum(1 for value in floor_rounds if value <= LARGE_RATIO_LIMIT)
            if floor / crane > LARGE_RATIO_LIMIT:
                text += (
                    f". On this run's medians the {LARGE_RATIO_LIMIT:.2f}× target lies below "
                    f"that floor ({floor / crane:.3f}×; at or below {LARGE_RATIO_LIMIT:.2f}× in "
                    f"{within} of {len(floor_rounds)} rounds): the whole copy of the large "
                    f"image over loopback takes crane only {seconds(crane)}, and the floor "
                    f"adds {(floor - crane) / crane * 100:.0f} % to it. "
                )
            else:
                text += (
                    f", and on this run's medians the floor is within the target "
                    f"({floor / crane:.3f}×). Ours is {offset(ours - floor)} the floor: "
                    "loading the HTTP client and the promotion, pinning the source, the "
                    "checks, the tag write, the pause and the read-back. "
                )
            if parts:
                needed = sum(
                    parts["phases"][name] or 0
                    for name in ("source_resolve", "destination_recheck", "tag", "verify")
                )
                pause = parts["phases"].get("settle") or 0
                text += (
                    "A promotion that keeps the promise not to overwrite a tag must also pin "
                    "the source, look at the tag again after the copy, write it and read it "
                    f"back: those requests alone take {seconds(needed)} (medians from the small "
                    f"image; our pause before the read-back adds {seconds(pause)}), so such a "
                    "promotion needs about that much more than the floor: "
                    f"{seconds(floor + needed)} on this run's medians, "
                    f"{(floor + needed) / crane:.3f}× crane (ours: {seconds(ours)}). "
                )
        elif parts and parts.get("token_alone") is not None:
            text += (
                "No byte can be copied before the ECR token is here, and fetching it in a "
                f"fresh process takes {seconds(parts['token_alone'])} on its own (interpreter "
                "start, botocore's import and client, GetAuthorizationToken; the fastest "
                f"probe), {parts['token_alone'] / crane * 100:.0f} % of crane's copy time "
                "here. crane, skopeo and regctl are handed a ready password in this "
                "benchmark and pay none of it. The remaining "
                f"{seconds(max(0.0, ours - crane - parts['token_alone']))} is ours: loading "
                "the HTTP client and the promotion, pinning the source, and the second "
                "check, tag write, pause and read-back after the copy. "
            )
            requests_needed = sum(
                parts["phases"][name] or 0
                for name in ("source_resolve", "destination_recheck", "tag", "verify")
            )
            floor = parts["token_alone"] + requests_needed
            text += (
                "A promotion that fetches its own token and pins the source, checks the tag "
                "again, writes it and reads it back cannot add less than the token plus those "
                f"requests ({seconds(floor)}, their medians from the small image): "
                f"{(crane + floor) / crane:.3f}× crane on this run, against the 1.10× "
                "target. "
            )
        text += (
            f"{fastest} takes {seconds(theirs)} (range {spread(runs[fastest])} s) and crane "
            f"{seconds(crane)} (range {spread(runs['crane'])} s): "
        )
        if _ranges_overlap(runs[fastest], runs["crane"]):
            text += (
                "their ranges overlap, so the copy engines are close within this machine's "
                "noise (the registries take most of both cores, see the CPU column), and "
                f"being at or below {fastest} would take "
                + (
                    f"a fixed cost of at most {seconds(theirs - crane)} on top of crane's copy."
                    if theirs >= crane
                    else f"a copy faster than crane's own, which is {seconds(crane - theirs)} "
                    "slower on this run's medians."
                )
            )
        elif crane > theirs:
            text += (
                f"crane itself is {(crane / theirs - 1) * 100:.0f} % slower than {fastest} "
                "here, and our copy is crane's."
            )
        else:
            text += f"crane alone is faster than {fastest}, so the gap to it is our fixed cost."
        if "floor" in runs and median_wall(runs["floor"]) > theirs:
            text += (
                f" The floor ({seconds(median_wall(runs['floor']))}) is slower than {fastest} "
                "too on this run's medians."
            )
        lines.append(text)
    if any(name.startswith("fixed cost") for name in names) and parts:
        lines.append(
            f"- **Fixed cost.** Ours minus crane is {seconds(parts['difference'])}: "
            f"{seconds(parts['outside_clock'])} before the run's clock starts and at exit "
            "(interpreter start, imports, exit), "
            f"{seconds(max(parts['ecr_side'], parts['destination_side']))} of checks before "
            f"the copy (the ECR token alone {seconds(parts['phases']['ecr_login'])}, of "
            f"which importing botocore about {_maybe(parts['sdk_import'])} and building its "
            f"client about {_maybe(parts['ecr_client'])}; the destination side, "
            f"{seconds(parts['destination_side'])}, is hidden behind it), "
            f"{seconds(parts['copy_over_crane'])} more for crane inside our run than alone, "
            f"and {seconds(parts['after_copy'])} after the copy."
        )
    if any(name.startswith("refusal path: wall") for name in names) and parts:
        refusal = results["refusal"]["runs"]
        outside = statistics.median(run["wall"] - run["timings"]["total"] for run in refusal)
        lines.append(
            f"- **Refusal.** {seconds(median_wall(refusal))}: the refusal names the source "
            f"digest, so it waits for the ECR token ({seconds(phase(refusal, 'ecr_login'))} "
            f"here) on top of interpreter start, imports and exit ({seconds(outside)})."
        )
    if any(name.startswith("batch") for name in names) and "batch" in results:
        runs = results["batch"]["runs"]
        four, one = median_wall(runs["ours --jobs 4"]), median_wall(runs["ours --jobs 1"])
        loop = median_wall(runs["loop of ours"])
        cores = results["meta"]["machine"]["cores"]
        cpu_floor = statistics.median(
            (run["cpu"] + run["server_cpu"]) / cores for run in runs["ours --jobs 4"]
        )
        crane_loop = median_wall(runs["loop of crane"])
        lines.append(
            f"- **Batch.** One process saves the per-image start and ECR login "
            f"({seconds(loop)} for the loop, {seconds(one)} with --jobs 1); going from 1 to "
            f"4 jobs gives {one / four:.2f}× more. The CPU that --jobs 4 and the stand-ins "
            f"use, spread over {cores} cores, is {seconds(cpu_floor)} (this run's CPU use, "
            f"not a bound: fewer requests would need less), against {seconds(four)} "
            f"measured; 3× the loop needs {seconds(loop / BATCH_SPEEDUP_FLOOR)}. "
            + (
                f"The floor of a batch (one ECR token and a token per destination "
                f"repository, then the copies 4 at a time, no checks) took "
                f"{seconds(median_wall(runs['floor --jobs 4']))}: ours is "
                f"{offset(four - median_wall(runs['floor --jobs 4']))} it. "
                if "floor --jobs 4" in runs
                else ""
            )
            + (
                f"The batch beats the hand-written crane loop ({seconds(crane_loop)}, no ECR "
                "token call at all): what is left is mostly the copies themselves, the two "
                "registries' work, which the batch does not change. "
                if four < crane_loop
                else ""
            )
            + "What the batch saves per image is the part of a single run's fixed cost "
            "that one process pays once (start, imports, ECR login; see the small image), so "
            "every cut in that part also shrinks this ratio."
        )
    if any(name.startswith("peak memory") for name in names):
        lines.append("- **Memory.** See the per-case tables for which run peaked.")
    if any(name.startswith("ecr-to-docker --help") for name in names):
        lines.append(
            "- **--help.** It pays interpreter start and the command-line imports "
            "only; see the startup rows of the fixed-cost table."
        )
    return lines


def targets_in_tension(results):
    """Whether this run's numbers let the large-image and the batch target hold at once.

    The batch's baseline is a loop of single runs, each paying a single run's fixed cost;
    the batch pays it once. Cutting that cost by d takes about 20·d off the loop and at
    most d off the batch, so the two targets pull against each other."""
    cases = results.get("cases", {})
    batch = results.get("batch")
    if "large" not in cases or not batch:
        return None
    runs = batch["runs"]
    if "floor --jobs 4" not in runs or "loop of floor" not in runs:
        return None
    large = cases["large"]["runs"]
    return measured_tension(results, median_wall(large["crane"]), median_wall(large["ours"]))


def measured_tension(results, crane_large, ours_large):
    """What batching alone gains over single runs that cost no more than the floor.

    The floor (token_then_crane.py: the logins, then crane, no checks) runs once per image
    in a loop and once for the whole list, 4 copies at a time, in the same rounds. Their
    ratio is what one process for the whole list gains when a single run costs no more
    than the floor, which is about what the large-image target asks of a single run. All
    of it is on this run's medians."""
    batch = results["batch"]
    runs = batch["runs"]
    images = batch.get("size", 20)
    loop_floor = median_wall(runs["loop of floor"])
    batch_floor = median_wall(runs["floor --jobs 4"])
    loop_ours = median_wall(runs["loop of ours"])
    four = median_wall(runs["ours --jobs 4"])
    gains = paired_ratios(runs["loop of floor"], runs["floor --jobs 4"])
    short = sum(1 for gain in gains if gain < BATCH_SPEEDUP_FLOOR)
    large = results["cases"]["large"]["runs"]
    text = (
        f"The floor, run once per image in a loop, took {seconds(loop_floor)} (range "
        f"{spread(runs['loop of floor'])} s); run once for the whole list with "
        f"{BATCH_JOBS_COMPARED} copies at a time, {seconds(batch_floor)} (range "
        f"{spread(runs['floor --jobs 4'])} s). Batching alone gains "
        f"{ratio(loop_floor / batch_floor)} there ({rounds_text(gains)}), with no check on "
        "either side. "
    )
    if "floor" in large:
        floor_large = median_wall(large["floor"])
        if floor_large > LARGE_RATIO_LIMIT * crane_large:
            text += (
                f"On the large image the floor is {floor_large / crane_large:.3f}× crane on "
                f"this run's medians: a single run would have to cost less than the floor "
                f"to meet {LARGE_RATIO_LIMIT:.2f}×. "
            )
        else:
            text += (
                f"On the large image the floor is {floor_large / crane_large:.3f}× crane on "
                f"this run's medians: a single run that meets {LARGE_RATIO_LIMIT:.2f}× "
                f"costs at most {seconds(LARGE_RATIO_LIMIT * crane_large - floor_large)} "
                "more than the floor. "
            )
    per_image = (loop_ours - loop_floor) / images
    text += f"The loop of ours took {seconds(loop_ours)}: "
    if _ranges_overlap(runs["loop of ours"], runs["loop of floor"]):
        text += "the same as the loop of floor runs within this run's noise. "
    else:
        text += f"{offset(per_image, unit=' per image')} the loop of floor runs. "
    text += f"Our batch took {seconds(four)}, {offset(four - batch_floor)} the floor's batch. "
    if loop_floor / batch_floor < BATCH_SPEEDUP_FLOOR:
        text += (
            f"So on this run's medians single runs as cheap as the floor leave batching "
            f"{ratio(loop_floor / batch_floor)} to gain, short of {BATCH_SPEEDUP_FLOOR:.0f}× "
            f"even for a batch that checks nothing (short in {short} of {len(gains)} "
            "rounds): cutting our single run towards the floor brings the large image "
            "closer to its target and takes the batch further from its own."
        )
    else:
        text += (
            f"At the floor batching gains {BATCH_SPEEDUP_FLOOR:.0f}× or more on this run's "
            f"medians (short in {short} of {len(gains)} rounds), so the two targets do not "
            f"rule each other out here; meeting both would take a batch within "
            f"{seconds(loop_floor / BATCH_SPEEDUP_FLOOR - batch_floor)} of the floor's with "
            "single runs no dearer than the floor's."
        )
    return text


def _ranges_overlap(first, second):
    return min(run["wall"] for run in first) <= max(run["wall"] for run in second) and min(
        run["wall"] for run in second
    ) <= max(run["wall"] for run in first)


def _maybe(value):
    return "–" if value is None else seconds(value)
