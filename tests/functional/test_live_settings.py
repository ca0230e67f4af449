"""The live settings adapter against moto in-process with localaws's CloudFormation models:
a small PCI stack (RDS instance, security group, log group, KMS key, ElastiCache
replication group) is deployed compliant, then changed behind CloudFormation's back
through the services' own APIs, as someone in the console would; the guardrails report
what drift detection would not see."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from localaws import extensions
from reconciler.aws import session
from reconciler.aws.live_settings import LiveSettings
from reconciler.errors import AwsError
from reconciler.guardrails import StackSettings, check
from tests.functional.localaws_helpers import MYSQL_INSTANCE, network

extensions.install_all()

STACK = "pci-guardrails"
REGION = "us-east-1"
TOKEN = "Valid-Token-0123456789"
KEY_POLICY = {
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
TEMPLATE = {
    "Parameters": {"CacheToken": {"Type": "String", "NoEcho": True}},
    "Resources": {
        **network("ab"),
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {"EnableKeyRotation": True, "KeyPolicy": KEY_POLICY},
        },
        "AuditLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"RetentionInDays": 365, "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
        "DataGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "db and cache", "VpcId": {"Ref": "Vpc"}},
        },
        "DbSubnets": {
            "Type": "AWS::RDS::DBSubnetGroup",
            "Properties": {
                "DBSubnetGroupDescription": "db",
                "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            },
        },
        "Database": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                **MYSQL_INSTANCE,
                "StorageEncrypted": True,
                "KmsKeyId": {"Ref": "Key"},
                "MultiAZ": True,
                "PubliclyAccessible": False,
                "DeletionProtection": True,
                "BackupRetentionPeriod": 7,
                "EnableCloudwatchLogsExports": ["audit", "error", "slowquery"],
                "DBSubnetGroupName": {"Ref": "DbSubnets"},
                "VPCSecurityGroups": [{"Ref": "DataGroup"}],
            },
        },
        "CacheSubnets": {
            "Type": "AWS::ElastiCache::SubnetGroup",
            "Properties": {
                "Description": "cache",
                "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            },
        },
        "Cache": {
            "Type": "AWS::ElastiCache::ReplicationGroup",
            "Properties": {
                "ReplicationGroupDescription": "pci cache",
                "Engine": "redis",
                "EngineVersion": "7.1",
                "CacheNodeType": "cache.t4g.small",
                "NumCacheClusters": 2,
                "AutomaticFailoverEnabled": True,
                "MultiAZEnabled": True,
                "AtRestEncryptionEnabled": True,
                "TransitEncryptionEnabled": True,
                "AuthToken": {"Ref": "CacheToken"},
                "CacheSubnetGroupName": {"Ref": "CacheSubnets"},
                "SecurityGroupIds": [{"Ref": "DataGroup"}],
                "SnapshotRetentionLimit": 7,
            },
        },
    },
}


def client(service: str) -> Any:
    """A client apart from the reconciler's, as someone in the console would use."""
    return boto3.client(service, region_name=REGION)


@pytest.fixture
def stack(aws: None) -> dict[str, str]:
    """The compliant stack, deployed; logical id -> physical id."""
    cloudformation = client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(TEMPLATE),
        Parameters=[{"ParameterKey": "CacheToken", "ParameterValue": TOKEN}],
    )
    assert cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    resources = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def read() -> StackSettings:
    return LiveSettings().read(STACK, REGION)


def controls() -> list[tuple[str, str]]:
    return [(v.logical_id, v.control) for v in check(read())]


def test_reads_every_guarded_resource_of_the_stack(stack):
    """GIVEN the deployed stack WHEN its live settings are read THEN each guarded resource
    is there under its logical and physical id, and none is left unread"""
    settings = read()

    kinds = (
        settings.databases,
        settings.caches,
        settings.security_groups,
        settings.log_groups,
        settings.keys,
    )
    assert [[(r.logical_id, r.physical_id) for r in kind] for kind in kinds] == [
        [("Database", stack["Database"])],
        [("Cache", stack["Cache"])],
        [("DataGroup", stack["DataGroup"])],
        [("AuditLogs", stack["AuditLogs"])],
        [("Key", stack["Key"])],
    ]
    assert settings.unread == ()


def test_reads_the_settings_the_services_report(stack):
    """GIVEN the deployed stack WHEN read THEN the values are the services' own"""
    settings = read()

    (db,), (cache,), (logs,), (key,) = (
        settings.databases,
        settings.caches,
        settings.log_groups,
        settings.keys,
    )
    assert (db.backup_retention_days, db.multi_az, db.log_exports) == (
        7,
        True,
        ("audit", "error", "slowquery"),
    )
    assert (cache.auth_token, cache.automatic_failover, cache.snapshot_retention_days) == (
        True,
        "enabled",
        7,
    )
    assert (logs.retention_days, logs.kms_key_id) == (365, key_arn(stack["Key"]))
    assert (key.rotatable, key.rotation_enabled) == (True, True)


