"""Looking at processes through /proc, for tests that check what a run left behind."""

import os
import time


def all_processes():
    """(pid, parent pid, command name) of every process there is now."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        yield int(entry), int(fields[1]), name


def command_line(pid):
    """A process's command line as one string; empty when it is gone or has none."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children_named(parent_pid, name):
    """PIDs of the live children of `parent_pid` whose command name is `name`."""
    return [
        pid for pid, parent, command in all_processes() if command == name and parent == parent_pid
    ]


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


def wait_until_gone(pid, seconds):
    """Whether the process has ended (or is a zombie) within `seconds`."""
    deadline = time.monotonic() + seconds
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
