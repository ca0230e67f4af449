"""Validation: checks over the desired state before anything is written to AWS. One
rule per module, listed explicitly in RULES (no plugin discovery). Findings are values;
errors block, warnings do not; a stack file may suppress a rule id with a reason, and
every report lists the suppressions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from reconciler.desired import DesiredState
from reconciler.findings import Finding, has_errors
from reconciler.validation import (
    allow_replacement,
    auth_token,
    cache_engine,
    cfn_lint,
    depends_on,
    dynamic_references,
    engine_versions,
    iam_permissions,
    parameter_sizes,
    parameter_values,
    parameters,
    pci_backups,
    pci_kms_rotation,
    pci_log_retention,
    pci_multi_az,
    pci_open_ingress,
    pci_plaintext_secrets,
    pci_public_access,
    pci_retention_policies,
    pci_secret_rotation,
    pci_storage_encryption,
    pci_transit_encryption,
    ssm_paths,
    stack_names,
    stack_tags,
    template_path,
    template_size,
)
from reconciler.validation.context import Context, ExecutionRole, NoRole, VersionCatalog
from reconciler.validation.offline_catalog import OfflineCatalog
from reconciler.validation.rule import Rule

RULES: tuple[Rule, ...] = (
    stack_names.RULE,
    template_path.RULE,
    template_size.RULE,
    stack_tags.RULE,
    ssm_paths.RULE,
    parameter_sizes.RULE,
    parameters.RULE,
    depends_on.RULE,
    allow_replacement.RULE,
    cfn_lint.RULE,
    engine_versions.RULE,
    cache_engine.RULE,
    auth_token.RULE,
    dynamic_references.RULE,
    parameter_values.RULE,
    pci_storage_encryption.RULE,
    pci_transit_encryption.RULE,
    pci_multi_az.RULE,
    pci_backups.RULE,
    pci_public_access.RULE,
    pci_retention_policies.RULE,
    pci_log_retention.RULE,
    pci_kms_rotation.RULE,
    pci_secret_rotation.RULE,
    pci_open_ingress.RULE,
    pci_plaintext_secrets.RULE,
    iam_permissions.RULE,
)


@dataclass(frozen=True)
class Suppressed:
    finding: Finding
    stack_file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.finding} (suppressed by {self.stack_file}: {self.reason})"


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    suppressed: tuple[Suppressed, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def has_errors(self) -> bool:
        return has_errors(list(self.findings))

    def to_dict(self) -> dict:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "suppressed": [
                {**s.finding.to_dict(), "stack_file": s.stack_file, "reason": s.reason}
                for s in self.suppressed
            ],
            "notes": list(self.notes),
        }


def validate(
    state: DesiredState,
    catalog: VersionCatalog | None = None,
    today: date | None = None,
    role: ExecutionRole | None = None,
    secrets_at: Callable[[Any], Callable[[str, str], bool | None]] | None = None,
) -> Report:
    """Every finding: those from loading the files, then each rule's, sorted by place.
    Without a catalog, engine versions are checked against cfn-lint's shipped data;
    without a readable execution role, IAM001 is skipped (and a note says so)."""
    catalog = catalog or OfflineCatalog()
    role = role or NoRole("no execution role given")
    ctx = Context(state, catalog, today or date.today(), role=role, secrets_at=secrets_at)
    found = list(state.findings)
    for rule in RULES:
        found.extend(rule.check(ctx))
    kept, suppressed = _apply_suppressions(state, found)
    notes = (f"engine versions checked against {catalog.source}", _role_note(role))
    return Report(tuple(sorted(set(kept))), tuple(sorted(set(suppressed), key=str)), notes)


def _role_note(role: ExecutionRole) -> str:
    if role.permissions() is None:
        return f"IAM001 (execution role permissions) not checked: {role.unreadable}"
    return f"resource types checked against the policies of the execution role {role.arn}"


def _apply_suppressions(
    state: DesiredState, findings: list[Finding]
) -> tuple[list[Finding], list[Suppressed]]:
    by_stack = {s.stack_name: s for s in state.stacks}
    by_file = {s.path: s for s in state.stacks}
    kept, suppressed = [], []
    for finding in findings:
        spec = by_stack.get(finding.stack) or by_file.get(finding.path)
        reason = spec.suppress.get(finding.rule) if spec else None
        if reason:
            suppressed.append(Suppressed(finding, spec.path, reason))
        else:
            kept.append(finding)
    return kept, suppressed
