"""`Custom::DefaultSecurityGroupRestriction` closing a VPC's default security group
(`localaws.custom_resources`), and other custom resources failing fast, through a real
local AWS server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from localaws import custom_resources
from tests.functional.localaws_helpers import LAMBDA_ROLE, StackUnderTest, lambda_function

ROLE = LAMBDA_ROLE
FUNCTION = lambda_function()  # the template's function, inline; it never runs locally


def vpc(cidr: str = "10.0.0.0/16") -> dict[str, Any]:
    return {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": cidr}}


def restriction(
    vpc_name: str = "Vpc", kind: str = custom_resources.RESTRICTION_TYPE
) -> dict[str, Any]:
    return {
        "Type": kind,
        "Properties": {
            "ServiceToken": {"Fn::GetAtt": ["Function", "Arn"]},
            "DefaultSecurityGroupId": {"Fn::GetAtt": [vpc_name, "DefaultSecurityGroup"]},
        },
    }


class Stack(StackUnderTest):
    """One test's stack of `resources`, and the EC2 client that looks behind it."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "sg")
        self.ec2 = client("ec2")

    def create(self, resources: dict[str, Any]) -> None:  # type: ignore[override]
        super().create(_body(resources))

    def update(self, resources: dict[str, Any]) -> None:  # type: ignore[override]
        super().update(_body(resources))

    def default_group(self, vpc_name: str = "Vpc") -> dict[str, Any]:
        filters = [
            {"Name": "vpc-id", "Values": [self.physical_ids()[vpc_name]]},
            {"Name": "group-name", "Values": ["default"]},
        ]
        [group] = self.ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
        return group

    def failed_events(self) -> list[dict[str, Any]]:
        events = self.cloudformation.describe_stack_events(StackName=self.name)["StackEvents"]
        return [e for e in events if e["ResourceStatus"].endswith("_FAILED")]


def _body(resources: dict[str, Any]) -> str:
    return json.dumps({"Resources": resources})


def _rules(group: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    return group["IpPermissions"], group["IpPermissionsEgress"]


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> Stack:
    return Stack(local_aws_client)


def test_restriction_created_with_the_vpc_closes_its_default_group(stack: Stack) -> None:
    """GIVEN a template with a VPC, the function and the restriction on
    !GetAtt Vpc.DefaultSecurityGroup
    WHEN the stack is created
    THEN the stack is CREATE_COMPLETE and the VPC's default group has no rules"""
    stack.create({"Vpc": vpc(), "Role": ROLE, "Function": FUNCTION, "Restriction": restriction()})

    assert stack.status() == "CREATE_COMPLETE"
    assert _rules(stack.default_group()) == ([], [])


def test_restriction_added_by_an_update_closes_an_open_default_group(stack: Stack) -> None:
    """GIVEN a stack whose VPC's default group allows all egress and was opened to SSH
    WHEN an update adds the restriction
    THEN the group has no rules left"""
    base = {"Vpc": vpc(), "Role": ROLE, "Function": FUNCTION}
    stack.create(base)
    stack.ec2.authorize_security_group_ingress(
        GroupId=stack.default_group()["GroupId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            }
        ],
    )
    ingress, egress = _rules(stack.default_group())

    stack.update({**base, "Restriction": restriction()})

    assert ingress and egress
    assert _rules(stack.default_group()) == ([], [])


def test_update_pointing_at_another_vpc_closes_that_group_and_keeps_the_resource(
    stack: Stack,
) -> None:
    """GIVEN a restriction on VPC A's default group, and a VPC B
    WHEN an update points the restriction at VPC B's default group
    THEN B's group is closed and the restriction keeps its physical id in the stack"""
    base = {"Vpc": vpc(), "VpcB": vpc("10.1.0.0/16"), "Role": ROLE, "Function": FUNCTION}
    stack.create({**base, "Restriction": restriction("Vpc")})
    before = stack.physical_ids()["Restriction"]

    stack.update({**base, "Restriction": restriction("VpcB")})

    assert _rules(stack.default_group("VpcB")) == ([], [])
    assert stack.physical_ids()["Restriction"] == before
    assert stack.status() == "UPDATE_COMPLETE"


def test_removing_the_restriction_leaves_the_group_closed(stack: Stack) -> None:
    """GIVEN a stack whose restriction closed the default group
    WHEN an update removes the restriction (CloudFormation sends Delete)
    THEN the update completes and the group stays without rules"""
    base = {"Vpc": vpc(), "Role": ROLE, "Function": FUNCTION}
    stack.create({**base, "Restriction": restriction()})

    stack.update(base)

    assert stack.status() == "UPDATE_COMPLETE"
    assert _rules(stack.default_group()) == ([], [])


def test_service_token_naming_no_function_fails_the_restriction(stack: Stack) -> None:
    """GIVEN a restriction whose ServiceToken names no Lambda function
    WHEN the stack is created
    THEN the restriction fails and the stack rolls back"""
    broken = restriction()
    broken["Properties"]["ServiceToken"] = "arn:aws:lambda:us-east-1:123456789012:function:none"

    stack.create({"Vpc": vpc(), "Restriction": broken})

    [failed] = stack.failed_events()
    assert stack.status() == "ROLLBACK_COMPLETE"
    assert "ServiceToken" in failed["ResourceStatusReason"]


def test_other_custom_resource_types_fail_at_once_and_roll_back(stack: Stack) -> None:
    """GIVEN a custom resource of a type localaws has no stand-in for
    WHEN the stack is created
    THEN it fails with a reason saying it is not run locally, and the stack rolls back
    (instead of waiting for ever on a Lambda that needs Docker)"""
    other = restriction(kind="Custom::SeedDatabase")

    stack.create({"Vpc": vpc(), "Role": ROLE, "Function": FUNCTION, "Seed": other})

    [failed] = stack.failed_events()
    assert stack.status() == "ROLLBACK_COMPLETE"
    assert failed["LogicalResourceId"] == "Seed"
    assert "not run by the local AWS" in failed["ResourceStatusReason"]


def test_install_twice_changes_nothing(stack: Stack) -> None:
    """GIVEN the extension installed by the running local AWS
    WHEN install() is called again
    THEN the custom model's create is the same function and still closes the group"""
    from moto.cloudformation.custom_model import CustomModel

    before = CustomModel.create_from_cloudformation_json

    custom_resources.install()

    stack.create({"Vpc": vpc(), "Role": ROLE, "Function": FUNCTION, "Restriction": restriction()})
    assert CustomModel.create_from_cloudformation_json == before
    assert _rules(stack.default_group()) == ([], [])
