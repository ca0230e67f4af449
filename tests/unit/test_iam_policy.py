"""reconciler.iam_policy: the execution role's policy from the templates' resource types."""

from __future__ import annotations

import json
import re

import pytest

from reconciler.desired import load_desired_state
from reconciler.errors import InvalidDesiredStateError
from reconciler.iam_policy import STACK_TAG, execution_policy
from tests.repo import STACK, make_repo

FUNCTION_TEMPLATE = """\
Resources:
  FnRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  UnusedRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt FnRole.Arn
      Runtime: python3.13
      Handler: index.handler
      Code: {ZipFile: "x"}
  Log:
    Type: AWS::EC2::FlowLog
    Properties:
      ResourceId: vpc-1
      ResourceType: VPC
      TrafficType: ALL
      DeliverLogsPermissionArn: arn:aws:iam::123456789012:role/external-flow-logs
  Thing:
    Type: Custom::Thing
    Properties:
      ServiceToken: !GetAtt Fn.Arn
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    root = make_repo(tmp_path_factory.mktemp("repo"), {"templates/app.yml": FUNCTION_TEMPLATE})
    return execution_policy(load_desired_state(root), stack_prefix="app-")


def test_no_statement_holds_a_wildcard_action(policy):
    """GIVEN any repository WHEN its policy is computed THEN no action has a wildcard."""
    assert [a for a in policy.actions if "*" in a] == []


def test_pass_role_only_for_the_roles_the_templates_pass(policy):
    """GIVEN a function given a role of the template and a flow log given an external ARN
    WHEN the policy is computed THEN PassRole names those two, the first only to Lambda."""
    passes = {s.sid: s for s in policy.statements if "iam:PassRole" in s.actions}
    assert set(passes) == {"PassRoleToLambda", "PassRoleToServices"}
    assert passes["PassRoleToLambda"].resources == ("arn:aws:iam::*:role/app-*",)
    assert passes["PassRoleToLambda"].condition == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
    }
    assert passes["PassRoleToServices"].resources == (
        "arn:aws:iam::123456789012:role/external-flow-logs",
    )
    assert all(s.actions == ("iam:PassRole",) for s in passes.values())


def test_destructive_actions_carry_the_stack_name_condition_when_supported(policy):
    """GIVEN lambda:DeleteFunction (supports aws:ResourceTag) WHEN the policy is computed
    THEN it is limited to resources tagged with a managed stack's name."""
    (statement,) = [s for s in policy.statements if "lambda:DeleteFunction" in s.actions]
    assert statement.condition == {"StringLike": {STACK_TAG: "app-*"}}
    assert statement.sid == "LambdaManagedStacks"


def test_a_destructive_action_without_tag_condition_stays_on_star_with_its_reason(policy):
    """GIVEN logs:DeleteLogDelivery (no resource-level permission) WHEN computed THEN it is
    on "*" without condition, and the reason says why."""
    (statement,) = [s for s in policy.statements if "logs:DeleteLogDelivery" in s.actions]
    assert statement.resources == ("*",) and statement.condition is None
    assert "no resource-level permission" in statement.reason


def test_iam_role_actions_are_limited_to_the_stack_named_roles(policy):
    (statement,) = [s for s in policy.statements if "iam:DeleteRole" in s.actions]
    assert statement.resources == ("arn:aws:iam::*:role/app-*",)


def test_every_statement_has_a_reason_types_and_an_alphanumeric_sid(policy):
    for s in policy.statements:
        assert s.reason and s.types
        assert re.fullmatch(r"[A-Za-z0-9]+", s.sid)
    assert len({s.sid for s in policy.statements}) == len(policy.statements)


def test_document_is_iam_json(policy):
    document = json.loads(json.dumps(policy.document()))
    assert document["Version"] == "2012-10-17"
    for statement in document["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] == "Allow"


def test_custom_types_are_skipped_and_reported_and_their_function_invoked(policy):
    assert [s.split(":")[0] for s in policy.skipped] == ["Custom"]
    assert "Custom::Thing" in policy.skipped[0]
    (invoke,) = [s for s in policy.statements if "lambda:InvokeFunction" in s.actions]
    assert "Custom::Thing" in invoke.types


def test_unknown_type_is_reported(tmp_path):
    template = "Resources:\n  X:\n    Type: AWS::Nothing::Here\n"
    root = make_repo(tmp_path, {"templates/app.yml": template})
    policy = execution_policy(load_desired_state(root), stack_prefix="app-")
    assert policy.unknown_types == ("AWS::Nothing::Here",)
    assert policy.statements == ()


def test_text_says_each_reason(policy):
    text = policy.to_text()
    assert all(f"# {s.sid}: {s.reason}" in text for s in policy.statements)
    assert "skipped: Custom::Thing" in text


def test_stack_outside_the_prefix_is_noted(tmp_path):
    root = make_repo(tmp_path, {"templates/app.yml": FUNCTION_TEMPLATE})
    policy = execution_policy(load_desired_state(root), stack_prefix="pci-db-")
    assert any("app-dev" in n for n in policy.notes)


def test_invalid_desired_state_raises_with_its_findings(tmp_path):
    root = make_repo(tmp_path, {"desired-state/app-dev.yml": STACK + "colour: blue\n"})
    with pytest.raises(InvalidDesiredStateError):
        execution_policy(load_desired_state(root), stack_prefix="app-")


def test_secret_values_and_key_plaintext_are_read_only_from_the_managed_stacks():
    """GIVEN the repository's PCI template (secrets, a KMS key) WHEN the policy is computed
    THEN GetSecretValue and kms:Decrypt are limited to resources tagged with a managed
    stack's name, never granted on every secret and key of the account."""
    from pathlib import Path

    state = load_desired_state(Path(__file__).resolve().parents[2])
    pci = execution_policy(state, stack_prefix="pci-db-")
    for action in ("secretsmanager:GetSecretValue", "kms:Decrypt"):
        (statement,) = [s for s in pci.statements if action in s.actions]
        assert statement.condition == {"StringLike": {STACK_TAG: "pci-db-*"}}
        assert "secret's value" in statement.reason
