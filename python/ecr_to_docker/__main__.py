"""Entry point: the only place where errors become exit codes."""

import json
import signal
import sys

from ecr_to_docker import cli, errors, logs


class Interrupted(BaseException):
    """Raised from a signal handler so that every `finally` runs (temp files, children)."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def _print_json(value):
    sys.stdout.write(logs.redact(json.dumps(value, indent=2)) + "\n")
    sys.stdout.flush()


def main(argv=None):
    parser = cli.build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2

    logs.setup(verbose=args.verbose)
    log = logs.get("main")
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)

    try:
        if args.command == "promote":
            from ecr_to_docker import promote_command

            result, exit_code = promote_command.run(args)
        else:
            from ecr_to_docker import jenkins_credentials

            result, exit_code = jenkins_credentials.run(args)
    except errors.EcrToDockerError as error:
        log.error(logs.redact(error))
        # The promotion's JSON result is printed on failure too: callers read the status.
        result = getattr(error, "result", None) or {
            "status": error.status,
            "error": logs.redact(error),
            "exit_code": error.exit_code,
        }
        _print_json(result)
        return error.exit_code
    except Interrupted as interrupted:
        log.error("stopped by %s; temporary credentials removed", interrupted)
        return interrupted.exit_code
    except Exception as error:  # noqa: BLE001 - the one place that turns anything into 1
        log.error("unexpected error: %s: %s", type(error).__name__, logs.redact(error))
        log.debug("details", exc_info=True)
        return 1

    if result is not None:
        _print_json(result)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
