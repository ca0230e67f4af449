"""The CloudFormation service role: with CLOUDFORMATION_ROLE_ARN set, every stack
operation the reconciler starts is done by CloudFormation under that role."""

from __future__ import annotations

import boto3
from botocore.stub import ANY, Stubber

from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.services import services_from_env
from reconciler.live import LiveStack

ROLE = "arn:aws:iam::123456789012:role/gitops-cloudformation"


def stubbed() -> tuple[object, Stubber]:
    client = boto3.client("cloudformation", region_name="us-east-1")
    return client, Stubber(client)


def test_change_sets_and_stack_deletes_pass_the_role():
    client, stub = stubbed()
    stub.add_response(
        "create_change_set",
        {"Id": "arn:cs", "StackId": "arn:stack"},
        {
            "ChangeSetName": "gitops-1",
            "StackName": "app-dev",
            "TemplateBody": "{}",
            "Parameters": [],
            "Tags": [],
            "Capabilities": ANY,
            "ChangeSetType": "CREATE",
            "Description": ANY,
            "RoleARN": ROLE,
        },
    )
    stub.add_response("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": []})
    stub.add_response(
        "delete_stack", {}, {"StackName": "arn:stack", "ClientRequestToken": "t", "RoleARN": ROLE}
    )
    cfn = CloudFormation(client_for=lambda service, region: client, role_arn=ROLE)
    with stub:
        cfn.create_change_set(
            name="gitops-1", stack_name="app-dev", region="us-east-1", template_body="{}",
            parameters={}, tags={}, create=True, wait_seconds=0,
        )  # fmt: skip
        cfn.delete_stack(LiveStack("app-dev", "arn:stack", "us-east-1", "ROLLBACK_COMPLETE"), "t")
    stub.assert_no_pending_responses()


def test_the_role_comes_from_the_environment(monkeypatch, aws):
    monkeypatch.setenv("CLOUDFORMATION_ROLE_ARN", ROLE)
    services = services_from_env()
    assert services.cfn._role == {"RoleARN": ROLE}
    monkeypatch.delenv("CLOUDFORMATION_ROLE_ARN")
    assert services_from_env().cfn._role == {}
