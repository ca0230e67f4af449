"""DS005: a stack name is claimed by one stack file only."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error


def check(ctx: Context) -> Iterator[Finding]:
    state = ctx.state
    first: dict[str, str] = {}
    for spec in state.stacks:
        if spec.stack_name in first:
            msg = f"stack-name {spec.stack_name!r} is already used by {first[spec.stack_name]}"
            yield error(spec.path, spec.line("stack-name"), "DS005", msg)
        else:
            first[spec.stack_name] = spec.path


RULE = Rule(("DS005",), "each stack name appears in one stack file", check)
