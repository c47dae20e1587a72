"""Looking at processes through /proc, for tests that check what a run left behind."""

import os
import time


def children_named(parent_pid, name):
    """PIDs of the live children of `parent_pid` whose command name is `name`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/comm") as comm:
                command = comm.read().strip()
        except OSError:
            continue
        if command == name and int(fields[1]) == parent_pid:
            found.append(int(pid))
    return found


def wait_for_children(parent_pid, name, count=1, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = children_named(parent_pid, name)
        if len(found) >= count:
            return found
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} {name} children of {parent_pid} in {timeout}s")


def is_running(pid):
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
