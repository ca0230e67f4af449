"""Cold import time of each handler and of the CLI against `import boto3` alone, in fresh
interpreters (`python -X importtime`), as a ratio: a Lambda cold start pays it before the
first event. Every handler of infra/bootstrap.yml is held to at most TARGET times boto3's
(issue 19), with tracing inactive as outside Lambda (handlers/tracing.py). Also where the
push handler's import time goes, from the importtime tree."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version

BASELINE = "boto3"
# The Handler: entries of infra/bootstrap.yml, and the CLI.
HANDLERS = (
    "handlers.push",
    "handlers.preview",
    "handlers.stack_status",
    "handlers.drift",
    "handlers.schedule",
    "handlers.stack_worker",
    "handlers.webhook",
)
# handlers.push again with tracing active (in Lambda by Powertools' rule): X-Ray's cost.
TRACED = "handlers.push traced"
MODULES = (BASELINE, *HANDLERS, "reconciler.cli", TRACED)
TARGET = 1.5  # a handler's median at most this many times boto3's
TRACING = "LAMBDA_TASK_ROOT"  # set: in Lambda, so Powertools traces (handlers/tracing.py)
EXPANDED = "handlers.push"  # whose tree is shown
# handlers.push built up a layer at a time, in one interpreter: what each layer adds to
# those before it. (The tree charges a module to whichever imported it first, so there
# boto3 shows under Powertools' idempotency.) The last FIRST_EVENT layers are not imported
# by the handler: its first event acted on loads them (a container's first pass).
LAYERS = (
    ("boto3", "boto3"),
    ("Powertools logger and metrics", "handlers.log, handlers.metrics"),
    ("Powertools idempotency", "handlers.idempotency"),
    ("pydantic-core (SchemaValidator, core_schema)", "pydantic_core"),
    ("our event models (handlers.events)", "handlers.events"),
    ("the rest of handlers.push (runtime, GitHub source)", EXPANDED),
    ("first event: reconciler core (triggers, reconcile, validation)", "reconciler.triggers"),
    ("first event: AWS adapters (reconciler.aws.services)", "reconciler.aws.services"),
)
FIRST_EVENT = 2
RUNS = 7
TOP = 5
# A child holding at least this share of the module's time is opened up, one level.
OPEN_SHARE = 0.4


@dataclass
class Node:
    """One module of an importtime tree; `cumulative` includes what it imported first."""

    name: str
    cumulative: int  # microseconds
    children: list[Node] = field(default_factory=list)


def machine() -> str:
    """The machine the figures came from, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"moto {version('moto')}, boto3 {version('boto3')}"
    )


# Dropped from the children's environment: tracing's switches (set per label), and
# PYTHONDONTWRITEBYTECODE, which would keep the first import from writing the bytecode
# every run then reads: each run would compile the changed modules from source again.
DROPPED = (TRACING, "POWERTOOLS_TRACE_DISABLED", "PYTHONDONTWRITEBYTECODE")


def environment(label: str) -> dict[str, str]:
    """This process's environment, tracing inactive; active for TRACED."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    return {**env, TRACING: "/var/task"} if label == TRACED else env


def import_tree(statement: str, env: dict[str, str] | None = None) -> list[Node]:
    """The top-level imports `python -X importtime -c statement` made, as trees."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    roots: list[tuple[int, Node]] = []  # (depth, node) not yet given a parent
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        _, cumulative, label = line.split("|")
        name = label[1:]
        depth = (len(name) - len(name.lstrip())) // 2
        node = Node(name.strip(), int(cumulative))
        # importtime writes a module after everything it imported, one level deeper.
        while roots and roots[-1][0] > depth:
            node.children.insert(0, roots.pop()[1])
        roots.append((depth, node))
    return [node for _, node in roots]


def measure(label: str, startup: set[str]) -> dict[str, Node]:
    """Every module the import made, by name, for one fresh interpreter; the import's own
    total under the label with the interpreter's startup imports left out."""
    module = label.split()[0]
    tops = [n for n in import_tree(f"import {module}", environment(label)) if n.name not in startup]
    found: dict[str, Node] = {}

    def walk(node: Node) -> None:
        found[node.name] = node
        for child in node.children:
            walk(child)

    for node in tops:
        walk(node)
    found[label] = Node(label, sum(n.cumulative for n in tops), found[module].children)
    return found


def sample(
    modules: tuple[str, ...], startup: set[str], runs: int
) -> dict[str, list[dict[str, Node]]]:
    """`runs` fresh interpreters per module. The modules take turns, so that a busy moment
    of the machine falls on all of them alike."""
    for label in modules:
        # Compiles what is stale, so no run pays for it.
        import_tree(f"import {label.split()[0]}", environment(label))
    samples: dict[str, list[dict[str, Node]]] = {module: [] for module in modules}
    for _ in range(runs):
        for module in modules:
            samples[module].append(measure(module, startup))
    return samples


