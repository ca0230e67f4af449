"""Validation sees the template as each stack will get it (issue 13 item 7): the engine
version and the PCI controls are checked on the value the stack's parameters select
through Fn::If, Fn::FindInMap and resource Conditions; a branch no parameter can select
is not reported; every finding names the file and line."""

from __future__ import annotations

from datetime import date

import pytest

from reconciler.desired import load_desired_state
from reconciler.validation import validate
from reconciler.validation.offline_catalog import OfflineCatalog
from tests.repo import make_repo

TEMPLATE_PATH = "templates/db.yml"
STACK_PATH = "desired-state/db.yml"

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
Mappings:
  EngineByRegion:
    us-east-1:
      Version: "8.0.35"
    eu-central-1:
      Version: "8.4.8"
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  Never: !Equals ["a", "b"]
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
      BackupRetentionPeriod: 7
      MasterUsername: admin
      ManageMasterUserPassword: true
"""

REPORTING_DB = """\
  Reporting:
    Type: AWS::RDS::DBInstance
    Condition: IsProd
    DeletionPolicy: Snapshot
    UpdateReplacePolicy: Snapshot
    Properties:
      Engine: mysql
      EngineVersion: "8.4.8"
      DBInstanceClass: db.t3.medium
      AllocatedStorage: "20"
      StorageEncrypted: false
      MultiAZ: true
      PubliclyAccessible: false
      BackupRetentionPeriod: 7
      MasterUsername: admin
      ManageMasterUserPassword: true
"""


def stack(env, region="us-east-1"):
    return f"""\
template-file-path: {TEMPLATE_PATH}
parameters:
  Env: {env}
stack-name: db-{env}
region: {region}
"""


def template_with(old, new, extra=""):
    assert old in TEMPLATE, old
    return TEMPLATE.replace(old, new, 1) + extra


def findings(tmp_path, template, env, rule, region="us-east-1"):
    """The findings of one rule after a full `validate` of a one-stack repository."""
    files = {TEMPLATE_PATH: template, STACK_PATH: stack(env, region)}
    state = load_desired_state(make_repo(tmp_path, files, defaults=False))
    report = validate(state, OfflineCatalog(), date(2026, 11, 29))
    return [f for f in report.findings if f.rule == rule]


def line_of(text, needle):
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


ENGINE_IF = 'EngineVersion: !If [IsProd, "8.4.8", "8.0.35"]'


def test_the_base_template_has_no_engine_or_encryption_finding(tmp_path):
    """GIVEN the compliant template in a dev stack
    WHEN validated
    THEN neither RDS001 nor PCI001 is reported (each case below breaks one thing)."""
    assert findings(tmp_path, TEMPLATE, "dev", "RDS001") == []
    assert findings(tmp_path, TEMPLATE, "dev", "PCI001") == []


def test_engine_version_behind_fn_if_is_checked_on_the_selected_branch(tmp_path):
    """GIVEN EngineVersion: !If [IsProd, "8.4.8", "8.0.35"] in a dev stack in us-east-1
    WHEN validated
    THEN RDS001 reports 8.0.35 (deprecated there) at the template's EngineVersion line."""
    template = template_with('EngineVersion: "8.4.8"', ENGINE_IF)
    (found,) = findings(tmp_path, template, "dev", "RDS001")
    assert found.is_error
    assert (found.path, found.line) == (TEMPLATE_PATH, line_of(template, ENGINE_IF))
    assert "mysql 8.0.35 is deprecated (no new instances) in us-east-1" in found.message
    assert f"set EngineVersion in {TEMPLATE_PATH}" in found.message
    assert found.stack == "db-dev"


def test_engine_version_behind_fn_if_is_accepted_when_the_branch_is_offered(tmp_path):
    """GIVEN the same template in a prod stack (the 8.4.8 branch)
    WHEN validated
    THEN RDS001 reports nothing."""
    template = template_with('EngineVersion: "8.4.8"', ENGINE_IF)
    assert findings(tmp_path, template, "prod", "RDS001") == []


def test_storage_encrypted_fn_if_that_renders_false_is_refused(tmp_path):
    """GIVEN StorageEncrypted: !If [IsProd, true, false] in a dev stack
    WHEN validated
    THEN PCI001 is an error at the StorageEncrypted line, saying it is false."""
    written = "StorageEncrypted: !If [IsProd, true, false]"
    template = template_with("StorageEncrypted: true", written)
    (found,) = findings(tmp_path, template, "dev", "PCI001")
    assert found.is_error
    assert (found.path, found.line) == (TEMPLATE_PATH, line_of(template, written))
    assert "StorageEncrypted is false" in found.message
    assert "set StorageEncrypted: true" in found.message


