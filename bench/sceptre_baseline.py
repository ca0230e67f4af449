"""Sceptre, the closest Python peer, as the baseline: the same stacks on the same local AWS.

For N stacks deployed once by the reconciler, each tool looks at them with nothing to do.
The measure that counts is the whole process a user waits for: `reconciler plan` against
`sceptre diff` of the whole stack group, each a fresh process, interpreter start and
imports included, warm and cold:

- the reconciler's cold run has an empty validation cache (a new $RECONCILER_CACHE_DIR),
  its warm run the directory its cold run just filled (before the validation cache
  exists, both are the same run);
- Sceptre has no cache of its own: its cold run is its first at that size, its warm runs
  the ones after (the OS's file cache and .pyc files warm).

Each is run `--repeats` times (the median is kept), the runs of both tools interleaved so
that a busy moment of the machine falls on both alike. Also measured once per size: the
reconciler's no-op `apply` process against `sceptre status`, the AWS calls each command
makes, the in-process seconds of the reconciler's plan and no-op pass, and where the
plan process's time goes (one run each, cold and warm, with `python -X importtime`).

The local AWS runs in a process of its own (`python -m localaws serve`). Sceptre cannot be
installed beside moto, so it runs in its own interpreter ($SCEPTRE_PYTHON) through
bench/sceptre_runner.py, which counts its calls at botocore's `_make_api_call`; the
reconciler's calls are counted with botocore's `before-call` event. Figures are printed as
Sceptre / reconciler ratios from the same run.

`python -m bench.sceptre_baseline [--sizes 1,10,100,200,500] [--repeats 3]`; writes
docs/bench-sceptre-process.png (whole processes) and docs/bench-sceptre.png (calls and
in-process seconds) whatever the sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

import yaml

from bench.plot import Panel, panels
from bench.sizes import stack_sizes

SIZES = (1, 10, 100, 200, 500)
REPEATS = 3  # in-process reconciler passes per figure; the median is kept
PROCESS_REPEATS = 5  # whole-process runs per tool, size and cache state; the median is kept
TARGETS = ((1, 1.0), (200, 5.0))  # (stacks, least warm diff / plan ratio): issue 19
PROJECT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().with_name("sceptre_runner.py")
DEFAULT_SCEPTRE_PYTHON = ".venv-sceptre/bin/python"
GROUP = "bench"  # the Sceptre stack group holding every stack
PNG = "bench-sceptre.png"
PROCESS_PNG = "bench-sceptre-process.png"
CACHE_DIR = "RECONCILER_CACHE_DIR"  # the validation cache's directory
NO_CACHE = "RECONCILER_NO_CACHE"
HEAVIEST = 4  # packages named per importtime run
PLANNED_NONE = re.compile(r"^\S+ \[[^\]]+\]: none\b", re.MULTILINE)  # report.plan's line
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


@dataclass(frozen=True)
class Measure:
    """One command's AWS calls (by operation) and seconds; `process_seconds` when it ran
    as its own process (interpreter start and imports included)."""

    calls: dict[str, int]
    seconds: float
    process_seconds: float | None = None
    errors: dict[str, int] = field(default_factory=dict)
    exit: int = 0
    note: str = ""
    clients: int = 0  # botocore clients the command created
    import_seconds: float = 0.0  # Sceptre's: `import sceptre.cli` in its process

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def ok(self) -> bool:
        """Ran to the end with every call answered: otherwise its figures are not the
        command's cost (an unanswered call can end it early or send it another way)."""
        return self.exit == 0 and not self.errors


@dataclass(frozen=True)
class Processes:
    """Whole-process seconds of one command at one size, each run in order."""

    cold: tuple[float, ...]
    warm: tuple[float, ...]

    @property
    def cold_s(self) -> float:
        return statistics.median(self.cold)

    @property
    def warm_s(self) -> float:
        return statistics.median(self.warm)


