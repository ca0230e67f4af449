"""Stand-in for CloudFormation's `AWS::ElastiCache::SubnetGroup` and
`AWS::ElastiCache::ReplicationGroup`.

AWS behaviour: CloudFormation creates the subnet group (Ref: its name, which ElastiCache
stores in lower case; CloudFormation generates one when the template gives none) and the
replication group (Ref: its ReplicationGroupId, also lower case; GetAtt PrimaryEndPoint,
ReaderEndPoint, ConfigurationEndPoint and ReadEndPoint). ElastiCache rejects an AuthToken
without in-transit encryption, an AuthToken that is not 16-128 letters, digits or
`!&#$^<>-` ("Invalid AuthToken provided."), Multi-AZ without automatic failover, and
automatic failover with fewer than two cache clusters, and a CacheSubnetGroupName that
names no cache subnet group. CreateStack, UpdateStack and ExecuteChangeSet still succeed:
the resource gets CREATE_FAILED (UPDATE_FAILED) with ElastiCache's message as its reason,
and the stack rolls back to ROLLBACK_COMPLETE (UPDATE_ROLLBACK_COMPLETE). So does a
missing required property ("Properties validation failed ...") and a replacement of a
custom-named group ("CloudFormation cannot update a stack when a custom-named resource
requires replacing ..."). On a stack update, properties the resource schema does
not mark create-only are modified in place (ModifyReplicationGroup, tagging); a changed
create-only property (AtRestEncryptionEnabled, KmsKeyId, CacheSubnetGroupName, Port,
ReplicationGroupId, ...) or an AuthToken added to a group that had none replaces the group.

moto 5.2.5 has no CloudFormation model for any ElastiCache type: the resources are skipped
with a warning and an empty physical id, and an output that GetAtt's one crashes the create.
Its elasticache backend has the API side (CreateCacheSubnetGroup, CreateReplicationGroup,
ModifyReplicationGroup) and accepts any AuthToken.

`install()` registers two CloudFormation models with moto, backed by moto's elasticache
backend, so DescribeCacheSubnetGroups, DescribeReplicationGroups and ListTagsForResource
show what a stack made. The AuthToken is validated and handed to moto, which keeps only
AuthTokenEnabled; this module keeps no copy (only a keyed digest, to notice a change).
What ElastiCache (or moto's backend) refuses during a create or update raises
`localaws.rollback.ResourceFailed`, so the stack rolls back as on AWS; its reason is the
service's message in a resource handler's shape, never the token.

Differences that remain:
- Two messages are paraphrased, not AWS's wording: AuthToken without
  TransitEncryptionEnabled, and MultiAZEnabled without AutomaticFailoverEnabled. A missing
  cache subnet group gives moto's message ("CacheSubnetGroup <name> not found.").
- Failure reasons take the resource-handler shape (`Resource handler returned message:
  "... (Service: ElastiCache, Status Code: 400, Request ID: ...)" (RequestToken: ...,
  HandlerErrorCode: ...)`) with random ids.
- Generated names follow AWS's shape (`<stack>-<logical id>-<random>`, lower case, 40
  characters at most for a replication group) but not its exact pattern.
- Changes to NumCacheClusters, NumNodeGroups, ReplicasPerNodeGroup, NodeGroupConfiguration,
  ClusterMode and removing an AuthToken are logged, not applied. A changed AuthToken only
  records the rotation (AuthTokenLastModifiedDate; strategy ROTATE, AWS's default).
- Nothing checks engine versions, node types or security groups; deleting is immediate.
- moto 5.2.5 ignores NumCacheClusters (one cluster only); the model asks it for
  NumCacheClusters - 1 replicas instead, and adds the ReaderEndpoint moto leaves out.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.core.utils import utcnow
from moto.elasticache.exceptions import (
    CacheSubnetGroupNotFound,
    ElastiCacheException,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
)
from moto.elasticache.models import (
    CacheSubnetGroup,
    ElastiCacheBackend,
    ReplicationGroup,
    elasticache_backends,
)

from localaws import cfn_models, cfn_policies
from localaws.cfn_models import ABSENT, as_bool, as_strs, diff, require, retag, tag_list
from localaws.rollback import ResourceFailed, service_failure

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Letters, digits and `! & # $ ^ < > -`, 16 to 128 of them (ElastiCache user guide, AUTH).
_AUTH_TOKEN = re.compile(r"[A-Za-z0-9!&#$^<>\-]{16,128}")

REPLICATION_GROUP_CREATE_ONLY = frozenset(
    {
        "AtRestEncryptionEnabled",
        "CacheSubnetGroupName",
        "DataTieringEnabled",
        "GlobalReplicationGroupId",
        "KmsKeyId",
        "NetworkType",
        "Port",
        "PreferredCacheClusterAZs",
        "ReplicationGroupId",
        "SnapshotArns",
        "SnapshotName",
    }
)
SUBNET_GROUP_CREATE_ONLY = frozenset({"CacheSubnetGroupName"})


class CacheSubnetGroupInUse(ElastiCacheException):
    code = "CacheSubnetGroupInUse"

    def __init__(self, name: str) -> None:
        super().__init__(f"Cache subnet group {name} is currently in use by a replication group.")


# --- template values and shared steps ------------------------------------------------------------


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _generated_name(resource_name: str, max_length: int) -> str:
    """moto's generated `<stack>-<logical id>-<suffix>`, as ElastiCache would take it: lower
    case, letters, digits and single hyphens, starting with a letter, at most max_length."""
    name = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", resource_name.lower())).strip("-")
    prefix, _, suffix = name.rpartition("-")
    if len(name) > max_length and prefix:
        name = f"{prefix[: max_length - len(suffix) - 1].rstrip('-')}-{suffix}"
    name = name[:max_length].rstrip("-")
    return name if name[:1].isalpha() else f"x{name[: max_length - 1]}"


def _fails_the_resource(method: Callable[..., _T]) -> Callable[..., _T]:
    """What ElastiCache refuses while CloudFormation creates or updates the resource fails
    the resource (the stack rolls back) instead of the stack operation's API call."""

    @functools.wraps(method)
    def failing(*args: Any, **kwargs: Any) -> _T:
        try:
            return method(*args, **kwargs)
        except ElastiCacheException as error:
            raise service_failure("ElastiCache", error.code, error.message) from error

    return failing


