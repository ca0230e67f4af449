"""Stand-in for CloudFormation's `AWS::SecretsManager::Secret`,
`AWS::SecretsManager::SecretTargetAttachment` and `AWS::SecretsManager::RotationSchedule`.

AWS behaviour:
- Secret: created with the given Name or `<LogicalId>-<12 random characters>`; its value
  is SecretString, or a password from GetRandomPassword with every GenerateSecretString
  option (PasswordLength 32 and RequireEachIncludedType true by default), put under
  GenerateStringKey in the SecretStringTemplate JSON when those two (always together) are
  given; neither makes an empty secret. Ref: the ARN; GetAtt Id: the ARN. An update changes
  Description, KmsKeyId and Tags in place; a changed SecretString or GenerateSecretString
  makes a new AWSCURRENT version (for GenerateSecretString, a newly generated password; an
  unchanged one is never regenerated); a new Name replaces the secret. Deletion is without
  recovery window.
- SecretTargetAttachment: adds the database's connection fields to the secret's JSON as a
  new AWSCURRENT version: engine, host, port and dbInstanceIdentifier for an RDS instance
  (dbClusterIdentifier for a cluster). Ref: the secret's ARN.
- RotationSchedule: RotateSecret with the Lambda ARN and RotationRules
  (AutomaticallyAfterDays, or ScheduleExpression and Duration): DescribeSecret then shows
  RotationEnabled, RotationLambdaARN and RotationRules. AWS also rotates at once (unless
  RotateImmediatelyOnUpdate is false, when it runs the Lambda's testSecret step). Deletion
  is CancelRotateSecret. Ref: the secret's ARN.

moto 5.2.5 has no CloudFormation model for any Secrets Manager type (skipped with a warning,
empty physical id, a GetAtt crashes the create). Its RotateSecret invokes the Lambda, which
needs Docker, and its DescribeSecret reports RotationRules as AutomaticallyAfterDays only.

`install()` registers three models with moto's CloudFormation, backed by moto's
secretsmanager backend (passwords come from its GetRandomPassword), and makes DescribeSecret
report the RotationRules a schedule recorded.

Failures: what fails one of these resources on AWS (a property the schema or Secrets Manager
refuses, a SecretId or rotation Lambda that does not exist, an attachment to a database that
does not exist) raises `localaws.rollback.ResourceFailed` during the create or update, so
CreateStack, UpdateStack and ExecuteChangeSet succeed, the resource gets CREATE_FAILED
(UPDATE_FAILED) with the reason, and the stack rolls back. Property validation reasons read
"Properties validation failed for resource <LogicalId> with message: ..."; service errors
take the resource-handler shape (`Resource handler returned message: "... (Service:
SecretsManager, Status Code: 400, Request ID: ...)" (RequestToken: ..., HandlerErrorCode:
...)`, with Service: Rds for a missing database). No reason carries a secret value.

Differences that remain:
- The rotation configuration is recorded without invoking the Lambda: the immediate first
  rotation AWS performs (and the testSecret step) does not run locally; the Lambda must
  exist. HostedRotationLambda (which needs the AWS::SecretsManager-2020-07-23 transform)
  fails the resource.
- Property-validation messages name the rule in CloudFormation's format but their wording is
  paraphrased. Stack tags are not copied onto secrets; ReplicaRegions changes are logged,
  not applied. Deleting an attachment leaves the secret's value as it is.
- SecretTargetAttachment supports RDS instances and clusters only.
"""

from __future__ import annotations

import functools
import json
import logging
import string
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import ServiceException
from moto.moto_api._internal import mock_random
from moto.rds.exceptions import RDSClientError
from moto.rds.models import rds_backends
from moto.secretsmanager.exceptions import SecretNotFoundException, SecretsManagerClientError
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend, secretsmanager_backends

from localaws import cfn_models
from localaws.cfn_models import ABSENT, as_bool, diff, invalid_properties, require, retag, tag_dict
from localaws.rollback import ResourceFailed, service_failure

logger = logging.getLogger(__name__)

_ROTATION_RULES = "_localaws_rotation_rules"  # on a FakeSecret: the RotationRules recorded
_PATCHED = "_localaws_cfn_secretsmanager"
_T = TypeVar("_T")


