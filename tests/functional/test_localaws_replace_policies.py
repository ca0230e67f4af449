"""Executing a stack update on the local AWS honours UpdateReplacePolicy and DeletionPolicy
(`localaws.cfn_policies`), creates and deletes resources whose condition turns, and fails
the changes AWS refuses rather than replaces: a KMS key's KeySpec, KeyUsage or MultiRegion,
an RDS instance's engine (`localaws.cfn_updates`), through a real local AWS server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.localaws_helpers import MYSQL_INSTANCE, StackUnderTest, network


def template(
    resources: dict[str, Any], parameters: dict[str, Any] | None = None, **top: Any
) -> str:
    return json.dumps({"Parameters": parameters or {}, "Resources": resources, **top})


def log_group(name: str, **attributes: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": name, "RetentionInDays": 7},
        **attributes,
    }


def db(properties: dict[str, Any] | None = None, **attributes: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {**MYSQL_INSTANCE, **(properties or {})},
        **attributes,
    }


def key(properties: dict[str, Any] | None = None, **attributes: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::KMS::Key",
        "Properties": {"Description": "pci", **(properties or {})},
        **attributes,
    }


# Something left in the stack when a test removes the resource it looks at.
ANCHOR = {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v"}}


class Stack(StackUnderTest):
    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "pol")
        self.logs = client("logs")
        self.rds = client("rds")
        self.kms = client("kms")
        self.elasticache = client("elasticache")
        self.ssm = client("ssm")

    def execute(self, body: str, parameters: dict[str, str] | None = None) -> None:
        """Create and execute an UPDATE change set, as the reconciler deploys."""
        self.cloudformation.create_change_set(
            StackName=self.name,
            ChangeSetName="next",
            ChangeSetType="UPDATE",
            TemplateBody=body,
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()
            ],
        )
        self.cloudformation.execute_change_set(StackName=self.name, ChangeSetName="next")

    def anchor(self) -> dict[str, Any]:
        return {**ANCHOR, "Properties": {**ANCHOR["Properties"], "Name": f"/{self.name}/anchor"}}

    def log_group_names(self) -> list[str]:
        groups = self.logs.describe_log_groups(logGroupNamePrefix=f"/{self.name}/")["logGroups"]
        return sorted(group["logGroupName"] for group in groups)

    def db_ids(self) -> list[str]:
        instances = self.rds.describe_db_instances()["DBInstances"]
        return [
            d["DBInstanceIdentifier"] for d in instances if d["DBInstanceIdentifier"] in self._dbs
        ]

    def remember_db(self) -> str:
        db_id = self.physical_ids()["Db"]
        assert db_id
        self._dbs = getattr(self, "_dbs", set()) | {db_id}
        return db_id

    def snapshots_of(self, db_id: str) -> list[dict[str, Any]]:
        return self.rds.describe_db_snapshots(DBInstanceIdentifier=db_id, SnapshotType="manual")[
            "DBSnapshots"
        ]


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> Stack:
    return Stack(local_aws_client)


# --- changes AWS refuses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"MultiRegion": True}, {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}],
    ids=["MultiRegion", "KeySpec-KeyUsage"],
)
def test_immutable_kms_key_change_fails_the_update_and_keeps_the_key(
    stack: Stack, change: dict[str, Any]
) -> None:
    """GIVEN a KMS key with UpdateReplacePolicy Retain
    WHEN a change set changes a property AWS never changes on an existing key
    THEN the key's update fails, the stack rolls back, and the same key still exists, enabled"""
    stack.create(template({"Key": key(UpdateReplacePolicy="Retain")}))
    key_id = stack.physical_ids()["Key"]

    stack.execute(template({"Key": key(change, UpdateReplacePolicy="Retain")}))

    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Key", "UPDATE_FAILED")
    assert "existing KMS key" in reason
    assert stack.physical_ids()["Key"] == key_id
    metadata = stack.kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["MultiRegion"] is False


def test_kms_key_immutable_change_through_update_stack_fails_too(stack: Stack) -> None:
    """GIVEN a KMS key
    WHEN UpdateStack sets MultiRegion
    THEN the stack ends UPDATE_ROLLBACK_COMPLETE and the key is unchanged"""
    stack.create(template({"Key": key()}))
    key_id = stack.physical_ids()["Key"]

    stack.update(template({"Key": key({"MultiRegion": True})}))

    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_db_engine_change_fails_the_update(stack: Stack) -> None:
    """GIVEN a MySQL instance
    WHEN a change set makes it postgres
    THEN the update fails with RDS's refusal, the stack rolls back, and the instance is still
    the same MySQL instance"""
    stack.create(template({"Db": db()}))
    db_id = stack.physical_ids()["Db"]

    stack.execute(template({"Db": db({"Engine": "postgres", "EngineVersion": "16.4"})}))

    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Db", "UPDATE_FAILED")
    assert "from mysql to postgres" in reason
    instance = stack.rds.describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]
    assert instance["Engine"] == "mysql"


