"""`make bench`: how fast and how lean a promotion is, next to the tools it could be.

Starts the stand-ins (moto's ECR API, an ECR-like registry, a Docker Hub-like registry
with its token service), seeds reproducible images into the ECR stand-in, and times, in
one run and alternating the tools run for run:

- our `ecr-to-docker promote`; plain `crane copy` with a ready configuration (the floor our
  copy builds on); `skopeo copy --all --preserve-digests`; `regctl image copy`; and the
  ECR token through the AWS SDK followed by crane's copy, with no check at all (the floor
  of any promotion built on them);
- for a batch of 20 images: one `promote --jobs 4` against a loop of single promotions,
  beside the floor run once for the whole list (4 copies at a time) and once per image;
- the refusal path (the tag already exists) and `--help`;
- our fixed cost, phase by phase, from the command's own --report and import probes.

Every copy goes to a destination repository of its own, which is removed afterwards
together with the destination's blob store, so that every run uploads every blob.
A complete run writes docs/BENCHMARKS.md and the raw numbers to build/bench/results.json;
--quick and --only runs write to build/bench/ instead.

    .venv/bin/python tests/bench.py [--quick] [--only PART]... [--output FILE]
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import report  # noqa: E402
from bench.measure import StandInWatch, run_measured, time_command  # noqa: E402
from bench.tools import Tools  # noqa: E402
from standins.stack import HUB_NAMESPACE, StandInStack  # noqa: E402

MIB = 1024 * 1024
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_TAG = "1.0.0"
COPY_TOOLS = ("ours", "crane", "skopeo", "regctl", "floor")
BATCH_SIZE = 20
BATCH_JOBS = 4


class Case:
    """One image (or index) in the ECR stand-in, copied by every tool."""

    def __init__(
        self, name, description, layer_sizes, repetitions, quick_repetitions, platforms=None
    ):
        self.name = name
        self.description = description
        self.layer_sizes = layer_sizes
        self.repetitions = repetitions
        self.quick_repetitions = quick_repetitions
        self.platforms = platforms
        self.repository = f"bench/{name}"
        self.digest = None

    def seed(self, pusher):
        if self.platforms:
            self.digest, _, _ = pusher.push_index(
                self.repository,
                SOURCE_TAG,
                self.platforms,
                self.layer_sizes,
                seed=f"bench-{self.name}",
            )
        else:
            self.digest, _, _ = pusher.push_image(
                self.repository, SOURCE_TAG, self.layer_sizes, seed=f"bench-{self.name}"
            )


CASES = (
    Case("small", "1 layer of 1 MiB", [1 * MIB], 9, 3),
    Case("medium", "8 layers of 16 MiB", [16 * MIB] * 8, 3, 2),
    Case("large", "8 layers of 64 MiB", [64 * MIB] * 8, 7, 0),
    Case(
        "index",
        "index of 3 platforms x 4 layers of 8 MiB, plus an attestation",
        [8 * MIB] * 4,
        3,
        2,
        platforms=["linux/amd64", "linux/arm64", "linux/s390x"],
    ),
)
BATCH_LAYERS = [2 * MIB] * 4
BATCH_REPETITIONS = (5, 1)  # full, quick
REFUSAL_REPETITIONS = (7, 3)
HELP_REPETITIONS = (5, 3)
PROBE_REPETITIONS = (7, 3)


def round_order(items, round_number, case):
    """The tools for one round: the round starts with the next tool in turn, so that no
    tool always runs first (cold), and the others follow in an order shuffled with a seed
    fixed per case and round, so that no tool always runs right after the same one and
    meets what that one leaves behind (a plain rotation keeps every tool's predecessor
    the same)."""
    first = items[round_number % len(items)]
    rest = [item for item in items if item != first]
    random.Random(f"{case}-{round_number}").shuffle(rest)
    return [first, *rest]


class Bench:
    def __init__(self, stack, tools, workdir, quick):
        self.stack = stack
        self.tools = tools
        self.workdir = workdir
        self.quick = quick
        self.watch = StandInWatch(stack)
        self.results = {}

    def repetitions(self, full_and_quick):
        return full_and_quick[1] if self.quick else full_and_quick[0]

    def log(self, text):
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    # -- destination housekeeping -----------------------------------------------------

    def forget_destination(self, names):
        """Remove repositories and every blob from the destination's storage, so that the
        next run finds nothing to reuse. The registry keeps no cache of its own (none is
        configured), so it sees the removal at once."""
        for name in names:
            shutil.rmtree(
                self.stack.hub.storage_path("repositories", HUB_NAMESPACE, name), ignore_errors=True
            )
        shutil.rmtree(self.stack.hub.storage_path("blobs"), ignore_errors=True)

    def check_copied(self, destination, digest, tool):
        found = self.tools.digest_of(destination)
        if found != digest:
            raise RuntimeError(f"{tool} left {destination} at {found}, expected {digest}")

    # -- single images ----------------------------------------------------------------

    def run_case(self, case):
        repetitions = case.quick_repetitions if self.quick else case.repetitions
        if repetitions == 0:
            return
        load_before = load_average()
        source = self.stack.source(case.repository, SOURCE_TAG)
        self.log(f"{case.name}: warm-up copy (not timed)")
        warmup = f"{case.name}-warmup"
        command, environment = self.tools.crane(source, self.stack.destination(warmup, "w"))
        run_measured("crane", command, environment, self.watch)
        self.forget_destination([warmup])

        runs = {tool: [] for tool in COPY_TOOLS}
        for repetition in range(repetitions):
            for tool in round_order(COPY_TOOLS, repetition, case.name):
                name = f"{case.name}-{tool}-{repetition}"
                destination = self.stack.destination(name, SOURCE_TAG)
                report_path = os.path.join(self.workdir, f"{name}.report.json")
                command, environment = self.tools.single_image_command(
                    tool, source, destination, report_path
                )
                run = run_measured(tool, command, environment, self.watch)
                self.check_copied(destination, case.digest, tool)
                self.forget_destination([name])
                entry = run.as_dict()
                if tool == "ours":
                    with open(report_path) as report_file:
                        entry["timings"] = json.load(report_file)["timings"]
                runs[tool].append(entry)
                self.log(
                    f"{case.name} #{repetition + 1}/{repetitions} {tool}: "
                    f"{run.wall:.3f}s, {run.requests.total} requests"
                )
        self.results.setdefault("cases", {})[case.name] = {
            "description": case.description,
            "repetitions": repetitions,
            "runs": runs,
            "load": [load_before, load_average()],
        }

    # -- a batch of images ------------------------------------------------------------

    def run_batch(self, sources):
        repetitions = self.repetitions(BATCH_REPETITIONS)
        load_before = load_average()
        variants = (
            "ours --jobs 4",
            "ours --jobs 1",
            "loop of ours",
            "loop of crane",
            "floor --jobs 4",
            "loop of floor",
        )
        runs = {variant: [] for variant in variants}
        for repetition in range(repetitions):
            for variant in round_order(variants, repetition, "batch"):
                slug = re.sub(r"[^a-z0-9]+", "-", variant).strip("-")
                names = [f"batch-{slug}-{repetition}-{index:02d}" for index in range(BATCH_SIZE)]
                destinations = [self.stack.destination(name, SOURCE_TAG) for name in names]
                list_path = os.path.join(self.workdir, f"batch-{slug}-{repetition}.txt")
                with open(list_path, "w") as image_list:
                    for (source, _), destination in zip(sources, destinations, strict=True):
                        image_list.write(f"{source} {destination}\n")
                report_path = os.path.join(self.workdir, f"batch-{slug}-{repetition}.json")
                if variant == "ours --jobs 4":
                    command, environment = self.tools.ours_batch(list_path, report_path, BATCH_JOBS)
                elif variant == "ours --jobs 1":
                    command, environment = self.tools.ours_batch(list_path, report_path, 1)
                elif variant == "loop of ours":
                    command, environment = self.tools.ours_single_loop(list_path)
                elif variant == "floor --jobs 4":
                    command, environment = self.tools.token_then_crane_batch(
                        list_path, BATCH_JOBS
                    )
                elif variant == "loop of floor":
                    command, environment = self.tools.floor_single_loop(list_path)
                else:
                    command, environment = self.tools.crane_stage_loop(list_path)
                run = run_measured(variant, command, environment, self.watch)
                for (_, digest), destination in zip(sources, destinations, strict=True):
                    self.check_copied(destination, digest, variant)
                self.forget_destination(names)
                runs[variant].append(run.as_dict())
                self.log(
                    f"batch #{repetition + 1}/{repetitions} {variant}: {run.wall:.3f}s, "
                    f"{run.requests.total} requests"
                )
        self.results["batch"] = {
            "description": f"{BATCH_SIZE} images of 4 layers of 2 MiB",
            "size": BATCH_SIZE,
            "repetitions": repetitions,
            "runs": runs,
            "load": [load_before, load_average()],
        }

    # -- refusal and --help -----------------------------------------------------------

    def run_refusal(self, case):
        """The destination tag exists: the promotion must stop before copying anything."""
        repetitions = self.repetitions(REFUSAL_REPETITIONS)
        source = self.stack.source(case.repository, SOURCE_TAG)
        destination = self.stack.destination("refusal", SOURCE_TAG)
        command, environment = self.tools.crane(source, destination)
        run_measured("crane", command, environment, self.watch)  # plants the tag
        runs = []
        for repetition in range(repetitions):
            report_path = os.path.join(self.workdir, f"refusal-{repetition}.json")
            command, environment = self.tools.ours(source, destination, report_path)
            run = run_measured("ours", command, environment, self.watch, expect=(3,))
            entry = run.as_dict()
            with open(report_path) as report_file:
                entry["timings"] = json.load(report_file)["timings"]
            runs.append(entry)
            self.log(
                f"refusal #{repetition + 1}/{repetitions}: {run.wall:.3f}s, "
                f"destination requests {dict(run.requests.hub)}"
            )
        self.forget_destination(["refusal"])
        self.results["refusal"] = {"repetitions": repetitions, "runs": runs}

    def run_help(self):
        repetitions = self.repetitions(HELP_REPETITIONS)
        environment = self.tools.ours_environment()
        self.results["help"] = {}
        for arguments in (["--help"], ["promote", "--help"]):
            median, low, high = time_command(
                ["ecr-to-docker", *arguments], environment, repetitions
            )
            self.results["help"][" ".join(arguments)] = {
                "median": median,
                "min": low,
                "max": high,
                "repetitions": repetitions,
            }
            self.log(f"ecr-to-docker {' '.join(arguments)}: {median * 1000:.0f} ms")

    # -- where our fixed cost goes ----------------------------------------------------

    def run_startup_probes(self):
        """Interpreter start and imports, each in a fresh interpreter, as the command pays
        them; differences between the probes give each part's cost. The fastest of the
        repetitions is kept: these are fixed amounts of work, and on a shared machine
        anything slower is someone else's load."""
        repetitions = self.repetitions(PROBE_REPETITIONS)
        python = os.path.join(os.path.dirname(shutil.which("ecr-to-docker")), "python")
        environment = self.tools.ours_environment()
        region = environment["ECR_TO_DOCKER_AWS_REGION"]
        account = environment["ECR_TO_DOCKER_ECR_REGISTRY_ID"]
        promote = "import ecr_to_docker.__main__, ecr_to_docker.promote_command"
        probes = (
            ("interpreter", "pass"),
            ("command line", "import ecr_to_docker.__main__"),
            ("promote command", promote),
            ("promote imports", f"{promote}, ecr_to_docker.promotion"),
            (
                "+ botocore",
                f"{promote}, ecr_to_docker.promotion, botocore.session, botocore.config",
            ),
            (
                "+ ECR client",
                f"{promote}, ecr_to_docker.promotion, botocore.config; "
                "from ecr_to_docker import ecr_login; "
                f"ecr_login.ecr_client(botocore.config.Config(region_name='{region}'))",
            ),
            # The ECR token and nothing else, in a fresh process: no promotion can start
            # its copy sooner than this after it starts.
            (
                "ECR token alone",
                "from ecr_to_docker import ecr_login; "
                "from ecr_to_docker.deadline import Deadline; "
                "from ecr_to_docker.ecr_host import EcrRegistry; "
                f"ecr_login.login(EcrRegistry('{account}', '{region}'), Deadline(60))",
            ),
        )
        results = {}
        for label, code in probes:
            # Each probe leaves the way the command does, with os._exit: the interpreter's
            # teardown of botocore's modules alone would otherwise add tens of ms.
            code = f"{code}; import os; os._exit(0)"
            median, low, high = time_command([python, "-c", code], environment, repetitions)
            results[label] = {"median": median, "min": low, "max": high}
        self.results["startup"] = results

        completed = subprocess.run(
            [
                python,
                "-X",
                "importtime",
                "-c",
                "import ecr_to_docker.__main__, ecr_to_docker.promote_command, "
                "ecr_to_docker.promotion, botocore.session, botocore.config",
            ],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        self.results["imports"] = report.imports_by_package(completed.stderr)


def load_average():
    """The 1-minute load average: other work on this machine slows every tool alike, but
    the reader should know how busy it was."""
    with open("/proc/loadavg") as load:
        return float(load.read().split()[0])


def machine_facts():
    def read(path):
        try:
            with open(path) as source:
                return source.read()
        except OSError:
            return ""

    cpu = re.search(r"model name\s*:\s*(.+)", read("/proc/cpuinfo"))
    memory = re.search(r"MemTotal:\s+(\d+) kB", read("/proc/meminfo"))
    debian = read("/etc/debian_version").strip()
    return {
        "cpu": cpu.group(1).strip() if cpu else platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory.group(1)) / 1024 / 1024, 1) if memory else None,
        "kernel": platform.release(),
        "os": f"Debian {debian}" if debian else platform.platform(),
        "python": platform.python_version(),
    }


