"""Entry point: the only place where errors become exit codes."""

import signal
import sys


class Interrupted(BaseException):
    """Raised from a signal handler so that every `finally` runs (temp files, children)."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


# Every signal whose default would end the process without running any `finally`, and
# so leave the temporary credentials on disk and crane running: SIGTERM (a Jenkins
# abort), SIGINT (Ctrl-C), SIGHUP (a closed terminal or agent connection), and the rest
# a process may be sent. SIGKILL cannot be caught.
STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM")
    if hasattr(signal, name)
)


def _raise_interrupted(signum, frame):
    # Once is enough: a second signal (Ctrl-C held down, or Jenkins' SIGTERM then SIGKILL
    # grace period) must not interrupt the clean-up the first one started. A handler that
    # does nothing, not SIG_IGN: Python raises OSError for a signal that was already
    # pending when its handler became SIG_IGN.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _ignore)
    # Before anything unwinds: from now on a batch's workers start no image, copy or tag
    # write (they would otherwise go on until the main thread reaches its clean-up).
    promotion = sys.modules.get("ecr_to_docker.promotion")
    if promotion is not None:
        promotion.stop_writing()
    raise Interrupted(signum)


def _ignore(signum, frame):
    pass


def main(argv=None):
    # First of all, so that an abort even during start-up ends the same orderly way.
    for stop_signal in STOP_SIGNALS:
        # A signal ignored by whoever started us (nohup ignores SIGHUP) stays ignored.
        if signal.getsignal(stop_signal) is not signal.SIG_IGN:
            signal.signal(stop_signal, _raise_interrupted)
    try:
        return _main(argv)
    except Interrupted as interrupted:
        _stop_children()
        # A batch leaves what each image reached (see promote_command._run_batch).
        summary = {
            "status": "interrupted",
            "error": str(interrupted),
            "exit_code": interrupted.exit_code,
        }
        _print_json(getattr(interrupted, "result", None) or summary)
        print(
            f"ecr-to-docker: ERROR stopped by {interrupted}; temporary credentials removed",
            file=sys.stderr,
        )
        return interrupted.exit_code


def _main(argv):
    from ecr_to_docker import cli, errors, logs

    parser = cli.build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        # A usage error like any other: help on stderr, the JSON result on stdout.
        parser.print_help(sys.stderr)
        _print_json(
            {
                "status": "invalid",
                "error": "no command given: use promote or jenkins-credentials",
                "exit_code": 2,
            }
        )
        return 2

    logs.setup(verbose=args.verbose)
    log = logs.get("main")
    try:
        try:
            cli.check_environment_values(parser, args.command)
        except errors.InvalidInputError as refused:
            if args.command == "promote":
                from ecr_to_docker import promote_command

                promote_command.report_refused_input(args, refused)
            raise
        if args.command == "promote":
            from ecr_to_docker import promote_command

            result, exit_code = promote_command.run(args)
        else:
            from ecr_to_docker import jenkins_credentials

            result, exit_code = jenkins_credentials.run(args)
    except errors.EcrToDockerError as error:
        log.error(logs.redact(error))
        # The JSON result is printed on failure too: callers read the status.
        _print_json(
            getattr(error, "result", None)
            or {
                "status": error.status,
                "error": logs.redact(error),
                "exit_code": error.exit_code,
            }
        )
        return error.exit_code
    except Exception as error:  # noqa: BLE001 - the one place that turns anything into 1
        log.error("unexpected error: %s: %s", type(error).__name__, logs.redact(error))
        log.debug("details", exc_info=True)
        _print_json(
            getattr(error, "result", None)
            or {
                "status": "failed",
                "error": f"unexpected error: {type(error).__name__}: {logs.redact(error)}",
                "exit_code": 1,
            }
        )
        return 1

    if result is not None:
        _print_json(result)
    return exit_code


def _print_json(value):
    import json

    from ecr_to_docker import logs

    # Secrets are hidden in the values, not in the serialised text: a short password such
    # as "false" must not turn the JSON itself into something else.
    sys.stdout.write(json.dumps(logs.redact_values(value), indent=2) + "\n")
    sys.stdout.flush()


def _stop_children():
    # Batch promotions run in worker threads whose `finally` blocks do not run when the
    # main thread is interrupted; stop their crane processes and remove their
    # credentials here. (A single promotion has already cleaned up by now.)
    copier = sys.modules.get("ecr_to_docker.copier")
    if copier is not None:
        copier.stop_all()


def _stop_leftover_children(already_there, grace_seconds=1.0):
    """Stop every process this run started that is still there. crane runs are stopped and
    waited for by now; what can be left is a program the AWS SDK started and waits for
    without a time limit, such as a `credential_process` that hangs, when --timeout ended
    the run. Without this it would go on running on the agent after we exit.

    `already_there`: children this process had when the command started, which are not
    ours to stop (a wrapper that started a job in the background, then exec'd us).
    Linux only (/proc); elsewhere nothing is found. Only the console script does this."""
    import time

    children = [child for child in _children() if child not in already_there]
    if not children:
        return
    for child in children:
        _signal(child, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while children and time.monotonic() < deadline:
        time.sleep(0.02)
        children = [child for child in children if not _reaped(child)]
    for child in children:
        _signal(child, signal.SIGKILL)
        _reaped(child)
    from ecr_to_docker import logs

    logs.get("main").warning(
        "stopped a program this run had started and that was still running (such as an "
        "AWS credential_process that did not answer)"
    )


def _children():
    """The processes this one started that have not been reaped (Linux /proc; elsewhere
    none are found)."""
    import os

    found = []
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:
        return found
    for thread in threads:
        try:
            with open(f"/proc/self/task/{thread}/children") as listing:
                found += [int(pid) for pid in listing.read().split()]
        except (OSError, ValueError):
            continue
    return found


def _signal(pid, signum):
    import os

    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _reaped(pid):
    """Reap `pid` if it has ended; whether it is gone."""
    import os

    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return finished == pid


def run():
    """The console script: `main`, then an immediate exit.

    By the time `main` returns, everything has been cleaned up, written and flushed; what
    is left is the interpreter's teardown of botocore's and requests' modules, which takes
    longer than most registry requests. Skipping it is safe here and nowhere else, so
    `main` itself returns normally for callers that import it.
    """
    import gc

    # A single run allocates much at import time (botocore's and requests' modules) and
    # little after; the cycle collector's passes over all that cost more than they free.
    gc.disable()
    already_there = set(_children())
    exit_code = main()
    import logging
    import os

    _stop_leftover_children(already_there)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)


if __name__ == "__main__":
    run()
