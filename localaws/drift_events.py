"""Stand-in for the "CloudFormation Drift Detection Status Change" events that AWS puts on the
default EventBridge bus, and a way to read them without a bus.

AWS behaviour: when a drift detection started by DetectStackDrift ends, EventBridge receives
an event with source `aws.cloudformation` and detail type "CloudFormation Drift Detection
Status Change", whose detail holds the stack id, the detection id, the stack's drift status
with the detection status, and the number of drifted resources. CloudFormation never starts
a detection itself, and DetectStackResourceDrift (one resource) sends no event.

moto 5.2.5 has no drift detection and sends no events. `localaws.drift` detects drift inside
the local AWS; when a stack detection completes it puts this event on the default bus of
moto's EventBridge (so a rule can route it, to SQS for instance) and records it here.

Reading them without a bus: `DriftEvents().poll()` returns the events of the detections that
completed since the previous poll (the first poll: since the poller was made), oldest first,
each once per poller, with the EventBridge event id the bus gave them. The record lives in
the process that runs the local AWS: `LocalAws` (the demo, the tests) runs it in-process;
for `python -m localaws serve` in another process, route the events from the bus instead.
The record is not cleared by a reset of the local AWS; a poller made after the reset only
sees what happens after it.

This module does not import moto, so a client-side caller pays nothing for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from localaws.sent_events import Poller, Sent, iso8601

DETAIL_TYPE = "CloudFormation Drift Detection Status Change"
SOURCE = "aws.cloudformation"

_sent = Sent()  # every event sent, oldest first


def drift_detection_status_change(
    *,
    stack_id: str,
    detection_id: str,
    stack_drift_status: str,
    detection_status: str,
    drifted_resource_count: int,
    time: datetime,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The EventBridge event AWS sends when a stack drift detection ends."""
    # arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>
    _, _, _, region, account, _ = stack_id.split(":", 5)
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": iso8601(time),
        "region": region,
        "resources": [stack_id],
        "detail": {
            "stack-id": stack_id,
            "stack-drift-detection-id": detection_id,
            "status-details": {
                "stack-drift-status": stack_drift_status,
                "detection-status": detection_status,
            },
            "drift-detection-details": {"drifted-stack-resource-count": drifted_resource_count},
        },
    }


def record(event: dict[str, Any]) -> None:
    """Keep an event that was sent, for the pollers (called by `localaws.drift`)."""
    _sent.record(event)


class DriftEvents(Poller):
    """The drift detection events the local AWS sent since the previous poll."""

    def __init__(self) -> None:
        super().__init__(_sent)
