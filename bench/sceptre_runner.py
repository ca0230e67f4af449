"""Runs Sceptre commands in this process and counts the AWS API calls each one makes.

Executed by the Sceptre interpreter (`$SCEPTRE_PYTHON`, the .venv-sceptre venv: Sceptre
cannot be installed beside moto), never imported by the benchmark, and importing nothing
from this project, so what it measures is Sceptre alone:

    $SCEPTRE_PYTHON -I bench/sceptre_runner.py PROJECT_DIR "status bench" "diff bench"

Prints one JSON object on stdout, keyed by command: the calls by operation, the calls that
failed (by operation and error), the clients created, the seconds the command took in
this process (after `import sceptre.cli`, whose seconds are reported apart), its exit
code, the tail of what Sceptre printed and Sceptre's version. Calls are counted at
`BaseClient._make_api_call`: once per call Sceptre makes, whatever botocore retries
underneath.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import sys
import threading
import time
from collections import Counter

OUTPUT_TAIL = 2000  # characters of Sceptre's own output kept per command


class Counts:
    """Calls, failed calls and new clients, from every thread Sceptre starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.clients = 0

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.errors.clear()
            self.clients = 0

    def call(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] += 1

    def error(self, operation: str, err: BaseException) -> None:
        code = getattr(err, "response", {}).get("Error", {}).get("Code") or type(err).__name__
        with self._lock:
            self.errors[f"{operation}: {code}"] += 1

    def client(self) -> None:
        with self._lock:
            self.clients += 1


def install(counts: Counts) -> None:
    """Wrap botocore's one path for every API call, and its client factory."""
    import botocore.client
    import botocore.session

    make_api_call = botocore.client.BaseClient._make_api_call
    create_client = botocore.session.Session.create_client

    def counted_call(self, operation_name, api_params):
        counts.call(operation_name)
        try:
            return make_api_call(self, operation_name, api_params)
        except Exception as err:
            counts.error(operation_name, err)
            raise

    def counted_client(self, *args, **kwargs):
        counts.client()
        return create_client(self, *args, **kwargs)

    botocore.client.BaseClient._make_api_call = counted_call
    botocore.session.Session.create_client = counted_client


def run(cli, project: str, command: str, counts: Counts) -> dict:
    """One Sceptre command as its CLI would run it, with its output captured."""
    output = io.StringIO()
    counts.reset()
    started = time.perf_counter()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            cli.main(
                args=["--dir", project, "--no-colour", *shlex.split(command)],
                prog_name="sceptre",
                standalone_mode=False,
            )
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except Exception as err:  # the command failed outside Sceptre's own handling
            print(f"{type(err).__name__}: {err}")
            code = 1
    seconds = time.perf_counter() - started
    return {
        "calls": dict(sorted(counts.calls.items())),
        "errors": dict(sorted(counts.errors.items())),
        "clients": counts.clients,
        "seconds": round(seconds, 4),
        "exit": code,
        "output": output.getvalue()[-OUTPUT_TAIL:],
    }


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: sceptre_runner.py PROJECT_DIR COMMAND [COMMAND ...]", file=sys.stderr)
        return 2
    project, commands = argv[0], argv[1:]
    counts = Counts()
    started = time.perf_counter()
    install(counts)
    from sceptre import __version__
    from sceptre.cli import cli

    import_seconds = round(time.perf_counter() - started, 4)
    results = {command: run(cli, project, command, counts) for command in commands}
    for result in results.values():
        result |= {"import_seconds": import_seconds, "sceptre": __version__}
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
