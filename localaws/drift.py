"""Stand-in for CloudFormation drift detection and drift-aware (REVERT_DRIFT) change sets.

AWS behaviour: DetectStackDrift compares, for each resource of a stack whose type supports
drift detection, the properties the template sets (with parameters and references resolved)
with the resource's live configuration; only properties set in the template are compared.
DescribeStackDriftDetectionStatus reports the detection (DETECTION_COMPLETE, the stack's
DRIFTED or IN_SYNC status, the number of drifted resources); DescribeStackResourceDrifts
and DetectStackResourceDrift give per resource the expected and actual properties (JSON
strings), the property differences (`PropertyPath` such as `/BackupRetentionPeriod` or
`/SecurityGroupIngress/1`, `ADD`, `REMOVE` or `NOT_EQUAL`) and a status IN_SYNC,
MODIFIED, DELETED or NOT_CHECKED. Security group rules are compared as sets. DescribeStacks
shows the stack's DriftInformation, DescribeStackResources each resource's. When a stack
detection ends, EventBridge receives a "CloudFormation Drift Detection Status Change"
event (`localaws.drift_events`). CreateChangeSet with `DeploymentMode=REVERT_DRIFT`
reads the live state and lists the drifted resources as changes that put the template's
values back (ResourceDriftStatus, Details with the actual and template values); executing
it reverts them; when nothing drifted and the template and parameters are unchanged, the
change set FAILS with "didn't contain changes".

moto 5.2.5 implements none of the drift APIs (NotImplementedError in-process, HTTP 500 from
the server), accepts DeploymentMode and ignores it, and creates security groups without
their SecurityGroupEgress (the default allow-all rule stays) and without rule descriptions.

`install()` adds the four drift calls to moto's CloudFormation, in-process and on the
server, computed here from what each resource was deployed with (the template's
properties as moto used them, parameters, references and dynamic references resolved,
recorded when moto creates or updates the resource; secrets are not kept) and the live
state in moto's backends. Compared, when the template sets them (`SPECS` below):

- AWS::RDS::DBInstance: DBInstanceClass, Engine, EngineVersion, AllocatedStorage,
  MaxAllocatedStorage, StorageType, Iops, StorageEncrypted, KmsKeyId, MultiAZ,
  PubliclyAccessible, DeletionProtection, BackupRetentionPeriod, PreferredBackupWindow,
  PreferredMaintenanceWindow, CopyTagsToSnapshot, AutoMinorVersionUpgrade,
  EnableIAMDatabaseAuthentication, MonitoringInterval, CACertificateIdentifier, Port,
  DBSubnetGroupName, DBParameterGroupName, OptionGroupName, VPCSecurityGroups and
  EnableCloudwatchLogsExports (as sets);
- AWS::EC2::SecurityGroup: GroupDescription, SecurityGroupIngress, SecurityGroupEgress
  (sets of rules; a changed rule description is a NOT_EQUAL on `/.../<n>/Description`).
  As on AWS, a rule that an AWS::EC2::SecurityGroupIngress resource added counts as drift
  of its group (AWS's known false positive, cloudformation-coverage-roadmap #1198), and a
  REVERT_DRIFT revokes it: keep a group's rules inline;
- AWS::ElastiCache::ReplicationGroup: ReplicationGroupDescription, CacheNodeType, Engine,
  EngineVersion, MultiAZEnabled, AutomaticFailoverEnabled, AtRestEncryptionEnabled,
  TransitEncryptionEnabled, TransitEncryptionMode, KmsKeyId, Port, SnapshotRetentionLimit,
  SnapshotWindow, PreferredMaintenanceWindow, AutoMinorVersionUpgrade, SecurityGroupIds,
  CacheSubnetGroupName, CacheParameterGroupName;
- AWS::Logs::LogGroup: RetentionInDays, KmsKeyId;
- AWS::KMS::Key: Description, Enabled, EnableKeyRotation, KeyPolicy (as JSON), KeyUsage,
  KeySpec, MultiRegion.

Every other resource, and every resource moto did not create, comes back NOT_CHECKED with a
DriftStatusReason, never IN_SYNC. A resource whose live object is gone is DELETED. After a
stack detection the event goes to the default bus of moto's EventBridge (rules and targets
see it) and to `localaws.drift_events.DriftEvents` pollers. REVERT_DRIFT change sets list
each drifted resource as a Modify (Replacement False unless a drifted property is create-
only, then True; DELETED ones are recreated) with Details; on execution, after any template
change is applied, the compared properties are put back to the deployed values through the
services' own calls (ModifyDBInstance, Revoke/AuthorizeSecurityGroupIngress and Egress,
ModifyReplicationGroup, PutRetentionPolicy, EnableKeyRotation, ...), and the reverted
resources' drift status is reset. Security groups are also created with their egress rules
(the default rule removed) and every rule's description, as AWS does.

Differences that remain:
- Detection is synchronous: DETECTION_COMPLETE at once, the event is sent during the call.
- Only the properties listed above are compared (AWS compares every readable property);
  Tags are not compared. ExpectedProperties and ActualProperties hold the compared
  properties only. Write-only properties (MasterUserPassword, AuthToken) are never compared.
- DescribeStackResourceDrifts lists NOT_CHECKED resources too (AWS leaves out types that do
  not support drift detection); resources are in template order.
- A stack whose checked resources were all NOT_CHECKED gets StackDriftStatus NOT_CHECKED.
- A REVERT_DRIFT change set that also changes the template lists the drift against the
  deployed values; on execution the template change is applied first, then the drift is
  reverted to the new template's values.
- A REVERT_DRIFT that would need a replacement (a drifted create-only property) fails the
  resource and rolls the stack back instead of replacing it; a recreated DELETED resource
  may get a new physical id, which resources referring to it do not pick up.
- The event a target gets has the `account` field through `localaws.event_bus_targets`
  (moto's default input template leaves it out); `DriftEvents` events have the same id.
- Error messages for refused calls are paraphrased.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.cloudformation import models, parsing, responses
from moto.cloudformation.exceptions import ValidationError
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.elasticache.models import elasticache_backends
from moto.events.models import events_backends
from moto.kms.models import kms_backends
from moto.logs.models import logs_backends
from moto.rds.models import rds_backends

from localaws import cfn_elasticache, change_sets, drift_events, dynamic_references, rollback
from localaws.cfn_models import as_bool, as_name, as_strs
from localaws.rollback import ResourceFailed

logger = logging.getLogger(__name__)

REVERT_DRIFT = "REVERT_DRIFT"
NO_CHANGES = (
    "The submitted information didn't contain changes. "
    "Submit different information to create a change set."
)
_INSTALLED_MARK = "_localaws_drift"
_EXPECTED = "_localaws_drift_expected"  # on a moto model: compared properties as deployed
_STACK_DRIFT = "_localaws_drift_information"  # on a Stack: its DriftInformation
_RESOURCE_DRIFTS = "_localaws_resource_drifts"  # on a Stack: logical id -> latest result
_DETECTIONS = "_localaws_drift_detections"  # on a CloudFormationBackend: id -> detection
_DRIFTED = ("MODIFIED", "DELETED")
_MAX_RESULTS = 100


# --- canonical values -----------------------------------------------------------------------


@dataclass
class _Context:
    """Where the resources live, and the stack being looked at."""

    account_id: str
    region_name: str
    stack: Any = None


def _str(value: Any, ctx: _Context) -> Any:
    return None if value is None else str(value)


def _lower(value: Any, ctx: _Context) -> Any:
    return None if value is None else str(as_name(value)).lower()


def _int(value: Any, ctx: _Context) -> Any:
    return None if value is None else int(value)


def _bool(value: Any, ctx: _Context) -> Any:
    return None if value is None else as_bool(value)


def _strs(value: Any, ctx: _Context) -> Any:
    return None if value is None else as_strs(value)


def _policy(value: Any, ctx: _Context) -> Any:
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value


def _key_arn(value: Any, ctx: _Context) -> Any:
    """A KMS key named by id, ARN or alias, as its ARN when the key is known here."""
    if value is None:
        return None
    try:
        return kms_backends[ctx.account_id][ctx.region_name].describe_key(str(value)).arn
    except Exception:  # another account's key, or none: compare what was given
        return str(value)


def _plain(value: Any) -> Any:
    """A copy of a template value: dicts and lists copied, anything else (strings, numbers,
    a moto model a Ref resolved to) as it is."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _text(value: Any) -> str:
    """A property value as PropertyDifferences give it: strings as they are, the rest JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- security group rules -------------------------------------------------------------------

_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
_RULE_PROPERTIES = ("SecurityGroupIngress", "SecurityGroupEgress")


def _protocol(value: Any) -> str:
    protocol = str(value).lower()
    return _PROTOCOLS.get(protocol, protocol)


def _template_rule(rule: Mapping[str, Any], egress: bool, ctx: _Context) -> dict[str, Any]:
    """One SecurityGroupIngress/Egress entry of a template, in the shape compared."""
    protocol = _protocol(rule.get("IpProtocol", "-1"))
    canonical: dict[str, Any] = {"IpProtocol": protocol}
    if protocol != "-1":
        for port in ("FromPort", "ToPort"):
            if rule.get(port) is not None:
                canonical[port] = int(rule[port])
    peers = (
        ("CidrIp", "CidrIpv6", "DestinationSecurityGroupId", "DestinationPrefixListId")
        if egress
        else ("CidrIp", "CidrIpv6", "SourceSecurityGroupId", "SourcePrefixListId")
    )
    for peer in peers:
        if rule.get(peer) is not None:
            canonical[peer] = str(rule[peer])
            break
    else:
        if not egress and rule.get("SourceSecurityGroupName") is not None:
            name = str(rule["SourceSecurityGroupName"])
            group = ec2_backends[ctx.account_id][ctx.region_name].get_security_group_by_name_or_id(
                name, None
            )
            canonical["SourceSecurityGroupId"] = group.id if group else name
    if rule.get("Description"):
        canonical["Description"] = str(rule["Description"])
    return canonical


def _template_rules(rules: Any, egress: bool, ctx: _Context) -> list[dict[str, Any]]:
    return [_template_rule(rule, egress, ctx) for rule in rules or []]


def _live_rule(rule: Any, egress: bool) -> dict[str, Any]:
    """One of moto's SecurityGroupRule objects, in the shape compared."""
    canonical: dict[str, Any] = {"IpProtocol": rule.ip_protocol}
    if rule.ip_protocol != "-1":
        canonical.update(FromPort=rule.from_port, ToPort=rule.to_port)
    ip_range, description = rule.ip_range or {}, None
    if ip_range.get("CidrIp"):
        canonical["CidrIp"], description = ip_range["CidrIp"], ip_range.get("Description")
    elif ip_range.get("CidrIpv6"):
        canonical["CidrIpv6"], description = ip_range["CidrIpv6"], ip_range.get("Description")
    elif rule.source_group:
        key = "DestinationSecurityGroupId" if egress else "SourceSecurityGroupId"
        canonical[key] = rule.source_group.get("GroupId")
        description = rule.source_group.get("Description")
    elif rule.prefix_list_id:
        key = "DestinationPrefixListId" if egress else "SourcePrefixListId"
        canonical[key] = rule.prefix_list_id
    if description:
        canonical["Description"] = description
    return canonical