@dataclass(frozen=True)
class Imports:
    """One plan process run with `python -X importtime`: milliseconds of imports in all
    (the interpreter's own count, which its bookkeeping inflates a little), each top-level
    package's own share (its modules' own time), and cfn-lint's with everything it
    imported first (0: never imported)."""

    total_ms: float
    by_package: dict[str, float]
    cfnlint_ms: float

    def heaviest(self) -> str:
        top = sorted(self.by_package.items(), key=lambda item: -item[1])[:HEAVIEST]
        return ", ".join(f"{name} {ms:.0f}" for name, ms in top)


@dataclass(frozen=True)
class Row:
    n: int
    noop: Measure
    plan: Measure
    status: Measure
    diff: Measure  # Sceptre's first (cold) run: its calls
    plan_runs: Processes
    diff_runs: Processes
    diff_warm: tuple[Measure, ...]  # Sceptre's warm runs, as its runner saw them
    imports: dict[str, Imports]  # "cold" and "warm"
    deploy_seconds: float
    cache_files: int  # what the cold runs left in their cache directory (0: no cache)
    load: float  # the machine's 1-minute load average once this size was measured

    def ratio(self, state: str) -> float:
        """Sceptre diff's seconds over reconciler plan's, whole processes, cold or warm."""
        if state == "cold":
            return self.diff_runs.cold_s / self.plan_runs.cold_s
        return self.diff_runs.warm_s / self.plan_runs.warm_s


class CallCounter:
    """botocore `before-call` handler: counts calls by operation until taken."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model, **_) -> None:
        self.calls[model.name] += 1

    def take(self) -> dict[str, int]:
        taken = dict(sorted(self.calls.items()))
        self.calls.clear()
        return taken


def write_repo(root: Path, n: int) -> Path:
    """A desired-state repository of n one-parameter stacks, bench-0000 onwards; written
    again over a smaller one, it keeps the first stacks as they were."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "desired-state").mkdir(exist_ok=True)
    (root / "templates" / "param.yml").write_text(TEMPLATE)
    for i in range(n):
        (root / "desired-state" / f"s{i:04d}.yml").write_text(
            "template-file-path: templates/param.yml\n"
            f"parameters: {{Name: s{i:04d}}}\nstack-name: bench-{i:04d}\nregion: us-east-1\n"
        )
    return root


def write_sceptre_project(root: Path, state) -> Path:
    """The same stacks as a Sceptre project: same template text, stack names (Sceptre's
    `stack_name` key, so no project-code prefix), parameters and tags (the reconciler's
    managed tags), so that Sceptre's diff has nothing to report either."""
    from reconciler.desired import managed_tags
    from reconciler.fingerprint import desired_hash

    (root / "config" / GROUP).mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "config" / "config.yaml").write_text(
        yaml.safe_dump({"project_code": GROUP, "region": "us-east-1"})
    )
    for spec in state.stacks:
        body = state.templates[spec.template_file_path].body
        (root / "templates" / "param.yaml").write_text(body)
        tags = managed_tags(spec, desired_hash(spec, body))
        config = {  # plain str: the loader's str subclasses carry line numbers
            "template": {"path": "param.yaml"},
            "stack_name": str(spec.stack_name),
            "parameters": {str(k): str(v) for k, v in spec.parameters.items()},
            "stack_tags": {str(k): str(v) for k, v in tags.items()},
        }
        (root / "config" / GROUP / f"{spec.stack_name}.yaml").write_text(yaml.safe_dump(config))
    return root


def deploy(state, services) -> None:
    """Create every stack, then a second pass records them as synced: from then on a pass
    has nothing to do."""
    from reconciler.reconcile import apply

    apply(state, "r1", services, owner="bench")
    outcomes = Counter(r.outcome for r in apply(state, "r1", services, owner="bench").stacks)
    if set(outcomes) != {"unchanged"}:
        raise RuntimeError(f"the stacks did not settle: {dict(outcomes)}")


def median_run(run, counter: CallCounter) -> Measure:
    """REPEATS runs of a pass that changes nothing; the calls of the last, the median
    seconds (every run makes the same calls)."""
    seconds = []
    for _ in range(REPEATS):
        counter.take()
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return Measure(counter.take(), statistics.median(seconds))


