"""A function's asynchronous invocation settings deploy, update and delete through
CloudFormation on the local AWS (`localaws.cfn_lambda_event_invoke_config`), through a real
local AWS server."""

from __future__ import annotations

import json
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
    settings = {"FunctionName": {"Ref": "Function"}, "Qualifier": "$LATEST", **properties}
    return json.dumps(
        {
            "Resources": {
                "Role": LAMBDA_ROLE,
                "Function": lambda_function(FunctionName=function_name),
                "InvokeConfig": {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": settings},
            },
            "Outputs": {"Ref": {"Value": {"Ref": "InvokeConfig"}}},
        }
    )


def test_the_retry_settings_reach_the_function(local_aws_client):
    """GIVEN MaximumRetryAttempts 1 and MaximumEventAgeInSeconds 3600 (as parameter strings)
    WHEN the stack is created THEN GetFunctionEventInvokeConfig reports them as numbers, and
    Ref is FunctionName|Qualifier"""
    name = f"push-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "invoke")
    stack.create(template(name, MaximumRetryAttempts="1", MaximumEventAgeInSeconds="3600"))

    config = local_aws_client("lambda").get_function_event_invoke_config(FunctionName=name)
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (1, 3600)
    assert stack.outputs() == {"Ref": f"{name}|$LATEST"}


def test_an_update_replaces_the_settings(local_aws_client):
    """GIVEN MaximumRetryAttempts 2 WHEN the stack is updated to 0 THEN the function reports
    0, once"""
    name = f"push-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "invoke")
    stack.create(template(name, MaximumRetryAttempts=2))

    stack.update(template(name, MaximumRetryAttempts=0))

    listed = local_aws_client("lambda").list_function_event_invoke_configs(FunctionName=name)
    assert [c["MaximumRetryAttempts"] for c in listed["FunctionEventInvokeConfigs"]] == [0]


def test_removing_the_resource_removes_the_settings(local_aws_client):
    """GIVEN settings for a function WHEN an update removes the resource THEN the function
    reports no settings"""
    name = f"push-{uuid.uuid4().hex[:8]}"
    stack = StackUnderTest(local_aws_client, "invoke")
    stack.create(template(name, MaximumRetryAttempts=2))
    body = json.loads(template(name))
    del body["Resources"]["InvokeConfig"], body["Outputs"]

    stack.update(json.dumps(body))

    lambda_client = local_aws_client("lambda")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function_event_invoke_config(FunctionName=name)


def test_more_than_two_retries_fails_the_resource(local_aws_client):
    """GIVEN MaximumRetryAttempts 3 (Lambda allows 0 to 2) WHEN the stack is created THEN the
    resource fails with Lambda's ValidationException and the stack rolls back"""
    stack = StackUnderTest(local_aws_client, "invoke")
    stack.create(template(f"push-{uuid.uuid4().hex[:8]}", MaximumRetryAttempts=3))

    logical_id, status, reason = stack.failure()
    refusal = handler_refusal("Lambda").fullmatch(reason)
    assert (logical_id, status) == ("InvokeConfig", "CREATE_FAILED")
    assert refusal is not None, reason
    assert "Member must have value less than or equal to 2" in refusal["message"]
    assert stack.status() == "ROLLBACK_COMPLETE"
