"""Stack updates of RDS instances, RDS subnet groups, log groups and KMS keys reach moto's
backends in place (`localaws.cfn_updates`), through a real local AWS server."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import cfn_updates
from tests.functional.localaws_helpers import (
    DB_SECURITY_GROUP,
    REMOVE,
    StackUnderTest,
    merged,
    network,
)

BASE_DB = {
    "Engine": "mysql",
    "EngineVersion": "8.0.40",
    "DBInstanceClass": "db.t3.micro",
    "AllocatedStorage": "20",
    "StorageType": "gp2",
    "MasterUsername": "admin",
    "MasterUserPassword": "not-a-secret-1",
    "BackupRetentionPeriod": 7,
    "PreferredBackupWindow": "01:00-01:30",
}
BASE_LOGS = {"RetentionInDays": 7, "Tags": [{"Key": "team", "Value": "db"}]}
BASE_KEY = {
    "Description": "pci database key",
    "EnableKeyRotation": False,
    # A string: moto 5.2.5 breaks DescribeKey for an object given at create.
    "KeyPolicy": json.dumps({"Version": "2012-10-17", "Statement": []}),
    # No Tags: moto 5.2.5 fails to create a key with Tags (it expects TagKey/TagValue).
}
BASE_SUBNET_GROUP = {
    "DBSubnetGroupDescription": "pci database subnets",
    "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
}
NETWORK = {**network("abc"), "DbSecurityGroup": DB_SECURITY_GROUP}


def template(
    db: dict[str, Any] | None = None,
    logs: dict[str, Any] | None = None,
    key: dict[str, Any] | None = None,
    subnet_group: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> str:
    """The project's kind of stack in miniature, with only the resources a test names: each
    argument is a change to that resource's base properties ({} for none)."""
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    if subnet_group is not None:
        resources |= NETWORK
        resources["SubnetGroup"] = {
            "Type": "AWS::RDS::DBSubnetGroup",
            "Properties": merged(BASE_SUBNET_GROUP, subnet_group),
        }
    if key is not None:
        resources["Key"] = {"Type": "AWS::KMS::Key", "Properties": merged(BASE_KEY, key)}
        outputs["KeyArn"] = {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}
    if db is not None:
        base = BASE_DB
        if subnet_group is not None:
            base = {**BASE_DB, "DBSubnetGroupName": {"Ref": "SubnetGroup"}}
        resources["Db"] = {"Type": "AWS::RDS::DBInstance", "Properties": merged(base, db)}
        outputs["DbId"] = {"Value": {"Ref": "Db"}}
        outputs["DbEndpoint"] = {"Value": {"Fn::GetAtt": ["Db", "Endpoint.Address"]}}
    if logs is not None:
        resources["Logs"] = {"Type": "AWS::Logs::LogGroup", "Properties": merged(BASE_LOGS, logs)}
        outputs["LogGroupArn"] = {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}}
    return json.dumps({"Parameters": parameters or {}, "Resources": resources, "Outputs": outputs})


class Stack(StackUnderTest):
    """One test's stack and the clients that look behind it."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "pci")
        self.rds = client("rds")
        self.logs = client("logs")
        self.kms = client("kms")

    def db(self) -> dict[str, Any]:
        instance_id = self.physical_ids()["Db"]
        return self.rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]

    def db_ids(self) -> list[str]:
        """Every instance of this stack's, found by the stack name in generated ids."""
        instances = self.rds.describe_db_instances()["DBInstances"]
        return [
            d["DBInstanceIdentifier"]
            for d in instances
            if d["DBInstanceIdentifier"].startswith(self.name)
        ]

    def log_group(self) -> dict[str, Any]:
        name = self.physical_ids()["Logs"]
        groups = self.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        return next(group for group in groups if group["logGroupName"] == name)

    def key_id(self) -> str:
        key_id = self.physical_ids()["Key"]
        assert key_id
        return key_id

    def subnet_group(self) -> dict[str, Any]:
        name = self.db()["DBSubnetGroup"]["DBSubnetGroupName"]
        groups = self.rds.describe_db_subnet_groups(DBSubnetGroupName=name)
        return groups["DBSubnetGroups"][0]


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> Stack:
    return Stack(local_aws_client)


