"""Stand-in for `Ref` of CloudFormation's `AWS::Events::EventBus`.

AWS behaviour: `Ref` of an event bus gives its name (the type's primary identifier), and
DescribeStackResources shows the name as the bus's physical id. infra/bootstrap.yml hands
`!Ref NotificationBus` to its functions as NOTIFY_EVENT_BUS.

moto 5.2.5 creates the bus but its model has no physical id: `Ref` gives moto's model object
itself, so an output shows "<moto.events.models.EventBus object at ...>", DescribeStackResources
shows no PhysicalResourceId, and a Lambda environment variable holding the `Ref` breaks
ListFunctions and GetFunctionConfiguration (HTTP 500: the object is not JSON serialisable).

`install()` gives moto's EventBus model the bus name as its physical id. GetAtt Arn, Name and
Policy already work; nothing else is changed.
"""

from __future__ import annotations

_INSTALLED_MARK = "_localaws_cfn_event_bus"


def install() -> None:
    """Make `Ref` of an event bus give its name. Safe to call again."""
    from moto.events.models import EventBus

    if EventBus.__dict__.get(_INSTALLED_MARK):
        return
    EventBus.physical_resource_id = property(lambda bus: bus.name)
    setattr(EventBus, _INSTALLED_MARK, True)
