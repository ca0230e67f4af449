"""`make bench`: every benchmark, one after the other; each prints its table and writes
its plot into docs/. The exit code is the first failure's (a missing Sceptre venv, say)."""

from __future__ import annotations

import sys
import time

from bench import (
    drift_latency,
    fanout,
    import_time,
    noop_reconcile,
    push_latency,
    sceptre_baseline,
)

# fanout last: it takes the longest (about half an hour, docs/benchmarks.md).
BENCHMARKS = (noop_reconcile, sceptre_baseline, import_time, push_latency, drift_latency, fanout)


def main() -> int:
    code = 0
    for module in BENCHMARKS:
        started = time.monotonic()
        print(f"== {module.__name__}", flush=True)
        result = module.main()
        print(f"({module.__name__}: {time.monotonic() - started:.0f} s)\n", flush=True)
        code = code or result
    return code


if __name__ == "__main__":
    sys.exit(main())
