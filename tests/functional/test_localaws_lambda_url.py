"""Lambda function URLs deploy, update and delete through CloudFormation on the local AWS
(`localaws.cfn_lambda_url`), backed by moto's function URL configuration, through a real
local AWS server."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from tests.functional.localaws_helpers import (
    LAMBDA_ROLE,
    StackUnderTest,
    handler_refusal,
    lambda_function,
)


def template(function_name: str, **properties: Any) -> str:
    url = {"TargetFunctionArn": {"Fn::GetAtt": ["Function", "Arn"]}, "AuthType": "NONE"}
    url.update(properties)
    return json.dumps(
        {
            "Resources": {
                "Role": LAMBDA_ROLE,
                "Function": lambda_function(FunctionName=function_name),
                "Url": {"Type": "AWS::Lambda::Url", "Properties": url},
            },
            "Outputs": {
                "Ref": {"Value": {"Ref": "Url"}},
                "FunctionUrl": {"Value": {"Fn::GetAtt": ["Url", "FunctionUrl"]}},
                "FunctionArn": {"Value": {"Fn::GetAtt": ["Url", "FunctionArn"]}},
            },
        }
    )


def test_the_function_gets_a_url_that_an_output_can_read(local_aws_client):
    """GIVEN a function URL with AuthType NONE WHEN the stack is created THEN the output
    reading GetAtt FunctionUrl holds the URL GetFunctionUrlConfig reports, and Ref and GetAtt
    FunctionArn give the function's ARN"""
    name = f"webhook-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "url")
    stack.create(template(name))

    outputs = stack.outputs()
    config = local_aws_client("lambda").get_function_url_config(FunctionName=name)
    assert re.fullmatch(
        r"https://[0-9a-f]{32}\.lambda-url\.us-east-1\.on\.aws", outputs["FunctionUrl"]
    )
    assert (config["FunctionUrl"], config["AuthType"]) == (outputs["FunctionUrl"], "NONE")
    assert outputs["Ref"] == outputs["FunctionArn"] == config["FunctionArn"]


def test_auth_type_and_cors_are_updated_in_place(local_aws_client):
    """GIVEN a function URL WHEN the stack is updated to AWS_IAM with CORS THEN the same URL
    reports the new settings"""
    name = f"webhook-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "url")
    stack.create(template(name))
    before = stack.outputs()["FunctionUrl"]

    stack.update(template(name, AuthType="AWS_IAM", Cors={"AllowOrigins": ["https://x.test"]}))

    config = local_aws_client("lambda").get_function_url_config(FunctionName=name)
    assert config["FunctionUrl"] == before
    assert (config["AuthType"], config["Cors"]) == ("AWS_IAM", {"AllowOrigins": ["https://x.test"]})


def test_deleting_the_stack_deletes_the_url(local_aws_client):
    """GIVEN a URL for a function outside the stack WHEN the stack is deleted THEN the
    function has no URL left"""
    lambda_client = local_aws_client("lambda")
    name = f"kept-{uuid.uuid4().hex[:8]}"
    role = local_aws_client("iam").create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(LAMBDA_ROLE["Properties"]["AssumeRolePolicyDocument"]),
    )["Role"]["Arn"]
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
    )
    stack = StackUnderTest(local_aws_client, "url")
    url = {"TargetFunctionArn": name, "AuthType": "NONE"}
    stack.create(
        json.dumps({"Resources": {"Url": {"Type": "AWS::Lambda::Url", "Properties": url}}})
    )

    local_aws_client("cloudformation").delete_stack(StackName=stack.name)

    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function_url_config(FunctionName=name)


def test_a_function_that_does_not_exist_fails_the_resource(local_aws_client):
    """GIVEN a URL for a function that does not exist WHEN the stack is created THEN the URL
    fails with Lambda's ResourceNotFoundException and the stack rolls back"""
    stack = StackUnderTest(local_aws_client, "url")
    url = {"TargetFunctionArn": "no-such-function", "AuthType": "NONE"}
    stack.create(
        json.dumps({"Resources": {"Url": {"Type": "AWS::Lambda::Url", "Properties": url}}})
    )

    logical_id, status, reason = stack.failure()
    refusal = handler_refusal("Lambda", 404).fullmatch(reason)
    assert (logical_id, status) == ("Url", "CREATE_FAILED")
    assert refusal is not None, reason
    assert refusal["code"] == "NotFound"
    assert stack.status() == "ROLLBACK_COMPLETE"
