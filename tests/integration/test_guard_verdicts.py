"""The data-loss guard's verdict on a table of template changes to the stateful types the
PCI stack holds (RDS, ElastiCache, DynamoDB, S3, KMS, Secrets Manager, Logs): each base
template is deployed on the local AWS by `reconciler apply`, the change is planned with
`reconciler plan --json`, then pushed with `reconciler apply` (the pass a push runs).
Blocked changes leave the physical resource untouched and no change set behind; allowed
ones are executed, and an allowed replacement gets a new physical resource.

Rows with `deployed=False` use types the local AWS cannot deploy (DynamoDB GlobalTable,
ElastiCache ServerlessCache: moto has no CloudFormation model for them): they are planned
by `reconciler.plan.plan_all` against a stubbed live stack whose deployed template is the
base (`_stubbed`), and never pushed. Rows with `pushed=False` deploy, but their push
meets a limit of the local AWS, named at the row.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from localaws.server import LocalAws
from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.aws import session
from reconciler.cli import main
from reconciler.desired import load_desired_state
from reconciler.live import LiveStack
from reconciler.plan import Action, plan_all
from reconciler.yamlfile import parse
from tests.repo import make_repo

pytestmark = pytest.mark.integration
REGION = "us-east-1"

# Every stack file silences the PCI controls: the templates are minimal on purpose, and
# what is under test is the guard, not the controls (each is tested on its own).
SUPPRESS = {
    rule: "a minimal template for the guard's verdict table"
    for rule in (
        "PCI001", "PCI002", "PCI003", "PCI004", "PCI005", "PCI006", "PCI007", "PCI008",
        "PCI009", "PCI011",
    )
}  # fmt: skip


def template(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def edit(text: str, *pairs: tuple[str, str]) -> str:
    """`text` with each (old, new) replaced; each old must occur."""
    for old, new in pairs:
        assert old in text, f"{old!r} is not in the template"
        text = text.replace(old, new)
    return text


# --- base templates (shared by rows, so that cfn-lint checks each text once) ------------

LOGS = template(
    """
    Resources:
      Logs:
        Type: AWS::Logs::LogGroup
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          LogGroupName: !Sub /guard/${AWS::StackName}
          RetentionInDays: 365
    """
)

LOGS_MAPPED = template(
    """
    Parameters:
      Env:
        Type: String
        Default: dev
    Mappings:
      Settings:
        dev:
          Name: audit
          Retention: 365
    Resources:
      Logs:
        Type: AWS::Logs::LogGroup
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          LogGroupName: !Sub
            - /guard/${AWS::StackName}/${Name}
            - Name: !FindInMap [Settings, !Ref Env, Name]
          RetentionInDays: !FindInMap [Settings, !Ref Env, Retention]
    """
)

LOGS_CONDITIONAL = template(
    """
    Parameters:
      Keep:
        Type: String
        AllowedValues: ["true", "false"]
    Conditions:
      Keeping: !Equals [!Ref Keep, "true"]
    Resources:
      Anchor:
        Type: AWS::SSM::Parameter
        Properties:
          Name: !Sub /guard/${AWS::StackName}/anchor
          Type: String
          Value: anchor
      Logs:
        Type: AWS::Logs::LogGroup
        Condition: Keeping
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          LogGroupName: !Sub /guard/${AWS::StackName}
          RetentionInDays: 365
    """
)

KMS = template(
    """
    Resources:
      Key:
        Type: AWS::KMS::Key
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          Description: guard
          EnableKeyRotation: true
    """
)

KMS_RSA = template(
    """
    Resources:
      Key:
        Type: AWS::KMS::Key
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          Description: guard
          KeySpec: RSA_2048
          KeyUsage: ENCRYPT_DECRYPT
    """
)

DB_PROPERTIES = """\
      Engine: mysql
      EngineVersion: 8.4.6
      DBInstanceClass: db.t3.micro
      AllocatedStorage: "20"
      DBName: payments
      MasterUsername: admin
      MasterUserPassword: not-a-secret-1
      BackupRetentionPeriod: 7
      MultiAZ: false
