"""Stand-in for CloudFormation creating KMS keys, RDS instances, RDS parameter and subnet
groups, log groups and Lambda functions with the properties the template gives.

AWS behaviour: each property of the resource schema reaches the service's create call;
`Ref` of an RDS DB subnet group or DB parameter group gives its name; a Lambda function
whose code object does not exist in S3 fails to create.

moto 5.2.5, measured on its server:

- AWS::KMS::Key: a KeyPolicy given as an object is stored unserialised, so DescribeKey and
  GetKeyPolicy fail later (HTTP 500); Tags fail the create (moto wants TagKey/TagValue);
  a missing KeyPolicy fails the create; EnableKeyRotation and Enabled are stored as given,
  so "true" from a parameter comes back as a string; KeyUsage, KeySpec, MultiRegion and
  Origin are ignored.
- AWS::RDS::DBInstance: VPCSecurityGroups is ignored (moto reads VpcSecurityGroupIds, so
  the instance lands in the default VPC's default group), as are DeletionProtection,
  EnableCloudwatchLogsExports, ManageMasterUserPassword, MaxAllocatedStorage,
  StorageThroughput, EnableIAMDatabaseAuthentication, MonitoringInterval/RoleArn,
  CACertificateIdentifier and OptionGroupName; Port defaults to 3306 whatever the engine;
  a DBParameterGroupName that is a `Ref` to a group in the template fails the create.
- AWS::RDS::DBParameterGroup and AWS::RDS::DBSubnetGroup have no physical id: `Ref`
  gives moto's model object and DescribeStackResources shows no PhysicalResourceId; a
  parameter group ignores DBParameterGroupName (it always gets a generated name).
- AWS::Logs::LogGroup: KmsKeyId is ignored (moto reads kmsKeyId).
- AWS::Lambda::Function: a missing S3 code object is accepted (the function gets empty
  code); KmsKeyArn and Tags are ignored; GetFunction reports VpcId "vpc-123abc" instead
  of the VPC of the function's subnets.

`install()` replaces the create of KMS keys and RDS instances (mapping every property the
way the service API takes it), gives the two RDS groups their name as physical id, and
wraps the create of log groups and Lambda functions. Properties that are not modelled
are logged, not hidden. Replaced creates hand the template's own properties to
`cfn_models.remember`, so that stack updates (`cfn_updates`) diff against what the template
said.

Checked and left alone because moto gets them right: AWS::EC2::FlowLog,
AWS::EC2::VPCEndpoint (Interface, with SubnetIds, SecurityGroupIds, PrivateDnsEnabled),
DBParameterGroup Parameters, and DBInstance KmsKeyId, StorageEncrypted, MultiAZ,
PubliclyAccessible, BackupRetentionPeriod and Tags given literally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from localaws import cfn_models, rollback
from localaws.cfn_models import (
    as_bool,
    as_name,
    as_strs,
    policy_document,
    remember,
    tag_dict,
    tag_list,
)
from localaws.rollback import ResourceFailed

logger = logging.getLogger(__name__)

_INSTALLED_MARK = "_localaws_cfn_create_fixes"


def _lower(value: Any) -> str:
    return str(value).lower()


# --- AWS::KMS::Key ----------------------------------------------------------------------------

_KEY_PROPERTIES = frozenset(
    {
        "Description",
        "Enabled",
        "EnableKeyRotation",
        "KeyPolicy",
        "KeySpec",
        "KeyUsage",
        "MultiRegion",
        "Origin",
        "Tags",
        # Read only when the key is deleted or its policy is put.
        "PendingWindowInDays",
        "BypassPolicyLockoutSafetyCheck",
    }
)


def _create_key(
    cls: type[Any],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """CreateKey, then EnableKeyRotation / DisableKey as CloudFormation sends them."""
    from moto.kms.models import kms_backends

    properties = cloudformation_json.get("Properties") or {}
    _log_unmodelled("AWS::KMS::Key", properties, _KEY_PROPERTIES)
    backend = kms_backends[account_id][region_name]
    policy = properties.get("KeyPolicy")
    key = backend.create_key(
        # No policy: moto writes the default key policy, as KMS does.
        policy=None if policy is None else policy_document(policy),
        key_usage=str(properties.get("KeyUsage", "ENCRYPT_DECRYPT")),
        key_spec=str(properties.get("KeySpec", "SYMMETRIC_DEFAULT")),
        description=str(properties.get("Description", "")),
        tags=[
            {"TagKey": t["Key"], "TagValue": t["Value"]} for t in tag_list(properties.get("Tags"))
        ],
        multi_region=as_bool(properties.get("MultiRegion", False)),
        origin=str(properties.get("Origin", "AWS_KMS")),
    )
    if as_bool(properties.get("EnableKeyRotation", False)):
        backend.enable_key_rotation(key.id)
    if not as_bool(properties.get("Enabled", True)):
        backend.disable_key(key.id)
    remember(key, properties)
    return key


# --- AWS::RDS::DBInstance ---------------------------------------------------------------------

# CloudFormation property -> (moto DBInstance keyword, as CreateDBInstance takes it; coercion).
_DB_INSTANCE_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "AllocatedStorage": ("allocated_storage", int),
    "AutoMinorVersionUpgrade": ("auto_minor_version_upgrade", as_bool),
    "AvailabilityZone": ("availability_zone", str),
    "BackupRetentionPeriod": ("backup_retention_period", int),
    "CACertificateIdentifier": ("ca_certificate_identifier", str),
    "CharacterSetName": ("character_set_name", str),
    "CopyTagsToSnapshot": ("copy_tags_to_snapshot", as_bool),
    "DBClusterIdentifier": ("db_cluster_identifier", str),
    "DBInstanceClass": ("db_instance_class", str),
    "DBName": ("db_name", str),
    "DBParameterGroupName": ("db_parameter_group_name", as_name),
    "DBSecurityGroups": ("db_security_groups", lambda v: [as_name(g) for g in v or []]),
    "DBSubnetGroupName": ("db_subnet_group_name", as_name),
    "DeletionProtection": ("deletion_protection", as_bool),
    "EnableCloudwatchLogsExports": ("enable_cloudwatch_logs_exports", as_strs),
    "EnableIAMDatabaseAuthentication": ("enable_iam_database_authentication", as_bool),
    "Engine": ("engine", str),
    "EngineVersion": ("engine_version", str),
    "Iops": ("iops", int),
    "KmsKeyId": ("kms_key_id", str),
    "LicenseModel": ("license_model", str),
    "ManageMasterUserPassword": ("manage_master_user_password", as_bool),
    "MasterUserPassword": ("master_user_password", str),
    "MasterUsername": ("master_username", str),
    "MasterUserSecret": ("master_user_secret_kms_key_id", lambda v: (v or {}).get("KmsKeyId")),
    "MaxAllocatedStorage": ("max_allocated_storage", int),
    "MonitoringInterval": ("monitoring_interval", int),
    "MonitoringRoleArn": ("monitoring_role_arn", str),
    "MultiAZ": ("multi_az", as_bool),
    "OptionGroupName": ("option_group_name", as_name),
    "Port": ("port", int),
    "PreferredBackupWindow": ("preferred_backup_window", str),
    "PreferredMaintenanceWindow": ("preferred_maintenance_window", _lower),
    "PubliclyAccessible": ("publicly_accessible", as_bool),
    "SourceDBInstanceIdentifier": ("source_db_instance_identifier", str),
    "StorageEncrypted": ("storage_encrypted", as_bool),
    "StorageThroughput": ("storage_throughput", int),
    "StorageType": ("storage_type", str),
    "Tags": ("tags", tag_list),
    "VPCSecurityGroups": ("vpc_security_group_ids", as_strs),
}


def _create_db_instance(
    cls: type[Any],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """CreateDBInstance (or CreateDBInstanceReadReplica) with every modelled property."""
    from moto.rds.models import rds_backends

    properties = cloudformation_json.get("Properties") or {}
    _log_unmodelled(
        "AWS::RDS::DBInstance", properties, {*_DB_INSTANCE_FIELDS, "DBInstanceIdentifier"}
    )
    db_kwargs: dict[str, Any] = {"db_instance_identifier": resource_name.replace("_", "-")}
    for prop, value in properties.items():
        if prop in _DB_INSTANCE_FIELDS and value is not None:
            keyword, coerce = _DB_INSTANCE_FIELDS[prop]
            db_kwargs[keyword] = coerce(value)
    if "kms_key_id" in db_kwargs:
        db_kwargs["kms_key_id"] = _kms_key_arn(db_kwargs["kms_key_id"], account_id, region_name)

    backend = rds_backends[account_id][region_name]
    if "source_db_instance_identifier" in db_kwargs:
        instance = backend.create_db_instance_read_replica(db_kwargs)
    else:
        instance = backend.create_db_instance(db_kwargs)
    remember(instance, properties)
    return instance


def _kms_key_arn(key_id: str, account_id: str, region_name: str) -> str:
    """RDS reports the key's ARN whether the template gave its id, ARN or alias."""
    from moto.kms.models import kms_backends

    try:
        return kms_backends[account_id][region_name].describe_key(key_id).arn
    except Exception:  # a key in another account, or none: keep what the template said
        return key_id


