"""Notifications: one value per outcome a human may want to hear about, sent to
whatever the installation configured (an EventBridge bus, an SNS topic, metrics).

Each notification is sent once per change of a stack's recorded status: a repeated
event that records nothing new notifies nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol

SOURCE = "gitops.reconciler"  # the EventBridge `source` of every notification


class Kind(StrEnum):
    """Also the EventBridge `detail-type`."""

    SUCCEEDED = "Reconcile Succeeded"
    FAILED = "Reconcile Failed"
    BLOCKED = "Reconcile Blocked"
    DRIFT_DETECTED = "Drift Detected"
    DRIFT_REPAIRED = "Drift Repaired"
    OUTPUTS_DRIFT_REPAIRED = "Outputs Drift Repaired"  # SSM parameters put back by the schedule
    APPROVAL_REQUIRED = "Approval Required"  # a guarded change set held, with its plan
    CHANGE_REJECTED = "Change Rejected"
    REFACTORED = "Stack Refactored"  # resources renamed or moved, none replaced


@dataclass(frozen=True)
class Notification:
    kind: Kind
    stack_name: str
    region: str
    message: str
    revision: str = ""
    change_set: str = ""
    duration_seconds: float | None = None  # of the stack operation, when known

    def detail(self) -> dict[str, Any]:
        """The EventBridge detail / SNS message body (snake_case, no empty fields)."""
        body = asdict(self)
        body["kind"] = str(self.kind)
        return {k: v for k, v in body.items() if v not in ("", None)}


class Notifier(Protocol):
    def send(self, notifications: Sequence[Notification]) -> None: ...


class Collected:
    """Keeps what was sent: the default (nothing configured) and the tests' notifier."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notifications: Sequence[Notification]) -> None:
        self.sent.extend(notifications)


class Fanout:
    """Sends to several notifiers, in order."""

    def __init__(self, *notifiers: Notifier) -> None:
        self.notifiers = notifiers

    def send(self, notifications: Sequence[Notification]) -> None:
        if notifications:
            for notifier in self.notifiers:
                notifier.send(notifications)
