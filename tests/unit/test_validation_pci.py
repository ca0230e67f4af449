"""The PCI rules (PCI001-PCI011): a compliant template passes each; each failure is
reported at the template line to change, with the severity the control carries and a
message that says the fix; intrinsics that cannot be known offline are skipped; and a
stack file may suppress a rule with a reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reconciler.desired import load_desired_state
from reconciler.findings import Severity
from reconciler.validation import (
    RULES,
    pci_backups,
    pci_kms_rotation,
    pci_log_retention,
    pci_multi_az,
    pci_open_ingress,
    pci_plaintext_secrets,
    pci_public_access,
    pci_retention_policies,
    pci_secret_rotation,
    pci_storage_encryption,
    pci_transit_encryption,
    validate,
)
from reconciler.validation.context import Context
from reconciler.validation.offline_catalog import OfflineCatalog
from reconciler.validation.pci_plaintext_secrets import is_sensitive
from tests.repo import make_repo

ROOT = Path(__file__).resolve().parents[2]
PATH = "templates/db.yml"
STACK_PATH = "desired-state/db-dev.yml"
PCI_RULES = {
    "PCI001": pci_storage_encryption.RULE,
    "PCI002": pci_transit_encryption.RULE,
    "PCI003": pci_multi_az.RULE,
    "PCI004": pci_backups.RULE,
    "PCI005": pci_public_access.RULE,
    "PCI006": pci_retention_policies.RULE,
    "PCI007": pci_log_retention.RULE,
    "PCI008": pci_kms_rotation.RULE,
    "PCI009": pci_secret_rotation.RULE,
    "PCI010": pci_open_ingress.RULE,
    "PCI011": pci_plaintext_secrets.RULE,
}

# Meets every PCI rule: each case below breaks one thing.
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    Default: dev
  BackupDays:
    Type: Number
    Default: 7
  LogDays:
    Type: Number
    Default: 365
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Key:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      EnableKeyRotation: true
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: kms:*
            Resource: "*"
  DBSecret:
    Type: AWS::SecretsManager::Secret
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      Name: !Sub db-${Env}/master
      KmsKeyId: !Ref Key
      GenerateSecretString:
        SecretStringTemplate: '{"username": "admin"}'
        GenerateStringKey: password
        PasswordLength: 32
        ExcludeCharacters: "\\"@/\\\\"
  DBSecretRotation:
    Type: AWS::SecretsManager::RotationSchedule
    Properties:
      SecretId: !Ref DBSecret
      RotationLambdaARN: arn:aws:lambda:us-east-1:111122223333:function:rotate
      RotationRules:
        AutomaticallyAfterDays: 30
  DBParams:
    Type: AWS::RDS::DBParameterGroup
    Properties:
      Description: TLS only
      Family: mysql8.4
      Parameters:
        require_secure_transport: "1"
  Database:
    Type: AWS::RDS::DBInstance
    DeletionPolicy: Snapshot
    UpdateReplacePolicy: Snapshot
    Properties:
      Engine: mysql
      EngineVersion: "8.4.8"
      DBInstanceClass: db.t3.medium
      AllocatedStorage: "20"
      StorageEncrypted: true
      KmsKeyId: !Ref Key
      MultiAZ: true
      PubliclyAccessible: false
      BackupRetentionPeriod: !Ref BackupDays
      DBParameterGroupName: !Ref DBParams
      MasterUsername: admin
      MasterUserPassword: !Sub "{{resolve:secretsmanager:${DBSecret}:SecretString:password}}"
      VPCSecurityGroups: [!GetAtt DBSecurityGroup.GroupId]
  Cache:
    Type: AWS::ElastiCache::ReplicationGroup
    DeletionPolicy: Snapshot
    UpdateReplacePolicy: Snapshot
    Properties:
      ReplicationGroupDescription: cache
      Engine: redis
      EngineVersion: "7.1"
      CacheNodeType: cache.t3.medium
      NumCacheClusters: 2
      MultiAZEnabled: true
      AutomaticFailoverEnabled: true
      AtRestEncryptionEnabled: true
      TransitEncryptionEnabled: true
      SnapshotRetentionLimit: 7
  Logs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      RetentionInDays: !Ref LogDays
  DBSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: database
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 3306
          ToPort: 3306
          CidrIp: 10.0.0.0/16
"""

STACK = """\
template-file-path: templates/db.yml
parameters:
  Env: dev
stack-name: db-dev
region: us-east-1
"""