# --- AWS::Logs::LogGroup ----------------------------------------------------------------------


def _after_log_group_create(group: Any, properties: Mapping[str, Any]) -> None:
    """KmsKeyId, which moto ignores (it reads kmsKeyId)."""
    kms_key_id = properties.get("KmsKeyId")
    if kms_key_id is not None:
        group.kms_key_id = str(kms_key_id)  # what DescribeLogGroups reports


# --- AWS::Lambda::Function --------------------------------------------------------------------


def _require_code_object(properties: Mapping[str, Any], account_id: str, region_name: str) -> None:
    """Lambda copies the code from S3 at create: a missing bucket or key fails it."""
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    code = properties.get("Code") or {}
    if "S3Bucket" not in code or "S3Key" not in code:
        return
    backend = s3_backends[account_id][get_partition(region_name)]
    try:
        found = backend.get_object(
            str(code["S3Bucket"]), str(code["S3Key"]), version_id=code.get("S3ObjectVersion")
        )
    except MissingBucket:
        reason = _s3_error("NoSuchBucket", "The specified bucket does not exist")
        raise ResourceFailed(reason) from None
    if found is None:
        raise ResourceFailed(_s3_error("NoSuchKey", "The specified key does not exist."))


def _after_function_create(function: Any, properties: Mapping[str, Any]) -> None:
    """KmsKeyArn and Tags, which moto ignores."""
    if properties.get("KmsKeyArn") is not None:
        function.kms_key_arn = str(properties["KmsKeyArn"])
    if properties.get("Tags"):
        function.tags = tag_dict(properties["Tags"])