def _identity(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in rule.items() if key != "Description"}


def _rules_of(group: Any, egress: bool) -> list[Any]:
    return list(group.egress_rules if egress else group.ingress_rules)


def _actual_rules(group: Any, egress: bool, ctx: _Context) -> list[dict[str, Any]]:
    """Every rule of the group, including those that AWS::EC2::SecurityGroupIngress
    resources added, as AWS reports them."""
    return [_live_rule(rule, egress) for rule in _rules_of(group, egress)]


def _set_rules(group: Any, wanted: list[dict[str, Any]], egress: bool, ctx: _Context) -> None:
    """Revoke and authorize until the group's rules are exactly `wanted`."""
    backend = ec2_backends[ctx.account_id][ctx.region_name]
    missing = [dict(rule) for rule in wanted]
    extra = []
    for rule in _rules_of(group, egress):
        canonical = _live_rule(rule, egress)
        if canonical in missing:
            missing.remove(canonical)
        else:
            extra.append(rule.id)
    revoke = (
        backend.revoke_security_group_egress if egress else backend.revoke_security_group_ingress
    )
    authorize = (
        backend.authorize_security_group_egress
        if egress
        else backend.authorize_security_group_ingress
    )
    if extra:
        revoke(group.id, None, None, None, [], security_rule_ids=extra, vpc_id=group.vpc_id)
    for rule in missing:
        authorize(**_authorization(group, rule))


def _authorization(group: Any, rule: Mapping[str, Any]) -> dict[str, Any]:
    """Authorize*SecurityGroup* arguments for one canonical rule."""
    described = {"Description": rule["Description"]} if rule.get("Description") else {}
    arguments: dict[str, Any] = {
        "group_name_or_id": group.id,
        "ip_protocol": rule["IpProtocol"],
        "from_port": rule.get("FromPort"),
        "to_port": rule.get("ToPort"),
        "ip_ranges": [],
        "source_groups": [],
        "prefix_list_ids": [],
        "vpc_id": group.vpc_id,
    }
    if "CidrIp" in rule:
        arguments["ip_ranges"] = [{"CidrIp": rule["CidrIp"], **described}]
    elif "CidrIpv6" in rule:
        arguments["ip_ranges"] = [{"CidrIpv6": rule["CidrIpv6"], **described}]
    elif "SourceSecurityGroupId" in rule or "DestinationSecurityGroupId" in rule:
        group_id = rule.get("SourceSecurityGroupId") or rule["DestinationSecurityGroupId"]
        arguments["source_groups"] = [{"GroupId": group_id, **described}]
    elif "SourcePrefixListId" in rule or "DestinationPrefixListId" in rule:
        prefix_list = rule.get("SourcePrefixListId") or rule["DestinationPrefixListId"]
        arguments["prefix_list_ids"] = [{"PrefixListId": prefix_list, **described}]
    return arguments


