"""`!Ref AWS::NoValue` as an item of a list removes the item (`localaws.cfn_no_value`), through
a real local AWS server."""

from __future__ import annotations

import json
import uuid


def policy_template(include_second: str) -> str:
    """A managed policy whose second statement is there only when IncludeSecond is "yes"."""
    statement = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}
    second = {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}
    return json.dumps(
        {
            "Parameters": {"IncludeSecond": {"Type": "String", "Default": include_second}},
            "Conditions": {"WithSecond": {"Fn::Equals": [{"Ref": "IncludeSecond"}, "yes"]}},
            "Resources": {
                "Policy": {
                    "Type": "AWS::IAM::ManagedPolicy",
                    "Properties": {
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                statement,
                                {"Fn::If": ["WithSecond", second, {"Ref": "AWS::NoValue"}]},
                            ],
                        }
                    },
                }
            },
            "Outputs": {"Arn": {"Value": {"Ref": "Policy"}}},
        }
    )


def statements(client, body: str) -> list[dict]:
    """The statements of the policy a new stack made from `body` holds."""
    cloudformation = client("cloudformation")
    name = f"novalue-{uuid.uuid4().hex[:10]}"
    cloudformation.create_stack(StackName=name, TemplateBody=body)
    (output,) = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    iam = client("iam")
    policy = iam.get_policy(PolicyArn=output["OutputValue"])["Policy"]
    version = iam.get_policy_version(
        PolicyArn=output["OutputValue"], VersionId=policy["DefaultVersionId"]
    )
    document = version["PolicyVersion"]["Document"]
    return json.loads(document)["Statement"] if isinstance(document, str) else document["Statement"]


def test_an_if_that_chooses_no_value_removes_the_list_item(local_aws_client):
    """GIVEN a policy statement list with `!If [cond, statement, !Ref AWS::NoValue]` and the
    condition false WHEN the stack is created THEN the policy holds the other statement only"""
    found = statements(local_aws_client, policy_template("no"))

    assert [s["Action"] for s in found] == ["sqs:SendMessage"]


def test_an_if_that_chooses_the_item_keeps_it(local_aws_client):
    """GIVEN the same template with the condition true WHEN the stack is created THEN the
    policy holds both statements"""
    found = statements(local_aws_client, policy_template("yes"))

    assert [s["Action"] for s in found] == ["sqs:SendMessage", "sns:Publish"]
