"""Notification adapters: EventBridge (PutEvents on a bus) and SNS (Publish to a topic).

Configured by the environment: NOTIFY_EVENT_BUS (a bus name or ARN) and NOTIFY_TOPIC_ARN;
either, both or neither. A notification that cannot be sent is logged and dropped: the
outcome is already in the status table, and failing the pass over it would retry the
reconcile itself.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.aws import session
from reconciler.errors import AwsError
from reconciler.notify import SOURCE, Collected, Fanout, Notification, Notifier

log = logging.getLogger(__name__)
PUT_EVENTS_BATCH = 10  # PutEvents takes at most 10 entries per call
SUBJECT_LIMIT = 99  # SNS subjects must be shorter than 100 characters


def _region_of(arn: str) -> str | None:
    """The region an ARN names; None for a plain name (the default region is used)."""
    parts = arn.split(":")
    if not arn.startswith("arn:") or len(parts) < 6:
        return None
    return parts[3] or None


def _named(notifications: Sequence[Notification]) -> str:
    return ", ".join(f"{n.kind} {n.stack_name}" for n in notifications)


class EventBridgeNotifier:
    """One event per notification: source gitops.reconciler, detail-type the kind."""

    def __init__(self, bus: str, region: str | None = None, client: Any = None) -> None:
        self.bus = bus
        self._client = client or session.client("events", region or _region_of(bus))

    def send(self, notifications: Sequence[Notification]) -> None:
        for start in range(0, len(notifications), PUT_EVENTS_BATCH):
            self._put(notifications[start : start + PUT_EVENTS_BATCH])

    def _put(self, batch: Sequence[Notification]) -> None:
        entries = [
            {
                "Source": SOURCE,
                "DetailType": str(n.kind),
                "Detail": json.dumps(n.detail()),
                "EventBusName": self.bus,
            }
            for n in batch
        ]
        try:
            with session.aws_errors():
                response = self._client.put_events(Entries=entries)
        except AwsError as err:
            log.error("notifications dropped (%s), bus %s: %s", _named(batch), self.bus, err)
            return
        if response.get("FailedEntryCount"):
            # Result entries are in request order; a refused one carries ErrorCode.
            refused = [
                f"{n.kind} {n.stack_name}: {r.get('ErrorCode')}: {r.get('ErrorMessage', '')}"
                for n, r in zip(batch, response.get("Entries", []), strict=False)
                if r.get("ErrorCode")
            ]
            log.error("bus %s refused notifications: %s", self.bus, "; ".join(refused))


class SnsNotifier:
    """One message per notification, JSON body, with `kind` and `stack` attributes so a
    subscription can filter on them."""

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self._client = client or session.client("sns", _region_of(topic_arn))

    def send(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            try:
                with session.aws_errors():
                    self._client.publish(
                        TopicArn=self.topic_arn,
                        Subject=f"{n.kind}: {n.stack_name}"[:SUBJECT_LIMIT],
                        Message=json.dumps(n.detail(), indent=2),
                        MessageAttributes={
                            "kind": {"DataType": "String", "StringValue": str(n.kind)},
                            "stack": {"DataType": "String", "StringValue": n.stack_name},
                        },
                    )
            except AwsError as err:
                log.error(
                    "notification dropped (%s), topic %s: %s", _named([n]), self.topic_arn, err
                )


def notifier_from_env(env: Mapping[str, str] = os.environ) -> Notifier:
    """Every configured channel; with none configured, notifications are only kept in
    memory (the status table and the logs still say everything)."""
    notifiers: list[Notifier] = []
    if env.get("NOTIFY_EVENT_BUS"):
        notifiers.append(EventBridgeNotifier(env["NOTIFY_EVENT_BUS"]))
    if env.get("NOTIFY_TOPIC_ARN"):
        notifiers.append(SnsNotifier(env["NOTIFY_TOPIC_ARN"]))
    return Fanout(*notifiers) if notifiers else Collected()