def measure_reconciler(state, services, counter: CallCounter) -> tuple[Measure, Measure]:
    from reconciler.plan import Action
    from reconciler.reconcile import apply, make_plan

    def noop() -> None:
        result = apply(state, "r1", services, owner="bench")
        if any(r.outcome != "unchanged" for r in result.stacks):
            raise RuntimeError("the no-op pass changed something")

    def plan() -> None:
        _, plans = make_plan(state, services.cfn, services.catalog)
        if any(p.action is not Action.NONE for p in plans):
            raise RuntimeError("the plan has something to do")

    return median_run(noop, counter), median_run(plan, counter)


# --- whole processes ------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    seconds: float
    stdout: str
    stderr: str


def reconciler_process(
    command: str, root: Path, cache: Path, python_flags: Sequence[str] = ()
) -> Done:
    """`reconciler <command> <root>` as its own process with its validation cache in
    `cache`: interpreter start, imports and validation included. A plan must find nothing
    to do for every stack."""
    env = {**os.environ, CACHE_DIR: str(cache)}
    env.pop(NO_CACHE, None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *python_flags, "-m", "reconciler", command, str(root)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"reconciler {command} exited {done.returncode}: {done.stderr[-500:]}")
    if command == "plan":
        stacks = len(list((root / "desired-state").glob("*.yml")))
        if len(PLANNED_NONE.findall(done.stdout)) != stacks:
            raise RuntimeError(f"reconciler plan has something to do: {done.stdout[-500:]}")
    return Done(seconds, done.stdout, done.stderr)


def run_sceptre(python: str, project: Path, command: str) -> tuple[Measure, str]:
    """One Sceptre command in a fresh process (as its CLI runs: new sessions and clients);
    the measure and the Sceptre version it ran."""
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-I", str(RUNNER), str(project), command],
        capture_output=True,
        text=True,
        check=False,
    )
    process_seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"sceptre_runner exited {done.returncode}: {done.stderr[-500:]}")
    result = json.loads(done.stdout)[command]
    output = result["output"].strip().splitlines()
    measure = Measure(
        calls=result["calls"],
        seconds=result["seconds"],
        process_seconds=process_seconds,
        errors=result["errors"],
        exit=result["exit"],
        note=output[-1] if output else "",
        clients=result["clients"],
        import_seconds=result["import_seconds"],
    )
    return measure, result.get("sceptre", "")


def import_profile(stderr: str) -> Imports:
    """`python -X importtime`'s lines (`import time: self | cumulative | name`, a module
    after what it imported, indented one level deeper), summed by top-level package."""
    modules = []  # (depth, top-level package, own ms, cumulative ms), as written
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        package = name.strip().split(".")[0]
        modules.append((depth, package, int(own) / 1000, int(cumulative) / 1000))
    by_package: Counter[str] = Counter()
    for _, package, own, _ in modules:
        by_package[package] += own
    cfnlint = 0.0
    within: list[tuple[int, bool]] = []  # ancestors (depth, in cfnlint), read backwards
    for depth, package, _, cumulative in reversed(modules):
        while within and within[-1][0] >= depth:
            within.pop()
        inside = bool(within) and within[-1][1]
        if package == "cfnlint" and not inside:
            cfnlint += cumulative
        within.append((depth, inside or package == "cfnlint"))
    return Imports(sum(by_package.values()), dict(by_package), cfnlint)


