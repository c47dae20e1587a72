"""One measured run of a command: wall time, the peak memory of the process started, and
the HTTP requests that the two registries and the token service saw while it ran."""

import collections
import logging
import os
import re
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

# The registry writes a "response completed" line only for answers it authorized; a 401
# challenge gets none. Its combined-format access line is written for every request, so
# that is what is counted: '127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 401 87 "" "agent"'.
_ACCESS_LINE = re.compile(rb'^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) HTTP/[0-9.]+" (\d{3}) ')
# How often the started process's VmHWM is read. VmHWM only grows, so a sample taken late
# still holds an earlier peak; only growth in the last interval before exit can be missed.
MEMORY_SAMPLE_INTERVAL = 0.005
# Children (forks of our command) are looked for every this many samples (every 50 ms).
CHILD_SAMPLE_EVERY = 10


def request_kind(method, uri):
    """'blob', 'manifest GET' (or HEAD, PUT, ...), or 'other' (the /v2/ ping)."""
    path = uri.split("?", 1)[0]
    if "/blobs/" in path:
        return "blob"
    if "/manifests/" in path:
        return f"manifest {method}"
    return "other"


class AccessLog:
    """Follows a registry's log file, returning the request lines written since last read."""

    def __init__(self, path):
        self.path = path
        self._offset = os.path.getsize(path)
        self._partial = b""

    def new_requests(self):
        """(method, uri, status) of each request logged since the last call."""
        with open(self.path, "rb") as log:
            log.seek(self._offset)
            data = log.read()
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # a line still being written is read next time
        requests = []
        for line in lines:
            match = _ACCESS_LINE.match(line)
            if match:
                method, uri, status = (part.decode(errors="replace") for part in match.groups())
                requests.append((method, uri, int(status)))
        return requests


@dataclass
class RequestCounts:
    ecr: collections.Counter = field(default_factory=collections.Counter)
    hub: collections.Counter = field(default_factory=collections.Counter)
    tokens: int = 0
    ecr_api: int = 0  # calls to the ECR API (moto): GetAuthorizationToken
    challenges: int = 0  # registry answers 401: authentication challenges, refused scopes

    @property
    def total(self):
        return sum(self.ecr.values()) + sum(self.hub.values()) + self.tokens + self.ecr_api

    def as_dict(self):
        return {
            "ecr": dict(self.ecr),
            "hub": dict(self.hub),
            "tokens": self.tokens,
            "ecr_api": self.ecr_api,
            "challenges": self.challenges,
            "total": self.total,
        }


class _CountingHandler(logging.Handler):
    """Counts the request lines moto's HTTP server logs (it runs in this process)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record):
        self.count += 1


def _cpu_seconds_of(pid):
    """User plus system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class StandInWatch:
    """What the stand-ins did between `start` and `finish`: the requests they answered,
    and the CPU time they spent answering (both registries, plus this process, which runs
    the token service and moto)."""

    def __init__(self, stack):
        self._logs = {"ecr": AccessLog(stack.ecr.log_path), "hub": AccessLog(stack.hub.log_path)}
        self._token_requests = stack.token_server.requests
        # The stand-ins keep their server processes to themselves; their ids are read
        # here only to account for the CPU the registries spend on each run.
        self._registry_pids = [registry._process.pid for registry in (stack.ecr, stack.hub)]
        self._ecr_api_requests = _CountingHandler()
        moto_log = logging.getLogger("werkzeug")
        moto_log.addHandler(self._ecr_api_requests)
        moto_log.setLevel(logging.INFO)
        moto_log.propagate = False  # counted, not printed
        self._tokens_before = 0
        self._ecr_api_before = 0
        self._cpu_before = (0.0, 0.0)

    def _server_cpu(self):
        """(CPU seconds of both registries, of this process) so far."""
        return sum(_cpu_seconds_of(pid) for pid in self._registry_pids), _own_cpu_seconds()

    def start(self):
        for log in self._logs.values():
            log.new_requests()  # whatever came before this run is not its own
        self._tokens_before = len(self._token_requests)
        self._ecr_api_before = self._ecr_api_requests.count
        self._cpu_before = self._server_cpu()

    def finish(self):
        """(RequestCounts, CPU seconds the registries spent, CPU seconds this process spent
        on the token service and moto)."""
        counts = RequestCounts()
        # The registry writes its access line just after the answer leaves, so the last one
        # can trail the client's exit by a moment: read until nothing new arrives.
        quiet_reads = 0
        deadline = time.monotonic() + 2
        while quiet_reads < 2 and time.monotonic() < deadline:
            time.sleep(0.03)
            arrived = False
            for name, log in self._logs.items():
                requests = log.new_requests()
                arrived = arrived or bool(requests)
                getattr(counts, name).update(
                    request_kind(method, uri) for method, uri, _ in requests
                )
                counts.challenges += sum(1 for _, _, status in requests if status == 401)
            quiet_reads = 0 if arrived else quiet_reads + 1
        counts.tokens = len(self._token_requests) - self._tokens_before
        counts.ecr_api = self._ecr_api_requests.count - self._ecr_api_before
        registries, own = self._server_cpu()
        return counts, registries - self._cpu_before[0], own - self._cpu_before[1]


