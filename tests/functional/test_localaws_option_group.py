"""AWS::RDS::OptionGroup deploys on the local AWS (`localaws.cfn_rds_option_group`)."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from localaws import cfn_rds_option_group

cfn_rds_option_group.install()

AUDIT = {
    "OptionName": "MARIADB_AUDIT_PLUGIN",
    "OptionSettings": [{"Name": "SERVER_AUDIT_EVENTS", "Value": "CONNECT,QUERY_DDL"}],
}


def template(**extra) -> str:
    props = {
        "EngineName": "mysql",
        "MajorEngineVersion": "8.4",
        "OptionGroupDescription": "audit plugin",
        "OptionConfigurations": [AUDIT],
        **extra,
    }
    return json.dumps(
        {
            "Resources": {"Options": {"Type": "AWS::RDS::OptionGroup", "Properties": props}},
            "Outputs": {"Name": {"Value": {"Ref": "Options"}}},
        }
    )


def deploy(client, body: str) -> dict:
    name = f"og-{uuid.uuid4().hex[:8]}"
    client("cloudformation").create_stack(StackName=name, TemplateBody=body)
    return client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def test_mysql_8_4_option_group_is_created_with_its_options(local_aws_client):
    """GIVEN a MySQL 8.4 option group with the audit plugin WHEN deployed THEN RDS lists
    it with the option, and Ref gives its name."""
    stack = deploy(local_aws_client, template(OptionGroupName=f"audit-{uuid.uuid4().hex[:6]}"))
    name = stack["Outputs"][0]["OutputValue"]
    (group,) = local_aws_client("rds").describe_option_groups(OptionGroupName=name)[
        "OptionGroupsList"
    ]
    assert (group["EngineName"], group["MajorEngineVersion"]) == ("mysql", "8.4")
    assert [o["OptionName"] for o in group["Options"]] == ["MARIADB_AUDIT_PLUGIN"]


def test_option_group_without_a_name_gets_one_generated(local_aws_client):
    stack = deploy(local_aws_client, template())
    name = stack["Outputs"][0]["OutputValue"]
    assert name and name == name.lower()
    groups = local_aws_client("rds").describe_option_groups(OptionGroupName=name)[
        "OptionGroupsList"
    ]
    assert len(groups) == 1


def test_stack_delete_removes_the_option_group(local_aws_client):
    stack = deploy(local_aws_client, template())
    name = stack["Outputs"][0]["OutputValue"]
    local_aws_client("cloudformation").delete_stack(StackName=stack["StackName"])
    with pytest.raises(ClientError) as error:
        local_aws_client("rds").describe_option_groups(OptionGroupName=name)
    assert error.value.response["Error"]["Code"] == "OptionGroupNotFoundFault"
