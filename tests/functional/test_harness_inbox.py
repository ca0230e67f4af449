"""`harness.inbox.NotificationInbox` on a real local AWS server: a subscriber to the
reconciler's notification bus receives what `EventBridgeNotifier` sends, and only that."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from harness.inbox import NotificationInbox
from localaws.server import LocalAws
from reconciler.aws.notifications import EventBridgeNotifier
from reconciler.notify import Kind, Notification

BUS = "gitops-notifications"


def test_the_inbox_receives_the_reconcilers_notifications_in_order(
    fresh_local_aws: LocalAws, local_aws_client: Callable[[str], Any]
) -> None:
    """GIVEN an inbox subscribed to the bus WHEN the reconciler's EventBridge notifier
    sends an Approval Required and a Reconcile Succeeded THEN both are received, with
    their kind, stack and message (the plan's lines included)."""
    inbox = NotificationInbox(local_aws_client, BUS)
    notifier = EventBridgeNotifier(BUS, client=local_aws_client("events"))
    notifier.send(
        [
            Notification(Kind.APPROVAL_REQUIRED, "pci-db-prod", "us-east-1", "held\nplan: update"),
            Notification(Kind.SUCCEEDED, "pci-db-prod", "us-east-1", "UPDATE_COMPLETE"),
        ]
    )

    received = inbox.receive()

    assert [(n.kind, n.stack, n.message) for n in received] == [
        ("Approval Required", "pci-db-prod", "held\nplan: update"),
        ("Reconcile Succeeded", "pci-db-prod", "UPDATE_COMPLETE"),
    ]


def test_receiving_drains_the_inbox(
    fresh_local_aws: LocalAws, local_aws_client: Callable[[str], Any]
) -> None:
    """GIVEN a notification received once WHEN the inbox is read again THEN it is empty."""
    inbox = NotificationInbox(local_aws_client, BUS)
    EventBridgeNotifier(BUS, client=local_aws_client("events")).send(
        [Notification(Kind.BLOCKED, "pci-db-dev", "us-east-1", "blocked")]
    )
    assert len(inbox.receive()) == 1

    assert inbox.receive() == []


def test_events_of_another_source_on_the_bus_are_not_received(
    fresh_local_aws: LocalAws, local_aws_client: Callable[[str], Any]
) -> None:
    """GIVEN an inbox on the bus WHEN something other than the reconciler puts an event
    there THEN the inbox's rule does not match it."""
    inbox = NotificationInbox(local_aws_client, BUS)
    local_aws_client("events").put_events(
        Entries=[
            {
                "Source": "someone.else",
                "DetailType": "Approval Required",
                "Detail": json.dumps({"stack_name": "pci-db-prod"}),
                "EventBusName": BUS,
            }
        ]
    )

    assert inbox.receive() == []
