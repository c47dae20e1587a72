"""The ECR login in a forked worker process, started as soon as the command line is read.

Why a process: before its first byte is copied, a promotion spends most of its start on
CPU work, not on waiting: importing the AWS SDK and building its ECR client on one side,
importing the HTTP client and checking the destination on the other. Threads take turns
for that work under Python's global interpreter lock; a forked process does the AWS side
on another core at the same time (docs/BENCHMARKS.md measures the difference).

The order of a run stays that of a single process:

1. the worker starts, imports the AWS SDK and waits;
2. the main process checks every input; only when all of it is sound does it send the
   registries to log in to. Refused input closes the pipe instead: the worker exits and
   neither process has sent anything over the network;
3. the worker checks the AWS configuration files and answers, then asks ECR for each
   registry's token. The main process makes no network call before that first answer
   says the configuration can be used.

The worker's standard streams are /dev/null: it logs nothing (the main process logs the
outcome) and never holds the caller's output open. Its answers travel over a pipe that
only the two processes share; the ECR token crosses nothing else, no command line,
environment or file. Where os.fork does not exist, the login runs in the main process.

NOTE: if the main process is killed outright (SIGKILL), the worker still ends on its own
once its ECR call returns or times out (at most 30 s). SIGTERM and SIGINT to the main
process stop the worker too (see __main__).
"""

import os
import pickle
import signal
import threading

from ecr_to_docker import parallel
from ecr_to_docker.errors import EcrToDockerError, RegistryError

_CONFIGURATION = "configuration"
# An error outside any one login (the worker itself failed): answers every question.
_CRASH = "crash"

# The worker of this process, if one was started (for stop()).
_current = None


def start():
    """Fork the worker; None where this platform cannot fork."""
    global _current
    if not hasattr(os, "fork"):
        return None
    orders_read, orders_write = os.pipe()
    answers_read, answers_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(orders_write)
        os.close(answers_read)
        _serve(orders_read, answers_write)  # never returns
    os.close(orders_read)
    os.close(answers_write)
    _current = LoginWorker(pid, orders_write, answers_read)
    return _current


def stop():
    """Stop this process's worker, if it is still running, and reap it."""
    if _current is not None:
        _current.stop()


class LoginWorker:
    """The main process's side of the worker."""

    def __init__(self, pid, orders_fd, answers_fd):
        self.pid = pid
        self._orders = os.fdopen(orders_fd, "wb")
        self._answers = os.fdopen(answers_fd, "rb")
        self._registries = ()
        self._condition = threading.Condition()
        self._received = {}
        self._ended = False
        self._exit_status = None
        self._reaped = False
        self._reap_lock = threading.Lock()

    def send(self, registries, deadline):
        """Start the logins: every input has been checked."""
        self._registries = tuple(dict.fromkeys(registries))
        pickle.dump((self._registries, deadline.remaining()), self._orders)
        self._orders.close()
        threading.Thread(target=self._read_answers, daemon=True).start()

    def logs_in_to(self, registry):
        return registry in self._registries

    def check_configuration(self, deadline):
        """Wait for the worker's verdict on the AWS configuration files; InvalidInputError
        when they cannot be used (the same check as ecr_login.check_configuration)."""
        failure = self._wait_for(_CONFIGURATION, deadline, "reading the AWS configuration")
        if failure is not None:
            raise failure.error()

    def token(self, registry, deadline):
        """The EcrToken the worker obtained for `registry`, or the error it met."""
        what = f"ECR login to account {registry.account} in {registry.region}"
        answer = self._wait_for(registry, deadline, what)
        if isinstance(answer, _Failure):
            raise answer.error()
        return answer

    def stop(self):
        with self._reap_lock:
            if self._reaped:
                return
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap(0)

    # -- the main process's reading ---------------------------------------------------

    def _read_answers(self):
        try:
            while True:
                key, value = pickle.load(self._answers)
                with self._condition:
                    self._received[key] = value
                    self._condition.notify_all()
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        finally:
            self._answers.close()
            with self._reap_lock:
                if not self._reaped:
                    self._reap(0)
            with self._condition:
                self._ended = True
                self._condition.notify_all()

    def _reap(self, flags):
        # Called with _reap_lock held.
        try:
            _, status = os.waitpid(self.pid, flags)
        except ChildProcessError:
            status = None
        self._exit_status = status
        self._reaped = True

    def _wait_for(self, key, deadline, what):
        with self._condition:
            while key not in self._received and not self._ended:
                left = deadline.remaining()
                if left <= 0:
                    raise RegistryError(f"{what} did not answer within the run's time budget")
                # Short waits: the main thread must come back to handle SIGTERM and SIGINT.
                self._condition.wait(min(parallel.WAKE_INTERVAL, left))
            if key in self._received:
                return self._received[key]
            if _CRASH in self._received:
                raise self._received[_CRASH].error()
        raise RegistryError(
            f"{what} failed: the login worker process ended without an answer "
            f"({_describe_status(self._exit_status)})"
        )


class _Failure:
    """An error of the worker, in a form that crosses the pipe whatever its type."""

    def __init__(self, error):
        if isinstance(error, EcrToDockerError):
            self.type_name = type(error).__name__
            self.message = str(error)
        else:
            self.type_name = None
            self.message = f"unexpected error: {type(error).__name__}: {error}"

    def error(self):
        from ecr_to_docker import errors

        error_type = getattr(errors, self.type_name or "", None)
        if not (isinstance(error_type, type) and issubclass(error_type, EcrToDockerError)):
            error_type = EcrToDockerError
        return error_type(self.message)


def _describe_status(status):
    if status is None:
        return "exit status unknown"
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.WEXITSTATUS(status)}"


# -- the worker process ---------------------------------------------------------------


def _serve(orders_fd, answers_fd):
    """The worker's whole life; leaves with os._exit, never returning into the caller's
    code (whose `finally` blocks belong to the main process)."""
    exit_code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):
            os.dup2(devnull, stream)
        os.close(devnull)
        answers = os.fdopen(answers_fd, "wb")
        answers_lock = threading.Lock()

        def answer(key, value):
            with answers_lock:
                pickle.dump((key, value), answers)
                answers.flush()

        from ecr_to_docker import ecr_login
        from ecr_to_docker.deadline import Deadline

        ecr_login.preload()
        with os.fdopen(orders_fd, "rb") as orders:
            try:
                registries, seconds = pickle.load(orders)
            except EOFError:
                os._exit(0)  # the input was refused: nothing to do
        deadline = Deadline(seconds)

        try:
            ecr_login.check_configuration()
        except Exception as error:  # the main process turns it into its exit code
            answer(_CONFIGURATION, _Failure(error))
            os._exit(0)
        answer(_CONFIGURATION, None)

        def log_in(registry):
            try:
                answer(registry, ecr_login.request_token(registry, deadline))
            except Exception as error:  # every outcome goes to the main process
                answer(registry, _Failure(error))

        parallel.run_all(*[lambda registry=registry: log_in(registry) for registry in registries])
    except BaseException as error:  # noqa: BLE001 - reported to the main process if it can be
        exit_code = 1
        try:
            answer(_CRASH, _Failure(error))
        except BaseException:  # noqa: BLE001 - the pipe is gone: the exit code says it
            pass
    finally:
        os._exit(exit_code)
