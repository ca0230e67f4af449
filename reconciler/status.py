"""Per-stack status, kept apart from health (as in Argo CD and Flux): sync says whether
the live stack matches git, health says whether it works, phase says what the
reconciler is doing with it now."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol


class Sync(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    BLOCKED = "Blocked"
    FAILED = "Failed"
    ORPHANED = "Orphaned"


class Health(StrEnum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    MISSING = "Missing"
    UNKNOWN = "Unknown"


class Phase(StrEnum):
    IDLE = "idle"
    APPLYING = "applying"  # change set executed, waiting for the stack status event
    WAITING = "waiting"  # deferred: busy stack or a dependency not ready yet
    BLOCKED = "blocked"
    FAILED = "failed"
    # Change control (docs/change-control.md): a guarded change set kept, not executed.
    AWAITING_APPROVAL = "awaiting approval"
    WAITING_FOR_WINDOW = "waiting for window"
    REJECTED = "rejected"  # its change set deleted; a new commit proposes again
    SUSPENDED = "suspended"  # no change and no repair; drift still detected


HELD = (Phase.AWAITING_APPROVAL, Phase.WAITING_FOR_WINDOW)  # a guarded change set kept


@dataclass(frozen=True)
class StackStatus:
    stack_name: str
    region: str = ""
    # Dependencies a WAITING stack waits for (comma-joined): their end releases it.
    waits_for: str = ""
    # The stack's account ("" for the reconciler's own) and the role assumed there.
    account: str = ""
    role_arn: str = ""
    outputs_path: str = ""
    # The managed stack's id (its ARN: partition, region, account, name, unique id), once
    # known: events for any other stack id change nothing. "" in records made before it.
    stack_id: str = ""
    sync: Sync = Sync.OUT_OF_SYNC
    health: Health = Health.UNKNOWN
    phase: Phase = Phase.IDLE
    desired_hash: str = ""
    attempted_revision: str = ""
    applied_revision: str = ""
    change_set: str = ""
    # ClientRequestToken of the last stack operation the reconciler started (a change
    # set's execute or tags update, a re-create's delete): its success event carries it.
    operation_token: str = ""
    message: str = ""
    drift_status: str = ""  # IN_SYNC, DRIFTED, DETECTING, or "" before any detection
    drift_detection_id: str = ""
    drift_checked_at: str = ""
    drift_not_checked: str = ""  # logical ids drift detection could not check, comma-joined
    # When the last detection was started (ISO 8601 UTC with microseconds): an API call
    # made before it is covered by it (reconciler.change_detection).
    drift_started_at: str = ""
    # outputs.outputs_digest of the outputs last published to SSM, written only once
    # every put and delete succeeded: Synced needs it to match the live stack's outputs.
    outputs_hash: str = ""
    updated_at: str = ""
    # Who authored `attempted_revision`, and its pull request (change control, audit).
    author: str = ""
    pull_request: str = ""
    # The names `reconciler approve` must refuse (CommitInfo.identities, comma-joined),
    # and the approval rules of the stack file at the held commit: `approve` judges by
    # the reviewed repository, not by the approver's own copy of it.
    author_identities: str = ""
    approvers: str = ""  # comma-joined; "" for anyone but the author
    approval_expires: str = ""  # seconds
    window_opens: str = ""  # when waiting for a change window: its next opening (UTC)
    suspended_file: str = ""  # the stack file that says `suspended: true`, while it does
    # Control attributes: written only by `approve`, `suspend` and `resume`, never by
    # `put`, so that a pass recording its status cannot undo a human's decision.
    approved_by: str = ""  # the approver's identity (an IAM ARN, or github:LOGIN)
    approved_at: str = ""
    approved_change_set: str = ""
    approved_revision: str = ""
    suspended_by: str = ""
    suspended_at: str = ""
    suspended_reason: str = ""
    # Set by `StatusStore.defer` (an event found the stack's lease taken), cleared by
    # `acquire`; never written by `put`, so a status write cannot lose a deferral.
    deferred_revision: str = ""
    # Set by `StatusStore.note_change` (the latest out-of-band API call seen on one of
    # the stack's resources, CloudTrail's eventTime); never written by `put`.
    changed_at: str = ""
    # The last stack refactor that renamed or moved this stack's resources: its id and
    # mapping ("<id>: A -> B (type, stack); ...").
    refactor: str = ""
    # A stack refactor started and not yet seen to end (JSON: id, mapping, moves): the
    # next pass on the stack asks CloudFormation how it ended and records that first.
    refactor_pending: str = ""

    def but(self, **changes) -> StackStatus:
        return replace(self, **changes, updated_at=now())


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def precise(at: datetime) -> str:
    """UTC with microseconds, as `drift_started_at` is written."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def precise_now() -> str:
    return precise(datetime.now(UTC))


class StatusStore(Protocol):
    """Where status and leases live (DynamoDB in production)."""

    description: str  # where status lives, said to the user: "DynamoDB table 'x' in us-east-1"

    def get(self, stack_name: str) -> StackStatus | None: ...

    def all(self) -> list[StackStatus]: ...

    def put(self, status: StackStatus) -> None: ...

    def acquire(self, stack_name: str, owner: str, seconds: int) -> bool:
        """Take the stack's lease unless another owner holds an unexpired one; taking it
        clears a deferral (the taker reconciles the head, which is at least as new)."""
        ...

    def release(self, stack_name: str, owner: str) -> bool:
        """Give the lease back; True when an event deferred work on the stack meanwhile."""
        ...

    def defer(self, stack_name: str, revision: str) -> None:
        """Say that an event at `revision` found the stack's lease taken, so that whoever
        holds it runs again when done."""
        ...

    def note_change(self, stack_name: str, at: str) -> None:
        """Say that an API call at `at` (YYYY-MM-DDTHH:MM:SSZ) changed one of the stack's
        resources; a later call already noted stays."""
        ...

    def claim_detection(self, stack_name: str, at: str, stale_before: str) -> bool:
        """Mark a drift detection started at `at` unless one started after `stale_before`
        is still running: one conditional write, so of two racing callers one wins."""
        ...

    def approve(
        self, stack_name: str, by: str, change_set: str, revision: str, at: str = ""
    ) -> bool:
        """Record an approval of `change_set` at `revision`, only while the stack still
        holds exactly that change set at that revision (awaiting approval, or waiting
        for its window after an approval that expired); whether it was recorded. `at`:
        when (ISO 8601 UTC; default now)."""
        ...

    def suspend(self, stack_name: str, by: str, reason: str) -> None: ...

    def resume(self, stack_name: str) -> None: ...


CONTROL_FIELDS = (
    "approved_by",
    "approved_at",
    "approved_change_set",
    "approved_revision",
    "suspended_by",
    "suspended_at",
    "suspended_reason",
)
