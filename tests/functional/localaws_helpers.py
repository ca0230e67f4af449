"""Set-up that the local AWS's functional tests share: a uniquely named stack with the
CloudFormation calls the tests make, template pieces several test modules deploy, and the
shape of the reason a resource handler gives for a service's refusal."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

REMOVE = object()  # in changes to base properties: drop the property


def merged(base: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    """`base` with `changes` applied; a change to REMOVE drops the property."""
    properties = dict(base)
    for key, value in (changes or {}).items():
        if value is REMOVE:
            properties.pop(key, None)
        else:
            properties[key] = value
    return properties


def handler_refusal(service: str, status_code: int = 400) -> re.Pattern[str]:
    """The shape of a reason a resource handler gives for a service's refusal."""
    return re.compile(
        r'Resource handler returned message: "(?P<message>.+) '
        rf"\(Service: {service}, Status Code: {status_code}, Request ID: [0-9a-f-]{{36}}\)\" "
        r"\(RequestToken: [0-9a-f-]{36}, HandlerErrorCode: (?P<code>\w+)\)"
    )


# --- template pieces ----------------------------------------------------------------------------


def network(zones: str = "ab") -> dict[str, Any]:
    """A VPC (10.0.0.0/16) and one subnet per zone letter: SubnetA in us-east-1a, ..."""
    return {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        **{
            f"Subnet{zone.upper()}": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": f"10.0.{number}.0/24",
                    "AvailabilityZone": f"us-east-1{zone}",
                },
            }
            for number, zone in enumerate(zones, start=1)
        },
    }


DB_SECURITY_GROUP = {
    "Type": "AWS::EC2::SecurityGroup",
    "Properties": {"GroupDescription": "db", "VpcId": {"Ref": "Vpc"}},
}
# A MySQL 8.4 instance's properties, as the PCI template's database has them.
MYSQL_INSTANCE = {
    "Engine": "mysql",
    "EngineVersion": "8.4.3",
    "DBInstanceClass": "db.t3.micro",
    "AllocatedStorage": "20",
    "MasterUsername": "admin",
    "MasterUserPassword": "not-a-secret-1",
}
# An IAM role a Lambda function can run as.
LAMBDA_ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    },
}


def lambda_function(
    role: str = "Role",
    runtime: str = "python3.13",
    code: dict[str, Any] | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A Lambda function running as the role with logical id `role`; its code is a handler
    that does nothing, inline, unless `code` says where it is."""
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": runtime,
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": [role, "Arn"]},
            "Code": code or {"ZipFile": "def handler(event, context):\n    pass\n"},
            **properties,
        },
    }


# --- the stack ----------------------------------------------------------------------------------


class StackUnderTest:
    """One test's stack, uniquely named (a test module shares one local AWS) with `prefix`,
    and what CloudFormation says about it. Test modules subclass it with the clients that
    look behind the stack."""

    def __init__(self, client: Callable[[str], Any], prefix: str) -> None:
        self.name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.cloudformation = client("cloudformation")

    def create(self, body: str, parameters: dict[str, str] | None = None) -> None:
        self.cloudformation.create_stack(
            StackName=self.name, TemplateBody=body, Parameters=_parameters(parameters)
        )

    def update(self, body: str, parameters: dict[str, str] | None = None) -> None:
        self.cloudformation.update_stack(
            StackName=self.name, TemplateBody=body, Parameters=_parameters(parameters)
        )

    def described(self) -> dict[str, Any]:
        return self.cloudformation.describe_stacks(StackName=self.name)["Stacks"][0]

    def status(self) -> str:
        return self.described()["StackStatus"]

    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.described().get("Outputs", [])}

    def physical_ids(self) -> dict[str, str | None]:
        resources = self.cloudformation.describe_stack_resources(StackName=self.name)
        return {
            r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in resources["StackResources"]
        }

    def failure(self) -> tuple[str, str, str]:
        """The one failed resource event: (logical id, status, reason)."""
        events = self.cloudformation.describe_stack_events(StackName=self.name)["StackEvents"]
        (failed,) = [e for e in events if e["ResourceStatus"] in ("CREATE_FAILED", "UPDATE_FAILED")]
        return (
            failed["LogicalResourceId"],
            failed["ResourceStatus"],
            failed.get("ResourceStatusReason", ""),
        )


def _parameters(values: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in (values or {}).items()]


class Clock:
    """A latency knob's clock (`localaws.*._now`), moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class BusObserver:
    """A rule on a default bus sending what matches `pattern` to an SQS queue of its own
    (`sqs` and `events` clients of one account and region); `received()` drains it."""

    def __init__(self, sqs: Any, events: Any, pattern: dict[str, Any]) -> None:
        name = f"observer-{uuid.uuid4().hex[:8]}"
        self._sqs = sqs
        self._url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule=name, Targets=[{"Id": "queue", "Arn": arn["Attributes"]["QueueArn"]}]
        )

    def received(self) -> list[dict[str, Any]]:
        found = []
        while messages := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                found.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return found


def refused(call: Callable[[], Any]) -> tuple[int, str, str]:
    """The HTTP status, error code and message with which the local AWS refuses `call`."""
    import pytest
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"]["Message"],
    )
