"""What a reconcile pass costs as the number of stacks grows, on the local AWS server.

For N unchanged stacks, one pass's AWS calls by operation (botocore's before-call event)
and its wall time, as ratios against N=1 in the same run; then the same N with exactly
one stack changed, as the calls beyond the no-op pass. The design's claim to check:
calls grow only with DescribeStacks pages. A pass is what a push handler does once the
repository is checked out: load the stack files, then `apply`.

`deploy_stacks` and `noop_pass` are importable without side effects, so that another
benchmark (the Sceptre baseline) can measure the same stacks on the same local AWS.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from localaws.server import LocalAws
    from reconciler.reconcile import PassResult, Services

T = TypeVar("T")
SIZES = (1, 10, 100, 500)
PASSES = 3  # wall time is the median of this many passes
REGION = "us-east-1"
OWNER = "bench"
TEMPLATE_FILE = "templates/param.yml"
BASE_VALUE = "v"
CHANGED = 0  # the index of the stack whose parameter changes
MOTO_PAGE = 50  # moto's DescribeStacks page size (real CloudFormation pages by size)
SCAN_PAGE_BYTES = 1024 * 1024  # DynamoDB ends a Scan page at 1 MB of items
TEMPLATE = """\
Parameters:
  Name: {Type: String}
  Value: {Type: String}
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Name: !Sub "/bench/${Name}", Type: String, Value: !Ref Value}
Outputs:
  ParamName: {Value: !Ref Param}
  Value: {Value: !Ref Value}