PARTS = ("help", "startup", *(case.name for case in CASES), "refusal", "batch")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: fewer repetitions and no large image"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        metavar="PART",
        help=f"run only this part (repeatable): {', '.join(PARTS)}",
    )
    parser.add_argument("--output", help="where to write the Markdown report")
    args = parser.parse_args(argv)
    complete = not args.quick and not args.only
    parts = set(args.only or PARTS)
    # Only a complete run replaces docs/BENCHMARKS.md; anything less goes to build/.
    name = "quick" if args.quick else "partial" if args.only else None
    output = args.output or os.path.join(
        ROOT, "docs/BENCHMARKS.md" if complete else f"build/bench/BENCHMARKS-{name}.md"
    )
    raw_output = os.path.join(
        ROOT, "build/bench", "results.json" if complete else f"results-{name}.json"
    )
    command = "make bench" + (
        f" BENCH_ARGS='{' '.join(argv or sys.argv[1:])}'" if not complete else ""
    )

    for needed in ("ecr-to-docker", "skopeo", "regctl"):
        if shutil.which(needed) is None:
            print(
                f"{needed} is not on PATH: run scripts/install-bench-tools.sh (make bench does)",
                file=sys.stderr,
            )
            return 2

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="ecr-to-docker-bench-")
    stack = StandInStack().start()
    try:
        tools = Tools(stack, workdir)
        bench = Bench(stack, tools, workdir, args.quick)
        bench.log("seeding the images into the ECR stand-in")
        pusher = stack.source_pusher()
        cases = [
            case
            for case in CASES
            if (case.quick_repetitions if args.quick else case.repetitions) > 0
            and (case.name in parts or (case.name == "small" and "refusal" in parts))
        ]
        for case in cases:
            case.seed(pusher)
        batch_sources = []
        for index in range(BATCH_SIZE if "batch" in parts else 0):
            repository = f"bench/batch-{index:02d}"
            digest, _, _ = pusher.push_image(
                repository, SOURCE_TAG, BATCH_LAYERS, seed=f"bench-batch-{index}"
            )
            batch_sources.append((stack.source(repository, SOURCE_TAG), digest))

        if "help" in parts:
            bench.run_help()
        if "startup" in parts:
            bench.run_startup_probes()
        for case in cases:
            if case.name in parts:
                bench.run_case(case)
        if "refusal" in parts:
            bench.run_refusal(next(case for case in cases if case.name == "small"))
        if "batch" in parts:
            bench.run_batch(batch_sources)

        results = bench.results
        results["meta"] = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": command,
            "quick": args.quick,
            "complete": complete,
            "duration_seconds": round(time.monotonic() - started),
            "machine": machine_facts(),
            "versions": tools.versions(),
        }
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    os.makedirs(os.path.dirname(raw_output), exist_ok=True)
    with open(raw_output, "w") as raw:
        json.dump(results, raw, indent=1)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    document, targets = report.render(results)
    with open(output, "w") as markdown:
        markdown.write(document)
    print()
    print(report.targets_text(targets))
    print(f"\nwritten: {output} and {raw_output} ({results['meta']['duration_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
