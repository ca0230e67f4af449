"""AWS::RDS::OptionGroup deploys on the local AWS (`localaws.cfn_rds_option_group`), through
a real local AWS server. Nothing here installs the model: the local AWS must, through
`localaws.extensions.INSTALLERS`, or every deployment below fails."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from moto.core.common_models import CloudFormationModel

from localaws import cfn_rds_option_group, extensions, rollback
from tests.functional.localaws_helpers import MYSQL_INSTANCE, StackUnderTest

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
    stack = StackUnderTest(client, "og")
    stack.create(body)
    return stack.described()


def with_database() -> str:
    """The option group and a MySQL 8.4 instance naming it with `OptionGroupName: !Ref`."""
    body = json.loads(template())
    body["Resources"]["Database"] = {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            **MYSQL_INSTANCE,
            "OptionGroupName": {"Ref": "Options"},
            "EnableCloudwatchLogsExports": ["audit", "error"],
        },
    }
    body["Outputs"]["Database"] = {"Value": {"Ref": "Database"}}
    return json.dumps(body)


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


def test_db_instance_naming_the_option_group_deploys_with_it(local_aws_client):
    """GIVEN a MySQL 8.4 instance with `OptionGroupName: !Ref Options` (the PCI template's
    audit log export) and the option group in the same stack
    WHEN the stack is created
    THEN it is CREATE_COMPLETE and DescribeDBInstances lists the group, in sync, in the
    instance's OptionGroupMemberships"""
    stack = deploy(local_aws_client, with_database())
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    (instance,) = local_aws_client("rds").describe_db_instances(
        DBInstanceIdentifier=outputs["Database"]
    )["DBInstances"]
    assert instance["OptionGroupMemberships"] == [
        {"OptionGroupName": outputs["Name"], "Status": "in-sync"}
    ]


def test_the_local_aws_installs_the_model_before_rollback():
    """GIVEN the running local AWS's extensions
    WHEN the option group model's installer is looked for
    THEN it is in INSTALLERS, before rollback's (with the other model installers), and the
    model is registered with moto: without it the deployments in this file fail"""
    installers = list(extensions.INSTALLERS)

    assert cfn_rds_option_group.install in installers
    assert installers.index(cfn_rds_option_group.install) < installers.index(rollback.install)
    assert "AWS::RDS::OptionGroup" in cfn_rds_option_group.registered_models()


def test_importing_the_module_registers_nothing_and_install_twice_changes_nothing(
    local_aws_client,
):
    """GIVEN the model installed by the running local AWS
    WHEN the module's own resource class is looked at and install() is called again
    THEN that class is no CloudFormation model (moto lists every subclass, so importing the
    module would register it), install() keeps the same model, and groups still deploy"""
    from moto.cloudformation import parsing

    before = cfn_rds_option_group.registered_models()

    cfn_rds_option_group.install()

    assert not issubclass(cfn_rds_option_group.OptionGroupResource, CloudFormationModel)
    assert cfn_rds_option_group.registered_models() == before
    assert parsing.get_model_map()["AWS::RDS::OptionGroup"] is before["AWS::RDS::OptionGroup"]
    assert deploy(local_aws_client, template())["StackStatus"] == "CREATE_COMPLETE"
