"""DS013: allow-replacement names resources the template declares (a typo there would
silently protect nothing)."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, warning


def check(ctx: Context) -> Iterator[Finding]:
    state = ctx.state
    for spec in state.stacks:
        template = state.templates.get(spec.template_file_path)
        if template is None:
            continue
        for logical_id in spec.allow_replacement:
            if logical_id not in template.resources:
                msg = (
                    f"allow-replacement names {logical_id!r}, "
                    f"which {template.path} does not declare"
                )
                yield warning(spec.path, spec.line("allow-replacement"), "DS013", msg)


RULE = Rule(("DS013",), "allow-replacement names declared resources", check)