# --- AWS::RDS::DBInstance ---------------------------------------------------------------------

DB_UPDATES = [
    # (property, new template value, DescribeDBInstances field, expected field value)
    ("DBInstanceClass", "db.r6g.large", "DBInstanceClass", "db.r6g.large"),
    ("AllocatedStorage", "100", "AllocatedStorage", 100),
    ("BackupRetentionPeriod", 14, "BackupRetentionPeriod", 14),
    ("MultiAZ", "true", "MultiAZ", True),
    ("DeletionProtection", True, "DeletionProtection", True),
    ("PubliclyAccessible", True, "PubliclyAccessible", True),
    ("EngineVersion", "8.0.41", "EngineVersion", "8.0.41"),
    ("StorageType", "gp3", "StorageType", "gp3"),
    ("PreferredBackupWindow", "03:00-03:30", "PreferredBackupWindow", "03:00-03:30"),
    (
        "PreferredMaintenanceWindow",
        "Sun:05:00-Sun:05:30",
        "PreferredMaintenanceWindow",
        "sun:05:00-sun:05:30",
    ),
    (
        "Tags",
        [{"Key": "compliance", "Value": "pci-dss"}],
        "TagList",
        [{"Key": "compliance", "Value": "pci-dss"}],
    ),
]


@pytest.mark.parametrize(
    ("prop", "value", "field", "expected"), DB_UPDATES, ids=[row[0] for row in DB_UPDATES]
)
def test_db_instance_update_is_applied_to_the_instance(
    stack: Stack, prop: str, value: Any, field: str, expected: Any
) -> None:
    """GIVEN a stack with an RDS instance
    WHEN an update changes one of its properties that AWS modifies in place
    THEN DescribeDBInstances shows the new value"""
    stack.create(template(db={}))

    stack.update(template(db={prop: value}))

    assert stack.db()[field] == expected


def test_updated_db_instance_stays_in_the_stack_with_the_same_physical_id(stack: Stack) -> None:
    """GIVEN a stack with an RDS instance
    WHEN an update changes its instance class
    THEN the stack still lists the instance, under the same identifier, and is UPDATE_COMPLETE"""
    stack.create(template(db={}))
    before = stack.physical_ids()

    stack.update(template(db={"DBInstanceClass": "db.t3.large"}))

    assert stack.physical_ids() == before
    assert stack.status() == "UPDATE_COMPLETE"


def test_outputs_reading_the_updated_instance_still_resolve(stack: Stack) -> None:
    """GIVEN a stack whose outputs Ref and GetAtt its RDS instance
    WHEN an update changes the instance
    THEN the outputs keep their values"""
    stack.create(template(db={}))
    before = stack.outputs()

    stack.update(template(db={"BackupRetentionPeriod": 30}))

    assert set(before) == {"DbId", "DbEndpoint"}
    assert stack.outputs() == before


def test_executed_change_set_applies_the_update_to_the_instance(stack: Stack) -> None:
    """GIVEN a stack with an RDS instance
    WHEN a change set that changes the instance class is created and executed
    THEN the instance has the new class (the reconciler deploys through change sets)"""
    stack.create(template(db={}))
    stack.cloudformation.create_change_set(
        StackName=stack.name,
        ChangeSetName="resize",
        ChangeSetType="UPDATE",
        TemplateBody=template(db={"DBInstanceClass": "db.m7g.large"}),
    )

    stack.cloudformation.execute_change_set(StackName=stack.name, ChangeSetName="resize")

    assert stack.db()["DBInstanceClass"] == "db.m7g.large"