def _s3_error(code: str, message: str) -> str:
    return (
        'Resource handler returned message: "Error occurred while GetObject. '
        f"S3 Error Code: {code}. S3 Error Message: {message} "
        '(Service: Lambda, Status Code: 400)"'
    )


def _function_vpc_config(function: Any) -> dict[str, Any] | None:
    """VpcConfig as GetFunction reports it: VpcId is the VPC of the subnets."""
    from moto.ec2.models import ec2_backends

    config = function._vpc_config
    if not config:
        return None
    config = dict(config)
    subnet_ids = config.get("SubnetIds") or []
    if subnet_ids:
        try:
            ec2 = ec2_backends[function.account_id][function.region]
            config["VpcId"] = ec2.get_subnet(subnet_ids[0]).vpc_id
        except Exception:  # subnets moto does not know: nothing better to say
            config.pop("VpcId", None)
    return config


# --- install ----------------------------------------------------------------------------------


def install() -> None:
    """Make moto create these types with the template's properties. Safe to call again."""
    from moto.awslambda.models import LambdaFunction
    from moto.kms.models import Key
    from moto.logs.models import LogGroup
    from moto.rds.models import DBInstance, DBParameterGroup, DBSubnetGroup

    rollback.install()
    if Key.__dict__.get(_INSTALLED_MARK):
        return
    Key.create_from_cloudformation_json = classmethod(_create_key)
    DBInstance.create_from_cloudformation_json = classmethod(_create_db_instance)
    cfn_models.extend_create(LogGroup, after=_after_log_group_create)
    cfn_models.extend_create(
        LambdaFunction, before=_require_code_object, after=_after_function_create
    )
    LambdaFunction.vpc_config = property(_function_vpc_config)
    # Ref gives the group's name, and DescribeStackResources shows it.
    DBSubnetGroup.physical_resource_id = property(lambda group: group.name)
    DBParameterGroup.physical_resource_id = property(lambda group: group.name)
    DBParameterGroup.cloudformation_name_type = staticmethod(lambda: "DBParameterGroupName")
    cfn_models.forget_moto_model_lists()  # moto caches each type's name property
    setattr(Key, _INSTALLED_MARK, True)


def _log_unmodelled(resource_type: str, properties: dict[str, Any], modelled: Any) -> None:
    for prop in properties:
        if prop not in modelled:
            logger.warning("localaws: %s property %s is not applied at create", resource_type, prop)
