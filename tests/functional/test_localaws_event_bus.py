"""`Ref` of an event bus a template creates gives the bus's name (`localaws.cfn_event_bus`),
through a real local AWS server."""

from __future__ import annotations

import json
import uuid

from tests.functional.localaws_helpers import LAMBDA_ROLE, StackUnderTest, lambda_function


def test_ref_of_an_event_bus_is_its_name(local_aws_client):
    """GIVEN a named event bus WHEN the stack outputs its Ref THEN the output is the name, and
    DescribeStackResources shows the name as the physical id"""
    name = f"notifications-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "bus")
    stack.create(
        json.dumps(
            {
                "Resources": {
                    "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": name}}
                },
                "Outputs": {"Bus": {"Value": {"Ref": "Bus"}}},
            }
        )
    )

    assert stack.outputs() == {"Bus": name}
    assert stack.physical_ids() == {"Bus": name}


def test_a_function_environment_can_name_the_bus_by_ref(local_aws_client):
    """GIVEN a function whose environment holds `Ref` of the bus WHEN the stack is created
    THEN GetFunctionConfiguration answers, with the bus's name in the variable"""
    name = f"notifications-{uuid.uuid4().hex[:8]}"
    function_name = f"notify-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "bus")
    stack.create(
        json.dumps(
            {
                "Resources": {
                    "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": name}},
                    "Role": LAMBDA_ROLE,
                    "Function": lambda_function(
                        FunctionName=function_name,
                        Environment={"Variables": {"NOTIFY_EVENT_BUS": {"Ref": "Bus"}}},
                    ),
                }
            }
        )
    )

    config = local_aws_client("lambda").get_function_configuration(FunctionName=function_name)
    assert config["Environment"]["Variables"] == {"NOTIFY_EVENT_BUS": name}