# --- what is compared, per type -------------------------------------------------------------


@dataclass(frozen=True)
class Prop:
    """One compared property: how the template's value and the live value become comparable
    (None: not set), and whether AWS replaces the resource to change it."""

    name: str
    actual: Callable[[Any, _Context], Any]  # live object -> canonical value
    expected: Callable[[Any, _Context], Any] = _str  # template value -> canonical value
    unordered: bool = False  # a list compared as a set of members
    create_only: bool = False


def _attr(name: str, coerce: Callable[[Any, _Context], Any] = _str) -> Callable[..., Any]:
    return lambda live, ctx: coerce(getattr(live, name, None), ctx)


@dataclass(frozen=True)
class TypeSpec:
    """How one resource type is found, compared and reverted."""

    resource_type: str
    find: Callable[[str, _Context], Any]  # physical id -> live object, None when gone
    props: tuple[Prop, ...]
    # Put the given properties (template values as deployed) back on the live object.
    revert: Callable[[Any, Mapping[str, Any], _Context], None]

    def prop(self, name: str) -> Prop:
        return next(p for p in self.props if p.name == name)


# AWS::RDS::DBInstance --------------------------------------------------------------------------

# Compared property -> the DBInstance attribute ModifyDBInstance sets, with its coercion.
_DB_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "DBInstanceClass": ("db_instance_class", str),
    "Engine": ("engine", str),
    "EngineVersion": ("engine_version", str),
    "AllocatedStorage": ("allocated_storage", int),
    "MaxAllocatedStorage": ("max_allocated_storage", int),
    "StorageType": ("storage_type", str),
    "Iops": ("iops", int),
    "MultiAZ": ("multi_az", as_bool),
    "PubliclyAccessible": ("publicly_accessible", as_bool),
    "DeletionProtection": ("deletion_protection", as_bool),
    "BackupRetentionPeriod": ("backup_retention_period", int),
    "PreferredBackupWindow": ("preferred_backup_window", str),
    "PreferredMaintenanceWindow": ("preferred_maintenance_window", lambda v: str(v).lower()),
    "CopyTagsToSnapshot": ("copy_tags_to_snapshot", as_bool),
    "AutoMinorVersionUpgrade": ("auto_minor_version_upgrade", as_bool),
    "EnableIAMDatabaseAuthentication": ("enable_iam_database_authentication", as_bool),
    "MonitoringInterval": ("monitoring_interval", int),
    "CACertificateIdentifier": ("ca_certificate_identifier", str),
    "Port": ("port", int),
    "DBParameterGroupName": ("db_parameter_group_name", as_name),
    "OptionGroupName": ("option_group_name", as_name),
    "VPCSecurityGroups": ("vpc_security_group_ids", as_strs),
    "EnableCloudwatchLogsExports": ("enabled_cloudwatch_logs_exports", as_strs),
}


def _find_db_instance(physical_id: str, ctx: _Context) -> Any:
    return rds_backends[ctx.account_id][ctx.region_name].databases.get(physical_id)


def _db_subnet_group(live: Any, ctx: _Context) -> Any:
    group = getattr(live, "db_subnet_group", None)
    return None if group is None else _lower(getattr(group, "name", group), ctx)


def _revert_db_instance(live: Any, values: Mapping[str, Any], ctx: _Context) -> None:
    """ModifyDBInstance with ApplyImmediately, as CloudFormation sends it."""
    db_kwargs = {}
    for prop, value in values.items():
        attribute, coerce = _DB_FIELDS[prop]
        db_kwargs[attribute] = coerce(value)
    rds_backends[ctx.account_id][ctx.region_name].modify_db_instance(
        live.db_instance_identifier, db_kwargs
    )


DB_INSTANCE = TypeSpec(
    "AWS::RDS::DBInstance",
    _find_db_instance,
    (
        Prop("DBInstanceClass", _attr("db_instance_class")),
        Prop("Engine", _attr("engine", _lower), _lower),
        Prop("EngineVersion", _attr("engine_version")),
        Prop("AllocatedStorage", _attr("allocated_storage", _int), _int),
        Prop("MaxAllocatedStorage", _attr("max_allocated_storage", _int), _int),
        Prop("StorageType", _attr("storage_type")),
        Prop("Iops", _attr("iops", _int), _int),
        Prop("StorageEncrypted", _attr("storage_encrypted", _bool), _bool, create_only=True),
        Prop("KmsKeyId", _attr("kms_key_id", _key_arn), _key_arn, create_only=True),
        Prop("MultiAZ", _attr("multi_az", _bool), _bool),
        Prop("PubliclyAccessible", _attr("publicly_accessible", _bool), _bool),
        Prop("DeletionProtection", _attr("deletion_protection", _bool), _bool),
        Prop("BackupRetentionPeriod", _attr("backup_retention_period", _int), _int),
        Prop("PreferredBackupWindow", _attr("preferred_backup_window")),
        Prop("PreferredMaintenanceWindow", _attr("preferred_maintenance_window", _lower), _lower),
        Prop("CopyTagsToSnapshot", _attr("copy_tags_to_snapshot", _bool), _bool),
        Prop("AutoMinorVersionUpgrade", _attr("auto_minor_version_upgrade", _bool), _bool),
        Prop(
            "EnableIAMDatabaseAuthentication",
            _attr("enable_iam_database_authentication", _bool),
            _bool,
        ),
        Prop("MonitoringInterval", _attr("monitoring_interval", _int), _int),
        Prop("CACertificateIdentifier", _attr("ca_certificate_identifier")),
        Prop("Port", _attr("port", _int), _int),
        Prop("DBSubnetGroupName", _db_subnet_group, _lower, create_only=True),
        Prop("DBParameterGroupName", _attr("db_parameter_group_name", _lower), _lower),
        Prop("OptionGroupName", _attr("option_group_name", _lower), _lower),
        Prop("VPCSecurityGroups", _attr("vpc_security_group_ids", _strs), _strs, unordered=True),
        Prop(
            "EnableCloudwatchLogsExports",
            _attr("enabled_cloudwatch_logs_exports", _strs),
            _strs,
            unordered=True,
        ),
    ),
    _revert_db_instance,
)


# AWS::EC2::SecurityGroup -----------------------------------------------------------------------


def _find_security_group(physical_id: str, ctx: _Context) -> Any:
    return ec2_backends[ctx.account_id][ctx.region_name].get_security_group_from_id(physical_id)


def _revert_security_group(live: Any, values: Mapping[str, Any], ctx: _Context) -> None:
    """RevokeSecurityGroupIngress/Egress and AuthorizeSecurityGroupIngress/Egress."""
    for prop, value in values.items():
        egress = prop == "SecurityGroupEgress"
        _set_rules(live, _template_rules(value, egress, ctx), egress, ctx)


