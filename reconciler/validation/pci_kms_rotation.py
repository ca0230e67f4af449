"""PCI008: customer-managed keys rotate their key material (PCI DSS 3.7.4; the AWS Config
rule cmk-backing-key-rotation-enabled). KMS rotates only symmetric keys whose material it
generated: asymmetric and HMAC keys, imported material and custom key stores are skipped."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.pci_common import require_true
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import stack_views

RULE_ID = "PCI008"
FIX = "set EnableKeyRotation: true (KMS then rotates the key material every year)"


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for key in view.resources("AWS::KMS::Key"):
            spec = key.props.get("KeySpec", "SYMMETRIC_DEFAULT")
            origin = key.props.get("Origin", "AWS_KMS")
            if spec == "SYMMETRIC_DEFAULT" and origin == "AWS_KMS":
                found = require_true(view, key, "EnableKeyRotation", RULE_ID, FIX)
                if found:
                    yield found


RULE = Rule((RULE_ID,), "symmetric KMS keys rotate their key material", check)