# --- UpdateReplacePolicy ------------------------------------------------------------------------


def test_replaced_resource_is_deleted_by_default(stack: Stack) -> None:
    """GIVEN a log group /<stack>/a without UpdateReplacePolicy
    WHEN a change set renames it
    THEN only /<stack>/b is left"""
    stack.create(template({"Logs": log_group(f"/{stack.name}/a")}))

    stack.execute(template({"Logs": log_group(f"/{stack.name}/b")}))

    assert stack.log_group_names() == [f"/{stack.name}/b"]


def test_update_replace_policy_retain_keeps_the_replaced_resource(stack: Stack) -> None:
    """GIVEN a log group /<stack>/a with UpdateReplacePolicy Retain
    WHEN a change set renames it (a replacement)
    THEN the stack has /<stack>/b and /<stack>/a still exists"""
    stack.create(template({"Logs": log_group(f"/{stack.name}/a", UpdateReplacePolicy="Retain")}))

    stack.execute(template({"Logs": log_group(f"/{stack.name}/b", UpdateReplacePolicy="Retain")}))

    assert stack.status() == "UPDATE_COMPLETE"
    assert stack.physical_ids()["Logs"] == f"/{stack.name}/b"
    assert stack.log_group_names() == [f"/{stack.name}/a", f"/{stack.name}/b"]


def test_update_replace_policy_retain_keeps_a_replaced_db_instance(stack: Stack) -> None:
    """GIVEN an RDS instance with UpdateReplacePolicy Retain
    WHEN a change set changes its DBName (create-only)
    THEN a new instance is in the stack and the old one still exists"""
    stack.create(template({"Db": db({"DBName": "payments"}, UpdateReplacePolicy="Retain")}))
    old_id = stack.remember_db()

    stack.execute(template({"Db": db({"DBName": "ledger"}, UpdateReplacePolicy="Retain")}))

    new_id = stack.remember_db()
    assert new_id != old_id
    assert sorted(stack.db_ids()) == sorted([old_id, new_id])


def test_update_replace_policy_snapshot_snapshots_then_deletes_the_old_instance(
    stack: Stack,
) -> None:
    """GIVEN an RDS instance with UpdateReplacePolicy Snapshot
    WHEN a change set changes its DBName (create-only)
    THEN a manual snapshot of the old instance exists and the old instance is gone"""
    stack.create(template({"Db": db({"DBName": "payments"}, UpdateReplacePolicy="Snapshot")}))
    old_id = stack.remember_db()

    stack.execute(template({"Db": db({"DBName": "ledger"}, UpdateReplacePolicy="Snapshot")}))

    new_id = stack.remember_db()
    assert stack.db_ids() == [new_id]
    assert len(stack.snapshots_of(old_id)) == 1


# --- DeletionPolicy -----------------------------------------------------------------------------


def test_deletion_policy_retain_keeps_a_removed_resource(stack: Stack) -> None:
    """GIVEN a log group with DeletionPolicy Retain
    WHEN a change set removes it from the template
    THEN the stack no longer lists it but the log group still exists"""
    name = f"/{stack.name}/kept"
    stack.create(
        template({"Logs": log_group(name, DeletionPolicy="Retain"), "Anchor": stack.anchor()})
    )

    stack.execute(template({"Anchor": stack.anchor()}))

    assert "Logs" not in stack.physical_ids()
    assert stack.log_group_names() == [name]


def test_deletion_policy_snapshot_snapshots_a_removed_db_instance(stack: Stack) -> None:
    """GIVEN an RDS instance with DeletionPolicy Snapshot
    WHEN a change set removes it
    THEN the instance is gone and a manual snapshot of it exists"""
    stack.create(template({"Db": db(DeletionPolicy="Snapshot"), "Anchor": stack.anchor()}))
    db_id = stack.remember_db()

    stack.execute(template({"Anchor": stack.anchor()}))

    assert stack.db_ids() == []
    snapshots = stack.snapshots_of(db_id)
    assert [s["DBInstanceIdentifier"] for s in snapshots] == [db_id]


