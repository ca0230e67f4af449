"""Drift: what CloudFormation's drift detection found, after the stack file's
`drift-ignore` paths are left out, and what to do about it by the stack's `drift` mode.
Pure; the CloudFormation adapter fetches, the handlers and the CLI act."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from reconciler.desired import DriftMode

# Values of properties named like these are never shown (expected or actual).
SECRET_NAMES = re.compile(r"password|secret(?!Arn|Id)|token", re.IGNORECASE)
MASK = "****"


class ResourceDriftStatus(StrEnum):
    IN_SYNC = "IN_SYNC"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    NOT_CHECKED = "NOT_CHECKED"


@dataclass(frozen=True)
class PropertyDrift:
    path: str  # e.g. /BackupRetentionPeriod, /SecurityGroupIngress/1
    expected: str
    actual: str
    kind: str  # ADD, REMOVE, NOT_EQUAL


@dataclass(frozen=True)
class ResourceDrift:
    logical_id: str
    resource_type: str
    physical_id: str
    status: ResourceDriftStatus
    properties: tuple[PropertyDrift, ...] = ()


@dataclass(frozen=True)
class DriftReport:
    stack_name: str
    drifted: tuple[ResourceDrift, ...]
    not_checked: tuple[ResourceDrift, ...]
    ignored: tuple[str, ...]  # "LogicalId/path" left out by drift-ignore

    @property
    def in_sync(self) -> bool:
        return not self.drifted


def masked(drift: PropertyDrift) -> PropertyDrift:
    if SECRET_NAMES.search(drift.path):
        return replace(drift, expected=MASK, actual=MASK)
    return drift


def _ignored(path: str, patterns: Iterable[str]) -> bool:
    """A drift-ignore path covers itself and everything below it."""
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in patterns)


def report(
    stack_name: str, drifts: Iterable[ResourceDrift], ignore: Mapping[str, Iterable[str]]
) -> DriftReport:
    drifted, not_checked, ignored = [], [], []
    for drift in drifts:
        if drift.status is ResourceDriftStatus.NOT_CHECKED:
            not_checked.append(drift)
            continue
        if drift.status is ResourceDriftStatus.IN_SYNC:
            continue
        patterns = tuple(ignore.get(drift.logical_id, ()))
        kept = [masked(p) for p in drift.properties if not _ignored(p.path, patterns)]
        ignored += [
            f"{drift.logical_id}{p.path}" for p in drift.properties if _ignored(p.path, patterns)
        ]
        if drift.status is ResourceDriftStatus.DELETED or kept:
            drifted.append(replace(drift, properties=tuple(kept)))
    return DriftReport(stack_name, tuple(drifted), tuple(not_checked), tuple(ignored))


class DriftAction(StrEnum):
    NONE = "none"  # in sync (after ignores)
    REPAIR = "repair"  # REVERT_DRIFT change set
    UPDATE = "update"  # the desired state moved on: the normal update reverts drift too
    NOTIFY = "notify"  # detect mode: record and tell
    RECORD = "record"  # ignore mode


def decide(mode: DriftMode, found: DriftReport, desired_changed: bool) -> DriftAction:
    if found.in_sync:
        return DriftAction.NONE
    if mode is DriftMode.IGNORE:
        return DriftAction.RECORD
    if mode is DriftMode.DETECT:
        return DriftAction.NOTIFY
    return DriftAction.UPDATE if desired_changed else DriftAction.REPAIR


def summary(found: DriftReport) -> str:
    if found.in_sync:
        text = "in sync"
    else:
        parts = [
            f"{d.logical_id} {', '.join(p.path for p in d.properties) or d.status.value}"
            for d in found.drifted
        ]
        text = "drifted: " + "; ".join(parts)
    if found.not_checked:
        text += f" ({not_checked(found)})"
    return text


def not_checked(found: DriftReport, show: int = 3) -> str:
    """Short: the count and the first few; the full list is in the status and --json."""
    names = [d.logical_id for d in found.not_checked]
    more = f" +{len(names) - show} more" if len(names) > show else ""
    return f"{len(names)} resource(s) not checked: {', '.join(names[:show])}{more}"