SECURITY_GROUP = TypeSpec(
    "AWS::EC2::SecurityGroup",
    _find_security_group,
    (
        Prop("GroupDescription", _attr("description"), create_only=True),
        Prop(
            "SecurityGroupIngress",
            lambda live, ctx: _actual_rules(live, False, ctx),
            lambda value, ctx: _template_rules(value, False, ctx),
            unordered=True,
        ),
        Prop(
            "SecurityGroupEgress",
            lambda live, ctx: _actual_rules(live, True, ctx),
            lambda value, ctx: _template_rules(value, True, ctx),
            unordered=True,
        ),
    ),
    _revert_security_group,
)


# AWS::ElastiCache::ReplicationGroup ------------------------------------------------------------

# Compared property -> (modify_replication_group argument, coercion) for those moto's
# ModifyReplicationGroup takes; the others are set on the group as the model does.
_RG_MODIFIED: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "ReplicationGroupDescription": ("replication_group_description", str),
    "Engine": ("engine", lambda v: str(v).lower()),
    "CacheNodeType": ("cache_node_type", str),
    "AutomaticFailoverEnabled": ("automatic_failover_enabled", as_bool),
    "MultiAZEnabled": ("multi_az_enabled", as_bool),
    "SnapshotRetentionLimit": ("snapshot_retention_limit", int),
}
_RG_ATTRIBUTES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "EngineVersion": ("engine_version", str),
    "TransitEncryptionEnabled": ("transit_encryption_enabled", as_bool),
    "TransitEncryptionMode": ("transit_encryption_mode", str),
    "SnapshotWindow": ("snapshot_window", str),
    "PreferredMaintenanceWindow": ("preferred_maintenance_window", str),
    "AutoMinorVersionUpgrade": ("auto_minor_version_upgrade", as_bool),
    "SecurityGroupIds": ("security_group_ids", as_strs),
    "CacheParameterGroupName": ("cache_parameter_group_name", str),
}


def _find_replication_group(physical_id: str, ctx: _Context) -> Any:
    backend = elasticache_backends[ctx.account_id][ctx.region_name]
    return backend.replication_groups.get(physical_id)


def _enabled(name: str) -> Callable[[Any, _Context], Any]:
    return lambda live, ctx: getattr(live, name, None) == "enabled"


def _revert_replication_group(live: Any, values: Mapping[str, Any], ctx: _Context) -> None:
    """ModifyReplicationGroup with ApplyImmediately, as CloudFormation sends it."""
    modify: dict[str, Any] = {argument: None for argument, _ in _RG_MODIFIED.values()}
    for prop, value in values.items():
        if prop in _RG_MODIFIED:
            argument, coerce = _RG_MODIFIED[prop]
            modify[argument] = coerce(value)
        else:
            attribute, coerce = _RG_ATTRIBUTES[prop]
            setattr(live, attribute, coerce(value))
    backend = elasticache_backends[ctx.account_id][ctx.region_name]
    backend.modify_replication_group(live.replication_group_id, **modify)
    if "SnapshotRetentionLimit" in values:
        # As moto sets it at create: the first replica, or the primary when alone.
        members = live.member_clusters
        live.snapshotting_cluster_id = None
        if live.snapshot_retention_limit > 0 and members:
            live.snapshotting_cluster_id = members[1] if len(members) > 1 else members[0]


_RG_CREATE_ONLY = cfn_elasticache.REPLICATION_GROUP_CREATE_ONLY
REPLICATION_GROUP = TypeSpec(
    "AWS::ElastiCache::ReplicationGroup",
    _find_replication_group,
    (
        Prop("ReplicationGroupDescription", _attr("description")),
        Prop("CacheNodeType", _attr("cache_node_type")),
        Prop("Engine", _attr("engine", _lower), _lower),
        Prop("EngineVersion", _attr("engine_version")),
        Prop("MultiAZEnabled", _enabled("multi_az"), _bool),
        Prop("AutomaticFailoverEnabled", _enabled("automatic_failover"), _bool),
        Prop(
            "AtRestEncryptionEnabled",
            _attr("at_rest_encryption_enabled", _bool),
            _bool,
            create_only="AtRestEncryptionEnabled" in _RG_CREATE_ONLY,
        ),
        Prop("TransitEncryptionEnabled", _attr("transit_encryption_enabled", _bool), _bool),
        Prop("TransitEncryptionMode", _attr("transit_encryption_mode")),
        Prop(
            "KmsKeyId",
            _attr("kms_key_id", _key_arn),
            _key_arn,
            create_only="KmsKeyId" in _RG_CREATE_ONLY,
        ),
        Prop("Port", _attr("port", _int), _int, create_only="Port" in _RG_CREATE_ONLY),
        Prop("SnapshotRetentionLimit", _attr("snapshot_retention_limit", _int), _int),
        Prop("SnapshotWindow", _attr("snapshot_window")),
        Prop("PreferredMaintenanceWindow", _attr("preferred_maintenance_window", _lower), _lower),
        Prop("AutoMinorVersionUpgrade", _attr("auto_minor_version_upgrade", _bool), _bool),
        Prop("SecurityGroupIds", _attr("security_group_ids", _strs), _strs, unordered=True),
        Prop(
            "CacheSubnetGroupName",
            _attr("cache_subnet_group_name", _lower),
            _lower,
            create_only="CacheSubnetGroupName" in _RG_CREATE_ONLY,
        ),
        Prop("CacheParameterGroupName", _attr("cache_parameter_group_name")),
    ),
    _revert_replication_group,
)


# AWS::Logs::LogGroup ---------------------------------------------------------------------------


def _find_log_group(physical_id: str, ctx: _Context) -> Any:
    return logs_backends[ctx.account_id][ctx.region_name].groups.get(physical_id)


def _revert_log_group(live: Any, values: Mapping[str, Any], ctx: _Context) -> None:
    """PutRetentionPolicy and AssociateKmsKey."""
    backend = logs_backends[ctx.account_id][ctx.region_name]
    for prop, value in values.items():
        if prop == "RetentionInDays":
            backend.put_retention_policy(live.name, int(value))  # type: ignore[arg-type]
        else:  # KmsKeyId: moto has no AssociateKmsKey; DescribeLogGroups reports the field
            live.kms_key_id = str(value)


LOG_GROUP = TypeSpec(
    "AWS::Logs::LogGroup",
    _find_log_group,
    (
        Prop("RetentionInDays", _attr("retention_in_days", _int), _int),
        Prop("KmsKeyId", _attr("kms_key_id", _key_arn), _key_arn),
    ),
    _revert_log_group,
)


# AWS::KMS::Key ---------------------------------------------------------------------------------


def _find_key(physical_id: str, ctx: _Context) -> Any:
    return kms_backends[ctx.account_id][ctx.region_name].keys.get(physical_id)


