"""A resource whose Condition is false is not part of the stack (`localaws.cfn_conditions`),
through a real local AWS server."""

from __future__ import annotations

import json
import uuid

from tests.functional.localaws_helpers import StackUnderTest


def template(prefix: str) -> str:
    """An SSM parameter made only when Enabled is "yes", listed before one always made."""

    def parameter(name: str) -> dict:
        return {"Name": f"/{prefix}/{name}", "Type": "String", "Value": name}

    return json.dumps(
        {
            "Parameters": {"Enabled": {"Type": "String", "Default": "no"}},
            "Conditions": {"IsEnabled": {"Fn::Equals": [{"Ref": "Enabled"}, "yes"]}},
            "Resources": {
                "Optional": {
                    "Type": "AWS::SSM::Parameter",
                    "Condition": "IsEnabled",
                    "Properties": parameter("optional"),
                },
                "Always": {"Type": "AWS::SSM::Parameter", "Properties": parameter("always")},
            },
        }
    )


def test_a_resource_whose_condition_is_false_is_not_listed(local_aws_client):
    """GIVEN a template whose first resource's condition is false WHEN the stack is created
    THEN DescribeStackResources and ListStackResources list the other resource only"""
    stack = StackUnderTest(local_aws_client, "cond")
    stack.create(template(uuid.uuid4().hex))

    listed = stack.cloudformation.list_stack_resources(StackName=stack.name)
    assert list(stack.physical_ids()) == ["Always"]
    assert [r["LogicalResourceId"] for r in listed["StackResourceSummaries"]] == ["Always"]


def test_a_resource_listed_after_a_left_out_one_can_be_described(local_aws_client):
    """GIVEN a resource after one whose condition is false WHEN DescribeStackResource asks
    for it THEN it is described (moto answered HTTP 500)"""
    prefix = uuid.uuid4().hex
    stack = StackUnderTest(local_aws_client, "cond")
    stack.create(template(prefix))

    described = stack.cloudformation.describe_stack_resource(
        StackName=stack.name, LogicalResourceId="Always"
    )["StackResourceDetail"]
    assert described["PhysicalResourceId"] == f"/{prefix}/always"


def test_an_update_that_makes_the_condition_true_lists_the_resource(local_aws_client):
    """GIVEN the stack with the condition false WHEN it is updated with the condition true
    THEN both resources are listed"""
    body = template(uuid.uuid4().hex)
    stack = StackUnderTest(local_aws_client, "cond")
    stack.create(body)

    stack.update(body, {"Enabled": "yes"})

    assert sorted(stack.physical_ids()) == ["Always", "Optional"]


def test_an_update_leaves_a_left_out_resource_alone(local_aws_client):
    """GIVEN a left-out resource whose properties reference a parameter and get an
    attribute of another left-out resource WHEN an update changes that parameter THEN the
    update completes (moto evaluated the left-out resource and failed the update)"""
    prefix = uuid.uuid4().hex
    body = json.dumps(
        {
            "Parameters": {
                "Enabled": {"Type": "String", "Default": "no"},
                "Value": {"Type": "String", "Default": "one"},
            },
            "Conditions": {"IsEnabled": {"Fn::Equals": [{"Ref": "Enabled"}, "yes"]}},
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Condition": "IsEnabled"},
                "Optional": {
                    "Type": "AWS::SSM::Parameter",
                    "Condition": "IsEnabled",
                    "Properties": {
                        "Name": f"/{prefix}/optional",
                        "Type": "String",
                        "Value": {"Fn::GetAtt": ["Queue", "Arn"]},
                        "Description": {"Ref": "Value"},
                    },
                },
                "Always": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {
                        "Name": f"/{prefix}/always",
                        "Type": "String",
                        "Value": {"Ref": "Value"},
                    },
                },
            },
        }
    )
    stack = StackUnderTest(local_aws_client, "cond")
    stack.create(body)

    stack.update(body, {"Value": "two"})

    assert stack.status() == "UPDATE_COMPLETE"
    assert list(stack.physical_ids()) == ["Always"]