def whole_processes(
    root: Path, project: Path, python: str, caches: Path, repeats: int
) -> tuple[Processes, Processes, Measure, tuple[Measure, ...], dict[str, Imports], Path]:
    """Plan and diff as whole processes, interleaved: plan cold (a new cache directory),
    diff's first run, then `repeats` times plan warm (the directory just filled), diff,
    plan cold again (but for the last time). Then one importtime run of plan cold and one
    warm. Returns plan's and diff's seconds, diff's first and warm measures, the
    importtime profiles and the last cache directory filled."""

    def fresh() -> Path:
        return Path(tempfile.mkdtemp(prefix="cache-", dir=caches))

    cache = fresh()
    plan_cold = [reconciler_process("plan", root, cache).seconds]
    first, _ = run_sceptre(python, project, f"diff {GROUP}")
    plan_warm, diff_warm = [], []
    for i in range(repeats):
        plan_warm.append(reconciler_process("plan", root, cache).seconds)
        diff_warm.append(run_sceptre(python, project, f"diff {GROUP}")[0])
        if i < repeats - 1:
            cache = fresh()
            plan_cold.append(reconciler_process("plan", root, cache).seconds)
    importtime = ("-X", "importtime")
    imports = {
        "cold": import_profile(reconciler_process("plan", root, fresh(), importtime).stderr),
        "warm": import_profile(reconciler_process("plan", root, cache, importtime).stderr),
    }
    plan = Processes(tuple(plan_cold), tuple(plan_warm))
    diff = Processes(
        (first.process_seconds or 0,), tuple(m.process_seconds or 0 for m in diff_warm)
    )
    return plan, diff, first, tuple(diff_warm), imports, cache


def measure_all(aws, python: str, sizes: Sequence[int], repeats: int) -> tuple[list[Row], str]:
    """Every size in turn, the stacks growing in place (only the new ones are created at
    each size); the rows and the Sceptre version measured."""
    from reconciler.aws import session
    from reconciler.aws.services import services_from_env
    from reconciler.desired import load_desired_state

    aws.reset()
    session.reset_clients()
    counter = CallCounter()
    session.on_every_call(counter)
    services = services_from_env(change_set_wait_seconds=0, fan_out=False)
    rows, sceptre = [], ""
    with tempfile.TemporaryDirectory() as tmp:
        caches = Path(tmp) / "caches"
        caches.mkdir()
        os.environ[CACHE_DIR] = str(caches / "in-process")  # never the user's own cache
        for n in sizes:
            started = time.perf_counter()
            state = load_desired_state(write_repo(Path(tmp) / "repo", n))
            deploy(state, services)
            deployed = time.perf_counter() - started
            noop, plan = measure_reconciler(state, services, counter)
            project = write_sceptre_project(Path(tmp) / f"sceptre-{n}", state)
            plan_runs, diff_runs, diff, diff_warm, imports, cache = whole_processes(
                state.root, project, python, caches, repeats
            )
            plan = Measure(plan.calls, plan.seconds, plan_runs.warm_s)
            noop = Measure(
                noop.calls, noop.seconds, reconciler_process("apply", state.root, cache).seconds
            )
            status, sceptre = run_sceptre(python, project, f"status {GROUP}")
            row = Row(
                n=n,
                noop=noop,
                plan=plan,
                status=status,
                diff=diff,
                plan_runs=plan_runs,
                diff_runs=diff_runs,
                diff_warm=diff_warm,
                imports=imports,
                deploy_seconds=deployed,
                cache_files=sum(1 for path in cache.rglob("*") if path.is_file()),
                load=os.getloadavg()[0],
            )
            rows.append(row)
            print(
                f"  {n} stacks: deployed in {deployed:.0f} s, measured in "
                f"{time.perf_counter() - started - deployed:.0f} s; warm diff/plan "
                f"{row.ratio('warm'):.2f}",
                file=sys.stderr,
                flush=True,
            )
    session.reset_clients()  # they point at this run's server
    return rows, sceptre


# --- report ---------------------------------------------------------------------------


def machine(sceptre: str) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"moto {version('moto')}, botocore {version('botocore')}, Sceptre {sceptre}"
    )


def _ratios(sceptre: Measure, ours: Measure) -> tuple[str, str, str]:
    """Calls, in-process seconds and process seconds, Sceptre's over the reconciler's;
    none from a Sceptre command that failed."""
    if not sceptre.ok:
        return ("failed",) * 3
    pairs = (
        (sceptre.total, ours.total),
        (sceptre.seconds, ours.seconds),
        (sceptre.process_seconds or 0, ours.process_seconds or 0),
    )
    return tuple(f"{a / b:.1f}" if a and b else "-" for a, b in pairs)


def _ops(calls: dict[str, int]) -> str:
    return ", ".join(f"{op} {n}" for op, n in calls.items()) or "-"


def _runs(seconds: Sequence[float]) -> str:
    return " ".join(f"{s:.2f}" for s in seconds)


