"""A DynamoDB table a template creates gets the point-in-time recovery, time to live and
encryption the template asks for (`localaws.cfn_dynamodb_table`), through a real local AWS
server."""

from __future__ import annotations

import json
from typing import Any

from tests.functional.localaws_helpers import StackUnderTest


def template(**properties: Any) -> str:
    table = {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        **properties,
    }
    return json.dumps(
        {
            "Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": table}},
            "Outputs": {"Name": {"Value": {"Ref": "Table"}}},
        }
    )


def deployed(client, body: str) -> str:
    """The name of the table a new stack made from `body`."""
    stack = StackUnderTest(client, "table")
    stack.create(body)
    return stack.outputs()["Name"]


def test_point_in_time_recovery_is_turned_on(local_aws_client):
    """GIVEN PointInTimeRecoveryEnabled true WHEN the table is created THEN
    DescribeContinuousBackups reports point-in-time recovery ENABLED"""
    name = deployed(
        local_aws_client,
        template(PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}),
    )

    backups = local_aws_client("dynamodb").describe_continuous_backups(TableName=name)
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"


def test_time_to_live_is_set_on_the_attribute_named(local_aws_client):
    """GIVEN a TimeToLiveSpecification on `expiration` WHEN the table is created THEN
    DescribeTimeToLive reports it ENABLED on that attribute"""
    name = deployed(
        local_aws_client,
        template(TimeToLiveSpecification={"AttributeName": "expiration", "Enabled": True}),
    )

    ttl = local_aws_client("dynamodb").describe_time_to_live(TableName=name)
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expiration",
    }


def test_sse_enabled_encrypts_with_the_aws_managed_dynamodb_key(local_aws_client):
    """GIVEN SSESpecification SSEEnabled true WHEN the table is created THEN DescribeTable
    reports KMS encryption with the key behind alias/aws/dynamodb"""
    name = deployed(local_aws_client, template(SSESpecification={"SSEEnabled": True}))

    described = local_aws_client("dynamodb").describe_table(TableName=name)["Table"]
    aliases = local_aws_client("kms").list_aliases()["Aliases"]
    (managed,) = [a for a in aliases if a["AliasName"] == "alias/aws/dynamodb"]
    assert described["SSEDescription"]["Status"] == "ENABLED"
    assert described["SSEDescription"]["SSEType"] == "KMS"
    assert described["SSEDescription"]["KMSMasterKeyArn"].endswith(f"key/{managed['TargetKeyId']}")


def test_settings_given_as_parameter_strings_are_read_as_booleans(local_aws_client):
    """GIVEN the three settings as "false" strings (as parameters arrive) WHEN the table is
    created THEN none is turned on"""
    name = deployed(
        local_aws_client,
        template(
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": "false"},
            TimeToLiveSpecification={"AttributeName": "expiration", "Enabled": "false"},
            SSESpecification={"SSEEnabled": "false"},
        ),
    )

    dynamodb = local_aws_client("dynamodb")
    backups = dynamodb.describe_continuous_backups(TableName=name)
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "DISABLED"
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "DISABLED"
    assert "SSEDescription" not in dynamodb.describe_table(TableName=name)["Table"]
