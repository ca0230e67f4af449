"""`reconciler` in a fresh interpreter, reporting which cfn-lint modules it loaded: the
proof that a run answered from the validation cache (reconciler/cache.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MARK = "cfnlint-modules-loaded:"
WRAPPER = f"""
import json, sys
from reconciler.cli import main
try:
    code = main(sys.argv[1:])
finally:
    sys.stdout.flush()
    loaded = sorted(m for m in sys.modules if m == "cfnlint" or m.startswith("cfnlint."))
    print({MARK!r} + json.dumps(loaded), file=sys.stderr, flush=True)
raise SystemExit(code)
"""


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str  # without the wrapper's line
    cfnlint: tuple[str, ...]  # cfnlint modules loaded by the end of the run

    @property
    def answer(self) -> tuple[int, str, str]:
        return self.code, self.out, self.err


def run_reconciler(*args: str, cwd: Path, env: dict[str, str], timeout: int = 180) -> Run:
    """`reconciler *args` in a fresh interpreter with exactly `env`."""
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = done.stderr.splitlines(keepends=True)
    marks = [line for line in lines if line.startswith(MARK)]
    assert len(marks) == 1, done.stderr
    err = "".join(line for line in lines if not line.startswith(MARK))
    return Run(done.returncode, done.stdout, err, tuple(json.loads(marks[0][len(MARK) :])))
