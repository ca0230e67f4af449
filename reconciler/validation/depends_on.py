"""DS011, DS012: depends-on names known stacks and forms no cycle."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.order import find_cycle
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error


def check(ctx: Context) -> Iterator[Finding]:
    state = ctx.state
    names = {s.stack_name for s in state.stacks}
    for spec in state.stacks:
        for dep in spec.depends_on:
            if dep not in names:
                msg = f"depends-on names {dep!r}, which no stack file declares"
                yield error(spec.path, spec.line("depends-on"), "DS011", msg)
    cycle = find_cycle(
        {s.stack_name: [d for d in s.depends_on if d in names] for s in state.stacks}
    )
    if cycle:
        spec = state.stack(cycle[0])
        names = [*cycle, cycle[0]]
        if len(names) > 12:  # a cycle thousands long stays a one-line finding
            names = [*names[:6], f"... ({len(names) - 10} more) ...", *names[-4:]]
        msg = "depends-on forms a cycle: " + " -> ".join(names)
        yield error(spec.path, spec.line("depends-on"), "DS012", msg)


RULE = Rule(("DS011", "DS012"), "depends-on is satisfiable", check)