"""

RDS = (
    template(
        """
    Resources:
      Db:
        Type: AWS::RDS::DBInstance
        DeletionPolicy: Snapshot
        UpdateReplacePolicy: Snapshot
        Properties:
    """
    )
    + DB_PROPERTIES
)

RDS_NAMED = (
    template(
        """
    Parameters:
      Env:
        Type: String
        AllowedValues: [dev, test, prod]
    Conditions:
      IsProd: !Equals [!Ref Env, prod]
    Resources:
      Db:
        Type: AWS::RDS::DBInstance
        DeletionPolicy: Snapshot
        UpdateReplacePolicy: Snapshot
        Properties:
          DBInstanceIdentifier: !If
            - IsProd
            - !Sub ${AWS::StackName}-prod
            - !Sub ${AWS::StackName}-${Env}-${AWS::Region}
    """
    )
    + DB_PROPERTIES
)

RDS_KMS = (
    template(
        """
    Resources:
      Key:
        Type: AWS::KMS::Key
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          Description: guard
          EnableKeyRotation: true
      KeyAlias:
        Type: AWS::KMS::Alias
        Properties:
          AliasName: !Sub alias/${AWS::StackName}
          TargetKeyId: !Ref Key
      Db:
        Type: AWS::RDS::DBInstance
        DeletionPolicy: Snapshot
        UpdateReplacePolicy: Snapshot
        Properties:
          StorageEncrypted: true
          KmsKeyId: !Ref KeyAlias
    """
    )
    + DB_PROPERTIES
)

DDB = template(
    """
    Resources:
      Table:
        Type: AWS::DynamoDB::Table
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          TableName: !Sub ${AWS::StackName}-orders
          BillingMode: PAY_PER_REQUEST
          AttributeDefinitions:
            - AttributeName: pk
              AttributeType: S
          KeySchema:
            - AttributeName: pk
              KeyType: HASH
    """
)

DDB_PROVISIONED = edit(
    DDB,
    (
        "BillingMode: PAY_PER_REQUEST",
        "BillingMode: PROVISIONED\n"
        "      ProvisionedThroughput:\n"
        "        ReadCapacityUnits: 5\n"
        "        WriteCapacityUnits: 5",
    ),
)

ANCHOR_ONLY = template(
    """
    Resources:
      Anchor:
        Type: AWS::SSM::Parameter
        Properties:
          Name: !Sub /guard/${AWS::StackName}/anchor
          Type: String
          Value: anchor
    """
)

S3 = template(
    """
    Parameters:
      Prefix:
        Type: String
        Default: guard
      Team:
        Type: String
        Default: payments
    Resources:
      Bucket:
        Type: AWS::S3::Bucket
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          BucketName: !Sub ${Prefix}-${AWS::StackName}-${AWS::AccountId}-${AWS::Region}
          Tags:
            - Key: team
              Value: !Ref Team
    """
)

SECRET = template(
    """
    Resources:
      Secret:
        Type: AWS::SecretsManager::Secret
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          Name: !Sub ${AWS::StackName}/db
          Description: guard
          GenerateSecretString:
            PasswordLength: 32
    """
)

REDIS = template(
    """
    Resources:
      Redis:
        Type: AWS::ElastiCache::ReplicationGroup
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          ReplicationGroupDescription: guard
          Engine: redis
          EngineVersion: "7.1"
          CacheNodeType: cache.t3.micro
          NumCacheClusters: 2
          AutomaticFailoverEnabled: true
          MultiAZEnabled: true
          AtRestEncryptionEnabled: true
          TransitEncryptionEnabled: true
          Port: 6379
          SnapshotRetentionLimit: 1
    """
)

TOKEN = "guard-token-0123456789abcdef"

GLOBAL_TABLE = edit(
    DDB,
    ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"),
    ("      KeySchema:", "      Replicas:\n        - Region: us-east-1\n      KeySchema:"),
)
SERVERLESS = template(
    """
    Resources:
      Cache:
        Type: AWS::ElastiCache::ServerlessCache
        DeletionPolicy: Retain
        UpdateReplacePolicy: Retain
        Properties:
          ServerlessCacheName: !Sub ${AWS::StackName}-cache
          Engine: valkey
    """
)

# Edits several rows share, or too long for a row's line.
MULTI_AZ = ("MultiAZ: false", "MultiAZ: true")
MULTI_REGION = ("EnableKeyRotation: true", "EnableKeyRotation: true\n      MultiRegion: true")
RSA_KEY = ("EnableKeyRotation: true", "KeySpec: RSA_2048\n      KeyUsage: ENCRYPT_DECRYPT")
TO_POSTGRES = (
    "Engine: mysql\n      EngineVersion: 8.4.6",
    'Engine: postgres\n      EngineVersion: "16.4"',
)
FROM_SNAPSHOT = (
    "MultiAZ: false",
    "MultiAZ: false\n      DBSnapshotIdentifier: payments-before-move",
)
VERSIONING = ("      Tags:", "      VersioningConfiguration:\n        Status: Enabled\n      Tags:")
PROD_SETTINGS = (
    "      Retention: 365",
    "      Retention: 365\n    prod:\n      Name: vault\n      Retention: 3653",
)
TTL = (
    "      KeySchema:",
    "      TimeToLiveSpecification:\n        AttributeName: expires\n        Enabled: true\n"
    "      KeySchema:",
)
GROUP_ID = ("Port: 6379", "Port: 6379\n      ReplicationGroupId: !Sub ${AWS::StackName}-cache")
REDIS_AUTH = edit(REDIS, ("Port: 6379", f"Port: 6379\n      AuthToken: {TOKEN}"))


# --- the table ----------------------------------------------------------------------------

MODIFY = "modify"  # allowed: plan action update, the resource modified in place
ADD = "add"  # allowed: the resource is added
NONE = "none"  # allowed: the stack updates, this resource does not change
REPLACE = "replace"  # blocked: replacement True or Conditional
REMOVE = "remove"  # blocked: the resource would be deleted
REFUSED = "refused"  # blocked: UPD001, AWS fails the update
ALLOWED = "allowed"  # a replacement or removal the stack file allows: executed
BLOCKED = (REPLACE, REMOVE, REFUSED)


@dataclass(frozen=True)
class Row:
    id: str
    base: str  # the deployed template
    change: str | None  # the desired template; None: the base, with new parameters
    verdict: str
    logical_id: str
    names: str  # the property (or words) the plan names for this resource
    replacement: str = "False"  # the predicted Replacement of a Modify; "" for a Remove
    params: dict[str, str] = field(default_factory=dict)
    new_params: dict[str, str] | None = None
    allow: tuple[str, ...] = ()  # allow-replacement in the changed stack file
    suppress: tuple[str, ...] = ()  # more rules the changed stack file silences
    new_physical: bool = True  # an allowed change makes a new physical resource
    deployed: bool = True  # False: planned against a stubbed live stack, never pushed
    pushed: bool = True  # False: the local AWS cannot execute this change faithfully
    refactor: bool = True  # False: `refactor: false` (a rename is then blocked, not refactored)

    @property
    def desired(self) -> str:
        return self.base if self.change is None else self.change


def row(id: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(Row(id, *args, **kwargs), id=id)


ROWS = [
    # --- KMS ------------------------------------------------------------------------------
    row(
        "kms-multiregion-added-refused",
        KMS, edit(KMS, MULTI_REGION),
        REFUSED, "Key", "MultiRegion",
    ),
    row(
        "kms-keyspec-change-refused",
        KMS, edit(KMS, RSA_KEY),
        REFUSED, "Key", "KeySpec",
    ),
    row(
        "kms-keyusage-change-refused",
        KMS_RSA, edit(KMS_RSA, ("KeyUsage: ENCRYPT_DECRYPT", "KeyUsage: SIGN_VERIFY")),
        REFUSED, "Key", "KeyUsage",
    ),
    row(
        "kms-origin-external-refused",
        KMS, edit(KMS, ("EnableKeyRotation: true", "Origin: EXTERNAL")),
        REFUSED, "Key", "Origin",
    ),
    row(
        "kms-multiregion-refused-even-with-allow-replacement",
        KMS, edit(KMS, MULTI_REGION), REFUSED, "Key", "MultiRegion", allow=("Key",),
    ),
    row(
        "kms-description-modify",
        KMS, edit(KMS, ("Description: guard", "Description: guard the payments data")),
        MODIFY, "Key", "Description",
    ),
    # A rename is refactored (tests/integration/test_refactor.py); with `refactor: false`
    # it is the removal of one resource and the creation of another.
    row(
        "kms-logical-id-rename-refactor-off-remove",
        KMS, edit(KMS, ("  Key:", "  DataKey:")),
        REMOVE, "Key", "DataKey of the same type is added", refactor=False,
    ),
    # --- RDS ------------------------------------------------------------------------------
    row(
        "rds-engine-change-refused",
        RDS, edit(RDS, TO_POSTGRES),
        REFUSED, "Db", "Engine", suppress=("RDS001",),
    ),
    row(
        "rds-dbname-replace",
        RDS, edit(RDS, ("DBName: payments", "DBName: ledger")),
        REPLACE, "Db", "DBName", "True",
    ),
    row(
        "rds-masterusername-replace",
        RDS, edit(RDS, ("MasterUsername: admin", "MasterUsername: owner")),
        REPLACE, "Db", "MasterUsername", "True",
    ),
    row(
        "rds-storageencrypted-replace",
        RDS, edit(RDS, ("MultiAZ: false", "MultiAZ: false\n      StorageEncrypted: true")),
        REPLACE, "Db", "StorageEncrypted", "True",
    ),
    row(
        "rds-dbsnapshotidentifier-added-conditional",
        RDS, edit(RDS, FROM_SNAPSHOT),
        REPLACE, "Db", "DBSnapshotIdentifier", "Conditional",
    ),
    row(
        "rds-kmskeyid-through-replaced-key-alias-conditional",
        RDS_KMS,
        edit(RDS_KMS, ("alias/${AWS::StackName}", "alias/${AWS::StackName}-v2")),
        REPLACE, "Db", "KmsKeyId refers to KeyAlias, which is replaced", "Conditional",
    ),
    row(
        "rds-identifier-fn-if-condition-turns-true-replace",
        RDS_NAMED, None, REPLACE, "Db", "DBInstanceIdentifier", "True",
        params={"Env": "dev"}, new_params={"Env": "prod"},
    ),
    row(
        "rds-identifier-fn-sub-parameter-beside-region-replace",
        RDS_NAMED, None, REPLACE, "Db", "DBInstanceIdentifier", "True",
        params={"Env": "dev"}, new_params={"Env": "test"},
    ),
    row(
        "rds-identifier-fn-sub-region-unchanged-class-modify",
        RDS_NAMED, edit(RDS_NAMED, ("db.t3.micro", "db.t3.small")),
        MODIFY, "Db", "DBInstanceClass", params={"Env": "dev"},
    ),
    row(
        "rds-dbinstanceclass-modify",
        RDS, edit(RDS, ("db.t3.micro", "db.t3.small")), MODIFY, "Db", "DBInstanceClass",
    ),
    # BackupRetentionPeriod and MultiAZ are conditionally create-only in the schema: the
    # guard says Conditional, as CloudFormation's change set does, and blocks until the stack
    # file allows it (docs/guard.md, "Honest limits"); allowed, it is applied in place.
    row(
        "rds-backupretentionperiod-conditional",
        RDS, edit(RDS, ("BackupRetentionPeriod: 7", "BackupRetentionPeriod: 14")),
        REPLACE, "Db", "BackupRetentionPeriod", "Conditional",
    ),
    row(
        "rds-multiaz-conditional",
        RDS, edit(RDS, MULTI_AZ), REPLACE, "Db", "MultiAZ", "Conditional",
    ),
    row(
        "rds-multiaz-allowed-by-allow-replacement-in-place",
        RDS, edit(RDS, MULTI_AZ), ALLOWED, "Db", "MultiAZ", "Conditional",
        allow=("Db",), new_physical=False,
    ),
    row(
        "rds-logical-id-rename-refactor-off-remove",
        RDS, edit(RDS, ("  Db:", "  Database:")),
        REMOVE, "Db", "Database of the same type is added", refactor=False,
    ),
    row(
        "rds-logical-id-rename-refactor-off-allowed-by-allow-replacement",
        RDS, edit(RDS, ("  Db:", "  Database:")),
        ALLOWED, "Db", "Database of the same type is added", "", allow=("Db",), refactor=False,
    ),
    row(
        "rds-dbname-allowed-by-allow-replacement",
        RDS, edit(RDS, ("DBName: payments", "DBName: ledger")),
        ALLOWED, "Db", "DBName", "True", allow=("Db",),
    ),
    # --- DynamoDB -------------------------------------------------------------------------
    row(
        "dynamodb-keyschema-replace",
        DDB, edit(DDB, ("AttributeName: pk", "AttributeName: id")),
        REPLACE, "Table", "KeySchema", "True",
    ),
    row(
        "dynamodb-tablename-replace",
        DDB, edit(DDB, ("-orders", "-orders-v2")), REPLACE, "Table", "TableName", "True",
    ),
    # pushed=False: moto has no update for tables; a stack update that changes one drops it
    # (docs/local-aws.md, "Limits"). Blocked DynamoDB changes are pushed: nothing executes.
    row(
        "dynamodb-billingmode-provisioned-modify",
        DDB, DDB_PROVISIONED, MODIFY, "Table", "BillingMode", pushed=False,
    ),
    row(
        "dynamodb-provisionedthroughput-modify",
        DDB_PROVISIONED, edit(DDB_PROVISIONED, ("ReadCapacityUnits: 5", "ReadCapacityUnits: 10")),
        MODIFY, "Table", "ProvisionedThroughput", pushed=False,
    ),
    row(
        "dynamodb-table-deleted-remove",
        DDB, ANCHOR_ONLY, REMOVE, "Table", "would be deleted",
    ),
    row(
        "dynamodb-tablename-allowed-by-allow-replacement",
        DDB, edit(DDB, ("-orders", "-orders-v2")),
        ALLOWED, "Table", "TableName", "True", allow=("Table",), pushed=False,
    ),
    # deployed=False: no local model for global tables
    row(
        "dynamodb-globaltable-tablename-replace-stubbed",
        GLOBAL_TABLE, edit(GLOBAL_TABLE, ("-orders", "-orders-v2")),
        REPLACE, "Table", "TableName", "True", deployed=False,
    ),
    row(
        "dynamodb-globaltable-keyschema-conditional-stubbed",
        GLOBAL_TABLE, edit(GLOBAL_TABLE, ("AttributeName: pk", "AttributeName: id")),
        REPLACE, "Table", "KeySchema", "Conditional", deployed=False,
    ),
    row(
        "dynamodb-globaltable-ttl-modify-stubbed",
        GLOBAL_TABLE, edit(GLOBAL_TABLE, TTL), MODIFY, "Table", "TimeToLiveSpecification",
        deployed=False,
    ),
    # --- S3 -------------------------------------------------------------------------------
    row(
        "s3-bucketname-replace",
        S3, edit(S3, ("${AWS::Region}", "${AWS::Region}-v2")),
        REPLACE, "Bucket", "BucketName", "True",
    ),
    row(
        "s3-bucketname-fn-sub-parameter-beside-accountid-region-replace",
        S3, None, REPLACE, "Bucket", "BucketName", "True", new_params={"Prefix": "vault"},
    ),
    row(
        "s3-fn-sub-accountid-region-unchanged-tags-modify",
        S3, None, MODIFY, "Bucket", "Tags", new_params={"Team": "ledger"},
    ),
    row(
        "s3-versioningconfiguration-modify",
        S3, edit(S3, VERSIONING),
        MODIFY, "Bucket", "VersioningConfiguration",
    ),
    row(
        "s3-bucketname-allowed-by-allow-replacement",
        S3, edit(S3, ("${AWS::Region}", "${AWS::Region}-v2")),
        ALLOWED, "Bucket", "BucketName", "True", allow=("Bucket",),
    ),
    # pushed=False: moto's own S3 model decides replacement on the template text, so a
    # parameter-only rename is executed without replacing the bucket (the stack says
    # UPDATE_COMPLETE, the bucket keeps its old name).
    row(
        "s3-bucketname-by-parameter-allowed-by-allow-replacement",
        S3, None, ALLOWED, "Bucket", "BucketName", "True",
        new_params={"Prefix": "vault"}, allow=("Bucket",), pushed=False,
    ),
    # --- Secrets Manager ------------------------------------------------------------------
    row(
        "secret-name-replace",
        SECRET, edit(SECRET, ("/db", "/database")), REPLACE, "Secret", "Name", "True",
    ),
    row(
        "secret-description-modify",
        SECRET, edit(SECRET, ("Description: guard", "Description: the payments database")),
        MODIFY, "Secret", "Description",
    ),
    row(
        "secret-name-allowed-by-allow-replacement",
        SECRET, edit(SECRET, ("/db", "/database")),
        ALLOWED, "Secret", "Name", "True", allow=("Secret",),
    ),
    # --- Logs -----------------------------------------------------------------------------
    row(
        "logs-loggroupname-replace",
        LOGS, edit(LOGS, ("${AWS::StackName}", "${AWS::StackName}/audit")),
        REPLACE, "Logs", "LogGroupName", "True",
    ),
    row(
        "logs-retentionindays-modify",
        LOGS, edit(LOGS, ("RetentionInDays: 365", "RetentionInDays: 731")),
        MODIFY, "Logs", "RetentionInDays",
    ),
    row(
        "logs-mappings-edit-through-findinmap-name-replace",
        LOGS_MAPPED, edit(LOGS_MAPPED, ("Name: audit", "Name: audit-v2")),
        REPLACE, "Logs", "LogGroupName", "True",
    ),
    row(
        "logs-mappings-edit-through-findinmap-retention-modify",
        LOGS_MAPPED, edit(LOGS_MAPPED, ("Retention: 365", "Retention: 731")),
        MODIFY, "Logs", "RetentionInDays",
    ),
    row(
        "logs-mappings-edit-of-another-key-none",
        LOGS_MAPPED, edit(LOGS_MAPPED, PROD_SETTINGS),
        NONE, "Logs", "",
    ),
    row(
        "logs-resource-condition-turns-false-remove",
        LOGS_CONDITIONAL, None, REMOVE, "Logs", "its condition Keeping is now false",
        params={"Keep": "true"}, new_params={"Keep": "false"},
    ),
    row(
        "logs-resource-condition-turns-true-add",
        LOGS_CONDITIONAL, None, ADD, "Logs", "",
        params={"Keep": "false"}, new_params={"Keep": "true"},
    ),
    row(
        "logs-type-change-to-ssm-parameter-replace",
        LOGS,
        edit(LOGS, ("AWS::Logs::LogGroup", "AWS::SSM::Parameter"), ("LogGroupName", "Name"),
             ("RetentionInDays: 365", "Type: String\n      Value: moved")),
        REPLACE, "Logs", "Type changes", "True",
    ),
    row(
        "logs-loggroupname-allowed-by-allow-replacement",
        LOGS, edit(LOGS, ("${AWS::StackName}", "${AWS::StackName}/audit")),
        ALLOWED, "Logs", "LogGroupName", "True", allow=("Logs",),
    ),
    # --- ElastiCache ----------------------------------------------------------------------
    row(
        "redis-atrestencryptionenabled-replace",
        REDIS, edit(REDIS, ("AtRestEncryptionEnabled: true", "AtRestEncryptionEnabled: false")),
        REPLACE, "Redis", "AtRestEncryptionEnabled", "True",
    ),
    row(
        "redis-port-replace",
        REDIS, edit(REDIS, ("Port: 6379", "Port: 6380")), REPLACE, "Redis", "Port", "True",
    ),
    row(
        "redis-replicationgroupid-replace",
        REDIS, edit(REDIS, GROUP_ID),
        REPLACE, "Redis", "ReplicationGroupId", "True",
    ),
    row(
        "redis-authtoken-added-replace",
        REDIS, REDIS_AUTH, REPLACE, "Redis", "AuthToken", "True",
    ),
    row(  # conditionally create-only: Conditional, as for MultiAZ above
        "redis-authtoken-rotated-conditional",
        REDIS_AUTH, edit(REDIS_AUTH, (TOKEN, TOKEN[::-1])),
        REPLACE, "Redis", "AuthToken", "Conditional",
    ),
    row(
        "redis-snapshotretentionlimit-modify",
        REDIS, edit(REDIS, ("SnapshotRetentionLimit: 1", "SnapshotRetentionLimit: 7")),
        MODIFY, "Redis", "SnapshotRetentionLimit",
    ),
    row(
        "elasticache-serverlesscache-name-replace-stubbed",
        SERVERLESS, edit(SERVERLESS, ("-cache", "-cache-v2")),
        REPLACE, "Cache", "ServerlessCacheName", "True", deployed=False,
    ),
    row(
        "redis-port-allowed-by-allow-replacement",
        REDIS, edit(REDIS, ("Port: 6379", "Port: 6380")),
        ALLOWED, "Redis", "Port", "True", allow=("Redis",),
    ),
]  # fmt: skip
ROW_INDEX = {p.values[0].id: i for i, p in enumerate(ROWS)}
PUSHED = [p for p in ROWS if p.values[0].deployed and p.values[0].pushed]


def stack_name(row: Row, prefix: str = "gv") -> str:
    """Unique per row, short enough for the physical names built from it (a bucket name,
    a replication group id)."""
    return f"{prefix}{ROW_INDEX[row.id]:02d}-{row.id[:22]}".rstrip("-")


def stack_file(name: str, row: Row, parameters: dict[str, str], allow: tuple[str, ...]) -> str:
    body: dict[str, Any] = {
        "template-file-path": f"templates/{name}.yml",
        "stack-name": name,
        "region": REGION,
        "parameters": parameters,
        "allow-replacement": list(allow),
        "refactor": row.refactor,
        "suppress": {**SUPPRESS, **{r: "the row's change needs it" for r in row.suppress}},
    }
    return json.dumps(body, indent=2)  # JSON is YAML


# --- the local AWS and the CLI --------------------------------------------------------------


@pytest.fixture(scope="module")
def aws(local_aws: LocalAws) -> Iterator[LocalAws]:
    """The CLI pointed at the module's local AWS, and nothing from the developer's AWS
    configuration."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [
            n
            for n in os.environ
            if n.startswith(("AWS_", "RECONCILER_")) and n != "RECONCILER_CACHE_DIR"
        ]:
            patch.delenv(name)
        for name, value in local_aws.env().items():
            patch.setenv(name, value)
        patch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        session.reset_clients()
        yield local_aws
    session.reset_clients()


