"""Stand-in for CloudFormation's `DeletionPolicy` and `UpdateReplacePolicy`, and for a
resource whose `Condition` changes on a stack update.

AWS behaviour:
- "DeletionPolicy attribute" (CloudFormation template reference): when a resource is
  deleted (the stack is deleted, or an update removes the resource from the template),
  `Retain` keeps the physical resource and only drops it from the stack; `Snapshot` takes a
  snapshot first (RDS DBInstance and DBCluster, ElastiCache CacheCluster and
  ReplicationGroup, EC2 Volume, Redshift, Neptune, DocDB), then deletes it. An RDS DBCluster,
  and an RDS DBInstance that names no DBClusterIdentifier, default to `Snapshot`; every
  other resource to `Delete`.
- "UpdateReplacePolicy attribute": when an update replaces a resource (a create-only
  property changed), CloudFormation creates the new one, points references at it, and then
  deletes the old one, unless the policy is `Retain` (the old one stays, outside the stack)
  or `Snapshot` (a snapshot of the old one is taken before it is deleted). The policy
  defaults to `Delete`; `Snapshot` on a type without snapshots behaves as `Delete`.
- "Conditions" (template anatomy): a resource whose condition turns false on an update is
  deleted, as if removed from the template (its DeletionPolicy applies); one whose
  condition turns true is created.

moto 5.2.5 honours `DeletionPolicy: Retain` on stack deletion only, ignores `Snapshot` and
`UpdateReplacePolicy`, and neither creates nor deletes a resource whose condition changes.

`install()` makes moto's resource deletion honour the DeletionPolicy (its default included),
and a stack update create the resources whose condition turned true and delete, last, those
whose condition turned false. `dispose_replaced()` is what the update models of
`localaws.cfn_updates` (RDS DBInstance and DBSubnetGroup, Logs LogGroup, KMS Key) and
`localaws.cfn_elasticache` call for the resource they replaced. Snapshots are taken through
moto's own backends: CreateDBSnapshot (a manual snapshot, which outlives the instance) and
ElastiCache CreateSnapshot of the replication group.

Limits: moto's own models that replace a resource on update (an S3 bucket or SSM parameter
renamed, ...) delete the old one themselves, whatever the UpdateReplacePolicy. The old
resource is disposed of when its replacement is made, not in the cleanup phase after the
whole update worked.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from localaws.change_set_details import deletion_policy, update_replace_policy

logger = logging.getLogger(__name__)

_INSTALLED_MARK = "_localaws_cfn_policies"


# --- snapshots ----------------------------------------------------------------------------------


def _snapshot_name(physical_id: str) -> str:
    # Letters, digits and single hyphens, starting with a letter: valid for both services.
    base = "-".join(part for part in physical_id.lower().replace("_", "-").split("-") if part)
    return f"{base[:200]}-snapshot-{uuid.uuid4().hex[:8]}"


def _snapshot_db_instance(resource: Any, account_id: str, region_name: str) -> str:
    from moto.rds.models import rds_backends

    name = _snapshot_name(resource.db_instance_identifier)
    rds_backends[account_id][region_name].create_db_snapshot(
        resource.db_instance_identifier, name, snapshot_type="manual"
    )
    return name


def _snapshot_replication_group(resource: Any, account_id: str, region_name: str) -> str:
    from moto.elasticache.models import elasticache_backends

    name = _snapshot_name(resource.replication_group_id)
    elasticache_backends[account_id][region_name].create_snapshot(
        name, resource.replication_group_id, None, None, None
    )
    return name


_SNAPSHOTS = {
    "AWS::RDS::DBInstance": _snapshot_db_instance,
    "AWS::ElastiCache::ReplicationGroup": _snapshot_replication_group,
}


def snapshot(resource: Any, resource_type: str, account_id: str, region_name: str) -> None:
    """Take the snapshot a Snapshot policy asks for; types without one (here) are only
    deleted, with a warning."""
    take = _SNAPSHOTS.get(resource_type)
    if take is None:
        logger.warning("localaws: no snapshot of %s is modelled; deleting it", resource_type)
        return
    try:
        name = take(resource, account_id, region_name)
    except Exception as error:  # already gone, say: the deletion goes on
        logger.warning("localaws: no snapshot of %s taken: %s", resource_type, error)
        return
    logger.info("localaws: snapshot %s taken of %s", name, resource.physical_resource_id)


def _resource_type(resource: Any, resource_json: Mapping[str, Any]) -> str:
    return str(resource_json.get("Type") or getattr(resource, "cf_resource_type", ""))


# --- replacement ----------------------------------------------------------------------------------


def dispose_replaced(
    resource: Any, resource_json: Mapping[str, Any], account_id: str, region_name: str
) -> None:
    """What happens to a resource an update replaced, by its UpdateReplacePolicy: kept
    (Retain), snapshot then deleted (Snapshot), or deleted. When the deletion fails (say,
    deletion protection) AWS keeps the resource and completes the update."""
    policy = update_replace_policy(resource_json)
    if policy == "Retain":
        logger.info("localaws: replaced resource kept (UpdateReplacePolicy: Retain)")
        return
    if policy == "Snapshot":
        snapshot(resource, _resource_type(resource, resource_json), account_id, region_name)
    try:
        resource.delete(account_id, region_name)
    except Exception as error:
        logger.warning("localaws: replaced resource kept, its deletion failed: %s", error)


# --- deletion and conditions ----------------------------------------------------------------------


def install() -> None:
    """Honour DeletionPolicy on every deletion, and conditions that change on update. Safe to
    call again; install before `localaws.rollback`, whose update wraps this one."""
    from moto.cloudformation import parsing

    resource_map_class = parsing.ResourceMap
    if resource_map_class.__dict__.get(_INSTALLED_MARK):
        return
    moto_delete_resource = resource_map_class._delete_resource
    moto_update = resource_map_class.update

    def _delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        policy = deletion_policy(resource_json)
        if policy == "Retain":
            return
        if policy == "Snapshot":
            snapshot(
                parsed_resource,
                _resource_type(parsed_resource, resource_json),
                self._account_id,
                self._region_name,
            )
        moto_delete_resource(self, parsed_resource, resource_json)

    def update(
        self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> None:
        moto_update(self, template, parameters)
        _apply_condition_changes(self)

    resource_map_class._delete_resource = _delete_resource
    resource_map_class.update = update
    setattr(resource_map_class, _INSTALLED_MARK, True)


def _apply_condition_changes(resource_map: Any) -> None:
    """After moto's update: create what a condition turned on, then delete (as the cleanup
    phase does) what a condition turned off."""
    conditions = resource_map.lazy_condition_map
    parsed = resource_map._parsed_resources
    turned_on, turned_off = [], []
    for name, resource_json in resource_map._resource_json_map.items():
        condition = resource_json.get("Condition")
        if not condition:
            continue
        active = bool(conditions[condition])
        if active and parsed.get(name) is None:
            turned_on.append(name)
        elif not active and parsed.get(name) is not None:
            turned_off.append(name)
    created: list[str] = []
    try:
        for name in turned_on:
            _ = resource_map[name]  # moto's lazy map creates it
            created.append(name)
    except Exception:
        for name in reversed(created):  # the rollback only knows the update's own additions
            resource = parsed.pop(name, None)
            if resource is not None:
                try:
                    resource.delete(resource_map._account_id, resource_map._region_name)
                except Exception as error:
                    logger.warning("localaws: %s left behind: %s", name, error)
        raise
    for name in turned_off:
        resource = parsed[name]
        try:
            resource_map._delete_resource(resource, resource_map._resource_json_map[name])
        except Exception as error:
            logger.warning("localaws: %s (condition now false) left behind: %s", name, error)
        parsed.pop(name, None)
