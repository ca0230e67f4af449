"""DS016: the SSM parameters a stack's outputs are published as are names Parameter
Store takes: not under the reserved `aws` or `ssm` prefixes (in any case), at most 1011
characters, at most 15 levels. The name is `<outputs-path>/<output key>`, so the check
uses the template's output keys."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.desired import StackSpec
from reconciler.findings import Finding
from reconciler.outputs import parameter_name
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error

RESERVED_PREFIXES = ("aws", "ssm")
MAX_NAME = 1011
MAX_LEVELS = 15


def check(ctx: Context) -> Iterator[Finding]:
    for spec in ctx.state.stacks:
        template = ctx.state.templates.get(spec.template_file_path)
        outputs = template.data.get("Outputs") if template else None
        keys = [str(k) for k in outputs] if isinstance(outputs, dict) else []
        if problem := _problem(spec, keys):
            yield error(spec.path, _line(spec), "DS016", problem)


def _problem(spec: StackSpec, keys: list[str]) -> str | None:
    path = spec.outputs_path.rstrip("/")
    given = (
        "outputs-path"
        if "outputs-path" in spec.lines
        else "outputs-path (by default /<stack-name>)"
    )
    first = path.lstrip("/").split("/", 1)[0]
    if first.lower().startswith(RESERVED_PREFIXES):
        return (
            f"{given} {path!r}: Parameter Store reserves names beginning with "
            f"{' or '.join(RESERVED_PREFIXES)} (in any case); choose another outputs-path"
        )
    longest = max(keys, key=len, default="X")  # a name needs at least one character
    name = parameter_name(path, longest)
    if len(name) > MAX_NAME:
        return (
            f"{given} {path[:60]!r}...: the output {longest[:60]!r} would be published as a "
            f"{len(name)}-character name; Parameter Store takes {MAX_NAME}"
        )
    levels = name.count("/")
    if levels > MAX_LEVELS:
        return (
            f"{given} {path[:60]!r}: outputs would be published {levels} levels deep "
            f"(the path's {levels - 1} plus the output key); Parameter Store takes {MAX_LEVELS}"
        )
    return None


def _line(spec: StackSpec) -> int:
    return spec.line("outputs-path") if "outputs-path" in spec.lines else spec.line("stack-name")


RULE = Rule(("DS016",), "outputs are published under names Parameter Store takes", check)
