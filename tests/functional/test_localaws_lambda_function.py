"""A Lambda function a template creates keeps its DeadLetterConfig, TracingConfig and
LoggingConfig, and GetFunctionConfiguration reports them (`localaws.cfn_lambda_function`),
through a real local AWS server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.functional.localaws_helpers import LAMBDA_ROLE, StackUnderTest, lambda_function

# moto's update of a function with inline ZipFile code fails; code from S3, as the
# bootstrap stack's, updates.
CODE = {"S3Bucket": "fn-settings-code", "S3Key": "code.zip"}


@pytest.fixture(scope="module", autouse=True)
def code(local_aws_client) -> None:
    """The code object the functions are made from (moto never runs it: an empty zip)."""
    s3 = local_aws_client("s3")
    s3.create_bucket(Bucket=CODE["S3Bucket"])
    s3.put_object(Bucket=CODE["S3Bucket"], Key=CODE["S3Key"], Body=b"PK\x05\x06" + b"\0" * 18)


def template(function_name: str, **properties: Any) -> str:
    return json.dumps(
        {
            "Resources": {
                "Role": LAMBDA_ROLE,
                "DeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {}},
                "Logs": {
                    "Type": "AWS::Logs::LogGroup",
                    "Properties": {"LogGroupName": f"/aws/lambda/{function_name}"},
                },
                "Function": lambda_function(code=CODE, FunctionName=function_name, **properties),
            },
            "Outputs": {"DeadLetters": {"Value": {"Fn::GetAtt": ["DeadLetters", "Arn"]}}},
        }
    )


ALL_THREE = {
    "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}},
    "TracingConfig": {"Mode": "Active"},
    "LoggingConfig": {"LogGroup": {"Ref": "Logs"}, "LogFormat": "JSON"},
}


def test_the_three_settings_are_reported_as_the_template_gave_them(local_aws_client):
    """GIVEN a function with a dead-letter queue, active tracing and a JSON log format WHEN
    the stack is created THEN GetFunctionConfiguration reports all three"""
    name = f"push-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "fn")
    stack.create(template(name, **ALL_THREE))

    config = local_aws_client("lambda").get_function_configuration(FunctionName=name)
    assert config["DeadLetterConfig"] == {"TargetArn": stack.outputs()["DeadLetters"]}
    assert config["TracingConfig"] == {"Mode": "Active"}
    assert config["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": f"/aws/lambda/{name}"}


def test_an_update_that_removes_them_puts_the_defaults_back(local_aws_client):
    """GIVEN a function with the three settings WHEN an update removes them THEN it reports no
    dead-letter queue or logging settings, and PassThrough tracing"""
    name = f"push-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "fn")
    stack.create(template(name, **ALL_THREE))

    stack.update(template(name))

    config = local_aws_client("lambda").get_function_configuration(FunctionName=name)
    assert "DeadLetterConfig" not in config and "LoggingConfig" not in config
    assert config["TracingConfig"] == {"Mode": "PassThrough"}


def test_an_update_changes_them_in_place(local_aws_client):
    """GIVEN a function without the settings WHEN an update adds them THEN the function
    reports them"""
    name = f"push-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "fn")
    stack.create(template(name))

    stack.update(template(name, **ALL_THREE))

    config = local_aws_client("lambda").get_function_configuration(FunctionName=name)
    assert config["DeadLetterConfig"] == {"TargetArn": stack.outputs()["DeadLetters"]}
    assert config["TracingConfig"] == {"Mode": "Active"}