@pytest.fixture(scope="module")
def client(aws: LocalAws) -> Callable[[str], Any]:
    made: dict[str, Any] = {}

    def make(service: str) -> Any:
        if service not in made:
            made[service] = boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION)
        return made[service]

    return make


@dataclass(frozen=True)
class Cli:
    exit_code: int
    out: str
    err: str


def cli(*args: str) -> Cli:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Cli(code, out.getvalue(), err.getvalue())


def physical_ids(client: Callable[[str], Any], name: str) -> dict[str, str]:
    resources = client("cloudformation").describe_stack_resources(StackName=name)
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResources"]}


def describe(client: Callable[[str], Any], name: str) -> dict[str, Any]:
    return client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def exists(client: Callable[[str], Any], resource_type: str, physical_id: str) -> bool:
    """Whether the service itself still has the resource (and has not scheduled it for
    deletion)."""
    from botocore.exceptions import ClientError

    try:
        if resource_type == "AWS::RDS::DBInstance":
            client("rds").describe_db_instances(DBInstanceIdentifier=physical_id)
        elif resource_type == "AWS::KMS::Key":
            state = client("kms").describe_key(KeyId=physical_id)["KeyMetadata"]["KeyState"]
            return state not in ("PendingDeletion", "PendingReplicaDeletion")
        elif resource_type == "AWS::Logs::LogGroup":
            groups = client("logs").describe_log_groups(logGroupNamePrefix=physical_id)
            return physical_id in [g["logGroupName"] for g in groups["logGroups"]]
        elif resource_type == "AWS::DynamoDB::Table":
            client("dynamodb").describe_table(TableName=physical_id)
        elif resource_type == "AWS::S3::Bucket":
            client("s3").head_bucket(Bucket=physical_id)
        elif resource_type == "AWS::SecretsManager::Secret":
            return "DeletedDate" not in client("secretsmanager").describe_secret(
                SecretId=physical_id
            )
        elif resource_type == "AWS::ElastiCache::ReplicationGroup":
            client("elasticache").describe_replication_groups(ReplicationGroupId=physical_id)
        else:
            raise AssertionError(f"no existence check for {resource_type}")
    except ClientError:
        return False
    return True