def _revert_key(live: Any, values: Mapping[str, Any], ctx: _Context) -> None:
    """EnableKeyRotation / DisableKeyRotation, EnableKey / DisableKey,
    UpdateKeyDescription, PutKeyPolicy."""
    backend = kms_backends[ctx.account_id][ctx.region_name]
    for prop, value in values.items():
        if prop == "EnableKeyRotation":
            if as_bool(value):
                backend.enable_key_rotation(live.id)
            else:
                backend.disable_key_rotation(live.id)
        elif prop == "Enabled":
            if as_bool(value):
                backend.enable_key(live.id)
            else:
                backend.disable_key(live.id)
        elif prop == "Description":
            backend.update_key_description(live.id, str(value))
        elif prop == "KeyPolicy":
            backend.put_key_policy(live.id, value if isinstance(value, str) else json.dumps(value))


KEY = TypeSpec(
    "AWS::KMS::Key",
    _find_key,
    (
        Prop("Description", _attr("description")),
        Prop("Enabled", _attr("enabled", _bool), _bool),
        Prop("EnableKeyRotation", _attr("key_rotation_status", _bool), _bool),
        Prop("KeyPolicy", _attr("policy", _policy), _policy),
        Prop("KeyUsage", _attr("key_usage"), create_only=True),
        Prop("KeySpec", _attr("key_spec"), create_only=True),
        Prop("MultiRegion", _attr("multi_region", _bool), _bool, create_only=True),
    ),
    _revert_key,
)

SPECS: dict[str, TypeSpec] = {
    spec.resource_type: spec
    for spec in (DB_INSTANCE, SECURITY_GROUP, REPLICATION_GROUP, LOG_GROUP, KEY)
}


# --- comparing one resource -----------------------------------------------------------------


@dataclass
class _Comparison:
    """One resource compared: its status and, for a supported type, what was compared."""

    logical_id: str
    resource_type: str
    physical_id: str | None
    status: str
    reason: str | None = None
    expected: dict[str, Any] = field(default_factory=dict)  # canonical, compared props
    actual: dict[str, Any] = field(default_factory=dict)
    differences: list[dict[str, str]] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)  # drifted property names
    deployed: dict[str, Any] = field(default_factory=dict)  # as deployed, for a revert
    live: Any = None

    def as_drift(self, stack_id: str, timestamp: datetime) -> dict[str, Any]:
        """A StackResourceDrift, as DescribeStackResourceDrifts gives it."""
        drift: dict[str, Any] = {
            "StackId": stack_id,
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "StackResourceDriftStatus": self.status,
            "Timestamp": timestamp,
        }
        if self.physical_id:
            drift["PhysicalResourceId"] = self.physical_id
        if self.status != "NOT_CHECKED":
            drift["ExpectedProperties"] = json.dumps(self.expected, sort_keys=True)
        if self.status in ("IN_SYNC", "MODIFIED"):
            drift["ActualProperties"] = json.dumps(self.actual, sort_keys=True)
            drift["PropertyDifferences"] = list(self.differences)
        if self.reason:
            drift["DriftStatusReason"] = self.reason
        return drift


def _difference(path: str, expected: Any, actual: Any, kind: str) -> dict[str, str]:
    return {
        "PropertyPath": path,
        "ExpectedValue": "null" if expected is None else _text(expected),
        "ActualValue": "null" if actual is None else _text(actual),
        "DifferenceType": kind,
    }


def _compare_members(
    name: str, expected: list[Any], actual: list[Any]
) -> tuple[list[Any], list[dict[str, str]]]:
    """Unordered lists: the actual members ordered as the expected ones they match (extras
    last), and the differences, with paths indexed as AWS does: a missing member at its
    index in the template, an added one at its index in the actual list. A rule that differs
    only in its description is a NOT_EQUAL on that key."""
    remaining = list(actual)
    matched: dict[int, Any] = {}  # expected index -> the actual member matching it
    exact: set[int] = set()
    for index, member in enumerate(expected):
        if member in remaining:
            matched[index] = remaining.pop(remaining.index(member))
            exact.add(index)
    for index, member in enumerate(expected):
        if index in matched or not isinstance(member, dict):
            continue
        for at, candidate in enumerate(remaining):
            if isinstance(candidate, dict) and _identity(candidate) == _identity(member):
                matched[index] = remaining.pop(at)
                break
    order = [index for index in range(len(expected)) if index in matched]
    position = {index: at for at, index in enumerate(order)}
    differences = []
    for index, member in enumerate(expected):
        if index in exact:
            continue
        if index not in matched:
            differences.append(_difference(f"/{name}/{index}", member, None, "REMOVE"))
            continue
        live = matched[index]
        for key in sorted({*member, *live}):
            before, after = member.get(key), live.get(key)
            if before != after:
                kind = "REMOVE" if after is None else "ADD" if before is None else "NOT_EQUAL"
                path = f"/{name}/{position[index]}/{key}"
                differences.append(_difference(path, before, after, kind))
    for at, member in enumerate(remaining, start=len(order)):
        differences.append(_difference(f"/{name}/{at}", None, member, "ADD"))
    return [matched[index] for index in order] + remaining, differences


def _compare(logical_id: str, resource_type: str, resource: Any, ctx: _Context) -> _Comparison:
    physical_id = getattr(resource, "physical_resource_id", None) if resource else None
    physical_id = str(physical_id) if physical_id else None
    comparison = _Comparison(logical_id, resource_type, physical_id, "NOT_CHECKED")
    spec = SPECS.get(resource_type)
    if resource is None:
        comparison.reason = f"The local AWS did not create this {resource_type} resource."
        return comparison
    if spec is None:
        comparison.reason = f"The local AWS does not compare {resource_type} resources."
        return comparison
    deployed = getattr(resource, _EXPECTED, None)
    if deployed is None or physical_id is None:
        comparison.reason = "Deployed before localaws.drift was installed: nothing to compare."
        return comparison
    comparison.deployed = _plain(deployed)
    for prop in spec.props:
        if prop.name in deployed and deployed[prop.name] is not None:
            comparison.expected[prop.name] = prop.expected(deployed[prop.name], ctx)
    live = spec.find(physical_id, ctx)
    if live is None:
        comparison.status = "DELETED"
        comparison.drifted = list(comparison.expected)
        return comparison
    comparison.live = live
    for name, expected in comparison.expected.items():
        prop = spec.prop(name)
        actual = prop.actual(live, ctx)
        if prop.unordered:
            actual, differences = _compare_members(name, expected, actual or [])
        elif actual is None:
            differences = [_difference(f"/{name}", expected, None, "REMOVE")]
        elif actual != expected:
            differences = [_difference(f"/{name}", expected, actual, "NOT_EQUAL")]
        else:
            differences = []
        if actual is not None:
            comparison.actual[name] = actual
        if differences:
            comparison.differences += differences
            comparison.drifted.append(name)
    comparison.status = "MODIFIED" if comparison.drifted else "IN_SYNC"
    return comparison


