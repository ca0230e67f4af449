"""PCI009: secrets are rotated on a schedule (PCI DSS 8.3.9; the AWS Config rule
secretsmanager-rotation-enabled-check). A secret counts as rotated when a
RotationSchedule of the same template names it. A warning: the rotation may be set up
outside the template, which this rule cannot see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.findings import Finding, Severity
from reconciler.validation.context import Context
from reconciler.validation.pci_common import finding, is_intrinsic, raw_property, ref_target
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import Resource, StackView, stack_views

RULE_ID = "PCI009"
SECRET = "AWS::SecretsManager::Secret"
SCHEDULE = "AWS::SecretsManager::RotationSchedule"
FIX = (
    f"add an {SCHEDULE} with SecretId: !Ref {{id}} (or, for an RDS master password, drop "
    "this secret and set ManageMasterUserPassword: true, which RDS rotates itself)"
)


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        named = [_secret_id(view, s) for s in view.resources(SCHEDULE)]
        if any(is_intrinsic(value) for kind, value in named if kind == "name"):
            continue  # a schedule names a secret not known offline: it may be any of them
        for secret in view.resources(SECRET):
            if not any(_names(n, secret) for n in named):
                msg = "no RotationSchedule in this template rotates it: "
                msg += FIX.format(id=secret.logical_id)
                yield finding(view, secret, None, RULE_ID, msg, Severity.WARNING)


def _secret_id(view: StackView, schedule: Resource) -> tuple[str, Any]:
    """The logical id a schedule's SecretId refers to, or its literal name or ARN."""
    written = raw_property(schedule, "SecretId")
    target = ref_target(written)
    if target is not None and target in view.template.resources:
        return ("id", target)
    return ("name", schedule.props.get("SecretId"))


def _names(named: tuple[str, Any], secret: Resource) -> bool:
    kind, value = named
    if kind == "id":
        return value == secret.logical_id
    name = secret.props.get("Name")
    if not isinstance(value, str) or not isinstance(name, str):
        return False
    return value == name or f":secret:{name}-" in value


RULE = Rule((RULE_ID,), "Secrets Manager secrets have a rotation schedule", check)
