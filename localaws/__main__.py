"""`python -m localaws serve [--port N]` runs the local AWS in the foreground. (The demo,
which drives the reconciler on a fresh local AWS, is `python -m harness demo`.)

`serve` prints the endpoint URL as the very first line of stdout, so that a script which
starts it in the background can read the URL from its first line; the second line is a
shell `export` for the whole client environment. It exits 0 on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m localaws", description="An embedded local AWS (moto + extensions)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the local AWS server in the foreground")
    serve.add_argument(
        "--port", type=_port, default=0, help="TCP port on 127.0.0.1 (default: a free one)"
    )
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {port}")
    return port


def serve(port: int) -> int:
    # Imported here so that `--help` and usage errors stay instant.
    from localaws.server import LocalAws

    aws = LocalAws(port=port)
    try:
        aws.start()
    except OSError as error:
        print(f"python -m localaws: cannot listen on 127.0.0.1:{port}: {error}", file=sys.stderr)
        return 1

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(aws.endpoint_url, flush=True)
        # A line a shell can run as it is: `eval "$(... | sed -n 2p)"`.
        exports = " ".join(f"{name}={value}" for name, value in aws.env().items())
        print(f"export {exports}  # local AWS is running; Ctrl-C stops it", flush=True)
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(timeout=1.0):
            pass
    finally:
        aws.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return serve(args.port)


if __name__ == "__main__":
    sys.exit(main())
