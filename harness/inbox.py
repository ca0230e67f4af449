"""What a subscriber to the reconciler's notifications receives, on the local AWS.

AWS behaviour: with NOTIFY_EVENT_BUS set, every notification is an event on that bus,
source `gitops.reconciler`, detail-type its kind ("Approval Required", "Reconcile
Succeeded", ...) (reconciler/aws/notifications.py). A team subscribes with a rule on the
bus and a target: a chat hook, a ticket system, a queue.

Here: `NotificationInbox` makes the bus, a rule matching the reconciler's source and an
SQS queue as its target, so moto's own matching decides what arrives; `receive()` drains
the queue. The demo reads the "Approval Required" notification, and its plan, from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.notify import SOURCE

RULE = "demo-notification-inbox"


@dataclass(frozen=True)
class Received:
    """One notification as the subscriber gets it: the event's detail-type and detail."""

    kind: str
    detail: dict[str, Any]

    @property
    def stack(self) -> str:
        return str(self.detail.get("stack_name", ""))

    @property
    def message(self) -> str:
        return str(self.detail.get("message", ""))


class NotificationInbox:
    """A queue subscribed, by a rule, to the reconciler's events on `bus`. `client(service)`
    gives a boto3 client for the local AWS in the bus's region."""

    def __init__(self, client: Callable[[str], Any], bus: str) -> None:
        self.bus = bus
        self._sqs = client("sqs")
        events = client("events")
        events.create_event_bus(Name=bus)
        self._queue_url = self._sqs.create_queue(QueueName=RULE)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        events.put_rule(Name=RULE, EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]}))
        events.put_targets(Rule=RULE, EventBusName=bus, Targets=[{"Id": "inbox", "Arn": queue_arn}])

    def receive(self) -> list[Received]:
        """Every notification that arrived since the last call, oldest first."""
        found: list[Received] = []
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                event = json.loads(message["Body"])
                found.append(Received(str(event.get("detail-type", "")), event.get("detail", {})))
                self._sqs.delete_message(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
