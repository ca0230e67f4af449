"""cfn-lint over every referenced template, in each region its stacks target, through
cfn-lint's Python API; its findings keep cfn-lint's rule ids (E3012, W1020, ...)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from functools import cache

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error, warning


@cache
def lint(text: str, regions: tuple[str, ...]) -> tuple[tuple[str, int, str], ...]:
    """(rule id, line, message) for each cfn-lint match; informational ones dropped."""
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=list(regions)))
    return tuple(
        (m.rule.id, m.linenumber, m.message) for m in matches if m.rule.id[:1] in ("E", "W")
    )


def check(ctx: Context) -> Iterator[Finding]:
    stacks_by_template: dict[str, list] = defaultdict(list)
    for spec in ctx.state.stacks:
        if spec.template_file_path in ctx.state.templates:
            stacks_by_template[spec.template_file_path].append(spec)
    for path, specs in stacks_by_template.items():
        template = ctx.state.templates[path]
        regions = tuple(sorted({s.region for s in specs}))
        for rule_id, line, message in lint(template.body, regions):
            make = error if rule_id.startswith("E") else warning
            for spec in specs:  # once per stack, so each stack file can suppress it
                yield make(path, line, rule_id, f"{message} (cfn-lint)", spec.stack_name)


RULE = Rule(("E*", "W*"), "cfn-lint finds nothing in the templates", check)