"""


# --- the stacks -----------------------------------------------------------------------


def stack_name(i: int) -> str:
    return f"bench-{i:04d}"


def stack_parameters(i: int, value: str = BASE_VALUE) -> dict[str, str]:
    return {"Name": f"s{i:04d}", "Value": value}


def write_stack_file(root: Path, i: int, value: str = BASE_VALUE) -> None:
    params = ", ".join(f"{k}: {v}" for k, v in stack_parameters(i, value).items())
    (root / "desired-state" / f"s{i:04d}.yml").write_text(
        f"template-file-path: {TEMPLATE_FILE}\nparameters: {{{params}}}\n"
        f"stack-name: {stack_name(i)}\nregion: {REGION}\n"
    )


def write_repo(root: Path, n: int) -> Path:
    """A desired-state repository of `n` stacks, one SSM parameter each."""
    (root / "desired-state").mkdir(parents=True, exist_ok=True)
    (root / TEMPLATE_FILE).parent.mkdir(parents=True, exist_ok=True)
    (root / TEMPLATE_FILE).write_text(TEMPLATE)
    for i in range(n):
        write_stack_file(root, i)
    return root


def point_at(aws: LocalAws) -> None:
    """Point this process's AWS clients at the local AWS (the environment, then fresh
    clients: cached ones keep the endpoint they were built with)."""
    from reconciler.aws import session

    os.environ.update(aws.env(REGION))
    session.reset_clients()


# --- counted passes -------------------------------------------------------------------


@dataclass(frozen=True)
class PassCost:
    calls: Mapping[str, int]  # AWS calls by operation
    seconds: float  # wall time
    aws_seconds: float  # of which inside AWS calls (request, local AWS, parsing)

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def pages(self) -> int:
        """DescribeStacks pages: a pass calls DescribeStacks only to list the stacks."""
        return self.calls.get("DescribeStacks", 0)


class CountedReconciler:
    """The reconciler's services with every AWS call counted by operation (the session's
    before-call event) and timed (its clients' before- and after-call events). Building
    one replaces the process's cached clients, so build it after `point_at`."""

    TIMED = ("cloudformation", "dynamodb", "ssm")  # every client a pass or finish uses

    def __init__(self) -> None:
        from reconciler.aws import session
        from reconciler.aws.services import services_from_env

        session.reset_clients()
        self._calls: Counter[str] = Counter()
        self._timed = 0
        self._in_aws = 0.0
        self._call_started = 0.0
        session.on_every_call(self._count)
        for service in self.TIMED:  # the cached clients the adapters will use
            events = session.client(service, REGION).meta.events
            events.register("before-call", self._start)
            events.register("after-call", self._stop)
        self.services: Services = services_from_env()  # as the handlers build them

    def _count(self, model: Any, **_: Any) -> None:
        self._calls[model.name] += 1

    def _start(self, **_: Any) -> None:
        self._call_started = time.perf_counter()

    def _stop(self, **_: Any) -> None:
        self._timed += 1
        self._in_aws += time.perf_counter() - self._call_started

    def _counted(self, run: Callable[[], T]) -> tuple[T, PassCost]:
        self._calls.clear()
        self._timed, self._in_aws = 0, 0.0
        started = time.perf_counter()
        value = run()
        cost = PassCost(dict(self._calls), time.perf_counter() - started, self._in_aws)
        if self._timed != cost.total:
            raise RuntimeError(f"{cost.total} AWS calls counted but {self._timed} timed")
        return value, cost

    def reconcile(self, repo: Path, revision: str) -> tuple[PassResult, PassCost]:
        """One pass as a push handler runs it once the repository is checked out."""
        from reconciler.desired import load_desired_state
        from reconciler.reconcile import apply

        def run() -> PassResult:
            return apply(load_desired_state(repo), revision, self.services, owner=OWNER)

        return self._counted(run)

    def finish(self, name: str) -> tuple[str, PassCost]:
        """What the stack status event does after the change: the stack's sync status."""
        from reconciler.reconcile import finish

        status, cost = self._counted(lambda: finish(name, REGION, self.services))
        return (str(status.sync) if status else "none"), cost


def _outcomes(result: PassResult) -> Counter[str]:
    return Counter(s.outcome for s in result.stacks)


def deploy_stacks(aws: LocalAws, n: int, root: Path | None = None) -> Path:
    """Forget everything on the local AWS, then write a repository of `n` stacks into
    `root` (a new temporary folder when None: the caller removes it) and deploy it with
    the reconciler: one pass creates every stack, a second records them in sync (what the
    stack status events would do). Points this process's clients at `aws`."""
    point_at(aws)
    aws.reset()
    repo = write_repo(root or Path(tempfile.mkdtemp(prefix="bench-stacks-")), n)
    reconciler = CountedReconciler()
    created, _ = reconciler.reconcile(repo, "r0")
    if _outcomes(created) != Counter(executed=n):
        raise RuntimeError(f"creating {n} stacks: {dict(_outcomes(created))}")
    reconciler.reconcile(repo, "r0")
    noop_pass(repo, reconciler)  # every stack listed (all pages) and in sync
    return repo


def noop_pass(repo: Path, reconciler: CountedReconciler) -> PassCost:
    """One pass over the deployed, unchanged stacks; raises if any stack was not left
    unchanged (the figures would then not be a no-op's). The first pass of a new
    CountedReconciler also pays for creating its clients: run one before timing."""
    result, cost = reconciler.reconcile(repo, "r0")
    n = len(list((repo / "desired-state").glob("*.yml")))
    if _outcomes(result) != Counter(unchanged=n):
        raise RuntimeError(f"no-op pass over {n} stacks: {dict(_outcomes(result))}")
    return cost


def changed_pass(
    repo: Path, reconciler: CountedReconciler, value: str
) -> tuple[PassCost, PassCost]:
    """Set one stack's Value parameter in its stack file, run one pass (which executes
    that stack's change set), then the stack status event's `finish`. Their costs."""
    write_stack_file(repo, CHANGED, value)
    result, cost = reconciler.reconcile(repo, f"r-{value}")
    n = len(result.stacks)
    if _outcomes(result) != Counter(executed=1, unchanged=n - 1):
        raise RuntimeError(f"pass with one changed stack of {n}: {dict(_outcomes(result))}")
    sync, finished = reconciler.finish(stack_name(CHANGED))
    live = reconciler.services.cfn.describe_stack(stack_name(CHANGED), REGION)
    if sync != "Synced" or live is None or live.parameters.get("Value") != value:
        raise RuntimeError(f"the change to {stack_name(CHANGED)} was not applied ({sync})")
    return cost, finished


# --- measuring ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One size's passes. Calls are those of the first pass of each kind (`unsteady`
    names a kind whose calls differed between passes); times are medians."""

    stacks: int
    noop: tuple[PassCost, ...]
    changed: tuple[PassCost, ...]
    finish: PassCost  # the stack status event after the last changed pass
    status_bytes: int  # the status table's items, by DynamoDB's item size rule
    # No-op passes with the validation cache bypassed (every file decoded by cfn-lint, as
    # before the cache), taken in turn with `noop`: the same run's baseline.
    uncached: tuple[PassCost, ...] = ()

    @property
    def beyond(self) -> dict[str, int]:
        """The changed pass's calls beyond the no-op pass's, by operation."""
        changed, noop = self.changed[0].calls, self.noop[0].calls
        diff = {op: changed.get(op, 0) - noop.get(op, 0) for op in sorted({*changed, *noop})}
        return {op: d for op, d in diff.items() if d}

    @property
    def unsteady(self) -> list[str]:
        kinds = {"no-op": self.noop, "one changed": self.changed}
        return [k for k, costs in kinds.items() if any(c.calls != costs[0].calls for c in costs)]


def median_ms(costs: Sequence[PassCost], aws: bool = False) -> float:
    return 1000 * statistics.median(c.aws_seconds if aws else c.seconds for c in costs)


def measure_size(aws: LocalAws, n: int, root: Path, passes: int = PASSES) -> Row:
    from reconciler import cache

    repo = deploy_stacks(aws, n, root)
    reconciler = CountedReconciler()
    noop_pass(repo, reconciler)  # not kept: the first pass on new clients pays their creation
    noop, uncached = [], []
    for _ in range(passes):  # in turn, so a busy moment of the machine falls on both alike
        noop.append(noop_pass(repo, reconciler))
        with cache.bypassed():
            uncached.append(noop_pass(repo, reconciler))
    changed_pass(repo, reconciler, "c0")  # not kept either: the first update's own warm-up
    changes = [changed_pass(repo, reconciler, f"c{k}") for k in range(1, passes + 1)]
    changed_pass(repo, reconciler, BASE_VALUE)  # back as deployed, for whoever comes next
    return Row(
        n,
        tuple(noop),
        tuple(c for c, _ in changes),
        changes[-1][1],
        _status_bytes(reconciler),
        tuple(uncached),
    )


def measure(aws: LocalAws, sizes: Sequence[int] = SIZES, passes: int = PASSES) -> list[Row]:
    """One row per size, each on freshly deployed stacks. The environment and clients
    are put back as they were afterwards (the local AWS may stop before the process)."""
    from reconciler.aws import session

    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return [measure_size(aws, n, Path(tmp) / f"n{n}", passes) for n in sizes]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        session.reset_clients()


def _status_bytes(reconciler: CountedReconciler) -> int:
    """Size of the status table's items as DynamoDB counts it (names plus values)."""
    from reconciler.aws import session

    store = reconciler.services.status
    pages = session.client("dynamodb", store.region).get_paginator("scan")
    return sum(
        len(name.encode()) + sum(len(str(v).encode()) for v in value.values())
        for page in pages.paginate(TableName=store.table_name)
        for item in page["Items"]
        for name, value in item.items()
    )