def process_table(rows: Sequence[Row], repeats: int) -> list[str]:
    lines = [
        "Whole processes, seconds: `reconciler plan` against `sceptre diff`, nothing to do.",
        f"plan cold: median of {repeats} run(s), each on a new, empty validation cache;",
        f"plan warm: median of {repeats} run(s) on the cache the cold run before filled;",
        f"diff cold: Sceptre's first run at that size; diff warm: median of the {repeats} after.",
        "",
        f"{'stacks':>6}  {'plan cold':>9} {'plan warm':>9}  {'diff cold':>9} {'diff warm':>9}"
        f"  {'diff/plan warm':>14} {'cold':>5}",
    ]
    for row in rows:
        lines.append(
            f"{row.n:>6}  {row.plan_runs.cold_s:>9.2f} {row.plan_runs.warm_s:>9.2f}  "
            f"{row.diff_runs.cold_s:>9.2f} {row.diff_runs.warm_s:>9.2f}  "
            f"{row.ratio('warm'):>14.2f} {row.ratio('cold'):>5.2f}"
        )
    lines += ["", "targets (issue 19), warm sceptre diff / warm reconciler plan:"]
    by_n = {row.n: row for row in rows}
    for n, least in TARGETS:
        wanted = "no slower than" if least == 1 else f"at least {least:g}x faster than"
        goal = f"  N={n}: warm plan {wanted} sceptre diff (ratio >= {least:g}):"
        if n not in by_n:
            lines.append(f"{goal} not measured")
            continue
        ratio = by_n[n].ratio("warm")
        lines.append(f"{goal} {ratio:.2f}, {'met' if ratio >= least else 'NOT met'}")
    lines += ["", "every run, seconds, in order; the machine's 1-minute load average after:"]
    for row in rows:
        lines.append(
            f"{row.n:>6}  plan cold {_runs(row.plan_runs.cold)} | warm "
            f"{_runs(row.plan_runs.warm)} | diff {_runs(row.diff_runs.cold)} then "
            f"{_runs(row.diff_runs.warm)} | load {row.load:.1f}"
        )
    return lines


def time_table(rows: Sequence[Row]) -> list[str]:
    """Where each process's time goes."""
    lines = [
        "Where a plan process's time goes, ms: the whole process (median, above); its imports,",
        "from one more run with `python -X importtime` (the interpreter's own count, a little",
        "inflated), cfnlint being cfn-lint's with what it imported first (0: not imported);",
        f"make_plan, warm, in the benchmark's own process (median of {REPEATS}: the AWS calls",
        "and the plan); the rest: interpreter start, reading the repository, validation (cold:",
        "cfn-lint's run), the status table, clients, output. Heaviest: own import ms by package.",
        f"{'stacks':>6}  {'cache':<5} {'process ms':>10} {'imports ms':>10} {'cfnlint':>7} "
        f"{'make_plan':>9} {'rest':>6}  heaviest imports (own ms)",
    ]
    for row in rows:
        for state, process in (("cold", row.plan_runs.cold_s), ("warm", row.plan_runs.warm_s)):
            imports = row.imports[state]
            planned = row.plan.seconds * 1000
            rest = process * 1000 - imports.total_ms - planned
            lines.append(
                f"{row.n:>6}  {state:<5} {process * 1000:>10.0f} {imports.total_ms:>10.0f} "
                f"{imports.cfnlint_ms:>7.0f} {planned:>9.1f} {rest:>6.0f}  {imports.heaviest()}"
            )
    lines += [
        "",
        "Sceptre diff's warm process: `import sceptre.cli` and the command, in its process.",
        f"{'stacks':>6}  {'process ms':>10} {'import ms':>9} {'command ms':>10} {'rest':>6}",
    ]
    for row in rows:
        warm = row.diff_warm
        process = row.diff_runs.warm_s * 1000
        imported = statistics.median(m.import_seconds for m in warm) * 1000
        command = statistics.median(m.seconds for m in warm) * 1000
        lines.append(
            f"{row.n:>6}  {process:>10.0f} {imported:>9.0f} {command:>10.0f} "
            f"{process - imported - command:>6.0f}"
        )
    return lines


