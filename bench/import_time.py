"""Cold import time of each handler against `import boto3` alone, measured in fresh
interpreters (`python -X importtime`), as a ratio. A Lambda cold start pays it."""

from __future__ import annotations

import statistics
import subprocess
import sys

MODULES = ("boto3", "handlers.push", "handlers.stack_status", "reconciler.cli")
RUNS = 5


def cumulative_us(module: str) -> int:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    last = [line for line in done.stderr.splitlines() if line.startswith("import time:")][-1]
    return int(last.split("|")[1])


def main() -> int:
    medians = {m: statistics.median(cumulative_us(m) for _ in range(RUNS)) for m in MODULES}
    base = medians["boto3"]
    print(f"cold import, median of {RUNS} fresh interpreters")
    print(f"{'module':<24} {'ms':>7} {'x boto3':>8}")
    for module, us in medians.items():
        print(f"{module:<24} {us / 1000:>7.1f} {us / base:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