def test_storage_encrypted_fn_if_that_renders_true_is_accepted(tmp_path):
    """GIVEN the same template in a prod stack
    WHEN validated
    THEN PCI001 reports nothing."""
    template = template_with(
        "StorageEncrypted: true", "StorageEncrypted: !If [IsProd, true, false]"
    )
    assert findings(tmp_path, template, "prod", "PCI001") == []


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize(
    ("rule", "old", "new"),
    [
        ("RDS001", 'EngineVersion: "8.4.8"', 'EngineVersion: !If [Never, "8.0.35", "8.4.8"]'),
        ("PCI001", "StorageEncrypted: true", "StorageEncrypted: !If [Never, false, true]"),
    ],
    ids=["engine-version", "storage-encryption"],
)
def test_a_branch_no_parameter_can_select_is_not_reported(tmp_path, env, rule, old, new):
    """GIVEN a wrong value behind Fn::If on a condition that is always false
    WHEN any stack is validated
    THEN the unreachable branch is not reported."""
    assert findings(tmp_path, template_with(old, new), env, rule) == []


def test_a_conditional_resource_is_checked_only_in_stacks_that_create_it(tmp_path):
    """GIVEN an unencrypted database with Condition: IsProd
    WHEN a dev stack and a prod stack are validated
    THEN dev (no such database) has no PCI001; prod has it at the database's
    StorageEncrypted line."""
    template = TEMPLATE + REPORTING_DB
    assert findings(tmp_path / "dev", template, "dev", "PCI001") == []
    (found,) = findings(tmp_path / "prod", template, "prod", "PCI001")
    assert found.is_error and found.stack == "db-prod"
    assert found.path == TEMPLATE_PATH
    assert found.line == line_of(template, "StorageEncrypted: false")
    assert "Reporting" in found.message


@pytest.mark.parametrize(
    ("region", "reported"),
    [("us-east-1", True), ("eu-central-1", False)],
)
def test_engine_version_through_find_in_map_is_checked_per_region(tmp_path, region, reported):
    """GIVEN EngineVersion: !FindInMap [EngineByRegion, !Ref AWS::Region, Version], 8.0.35
    for us-east-1 and 8.4.8 for eu-central-1
    WHEN a stack in each region is validated
    THEN RDS001 reports the us-east-1 stack, at the EngineVersion line, and not the other."""
    written = "EngineVersion: !FindInMap [EngineByRegion, !Ref AWS::Region, Version]"
    template = template_with('EngineVersion: "8.4.8"', written)
    found = findings(tmp_path, template, "dev", "RDS001", region=region)
    if not reported:
        assert found == []
        return
    (finding,) = found
    assert (finding.path, finding.line) == (TEMPLATE_PATH, line_of(template, written))
    assert f"mysql 8.0.35 is deprecated (no new instances) in {region}" in finding.message


@pytest.mark.parametrize(
    "written",
    [
        "EngineVersion: !If [IsProd]",
        "EngineVersion: !If [NotDeclared, '8.0.35', '8.4.8']",
        "EngineVersion: !Select [9, ['8.0.35']]",
        "EngineVersion: !Join ['.', '8.0.35']",
        "EngineVersion: !Sub [8, {}]",
        "EngineVersion: !FindInMap [EngineByRegion, nowhere, Version]",
        "EngineVersion: !GetAtt Key.Arn",
        "EngineVersion: [8, 0, 35]",
    ],
)
def test_an_engine_version_that_cannot_be_rendered_is_not_guessed(tmp_path, written):
    """GIVEN an EngineVersion written wrongly or known only at deploy
    WHEN validated
    THEN RDS001 says nothing (cfn-lint reports the mistakes), and validation does not
    raise."""
    template = template_with('EngineVersion: "8.4.8"', written)
    assert findings(tmp_path, template, "dev", "RDS001") == []