def repo(tmp_path, template=TEMPLATE, stack=STACK):
    files = {PATH: template, STACK_PATH: stack}
    return make_repo(tmp_path, files, defaults=False)


def findings(tmp_path, rule_id, template=TEMPLATE, stack=STACK):
    """One rule's findings, the rule run alone (validate() also runs cfn-lint)."""
    state = load_desired_state(repo(tmp_path, template, stack))
    assert state.findings == ()
    ctx = Context(state, OfflineCatalog(), date(2026, 11, 29))
    return sorted(set(PCI_RULES[rule_id].check(ctx)))


def line_of(text, needle):
    """1-based line of the first line of `text` that contains `needle`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def replaced(old, new, count=1):
    assert old in TEMPLATE, old
    return TEMPLATE.replace(old, new, count)


def added(resources):
    return TEMPLATE + resources


def given(*lines):
    return STACK.replace("  Env: dev\n", "  Env: dev\n" + "".join(f"  {x}\n" for x in lines))


ERROR, WARNING = Severity.ERROR, Severity.WARNING
PASSWORD_LINE = (
    'MasterUserPassword: !Sub "{{resolve:secretsmanager:${DBSecret}:SecretString:password}}"'
)
SG_ANYWHERE = """\
  OpenIngress:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt DBSecurityGroup.GroupId
      IpProtocol: {protocol}
      FromPort: {low}
      ToPort: {high}
      {cidr_key}: {cidr}
