"""Outputs drift: a stack's SSM parameters changed or deleted behind the reconciler's
back. The schedule compares SSM with every managed stack's outputs and puts back what
differs, says so in the stack's status and notifies it once. Only output keys are ever
said: a value may be sensitive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.audit import Event, of_stack
from reconciler.desired import DesiredState
from reconciler.errors import (
    OutputsConflictError,
    OutputsNotPublishedError,
    OutputsRefusedError,
)
from reconciler.live import STABLE_OK, LiveStack
from reconciler.notify import Kind, Notification
from reconciler.outputs import OutputsDrift, outputs_digest, outputs_drift
from reconciler.reconcile import LEASE_SECONDS, Services, observe
from reconciler.status import Phase, StackStatus, Sync


@dataclass(frozen=True)
class OutputsRepair:
    stack_name: str
    region: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"stack_name": self.stack_name, "outputs": self.message}


def repair_outputs_drift(services: Services, owner: str) -> list[OutputsRepair]:
    """One Scan, one DescribeStacks per region, one GetParametersByPath per stack (per
    10 parameters): SSM is read once per stack, never once per output. Stacks whose
    record does not say their current outputs were published are left to the reconcile
    pass, which publishes them; so are stacks mid-operation, failed or orphaned."""
    records = [r for r in services.status.all() if _published(r)]
    live = observe(DesiredState(Path("."), (), {}, ()), services, records)
    repairs = []
    for record in records:
        stack = live.get((record.account, record.region, record.stack_name))
        if stack is None or not stack.managed or stack.status not in STABLE_OK:
            continue
        if record.outputs_hash != outputs_digest(record.outputs_path, stack.outputs):
            continue
        there = services.at(record, record.applied_revision)  # the stack's own account
        found = there.outputs_for(record.region).under(record.outputs_path)
        drift = outputs_drift(record.outputs_path, stack.outputs, found)
        if not drift.empty and (repair := _repair(record, stack, drift, there, owner)):
            repairs.append(repair)
    return repairs


def _published(record: StackStatus) -> bool:
    """The record says SSM holds the stack's outputs: Synced, idle, outputs published."""
    return (
        bool(record.region and record.outputs_path and record.outputs_hash)
        and record.sync is Sync.SYNCED
        and record.phase is Phase.IDLE
    )


def _repair(
    record: StackStatus, stack: LiveStack, drift: OutputsDrift, services: Services, owner: str
) -> OutputsRepair | None:
    """Put the stack's outputs back under its lease; None when another operation holds
    it (the next schedule looks again)."""
    name = record.stack_name
    if not services.status.acquire(name, owner, LEASE_SECONDS):
        return None
    try:
        current = services.status.get(name) or record
        try:
            services.outputs_for(record.region).publish(record.outputs_path, name, stack.outputs)
        except (OutputsConflictError, OutputsRefusedError) as err:
            # Recorded as the reconcile pass records it (so it notifies nothing again):
            # Failed until the parameter's name is given back.
            message = str(err)
            _record(current, services, Kind.FAILED, message, sync=Sync.FAILED, phase=Phase.FAILED)
            return OutputsRepair(name, record.region, message)
        except OutputsNotPublishedError as err:
            message = f"outputs drift ({drift}) not fully repaired: {err}"
            services.status.put(current.but(sync=Sync.OUT_OF_SYNC, message=message))
            raise
        message = (
            f"outputs drift repaired: {drift} behind the reconciler's back; "
            "put back from the stack's outputs"
        )
        _record(current, services, Kind.OUTPUTS_DRIFT_REPAIRED, message, sync=Sync.SYNCED)
        return OutputsRepair(name, record.region, message)
    finally:
        services.status.release(name, owner)


def _record(
    current: StackStatus, services: Services, kind: Kind, message: str, **changes: object
) -> None:
    """The trail first, then the status and the notice: a retry appends again rather
    than losing the record."""
    event = Event.OUTPUTS_PUBLISHED if kind is Kind.OUTPUTS_DRIFT_REPAIRED else Event.FAILED
    record = of_stack(
        current, event, message, actor=services.actor, account=services.account,
        commit=current.applied_revision, change_set="",
        path=current.outputs_path, outputs_drift=True,
    )  # fmt: skip
    services.audit.append([record])
    services.status.put(current.but(message=message, **changes))
    note = Notification(kind, current.stack_name, current.region, message, current.applied_revision)
    services.notifier.send([note])