def resource_type(text: str, logical_id: str) -> str:
    data, _ = parse(text)
    return data["Resources"][logical_id]["Type"]


# --- each row: deploy the base, write the change, plan it ------------------------------------


@dataclass(frozen=True)
class Scenario:
    row: Row
    name: str
    root: Path  # the repository, at the change
    base_ids: dict[str, str]  # logical id -> physical id as deployed
    plan: Cli
    stack: dict[str, Any]  # this stack's entry in `plan --json`


@pytest.fixture(scope="module")
def scenario(aws, client, tmp_path_factory) -> Callable[[Row], Scenario]:
    """Each row's stack deployed at its base and planned at its change, once per module
    (the push test reuses what the plan test made)."""
    made: dict[str, Scenario] = {}

    def make(row: Row) -> Scenario:
        if row.id not in made:
            made[row.id] = _scenario(row, client, tmp_path_factory.mktemp(row.id[:40]))
        return made[row.id]

    return make


def _scenario(row: Row, client: Callable[[str], Any], root: Path) -> Scenario:
    if not row.deployed:
        return _stubbed(row, root)
    name = stack_name(row)
    base_ids = deploy_then_change(row, name, client, root)
    plan = cli("plan", "--json", str(root))
    return Scenario(row, name, root, base_ids, plan, planned(plan, name))