class _PeakMemorySampler(threading.Thread):
    """Reads VmHWM (peak resident set) of one process until it exits, and of each child of
    it that is the same program (a fork of it), not of the programs it runs (crane).

    The peak reported is the sum of those peaks: an upper bound of what they held at once,
    since each was at its peak at its own moment and the pages a fork shares with its
    parent count in both. A child forked only to run another program (subprocess) is still
    the same program for a moment before it execs; only children seen as the same program
    in two looks in a row (50 ms apart), and never as another, are counted."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self._pid = pid
        self._stop_event = threading.Event()
        self._program = None
        self._peaks = {}  # pid -> VmHWM bytes
        self._sightings = {}  # child pid -> samples in a row as the same program
        self._other = set()  # children that turned out to be another program
        self.peak_bytes = None

    def run(self):
        try:
            self._program = os.readlink(f"/proc/{self._pid}/exe")
        except OSError:
            return
        samples = 0
        while not self._stop_event.is_set():
            main_peak = _vm_hwm(self._pid)
            if main_peak is None:  # gone or a zombie: the last samples stand
                return
            self._peaks[self._pid] = main_peak
            # Children less often: a batch has a thread per image and listing their
            # children costs this process (which also serves the token service and moto)
            # a read per thread. A fork of ours lives long enough to be seen anyway.
            if samples % CHILD_SAMPLE_EVERY == 0:
                for child in _children(self._pid):
                    self._sample_child(child)
            samples += 1
            self.peak_bytes = self._peaks[self._pid] + sum(
                peak
                for pid, peak in self._peaks.items()
                if pid != self._pid and self._sightings.get(pid, 0) >= 2
            )
            self._stop_event.wait(MEMORY_SAMPLE_INTERVAL)

    def _sample_child(self, child):
        if child in self._other:
            return
        try:
            program = os.readlink(f"/proc/{child}/exe")
        except OSError:
            return
        if program != self._program:
            self._other.add(child)
            self._peaks.pop(child, None)
            return
        peak = _vm_hwm(child)
        if peak is not None:
            self._peaks[child] = peak
            self._sightings[child] = self._sightings.get(child, 0) + 1

    def stop(self):
        self._stop_event.set()
        self.join()


def _vm_hwm(pid):
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            text = status.read()
    except OSError:
        return None
    match = re.search(rb"VmHWM:\s+(\d+) kB", text)
    return int(match.group(1)) * 1024 if match else None


def _children(pid):
    children = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                children += [int(child) for child in listing.read().split()]
        except OSError:
            continue
    return children


@dataclass
class Run:
    tool: str
    wall: float
    exit_code: int
    peak_rss: int  # the started process and its forks of itself, not crane, bytes
    cpu: float  # CPU seconds of the started process and every child it waited for
    registry_cpu: float  # CPU seconds both registries spent meanwhile
    service_cpu: float  # CPU seconds the token service and moto (this process) spent
    requests: RequestCounts
    stdout: str
    stderr: str

    def as_dict(self):
        return {
            "tool": self.tool,
            "wall": round(self.wall, 4),
            "exit_code": self.exit_code,
            "peak_rss": self.peak_rss,
            "cpu": round(self.cpu, 3),
            "registry_cpu": round(self.registry_cpu, 3),
            "service_cpu": round(self.service_cpu, 3),
            "server_cpu": round(self.registry_cpu + self.service_cpu, 3),
            "requests": self.requests.as_dict(),
        }


class RunFailed(RuntimeError):
    pass


def run_measured(tool, command, environment, watch, *, expect=(0,)):
    """Run `command` once and measure it. Its output goes to files, not pipes, so that the
    measuring side never slows the run down by reading."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        watch.start()
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
        sampler = _PeakMemorySampler(process.pid)
        sampler.start()
        # wait4 rather than Popen.wait: it also gives the child's CPU time, its children's
        # included. Its ru_maxrss is no use for memory: a forked child keeps the high-water
        # mark of the process that forked it (this one, hundreds of MB after seeding).
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        requests, registry_cpu, service_cpu = watch.finish()
        stdout.seek(0)
        stderr.seek(0)
        run = Run(
            tool,
            wall,
            process.returncode,
            sampler.peak_bytes or 0,
            usage.ru_utime + usage.ru_stime,
            registry_cpu,
            service_cpu,
            requests,
            stdout.read().decode(errors="replace"),
            stderr.read().decode(errors="replace"),
        )
    if run.exit_code not in expect:
        raise RunFailed(
            f"{tool} exited with {run.exit_code} (expected {expect}); its last output:\n"
            + run.stderr[-2000:]
        )
    return run


def time_command(command, environment, repetitions):
    """Median wall time of a short command that is not part of a comparison."""
    walls = []
    for _ in range(repetitions):
        started = time.perf_counter()
        subprocess.run(
            command,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), min(walls), max(walls)