def _stack_resources(stack: Any) -> list[tuple[str, str, Any]]:
    """(logical id, type, moto's resource or None) for each resource of the stack, in
    template order; resources left out by a false Condition are not listed."""
    resource_map = stack.resource_map
    listed = []
    for logical_id, resource_json in resource_map._resource_json_map.items():
        resource = resource_map._parsed_resources.get(logical_id)
        if resource is None and resource_json.get("Condition"):
            continue
        listed.append((logical_id, str(resource_json.get("Type", "")), resource))
    return listed


def _context(backend: Any, stack: Any) -> _Context:
    return _Context(backend.account_id, backend.region_name, stack)


# --- the drift calls ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Detection:
    detection_id: str
    stack_id: str
    stack_drift_status: str
    drifted_count: int
    timestamp: datetime

    def as_status(self) -> dict[str, Any]:
        """DescribeStackDriftDetectionStatus's answer."""
        return {
            "StackId": self.stack_id,
            "StackDriftDetectionId": self.detection_id,
            "StackDriftStatus": self.stack_drift_status,
            "DetectionStatus": "DETECTION_COMPLETE",
            "DriftedStackResourceCount": self.drifted_count,
            "Timestamp": self.timestamp,
        }


def _detections(backend: Any) -> dict[str, _Detection]:
    found = getattr(backend, _DETECTIONS, None)
    if found is None:
        found = {}
        setattr(backend, _DETECTIONS, found)
    return found


def _resource_drifts(stack: Any) -> dict[str, dict[str, Any]]:
    found = getattr(stack, _RESOURCE_DRIFTS, None)
    if found is None:
        found = {}
        setattr(stack, _RESOURCE_DRIFTS, found)
    return found


def forget_resource_drifts(stack: Any, logical_ids: list[str]) -> None:
    """Drop the latest drift results of these logical ids (a stack refactor moved them)."""
    stored = _resource_drifts(stack)
    for logical_id in logical_ids:
        stored.pop(logical_id, None)


def _checkable_stack(backend: Any, stack_name: str) -> Any:
    stack = backend.get_stack(stack_name)
    if stack.status == "DELETE_COMPLETE":
        raise ValidationError(stack_name)
    if stack.status.endswith("_IN_PROGRESS"):
        raise ValidationError(
            message=(
                f"Drift detection cannot be performed on stack {stack.name} while it is in "
                f"{stack.status} state."
            )
        )
    return stack


def detect_stack_drift(backend: Any, stack_name: str, logical_ids: list[str] | None) -> str:
    """DetectStackDrift: compare, record, send the event; returns the detection id."""
    stack = _checkable_stack(backend, stack_name)
    resources = _stack_resources(stack)
    if logical_ids:
        known = {logical_id for logical_id, _, _ in resources}
        unknown = [logical_id for logical_id in logical_ids if logical_id not in known]
        if unknown:
            raise ValidationError(
                message=f"Resources {unknown} do not exist in stack {stack.stack_id}"
            )
        resources = [entry for entry in resources if entry[0] in logical_ids]
    timestamp = utcnow()
    ctx = _context(backend, stack)
    comparisons = [_compare(*entry, ctx) for entry in resources]
    stored = _resource_drifts(stack)
    for comparison in comparisons:
        stored[comparison.logical_id] = comparison.as_drift(stack.stack_id, timestamp)
    drifted = sum(1 for c in comparisons if c.status in _DRIFTED)
    if drifted:
        status = "DRIFTED"
    elif any(c.status == "IN_SYNC" for c in comparisons):
        status = "IN_SYNC"
    else:
        status = "NOT_CHECKED"
    detection = _Detection(str(uuid.uuid4()), stack.stack_id, status, drifted, timestamp)
    _detections(backend)[detection.detection_id] = detection
    setattr(stack, _STACK_DRIFT, {"StackDriftStatus": status, "LastCheckTimestamp": timestamp})
    _send_event(backend, detection)
    return detection.detection_id


def describe_stack_drift_detection_status(backend: Any, detection_id: str) -> dict[str, Any]:
    detection = _detections(backend).get(detection_id)
    if detection is None:
        raise ValidationError(message=f"Drift detection {detection_id} does not exist")
    return detection.as_status()


def detect_stack_resource_drift(backend: Any, stack_name: str, logical_id: str) -> dict[str, Any]:
    """DetectStackResourceDrift: one resource, recorded; no event (as on AWS)."""
    stack = _checkable_stack(backend, stack_name)
    entry = next((e for e in _stack_resources(stack) if e[0] == logical_id), None)
    if entry is None:
        raise ValidationError(
            message=f"Resource {logical_id} does not exist for stack {stack.stack_id}"
        )
    drift = _compare(*entry, _context(backend, stack)).as_drift(stack.stack_id, utcnow())
    _resource_drifts(stack)[logical_id] = drift
    return drift


def describe_stack_resource_drifts(
    backend: Any,
    stack_name: str,
    status_filters: list[str] | None = None,
    next_token: str | None = None,
    max_results: int | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The latest result of each resource checked, template order, filtered and paged."""
    stack = backend.get_stack(stack_name)
    stored = _resource_drifts(stack)
    drifts = [stored[name] for name, _, _ in _stack_resources(stack) if name in stored]
    if status_filters:
        drifts = [d for d in drifts if d["StackResourceDriftStatus"] in status_filters]
    limit = min(int(max_results or _MAX_RESULTS), _MAX_RESULTS)
    start = 0
    if next_token:
        try:
            start = int(next_token.rsplit(":", 1)[-1])
        except ValueError:
            raise ValidationError(message="Invalid NextToken") from None
    page = drifts[start : start + limit]
    more = start + limit < len(drifts)
    return page, (f"{stack.stack_id}:{start + limit}" if more else None)


def _send_event(backend: Any, detection: _Detection) -> None:
    """The detection's event on the default bus, and in `drift_events` for the pollers."""
    event = drift_events.drift_detection_status_change(
        stack_id=detection.stack_id,
        detection_id=detection.detection_id,
        stack_drift_status=detection.stack_drift_status,
        detection_status="DETECTION_COMPLETE",
        drifted_resource_count=detection.drifted_count,
        time=detection.timestamp,
    )
    try:
        entries = events_backends[backend.account_id][backend.region_name].put_events(
            [
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event["resources"],
                    # moto's bus wants a Unix time: a string breaks its default input template.
                    "Time": detection.timestamp.replace(tzinfo=UTC).timestamp(),
                    "EventBusName": "default",
                }
            ]
        )
        if entries and entries[0].get("EventId"):
            event["id"] = entries[0]["EventId"]
    except Exception as error:  # the detection stands even when the bus refuses the event
        logger.warning("localaws: drift event not put on the bus: %s", error)
    drift_events.record(event)


# --- REVERT_DRIFT change sets ---------------------------------------------------------------


class _DriftChange:
    """A ResourceChange of a drift-aware change set (serialised by attribute name)."""

    def __init__(self, comparison: _Comparison, spec: TypeSpec) -> None:
        self.action = "Modify"
        self.logical_resource_id = comparison.logical_id
        self.physical_resource_id = comparison.physical_id
        self.resource_type = comparison.resource_type
        self.resource_drift_status = comparison.status
        replaced = comparison.status == "DELETED" or any(
            spec.prop(name).create_only for name in comparison.drifted
        )
        self.replacement = "True" if replaced else "False"
        self.scope = ["Properties"]
        self.details = [_detail(comparison, spec, name) for name in comparison.drifted]
        self.before_context = json.dumps(comparison.actual, sort_keys=True)
        self.after_context = json.dumps(comparison.expected, sort_keys=True)
        self.previous_deployment_context = self.after_context