def test_parameter_only_update_is_applied_to_the_instance(stack: Stack) -> None:
    """GIVEN a stack whose instance class comes from a parameter
    WHEN the stack is updated with the same template and a new parameter value
    THEN the instance has the new class"""
    body = template(
        parameters={"InstanceClass": {"Type": "String"}},
        db={"DBInstanceClass": {"Ref": "InstanceClass"}},
    )
    stack.create(body, parameters={"InstanceClass": "db.t3.micro"})

    stack.update(body, parameters={"InstanceClass": "db.t3.xlarge"})

    assert stack.db()["DBInstanceClass"] == "db.t3.xlarge"


def test_removed_backup_retention_goes_back_to_the_aws_default_of_one_day(stack: Stack) -> None:
    """GIVEN an RDS instance created with a 7-day backup retention
    WHEN an update removes BackupRetentionPeriod from the template
    THEN the instance keeps backups for AWS's default of 1 day"""
    stack.create(template(db={}))

    stack.update(template(db={"BackupRetentionPeriod": REMOVE}))

    assert stack.db()["BackupRetentionPeriod"] == 1


def test_vpc_security_groups_update_sets_the_instance_security_groups(stack: Stack) -> None:
    """GIVEN an RDS instance in the default security group
    WHEN an update sets VPCSecurityGroups to the stack's own group
    THEN the instance is in exactly that group"""
    stack.create(template(db={}, subnet_group={}))

    stack.update(template(db={"VPCSecurityGroups": [{"Ref": "DbSecurityGroup"}]}, subnet_group={}))

    groups = [g["VpcSecurityGroupId"] for g in stack.db()["VpcSecurityGroups"]]
    assert groups == [stack.physical_ids()["DbSecurityGroup"]]


def test_db_parameter_group_update_points_the_instance_at_the_group(stack: Stack) -> None:
    """GIVEN an RDS instance and a parameter group made outside the stack
    WHEN an update names the group in DBParameterGroupName
    THEN the instance uses that group"""
    stack.create(template(db={}))
    group = f"{stack.name}-mysql80"
    stack.rds.create_db_parameter_group(
        DBParameterGroupName=group, DBParameterGroupFamily="mysql8.0", Description="pci"
    )

    stack.update(template(db={"DBParameterGroupName": group}))

    names = [g["DBParameterGroupName"] for g in stack.db()["DBParameterGroups"]]
    assert names == [group]


def test_create_only_change_replaces_a_generated_name_instance(stack: Stack) -> None:
    """GIVEN an RDS instance whose identifier CloudFormation generated
    WHEN an update changes DBName (create-only)
    THEN a new instance replaces it: the stack points at the new one, the old one is gone"""
    stack.create(template(db={"DBName": "payments"}))
    old_id = stack.physical_ids()["Db"]

    stack.update(template(db={"DBName": "ledger"}))

    new = stack.db()
    assert new["DBInstanceIdentifier"] != old_id
    assert new["DBName"] == "ledger"
    assert stack.db_ids() == [new["DBInstanceIdentifier"]]


def test_create_only_change_of_a_custom_named_instance_fails_the_update(stack: Stack) -> None:
    """GIVEN an RDS instance with a custom DBInstanceIdentifier
    WHEN an update changes DBName (create-only) but keeps the identifier
    THEN the update fails as in AWS, and the instance is left as it was"""
    custom = {"DBInstanceIdentifier": stack.name, "DBName": "payments"}
    stack.create(template(db=custom))

    with pytest.raises(ClientError, match="custom-named resource requires replacing"):
        stack.update(template(db={**custom, "DBName": "ledger"}))

    assert stack.db()["DBName"] == "payments"


