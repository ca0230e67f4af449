"""IAM001: the CloudFormation execution role allows every action a template's resource
types need (the handler permissions in the resource schemas, reconciler.iam_actions).
Without it the stack update fails at the first such resource, often twenty minutes in,
and rolls back. Checked only when the role's policies can be read; the reading is
permissive (see reconciler.permissions), so a finding is certain and its absence is not
a promise: a Condition, a resource-scoped Deny or a service control policy may still
refuse a call at run time."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.iam_actions import facts, handler_actions
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error
from reconciler.validation.stack_view import stack_views

SHOWN = 8  # missing actions named in a finding; the rest are counted


def check(ctx: Context) -> Iterator[Finding]:
    permissions = ctx.role.permissions()
    if permissions is None:
        return  # validate's notes say why
    for view in stack_views(ctx):
        first: dict[str, int] = {}
        for resource in view.resources():
            first.setdefault(resource.type, resource.line)
        for kind, line in first.items():
            missing = permissions.missing(needed(view.spec.region, kind))
            if missing:
                yield error(
                    view.path,
                    line,
                    "IAM001",
                    message(kind, ctx.role.arn, missing),
                    view.spec.stack_name,
                )


def needed(region: str, kind: str) -> list[str]:
    """The type's handler actions that AWS defines: a schema also lists names no policy
    can grant (AWS::Logs::LogGroup's `s3:REST.PUT.OBJECT`), which no role can lack."""
    return [a for a in handler_actions(region, kind) if facts(a) is not None]


def message(kind: str, role: str, missing: list[str]) -> str:
    named = ", ".join(missing[:SHOWN])
    more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
    return (
        f"{kind}: the execution role {role} does not allow {len(missing)} action(s) "
        f"CloudFormation needs to manage this type: {named}{more}; grant them to the role "
        "(conditions and resource limits were not evaluated)"
    )


RULE = Rule(("IAM001",), "the execution role allows the template's resource types", check)
