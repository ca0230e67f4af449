"""The data-loss guard: a change that would replace or remove a stateful resource is
refused unless the stack file names that logical id in allow-replacement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.diff import ChangeAction, Replacement, ResourceChange
from reconciler.schemas import is_stateful


@dataclass(frozen=True)
class Violation:
    logical_id: str
    resource_type: str
    message: str


def check(
    changes: Iterable[ResourceChange], allow_replacement: Iterable[str], stack_file: str
) -> list[Violation]:
    allowed = set(allow_replacement)
    violations = []
    for change in changes:
        if change.logical_id in allowed or not is_stateful(change.resource_type):
            continue
        what = f"{change.logical_id} ({change.resource_type})"
        if change.action is ChangeAction.REMOVE:
            reason = f"{what} would be deleted: it is no longer in the template"
        elif change.replaces:
            verb = (
                "would be replaced" if change.replacement is Replacement.TRUE else "may be replaced"
            )
            because = "; ".join(change.causes) or "CloudFormation reports a replacement"
            reason = f"{what} {verb}: {because}"
        else:
            continue
        hint = f"list {change.logical_id!r} under allow-replacement in {stack_file} to allow it"
        violations.append(Violation(change.logical_id, change.resource_type, f"{reason} ({hint})"))
    return violations
