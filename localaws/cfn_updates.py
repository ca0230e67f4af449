"""Stand-in for CloudFormation updating RDS instances, RDS subnet groups, log groups and KMS
keys in place during a stack update.

AWS behaviour: when a stack update changes a property that the resource schema does not
mark create-only, CloudFormation calls the service's modify API (ModifyDBInstance,
ModifyDBSubnetGroup, PutRetentionPolicy, EnableKeyRotation, ...) and the resource keeps its
physical id, so `Ref`/`GetAtt` and outputs are unchanged. When a create-only property
changes, CloudFormation creates a replacement, points references at it and deletes the old
resource during cleanup; a resource with a custom name cannot be replaced that way and the
update fails.

moto 5.2.5 gives these four model classes no `update_from_cloudformation_json`, so its
update path stores `None` for the resource: the stack loses it, outputs that read it break,
and the backend keeps the old values while the stack reports UPDATE_COMPLETE.

`install()` gives each class that classmethod. To know what changed, it also wraps
`create_from_cloudformation_json` to remember the properties each resource was last
deployed with. Only changed properties are applied; a property removed from the template
goes back to AWS's default where AWS has one (listed per type below) and is otherwise left
as it is. Deciding whether a replacement is acceptable is the reconciler's job, before any
change set runs; here a create-only change simply replaces the resource as AWS would.

Some changes AWS refuses instead of replacing: changing an existing KMS key's KeySpec,
KeyUsage, Origin or MultiRegion fails the update whatever the UpdateReplacePolicy (the
AWS::KMS::Key page: "This prevents you from accidentally deleting a KMS key"), and an RDS
instance cannot move to another database engine (ModifyDBInstance takes Engine only to
convert an Oracle database to the CDB architecture; the DBInstance page's `Engine`). Both
fail the resource (UPDATE_FAILED) and roll the stack back (`localaws.rollback`), leaving
the resource as it was; the reasons are localaws's own wording. A replaced resource is
then kept, snapshot or deleted by its UpdateReplacePolicy (`localaws.cfn_policies`).

Limits: moto re-reads only resources whose own template text (or a parameter they use)
changed, so a resource that refers to a replaced one keeps the old reference, where AWS
would update it too. A resource created before `install()` has no remembered properties:
all of its new properties are applied and a create-only change goes unnoticed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.ec2.models import ec2_backends
from moto.kms.models import Key, kms_backends
from moto.logs.models import LogGroup, logs_backends
from moto.rds.models import DBInstance, DBSubnetGroup, rds_backends

from localaws import cfn_models, cfn_policies
from localaws.cfn_models import (
    ABSENT,
    as_bool,
    as_name,
    as_strs,
    deployed,
    diff,
    policy_document,
    remember,
    retag,
    tag_list,
)
from localaws.rollback import ResourceFailed, service_failure

logger = logging.getLogger(__name__)

_INSTALLED_MARK = "_localaws_cfn_updates"
_KEEP: Any = object()  # no AWS default: a removed property leaves the live value alone

Changes = Mapping[str, Any]  # changed property -> its new value, or ABSENT when removed


# --- per type: what to change in moto's backend ---------------------------------------------

# CloudFormation property -> (DBInstance attribute set via modify_db_instance, coercion,
# value when the property is removed from the template).
_DB_INSTANCE_FIELDS: dict[str, tuple[str, Callable[[Any], Any], Any]] = {
    "DBInstanceClass": ("db_instance_class", str, _KEEP),
    "AllocatedStorage": ("allocated_storage", int, _KEEP),
    "MaxAllocatedStorage": ("max_allocated_storage", int, _KEEP),
    "StorageType": ("storage_type", str, _KEEP),
    "Iops": ("iops", int, _KEEP),
    "StorageThroughput": ("storage_throughput", int, _KEEP),
    "BackupRetentionPeriod": ("backup_retention_period", int, 1),
    "PreferredBackupWindow": ("preferred_backup_window", str, _KEEP),
    "PreferredMaintenanceWindow": ("preferred_maintenance_window", lambda v: str(v).lower(), _KEEP),
    "MultiAZ": ("multi_az", as_bool, False),
    "DeletionProtection": ("deletion_protection", as_bool, False),
    "PubliclyAccessible": ("publicly_accessible", as_bool, _KEEP),
    "EngineVersion": ("engine_version", str, _KEEP),
    "AutoMinorVersionUpgrade": ("auto_minor_version_upgrade", as_bool, True),
    "CopyTagsToSnapshot": ("copy_tags_to_snapshot", as_bool, False),
    "VPCSecurityGroups": ("vpc_security_group_ids", as_strs, _KEEP),
    "DBParameterGroupName": ("db_parameter_group_name", as_name, _KEEP),
    "OptionGroupName": ("option_group_name", as_name, _KEEP),
    "CACertificateIdentifier": ("ca_certificate_identifier", str, _KEEP),
    "EnableIAMDatabaseAuthentication": ("enable_iam_database_authentication", as_bool, False),
    "EnableCloudwatchLogsExports": ("enabled_cloudwatch_logs_exports", as_strs, []),
    "MonitoringInterval": ("monitoring_interval", int, 0),
    "MonitoringRoleArn": ("monitoring_role_arn", str, _KEEP),
    "MasterUserPassword": ("master_user_password", str, _KEEP),
    "Port": ("port", int, _KEEP),
    "Tags": ("tags", tag_list, []),
}


def _update_db_instance(
    instance: DBInstance, changes: Changes, account_id: str, region_name: str
) -> None:
    """ModifyDBInstance with ApplyImmediately, as CloudFormation sends it."""
    db_kwargs: dict[str, Any] = {}
    for prop, value in changes.items():
        if prop not in _DB_INSTANCE_FIELDS:
            _not_applied("AWS::RDS::DBInstance", prop)
            continue
        attribute, coerce, default = _DB_INSTANCE_FIELDS[prop]
        if value is not ABSENT:
            db_kwargs[attribute] = coerce(value)
        elif default is not _KEEP:
            db_kwargs[attribute] = default
    if "allocated_storage" in db_kwargs and "max_allocated_storage" not in db_kwargs:
        # moto keeps MaxAllocatedStorage as created (a string, from a template) and compares
        # it with AllocatedStorage: restate the unchanged template value as a number.
        unchanged_max = (deployed(instance) or {}).get("MaxAllocatedStorage")
        db_kwargs["max_allocated_storage"] = max(
            int(unchanged_max or 0), db_kwargs["allocated_storage"]
        )
    if db_kwargs:
        backend = rds_backends[account_id][region_name]
        backend.modify_db_instance(instance.db_instance_identifier, db_kwargs)


def _update_db_subnet_group(
    group: DBSubnetGroup, changes: Changes, account_id: str, region_name: str
) -> None:
    """ModifyDBSubnetGroup, and tagging for Tags.

    Sets the model's fields directly: moto's `modify_db_subnet_group` removes the group from
    its backend (it pops it and never puts it back).
    """
    for prop, value in changes.items():
        if prop == "DBSubnetGroupDescription":
            group.description = "" if value is ABSENT else str(value)
        elif prop == "SubnetIds" and value is not ABSENT:  # required: never absent on AWS
            ec2 = ec2_backends[account_id][region_name]
            subnets = [ec2.get_subnet(subnet_id) for subnet_id in as_strs(value)]
            group.subnets = subnets  # type: ignore[assignment]
            group.vpc_id = subnets[0].vpc_id
        elif prop == "Tags":
            group.tags = [] if value is ABSENT else tag_list(value)
        else:
            _not_applied("AWS::RDS::DBSubnetGroup", prop)


def _update_log_group(group: LogGroup, changes: Changes, account_id: str, region_name: str) -> None:
    """PutRetentionPolicy / DeleteRetentionPolicy, AssociateKmsKey / DisassociateKmsKey,
    TagResource / UntagResource."""
    backend = logs_backends[account_id][region_name]
    for prop, value in changes.items():
        if prop == "RetentionInDays":
            if value is ABSENT:  # AWS default: never expire
                backend.delete_retention_policy(group.name)
            else:
                backend.put_retention_policy(group.name, int(value))  # type: ignore[arg-type]
        elif prop == "KmsKeyId":
            # moto has no AssociateKmsKey; the field is what DescribeLogGroups reports.
            group.kms_key_id = None if value is ABSENT else str(value)
        elif prop == "Tags":
            retag(backend, group.arn, (deployed(group) or {}).get("Tags"), value)
        else:
            _not_applied("AWS::Logs::LogGroup", prop)


def _update_key(key: Key, changes: Changes, account_id: str, region_name: str) -> None:
    """UpdateKeyDescription, Enable/DisableKeyRotation, PutKeyPolicy, Enable/DisableKey,
    TagResource / UntagResource."""
    backend = kms_backends[account_id][region_name]
    for prop, value in changes.items():
        if prop == "Description":
            backend.update_key_description(key.id, "" if value is ABSENT else str(value))
        elif prop == "EnableKeyRotation":
            if value is not ABSENT and as_bool(value):
                backend.enable_key_rotation(key.id)
            else:
                backend.disable_key_rotation(key.id)
        elif prop == "KeyPolicy":
            if value is ABSENT:
                backend.put_key_policy(key.id, key.generate_default_policy())
            else:
                backend.put_key_policy(key.id, policy_document(value))
        elif prop == "Enabled":
            if value is ABSENT or as_bool(value):
                backend.enable_key(key.id)
            else:
                backend.disable_key(key.id)
        elif prop == "Tags":
            retag(backend, key.id, (deployed(key) or {}).get("Tags"), value)
        elif prop in ("PendingWindowInDays", "BypassPolicyLockoutSafetyCheck"):
            pass  # only read when the key is deleted or its policy is put
        else:
            _not_applied("AWS::KMS::Key", prop)


# --- per type: changes AWS refuses ------------------------------------------------------------

# KMS key properties whose change fails the update instead of replacing the key, with
# the value a key has when the template leaves the property out.
_KEY_IMMUTABLE = {
    "KeySpec": "SYMMETRIC_DEFAULT",
    "KeyUsage": "ENCRYPT_DECRYPT",
    "Origin": "AWS_KMS",
    "MultiRegion": "false",
}
# Engine changes ModifyDBInstance accepts: an Oracle non-CDB to its CDB edition.
_ENGINE_CONVERSIONS = {("oracle-ee", "oracle-ee-cdb"), ("oracle-se2", "oracle-se2-cdb")}


def _refuse_key_change(key: Key, old: Mapping[str, Any], changes: Changes) -> None:
    def value(prop: str, given: Any) -> str:
        return str(_KEY_IMMUTABLE[prop] if given is ABSENT else given).lower()

    changed = [
        prop
        for prop in _KEY_IMMUTABLE
        if prop in changes and value(prop, old.get(prop, ABSENT)) != value(prop, changes[prop])
    ]
    if changed:
        raise ResourceFailed(
            f"You cannot change the {', '.join(changed)} of an existing KMS key "
            f"({key.id}): the update fails whatever the UpdateReplacePolicy, so that no "
            "KMS key is deleted by a replacement. Create a new AWS::KMS::Key instead."
        )


def _refuse_engine_change(instance: DBInstance, old: Mapping[str, Any], changes: Changes) -> None:
    if "Engine" not in changes or changes["Engine"] is ABSENT:
        return
    before, after = str(old.get("Engine", instance.engine)).lower(), str(changes["Engine"]).lower()
    if before != after and (before, after) not in _ENGINE_CONVERSIONS:
        raise service_failure(
            "Rds",
            "InvalidParameterCombination",
            f"Cannot change the engine of DB instance {instance.db_instance_identifier} "
            f"from {before} to {after}",
        )


def _not_applied(resource_type: str, prop: str) -> None:
    logger.warning("localaws: %s property %s changed but is not applied", resource_type, prop)


# --- the generic part: diff, replace or update, remember --------------------------------------


@dataclass(frozen=True)
class _Updater:
    """How one moto model class takes a stack update."""

    model: type[Any]
    # Create-only properties from the CloudFormation resource schema (KMS keys: the
    # properties the user guide marks "Update requires: Replacement").
    replaced_by: frozenset[str]
    apply: Callable[[Any, Changes, str, str], None]
    # Raises ResourceFailed for a change AWS refuses (given the deployed properties).
    refuse: Callable[[Any, Mapping[str, Any], Changes], None] | None = None


UPDATERS: tuple[_Updater, ...] = (
    _Updater(
        DBInstance,
        frozenset(
            {
                "BackupTarget",
                "CharacterSetName",
                "CustomIAMInstanceProfile",
                "DBClusterIdentifier",
                "DBInstanceIdentifier",
                "DBName",
                "DBSubnetGroupName",
                "DBSystemId",
                "KmsKeyId",
                "MasterUsername",
                "NcharCharacterSetName",
                "SourceRegion",
                "StorageEncrypted",
                "Timezone",
            }
        ),
        _update_db_instance,
        _refuse_engine_change,
    ),
    _Updater(DBSubnetGroup, frozenset({"DBSubnetGroupName"}), _update_db_subnet_group),
    _Updater(LogGroup, frozenset({"LogGroupName"}), _update_log_group),
    _Updater(
        Key,
        frozenset({"KeySpec", "KeyUsage", "MultiRegion", "Origin"}),
        _update_key,
        _refuse_key_change,
    ),
)


def install() -> None:
    """Teach moto's CloudFormation to update these types in place. Safe to call again."""
    for updater in UPDATERS:
        if updater.model.__dict__.get(_INSTALLED_MARK):
            continue
        _patch(updater)
        setattr(updater.model, _INSTALLED_MARK, True)


