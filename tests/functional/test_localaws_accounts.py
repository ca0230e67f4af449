"""Several accounts and regions on one local AWS server: credentials from sts:AssumeRole act
in the role's account, and every localaws extension works in the stack's own account and
region (stack status events, drift detection and its events, change set details, dynamic
references, the engine catalog)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws.accounts import create_account_access_role, in_account
from localaws.bus_emitter import StackEventEmitter
from localaws.drift_events import DriftEvents
from localaws.lambda_context import LambdaContext
from localaws.server import LocalAws
from tests.functional.localaws_helpers import BusObserver

MEMBER = "222222222222"
HOME_REGION, MEMBER_REGION = "us-east-1", "eu-west-1"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})
TESTING = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}

Client = Callable[..., Any]


@pytest.fixture(scope="module")
def client(local_aws: LocalAws) -> Client:
    """client(service, region, credentials=None): a boto3 client of the module's local AWS,
    with the home account's `testing` keys unless credentials are given."""

    def make(service: str, region: str = HOME_REGION, credentials: dict | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=local_aws.endpoint_url,
            region_name=region,
            config=NO_RETRIES,
            **(credentials or TESTING),
        )

    return make


@pytest.fixture(scope="module")
def member(local_aws: LocalAws, client: Client) -> dict[str, str]:
    """Credentials of a session in account 222222222222, through the role Organizations
    leaves in a new account, assumed with the home account's keys."""
    role_arn = create_account_access_role(local_aws.endpoint_url, MEMBER)
    answer = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="deployer")
    credentials = answer["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def observe(client: Client, region: str, credentials: dict | None, pattern: dict) -> BusObserver:
    """A rule on the default bus of one account and region, sending what matches
    `pattern` to an SQS queue of its own; `received()` drains it."""
    return BusObserver(
        client("sqs", region, credentials), client("events", region, credentials), pattern
    )


CLOUDFORMATION_EVENTS = {"source": ["aws.cloudformation"]}


def _stack_name() -> str:
    return f"app-{uuid.uuid4().hex[:8]}"


def _parameter_template(name: str, value: str) -> str:
    return json.dumps(
        {
            "Resources": {
                "Parameter": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {"Type": "String", "Name": name, "Value": value},
                }
            },
            "Outputs": {"Account": {"Value": {"Ref": "AWS::AccountId"}}},
        }
    )


# --- credentials from AssumeRole act in the role's account ------------------------------------


def test_assumed_credentials_make_stacks_in_the_role_account(
    client: Client, member: dict[str, str]
) -> None:
    """GIVEN credentials from AssumeRole of a role in 222222222222
    WHEN a stack is created with them in eu-west-1
    THEN the stack, its SSM parameter and AWS::AccountId are of 222222222222, and the home
    account's CloudFormation and SSM in eu-west-1 know nothing of them"""
    name, parameter = _stack_name(), f"/accounts/{uuid.uuid4().hex}"
    cloudformation = client("cloudformation", MEMBER_REGION, member)

    cloudformation.create_stack(StackName=name, TemplateBody=_parameter_template(parameter, "v"))

    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackId"].startswith(f"arn:aws:cloudformation:{MEMBER_REGION}:{MEMBER}:stack/")
    assert stack["Outputs"] == [{"OutputKey": "Account", "OutputValue": MEMBER}]
    found = client("ssm", MEMBER_REGION, member).get_parameter(Name=parameter)["Parameter"]
    assert found["ARN"] == f"arn:aws:ssm:{MEMBER_REGION}:{MEMBER}:parameter{parameter}"
    home = client("cloudformation", MEMBER_REGION).describe_stacks()["Stacks"]
    assert name not in [s["StackName"] for s in home]
    with pytest.raises(client("ssm").exceptions.ParameterNotFound):
        client("ssm", MEMBER_REGION).get_parameter(Name=parameter)