def _backend(account_id: str, region_name: str) -> ElastiCacheBackend:
    return elasticache_backends[account_id][region_name]


def _not_applied(resource_type: str, prop: str) -> None:
    logger.warning("localaws: %s property %s changed but is not applied", resource_type, prop)


def _custom_name_unchanged(
    name_property: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> str | None:
    """The custom name kept across a replacement (which AWS refuses), else None."""
    if (
        name_property in new
        and str(new[name_property]).lower() == str(old.get(name_property, "")).lower()
    ):
        return str(new[name_property])
    return None


def _delete_replaced(
    resource: Any, resource_json: Mapping[str, Any], account_id: str, region_name: str
) -> None:
    """Delete the replaced resource, as CloudFormation's cleanup phase does, unless its
    UpdateReplacePolicy keeps it (Retain) or asks for a snapshot first (Snapshot; see
    `localaws.cfn_policies`). When the deletion fails (a subnet group still used by a
    replication group moto did not re-read) AWS keeps the resource and completes the
    update."""
    cfn_policies.dispose_replaced(resource, resource_json, account_id, region_name)


def _refuse_custom_name_replacement(name: str) -> None:
    raise ResourceFailed(
        "CloudFormation cannot update a stack when a custom-named resource requires "
        f"replacing. Rename {name} and update the stack again."
    )


# --- AWS::ElastiCache::SubnetGroup ---------------------------------------------------------------


class SubnetGroupResource(cfn_models.Resource):
    """AWS::ElastiCache::SubnetGroup over moto's CacheSubnetGroup (Ref: the group's name;
    no GetAtt)."""

    TYPE = "AWS::ElastiCache::SubnetGroup"
    NAME_PROPERTY = "CacheSubnetGroupName"

    def __init__(
        self, name: str, properties: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        self.name = name
        self.account_id = account_id
        self.region_name = region_name
        self._deployed = dict(properties)

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    @_fails_the_resource
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SubnetGroupResource:
        properties = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.created_logical_id(kwargs, resource_name)
        require(properties, ("Description", "SubnetIds"), logical_id)
        if "CacheSubnetGroupName" in properties:
            name = str(properties["CacheSubnetGroupName"]).lower()
        else:
            name = _generated_name(resource_name, 255)
        _backend(account_id, region_name).create_cache_subnet_group(
            cache_subnet_group_name=name,
            cache_subnet_group_description=str(properties["Description"]),
            subnet_ids=as_strs(properties["SubnetIds"]),
            tags=tag_list(properties.get("Tags")),
        )
        return cls(name, properties, account_id, region_name)

    @classmethod
    @_fails_the_resource
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: SubnetGroupResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SubnetGroupResource:
        new = cloudformation_json.get("Properties") or {}
        changes = diff(original_resource._deployed, new)
        if any(prop in SUBNET_GROUP_CREATE_ONLY for prop in changes):
            replacement = cls.create_from_cloudformation_json(
                new_resource_name,
                cloudformation_json,
                account_id,
                region_name,
                LogicalId=original_resource._logical_id,
            )
            _delete_replaced(original_resource, cloudformation_json, account_id, region_name)
            return replacement
        require(new, ("Description", "SubnetIds"), original_resource._logical_id)
        original_resource._modify(changes)
        original_resource._deployed = dict(new)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        _delete_subnet_group(_backend(account_id, region_name), resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _delete_subnet_group(_backend(account_id, region_name), self.name)

    @property
    def _logical_id(self) -> str:
        return cfn_models.logical_id(self, self.name)

    def _modify(self, changes: Mapping[str, Any]) -> None:
        """ModifyCacheSubnetGroup and tagging."""
        backend = _backend(self.account_id, self.region_name)
        group = backend.cache_subnet_groups[self.name]
        for prop, value in changes.items():
            if prop == "Description":
                group.cache_subnet_group_description = str(value)
            elif prop == "SubnetIds":
                # Rebuilt so moto recomputes the subnets' zones and VPC; the ARN (and so
                # the tags) stay the same.
                backend.cache_subnet_groups[self.name] = CacheSubnetGroup(
                    account_id=self.account_id,
                    region_name=self.region_name,
                    cache_subnet_group_name=self.name,
                    cache_subnet_group_description=group.cache_subnet_group_description,
                    subnet_ids=as_strs(value),
                    tags=group.tags,
                )
                group = backend.cache_subnet_groups[self.name]
            elif prop == "Tags":
                retag(backend, group.arn, self._deployed.get("Tags"), value)
            else:
                _not_applied(self.cloudformation_type(), prop)


def _delete_subnet_group(backend: ElastiCacheBackend, name: str) -> None:
    """DeleteCacheSubnetGroup: refused while a replication group uses the group (moto retries
    a stack's deletions, so the group goes after its replication groups)."""
    group = backend.cache_subnet_groups.get(name)
    if group is None:
        return
    if any(rg.cache_subnet_group_name == name for rg in backend.replication_groups.values()):
        raise CacheSubnetGroupInUse(name)
    del backend.cache_subnet_groups[name]
    backend.tagging_service.delete_all_tags_for_resource(group.arn)


# --- AWS::ElastiCache::ReplicationGroup ----------------------------------------------------------


def _cluster_mode(properties: Mapping[str, Any]) -> str:
    mode = str(properties.get("ClusterMode", "")).lower()
    if mode in ("enabled", "compatible", "disabled"):
        return mode
    parameter_group = str(properties.get("CacheParameterGroupName", ""))
    if "NumNodeGroups" in properties or "cluster.on" in parameter_group:
        return "enabled"
    return "disabled"


def _cache_cluster_count(properties: Mapping[str, Any]) -> int:
    if properties.get("NumCacheClusters") is not None:
        return int(properties["NumCacheClusters"])
    if properties.get("ReplicasPerNodeGroup") is not None:
        return int(properties["ReplicasPerNodeGroup"]) + 1
    if properties.get("PreferredCacheClusterAZs"):
        return len(properties["PreferredCacheClusterAZs"])
    return 1


def validate_replication_group(properties: Mapping[str, Any]) -> None:
    """Refuse what CreateReplicationGroup/ModifyReplicationGroup refuse, with ElastiCache's
    error (the models turn it into the resource's failure). The error never quotes the
    token."""
    token = properties.get("AuthToken")
    if token is not None:
        if not as_bool(properties.get("TransitEncryptionEnabled", False)):
            raise InvalidParameterCombinationException(
                "The AuthToken parameter requires TransitEncryptionEnabled to be true."
            )
        if not _AUTH_TOKEN.fullmatch(str(token)):
            raise InvalidParameterValueException("Invalid AuthToken provided.")
    failover = as_bool(properties.get("AutomaticFailoverEnabled", False))
    if as_bool(properties.get("MultiAZEnabled", False)) and not failover:
        raise InvalidParameterCombinationException(
            "Multi-AZ requires AutomaticFailoverEnabled to be true."
        )
    if failover and _cluster_mode(properties) != "enabled" and _cache_cluster_count(properties) < 2:
        raise InvalidParameterCombinationException(
            "When using automatic failover, there must be at least 2 cache clusters in the "
            "replication group."
        )


def _remembered(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The properties as deployed, with the AuthToken replaced by a keyed digest."""
    kept = dict(properties)
    if kept.get("AuthToken") is not None:
        kept["AuthToken"] = cfn_models.digest(kept["AuthToken"])
    return kept


def _log_delivery(configurations: Any) -> list[dict[str, Any]]:
    delivered = []
    for configuration in configurations or []:
        entry = copy.deepcopy(dict(configuration))
        entry.update({"status": "active", "message": "Log delivery configuration is active."})
        delivered.append(entry)
    return delivered


# CloudFormation property -> ReplicationGroup attribute, for properties applied by setting
# the attribute (moto's ModifyReplicationGroup takes none of them), and the value when the
# property is removed from the template.
_RG_ATTRIBUTES: dict[str, tuple[str, Any]] = {
    "SnapshotWindow": ("snapshot_window", None),
    "PreferredMaintenanceWindow": ("preferred_maintenance_window", None),
    "EngineVersion": ("engine_version", None),
    "SecurityGroupIds": ("security_group_ids", []),
    "CacheSecurityGroupNames": ("cache_security_group_names", []),
    "CacheParameterGroupName": ("cache_parameter_group_name", None),
    "NotificationTopicArn": ("notification_topic_arn", None),
    "UserGroupIds": ("user_group_ids", []),
    "IpDiscovery": ("ip_discovery", "ipv4"),
    "TransitEncryptionMode": ("transit_encryption_mode", None),
}
# Properties that go through moto's modify_replication_group, with their removed value.
_RG_MODIFIED: dict[str, tuple[str, Any]] = {
    "ReplicationGroupDescription": ("replication_group_description", None),
    "Engine": ("engine", "redis"),
    "CacheNodeType": ("cache_node_type", None),
    "AutomaticFailoverEnabled": ("automatic_failover_enabled", False),
    "MultiAZEnabled": ("multi_az_enabled", False),
    "SnapshotRetentionLimit": ("snapshot_retention_limit", 0),
}
_RG_COERCE: dict[str, Any] = {
    "AutomaticFailoverEnabled": as_bool,
    "MultiAZEnabled": as_bool,
    "SnapshotRetentionLimit": int,
    "Engine": lambda value: str(value).lower(),
    "SecurityGroupIds": as_strs,
    "CacheSecurityGroupNames": as_strs,
    "UserGroupIds": as_strs,
}

REPLICATION_GROUP_ATTRIBUTES = (
    "PrimaryEndPoint.Address",
    "PrimaryEndPoint.Port",
    "ReaderEndPoint.Address",
    "ReaderEndPoint.Port",
    "ConfigurationEndPoint.Address",
    "ConfigurationEndPoint.Port",
    "ReadEndPoint.Addresses",
    "ReadEndPoint.Addresses.List",
    "ReadEndPoint.Ports",
    "ReadEndPoint.Ports.List",
)


class ReplicationGroupResource(cfn_models.Resource):
    """AWS::ElastiCache::ReplicationGroup over moto's ReplicationGroup (Ref: its id)."""

    TYPE = "AWS::ElastiCache::ReplicationGroup"
    NAME_PROPERTY = "ReplicationGroupId"
    ATTRIBUTES = REPLICATION_GROUP_ATTRIBUTES

    def __init__(
        self,
        replication_group_id: str,
        properties: Mapping[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        self.replication_group_id = replication_group_id
        self.account_id = account_id
        self.region_name = region_name
        self._deployed = _remembered(properties)

    @property
    def physical_resource_id(self) -> str:
        return self.replication_group_id

    @property
    def group(self) -> ReplicationGroup:
        """moto's replication group behind this resource."""
        return _backend(self.account_id, self.region_name).replication_groups[
            self.replication_group_id
        ]

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        group = self.group
        node_group = group.node_groups[0] if group.node_groups else {}
        port = str(group.port)
        replicas = [
            member["read_endpoint"]
            for member in node_group.get("node_group_members", [])
            if member.get("current_role") == "replica" and "read_endpoint" in member
        ]
        if attribute_name == "PrimaryEndPoint.Address" and "primary_endpoint" in node_group:
            return node_group["primary_endpoint"]["address"]
        if attribute_name == "ReaderEndPoint.Address" and "reader_endpoint" in node_group:
            return node_group["reader_endpoint"]["address"]
        if attribute_name in ("PrimaryEndPoint.Port", "ReaderEndPoint.Port") and (
            "primary_endpoint" in node_group
        ):
            return port
        configuration = getattr(group, "configuration_endpoint", None)
        if attribute_name == "ConfigurationEndPoint.Address" and configuration:
            return configuration["address"]
        if attribute_name == "ConfigurationEndPoint.Port" and configuration:
            return port
        if attribute_name == "ReadEndPoint.Addresses":
            return ",".join(replica["address"] for replica in replicas)
        if attribute_name == "ReadEndPoint.Addresses.List":
            return [replica["address"] for replica in replicas]
        if attribute_name == "ReadEndPoint.Ports":
            return ",".join(str(replica["port"]) for replica in replicas)
        if attribute_name == "ReadEndPoint.Ports.List":
            return [str(replica["port"]) for replica in replicas]
        raise UnformattedGetAttTemplateException()

    @classmethod
    @_fails_the_resource
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ReplicationGroupResource:
        properties = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.created_logical_id(kwargs, resource_name)
        require(properties, ("ReplicationGroupDescription",), logical_id)
        validate_replication_group(properties)
        if "ReplicationGroupId" in properties:
            group_id = str(properties["ReplicationGroupId"]).lower()
        else:
            group_id = _generated_name(resource_name, 40)
        backend = _backend(account_id, region_name)
        subnet_group = properties.get("CacheSubnetGroupName")
        if subnet_group is not None and str(subnet_group).lower() not in (
            backend.cache_subnet_groups
        ):
            raise CacheSubnetGroupNotFound(str(subnet_group))
        _create_replication_group(backend, group_id, properties)
        return cls(group_id, properties, account_id, region_name)

    @classmethod
    @_fails_the_resource
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: ReplicationGroupResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ReplicationGroupResource:
        new = cloudformation_json.get("Properties") or {}
        old = original_resource._deployed
        require(new, ("ReplicationGroupDescription",), original_resource._logical_id)
        validate_replication_group(new)
        changes = diff(old, _remembered(new))
        replacing = sorted(prop for prop in changes if prop in REPLICATION_GROUP_CREATE_ONLY)
        if "AuthToken" in changes and old.get("AuthToken") is None:
            replacing.append("AuthToken")  # adding AUTH to a group replaces it
        if replacing:
            kept_name = _custom_name_unchanged("ReplicationGroupId", old, new)
            if kept_name is not None:
                _refuse_custom_name_replacement(kept_name)
            logger.info("localaws: replacing replication group: %s changed", ", ".join(replacing))
            replacement = cls.create_from_cloudformation_json(
                new_resource_name,
                cloudformation_json,
                account_id,
                region_name,
                LogicalId=original_resource._logical_id,
            )
            _delete_replaced(original_resource, cloudformation_json, account_id, region_name)
            return replacement
        original_resource._modify(changes, new)
        original_resource._deployed = _remembered(new)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        _delete_replication_group(_backend(account_id, region_name), resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _delete_replication_group(_backend(account_id, region_name), self.replication_group_id)

    @property
    def _logical_id(self) -> str:
        return cfn_models.logical_id(self, self.replication_group_id)

    def _modify(self, changes: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """ModifyReplicationGroup (ApplyImmediately, as CloudFormation sends it) and tagging."""
        backend = _backend(self.account_id, self.region_name)
        group = self.group
        modify: dict[str, Any] = {argument: None for argument, _ in _RG_MODIFIED.values()}
        for prop, value in changes.items():
            coerce = _RG_COERCE.get(prop, str)
            if prop in _RG_MODIFIED:
                argument, removed = _RG_MODIFIED[prop]
                modify[argument] = removed if value is ABSENT else coerce(value)
            elif prop in _RG_ATTRIBUTES:
                attribute, removed = _RG_ATTRIBUTES[prop]
                setattr(group, attribute, removed if value is ABSENT else coerce(value))
            elif prop == "TransitEncryptionEnabled":
                group.transit_encryption_enabled = value is not ABSENT and as_bool(value)
            elif prop == "AutoMinorVersionUpgrade":
                group.auto_minor_version_upgrade = value is ABSENT or as_bool(value)
            elif prop == "Tags":
                retag(backend, group.arn, self._deployed.get("Tags"), value)
                group.tags = tag_list(new.get("Tags"))
            elif prop == "LogDeliveryConfigurations":
                group.log_delivery_configurations = _log_delivery(new.get(prop))
            elif prop == "AuthToken" and value is not ABSENT:
                # ModifyReplicationGroup with AuthTokenUpdateStrategy ROTATE (AWS's default
                # when none is given): only the fact is kept, never the token.
                group.auth_token_enabled = True
                group.auth_token_last_modified_date = utcnow()
                group._localaws_auth_token_update_strategy = "ROTATE"
            else:
                _not_applied(self.cloudformation_type(), prop)
        if any(value is not None for value in modify.values()):
            backend.modify_replication_group(group.replication_group_id, **modify)
        if "SnapshotRetentionLimit" in changes:
            # As moto sets it at create: the first replica, or the primary when alone.
            members = group.member_clusters
            group.snapshotting_cluster_id = None
            if group.snapshot_retention_limit > 0 and members:
                group.snapshotting_cluster_id = members[1] if len(members) > 1 else members[0]


def _create_replication_group(
    backend: ElastiCacheBackend, group_id: str, properties: Mapping[str, Any]
) -> ReplicationGroup:
    engine = str(properties.get("Engine", "redis")).lower()
    cluster_mode = _cluster_mode(properties)
    transit = as_bool(properties.get("TransitEncryptionEnabled", False))
    replicas = _int(properties.get("ReplicasPerNodeGroup"))
    if cluster_mode != "enabled" and replicas is None:
        # moto 5.2.5 ignores NumCacheClusters when cluster mode is disabled.
        replicas = _cache_cluster_count(properties) - 1
    group = backend.create_replication_group(
        replication_group_id=group_id,
        replication_group_description=str(properties["ReplicationGroupDescription"]),
        global_replication_group_id=properties.get("GlobalReplicationGroupId"),
        primary_cluster_id=properties.get("PrimaryClusterId"),
        automatic_failover_enabled=as_bool(properties.get("AutomaticFailoverEnabled", False)),
        multi_az_enabled=as_bool(properties.get("MultiAZEnabled", False)),
        num_cache_clusters=_int(properties.get("NumCacheClusters")),
        preferred_cache_cluster_azs=as_strs(properties.get("PreferredCacheClusterAZs")),
        num_node_groups=_int(properties.get("NumNodeGroups")),
        replicas_per_node_group=replicas,
        node_group_configuration=list(properties.get("NodeGroupConfiguration") or []),
        cache_node_type=properties.get("CacheNodeType"),
        engine=engine,
        engine_version=properties.get("EngineVersion"),
        cache_parameter_group_name=properties.get("CacheParameterGroupName"),
        cache_subnet_group_name=(
            str(properties["CacheSubnetGroupName"]).lower()
            if properties.get("CacheSubnetGroupName") is not None
            else None
        ),
        cache_security_group_names=as_strs(properties.get("CacheSecurityGroupNames")),
        security_group_ids=as_strs(properties.get("SecurityGroupIds")),
        tags=tag_list(properties.get("Tags")),
        snapshot_arns=as_strs(properties.get("SnapshotArns")),
        snapshot_name=properties.get("SnapshotName"),
        preferred_maintenance_window=properties.get("PreferredMaintenanceWindow"),
        port=_int(properties.get("Port")),
        notification_topic_arn=properties.get("NotificationTopicArn"),
        auto_minor_version_upgrade=as_bool(properties.get("AutoMinorVersionUpgrade", True)),
        snapshot_retention_limit=_int(properties.get("SnapshotRetentionLimit")) or 0,
        snapshot_window=properties.get("SnapshotWindow"),
        auth_token=properties.get("AuthToken"),  # moto keeps only AuthTokenEnabled
        transit_encryption_enabled=transit,
        # Valkey always encrypts at rest; Redis OSS only when asked.
        at_rest_encryption_enabled=as_bool(
            properties.get("AtRestEncryptionEnabled", engine == "valkey")
        ),
        kms_key_id=properties.get("KmsKeyId"),
        user_group_ids=as_strs(properties.get("UserGroupIds")),
        log_delivery_configurations=list(properties.get("LogDeliveryConfigurations") or []),
        data_tiering_enabled=as_bool(properties.get("DataTieringEnabled", False)),
        network_type=properties.get("NetworkType"),
        ip_discovery=properties.get("IpDiscovery"),
        transit_encryption_mode=properties.get(
            "TransitEncryptionMode", "required" if transit else None
        ),
        cluster_mode=cluster_mode,
        serverless_cache_snapshot_name=None,  # type: ignore[arg-type]
    )
    for node_group in group.node_groups:
        if "reader_endpoint_address" in node_group:  # DescribeReplicationGroups' ReaderEndpoint
            node_group["reader_endpoint"] = {
                "address": node_group["reader_endpoint_address"],
                "port": group.port,
            }
    return group


def _delete_replication_group(backend: ElastiCacheBackend, group_id: str) -> None:
    """DeleteReplicationGroup, finished at once: moto would keep it `deleting` for ever."""
    group = backend.replication_groups.pop(group_id, None)
    if group is not None:
        backend.tagging_service.delete_all_tags_for_resource(group.arn)


# --- registration -------------------------------------------------------------------------------

RESOURCES: tuple[type[Any], ...] = (SubnetGroupResource, ReplicationGroupResource)
_registration = cfn_models.Registration(__name__, RESOURCES)


def install() -> None:
    """Give moto's CloudFormation the subnet group and replication group models. Safe to
    call again; importing this module changes nothing in moto (`cfn_models.Registration`)."""
    _registration.install()


def registered_models() -> dict[str, type[CloudFormationModel]]:
    """CloudFormation type -> the model class moto uses for it (empty before install())."""
    return _registration.models()