def deploy_then_change(
    row: Row, name: str, client: Callable[[str], Any], root: Path
) -> dict[str, str]:
    """Deploy the row's base as stack `name` with `reconciler apply`, then write its change
    into the repository; the physical ids as deployed."""
    template_path = f"templates/{name}.yml"
    stack_path = f"desired-state/{name}.yml"
    make_repo(
        root,
        {template_path: row.base, stack_path: stack_file(name, row, row.params, ())},
        defaults=False,
    )
    applied = cli("apply", "--stack", name, "--wait", str(root))
    assert applied.exit_code == 0, applied.out + applied.err
    assert describe(client, name)["StackStatus"] == "CREATE_COMPLETE"
    base_ids = physical_ids(client, name)

    parameters = row.params if row.new_params is None else {**row.params, **row.new_params}
    (root / template_path).write_text(row.desired)
    (root / stack_path).write_text(stack_file(name, row, parameters, row.allow))
    return base_ids


def planned(plan: Cli, name: str) -> dict[str, Any]:
    """The stack's entry in `plan --json` output."""
    stacks = {s["stack_name"]: s for s in json.loads(plan.out)["stacks"]} if plan.out else {}
    assert name in stacks, plan.out + plan.err
    return stacks[name]


def _stubbed(row: Row, root: Path) -> Scenario:
    """The plan `plan --json` would print, against a live stack that stands in for the
    base deployed: `plan_all` with the base as the template GetTemplate would return."""
    name = stack_name(row)
    parameters = row.params if row.new_params is None else {**row.params, **row.new_params}
    files = {
        f"templates/{name}.yml": row.desired,
        f"desired-state/{name}.yml": stack_file(name, row, parameters, row.allow),
    }
    state = load_desired_state(make_repo(root, files, defaults=False))
    live = LiveStack(
        name,
        f"arn:aws:cloudformation:{REGION}:123456789012:stack/{name}/00000000",
        REGION,
        "UPDATE_COMPLETE",
        tags={MANAGED_TAG: "true", HASH_TAG: "0" * 32},
        parameters=row.params,
    )
    deployed, _ = parse(row.base)
    (plan,) = plan_all(state, {("", REGION, name): live}, lambda stack: deployed)
    code = 1 if plan.action is Action.BLOCKED else 0  # as `plan` exits
    return Scenario(row, name, root, {}, Cli(code, json.dumps(plan.to_dict()), ""), plan.to_dict())