def test_a_change_localaws_cannot_apply_is_logged_not_hidden(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN an RDS instance
    WHEN an update changes a property localaws does not model (PerformanceInsights)
    THEN the update completes and a warning names the property"""
    stack.create(template(db={}))

    with caplog.at_level(logging.WARNING, logger="localaws.cfn_updates"):
        stack.update(template(db={"EnablePerformanceInsights": True}))

    assert "EnablePerformanceInsights" in caplog.text
    assert stack.status() == "UPDATE_COMPLETE"


# --- AWS::RDS::DBSubnetGroup ------------------------------------------------------------------


def test_subnet_group_update_changes_description_and_subnets_in_place(stack: Stack) -> None:
    """GIVEN a subnet group over subnets A and B, used by an RDS instance
    WHEN an update changes its description and adds subnet C
    THEN the same group (still describable, still the instance's) has both changes"""
    stack.create(template(db={}, subnet_group={}))
    name_before = stack.subnet_group()["DBSubnetGroupName"]
    subnet_ids = [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}, {"Ref": "SubnetC"}]

    stack.update(
        template(
            db={},
            subnet_group={"DBSubnetGroupDescription": "moved", "SubnetIds": subnet_ids},
        )
    )

    group = stack.subnet_group()
    ids = stack.physical_ids()
    assert "SubnetGroup" in ids
    assert group["DBSubnetGroupName"] == name_before
    assert group["DBSubnetGroupDescription"] == "moved"
    subnets = {s["SubnetIdentifier"] for s in group["Subnets"]}
    assert subnets == {ids["SubnetA"], ids["SubnetB"], ids["SubnetC"]}


# --- AWS::Logs::LogGroup ----------------------------------------------------------------------


def test_log_group_retention_update_is_applied(stack: Stack) -> None:
    """GIVEN a log group with 7-day retention
    WHEN an update sets RetentionInDays to 365
    THEN the same log group keeps events for 365 days"""
    stack.create(template(logs={}))
    name_before = stack.physical_ids()["Logs"]

    stack.update(template(logs={"RetentionInDays": 365}))

    assert stack.physical_ids()["Logs"] == name_before
    assert stack.log_group()["retentionInDays"] == 365


def test_removed_log_group_retention_means_never_expire(stack: Stack) -> None:
    """GIVEN a log group with 7-day retention
    WHEN an update removes RetentionInDays
    THEN the log group has no retention (AWS's default: never expire)"""
    stack.create(template(logs={}))

    stack.update(template(logs={"RetentionInDays": REMOVE}))

    assert "retentionInDays" not in stack.log_group()


def test_log_group_kms_key_update_is_applied(stack: Stack) -> None:
    """GIVEN an unencrypted log group and a KMS key in the stack
    WHEN an update sets the group's KmsKeyId to the key's ARN
    THEN DescribeLogGroups reports that key"""
    stack.create(template(logs={}, key={}))

    stack.update(template(logs={"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}, key={}))

    assert stack.log_group()["kmsKeyId"] == stack.outputs()["KeyArn"]


def test_log_group_tags_update_sets_changes_and_removes_stack_tags(stack: Stack) -> None:
    """GIVEN a log group tagged team=db by the stack and owner=ops from outside
    WHEN an update replaces the stack's tags with env=prod
    THEN team is removed, env added, and the outside tag is left alone"""
    stack.create(template(logs={}))
    arn = stack.outputs()["LogGroupArn"]
    stack.logs.tag_resource(resourceArn=arn, tags={"owner": "ops"})

    stack.update(template(logs={"Tags": [{"Key": "env", "Value": "prod"}]}))

    tags = stack.logs.list_tags_for_resource(resourceArn=arn)["tags"]
    assert tags == {"owner": "ops", "env": "prod"}


def test_log_group_name_change_replaces_the_log_group(stack: Stack) -> None:
    """GIVEN a log group named /<stack>/a
    WHEN an update renames it to /<stack>/b (create-only)
    THEN /<stack>/b replaces it in the stack and /<stack>/a is deleted"""
    stack.create(template(logs={"LogGroupName": f"/{stack.name}/a"}))

    stack.update(template(logs={"LogGroupName": f"/{stack.name}/b"}))

    groups = stack.logs.describe_log_groups(logGroupNamePrefix=f"/{stack.name}/")["logGroups"]
    assert stack.physical_ids()["Logs"] == f"/{stack.name}/b"
    assert [g["logGroupName"] for g in groups] == [f"/{stack.name}/b"]


# --- AWS::KMS::Key ----------------------------------------------------------------------------


def test_kms_key_rotation_is_enabled_by_update(stack: Stack) -> None:
    """GIVEN a KMS key without rotation
    WHEN an update sets EnableKeyRotation to true
    THEN the same key has rotation enabled"""
    stack.create(template(key={}))
    key_id = stack.key_id()

    stack.update(template(key={"EnableKeyRotation": True}))

    assert stack.key_id() == key_id
    assert stack.kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True


def test_kms_key_description_update_is_applied(stack: Stack) -> None:
    """GIVEN a KMS key
    WHEN an update changes its Description
    THEN DescribeKey shows the new description"""
    stack.create(template(key={}))

    stack.update(template(key={"Description": "rotated quarterly"}))

    metadata = stack.kms.describe_key(KeyId=stack.key_id())["KeyMetadata"]
    assert metadata["Description"] == "rotated quarterly"


def test_kms_key_policy_given_as_an_object_is_stored_as_a_document(stack: Stack) -> None:
    """GIVEN a KMS key
    WHEN an update gives KeyPolicy as a JSON object, as templates usually do
    THEN GetKeyPolicy returns that policy and DescribeKey still works"""
    stack.create(template(key={}))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }

    stack.update(template(key={"KeyPolicy": policy}))

    stored = stack.kms.get_key_policy(KeyId=stack.key_id(), PolicyName="default")["Policy"]
    assert json.loads(stored) == policy
    assert stack.kms.describe_key(KeyId=stack.key_id())["KeyMetadata"]["Enabled"] is True


def test_kms_key_tags_are_set_by_update(stack: Stack) -> None:
    """GIVEN a KMS key without tags
    WHEN an update gives it team=db and env=prod
    THEN the key carries exactly those tags"""
    stack.create(template(key={}))

    stack.update(template(key={"Tags": [_tag("team", "db"), _tag("env", "prod")]}))

    assert _key_tags(stack) == {"team": "db", "env": "prod"}


def test_kms_key_tags_dropped_from_the_template_are_removed(stack: Stack) -> None:
    """GIVEN a KMS key tagged team=db and env=prod by an earlier update
    WHEN an update keeps only team=platform
    THEN env is removed and team changed"""
    stack.create(template(key={}))
    stack.update(template(key={"Tags": [_tag("team", "db"), _tag("env", "prod")]}))

    stack.update(template(key={"Tags": [_tag("team", "platform")]}))

    assert _key_tags(stack) == {"team": "platform"}


def _tag(key: str, value: str) -> dict[str, str]:
    return {"Key": key, "Value": value}


def _key_tags(stack: Stack) -> dict[str, str]:
    tags = stack.kms.list_resource_tags(KeyId=stack.key_id())["Tags"]
    return {t["TagKey"]: t["TagValue"] for t in tags}


# --- install() ----------------------------------------------------------------------------------


def test_install_twice_changes_nothing(stack: Stack) -> None:
    """GIVEN the extension installed by the running local AWS
    WHEN install() is called again
    THEN the patched methods are the same objects and updates still apply"""
    models = [updater.model for updater in cfn_updates.UPDATERS]
    before = [
        (m.create_from_cloudformation_json, m.update_from_cloudformation_json) for m in models
    ]

    cfn_updates.install()

    after = [(m.create_from_cloudformation_json, m.update_from_cloudformation_json) for m in models]
    stack.create(template(logs={}))
    stack.update(template(logs={"RetentionInDays": 30}))
    assert after == before
    assert stack.log_group()["retentionInDays"] == 30