def _detail(comparison: _Comparison, spec: TypeSpec, name: str) -> dict[str, Any]:
    expected, actual = comparison.expected.get(name), comparison.actual.get(name)
    create_only = spec.prop(name).create_only or comparison.status == "DELETED"
    drift = {"PreviousValue": _text(expected)}
    if actual is not None:
        drift["ActualValue"] = _text(actual)
    return {
        "Target": {
            "Attribute": "Properties",
            "Name": name,
            "RequiresRecreation": "Always" if create_only else "Never",
            "Path": f"/Properties/{name}",
            "BeforeValue": "null" if actual is None else _text(actual),
            "AfterValue": _text(expected),
            "BeforeValueFrom": "ACTUAL_STATE",
            "AfterValueFrom": "TEMPLATE",
            "Drift": drift,
            "AttributeChangeType": "Modify",
        },
        "Evaluation": "Static",
        "ChangeSource": "DirectModification",
    }


def _drifted(backend: Any, stack: Any) -> list[_Comparison]:
    ctx = _context(backend, stack)
    comparisons = [_compare(*entry, ctx) for entry in _stack_resources(stack)]
    return [c for c in comparisons if c.status in _DRIFTED]


def make_drift_aware(backend: Any, change_set_id: str, parameters: list[dict[str, Any]]) -> None:
    """Turn a change set moto created into a REVERT_DRIFT one: the drifted resources become
    its changes (with any template change), and it fails when there is nothing to do."""
    change_set = backend.change_sets[change_set_id]
    stack = change_set.stack
    # moto copies the resolved value (a number, a list) for UsePreviousValue; AWS keeps the
    # value the stack was given, or the default when none was.
    for parameter in parameters:
        key = parameter.get("ParameterKey")
        if as_bool(parameter.get("UsePreviousValue", False)):
            if key in stack.parameters:
                change_set.parameters[key] = stack.parameters[key]
            else:
                change_set.parameters.pop(key, None)
    drifted = _drifted(backend, stack)
    change_set.deployment_mode = REVERT_DRIFT
    change_set.stack_drift_status = "DRIFTED" if drifted else "IN_SYNC"
    by_id = {c.logical_id: c for c in drifted}
    changes: list[Any] = [
        change for change in change_set.changes if change.logical_resource_id not in by_id
    ]
    changes += [_DriftChange(c, SPECS[c.resource_type]) for c in drifted]
    template_changes = bool(change_set.changes)
    change_set.changes = changes
    same_inputs = (
        stack.has_template(change_set.template)
        and change_set.parameters == stack.parameters
        and (not change_set.tags or change_set.tags == stack.tags)
    )
    if drifted or template_changes or not same_inputs:
        change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
        change_set.status_reason = None
    else:
        change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
        change_set.status_reason = NO_CHANGES


def revert_drift(backend: Any, stack: Any) -> list[str]:
    """Put the deployed values of every compared property back on the drifted resources of
    the stack (recreating deleted ones); returns the logical ids reverted. A drifted
    create-only property, or a service refusing a call, fails the resource; what was already
    reverted is put back to its drifted values first."""
    ctx = _context(backend, stack)
    drifted = _drifted(backend, stack)
    for comparison in drifted:
        spec = SPECS[comparison.resource_type]
        create_only = [n for n in comparison.drifted if spec.prop(n).create_only]
        if comparison.status == "MODIFIED" and create_only:
            raise _update_failed(
                f"Reverting drift of {', '.join(create_only)} requires replacing the resource, "
                "which the local AWS does not do.",
                comparison,
            )
    done: list[_Comparison] = []
    try:
        for comparison in drifted:
            spec = SPECS[comparison.resource_type]
            if comparison.status == "DELETED":
                _recreate(stack, comparison, ctx)
            else:
                values = {name: comparison.deployed[name] for name in comparison.drifted}
                spec.revert(comparison.live, values, ctx)
            done.append(comparison)
    except ResourceFailed:
        _restore(done, ctx)
        raise
    except Exception as error:
        _restore(done, ctx)
        failed = drifted[len(done)]
        raise _update_failed(f"Reverting drift failed: {error}", failed) from error
    _reset_drift_status(stack, [c.logical_id for c in drifted], ctx)
    return [c.logical_id for c in drifted]


def _update_failed(reason: str, comparison: _Comparison) -> ResourceFailed:
    """The resource's UPDATE_FAILED, which rolls the stack back (`localaws.rollback`)."""
    failure = ResourceFailed(reason)
    failure.locate(comparison.logical_id, comparison.resource_type, "UPDATE")
    return failure


def _recreate(stack: Any, comparison: _Comparison, ctx: _Context) -> None:
    resource_map = stack.resource_map
    resource_json = resource_map._resource_json_map[comparison.logical_id]
    resource = parsing.parse_and_create_resource(
        comparison.logical_id,
        resource_json,
        resource_map,
        account_id=ctx.account_id,
        region_name=ctx.region_name,
    )
    resource_map._parsed_resources[comparison.logical_id] = resource


def _restore(done: list[_Comparison], ctx: _Context) -> None:
    """Best effort: the drifted values back on what a failed revert already changed."""
    for comparison in reversed(done):
        if comparison.status != "MODIFIED":
            continue
        spec = SPECS[comparison.resource_type]
        try:
            spec.revert(
                comparison.live,
                {n: comparison.actual[n] for n in comparison.drifted if n in comparison.actual},
                ctx,
            )
        except Exception as error:
            logger.warning(
                "localaws: %s left reverted after a failed revert: %s", comparison.logical_id, error
            )


def _reset_drift_status(stack: Any, logical_ids: list[str], ctx: _Context) -> None:
    """A drift-aware change set resets the drift status of what it reverted."""
    stored = _resource_drifts(stack)
    timestamp = utcnow()
    for logical_id, resource_type, resource in _stack_resources(stack):
        if logical_id in logical_ids and logical_id in stored:
            comparison = _compare(logical_id, resource_type, resource, ctx)
            stored[logical_id] = comparison.as_drift(stack.stack_id, timestamp)
    information = getattr(stack, _STACK_DRIFT, None)
    if information and not any(d["StackResourceDriftStatus"] in _DRIFTED for d in stored.values()):
        in_sync = {"StackDriftStatus": "IN_SYNC", "LastCheckTimestamp": timestamp}
        setattr(stack, _STACK_DRIFT, in_sync)


# --- recording what was deployed ------------------------------------------------------------