def calls_table(rows: Sequence[Row]) -> list[str]:
    lines = [
        f"AWS calls and in-process ms per command (the reconciler's: median of {REPEATS} passes in",
        "this process; Sceptre's: its first run); process ms: the whole command (plan and diff:",
        "warm medians; the no-op apply, on a warm cache, and status: one run each)",
        f"{'stacks':>6}  {'command':<22} {'calls':>6} {'ms':>9} {'process ms':>11}  calls",
    ]
    for row in rows:
        commands = (
            ("reconciler no-op apply", row.noop),
            ("reconciler plan", row.plan),
            ("sceptre status", row.status),
            ("sceptre diff", replace(row.diff, process_seconds=row.diff_runs.warm_s)),
        )
        for name, m in commands:
            process = f"{m.process_seconds * 1000:>11.0f}" if m.process_seconds else f"{'-':>11}"
            lines.append(
                f"{row.n:>6}  {name:<22} {m.total:>6} {m.seconds * 1000:>9.1f} {process}  "
                f"{_ops(m.calls)}"
            )
            if not m.ok:
                lines.append(
                    f"{'':>8}not comparable: exit {m.exit}, failed calls {_ops(m.errors)}; {m.note}"
                )
            elif "differences detected" in m.note:  # the stacks were meant to match
                lines.append(f"{'':>8}unexpected: {m.note}")
    lines += [
        "",
        "ratios, Sceptre / reconciler: status against the no-op apply, diff against plan",
        f"{'stacks':>6}  {'status/no-op calls':>18} {'seconds':>8}  "
        f"{'diff/plan calls':>15} {'seconds':>8}  {'process: status/apply':>21} {'diff/plan':>9}",
    ]
    for row in rows:
        diff = replace(row.diff, process_seconds=row.diff_runs.warm_s)
        status_calls, status_seconds, status_process = _ratios(row.status, row.noop)
        diff_calls, diff_seconds, diff_process = _ratios(diff, row.plan)
        lines.append(
            f"{row.n:>6}  {status_calls:>18} {status_seconds:>8}  {diff_calls:>15} "
            f"{diff_seconds:>8}  {status_process:>21} {diff_process:>9}"
        )
    last = rows[-1]
    lines += ["", f"per stack at N={last.n}:"]
    for name, m in (("sceptre status", last.status), ("sceptre diff", last.diff)):
        per_stack = _ops({op: round(c / last.n, 2) for op, c in m.calls.items()})
        lines.append(f"  {name}: {per_stack} (clients created in all: {m.clients})")
    return lines


def report(rows: Sequence[Row], sceptre: str, repeats: int) -> list[str]:
    deployed = ", ".join(f"{row.n}: {row.deploy_seconds:.0f} s" for row in rows)
    return [
        "Sceptre as the baseline: the same N stacks on the same local AWS, nothing to do",
        machine(sceptre),
        checkout(),
        cache_state(rows),
        "",
        *process_table(rows, repeats),
        "",
        *time_table(rows),
        "",
        *calls_table(rows),
        "",
        f"deploying the stacks (new ones only, by size): {deployed}",
    ]


