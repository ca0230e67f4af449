"""The audit trail: every decision the reconciler takes, appended and never updated
(PCI DSS v4.0 requirements 6.5 and 10). A record says what happened to which stack,
at which commit, by whose hand, and when. Records are values; where they are kept (an
append-only DynamoDB table, and S3 under Object Lock when configured) is
reconciler.aws.audit's business.

Secrets never enter a record: messages are the ones status and notifications already
carry (masked), and `detail` holds names, counts and verdicts, never parameter values.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol


class Event(StrEnum):
    RECEIVED = "event received"
    VALIDATED = "validated"
    PLANNED = "planned"
    HELD = "held for approval"
    APPROVED = "approved"
    APPROVAL_REFUSED = "approval refused"
    APPROVAL_INVALIDATED = "approval invalidated"
    SUPERSEDED = "superseded"  # a held change set deleted: a newer commit replaces it
    REJECTED = "rejected"
    WAITING_FOR_WINDOW = "waiting for window"
    BLOCKED = "blocked"
    EXECUTED = "executed"
    COMPLETED = "completed"
    FAILED = "failed"
    DRIFT_DETECTED = "drift detected"
    DRIFT_REPAIR_STARTED = "drift repair started"
    DRIFT_REPAIRED = "drift repaired"
    DRIFT_NOT_REPAIRED = "drift not repaired"
    OUTPUTS_PUBLISHED = "outputs published"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    REFACTORED = "refactored"  # resources renamed or moved by a stack refactor
    OUT_OF_BAND_CALL = "out-of-band call"  # CloudTrail: someone changed a managed resource


def timestamp() -> str:
    """UTC with microseconds: records of one pass sort in the order they were made."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditRecord:
    event: Event
    stack: str  # "" for a record about a whole pass (an event received)
    region: str = ""
    account: str = ""
    commit: str = ""
    author: str = ""  # the commit's author, as the source names them
    pull_request: str = ""  # its number, when the commit came through one
    change_set: str = ""
    actor: str = ""  # who acted: an IAM ARN, a Lambda function and request, cli:host
    time: str = ""
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable
    id: str = ""

    def stamped(self) -> AuditRecord:
        """With a time and a unique id, unless it has them already."""
        return replace(self, time=self.time or timestamp(), id=self.id or uuid.uuid4().hex)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["event"] = str(self.event)
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["event"] = Event(known["event"])
        known["detail"] = dict(known.get("detail") or {})
        return cls(**{k: v if k in ("event", "detail") else str(v) for k, v in known.items()})


def of_stack(
    status: Any,
    event: Event,
    message: str,
    *,
    actor: str = "",
    account: str = "",
    commit: str | None = None,
    change_set: str | None = None,
    **detail: Any,
) -> AuditRecord:
    """A record about the stack a status record describes (reconciler.status.StackStatus):
    its region, its account (from its stack id, else `account`), its attempted commit
    with that commit's author and pull request (another `commit`: no author), and its
    change set, unless given."""
    parts = status.stack_id.split(":")
    commit = status.attempted_revision if commit is None else commit
    attempted = commit == status.attempted_revision  # the author recorded is of that commit
    return AuditRecord(
        event,
        status.stack_name,
        region=status.region,
        account=parts[4] if len(parts) > 5 and parts[0] == "arn" else account,
        commit=commit,
        author=status.author if attempted else "",
        pull_request=status.pull_request if attempted else "",
        change_set=status.change_set if change_set is None else change_set,
        actor=actor,
        message=message,
        detail={k: v for k, v in detail.items() if v not in (None, "", [], {})},
    )


class AuditLog(Protocol):
    """Where the trail lives. `append` never updates or deletes a record."""

    description: str

    def append(self, records: Sequence[AuditRecord]) -> None: ...

    def read(self, stack: str | None = None, since: str = "", until: str = "") -> list[AuditRecord]:
        """Records, oldest first; `since`/`until` are ISO 8601 UTC bounds (inclusive,
        exclusive) compared with the records' times."""
        ...


class Kept:
    """The trail in memory: the default (nothing configured) and the tests' trail."""

    description = "in memory (not kept: set RECONCILER_AUDIT_TABLE)"

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def append(self, records: Sequence[AuditRecord]) -> None:
        """As the table: a record already there (the same stamped record appended again)
        is not put twice."""
        for record in (r.stamped() for r in records):
            if record not in self.records:
                self.records.append(record)

    def read(self, stack: str | None = None, since: str = "", until: str = "") -> list[AuditRecord]:
        return [
            r
            for r in sorted(self.records, key=lambda r: r.time)
            if (stack is None or r.stack == stack)
            and (not since or r.time >= since)
            and (not until or r.time < until)
        ]

    def events(self, stack: str | None = None) -> list[str]:
        return [str(r.event) for r in self.read(stack)]
