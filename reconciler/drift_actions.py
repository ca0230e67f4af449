"""Drift, acted on: start detections on a schedule (a few at a time), and when one
completes, record what it found and repair, notify or record by the stack file's mode.
Nothing here waits: the drift detection event brings the result."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler import change_control, guard, guardrails
from reconciler.audit import AuditRecord, Event, of_stack
from reconciler.desired import StackSpec
from reconciler.diff import merge_change_set
from reconciler.drift import DriftAction, DriftReport, decide, report, summary
from reconciler.errors import PermanentAwsError
from reconciler.notify import Kind, Notification
from reconciler.reconcile import LEASE_SECONDS, REVERT_PREFIX, Services
from reconciler.status import HELD, Phase, StackStatus, Sync, now, precise_now

log = logging.getLogger(__name__)

DETECTING = "DETECTING"
STALE_DETECTION = timedelta(hours=1)


@dataclass(frozen=True)
class DriftOutcome:
    stack_name: str
    action: DriftAction
    message: str
    change_set: str = ""

    def to_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items()}


def start_detections(services: Services, limit: int) -> list[tuple[str, str]]:
    """Start DetectStackDrift on managed stacks not mid-operation, at most `limit` in
    flight at once (detections already running count). Returns (stack, detection id)."""
    records = services.status.all()
    # A detection whose event never came stops counting after an hour.
    cutoff = (datetime.now(UTC) - STALE_DETECTION).strftime("%Y-%m-%dT%H:%M:%SZ")
    running = {
        r.stack_name for r in records if r.drift_status == DETECTING and r.updated_at > cutoff
    }
    started = []
    for record in sorted(records, key=lambda r: r.drift_checked_at):  # the oldest check first
        if len(started) + len(running) >= limit:
            break
        if record.stack_name in running or record.phase is Phase.APPLYING or not record.region:
            continue
        try:
            cfn = services.at(record, record.applied_revision).cfn  # in the stack's account
            stack = cfn.describe_stack(record.stack_name, record.region)
            if stack is None or stack.in_progress:
                continue
            started_at = precise_now()
            detection = cfn.detect_drift(record.stack_name, record.region)
        except PermanentAwsError as err:  # that account's role cannot be assumed, say,
            # or it refuses the detection: the other stacks' detections still start
            log.warning("%s: drift detection not started: %s", record.stack_name, err)
            continue
        services.status.put(
            record.but(
                drift_status=DETECTING,
                drift_detection_id=detection,
                drift_started_at=started_at,
            )
        )
        started.append((record.stack_name, detection))
    return started


def read_drift(spec: StackSpec, services: Services) -> DriftReport:
    drifts = services.cfn.resource_drifts(spec.stack_name, spec.region)
    return report(spec.stack_name, drifts, spec.drift_ignore)


def pci_violations(spec: StackSpec, services: Services) -> list[guardrails.Violation]:
    """PCI controls read from the live resources: what drift detection cannot see (a
    property the template leaves to its default, a rule added beside the template's).
    Only for stacks whose stack file tags them `compliance: pci-dss`."""
    if services.settings is None or spec.tags.get("compliance") != "pci-dss":
        return []  # guardrails are for the stacks that declare themselves PCI
    return guardrails.check(services.settings.read(spec.stack_name, spec.region))


def on_detection(
    spec: StackSpec, desired_changed: bool, services: Services, owner: str
) -> DriftOutcome:
    """A detection completed: read the drifts, record them, and act by the drift mode."""
    recorded = services.status.get(spec.stack_name)
    services = services.at(spec, recorded.applied_revision if recorded else "")
    found = read_drift(spec, services)
    action = decide(spec.drift, found, desired_changed)
    violations = pci_violations(spec, services)
    pci = f"; PCI: {'; '.join(map(str, violations))}" if violations else ""
    current = services.status.get(spec.stack_name) or StackStatus(spec.stack_name, spec.region)
    message = f"drift: {summary(found)}{pci}"
    # The same drift is said once: a note added to its message since (why it was not
    # repaired) does not make it new, and stays.
    same = current.message.startswith(message)
    recorded = current.but(
        drift_status="IN_SYNC" if found.in_sync else "DRIFTED",
        drift_checked_at=now(),
        drift_not_checked=",".join(d.logical_id for d in found.not_checked),
        message=current.message if same else message,
        sync=current.sync if found.in_sync else Sync.OUT_OF_SYNC,
    )
    said = not found.in_sync and not same
    if said:
        detail = {
            "mode": spec.drift.value,
            "drifted": [
                {"logical_id": d.logical_id, "type": d.resource_type, "status": d.status.value}
                for d in found.drifted
            ],
            "violations": [str(v) for v in violations],
        }
        services.audit.append(
            [_record(Event.DRIFT_DETECTED, recorded, recorded.message, services, **detail)]
        )
    services.status.put(recorded)  # after the trail: a retried event appends again
    if said:
        services.notifier.send(
            [Notification(Kind.DRIFT_DETECTED, spec.stack_name, spec.region, recorded.message)]
        )
    if action is DriftAction.REPAIR:
        return repair(spec, found, services, owner, violations)
    return DriftOutcome(spec.stack_name, action, recorded.message)


def _record(
    event: Event,
    status: StackStatus,
    message: str,
    services: Services,
    change_set: str = "",
    **detail,
) -> AuditRecord:
    """A drift record: at the stack's applied commit, the state the repair returns to."""
    return of_stack(
        status, event, message, actor=services.actor, account=services.account,
        commit=status.applied_revision, change_set=change_set, **detail,
    )  # fmt: skip


def repair(
    spec: StackSpec,
    found: DriftReport,
    services: Services,
    owner: str,
    violations: list[guardrails.Violation] | None = None,
) -> DriftOutcome:
    """A REVERT_DRIFT change set over the deployed template and parameters, through the
    same data-loss guard as any change, then executed: unless the stack is suspended,
    or outside its change windows (where only a PCI guardrail violation is repaired,
    and only with `repair-outside-window: guardrails`)."""
    name, region = spec.stack_name, spec.region
    current = services.status.get(name) or StackStatus(name, region)
    if violations is None:
        violations = pci_violations(spec, services)
    violated = any(v.severity == "error" for v in violations)
    allowed = change_control.repair_allowed(spec, current, violated)
    if not allowed.go:
        if allowed.message not in current.message:  # once per reason
            services.audit.append(
                [_record(Event.DRIFT_NOT_REPAIRED, current, allowed.message, services)]
            )
            noted = f"{current.message}; {allowed.message}" if current.message else allowed.message
            services.status.put(current.but(message=noted))
        return DriftOutcome(name, DriftAction.REPAIR, allowed.message)
    if not services.status.acquire(name, owner, LEASE_SECONDS):
        return DriftOutcome(
            name, DriftAction.REPAIR, "another operation holds the lease; retried later"
        )
    try:
        stack = services.cfn.describe_stack(name, region)
        change_set = services.cfn.create_change_set(
            name=REVERT_PREFIX + now().replace(":", "").replace("-", ""),
            stack_name=name,
            region=region,
            template_body=services.cfn.template_body(stack),
            parameters=stack.parameters,
            tags=stack.tags,
            create=False,
            wait_seconds=services.change_set_wait_seconds,
            revert_drift=True,
        )
        current = services.status.get(name) or StackStatus(name, region)
        if change_set.empty or not change_set.ready:
            if change_set.ready is False and not change_set.empty:
                services.cfn.delete_change_set(change_set)
            message = f"drift not reverted: {change_set.reason or 'nothing to revert'}"
            services.status.put(current.but(message=message))
            return DriftOutcome(name, DriftAction.REPAIR, message, change_set.name)
        changes = merge_change_set([], list(change_set.changes))
        refused = guard.check(changes, spec.allow_replacement, spec.path)
        if refused:
            services.cfn.delete_change_set(change_set)
            message = "drift repair blocked: " + "; ".join(v.message for v in refused)
            services.audit.append(
                [_record(Event.DRIFT_NOT_REPAIRED, current, message, services, change_set.name)]
            )
            services.status.put(
                current.but(sync=Sync.BLOCKED, phase=Phase.BLOCKED, message=message)
            )
            return DriftOutcome(name, DriftAction.REPAIR, message, change_set.name)
        message = f"reverting {summary(found)} (change set {change_set.name})"
        if allowed.message:
            message += f"; {allowed.message}"
        services.audit.append(
            [
                _record(
                    Event.DRIFT_REPAIR_STARTED,
                    current,
                    message,
                    services,
                    change_set.name,
                    outside_window=bool(allowed.message),
                    violations=[str(v) for v in violations],
                    changes=[c.to_dict() for c in changes],
                    verdict="allowed",
                )
            ]
        )  # on the trail before it runs: an execution cannot be taken back
        services.cfn.execute_change_set(change_set, token=change_set.name)
        if current.phase in HELD:
            # The held change set is overtaken by the repair; once the repair ends, the
            # stack status event reconciles again, which holds (or runs) the change anew.
            services.status.defer(name, current.attempted_revision)
        services.status.put(
            current.but(
                phase=Phase.APPLYING,
                change_set=change_set.name,
                operation_token=change_set.name,
                message=message,
            )
        )
        return DriftOutcome(name, DriftAction.REPAIR, message, change_set.name)
    finally:
        services.status.release(name, owner)
