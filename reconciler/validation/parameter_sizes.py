"""DS017: each parameter value fits CloudFormation's 4,096 bytes, checked before the
change set is asked for."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error

MAX_VALUE_BYTES = 4096


def check(ctx: Context) -> Iterator[Finding]:
    for spec in ctx.state.stacks:
        for name, value in spec.parameters.items():
            size = len(value.encode())
            if size > MAX_VALUE_BYTES:
                # The size only: the value may be a NoEcho one.
                msg = (
                    f"parameter {name!r} is {size} bytes; CloudFormation takes "
                    f"{MAX_VALUE_BYTES} per value: split it, or keep it out of the stack file"
                )
                yield error(spec.path, spec.item_line("parameters", name), "DS017", msg)


RULE = Rule(("DS017",), "parameter values fit CloudFormation's size limit", check)