def key_arn(key_id: str) -> str:
    return client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]


def test_compliant_stack_has_no_violations(stack):
    """GIVEN the stack as deployed WHEN checked THEN nothing is reported"""
    assert controls() == []


def test_backup_retention_cut_to_one_day_is_reported(stack):
    """GIVEN backup retention cut to 1 day in RDS WHEN checked THEN the database breaks
    db-instance-backup-enabled, saying so"""
    client("rds").modify_db_instance(
        DBInstanceIdentifier=stack["Database"], BackupRetentionPeriod=1, ApplyImmediately=True
    )

    (violation,) = check(read())

    assert (violation.logical_id, violation.control) == ("Database", "db-instance-backup-enabled")
    assert violation.message.startswith("backup retention is 1 day; PCI needs 7 or more")


def test_redis_port_opened_to_the_internet_is_reported(stack):
    """GIVEN 6379 opened to 0.0.0.0/0 in EC2 WHEN checked THEN the group breaks
    restricted-common-ports"""
    client("ec2").authorize_security_group_ingress(
        GroupId=stack["DataGroup"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 6379,
                "ToPort": 6379,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )

    assert controls() == [("DataGroup", "restricted-common-ports")]


def test_key_rotation_turned_off_is_reported(stack):
    """GIVEN key rotation disabled in KMS WHEN checked THEN the key breaks
    cmk-backing-key-rotation-enabled"""
    client("kms").disable_key_rotation(KeyId=stack["Key"])

    assert controls() == [("Key", "cmk-backing-key-rotation-enabled")]


def test_log_retention_removed_is_compliant(stack):
    """GIVEN the log group's retention policy deleted WHEN checked THEN nothing is reported:
    its events never expire"""
    client("logs").delete_retention_policy(logGroupName=stack["AuditLogs"])

    assert controls() == []


def test_log_retention_put_back_at_30_days_is_reported(stack):
    """GIVEN the retention policy deleted, then put back at 30 days WHEN checked THEN the
    log group breaks cw-loggroup-retention-period-check"""
    logs = client("logs")
    logs.delete_retention_policy(logGroupName=stack["AuditLogs"])
    logs.put_retention_policy(logGroupName=stack["AuditLogs"], retentionInDays=30)

    assert controls() == [("AuditLogs", "cw-loggroup-retention-period-check")]


def test_cache_snapshots_turned_off_are_reported(stack):
    """GIVEN the cache's snapshot retention set to 0 in ElastiCache WHEN checked THEN the
    cache breaks elasticache-redis-cluster-automatic-backup-check"""
    client("elasticache").modify_replication_group(
        ReplicationGroupId=stack["Cache"], SnapshotRetentionLimit=0, ApplyImmediately=True
    )

    assert controls() == [("Cache", "elasticache-redis-cluster-automatic-backup-check")]


def delete_log_group(physical_id: str) -> None:
    client("logs").delete_log_group(logGroupName=physical_id)


def delete_database(physical_id: str) -> None:
    rds = client("rds")
    rds.modify_db_instance(
        DBInstanceIdentifier=physical_id, DeletionProtection=False, ApplyImmediately=True
    )
    rds.delete_db_instance(DBInstanceIdentifier=physical_id, SkipFinalSnapshot=True)


@pytest.mark.parametrize(
    ("logical_id", "delete"), [("AuditLogs", delete_log_group), ("Database", delete_database)]
)
def test_resource_deleted_behind_the_stack_is_listed_unread(stack, logical_id, delete):
    """GIVEN a guarded resource deleted through its service WHEN read THEN it is listed as
    unread, not silently passed"""
    delete(stack[logical_id])

    settings = read()

    assert [(u.logical_id, u.physical_id) for u in settings.unread] == [
        (logical_id, stack[logical_id])
    ]
    assert check(settings) == []


def test_one_call_per_resource_plus_one_for_the_stack(stack):
    """GIVEN the stack's five guarded resources WHEN read THEN the calls are one listing of
    the stack, one describe per resource, and the key's rotation status"""
    calls: list[str] = []
    session.on_every_call(lambda model, **_: calls.append(model.name))

    read()

    assert sorted(calls) == [
        "DescribeDBInstances",
        "DescribeKey",
        "DescribeLogGroups",
        "DescribeReplicationGroups",
        "DescribeSecurityGroups",
        "GetKeyRotationStatus",
        "ListStackResources",
    ]


def test_unknown_stack_is_an_aws_error(aws):
    """GIVEN no stack of that name WHEN read THEN an AwsError names the failed call"""
    with pytest.raises(AwsError, match="ListStackResources"):
        read()