def test_assumed_credentials_reach_the_role_account_buses_and_roles(
    client: Client, member: dict[str, str]
) -> None:
    """GIVEN credentials from AssumeRole of a role in 222222222222
    WHEN the caller, the default bus and a new IAM role are read with them
    THEN each is of 222222222222"""
    identity = client("sts", MEMBER_REGION, member).get_caller_identity()
    bus = client("events", MEMBER_REGION, member).describe_event_bus()
    iam = client("iam", HOME_REGION, member)
    role = iam.create_role(RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")

    assert identity["Account"] == MEMBER
    assert (
        identity["Arn"]
        == f"arn:aws:sts::{MEMBER}:assumed-role/OrganizationAccountAccessRole/deployer"
    )
    assert bus["Arn"] == f"arn:aws:events:{MEMBER_REGION}:{MEMBER}:event-bus/default"
    assert role["Role"]["Arn"].startswith(f"arn:aws:iam::{MEMBER}:role/")


def test_a_client_put_in_an_account_acts_there_without_assuming_a_role(client: Client) -> None:
    """GIVEN a client with the home account's keys, put in 222222222222 as an AWS service acts
    WHEN it asks who it is
    THEN it acts in 222222222222"""
    sts = in_account(client("sts", MEMBER_REGION), MEMBER)

    assert sts.get_caller_identity()["Account"] == MEMBER


# --- the extensions, per account and region ------------------------------------------------------


def test_stack_status_events_go_on_the_bus_of_the_stack_account_and_region(
    client: Client, member: dict[str, str]
) -> None:
    """GIVEN an emitter for 222222222222 in eu-west-1, and observers on that bus and on the home
    account's buses
    WHEN a stack is created there and the emitter runs
    THEN its events reach 222222222222's eu-west-1 bus only, with that account and region"""
    on_member = observe(client, MEMBER_REGION, member, CLOUDFORMATION_EVENTS)
    on_home = [
        observe(client, region, None, CLOUDFORMATION_EVENTS)
        for region in (HOME_REGION, MEMBER_REGION)
    ]
    cloudformation = client("cloudformation", MEMBER_REGION, member)
    emitter = StackEventEmitter(cloudformation, client("events", MEMBER_REGION, member))
    name = _stack_name()
    cloudformation.create_stack(StackName=name, TemplateBody=_parameter_template(f"/e/{name}", "v"))

    emitter.emit()

    received = on_member.received()
    assert [
        (e["account"], e["region"], e["detail"]["status-details"]["status"]) for e in received
    ] == [
        (MEMBER, MEMBER_REGION, "CREATE_IN_PROGRESS"),
        (MEMBER, MEMBER_REGION, "CREATE_COMPLETE"),
    ]
    assert all(f":{MEMBER}:stack/{name}/" in e["detail"]["stack-id"] for e in received)
    assert [observer.received() for observer in on_home] == [[], []]


SECURITY_GROUP_TEMPLATE = {
    "Parameters": {"Cidr": {"Type": "String", "Default": "10.0.0.0/16"}},
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Ref": "Cidr"}}},
        "Group": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "db",
                "VpcId": {"Ref": "Vpc"},
                "SecurityGroupIngress": [
                    {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "CidrIp": "10.0.0.0/8"}
                ],
            },
        },
    },
}


@pytest.fixture
def member_group_stack(client: Client, member: dict[str, str]) -> Iterator[str]:
    """A stack with a VPC and a security group in 222222222222, eu-west-1."""
    name = _stack_name()
    cloudformation = client("cloudformation", MEMBER_REGION, member)
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(SECURITY_GROUP_TEMPLATE))
    yield name


