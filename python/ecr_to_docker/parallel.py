"""Run a few independent steps at once (the ECR side and the destination side).

Daemon threads rather than a ThreadPoolExecutor: an executor's workers are joined at
interpreter exit, so an abort (SIGTERM from Jenkins) would wait for a slow request to
time out before the process could end.
"""

import threading
import time

# How often a waiting thread wakes up. The kernel may hand SIGTERM or SIGINT to any thread;
# Python runs the handler in the main thread, and only once that thread runs again. A main
# thread blocked in a long join would leave the abort waiting until the join returns.
WAKE_INTERVAL = 0.1


def join(thread, timeout=None):
    """`thread.join(timeout)`, waking every WAKE_INTERVAL so that signals are handled."""
    ends_at = None if timeout is None else time.monotonic() + timeout
    while thread.is_alive():
        wait = WAKE_INTERVAL if ends_at is None else min(WAKE_INTERVAL, ends_at - time.monotonic())
        if wait <= 0:
            return
        thread.join(wait)


def run_all(*steps):
    """Run each callable in its own thread; return their results in order."""
    return run_bounded(steps, len(steps))


def run_bounded(steps, jobs, stop=None):
    """Run the callables at most `jobs` at a time; return their results in order.

    When steps fail, the first failing step's exception (in argument order) is raised,
    after every step has ended, so that no step is left half-done in the background.
    `stop`: a threading.Event; once set, no further step is started. The run is being
    stopped then, and the workers must leave the interpreter to the thread that reports
    how far it got (with a long list, workers that go on would slow it down many times).
    """
    pending = list(enumerate(steps))
    pending.reverse()
    lock = threading.Lock()
    results = [None] * len(steps)
    failures = [None] * len(steps)

    def worker():
        while True:
            with lock:
                if not pending or (stop is not None and stop.is_set()):
                    return
                index, step = pending.pop()
            try:
                results[index] = step()
            except BaseException as error:  # handed to the caller below
                failures[index] = error

    threads = [
        threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(jobs, len(steps))))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        join(thread)
    for failure in failures:
        if failure is not None:
            raise failure
    return results


def call_with_deadline(step, seconds, on_timeout):
    """`step()`, or `on_timeout()` raised when it has not returned within `seconds`.

    For calls whose own timeouts cannot be tied to the run's deadline (botocore gives each
    attempt the full timeout); the abandoned call ends with the process.
    """
    outcome = {}

    def run():
        try:
            outcome["result"] = step()
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    join(thread, timeout=max(0.0, seconds))
    if thread.is_alive():
        raise on_timeout()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
