"""Sceptre, the closest Python peer, as the baseline: the same stacks on the same local AWS.

For N stacks deployed once by the reconciler, each tool looks at them with nothing to do:
the reconciler's no-op pass (`apply`) and its `plan`, against `sceptre status` and
`sceptre diff` of the whole stack group. Sceptre cannot be installed beside moto, so it
runs in its own interpreter ($SCEPTRE_PYTHON) through bench/sceptre_runner.py, which
counts its calls at botocore's `_make_api_call`; the reconciler's calls are counted with
botocore's `before-call` event. Figures are printed as Sceptre / reconciler ratios from
the same run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import yaml

from bench.plot import DOCS

SIZES = (1, 10, 100, 500)
REPEATS = 3  # in-process reconciler passes per figure; the median is kept
PROJECT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().with_name("sceptre_runner.py")
DEFAULT_SCEPTRE_PYTHON = ".venv-sceptre/bin/python"
GROUP = "bench"  # the Sceptre stack group holding every stack
PNG = "bench-sceptre.png"
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

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def ok(self) -> bool:
        """Ran to the end with every call answered: otherwise its figures are not the
        command's cost (an unanswered call can end it early or send it another way)."""
        return self.exit == 0 and not self.errors


@dataclass(frozen=True)
class Row:
    n: int
    noop: Measure
    plan: Measure
    status: Measure
    diff: Measure


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


def reconciler_process(command: str, root: Path) -> float:
    """`reconciler <command>` as its own process, for the process-to-process comparison:
    interpreter start, imports and the cfn-lint pass of validation included."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", command, str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"reconciler {command} exited {done.returncode}: {done.stderr[-500:]}")
    return seconds


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
    )
    return measure, result.get("sceptre", "")


def measure_all(aws, python: str) -> tuple[list[Row], str]:
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
        for n in SIZES:
            state = load_desired_state(write_repo(Path(tmp) / "repo", n))
            deploy(state, services)
            noop, plan = measure_reconciler(state, services, counter)
            noop = Measure(noop.calls, noop.seconds, reconciler_process("apply", state.root))
            plan = Measure(plan.calls, plan.seconds, reconciler_process("plan", state.root))
            project = write_sceptre_project(Path(tmp) / f"sceptre-{n}", state)
            status, sceptre = run_sceptre(python, project, f"status {GROUP}")
            diff, _ = run_sceptre(python, project, f"diff {GROUP}")
            rows.append(Row(n, noop, plan, status, diff))
    session.reset_clients()  # they point at this run's server
    return rows, sceptre


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


def report(rows: list[Row], sceptre: str) -> None:
    print("Sceptre as the baseline: the same N stacks on the same local AWS, nothing to do")
    print(machine(sceptre))
    print()
    header = f"{'stacks':>6}  {'command':<22} {'calls':>6} {'ms':>9} {'process ms':>11}  calls"
    print(header)
    for row in rows:
        commands = (
            ("reconciler no-op apply", row.noop),
            ("reconciler plan", row.plan),
            ("sceptre status", row.status),
            ("sceptre diff", row.diff),
        )
        for name, m in commands:
            process = f"{m.process_seconds * 1000:>11.0f}" if m.process_seconds else f"{'-':>11}"
            print(
                f"{row.n:>6}  {name:<22} {m.total:>6} {m.seconds * 1000:>9.1f} {process}  "
                f"{_ops(m.calls)}"
            )
            if not m.ok:
                print(
                    f"{'':>8}not comparable: exit {m.exit}, failed calls {_ops(m.errors)}; {m.note}"
                )
            elif "differences detected" in m.note:  # the stacks were meant to match
                print(f"{'':>8}unexpected: {m.note}")
    print()
    print("ratios, Sceptre / reconciler: status against the no-op apply, diff against plan")
    print("(in-process seconds exclude interpreter start and imports; process seconds include")
    print("them, and the reconciler's cfn-lint pass over the template)")
    print(
        f"{'stacks':>6}  {'status/no-op calls':>18} {'seconds':>8}  "
        f"{'diff/plan calls':>15} {'seconds':>8}  {'process: status/apply':>21} {'diff/plan':>9}"
    )
    for row in rows:
        status_calls, status_seconds, status_process = _ratios(row.status, row.noop)
        diff_calls, diff_seconds, diff_process = _ratios(row.diff, row.plan)
        print(
            f"{row.n:>6}  {status_calls:>18} {status_seconds:>8}  {diff_calls:>15} "
            f"{diff_seconds:>8}  {status_process:>21} {diff_process:>9}"
        )
    last = rows[-1]
    print()
    print(f"per stack at N={last.n}:")
    for name, m in (("sceptre status", last.status), ("sceptre diff", last.diff)):
        per_stack = _ops({op: round(c / last.n, 2) for op, c in m.calls.items()})
        print(f"  {name}: {per_stack} (clients created in all: {m.clients})")


def plot(rows: list[Row]) -> Path:
    """Calls and seconds against N, both tools, log scales: one PNG, two panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [row.n for row in rows]
    series = {
        "reconciler no-op apply": [row.noop for row in rows],
        "reconciler plan": [row.plan for row in rows],
        "sceptre status": [row.status for row in rows],
        "sceptre diff": [row.diff for row in rows],
    }
    figure, (calls_axes, seconds_axes) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    for label, measures in series.items():
        points = [(n, m) for n, m in zip(ns, measures, strict=True) if m.ok]
        xs = [n for n, _ in points]
        style = "--" if label.startswith("sceptre") else "-"
        calls_axes.plot(xs, [m.total for _, m in points], style, marker="o", label=label)
        seconds_axes.plot(xs, [m.seconds for _, m in points], style, marker="o", label=label)
    calls_axes.set(title="AWS API calls, nothing to do", ylabel="calls")
    seconds_axes.set(title="wall time in process (no interpreter start)", ylabel="seconds")
    for axes in (calls_axes, seconds_axes):
        axes.set(xlabel="stacks", xscale="log", yscale="log")
        axes.set_xticks(ns, [str(n) for n in ns])
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    figure.tight_layout()
    path = DOCS / PNG
    figure.savefig(path, format="png")
    plt.close(figure)
    return path


def sceptre_python() -> Path:
    """$SCEPTRE_PYTHON (relative to the working directory), else the project's venv."""
    chosen = os.environ.get("SCEPTRE_PYTHON")
    return Path(chosen).absolute() if chosen else PROJECT / DEFAULT_SCEPTRE_PYTHON


def main() -> int:
    python = sceptre_python()
    if not python.exists():
        print(
            f"no Sceptre interpreter at {python}: run `make bench` (it creates "
            f"{DEFAULT_SCEPTRE_PYTHON}), or set SCEPTRE_PYTHON to a Python with sceptre 4.7"
        )
        return 1
    from localaws.server import LocalAws

    started = time.perf_counter()
    saved = dict(os.environ)
    try:
        with LocalAws() as aws:
            os.environ.update(aws.env())
            rows, sceptre = measure_all(aws, str(python))
    finally:  # later benchmarks in the same process must not aim at a stopped server
        os.environ.clear()
        os.environ.update(saved)
    report(rows, sceptre)
    print(f"plot: {plot(rows).relative_to(PROJECT)}")
    print(f"took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
