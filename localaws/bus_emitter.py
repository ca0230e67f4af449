"""The local AWS's CloudFormation, sending its stack status events to EventBridge.

AWS behaviour: every stack status change goes, as a "CloudFormation Stack Status Change"
event, to the default bus of the stack's region, where rules route it.

moto sends none. `StackEventEmitter.emit()` reads the stack status changes of one region
since its previous call (`localaws.stack_events`) and puts them on that region's default
bus, so moto's rules see them and deliver them to their targets. It runs on the client
side of the local AWS, when its owner (the event router) calls it: events come out when
asked for, not at the moment the status changes, and each once.

Made after some stacks already exist, it leaves their past events out: a rule created now
would not have seen them either.
"""

from __future__ import annotations

from typing import Any

from localaws.stack_events import StackStatusEvents, put_on_bus

# Statuses in which a stack changes on its own. REVIEW_IN_PROGRESS is left out: a stack
# made for a change set that is never executed keeps it for ever.
_SETTLING = "_IN_PROGRESS"
_WAITING_FOR_A_CLIENT = "REVIEW_IN_PROGRESS"


class StackEventEmitter:
    """Puts one region's new stack status events on the region's default bus."""

    def __init__(self, cloudformation_client: Any, events_client: Any) -> None:
        self._cloudformation = cloudformation_client
        self._events = events_client
        self._tap = StackStatusEvents(cloudformation_client)
        self._tap.poll()  # the past is not sent

    def emit(self) -> list[dict[str, Any]]:
        """Put the stack status events since the previous call on the bus; returns them (with
        the ids the stand-in gave them: the bus gives each event its own id)."""
        events = self._tap.poll()
        if events:
            put_on_bus(self._events, events)
        return events

    def stacks_in_progress(self) -> dict[str, str]:
        """Stack name -> status, for the stacks whose operation has not ended: each will
        send at least one more event."""
        pages = self._cloudformation.get_paginator("describe_stacks").paginate()
        return {
            stack["StackName"]: stack["StackStatus"]
            for page in pages
            for stack in page["Stacks"]
            if stack["StackStatus"].endswith(_SETTLING)
            and stack["StackStatus"] != _WAITING_FOR_A_CLIENT
        }