@pytest.mark.parametrize(
    "resources",
    [
        "  Broken: just text\n",
        "  Broken:\n    Type: AWS::RDS::DBInstance\n    Properties: [a, b]\n",
        "  Broken:\n    Type: AWS::RDS::DBInstance\n    Condition: [IsProd]\n",
        "  Broken:\n    Type: AWS::RDS::DBInstance\n    Condition: NotDeclared\n"
        "    Properties:\n      StorageEncrypted: !If [IsProd]\n",
    ],
    ids=["not-a-mapping", "properties-a-list", "condition-a-list", "undeclared-condition"],
)
def test_hostile_resources_give_findings_not_tracebacks(tmp_path, resources):
    """GIVEN a resource of the wrong shape
    WHEN validated
    THEN validation returns findings, each naming a file and a line, and raises nothing."""
    files = {TEMPLATE_PATH: TEMPLATE + resources, STACK_PATH: stack("dev")}
    state = load_desired_state(make_repo(tmp_path, files, defaults=False))
    report = validate(state, OfflineCatalog(), date(2026, 11, 29))
    assert report.findings
    for found in report.findings:
        assert found.path and found.line >= 1, str(found)


INGRESS_IF = """\
  DBSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: database
      SecurityGroupIngress: !If
        - IsProd
        - - IpProtocol: tcp
            FromPort: 3306
            ToPort: 3306
            CidrIp: 10.0.0.0/16
        - - IpProtocol: tcp
            FromPort: 3306
            ToPort: 3306
            CidrIp: 0.0.0.0/0
"""

INGRESS_ITEMS = """\
  DBSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: database
      SecurityGroupIngress:
        - !If
          - IsProd
          - !Ref AWS::NoValue
          - IpProtocol: tcp
            FromPort: 443
            ToPort: 443
            CidrIp: 10.0.0.0/16
        - IpProtocol: tcp
          FromPort: 3306
          ToPort: 3306
          CidrIp: 0.0.0.0/0
"""


def test_ingress_rules_chosen_by_fn_if_are_checked_for_the_stack(tmp_path):
    """GIVEN SecurityGroupIngress: !If [IsProd, <private rules>, <0.0.0.0/0 to 3306>]
    WHEN a dev stack and a prod stack are validated
    THEN dev gets PCI010 at the ingress list's line; prod gets none."""
    template = TEMPLATE + INGRESS_IF
    (found,) = findings(tmp_path / "dev", template, "dev", "PCI010")
    assert found.is_error and "MySQL on 3306" in found.message
    assert (found.path, found.line) == (TEMPLATE_PATH, line_of(template, "SecurityGroupIngress"))
    assert findings(tmp_path / "prod", template, "prod", "PCI010") == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_an_ingress_rule_after_a_removed_item_is_reported_at_its_own_line(tmp_path, env):
    """GIVEN an ingress list whose first item is !If [IsProd, NoValue, <private rule>] and
    whose second opens MySQL to the internet
    WHEN validated in dev (both items) and prod (the first removed)
    THEN PCI010 names the open rule's CidrIp line in both."""
    template = TEMPLATE + INGRESS_ITEMS
    (found,) = findings(tmp_path, template, env, "PCI010")
    assert found.line == line_of(template, "CidrIp: 0.0.0.0/0")


PARAMETER_GROUPS = """\
  TlsParams:
    Type: AWS::RDS::DBParameterGroup
    Properties:
      Description: TLS only
      Family: mysql8.4
      Parameters:
        require_secure_transport: "1"
  PlainParams:
    Type: AWS::RDS::DBParameterGroup
    Properties:
      Description: plaintext allowed
      Family: mysql8.4
      Parameters:
        require_secure_transport: "0"
"""


def test_the_parameter_group_chosen_by_fn_if_is_checked_for_tls(tmp_path):
    """GIVEN DBParameterGroupName: !If [IsProd, !Ref TlsParams, !Ref PlainParams]
    WHEN a dev stack and a prod stack are validated
    THEN dev gets PCI002 at PlainParams' require_secure_transport line; prod gets none."""
    written = "      DBParameterGroupName: !If [IsProd, !Ref TlsParams, !Ref PlainParams]\n"
    template = template_with("      MultiAZ: true\n", written + "      MultiAZ: true\n")
    template += PARAMETER_GROUPS
    (found,) = findings(tmp_path / "dev", template, "dev", "PCI002")
    assert found.is_error and "PlainParams" in found.message
    assert found.line == line_of(template, 'require_secure_transport: "0"')
    assert findings(tmp_path / "prod", template, "prod", "PCI002") == []
