"""An UpdateStack that changes only the stack's tags, with the previous template and every
parameter's previous value, is an update of the stack and of no resource, as on AWS
(`localaws.cfn_tag_updates`), through a real local AWS server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

TEMPLATE = json.dumps(
    {
        "Parameters": {
            "Retention": {"Type": "Number", "Default": 7},  # left to its default
            "Env": {"Type": "String"},
        },
        "Resources": {
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {
                    "LogGroupName": {"Fn::Sub": "/tags/${AWS::StackName}/${Env}"},
                    "RetentionInDays": {"Ref": "Retention"},
                },
            },
            "Topic": {"Type": "AWS::SNS::Topic"},
        },
    }
)
PREVIOUS = [
    {"ParameterKey": "Retention", "UsePreviousValue": True},
    {"ParameterKey": "Env", "UsePreviousValue": True},
]


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> str:
    name = f"tags-{uuid.uuid4().hex[:8]}"
    local_aws_client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=TEMPLATE,
        Parameters=[{"ParameterKey": "Env", "ParameterValue": "dev"}],
        Tags=[{"Key": "gitops:desired-hash", "Value": "old"}],
    )
    return name


def resources(cfn: Any, name: str) -> dict[str, str]:
    listed = cfn.describe_stack_resources(StackName=name)["StackResources"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed}


def test_tags_only_update_changes_the_stack_tags_and_no_resource(
    stack: str, local_aws_client: Callable[[str], Any]
) -> None:
    """GIVEN a stack with a parameter left to its default WHEN UpdateStack is called with
    the previous template, every parameter's previous value and new tags THEN the stack is
    UPDATE_COMPLETE with the new tags, its parameters and resources are as they were, and
    its events say UPDATE_IN_PROGRESS then UPDATE_COMPLETE with no resource event"""
    cfn = local_aws_client("cloudformation")
    before = resources(cfn, stack)
    events_before = len(cfn.describe_stack_events(StackName=stack)["StackEvents"])

    cfn.update_stack(
        StackName=stack,
        UsePreviousTemplate=True,
        Parameters=PREVIOUS,
        Tags=[{"Key": "gitops:desired-hash", "Value": "new"}],
    )

    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "UPDATE_COMPLETE"
    assert described["Tags"] == [{"Key": "gitops:desired-hash", "Value": "new"}]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert params == {"Retention": "7", "Env": "dev"}
    assert resources(cfn, stack) == before
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    new = [
        (e["LogicalResourceId"], e["ResourceStatus"]) for e in events[: len(events) - events_before]
    ]
    assert sorted(new) == [(stack, "UPDATE_COMPLETE"), (stack, "UPDATE_IN_PROGRESS")]
    group = local_aws_client("logs").describe_log_groups(logGroupNamePrefix=f"/tags/{stack}/")
    assert [g["retentionInDays"] for g in group["logGroups"]] == [7]


def test_the_same_tags_and_values_are_still_no_update(
    stack: str, local_aws_client: Callable[[str], Any]
) -> None:
    """GIVEN a stack WHEN UpdateStack changes nothing at all (template, values, tags)
    THEN it is refused as on AWS: No updates are to be performed"""
    cfn = local_aws_client("cloudformation")

    with pytest.raises(ClientError, match="No updates are to be performed"):
        cfn.update_stack(
            StackName=stack,
            UsePreviousTemplate=True,
            Parameters=PREVIOUS,
            Tags=[{"Key": "gitops:desired-hash", "Value": "old"}],
        )


def test_a_parameter_change_still_updates_the_resources(
    stack: str, local_aws_client: Callable[[str], Any]
) -> None:
    """GIVEN a stack WHEN UpdateStack keeps one parameter's previous value (left to its
    default) and changes another's THEN the resources are updated as before (the log group
    is replaced under its new name), the defaulted value kept"""
    cfn = local_aws_client("cloudformation")

    cfn.update_stack(
        StackName=stack,
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": "Retention", "UsePreviousValue": True},
            {"ParameterKey": "Env", "ParameterValue": "test"},
        ],
    )

    logs = local_aws_client("logs")
    assert logs.describe_log_groups(logGroupNamePrefix=f"/tags/{stack}/test")["logGroups"]
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert params == {"Retention": "7", "Env": "test"}
