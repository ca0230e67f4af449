"""Cold import time of each handler and of the CLI against `import boto3` alone, in fresh
interpreters (`python -X importtime`), as a ratio: a Lambda cold start pays it before the
first event. Also where the push handler's import time goes, from the importtime tree."""

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
MODULES = (
    BASELINE,
    "handlers.push",
    "handlers.stack_status",
    "handlers.drift",
    "handlers.schedule",
    "handlers.webhook",
    "reconciler.cli",
)
EXPANDED = "handlers.push"  # whose tree is shown
RUNS = 5
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


def import_tree(statement: str) -> list[Node]:
    """The top-level imports `python -X importtime -c statement` made, as trees."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True, text=True, check=True,
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


def measure(module: str, startup: set[str]) -> dict[str, Node]:
    """Every module the import made, by name, for one fresh interpreter; the import's own
    total under the module's name with the interpreter's startup imports left out."""
    tops = [n for n in import_tree(f"import {module}") if n.name not in startup]
    found: dict[str, Node] = {}

    def walk(node: Node) -> None:
        found[node.name] = node
        for child in node.children:
            walk(child)

    for node in tops:
        walk(node)
    found[module] = Node(module, sum(n.cumulative for n in tops), found[module].children)
    return found


def sample(
    modules: tuple[str, ...], startup: set[str], runs: int
) -> dict[str, list[dict[str, Node]]]:
    """`runs` fresh interpreters per module. The modules take turns, so that a busy moment
    of the machine falls on all of them alike."""
    for module in modules:
        import_tree(f"import {module}")  # compiles what is stale, so no run pays for it
    samples: dict[str, list[dict[str, Node]]] = {module: [] for module in modules}
    for _ in range(runs):
        for module in modules:
            samples[module].append(measure(module, startup))
    return samples


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
    startup = {node.name for node in import_tree("pass")}
    samples = sample(MODULES, startup, RUNS)
    fastest = {m: min(run[m].cumulative for run in runs) for m, runs in samples.items()}
    trees = {module: median_tree(runs) for module, runs in samples.items()}
    base = trees[BASELINE][BASELINE].cumulative
    print(f"cold import in fresh interpreters, {RUNS} runs each ({machine()})")
    print(f"{'module':<24} {'median ms':>9} {'x boto3':>8} {'min ms':>7}")
    for module, tree in trees.items():
        us = tree[module].cumulative
        print(f"{module:<24} {us / 1000:>9.1f} {us / base:>8.2f} {fastest[module] / 1000:>7.1f}")
    print("x boto3: the median against `import boto3` alone's; min: the least disturbed run")
    total = trees[EXPANDED][EXPANDED].cumulative
    print(f"\nwhere {EXPANDED}'s {total / 1000:.0f} ms go: its biggest imports, cumulative")
    for depth, node in contributors(trees[EXPANDED], EXPANDED):
        label = "  " * depth + node.name
        share = node.cumulative / total
        print(f"{label:<64} {node.cumulative / 1000:>7.1f} ms {share:>5.0%}")
    print("(a module's time counts under whichever module imported it first)")

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
