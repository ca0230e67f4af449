"""Cost of a no-op reconcile as the number of stacks grows, on the local AWS server.

For N unchanged stacks, counts the AWS calls one pass makes (botocore's before-call
event) and its wall time, and prints both as ratios against N=1 measured in the same
run. The design's claim to check: calls grow only with DescribeStacks pages.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SIZES = (1, 10, 50, 100)
TEMPLATE = """\
Parameters:
  Name: {Type: String}
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Name: !Sub "/bench/${Name}", Type: String, Value: v}
Outputs:
  ParamName: {Value: !Ref Param}
"""


def write_repo(root: Path, n: int) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "desired-state").mkdir()
    (root / "templates" / "param.yml").write_text(TEMPLATE)
    for i in range(n):
        (root / "desired-state" / f"s{i:04d}.yml").write_text(
            "template-file-path: templates/param.yml\n"
            f"parameters: {{Name: s{i:04d}}}\nstack-name: bench-{i:04d}\nregion: us-east-1\n"
        )
    return root


def measure(n: int, aws) -> tuple[Counter, float]:
    from reconciler.aws import session
    from reconciler.aws.services import services_from_env
    from reconciler.desired import load_desired_state
    from reconciler.reconcile import apply

    aws.reset()
    session.reset_clients()
    calls: Counter = Counter()
    session.on_every_call(lambda model, **_: calls.update([model.name]))
    services = services_from_env(change_set_wait_seconds=0)
    with tempfile.TemporaryDirectory() as tmp:
        state = load_desired_state(write_repo(Path(tmp), n))
        apply(state, "r1", services, owner="bench")  # creates every stack
        for result in apply(state, "r1", services, owner="bench").stacks:
            assert result.outcome == "unchanged", result
        calls.clear()
        started = time.perf_counter()
        apply(state, "r1", services, owner="bench")
        elapsed = time.perf_counter() - started
    return calls, elapsed


def main() -> int:
    from localaws.server import LocalAws

    with LocalAws() as aws:
        os.environ.update(aws.env())
        rows = [(n, *measure(n, aws)) for n in SIZES]
    base_calls, base_time = sum(rows[0][1].values()), rows[0][2]
    print("no-op reconcile on the local AWS (moto pages DescribeStacks at 50 stacks)")
    print(
        f"{'stacks':>7} {'calls':>6} {'x N=1':>6} {'wall ms':>8} {'x N=1':>6}  calls by operation"
    )
    for n, calls, elapsed in rows:
        total = sum(calls.values())
        detail = ", ".join(f"{op} {c}" for op, c in sorted(calls.items()))
        print(
            f"{n:>7} {total:>6} {total / base_calls:>6.1f} {elapsed * 1000:>8.1f} "
            f"{elapsed / base_time:>6.1f}  {detail}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