# --- report ---------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    from importlib.metadata import version

    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"moto {version('moto')}, boto3 {version('boto3')}"
    )


def _ops(calls: Mapping[str, int]) -> str:
    return ", ".join(f"{op} {c}" for op, c in sorted(calls.items())) or "none"


def report(rows: Sequence[Row]) -> list[str]:
    base = rows[0]
    base_calls, base_ms = base.noop[0].total, median_ms(base.noop)
    head = (
        f"{'stacks':>6} {'calls':>5} {'x N=1':>5} {'pages':>5} {'calls-pages':>11} "
        f"{'wall ms':>8} {'x N=1':>5} {'in AWS ms':>9}"
    )
    lines = [
        "no-op pass: every stack unchanged (a pass = load the stack files + apply; "
        f"times = median of {len(base.noop)} passes; in AWS = inside AWS calls)",
        f"{head} {'ms/stack':>8}  calls by operation",
    ]
    for r in rows:
        noop, ms = r.noop[0], median_ms(r.noop)
        lines.append(
            f"{r.stacks:>6} {noop.total:>5} {noop.total / base_calls:>5.1f} {noop.pages:>5} "
            f"{noop.total - noop.pages:>11} {ms:>8.1f} {ms / base_ms:>5.1f} "
            f"{median_ms(r.noop, aws=True):>9.1f} {ms / r.stacks:>8.2f}  {_ops(noop.calls)}"
        )
    lines += [
        "",
        "the same no-op passes with the validation cache bypassed (each stack file decoded by "
        "cfn-lint, as before it), taken in turn with those above",
        f"{'stacks':>6} {'calls':>5} {'wall ms':>8} {'cached ms':>9} {'cached / bypassed':>17}",
    ]
    for r in rows:
        if not r.uncached:
            continue
        bypassed, cached = median_ms(r.uncached), median_ms(r.noop)
        lines.append(
            f"{r.stacks:>6} {r.uncached[0].total:>5} {bypassed:>8.1f} {cached:>9.1f} "
            f"{cached / bypassed:>17.2f}"
        )
    base_calls, base_ms = base.changed[0].total, median_ms(base.changed)
    lines += [
        "",
        f"one stack changed: {stack_name(CHANGED)}'s Value parameter in its stack file, its "
        f"change set executed (times = median of {len(base.changed)} passes)",
        f"{head} {'+ms':>6}  calls beyond the no-op pass at the same N",
    ]
    for r in rows:
        changed, ms = r.changed[0], median_ms(r.changed)
        lines.append(
            f"{r.stacks:>6} {changed.total:>5} {changed.total / base_calls:>5.1f} "
            f"{changed.pages:>5} {changed.total - changed.pages:>11} {ms:>8.1f} "
            f"{ms / base_ms:>5.1f} {median_ms(r.changed, aws=True):>9.1f} "
            f"{ms - median_ms(r.noop):>6.1f}  {sum(r.beyond.values())}: {_ops(r.beyond)}"
        )
    finishes = " | ".join(sorted({_ops(r.finish.calls) for r in rows}))
    finish_ms = ", ".join(f"{r.finish.seconds * 1000:.1f}" for r in rows)
    lines.append(
        f"then the stack status event's finish for the changed stack (not in the pass): "
        f"{rows[-1].finish.total} calls ({finishes}); {finish_ms} ms"
    )
    lines += ["", *_target(rows), *_scan(rows)]
    lines += [
        f"note: at N={r.stacks} the calls varied between {', '.join(r.unsteady)} passes"
        for r in rows
        if r.unsteady
    ]
    return lines


