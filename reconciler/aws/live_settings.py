"""Live settings of a stack's guarded resources, for the PCI guardrails: what RDS,
ElastiCache, EC2, CloudWatch Logs and KMS say each resource runs with, translated into
`reconciler.guardrails` values at this boundary.

Calls per stack, all read-only:
- one ListStackResources (DescribeStackResources stops at 100 resources; this pages, and
  a page holds a typical stack whole);
- one DescribeDBInstances per DB instance and one DescribeReplicationGroups per
  replication group;
- one DescribeSecurityGroups for all the stack's security groups (a second only for
  groups named rather than id'd, as in a default VPC);
- one DescribeLogGroups per log group (filtered by its name);
- one DescribeKey per KMS key, and GetKeyRotationStatus only for a key that can rotate.
The PCI stack (1 instance, 1 replication group, 5 security groups, 7 log groups, 1 key)
takes 13.

A guarded resource without a physical id, or one its service no longer knows (deleted
behind CloudFormation's back), is listed in `StackSettings.unread`: nothing about it was
checked. Any other AWS failure raises `AwsError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import botocore.exceptions

from reconciler.aws import session
from reconciler.guardrails import (
    CacheSettings,
    DatabaseSettings,
    IngressRule,
    KeySettings,
    LogGroupSettings,
    SecurityGroupSettings,
    StackSettings,
    Unread,
)

# The codes RDS, ElastiCache and KMS give for an id they do not know (botocore's models).
NOT_FOUND = frozenset({"DBInstanceNotFound", "ReplicationGroupNotFoundFault", "NotFoundException"})
GONE = frozenset({"DELETE_COMPLETE", "DELETE_IN_PROGRESS"})
GUARDED = frozenset(
    {
        DatabaseSettings.TYPE,
        CacheSettings.TYPE,
        SecurityGroupSettings.TYPE,
        LogGroupSettings.TYPE,
        KeySettings.TYPE,
    }
)


@dataclass(frozen=True)
class _Resource:
    logical_id: str
    resource_type: str
    physical_id: str


class LiveSettings:
    def __init__(self, client_for: Callable[[str, str], Any] | None = None) -> None:
        self._client_for = client_for or session.client

    def read(self, stack_name: str, region: str) -> StackSettings:
        with session.aws_errors():
            resources, unread = self._resources(stack_name, region)
            groups = self._security_groups(
                [r.physical_id for r in resources if r.resource_type == SecurityGroupSettings.TYPE],
                region,
            )
            readers: dict[str, Callable[[_Resource], Any]] = {
                DatabaseSettings.TYPE: lambda r: self._database(r, region),
                CacheSettings.TYPE: lambda r: self._cache(r, region),
                SecurityGroupSettings.TYPE: lambda r: _security_group(r, groups),
                LogGroupSettings.TYPE: lambda r: self._log_group(r, region),
                KeySettings.TYPE: lambda r: self._key(r, region),
            }
            found: dict[str, list[Any]] = {resource_type: [] for resource_type in readers}
            for resource in resources:
                settings = readers[resource.resource_type](resource)
                if settings is None:
                    reason = "not found: deleted outside CloudFormation?"
                    unread.append(
                        Unread(
                            resource.logical_id,
                            resource.resource_type,
                            resource.physical_id,
                            reason,
                        )
                    )
                else:
                    found[resource.resource_type].append(settings)
        return StackSettings(
            stack_name=stack_name,
            region=region,
            databases=tuple(found[DatabaseSettings.TYPE]),
            caches=tuple(found[CacheSettings.TYPE]),
            security_groups=tuple(found[SecurityGroupSettings.TYPE]),
            log_groups=tuple(found[LogGroupSettings.TYPE]),
            keys=tuple(found[KeySettings.TYPE]),
            unread=tuple(unread),
        )

    # --- the stack ------------------------------------------------------------------

    def _resources(self, stack_name: str, region: str) -> tuple[list[_Resource], list[Unread]]:
        """The guarded resources with a physical id, and those without one."""
        resources: list[_Resource] = []
        unread: list[Unread] = []
        cloudformation = self._client_for("cloudformation", region)
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        for page in pages:
            for summary in page["StackResourceSummaries"]:
                resource_type = summary["ResourceType"]
                status = summary.get("ResourceStatus", "")
                if resource_type not in GUARDED or status in GONE:
                    continue
                logical_id = summary["LogicalResourceId"]
                physical_id = summary.get("PhysicalResourceId") or ""
                if physical_id:
                    resources.append(_Resource(logical_id, resource_type, physical_id))
                else:
                    unread.append(
                        Unread(logical_id, resource_type, "", f"no physical id ({status})")
                    )
        return resources, unread

    # --- one reader per type ----------------------------------------------------------

    def _database(self, resource: _Resource, region: str) -> DatabaseSettings | None:
        rds = self._client_for("rds", region)
        try:
            answer = rds.describe_db_instances(DBInstanceIdentifier=resource.physical_id)
        except botocore.exceptions.ClientError as err:
            return _none_if_not_found(err)
        db = answer["DBInstances"][0]
        return DatabaseSettings(
            logical_id=resource.logical_id,
            physical_id=resource.physical_id,
            engine=db.get("Engine", ""),
            storage_encrypted=bool(db.get("StorageEncrypted")),
            multi_az=bool(db.get("MultiAZ")),
            publicly_accessible=bool(db.get("PubliclyAccessible")),
            backup_retention_days=int(db.get("BackupRetentionPeriod") or 0),
            deletion_protection=bool(db.get("DeletionProtection")),
            log_exports=tuple(db.get("EnabledCloudwatchLogsExports") or ()),
            cluster_id=db.get("DBClusterIdentifier") or None,
            replica_of=db.get("ReadReplicaSourceDBInstanceIdentifier") or None,
        )

    def _cache(self, resource: _Resource, region: str) -> CacheSettings | None:
        elasticache = self._client_for("elasticache", region)
        try:
            answer = elasticache.describe_replication_groups(
                ReplicationGroupId=resource.physical_id
            )
        except botocore.exceptions.ClientError as err:
            return _none_if_not_found(err)
        group = answer["ReplicationGroups"][0]
        return CacheSettings(
            logical_id=resource.logical_id,
            physical_id=resource.physical_id,
            at_rest_encryption=bool(group.get("AtRestEncryptionEnabled")),
            transit_encryption=bool(group.get("TransitEncryptionEnabled")),
            auth_token=bool(group.get("AuthTokenEnabled")),
            user_group_ids=tuple(group.get("UserGroupIds") or ()),
            multi_az=group.get("MultiAZ", "disabled"),
            automatic_failover=group.get("AutomaticFailover", "disabled"),
            snapshot_retention_days=int(group.get("SnapshotRetentionLimit") or 0),
        )

    def _security_groups(self, physical_ids: list[str], region: str) -> dict[str, dict]:
        """Physical id -> DescribeSecurityGroups' group, in one call (two when some groups
        are known by name, as in a default VPC). Filters, unlike GroupIds, leave a missing
        group out instead of failing the call."""
        ec2 = self._client_for("ec2", region)
        ids = [i for i in physical_ids if i.startswith("sg-")]
        names = [i for i in physical_ids if not i.startswith("sg-")]
        live: dict[str, dict] = {}
        for name, key, values in (("group-id", "GroupId", ids), ("group-name", "GroupName", names)):
            if values:
                pages = ec2.get_paginator("describe_security_groups").paginate(
                    Filters=[{"Name": name, "Values": values}]
                )
                live.update((g[key], g) for page in pages for g in page["SecurityGroups"])
        return live

    def _log_group(self, resource: _Resource, region: str) -> LogGroupSettings | None:
        logs = self._client_for("logs", region)
        pages = logs.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix=resource.physical_id
        )
        for page in pages:
            for group in page["logGroups"]:
                if group["logGroupName"] == resource.physical_id:
                    return LogGroupSettings(
                        logical_id=resource.logical_id,
                        physical_id=resource.physical_id,
                        retention_days=group.get("retentionInDays"),
                        kms_key_id=group.get("kmsKeyId") or None,
                    )
        return None

    def _key(self, resource: _Resource, region: str) -> KeySettings | None:
        kms = self._client_for("kms", region)
        try:
            meta = kms.describe_key(KeyId=resource.physical_id)["KeyMetadata"]
        except botocore.exceptions.ClientError as err:
            return _none_if_not_found(err)
        key = KeySettings(
            logical_id=resource.logical_id,
            physical_id=resource.physical_id,
            key_manager=meta.get("KeyManager", ""),
            key_spec=meta.get("KeySpec") or meta.get("CustomerMasterKeySpec", ""),
            key_state=meta.get("KeyState", ""),
            origin=meta.get("Origin", ""),
            rotation_enabled=None,
        )
        if not key.rotatable:
            return key  # GetKeyRotationStatus would be refused or meaningless
        status = kms.get_key_rotation_status(KeyId=resource.physical_id)
        return replace(key, rotation_enabled=bool(status["KeyRotationEnabled"]))


def _security_group(resource: _Resource, live: dict[str, dict]) -> SecurityGroupSettings | None:
    group = live.get(resource.physical_id)
    if group is None:
        return None
    ingress = tuple(_ingress(p) for p in group.get("IpPermissions", []))
    return SecurityGroupSettings(resource.logical_id, resource.physical_id, ingress)


def _ingress(permission: dict) -> IngressRule:
    sources = [r["CidrIp"] for r in permission.get("IpRanges", []) if "CidrIp" in r]
    sources += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", []) if "CidrIpv6" in r]
    return IngressRule(
        protocol=str(permission.get("IpProtocol", "-1")),
        from_port=permission.get("FromPort"),
        to_port=permission.get("ToPort"),
        sources=tuple(sources),
    )


def _none_if_not_found(err: botocore.exceptions.ClientError) -> None:
    if session.error_code(err) in NOT_FOUND:
        return None
    raise err