class SecretsManagerError(ServiceException):
    """A Secrets Manager error raised by these models. moto's own Secrets Manager errors
    serialise as JSON only, which CloudFormation's query API cannot carry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def _reported(method: Callable[..., _T]) -> Callable[..., _T]:
    """Let moto's Secrets Manager errors out of a model's delete as SecretsManagerError."""

    @functools.wraps(method)
    def reporting(*args: Any, **kwargs: Any) -> _T:
        try:
            return method(*args, **kwargs)
        except SecretsManagerClientError as error:
            raise SecretsManagerError(error.error_type, error.message) from error

    return reporting


def _fails_the_resource(method: Callable[..., _T]) -> Callable[..., _T]:
    """What Secrets Manager (or RDS, for an attachment's target) refuses while CloudFormation
    creates or updates the resource fails the resource (the stack rolls back) instead of
    the stack operation's API call. Secrets Manager answers every such error with HTTP 400."""

    @functools.wraps(method)
    def failing(*args: Any, **kwargs: Any) -> _T:
        try:
            return method(*args, **kwargs)
        except SecretsManagerClientError as error:
            raise service_failure("SecretsManager", error.error_type, error.message) from error
        except SecretsManagerError as error:
            raise service_failure("SecretsManager", error.code, error.message) from error
        except RDSClientError as error:
            status = 404 if "NotFound" in error.code else 400
            raise service_failure("Rds", error.code, error.message, status) from error

    return failing


# --- shared steps --------------------------------------------------------------------------------


def _backend(account_id: str, region_name: str) -> SecretsManagerBackend:
    return secretsmanager_backends[account_id][region_name]


def _secret(backend: SecretsManagerBackend, secret_id: str) -> FakeSecret:
    """The secret named or ARN'd by secret_id; ResourceNotFoundException if there is none."""
    secret = backend.describe_secret(str(secret_id))
    if not isinstance(secret, FakeSecret):  # a replica: not managed from this region
        raise SecretsManagerError(
            "InvalidRequestException",
            f"Operation is not permitted on a replica secret: {secret_id}",
        )
    return secret


def _not_applied(resource_type: str, prop: str) -> None:
    logger.warning("localaws: %s property %s changed but is not applied", resource_type, prop)


def _put_current(backend: SecretsManagerBackend, secret_arn: str, value: str) -> None:
    """PutSecretValue: a new version that takes AWSCURRENT (the old one becomes AWSPREVIOUS)."""
    backend.put_secret_value(
        secret_id=secret_arn,
        secret_string=value,
        secret_binary=None,  # type: ignore[arg-type]
        client_request_token=None,  # type: ignore[arg-type]
        version_stages=["AWSCURRENT"],
    )


def _current_value(secret: FakeSecret) -> str | None:
    for version in secret.versions.values():
        if "AWSCURRENT" in version["version_stages"]:
            return version.get("secret_string")
    return None


# --- AWS::SecretsManager::Secret ------------------------------------------------------------------


def generate_secret_string(
    backend: SecretsManagerBackend, generate: Mapping[str, Any], logical_id: str = "Secret"
) -> str:
    """The secret value GenerateSecretString describes, from moto's GetRandomPassword: the
    bare password, or the SecretStringTemplate JSON with the password under
    GenerateStringKey."""
    template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
    if (template is None) != (key is None):
        raise invalid_properties(
            logical_id,
            "#/GenerateSecretString: SecretStringTemplate and GenerateStringKey must be "
            "specified together",
        )
    document: dict[str, Any] | None = None
    if template is not None:
        try:
            document = json.loads(str(template))
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise invalid_properties(
                logical_id, "#/GenerateSecretString/SecretStringTemplate: must be a JSON object"
            )
    password = json.loads(
        backend.get_random_password(
            password_length=int(generate.get("PasswordLength", 32)),
            exclude_characters=str(generate.get("ExcludeCharacters", "")),
            exclude_numbers=as_bool(generate.get("ExcludeNumbers", False)),
            exclude_punctuation=as_bool(generate.get("ExcludePunctuation", False)),
            exclude_uppercase=as_bool(generate.get("ExcludeUppercase", False)),
            exclude_lowercase=as_bool(generate.get("ExcludeLowercase", False)),
            include_space=as_bool(generate.get("IncludeSpace", False)),
            require_each_included_type=as_bool(generate.get("RequireEachIncludedType", True)),
        )
    )["RandomPassword"]
    if document is None:
        return password
    document[str(key)] = password
    return _json(document)


def _secret_value(
    backend: SecretsManagerBackend, properties: Mapping[str, Any], logical_id: str
) -> str | None:
    if "SecretString" in properties and "GenerateSecretString" in properties:
        raise invalid_properties(
            logical_id, "#: SecretString and GenerateSecretString are exclusive"
        )
    if "SecretString" in properties:
        return str(properties["SecretString"])
    if "GenerateSecretString" in properties:
        return generate_secret_string(backend, properties["GenerateSecretString"], logical_id)
    return None  # an empty secret


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def _remembered(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The properties as deployed, with SecretString replaced by a keyed digest."""
    kept = dict(properties)
    if "SecretString" in kept:
        kept["SecretString"] = cfn_models.digest(kept["SecretString"])
    return kept


def _generated_secret_name(logical_id: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return f"{logical_id}-{''.join(mock_random.choice(alphabet) for _ in range(12))}"


class _SecretsManagerResource(cfn_models.Resource):
    """What the three types share: Ref (`physical_resource_id`) and GetAtt Id give the
    secret's ARN."""

    ATTRIBUTES = ("Id",)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.physical_resource_id
        raise UnformattedGetAttTemplateException()


class SecretResource(_SecretsManagerResource):
    """AWS::SecretsManager::Secret over moto's FakeSecret (Ref and GetAtt Id: the ARN)."""

    TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"

    def __init__(
        self,
        arn: str,
        name: str,
        properties: Mapping[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        self.arn = arn
        self.name = name
        self.account_id = account_id
        self.region_name = region_name
        self._deployed = _remembered(properties)

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    @_fails_the_resource
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecretResource:
        properties = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.created_logical_id(kwargs, resource_name)
        backend = _backend(account_id, region_name)
        value = _secret_value(backend, properties, logical_id)
        name = str(properties.get("Name") or _generated_secret_name(logical_id))
        created = json.loads(
            backend.create_secret(
                name=name,
                secret_string=value,
                secret_binary=None,
                description=str(properties.get("Description", "")),
                tags=[{"Key": k, "Value": v} for k, v in tag_dict(properties.get("Tags")).items()],
                kms_key_id=properties.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=list(properties.get("ReplicaRegions") or []),
                force_overwrite=False,
            )
        )
        return cls(created["ARN"], name, properties, account_id, region_name)

    @classmethod
    @_fails_the_resource
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: SecretResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SecretResource:
        new = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.logical_id(original_resource, original_resource.name)
        changes = diff(original_resource._deployed, _remembered(new))
        if "Name" in changes:  # the only create-only property
            replacement = cls.create_from_cloudformation_json(
                new_resource_name,
                cloudformation_json,
                account_id,
                region_name,
                LogicalId=logical_id,
            )
            original_resource.delete(account_id, region_name)
            return replacement
        original_resource._modify(changes, new, logical_id)
        original_resource._deployed = _remembered(new)
        return original_resource

    @classmethod
    @_reported
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        _force_delete(_backend(account_id, region_name), resource_name)

    @_reported
    def delete(self, account_id: str, region_name: str) -> None:
        _force_delete(_backend(account_id, region_name), self.arn)

    def _modify(self, changes: Mapping[str, Any], new: Mapping[str, Any], logical_id: str) -> None:
        """UpdateSecret, TagResource/UntagResource and, for a new value, PutSecretValue."""
        backend = _backend(self.account_id, self.region_name)
        secret = _secret(backend, self.arn)
        for prop, value in changes.items():
            if prop == "Description":
                secret.description = None if value is ABSENT else str(value)
            elif prop == "KmsKeyId":
                secret.kms_key_id = None if value is ABSENT else str(value)
            elif prop == "Tags":
                retag(backend, self.arn, self._deployed.get("Tags"), value)
            elif prop not in ("SecretString", "GenerateSecretString"):
                _not_applied(self.cloudformation_type(), prop)
        if "SecretString" in changes or "GenerateSecretString" in changes:
            value = _secret_value(backend, new, logical_id)
            if value is None:
                _not_applied(self.cloudformation_type(), "SecretString")  # value kept
            else:
                _put_current(backend, self.arn, value)
        secret.last_changed_date = int(time.time())


def _force_delete(backend: SecretsManagerBackend, secret_id: str) -> None:
    """DeleteSecret with ForceDeleteWithoutRecovery, replicas first (moto refuses otherwise)."""
    secret = backend.secrets.get(secret_id)
    if not isinstance(secret, FakeSecret):
        return
    if secret.replicas:
        backend.remove_regions_from_replication(
            secret.arn, [replica.region for replica in secret.replicas]
        )
    backend.delete_secret(
        secret.arn, recovery_window_in_days=None, force_delete_without_recovery=True
    )


# --- AWS::SecretsManager::SecretTargetAttachment --------------------------------------------------


def target_connection_fields(
    target_type: str, target_id: str, account_id: str, region_name: str
) -> dict[str, Any]:
    """The fields SecretTargetAttachment adds to the secret, read from moto's RDS backend."""
    rds = rds_backends[account_id][region_name]
    if target_type == "AWS::RDS::DBInstance":
        instance = rds.describe_db_instances(target_id)[0]
        return {
            "engine": instance.engine,
            "host": instance.address,
            "port": int(instance.port),  # type: ignore[arg-type]
            "dbInstanceIdentifier": instance.db_instance_identifier,
        }
    if target_type == "AWS::RDS::DBCluster":
        cluster = rds.describe_db_clusters(target_id)[0]
        return {
            "engine": cluster.engine,
            "host": cluster.endpoint,
            "port": int(cluster.port),
            "dbClusterIdentifier": cluster.db_cluster_identifier,
        }
    # A local limit, not an AWS error: AWS also attaches Redshift, DocumentDB and Neptune.
    raise ResourceFailed(
        f"localaws: TargetType {target_type} is not supported; "
        "use AWS::RDS::DBInstance or AWS::RDS::DBCluster"
    )


class _OnASecret(_SecretsManagerResource):
    """A resource that changes a secret and is known by the secret's ARN."""

    def __init__(
        self, secret_arn: str, properties: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        self.secret_arn = secret_arn
        self.account_id = account_id
        self.region_name = region_name
        self._deployed = dict(properties)

    @property
    def physical_resource_id(self) -> str:
        return self.secret_arn


class SecretTargetAttachmentResource(_OnASecret):
    """AWS::SecretsManager::SecretTargetAttachment (Ref and GetAtt Id: the secret's ARN)."""

    TYPE = "AWS::SecretsManager::SecretTargetAttachment"

    @classmethod
    @_fails_the_resource
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecretTargetAttachmentResource:
        properties = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.created_logical_id(kwargs, resource_name)
        require(properties, ("SecretId", "TargetId", "TargetType"), logical_id)
        secret_arn = _attach(properties, account_id, region_name)
        return cls(secret_arn, properties, account_id, region_name)

    @classmethod
    @_fails_the_resource
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: SecretTargetAttachmentResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SecretTargetAttachmentResource:
        new = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.logical_id(original_resource, "")
        require(new, ("SecretId", "TargetId", "TargetType"), logical_id)
        if diff(original_resource._deployed, new):
            # A new SecretId makes a new attachment (create-only); a new target is attached
            # in place. Either way the target's fields go into the (new) secret.
            original_resource.secret_arn = _attach(new, account_id, region_name)
            original_resource._deployed = dict(new)
        return original_resource

    @classmethod
    @_reported
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        pass  # the secret keeps its value

    @_reported
    def delete(self, account_id: str, region_name: str) -> None:
        pass  # the secret keeps its value


def _attach(properties: Mapping[str, Any], account_id: str, region_name: str) -> str:
    backend = _backend(account_id, region_name)
    secret = _secret(backend, str(properties["SecretId"]))
    fields = target_connection_fields(
        str(properties["TargetType"]), str(properties["TargetId"]), account_id, region_name
    )
    current = _current_value(secret)
    try:
        document = json.loads(current) if current else {}
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise SecretsManagerError(
            "InvalidParameterException",
            "The secret value must be a JSON object to attach connection details to it.",
        )
    if any(document.get(key) != value for key, value in fields.items()):
        _put_current(backend, secret.arn, _json({**document, **fields}))
    return secret.arn


# --- AWS::SecretsManager::RotationSchedule --------------------------------------------------------


def _rotation_rules(rules: Mapping[str, Any]) -> dict[str, Any]:
    """RotationRules as RotateSecret checks and DescribeSecret reports them."""
    recorded: dict[str, Any] = {}
    if rules.get("AutomaticallyAfterDays") is not None:
        days = int(rules["AutomaticallyAfterDays"])
        if not 1 <= days <= 1000:
            raise SecretsManagerError(
                "InvalidParameterException",
                "RotationRules.AutomaticallyAfterDays must be within 1-1000.",
            )
        recorded["AutomaticallyAfterDays"] = days
    if rules.get("ScheduleExpression") is not None:
        if recorded:
            raise SecretsManagerError(
                "InvalidParameterException",
                "You cannot specify both rotation frequency and schedule expression together.",
            )
        recorded["ScheduleExpression"] = str(rules["ScheduleExpression"])
    if rules.get("Duration") is not None:
        recorded["Duration"] = str(rules["Duration"])
    return recorded


class RotationScheduleResource(_OnASecret):
    """AWS::SecretsManager::RotationSchedule (Ref and GetAtt Id: the secret's ARN)."""

    TYPE = "AWS::SecretsManager::RotationSchedule"

    @classmethod
    @_fails_the_resource
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RotationScheduleResource:
        properties = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.created_logical_id(kwargs, resource_name)
        require(properties, ("SecretId",), logical_id)
        secret_arn = _record_rotation(properties, account_id, region_name, logical_id)
        return cls(secret_arn, properties, account_id, region_name)

    @classmethod
    @_fails_the_resource
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: RotationScheduleResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> RotationScheduleResource:
        new = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.logical_id(original_resource, "")
        require(new, ("SecretId",), logical_id)
        if "SecretId" in diff(original_resource._deployed, new):  # create-only: replace
            replacement = cls.create_from_cloudformation_json(
                new_resource_name,
                cloudformation_json,
                account_id,
                region_name,
                LogicalId=logical_id,
            )
            original_resource.delete(account_id, region_name)
            return replacement
        _record_rotation(new, account_id, region_name, logical_id)
        original_resource._deployed = dict(new)
        return original_resource

    @classmethod
    @_reported
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        _cancel_rotation(_backend(account_id, region_name), resource_name)

    @_reported
    def delete(self, account_id: str, region_name: str) -> None:
        _cancel_rotation(_backend(account_id, region_name), self.secret_arn)


def _record_rotation(
    properties: Mapping[str, Any], account_id: str, region_name: str, logical_id: str
) -> str:
    """RotateSecret's bookkeeping, without invoking the Lambda (moto would, through Docker)."""
    if properties.get("HostedRotationLambda") is not None:
        raise invalid_properties(
            logical_id,
            "#/HostedRotationLambda: needs the AWS::SecretsManager-2020-07-23 transform, which "
            "the local AWS does not run; give RotationLambdaARN",
        )
    backend = _backend(account_id, region_name)
    secret = _secret(backend, str(properties["SecretId"]))
    lambda_arn = properties.get("RotationLambdaARN")
    if lambda_arn is None and secret.owning_service is None:
        raise SecretsManagerError(
            "InvalidRequestException",
            "No Lambda rotation function ARN is associated with this secret.",
        )
    if lambda_arn is not None:
        from moto.awslambda.utils import get_backend as lambda_backend

        try:
            lambda_backend(account_id, region_name).get_function(str(lambda_arn))
        except Exception as error:  # moto raises several types for an unknown function
            raise SecretsManagerError(
                "ResourceNotFoundException", f"Resource not found for ARN '{lambda_arn}'."
            ) from error
    rules = _rotation_rules(properties.get("RotationRules") or {})
    secret.rotation_requested = True
    secret.rotation_enabled = True
    secret.rotation_lambda_arn = str(lambda_arn or "")
    secret.auto_rotate_after_days = rules.get("AutomaticallyAfterDays", 0)
    secret.next_rotation_date = (
        int(time.time()) + rules["AutomaticallyAfterDays"] * 86400
        if "AutomaticallyAfterDays" in rules
        else None
    )
    setattr(secret, _ROTATION_RULES, rules)
    return secret.arn


def _cancel_rotation(backend: SecretsManagerBackend, secret_arn: str) -> None:
    """CancelRotateSecret; nothing to do when the secret went first."""
    try:
        secret = _secret(backend, secret_arn)
    except SecretNotFoundException:
        return
    secret.rotation_enabled = False


# --- registration -------------------------------------------------------------------------------

RESOURCES: tuple[type[Any], ...] = (
    SecretResource,
    SecretTargetAttachmentResource,
    RotationScheduleResource,
)
_registration = cfn_models.Registration(__name__, RESOURCES)


def install() -> None:
    """Give moto's CloudFormation the three Secrets Manager models and let DescribeSecret
    report recorded RotationRules. Safe to call again; importing this module changes nothing
    in moto (`cfn_models.Registration`)."""
    _report_rotation_rules()
    _registration.install()


def registered_models() -> dict[str, type[CloudFormationModel]]:
    """CloudFormation type -> the model class moto uses for it (empty before install())."""
    return _registration.models()


def _report_rotation_rules() -> None:
    """DescribeSecret/ListSecrets show the RotationRules a schedule recorded; moto's to_dict
    knows AutomaticallyAfterDays only."""
    if FakeSecret.__dict__.get(_PATCHED):
        return
    moto_to_dict = FakeSecret.to_dict

    def to_dict(self: FakeSecret) -> dict[str, Any]:
        described = moto_to_dict(self)
        rules = getattr(self, _ROTATION_RULES, None)
        if rules is not None and "RotationRules" in described:
            described["RotationRules"] = dict(rules)
        return described

    FakeSecret.to_dict = to_dict  # type: ignore[method-assign]
    setattr(FakeSecret, _PATCHED, True)