"""

# id, rule, template, stack, severity, the line's text, what the message says to do
FAILING = [
    pytest.param(
        "PCI001",
        replaced("StorageEncrypted: true", "StorageEncrypted: false"),
        STACK,
        ERROR,
        "StorageEncrypted: false",
        "set StorageEncrypted: true",
        id="PCI001-rds-storage-unencrypted",
    ),
    pytest.param(
        "PCI001",
        replaced("      StorageEncrypted: true\n", ""),
        STACK,
        ERROR,
        "  Database:",
        "StorageEncrypted is not set (defaults to false): set StorageEncrypted: true",
        id="PCI001-rds-storage-encryption-absent",
    ),
    pytest.param(
        "PCI001",
        replaced("AtRestEncryptionEnabled: true", "AtRestEncryptionEnabled: false"),
        STACK,
        ERROR,
        "AtRestEncryptionEnabled: false",
        "set AtRestEncryptionEnabled: true",
        id="PCI001-cache-at-rest-unencrypted",
    ),
    pytest.param(
        "PCI002",
        replaced("TransitEncryptionEnabled: true", "TransitEncryptionEnabled: false"),
        STACK,
        ERROR,
        "TransitEncryptionEnabled: false",
        "set TransitEncryptionEnabled: true",
        id="PCI002-cache-transit-unencrypted",
    ),
    pytest.param(
        "PCI002",
        replaced('require_secure_transport: "1"', 'require_secure_transport: "0"'),
        STACK,
        ERROR,
        'require_secure_transport: "0"',
        "set require_secure_transport: 1",
        id="PCI002-mysql-group-allows-plaintext",
    ),
    pytest.param(
        "PCI002",
        replaced('require_secure_transport: "1"', 'slow_query_log: "1"'),
        STACK,
        ERROR,
        "      Parameters:",
        "add require_secure_transport: 1 to its Parameters",
        id="PCI002-mysql-group-without-tls-setting",
    ),
    pytest.param(
        "PCI002",
        replaced("Engine: mysql\n", "Engine: postgres\n").replace(
            'require_secure_transport: "1"', 'rds.force_ssl: "0"'
        ),
        STACK,
        ERROR,
        'rds.force_ssl: "0"',
        "set rds.force_ssl: 1",
        id="PCI002-postgres-group-allows-plaintext",
    ),
    pytest.param(
        "PCI002",
        replaced("DBParameterGroupName: !Ref DBParams", "DBParameterGroupName: shared-mysql"),
        STACK,
        WARNING,
        "DBParameterGroupName: shared-mysql",
        "set require_secure_transport: 1 in an AWS::RDS::DBParameterGroup of this template",
        id="PCI002-group-outside-the-template-warns",
    ),
    pytest.param(
        "PCI002",
        replaced("      DBParameterGroupName: !Ref DBParams\n", ""),
        STACK,
        WARNING,
        "  Database:",
        "default parameter group applies",
        id="PCI002-default-group-warns",
    ),
    pytest.param(
        "PCI003",
        replaced("MultiAZ: true", "MultiAZ: false"),
        STACK,
        ERROR,
        "MultiAZ: false",
        "set MultiAZ: true",
        id="PCI003-rds-single-az",
    ),
    pytest.param(
        "PCI003",
        replaced("MultiAZEnabled: true", "MultiAZEnabled: false"),
        STACK,
        ERROR,
        "MultiAZEnabled: false",
        "set MultiAZEnabled: true",
        id="PCI003-cache-multi-az-off",
    ),
    pytest.param(
        "PCI003",
        replaced("      AutomaticFailoverEnabled: true\n", ""),
        STACK,
        ERROR,
        "  Cache:",
        "set AutomaticFailoverEnabled: true",
        id="PCI003-cache-failover-absent",
    ),
    pytest.param(
        "PCI003",
        replaced("NumCacheClusters: 2", "NumCacheClusters: 1"),
        STACK,
        ERROR,
        "NumCacheClusters: 1",
        "set NumCacheClusters to 2 or more",
        id="PCI003-cache-one-node",
    ),
    pytest.param(
        "PCI004",
        TEMPLATE,
        given("BackupDays: 1"),
        ERROR,
        "BackupRetentionPeriod:",
        "BackupRetentionPeriod is 1 (parameter BackupDays in stack db-dev): set "
        "BackupRetentionPeriod to at least 7 days",
        id="PCI004-rds-one-day-from-the-stack-file",
    ),
    pytest.param(
        "PCI004",
        replaced("      BackupRetentionPeriod: !Ref BackupDays\n", ""),
        STACK,
        ERROR,
        "  Database:",
        "AWS's default is 1): set BackupRetentionPeriod to at least 7 days",
        id="PCI004-rds-retention-absent",
    ),
    pytest.param(
        "PCI004",
        replaced("SnapshotRetentionLimit: 7", "SnapshotRetentionLimit: 0"),
        STACK,
        ERROR,
        "SnapshotRetentionLimit: 0",
        "set SnapshotRetentionLimit to at least 1",
        id="PCI004-cache-no-snapshots",
    ),
    pytest.param(
        "PCI005",
        replaced("PubliclyAccessible: false", "PubliclyAccessible: true"),
        STACK,
        ERROR,
        "PubliclyAccessible: true",
        "set PubliclyAccessible: false",
        id="PCI005-public-database",
    ),
    pytest.param(
        "PCI006",
        replaced("    DeletionPolicy: Snapshot\n", ""),
        STACK,
        ERROR,
        "  Database:",
        "DeletionPolicy is not set (the default deletes most resources with the stack): "
        "set DeletionPolicy: Snapshot",
        id="PCI006-database-without-deletion-policy",
    ),
    pytest.param(
        "PCI006",
        replaced(
            "    UpdateReplacePolicy: Retain\n    Properties:\n      RetentionInDays",
            "    UpdateReplacePolicy: Delete\n    Properties:\n      RetentionInDays",
        ),
        STACK,
        ERROR,
        "UpdateReplacePolicy: Delete",
        "set UpdateReplacePolicy: Retain",
        id="PCI006-log-group-deleted-on-replacement",
    ),
    pytest.param(
        "PCI006",
        added("  Queue:\n    Type: AWS::SQS::Queue\n    UpdateReplacePolicy: Retain\n"),
        STACK,
        WARNING,
        "  Queue:",
        "set DeletionPolicy: Retain",
        id="PCI006-other-stateful-type-warns",
    ),
    pytest.param(
        "PCI007",
        TEMPLATE,
        given("LogDays: 30"),
        ERROR,
        "RetentionInDays: !Ref LogDays",
        "RetentionInDays is 30 (parameter LogDays in stack db-dev): set RetentionInDays to "
        "365 or more",
        id="PCI007-log-group-kept-a-month",
    ),
    pytest.param(
        "PCI008",
        replaced("EnableKeyRotation: true", "EnableKeyRotation: false"),
        STACK,
        ERROR,
        "EnableKeyRotation: false",
        "set EnableKeyRotation: true",
        id="PCI008-key-not-rotated",
    ),
    pytest.param(
        "PCI009",
        replaced("      SecretId: !Ref DBSecret\n", "      SecretId: some-other-secret\n"),
        STACK,
        WARNING,
        "  DBSecret:",
        "add an AWS::SecretsManager::RotationSchedule with SecretId: !Ref DBSecret",
        id="PCI009-secret-without-rotation",
    ),
    pytest.param(
        "PCI010",
        replaced("CidrIp: 10.0.0.0/16", "CidrIp: 0.0.0.0/0"),
        STACK,
        ERROR,
        "CidrIp: 0.0.0.0/0",
        "reaches MySQL on 3306: allow only the application's security group",
        id="PCI010-mysql-from-anywhere-inline",
    ),
    pytest.param(
        "PCI010",
        added(
            SG_ANYWHERE.format(
                protocol='"-1"', low=-1, high=-1, cidr_key="CidrIp", cidr="0.0.0.0/0"
            )
        ),
        STACK,
        ERROR,
        "      CidrIp: 0.0.0.0/0",
        "every protocol and port: allow only the application's security group",
        id="PCI010-all-ports-from-anywhere",
    ),
    pytest.param(
        "PCI010",
        added(
            SG_ANYWHERE.format(
                protocol="tcp", low=6000, high=6400, cidr_key="CidrIpv6", cidr="::/0"
            )
        ),
        STACK,
        ERROR,
        "CidrIpv6: ::/0",
        "reaches Redis on 6379",
        id="PCI010-redis-in-a-range-from-ipv6-anywhere",
    ),
    pytest.param(
        "PCI010",
        added(
            SG_ANYWHERE.format(
                protocol="tcp", low=443, high=443, cidr_key="CidrIp", cidr="0.0.0.0/0"
            )
        ),
        STACK,
        WARNING,
        "      CidrIp: 0.0.0.0/0",
        "restrict the source unless this port is meant to be public",
        id="PCI010-https-from-anywhere-warns",
    ),
    pytest.param(
        "PCI011",
        replaced(
            PASSWORD_LINE,
            "MasterUserPassword: correct-horse-battery",
        ),
        STACK,
        ERROR,
        "MasterUserPassword: correct-horse-battery",
        "MasterUserPassword is written in the template: keep it in Secrets Manager and pass a "
        "dynamic reference",
        id="PCI011-literal-master-password",
    ),
    pytest.param(
        "PCI011",
        replaced("  LogDays:\n", "  AdminToken:\n    Type: String\n  LogDays:\n").replace(
            "      MasterUsername: admin\n", "      MasterUsername: !Ref AdminToken\n"
        ),
        STACK,
        ERROR,
        "  AdminToken:",
        "parameter AdminToken holds a secret but is not NoEcho",
        id="PCI011-secret-parameter-without-no-echo",
    ),
    pytest.param(
        "PCI011",
        replaced(
            PASSWORD_LINE,
            "MasterUserPassword: !Ref Env",
        ),
        STACK,
        ERROR,
        "MasterUserPassword: !Ref Env",
        "takes parameter Env, which is not NoEcho",
        id="PCI011-password-from-a-shown-parameter",
    ),
    pytest.param(
        "PCI011",
        added(
            "  Function:\n    Type: AWS::Lambda::Function\n    Properties:\n"
            "      Runtime: python3.13\n      Handler: app.handler\n"
            "      Role: arn:aws:iam::111122223333:role/app\n"
            "      Code: {ZipFile: pass}\n"
            "      Environment:\n        Variables:\n          API_TOKEN: abc123\n"
        ),
        STACK,
        ERROR,
        "API_TOKEN: abc123",
        "API_TOKEN is written in the template",
        id="PCI011-token-in-lambda-environment",
    ),
    pytest.param(
        "PCI011",
        added(
            "  CacheUser:\n    Type: AWS::ElastiCache::User\n    Properties:\n"
            "      UserId: app\n      UserName: app\n      Engine: redis\n"
            "      AccessString: on ~* +@all\n      Passwords: [correct-horse-battery-staple]\n"
        ),
        STACK,
        ERROR,
        "Passwords: [correct-horse-battery-staple]",
        "Passwords holds a value written in the template",
        id="PCI011-cache-user-passwords",
    ),
]


@pytest.mark.parametrize(("rule", "template", "stack", "severity", "at", "fix"), FAILING)
def test_each_pci_failure_is_reported_at_its_line_with_the_fix(
    tmp_path, rule, template, stack, severity, at, fix
):
    found = findings(tmp_path, rule, template, stack)
    assert len(found) == 1, [str(f) for f in found]
    (finding,) = found
    assert (finding.rule, finding.severity) == (rule, severity)
    assert (finding.path, finding.line) == (PATH, line_of(template, at))
    assert fix in finding.message
    assert str(finding).startswith(f"{PATH}:{finding.line}: {severity}: ")


@pytest.mark.parametrize("rule", sorted(PCI_RULES))
def test_the_compliant_template_passes_every_pci_rule(tmp_path, rule):
    assert findings(tmp_path, rule) == []


PASSING = [
    pytest.param(
        "PCI001",
        replaced("StorageEncrypted: true", "StorageEncrypted: !If [IsProd, false, true]"),
        id="PCI001-the-fn-if-branch-the-parameters-select-is-judged",
    ),
    pytest.param(
        "PCI001",
        added(
            "  Replica:\n    Type: AWS::RDS::DBInstance\n    DeletionPolicy: Snapshot\n"
            "    UpdateReplacePolicy: Snapshot\n    Properties:\n"
            "      SourceDBInstanceIdentifier: !Ref Database\n"
            "      DBInstanceClass: db.t3.medium\n"
        ),
        id="PCI001-a-read-replica-inherits-encryption",
    ),
    pytest.param(
        "PCI002",
        replaced("Engine: mysql\n", "Engine: postgres\n").replace(
            'require_secure_transport: "1"', "rds.force_ssl: 1"
        ),
        id="PCI002-postgres-with-force-ssl",
    ),
    pytest.param(
        "PCI002",
        replaced("Engine: mysql\n", "Engine: postgres\n")
        .replace('EngineVersion: "8.4.8"', 'EngineVersion: "16.4"')
        .replace("      DBParameterGroupName: !Ref DBParams\n", ""),
        id="PCI002-postgres-15-and-later-force-tls-by-default",
    ),
    pytest.param(
        "PCI002",
        replaced("Engine: mysql\n", "Engine: oracle-ee\n"),
        id="PCI002-other-engines-are-not-judged",
    ),
    pytest.param(
        "PCI003",
        replaced("MultiAZ: true", "MultiAZ: !If [IsProd, !Ref AWS::NoValue, true]"),
        id="PCI003-a-no-value-branch-no-parameter-selects-is-not-reported",
    ),
    pytest.param(
        "PCI003",
        added(
            "  Aurora:\n    Type: AWS::RDS::DBInstance\n    DeletionPolicy: Retain\n"
            "    UpdateReplacePolicy: Retain\n    Properties:\n"
            "      DBClusterIdentifier: aurora-cluster\n      Engine: aurora-mysql\n"
            "      DBInstanceClass: db.r6g.large\n"
        ),
        id="PCI003-aurora-instances-take-availability-from-the-cluster",
    ),
    pytest.param(
        "PCI004",
        replaced("SnapshotRetentionLimit: 7", "SnapshotRetentionLimit: 1"),
        id="PCI004-one-day-of-cache-snapshots",
    ),
    pytest.param(
        "PCI006",
        replaced("    DeletionPolicy: Snapshot\n", "    DeletionPolicy: RetainExceptOnCreate\n"),
        id="PCI006-retain-except-on-create-keeps-the-data",
    ),
    pytest.param(
        "PCI007",
        replaced("      RetentionInDays: !Ref LogDays\n", "      LogGroupName: forever\n"),
        id="PCI007-no-retention-never-expires",
    ),
    pytest.param(
        "PCI008",
        replaced(
            "      EnableKeyRotation: true\n",
            "      KeySpec: RSA_2048\n      KeyUsage: SIGN_VERIFY\n",
        ),
        id="PCI008-asymmetric-keys-do-not-rotate",
    ),
    pytest.param(
        "PCI009",
        replaced("      SecretId: !Ref DBSecret\n", "      SecretId: !Sub db-${Env}/master\n"),
        id="PCI009-schedule-naming-the-secret-by-name",
    ),
    pytest.param(
        "PCI010",
        added(
            SG_ANYWHERE.format(
                protocol="tcp", low=3306, high=3306, cidr_key="CidrIp", cidr="10.1.0.0/16"
            )
        ),
        id="PCI010-data-port-from-a-private-cidr",
    ),
    pytest.param(
        "PCI011",
        replaced(
            "  LogDays:\n", "  AdminPassword:\n    Type: String\n    NoEcho: true\n  LogDays:\n"
        ).replace(
            PASSWORD_LINE,
            "MasterUserPassword: !Ref AdminPassword",
        ),
        id="PCI011-no-echo-parameter",
    ),
    pytest.param(
        "PCI011",
        added(
            "  Custom:\n    Type: Custom::Thing\n    Properties:\n"
            "      ServiceToken: arn:aws:lambda:us-east-1:111122223333:function:thing\n"
            "      MaxTokens: 512\n"
        ),
        id="PCI011-service-token-and-token-counts-are-not-secrets",
    ),
]


@pytest.mark.parametrize(("rule", "template"), PASSING)
def test_compliant_variants_pass(tmp_path, rule, template):
    assert [str(f) for f in findings(tmp_path, rule, template)] == []


def test_a_no_echo_value_written_in_the_stack_file_is_plaintext_in_git(tmp_path):
    template = replaced(
        "  LogDays:\n", "  AdminPassword:\n    Type: String\n    NoEcho: true\n  LogDays:\n"
    )
    (finding,) = findings(tmp_path, "PCI011", template, given("AdminPassword: hunter2"))
    assert (finding.path, finding.line, finding.severity) == (STACK_PATH, 2, ERROR)
    assert "read the secret from Secrets Manager" in finding.message
    assert "hunter2" not in finding.message


def test_a_no_echo_default_is_plaintext_in_the_template(tmp_path):
    template = replaced(
        "  LogDays:\n",
        "  AdminPassword:\n    Type: String\n    NoEcho: true\n    Default: hunter2\n  LogDays:\n",
    )
    (finding,) = findings(tmp_path, "PCI011", template)
    assert (finding.path, finding.line) == (PATH, line_of(template, "Default: hunter2"))
    assert "has a Default, so the secret is in the template" in finding.message
    assert "hunter2" not in finding.message


def test_the_same_template_line_is_judged_per_stack(tmp_path):
    """GIVEN two stacks sharing the template, one giving a week of backups and one a day
    WHEN validated THEN only the second is reported, and the message names it."""
    prod = given("BackupDays: 14").replace("db-dev", "db-prod")
    dev = given("BackupDays: 1")
    root = make_repo(
        tmp_path,
        {PATH: TEMPLATE, STACK_PATH: dev, "desired-state/db-prod.yml": prod},
        defaults=False,
    )
    ctx = Context(load_desired_state(root), OfflineCatalog(), date(2026, 11, 29))
    (finding,) = set(pci_backups.RULE.check(ctx))
    assert finding.stack == "db-dev" and "in stack db-dev" in finding.message


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("MasterUserPassword", True),
        ("AuthToken", True),
        ("ClientSecret", True),
        ("SecretString", True),
        ("DB_PASSWORD", True),
        ("SecretAccessKey", True),
        ("SecretArn", False),
        ("SecretId", False),
        ("SecretStringTemplate", False),
        ("PasswordLength", False),
        ("SecretRotationDays", False),
        ("ManageMasterUserPassword", False),
        ("AuthTokenUpdateStrategy", False),
        ("SECRETS_MANAGER_ENDPOINT", False),
        ("MasterUsername", False),
        ("Passwords", True),
        ("ServiceToken", False),
        ("HttpTokens", False),
        ("PasswordHistorySize", False),
    ],
)
def test_which_names_hold_secrets(name, sensitive):
    assert is_sensitive(name) is sensitive


def test_a_stack_file_suppresses_a_pci_rule_with_its_reason(tmp_path):
    """GIVEN a dev stack keeping one day of backups, with PCI004 suppressed and a reason
    WHEN validated THEN the finding moves to the suppressed list with that reason."""
    stack = given("BackupDays: 1") + 'suppress:\n  PCI004: "dev keeps one day of backups"\n'
    report = validate(load_desired_state(repo(tmp_path, stack=stack)), OfflineCatalog())
    assert [f for f in report.findings if f.rule == "PCI004"] == []
    (suppressed,) = [s for s in report.suppressed if s.finding.rule == "PCI004"]
    assert suppressed.reason == "dev keeps one day of backups"
    assert suppressed.stack_file == STACK_PATH
    assert (suppressed.finding.path, suppressed.finding.line) == (
        PATH,
        line_of(TEMPLATE, "BackupRetentionPeriod:"),
    )


def test_every_pci_rule_is_registered():
    registered = {rule_id for rule in RULES for rule_id in rule.ids}
    assert set(PCI_RULES) <= registered


@pytest.mark.parametrize("rule", sorted(PCI_RULES))
def test_the_repository_templates_pass_every_pci_rule(rule):
    state = load_desired_state(ROOT)
    ctx = Context(state, OfflineCatalog(), date(2026, 11, 29))
    assert [str(f) for f in PCI_RULES[rule].check(ctx)] == []
