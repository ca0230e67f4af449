"""Stand-in for the "CloudFormation Stack Status Change" events that AWS puts on the default
EventBridge bus.

AWS behaviour: every time a stack's status changes (CREATE_IN_PROGRESS, CREATE_COMPLETE,
UPDATE_IN_PROGRESS, ...), EventBridge receives an event with source `aws.cloudformation`
whose detail holds the stack id, the new status with its reason, and the client request
token of the operation. The reconciler's `handlers/stack_status.py` resumes its work from
those events instead of waiting on the stack.

moto records the stack-level events (`DescribeStackEvents`) but sends nothing to
EventBridge. `StackStatusEvents.poll()` turns the stack events that appeared since the last
poll into the EventBridge events AWS would have sent, oldest first, each exactly once per
poller. Event ids are derived from CloudFormation's event ids, so a second poller (or a
retry) yields the same ids and a handler can drop duplicates as it would in AWS.

Stacks are found with DescribeStacks; a stack deleted since the previous poll is still
followed by its id until its DELETE_COMPLETE is out. A stack created and deleted between
two polls is not seen: DescribeStacks never lists it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

DETAIL_TYPE = "CloudFormation Stack Status Change"
SOURCE = "aws.cloudformation"
_STACK_TYPE = "AWS::CloudFormation::Stack"
_PUT_EVENTS_BATCH = 10  # PutEvents accepts at most 10 entries per call
# Stable ids: the same CloudFormation event always becomes the same EventBridge id.
_ID_NAMESPACE = uuid.UUID("6f1c6c57-3f3e-4f0b-9a3c-6a8f1d0c2b7e")


class StackStatusEvents:
    """Polls CloudFormation and returns the stack status events not returned before."""

    def __init__(self, cloudformation_client: Any) -> None:
        self._cloudformation = cloudformation_client
        self._emitted: dict[str, set[str]] = {}  # stack id -> CloudFormation event ids

    def poll(self) -> list[dict[str, Any]]:
        """EventBridge events for the stack status changes since the previous poll, oldest
        first; [] when nothing changed."""
        listed = self._listed_stack_ids()
        # Deleted stacks drop out of DescribeStacks; keep following the ones already known.
        followed = listed + [stack_id for stack_id in self._emitted if stack_id not in listed]
        new: list[dict[str, Any]] = []
        for stack_id in followed:
            stack_events = self._unseen_stack_events(stack_id)
            self._emitted.setdefault(stack_id, set()).update(e["EventId"] for e in stack_events)
            new.extend(stack_events)
            if stack_id not in listed and _deleted(stack_events):
                del self._emitted[stack_id]  # gone for good; nothing more will happen to it
        # Stable sort: events of one stack keep their order when timestamps tie.
        new.sort(key=lambda e: e["Timestamp"])
        return [stack_status_change(stack_event) for stack_event in new]

    def _listed_stack_ids(self) -> list[str]:
        pages = self._cloudformation.get_paginator("describe_stacks").paginate()
        return [stack["StackId"] for page in pages for stack in page["Stacks"]]

    def _unseen_stack_events(self, stack_id: str) -> list[dict[str, Any]]:
        """The stack's own status events not emitted yet, oldest first."""
        emitted = self._emitted.get(stack_id, set())
        unseen: list[dict[str, Any]] = []
        try:
            for stack_event in self._newest_first(stack_id):
                if stack_event["EventId"] in emitted:
                    break  # everything older was emitted by an earlier poll
                if _is_stack_status(stack_event):
                    unseen.append(stack_event)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ValidationError":
                raise
            # The stack no longer exists at all (e.g. the local AWS was reset).
            self._emitted.pop(stack_id, None)
            return []
        unseen.reverse()
        return unseen

    def _newest_first(self, stack_id: str) -> Iterator[dict[str, Any]]:
        pages = self._cloudformation.get_paginator("describe_stack_events").paginate(
            StackName=stack_id
        )
        for page in pages:
            yield from page["StackEvents"]


def stack_status_change(stack_event: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge event AWS sends for one stack-level CloudFormation stack event."""
    stack_id = stack_event["StackId"]
    # arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>
    _, _, _, region, account, _ = stack_id.split(":", 5)
    return {
        "version": "0",
        "id": str(uuid.uuid5(_ID_NAMESPACE, stack_event["EventId"])),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": _iso8601(stack_event["Timestamp"]),
        "region": region,
        "resources": [stack_id],
        "detail": {
            "stack-id": stack_id,
            "status-details": {
                "status": stack_event["ResourceStatus"],
                "status-reason": stack_event.get("ResourceStatusReason") or "",
            },
            "client-request-token": stack_event.get("ClientRequestToken") or "",
        },
    }


def put_on_bus(
    events_client: Any, events: Iterable[dict[str, Any]], event_bus_name: str = "default"
) -> None:
    """Deliver events to an EventBridge bus, so rules and targets see them as in AWS.

    Only for a local AWS: real EventBridge refuses `aws.*` sources from PutEvents.
    """
    entries = [
        {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"],
            "Time": datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            "EventBusName": event_bus_name,
        }
        for event in events
    ]
    for start in range(0, len(entries), _PUT_EVENTS_BATCH):
        response = events_client.put_events(Entries=entries[start : start + _PUT_EVENTS_BATCH])
        if response.get("FailedEntryCount"):
            failed = [e for e in response["Entries"] if e.get("ErrorCode")]
            raise RuntimeError(f"PutEvents rejected {len(failed)} event(s): {failed}")


def _is_stack_status(stack_event: dict[str, Any]) -> bool:
    # Nested stacks appear as resources of type Stack too; only the stack's own events count.
    return (
        stack_event.get("ResourceType") == _STACK_TYPE
        and stack_event.get("PhysicalResourceId") == stack_event["StackId"]
    )


def _deleted(stack_events: list[dict[str, Any]]) -> bool:
    return any(e["ResourceStatus"] == "DELETE_COMPLETE" for e in stack_events)


def _iso8601(timestamp: datetime) -> str:
    return timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