def _patch_parsing() -> None:
    """Record, on each resource of a compared type, the compared properties moto created or
    updated it with (after parameters, references and dynamic references were resolved)."""
    moto_parse_resource = parsing.parse_resource
    moto_create = parsing.parse_and_create_resource
    moto_update = parsing.parse_and_update_resource
    pending = threading.local()  # id(template JSON) -> (template JSON, cleaned properties)

    def waiting() -> dict[int, tuple[Any, Any]]:
        if not hasattr(pending, "by_id"):
            pending.by_id = {}
        return pending.by_id

    def parse_resource(resource_json: dict[str, Any], resources_map: Any) -> Any:
        parsed = moto_parse_resource(resource_json, resources_map)
        if parsed and parsed[2] in SPECS:
            waiting()[id(resource_json)] = (resource_json, parsed[1].get("Properties") or {})
        return parsed

    def keep(resource: Any, resource_json: dict[str, Any]) -> None:
        entry = waiting().pop(id(resource_json), None)
        if resource is None or entry is None or entry[0] is not resource_json:
            return
        spec = SPECS[resource_json["Type"]]
        names = {prop.name for prop in spec.props}
        properties = {k: _plain(v) for k, v in entry[1].items() if k in names}
        setattr(resource, _EXPECTED, properties)

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        resource = None
        try:
            resource = moto_create(logical_id, resource_json, resources_map, *args, **kw)
        finally:
            keep(resource, resource_json)
        return resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        resource = None
        try:
            resource = moto_update(logical_id, resource_json, resources_map, *args, **kw)
        finally:
            keep(resource, resource_json)
        return resource

    parsing.parse_resource = parse_resource
    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource


# --- security groups created with every rule ------------------------------------------------


def _patch_security_group_create() -> None:
    """Create the group without its rules (moto drops the egress rules and descriptions),
    then give it exactly the template's ingress rules, and its egress rules in place of the
    default allow-all rule when the template sets SecurityGroupEgress."""
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.security_groups import SecurityGroup

    moto_create = SecurityGroup.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: type[Any],
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        without_rules = {
            **cloudformation_json,
            "Properties": {k: v for k, v in properties.items() if k not in _RULE_PROPERTIES},
        }
        group = moto_create(cls, resource_name, without_rules, account_id, region_name, **kwargs)
        ctx = _Context(account_id, region_name)
        try:
            ingress = _template_rules(properties.get("SecurityGroupIngress"), False, ctx)
            _set_rules(group, ingress, False, ctx)
            if "SecurityGroupEgress" in properties:
                egress = _template_rules(properties["SecurityGroupEgress"], True, ctx)
                _set_rules(group, egress, True, ctx)
        except EC2ClientError as error:
            group.delete(account_id, region_name)
            raise rollback.service_failure("Ec2", error.code, error.message) from error
        return group

    SecurityGroup.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


# --- install --------------------------------------------------------------------------------


def _patch_responses() -> None:
    response_class = responses.CloudFormationResponse
    moto_create_change_set = response_class.create_change_set

    def detect_stack_drift_action(self: Any) -> ActionResult:
        detection_id = detect_stack_drift(
            self.cloudformation_backend,
            self._get_param("StackName"),
            self._get_param("LogicalResourceIds") or [],
        )
        return ActionResult({"StackDriftDetectionId": detection_id})

    def describe_stack_drift_detection_status_action(self: Any) -> ActionResult:
        return ActionResult(
            describe_stack_drift_detection_status(
                self.cloudformation_backend, self._get_param("StackDriftDetectionId")
            )
        )

    def detect_stack_resource_drift_action(self: Any) -> ActionResult:
        drift = detect_stack_resource_drift(
            self.cloudformation_backend,
            self._get_param("StackName"),
            self._get_param("LogicalResourceId"),
        )
        return ActionResult({"StackResourceDrift": drift})

    def describe_stack_resource_drifts_action(self: Any) -> ActionResult:
        drifts, token = describe_stack_resource_drifts(
            self.cloudformation_backend,
            self._get_param("StackName"),
            self._get_param("StackResourceDriftStatusFilters") or [],
            self._get_param("NextToken"),
            self._get_param("MaxResults"),
        )
        return ActionResult({"StackResourceDrifts": drifts, "NextToken": token})

    def create_change_set_action(self: Any) -> ActionResult:
        mode = self._get_param("DeploymentMode")
        if mode is None:
            return moto_create_change_set(self)
        if mode != REVERT_DRIFT:
            raise ValidationError(message=f"DeploymentMode {mode} is not supported")
        if self._get_param("ChangeSetType", "CREATE") != "UPDATE":
            raise ValidationError(
                message="DeploymentMode REVERT_DRIFT is only supported for UPDATE change sets"
            )
        # A repair keeps the template and parameters: moto refuses that as "No updates".
        self._validate_different_update = lambda *args, **kwargs: None
        result = moto_create_change_set(self)
        make_drift_aware(
            self.cloudformation_backend, result.result["Id"], self._get_param("Parameters", [])
        )
        return result

    # moto dispatches an action to the response method named after it.
    response_class.detect_stack_drift = detect_stack_drift_action
    response_class.describe_stack_drift_detection_status = (
        describe_stack_drift_detection_status_action
    )
    response_class.detect_stack_resource_drift = detect_stack_resource_drift_action
    response_class.describe_stack_resource_drifts = describe_stack_resource_drifts_action
    response_class.create_change_set = create_change_set_action


def _patch_models() -> None:
    moto_apply = models.ChangeSet.apply

    def apply(self: Any) -> None:
        moto_apply(self)
        if getattr(self, "deployment_mode", None) == REVERT_DRIFT:
            stack = self.stack
            backend = models.cloudformation_backends[stack.account_id][stack.region_name]
            revert_drift(backend, stack)

    models.ChangeSet.apply = apply
    models.Stack.drift_information = property(
        lambda stack: getattr(stack, _STACK_DRIFT, None) or {"StackDriftStatus": "NOT_CHECKED"}
    )
    moto_dto_init = responses.StackResourceDTO.__init__

    def dto_init(self: Any, stack: Any, resource: Any) -> None:
        moto_dto_init(self, stack, resource)
        drift = _resource_drifts(stack).get(self.logical_resource_id)
        self.drift_information = (
            {
                "StackResourceDriftStatus": drift["StackResourceDriftStatus"],
                "LastCheckTimestamp": drift["Timestamp"],
            }
            if drift
            else {"StackResourceDriftStatus": "NOT_CHECKED"}
        )

    responses.StackResourceDTO.__init__ = dto_init


def install() -> None:
    """Give moto's CloudFormation drift detection and REVERT_DRIFT change sets, and security
    groups their egress rules and rule descriptions. Safe to call again. What it wraps must
    be in place first (change set execution, dynamic references, rollback): it installs
    them, so it can be called on its own."""
    if getattr(models.CloudFormationBackend, _INSTALLED_MARK, False):
        return
    change_sets.install()
    dynamic_references.install()
    _patch_parsing()
    _patch_security_group_create()
    _patch_responses()
    _patch_models()
    setattr(models.CloudFormationBackend, _INSTALLED_MARK, True)