def layered(startup: set[str], runs: int) -> list[tuple[str, float]]:
    """(layer, median ms it adds) for LAYERS, all imported one after the other by one
    fresh interpreter per run, a marker written between layers: each layer's importtime
    is then what it adds to those before it, measured at the same moment."""
    marker = "-- layer --"
    code = "import sys\n" + "".join(
        f"import {modules}\nprint({marker!r}, file=sys.stderr, flush=True)\n"
        for _, modules in LAYERS
    )
    found: list[list[int]] = [[] for _ in LAYERS]
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True, text=True, check=True, env=environment(BASELINE),
        )  # fmt: skip
        layer, added = 0, [0] * len(LAYERS)
        for line in done.stderr.splitlines():
            if line == marker:
                layer += 1
            elif line.startswith("import time:") and "[us]" not in line:
                _, cumulative, label = line.split("|")
                name = label[1:]
                if name == name.lstrip() and name not in startup:  # top level: whole
                    added[layer] += int(cumulative)
        for i, us in enumerate(added):
            found[i].append(us)
    return [(name, statistics.median(f) / 1000) for (name, _), f in zip(LAYERS, found, strict=True)]


def median_tree(found: list[dict[str, Node]]) -> dict[str, Node]:
    """The first run's tree, each node at its median cumulative time over the runs."""
    tree = found[0]
    for name, node in tree.items():
        node.cumulative = int(statistics.median(s[name].cumulative for s in found if name in s))
    return tree


def contributors(tree: dict[str, Node], module: str) -> list[tuple[int, Node]]:
    """The module's biggest direct children, a child holding OPEN_SHARE or more of the
    time opened one level (depth 1 or 2)."""
    total = tree[module].cumulative
    shown: list[tuple[int, Node]] = []
    for child in sorted(tree[module].children, key=lambda n: -n.cumulative)[:TOP]:
        shown.append((1, child))
        if child.cumulative >= OPEN_SHARE * total:
            biggest = sorted(child.children, key=lambda n: -n.cumulative)[:TOP]
            shown.extend((2, grandchild) for grandchild in biggest)
    return shown


def main() -> int:
    started = time.perf_counter()
    startup = {node.name for node in import_tree("pass", environment(BASELINE))}
    samples = sample(MODULES, startup, RUNS)
    fastest = {m: min(run[m].cumulative for run in runs) for m, runs in samples.items()}
    trees = {module: median_tree(runs) for module, runs in samples.items()}
    base = trees[BASELINE][BASELINE].cumulative
    print(f"cold import in fresh interpreters, {RUNS} runs each ({machine()})")
    print(f"{'module':<24} {'median ms':>9} {'x boto3':>8} {'min ms':>7}  target")
    for module, tree in trees.items():
        us = tree[module].cumulative
        ratio = us / base
        verdict = ("pass" if ratio <= TARGET else "FAIL") if module in HANDLERS else ""
        row = f"{module:<24} {us / 1000:>9.1f} {ratio:>8.2f} {fastest[module] / 1000:>7.1f}"
        print(f"{row}  {verdict}".rstrip())
    print(
        "x boto3: the median against `import boto3` alone's; min: the least disturbed run; "
        f"target: a handler at most {TARGET}x boto3"
    )
    total = trees[EXPANDED][EXPANDED].cumulative
    print(f"\nwhere {EXPANDED}'s {total / 1000:.0f} ms go: its biggest imports, cumulative")
    for depth, node in contributors(trees[EXPANDED], EXPANDED):
        label = "  " * depth + node.name
        share = node.cumulative / total
        print(f"{label:<64} {node.cumulative / 1000:>7.1f} ms {share:>5.0%}")
    print("(a module's time counts under whichever module imported it first)")
    print(f"\n{EXPANDED} layer by layer, what each adds to the ones before (median, {RUNS} runs)")
    for i, (name, ms) in enumerate(layered(startup, RUNS)):
        if i == len(LAYERS) - FIRST_EVENT:
            print(f"  {'(not at import: loaded by the first event acted on)':<62}")
        print(f"  {name:<62} {ms:>+7.1f} ms")
    xray = trees[TRACED][TRACED].cumulative - total
    print(f"  {'X-Ray, when tracing is active (' + TRACING + ' set)':<62} {xray / 1000:>+7.1f} ms")

    from bench.plot import bars

    # "handlers." left off the labels, which would overlap.
    values = {
        module.removeprefix("handlers."): tree[module].cumulative / 1000
        for module, tree in trees.items()
    }
    title = "Cold import of each handler (handlers.*) and the CLI, median"
    path = bars("bench-import.png", title, "ms", values, baseline=BASELINE)
    print(f"wrote {path}; ran in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