def test_deletion_policy_delete_takes_no_snapshot(stack: Stack) -> None:
    """GIVEN an RDS instance with DeletionPolicy Delete
    WHEN a change set removes it
    THEN the instance is gone without a snapshot"""
    stack.create(template({"Db": db(DeletionPolicy="Delete"), "Anchor": stack.anchor()}))
    db_id = stack.remember_db()

    stack.execute(template({"Anchor": stack.anchor()}))

    assert stack.db_ids() == []
    assert stack.snapshots_of(db_id) == []


def test_db_instance_without_deletion_policy_is_snapshot_when_the_stack_is_deleted(
    stack: Stack,
) -> None:
    """GIVEN an RDS instance without a DeletionPolicy (AWS's default: Snapshot)
    WHEN the stack is deleted
    THEN a manual snapshot of the instance exists"""
    stack.create(template({"Db": db()}))
    db_id = stack.remember_db()

    stack.cloudformation.delete_stack(StackName=stack.name)

    assert stack.db_ids() == []
    assert len(stack.snapshots_of(db_id)) == 1


def test_deletion_policy_snapshot_snapshots_a_removed_replication_group(stack: Stack) -> None:
    """GIVEN an ElastiCache replication group with DeletionPolicy Snapshot
    WHEN a change set removes it
    THEN the group is gone and a snapshot of it exists"""
    cache = {
        "Type": "AWS::ElastiCache::ReplicationGroup",
        "DeletionPolicy": "Snapshot",
        "Properties": {
            "ReplicationGroupDescription": "sessions",
            "Engine": "redis",
            "CacheNodeType": "cache.t4g.small",
            "NumCacheClusters": 1,
            "CacheSubnetGroupName": {"Ref": "CacheSubnets"},
        },
    }
    subnets = {
        "Type": "AWS::ElastiCache::SubnetGroup",
        "Properties": {
            "Description": "cache",
            "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
        },
    }
    base = {**network("ab"), "CacheSubnets": subnets}
    stack.create(template({**base, "Cache": cache}))
    group_id = stack.physical_ids()["Cache"]

    stack.execute(template(base))

    groups = stack.elasticache.describe_replication_groups()["ReplicationGroups"]
    assert group_id not in [g["ReplicationGroupId"] for g in groups]
    # All snapshots: moto answers a ReplicationGroupId filter only while the group exists.
    snapshots = stack.elasticache.describe_snapshots()["Snapshots"]
    assert [s.get("ReplicationGroupId") for s in snapshots].count(group_id) == 1


# --- conditions that turn -----------------------------------------------------------------------

ENV = {"Env": {"Type": "String"}}
IS_PROD = {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}}


def test_resource_whose_condition_turns_false_is_deleted(stack: Stack) -> None:
    """GIVEN a log group that exists only when Env is prod, deployed with Env=prod
    WHEN the same template is deployed with Env=dev
    THEN the log group is deleted and the stack no longer lists it"""
    body = template(
        {"Logs": log_group(f"/{stack.name}/prod", Condition="IsProd"), "Anchor": stack.anchor()},
        ENV,
        Conditions=IS_PROD,
    )
    stack.create(body, {"Env": "prod"})

    stack.execute(body, {"Env": "dev"})

    assert stack.status() == "UPDATE_COMPLETE"
    assert "Logs" not in stack.physical_ids()
    assert stack.log_group_names() == []


def test_resource_whose_condition_turns_false_is_kept_with_deletion_policy_retain(
    stack: Stack,
) -> None:
    """GIVEN a log group with DeletionPolicy Retain that exists only when Env is prod
    WHEN the template is deployed again with Env=dev
    THEN the stack no longer lists it but the log group still exists"""
    logs = log_group(f"/{stack.name}/prod", Condition="IsProd", DeletionPolicy="Retain")
    body = template({"Logs": logs, "Anchor": stack.anchor()}, ENV, Conditions=IS_PROD)
    stack.create(body, {"Env": "prod"})

    stack.execute(body, {"Env": "dev"})

    assert "Logs" not in stack.physical_ids()
    assert stack.log_group_names() == [f"/{stack.name}/prod"]


def test_resource_whose_condition_turns_true_is_created(stack: Stack) -> None:
    """GIVEN a log group that exists only when Env is prod, deployed with Env=dev
    WHEN the template is deployed again with Env=prod
    THEN the log group exists and the stack lists it"""
    body = template(
        {"Logs": log_group(f"/{stack.name}/prod", Condition="IsProd"), "Anchor": stack.anchor()},
        ENV,
        Conditions=IS_PROD,
    )
    stack.create(body, {"Env": "dev"})

    stack.execute(body, {"Env": "prod"})

    assert stack.physical_ids()["Logs"] == f"/{stack.name}/prod"
    assert stack.log_group_names() == [f"/{stack.name}/prod"]