def property_line(text: str, prop: str) -> int:
    """The line a property key is written on in a template (first match)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s+{re.escape(prop)}:", line):
            return number
    raise AssertionError(f"{prop} is not in the template")


def hint(name: str, logical_id: str) -> str:
    return f"list {logical_id!r} under allow-replacement in desired-state/{name}.yml to allow it"


def assert_plan(row: Row, name: str, stack: dict[str, Any], exit_code: int) -> None:
    changes = {c["logical_id"]: c for c in stack["changes"]}
    change = changes.get(row.logical_id)
    if row.verdict in BLOCKED:
        assert (stack["action"], exit_code) == ("blocked", 1), json.dumps(stack, indent=1)
        assert row.logical_id in stack["reason"]
    else:
        assert (stack["action"], exit_code) == ("update", 0), json.dumps(stack, indent=1)
        assert "allow-replacement" not in stack["reason"]
        assert stack["findings"] == []

    if row.verdict == REFUSED:
        (finding,) = [
            f for f in stack["findings"] if f"{row.logical_id}.{row.names}" in f["message"]
        ]
        assert finding | {"message": ""} == {
            "path": f"templates/{name}.yml",
            "line": property_line(row.desired, row.names),
            "rule": "UPD001",
            "severity": "error",
            "message": "",
        }
        assert (row.names, change["action"]) in [
            (r["property"], "Modify") for r in change["refused"]
        ]
        # allow-replacement cannot allow what AWS refuses: the way out is a new resource
        assert "cannot change on an existing resource" in stack["reason"]
        assert "add a new resource under a new logical id" in stack["reason"]
    elif row.verdict == REPLACE:
        assert (change["action"], change["replacement"]) == ("Modify", row.replacement), change
        assert row.names in " ".join(change["causes"]), change
        assert hint(name, row.logical_id) in stack["reason"]
    elif row.verdict == REMOVE:
        assert change["action"] == "Remove", change
        assert f"{row.logical_id} ({change['resource_type']}) would be deleted" in stack["reason"]
        assert row.names in stack["reason"] + " ".join(change["causes"])
        assert hint(name, row.logical_id) in stack["reason"]
    elif row.verdict == ALLOWED and row.replacement == "":
        assert change["action"] == "Remove", change
        assert row.names in " ".join(change["causes"]), change
    elif row.verdict == ALLOWED:
        assert (change["action"], change["replacement"]) == ("Modify", row.replacement), change
        assert row.names in " ".join(change["causes"]), change
    elif row.verdict == MODIFY:
        assert (change["action"], change["replacement"]) == ("Modify", "False"), change
        assert row.names in change["properties"], change
        assert change["causes"] == [] and change["refused"] == []
    elif row.verdict == ADD:
        assert change["action"] == "Add", change
    elif row.verdict == NONE:
        assert change is None, change
    else:
        raise AssertionError(f"unknown verdict {row.verdict}")


# --- the tests ------------------------------------------------------------------------------


def test_the_table_covers_every_verdict_and_type():
    rows = [p.values[0] for p in ROWS]
    assert len(rows) >= 40
    assert {r.verdict for r in rows} == {MODIFY, ADD, NONE, REPLACE, REMOVE, REFUSED, ALLOWED}
    types = {resource_type(r.base, r.logical_id) for r in rows}
    assert {t.split("::")[1] for t in types} >= {
        "RDS", "ElastiCache", "DynamoDB", "S3", "KMS", "SecretsManager", "Logs",
    }  # fmt: skip


@pytest.mark.parametrize("row", ROWS)
def test_plan_json_gives_the_verdict(row: Row, scenario) -> None:
    """GIVEN the row's base template deployed on the local AWS
    WHEN the change is planned with `reconciler plan --json`
    THEN the stack's action, the resource's change and the exit code are the row's verdict,
    and a blocked stack names the resource and the allow-replacement line that allows it"""
    made = scenario(row)
    assert_plan(row, made.name, made.stack, made.plan.exit_code)


@pytest.mark.parametrize("row", PUSHED)
def test_push_applies_only_what_the_guard_allows(row: Row, scenario, client) -> None:
    """GIVEN the row's stack deployed at its base and the change in the repository
    WHEN it is pushed (`reconciler apply`, the pass a push runs)
    THEN a blocked change leaves the stack, its template and the physical resource as they
    were, with no change set left; an allowed one is executed, and an allowed replacement
    makes a new physical resource"""
    made = scenario(row)
    kind = resource_type(row.base, row.logical_id)

    pushed = cli("apply", "--stack", made.name, "--wait", str(made.root))

    stack = describe(client, made.name)
    after = physical_ids(client, made.name)
    body = client("cloudformation").get_template(StackName=made.name)["TemplateBody"]
    tags = {t["Key"]: t["Value"] for t in stack["Tags"]}
    if row.verdict in BLOCKED:
        assert pushed.exit_code == 1, pushed.out + pushed.err
        assert "blocked" in pushed.out
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert body == row.base
        assert after == made.base_ids
        assert exists(client, kind, made.base_ids[row.logical_id])
        assert client("cloudformation").list_change_sets(StackName=made.name)["Summaries"] == []
        return
    assert pushed.exit_code == 0, pushed.out + pushed.err
    assert stack["StackStatus"] == "UPDATE_COMPLETE", stack.get("StackStatusReason")
    assert tags[HASH_TAG] == made.stack["desired_hash"]
    if row.verdict == NONE:
        assert after == made.base_ids  # nothing to change: only the stack's tags moved
        return
    assert body == row.desired
    if row.verdict == ALLOWED and row.replacement == "":
        assert row.logical_id not in after  # the allowed removal was executed
        for added in after.keys() - made.base_ids.keys():
            assert exists(client, resource_type(row.desired, added), after[added])
        return
    new_kind = resource_type(row.desired, row.logical_id)
    if row.verdict == ADD:
        assert row.logical_id not in made.base_ids
        assert exists(client, new_kind, after[row.logical_id])
    elif row.verdict == ALLOWED and row.new_physical:
        assert after[row.logical_id] != made.base_ids[row.logical_id]
        assert exists(client, new_kind, after[row.logical_id])
    else:
        assert after[row.logical_id] == made.base_ids[row.logical_id]
        assert exists(client, new_kind, after[row.logical_id])


def rows_named(*ids: str) -> list[Any]:
    return [p for p in ROWS if p.values[0].id in ids]


# One create-only change per type the local AWS deploys, a conditional one, and a removal.
BLIND = rows_named(
    "rds-dbname-replace",
    "rds-multiaz-conditional",
    "rds-logical-id-rename-refactor-off-remove",
    "redis-port-replace",
    "secret-name-replace",
    "s3-bucketname-replace",
    "dynamodb-tablename-replace",
    "logs-loggroupname-replace",
)


@pytest.mark.parametrize("row", BLIND)
def test_without_the_prediction_the_change_sets_own_report_still_blocks(
    row: Row, client, tmp_path, monkeypatch
) -> None:
    """GIVEN the row's base deployed and its change in the repository, and the offline
    prediction switched off for updates (it sees no change at all)
    WHEN the change is pushed
    THEN the local change set's own Replacement (or Remove) blocks it: the change set is
    deleted unexecuted, and the resource is the one deployed"""
    import reconciler.plan

    predict = reconciler.plan.predict_changes
    monkeypatch.setattr(
        reconciler.plan,
        "predict_changes",
        lambda old, new, region: [] if old is not None else predict(old, new, region),
    )
    name = stack_name(row, prefix="gc")
    base_ids = deploy_then_change(row, name, client, tmp_path)
    blind = planned(cli("plan", "--json", str(tmp_path)), name)
    assert (blind["action"], blind["changes"]) == ("update", [])  # the prediction is off

    pushed = cli("apply", "--stack", name, "--wait", str(tmp_path))

    assert pushed.exit_code == 1, pushed.out + pushed.err
    assert f"{row.logical_id} (" in pushed.out and hint(name, row.logical_id) in pushed.out
    assert "differs from the prediction" in pushed.out
    assert describe(client, name)["StackStatus"] == "CREATE_COMPLETE"
    assert physical_ids(client, name) == base_ids
    kind = resource_type(row.base, row.logical_id)
    assert exists(client, kind, base_ids[row.logical_id])
    assert client("cloudformation").list_change_sets(StackName=name)["Summaries"] == []