def checkout() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(
            ["git", "-C", str(PROJECT), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(PROJECT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "checkout: not a git working copy"
    edited = f", and {len(changed)} files changed since" if changed else ""
    return f"checkout: {head[:90]}{edited}"


def cache_state(rows: Sequence[Row]) -> str:
    """Whether the reconciler ran with a validation cache (issue 19): without one, cold
    and warm plan runs are the same runs."""
    files = ", ".join(f"{row.n}: {row.cache_files}" for row in rows)
    if any(row.cache_files for row in rows):
        return f"validation cache: files in a filled cache directory, by size: {files}"
    return "validation cache: none (every cache directory stayed empty): cold = warm"


def plot(rows: Sequence[Row]) -> list[Path]:
    """Whole processes (seconds and ratios against N), then calls and in-process seconds."""
    ns = [row.n for row in rows]
    seconds = {
        "reconciler plan, warm": [r.plan_runs.warm_s for r in rows],
        "reconciler plan, cold": [r.plan_runs.cold_s for r in rows],
        "sceptre diff, warm": [r.diff_runs.warm_s for r in rows],
        "sceptre diff, cold (first run)": [r.diff_runs.cold_s for r in rows],
    }
    styles = dict(zip(seconds, ("C0-", "C0:", "C1--", "C1:"), strict=True))
    ratios = {
        "warm": [r.ratio("warm") for r in rows],
        "cold": [r.ratio("cold") for r in rows],
    }
    marks = {f"target at N={n}: {least:g}x": least for n, least in TARGETS}
    process = panels(
        PROCESS_PNG,
        Panel(
            "whole process, nothing to do",
            "stacks",
            "seconds",
            {label: (ns, ys) for label, ys in seconds.items()},
            styles=styles,
            logx=True,
            logy=True,
            xticks=ns,
        ),
        Panel(
            "sceptre diff / reconciler plan, whole processes",
            "stacks",
            "times faster",
            {label: (ns, ys) for label, ys in ratios.items()},
            styles={"warm": "C2-", "cold": "C2:"},
            marks=marks,
            logx=True,
            logy=True,
            xticks=ns,
        ),
    )
    commands = {
        "reconciler no-op apply": [row.noop for row in rows],
        "reconciler plan": [row.plan for row in rows],
        "sceptre status": [row.status for row in rows],
        "sceptre diff": [row.diff for row in rows],
    }
    calls, in_process = {}, {}
    for label, measures in commands.items():
        points = [(n, m) for n, m in zip(ns, measures, strict=True) if m.ok]
        calls[label] = ([n for n, _ in points], [m.total for _, m in points])
        in_process[label] = ([n for n, _ in points], [m.seconds for _, m in points])
    styles = {label: "--" if label.startswith("sceptre") else "-" for label in commands}
    counted = panels(
        PNG,
        Panel("AWS API calls, nothing to do", "stacks", "calls", calls, styles=styles,
              logx=True, logy=True, xticks=ns),
        Panel("wall time in process (no interpreter start)", "stacks", "seconds", in_process,
              styles=styles, logx=True, logy=True, xticks=ns),
    )  # fmt: skip
    return [process, counted]


def sceptre_python() -> Path:
    """$SCEPTRE_PYTHON (relative to the working directory), else the project's venv."""
    chosen = os.environ.get("SCEPTRE_PYTHON")
    return Path(chosen).absolute() if chosen else PROJECT / DEFAULT_SCEPTRE_PYTHON


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sceptre_baseline", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", type=stack_sizes, default=SIZES, help="stack counts, e.g. 1,10")
    parser.add_argument(
        "--repeats", type=int, default=PROCESS_REPEATS, help="whole-process runs per figure"
    )
    return parser


def main(argv: Sequence[str] = ()) -> int:
    args = _parser().parse_args(list(argv))
    if args.repeats < 1:
        print("python -m bench.sceptre_baseline: --repeats is at least 1", file=sys.stderr)
        return 2
    python = sceptre_python()
    if not python.exists():
        print(
            f"no Sceptre interpreter at {python}: run `make bench` (it creates "
            f"{DEFAULT_SCEPTRE_PYTHON}), or set SCEPTRE_PYTHON to a Python with sceptre 4.7"
        )
        return 1
    from bench.fanout import Server

    started = time.perf_counter()
    load = os.getloadavg()[0]
    saved = dict(os.environ)
    aws = Server(latency=0)  # moto in a process of its own; change sets as moto makes them
    try:
        os.environ.update(aws.env())
        rows, sceptre = measure_all(aws, str(python), args.sizes, args.repeats)
    finally:  # later benchmarks in the same process must not aim at a stopped server
        aws.stop()
        os.environ.clear()
        os.environ.update(saved)
    print("\n".join(report(rows, sceptre, args.repeats)))
    for path in plot(rows):
        print(f"plot: {path.relative_to(PROJECT)}")
    print(
        f"load average (1 min) at the start {load:.2f}, at the end {os.getloadavg()[0]:.2f}; "
        f"took {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
