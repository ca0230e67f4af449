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
_PUT_EVENTS_BATCH = 10  # PutEvents takes at most 10 entries per call


class EventBridgeNotifier:
    def __init__(self, bus: str, region: str | None = None, client: Any = None) -> None:
        self.bus = bus
        self._client = client or session.client("events", region)

    def send(self, notifications: Sequence[Notification]) -> None:
        entries = [
            {
                "Source": SOURCE,
                "DetailType": str(n.kind),
                "Detail": json.dumps(n.detail()),
                "EventBusName": self.bus,
                "Resources": [],
            }
            for n in notifications
        ]
        for start in range(0, len(entries), _PUT_EVENTS_BATCH):
            batch = entries[start : start + _PUT_EVENTS_BATCH]
            try:
                with session.aws_errors():
                    response = self._client.put_events(Entries=batch)
            except AwsError as err:
                log.error("notifications not sent to bus %s: %s", self.bus, err)
                continue
            if response.get("FailedEntryCount"):
                codes = sorted({e.get("ErrorCode", "") for e in response["Entries"]} - {""})
                log.error("bus %s refused notifications: %s", self.bus, ", ".join(codes))


class SnsNotifier:
    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else None
        self._client = client or session.client("sns", region)

    def send(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            subject = f"{n.kind}: {n.stack_name}"[:100]  # SNS subjects stop at 100 chars
            try:
                with session.aws_errors():
                    self._client.publish(
                        TopicArn=self.topic_arn,
                        Subject=subject,
                        Message=json.dumps(n.detail(), indent=2),
                        MessageAttributes={
                            "kind": {"DataType": "String", "StringValue": str(n.kind)},
                            "stack": {"DataType": "String", "StringValue": n.stack_name},
                        },
                    )
            except AwsError as err:
                log.error("notification not sent to %s: %s", self.topic_arn, err)


def notifier_from_env(env: Mapping[str, str] = os.environ) -> Notifier:
    """Every configured channel; with none configured, notifications are only kept in
    memory (the status table and the logs still say everything)."""
    notifiers: list[Notifier] = []
    if env.get("NOTIFY_EVENT_BUS"):
        notifiers.append(EventBridgeNotifier(env["NOTIFY_EVENT_BUS"]))
    if env.get("NOTIFY_TOPIC_ARN"):
        notifiers.append(SnsNotifier(env["NOTIFY_TOPIC_ARN"]))
    return Fanout(*notifiers) if notifiers else Collected()