def test_drift_detection_reads_and_reports_in_the_stack_account_and_region(
    client: Client, member: dict[str, str], member_group_stack: str
) -> None:
    """GIVEN a security group stack in 222222222222, eu-west-1, opened to 0.0.0.0/0 there
    WHEN its drift is detected
    THEN it is DRIFTED, and the detection's event goes on that account's eu-west-1 bus with
    that account and region, and on no home account bus"""
    cloudformation = client("cloudformation", MEMBER_REGION, member)
    on_member = observe(client, MEMBER_REGION, member, CLOUDFORMATION_EVENTS)
    on_home = observe(client, MEMBER_REGION, None, CLOUDFORMATION_EVENTS)
    polled = DriftEvents()
    resources = cloudformation.describe_stack_resources(StackName=member_group_stack)
    group = next(r for r in resources["StackResources"] if r["LogicalResourceId"] == "Group")
    client("ec2", MEMBER_REGION, member).authorize_security_group_ingress(
        GroupId=group["PhysicalResourceId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 3306,
                "ToPort": 3306,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )

    detection = cloudformation.detect_stack_drift(StackName=member_group_stack)

    status = cloudformation.describe_stack_drift_detection_status(
        StackDriftDetectionId=detection["StackDriftDetectionId"]
    )
    assert status["StackDriftStatus"] == "DRIFTED"
    (event,) = on_member.received()
    assert (event["account"], event["region"]) == (MEMBER, MEMBER_REGION)
    assert event["detail"]["status-details"]["stack-drift-status"] == "DRIFTED"
    assert [(e["account"], e["region"]) for e in polled.poll()] == [(MEMBER, MEMBER_REGION)]
    assert on_home.received() == []


def test_change_set_details_are_computed_in_the_stack_account(
    client: Client, member: dict[str, str], member_group_stack: str
) -> None:
    """GIVEN the security group stack in 222222222222, eu-west-1
    WHEN a change set moves the VPC to another CIDR block
    THEN it lists the VPC replaced and the group conditionally, with their physical ids from
    that account"""
    cloudformation = client("cloudformation", MEMBER_REGION, member)
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=member_group_stack)[
            "StackResources"
        ]
    }

    cloudformation.create_change_set(
        StackName=member_group_stack,
        ChangeSetName="move",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(SECURITY_GROUP_TEMPLATE),
        Parameters=[{"ParameterKey": "Cidr", "ParameterValue": "10.1.0.0/16"}],
    )

    changes = cloudformation.describe_change_set(StackName=member_group_stack, ChangeSetName="move")
    found = {
        c["ResourceChange"]["LogicalResourceId"]: (
            c["ResourceChange"]["Replacement"],
            c["ResourceChange"]["PhysicalResourceId"],
        )
        for c in changes["Changes"]
    }
    assert found == {"Vpc": ("True", physical["Vpc"]), "Group": ("Conditional", physical["Group"])}


def test_dynamic_references_resolve_in_the_stack_account(
    client: Client, member: dict[str, str]
) -> None:
    """GIVEN an SSM parameter of one name in both accounts' eu-west-1, with different values
    WHEN a stack in 222222222222 copies it with {{resolve:ssm:...}}
    THEN the copy holds 222222222222's value"""
    source, copy, name = f"/dynamic/{uuid.uuid4().hex}", f"/copy/{uuid.uuid4().hex}", _stack_name()
    client("ssm", MEMBER_REGION, member).put_parameter(Name=source, Value="member", Type="String")
    client("ssm", MEMBER_REGION).put_parameter(Name=source, Value="home", Type="String")

    client("cloudformation", MEMBER_REGION, member).create_stack(
        StackName=name, TemplateBody=_parameter_template(copy, f"{{{{resolve:ssm:{source}}}}}")
    )

    assert (
        client("ssm", MEMBER_REGION, member).get_parameter(Name=copy)["Parameter"]["Value"]
        == "member"
    )


def test_the_engine_catalog_answers_in_another_account_and_region(
    client: Client, member: dict[str, str]
) -> None:
    """GIVEN credentials in 222222222222
    WHEN RDS in eu-west-1 is asked for the MySQL 8.4 engine versions
    THEN the stand-in catalog answers there as in the home region"""
    asked = {"Engine": "mysql", "EngineVersion": "8.4"}

    there = client("rds", MEMBER_REGION, member).describe_db_engine_versions(**asked)
    home = client("rds").describe_db_engine_versions(**asked)

    assert [v["EngineVersion"] for v in there["DBEngineVersions"]] == [
        v["EngineVersion"] for v in home["DBEngineVersions"]
    ]
    assert there["DBEngineVersions"]


def test_a_lambda_context_names_the_function_region_and_account() -> None:
    """GIVEN a Lambda context for a function in 222222222222, eu-west-1
    WHEN its invoked function ARN is read
    THEN the ARN names that region and account"""
    context = LambdaContext(function_name="worker", region=MEMBER_REGION, account=MEMBER)

    assert (
        context.invoked_function_arn == f"arn:aws:lambda:{MEMBER_REGION}:{MEMBER}:function:worker"
    )
