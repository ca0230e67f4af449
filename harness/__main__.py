"""`python -m harness demo` runs the demo (`make demo`) against a fresh local AWS.

The local AWS alone, with no reconciler in it, is `python -m localaws serve`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness", description="Drives the reconciler on the local AWS."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="run the reconciler demo on a fresh local AWS")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _parser().parse_args(argv)
    # Imported here so that `--help` and usage errors stay instant.
    from harness import demo

    result = demo.main()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
