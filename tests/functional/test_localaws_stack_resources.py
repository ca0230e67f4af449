"""DescribeStackResources by PhysicalResourceId on the local AWS
(`localaws.cfn_stack_resources`), through a real local AWS server: a resource's physical id
finds the stack that owns it and that stack's resources; an id no stack owns, or neither
StackName nor PhysicalResourceId, is a ValidationError."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from localaws.cfn_stack_resources import BOTH, NEITHER
from tests.functional.localaws_helpers import refused

TEMPLATE = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "DBSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "db", "VpcId": {"Ref": "Vpc"}},
        },
        "AuditLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
    }
}

Client = Callable[[str], Any]


@pytest.fixture
def stack(local_aws_client: Client) -> dict[str, Any]:
    """A new stack with a VPC, a security group and a log group, with another stack beside
    it; returns its name and resources as DescribeStackResources by name gives them."""
    cloudformation = local_aws_client("cloudformation")
    name = f"app-{uuid.uuid4().hex[:8]}"
    for stack_name in (f"{name}-other", name):
        cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(TEMPLATE))
    resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    return {"name": name, "resources": {r["LogicalResourceId"]: r for r in resources}}


def test_a_security_group_id_finds_its_stack_and_the_stack_resources(
    local_aws_client: Client, stack: dict[str, Any]
) -> None:
    """GIVEN a stack with a VPC, a security group and a log group
    WHEN DescribeStackResources is asked for the security group's id (sg-...)
    THEN it answers with the resources of that stack, as a StackName call does"""
    group_id = stack["resources"]["DBSecurityGroup"]["PhysicalResourceId"]
    assert group_id.startswith("sg-")

    answer = local_aws_client("cloudformation").describe_stack_resources(
        PhysicalResourceId=group_id
    )

    resources = {r["LogicalResourceId"]: r for r in answer["StackResources"]}
    assert set(resources) == {"Vpc", "DBSecurityGroup", "AuditLogs"}
    assert {r["StackName"] for r in resources.values()} == {stack["name"]}
    assert {k: r["PhysicalResourceId"] for k, r in resources.items()} == {
        k: r["PhysicalResourceId"] for k, r in stack["resources"].items()
    }


def test_a_log_group_name_finds_its_stack_and_logical_resource_id_filters(
    local_aws_client: Client, stack: dict[str, Any]
) -> None:
    """GIVEN the stack
    WHEN DescribeStackResources is asked for its log group's name with LogicalResourceId Vpc
    THEN only the stack's VPC comes back"""
    log_group = stack["resources"]["AuditLogs"]["PhysicalResourceId"]

    answer = local_aws_client("cloudformation").describe_stack_resources(
        PhysicalResourceId=log_group, LogicalResourceId="Vpc"
    )

    (vpc,) = answer["StackResources"]
    assert (vpc["StackName"], vpc["LogicalResourceId"], vpc["ResourceType"]) == (
        stack["name"],
        "Vpc",
        "AWS::EC2::VPC",
    )
    assert vpc["PhysicalResourceId"] == stack["resources"]["Vpc"]["PhysicalResourceId"]


def test_an_id_no_stack_owns_is_a_validation_error(local_aws_client: Client) -> None:
    """GIVEN a security group made outside CloudFormation
    WHEN DescribeStackResources is asked for its id
    THEN ValidationError "Stack for <id> does not exist", HTTP 400"""
    ec2 = local_aws_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(
        GroupName=f"manual-{uuid.uuid4().hex[:8]}", Description="by hand", VpcId=vpc
    )["GroupId"]
    cloudformation = local_aws_client("cloudformation")

    refusal = refused(lambda: cloudformation.describe_stack_resources(PhysicalResourceId=group))

    assert refusal == (400, "ValidationError", f"Stack for {group} does not exist")


def test_neither_stack_name_nor_physical_id_is_a_validation_error(
    local_aws_client: Client,
) -> None:
    """WHEN DescribeStackResources names neither a stack nor a physical id (nor when it
    names both)
    THEN ValidationError, HTTP 400"""
    cloudformation = local_aws_client("cloudformation")

    neither = refused(lambda: cloudformation.describe_stack_resources())
    both = refused(
        lambda: cloudformation.describe_stack_resources(
            StackName="app", PhysicalResourceId="sg-0123456789abcdef0"
        )
    )

    assert neither == (400, "ValidationError", NEITHER)
    assert both == (400, "ValidationError", BOTH)


def test_a_stack_name_still_describes_that_stack(
    local_aws_client: Client, stack: dict[str, Any]
) -> None:
    """WHEN DescribeStackResources names the stack and a logical id
    THEN that resource of the stack comes back, as before"""
    answer = local_aws_client("cloudformation").describe_stack_resources(
        StackName=stack["name"], LogicalResourceId="AuditLogs"
    )

    (logs,) = answer["StackResources"]
    assert logs["PhysicalResourceId"] == stack["resources"]["AuditLogs"]["PhysicalResourceId"]
