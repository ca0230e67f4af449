"""DS006, DS007: template-file-path stays inside the repository and names a file."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.desired import template_path_problem
from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error


def check(ctx: Context) -> Iterator[Finding]:
    state = ctx.state
    for spec in state.stacks:
        if problem := template_path_problem(state.root, spec.template_file_path):
            rule, message = problem
            yield error(spec.path, spec.line("template-file-path"), rule, message)


RULE = Rule(("DS006", "DS007"), "the template file exists inside the repository", check)
