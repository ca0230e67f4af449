"""Validation: pure checks over the loaded desired state. One rule per module, listed
explicitly in RULES (no plugin discovery)."""

from __future__ import annotations

from reconciler.desired import DesiredState
from reconciler.findings import Finding
from reconciler.validation import (
    allow_replacement,
    depends_on,
    parameters,
    stack_names,
    template_path,
    template_size,
)
from reconciler.validation.rule import Rule

RULES: tuple[Rule, ...] = (
    stack_names.RULE,
    template_path.RULE,
    template_size.RULE,
    parameters.RULE,
    depends_on.RULE,
    allow_replacement.RULE,
)


def validate(state: DesiredState) -> list[Finding]:
    """Every finding: those from loading the files, then each rule's, sorted by place."""
    findings = list(state.findings)
    for rule in RULES:
        findings.extend(rule.check(state))
    return sorted(set(findings))