def _target(rows: Sequence[Row]) -> list[str]:
    lines = []
    kinds = {"no-op": [r.noop[0] for r in rows], "one changed": [r.changed[0] for r in rows]}
    for kind, costs in kinds.items():
        rest = [c.total - c.pages for c in costs]
        pages = [c.pages for c in costs]
        verdict = "holds" if len(set(rest)) == 1 else "does not hold"
        lines.append(
            f"target, calls grow only with DescribeStacks pages ({kind}): {verdict}: calls minus "
            f"pages {', '.join(map(str, rest))} at N = {', '.join(str(r.stacks) for r in rows)} "
            f"(pages {', '.join(map(str, pages))}; moto pages at {MOTO_PAGE} stacks)"
        )
    return lines


def _scan(rows: Sequence[Row]) -> list[str]:
    scans = [c.calls.get("Scan", 0) for r in rows for c in (r.noop[0], r.changed[0])]
    pages = (
        f"{scans[0]} at every N"
        if len(set(scans)) == 1
        else f"{', '.join(map(str, scans))} (no-op, one changed) at N = "
        + ", ".join(str(r.stacks) for r in rows)
    )
    big = rows[-1]
    each = big.status_bytes / big.stacks
    return [
        f"status table Scan pages per pass: {pages}. DynamoDB ends a Scan page at 1 MB; at "
        f"N={big.stacks} the items hold {big.status_bytes / 1024:.0f} KB ({each:.0f} bytes a "
        f"stack), so one page holds about {SCAN_PAGE_BYTES // each:.0f} stacks"
    ]


def write_plots(rows: Sequence[Row]) -> list[Path]:
    from bench import plot

    sizes = [r.stacks for r in rows]
    calls = plot.lines(
        "bench-noop-calls.png",
        "AWS calls of one reconcile pass",
        "stacks",
        "AWS calls",
        {
            "no-op (all unchanged)": (sizes, [r.noop[0].total for r in rows]),
            "one stack changed": (sizes, [r.changed[0].total for r in rows]),
            "DescribeStacks pages": (sizes, [r.noop[0].pages for r in rows]),
        },
        logx=True,
    )
    wall = plot.lines(
        "bench-noop-time.png",
        f"Wall time of one reconcile pass (median of {len(rows[0].noop)}, local AWS)",
        "stacks",
        "wall ms",
        {
            "no-op (all unchanged)": (sizes, [median_ms(r.noop) for r in rows]),
            "no-op: inside AWS calls": (sizes, [median_ms(r.noop, aws=True) for r in rows]),
            "one stack changed": (sizes, [median_ms(r.changed) for r in rows]),
        },
        logx=True,
    )
    return [calls, wall]


def main() -> int:
    from localaws.server import LocalAws

    started = time.perf_counter()
    print(f"reconcile pass cost vs stacks, on the local AWS; machine: {machine()}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other work skews the times)")
    with LocalAws() as aws:
        rows = measure(aws)
    print("\n".join(report(rows)))
    written = write_plots(rows)
    print(f"plots: {', '.join(p.relative_to(p.parent.parent).as_posix() for p in written)}")
    print(f"took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