def _patch(updater: _Updater) -> None:
    model = updater.model
    cfn_models.extend_create(model, after=remember)

    def update_from_cloudformation_json(
        cls: type[Any],
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        new = cloudformation_json.get("Properties") or {}
        # None when the resource predates install(): then every given property counts.
        old = deployed(original_resource)
        changes = diff(old or {}, new)
        if old is not None and updater.refuse is not None:
            updater.refuse(original_resource, old, changes)
        replacing = sorted(prop for prop in changes if prop in updater.replaced_by)
        if old is not None and replacing:
            name = _replacement_name(cls, original_resource, new_resource_name, new, replacing)
            replacement = cls.create_from_cloudformation_json(
                name, cloudformation_json, account_id, region_name
            )
            cfn_policies.dispose_replaced(
                original_resource, cloudformation_json, account_id, region_name
            )
            return replacement
        updater.apply(original_resource, changes, account_id, region_name)
        remember(original_resource, new)
        return original_resource

    model.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)


def _replacement_name(
    cls: type[Any],
    original_resource: Any,
    new_resource_name: str,
    properties: Mapping[str, Any],
    replacing: list[str],
) -> str:
    """The replacement's name; a custom name that stays the same fails the update, as on AWS."""
    name_property = cls.cloudformation_name_type()
    old_name = (deployed(original_resource) or {}).get(name_property)
    if name_property and name_property in properties and properties[name_property] == old_name:
        raise ValidationError(
            message=(
                "CloudFormation cannot update a stack when a custom-named resource requires "
                f"replacing. Rename {old_name} and update the stack again."
            )
        )
    logger.info("localaws: replacing %s because %s changed", cls.__name__, ", ".join(replacing))
    return new_resource_name
