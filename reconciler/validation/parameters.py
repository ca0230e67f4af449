"""DS009, DS010: parameters match what the template declares."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error


def check(ctx: Context) -> Iterator[Finding]:
    state = ctx.state
    for spec in state.stacks:
        template = state.templates.get(spec.template_file_path)
        if template is None:
            continue  # reported by the template rules
        line = spec.line("parameters")
        for name in spec.parameters:
            if name not in template.parameters:
                declared = ", ".join(sorted(template.parameters)) or "none"
                msg = (
                    f"parameter {name!r} is not declared by {template.path} (declared: {declared})"
                )
                yield error(spec.path, line, "DS009", msg)
        for name, declared in template.parameters.items():
            if not declared.has_default and name not in spec.parameters:
                msg = (
                    f"parameter {name!r} has no default in {template.path}:{declared.line} "
                    "and is not given"
                )
                yield error(spec.path, line, "DS010", msg)


RULE = Rule(("DS009", "DS010"), "parameters are declared and required ones given", check)
