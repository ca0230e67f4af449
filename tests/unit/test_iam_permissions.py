"""IAM001's reading of a role's policies (reconciler.permissions), and the rule over a
repository with a fake execution role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reconciler.desired import load_desired_state
from reconciler.permissions import Permissions, from_documents
from reconciler.validation import validate
from tests.repo import make_repo

ROLE = "arn:aws:iam::123456789012:role/cfn-exec"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(*actions: str, **extra) -> dict:
    return {"Effect": "Allow", "Action": list(actions), "Resource": "*", **extra}


def deny(*actions: str, **extra) -> dict:
    return {"Effect": "Deny", "Action": list(actions), "Resource": "*", **extra}


@pytest.mark.parametrize(
    ("statement", "action", "allowed"),
    [
        (allow("ssm:PutParameter"), "ssm:PutParameter", True),
        (allow("ssm:Put*"), "ssm:PutParameter", True),
        (allow("SSM:put*"), "ssm:PutParameter", True),  # case-insensitive
        (allow("ssm:?utParameter"), "ssm:PutParameter", True),
        (allow("*"), "logs:CreateLogGroup", True),
        (allow("ssm:Get*"), "ssm:PutParameter", False),
        (allow("ssm:[P]utParameter"), "ssm:PutParameter", False),  # no fnmatch classes in IAM
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "ssm:PutParameter", True),
        ({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}, "iam:PassRole", False),
        # Resource and Condition do not narrow an Allow: the reading is permissive.
        (
            allow("ssm:PutParameter", Resource="arn:aws:ssm:*:*:parameter/x"),
            "ssm:PutParameter",
            True,
        ),
        (
            allow("ssm:*", Condition={"Bool": {"aws:SecureTransport": "true"}}),
            "ssm:PutParameter",
            True,
        ),
    ],
)
def test_one_statement_allows_what_its_action_patterns_match(statement, action, allowed):
    assert from_documents([policy(statement)]).allows(action) is allowed


def test_a_deny_wins_over_an_allow():
    permissions = from_documents([policy(allow("ssm:*")), policy(deny("ssm:DeleteParameter"))])
    assert permissions.allows("ssm:PutParameter")
    assert not permissions.allows("ssm:DeleteParameter")


def test_a_deny_with_not_action_denies_everything_else():
    permissions = from_documents(
        [policy(allow("*"), {"Effect": "Deny", "NotAction": "ssm:*", "Resource": "*"})]
    )
    assert permissions.allows("ssm:PutParameter") and not permissions.allows("logs:TagResource")


def test_a_conditional_or_resource_scoped_deny_is_not_counted():
    """It may deny some calls at run time; a static reading cannot say which."""
    permissions = from_documents(
        [
            policy(
                allow("ssm:*"),
                deny("ssm:DeleteParameter", Condition={"StringEquals": {"aws:RequestTag/x": "y"}}),
                deny("ssm:PutParameter", Resource="arn:aws:ssm:*:*:parameter/locked/*"),
            )
        ]
    )
    assert permissions.allows("ssm:DeleteParameter") and permissions.allows("ssm:PutParameter")


def test_a_permissions_boundary_must_allow_too():
    permissions = from_documents([policy(allow("*"))], boundary=policy(allow("ssm:*")))
    assert permissions.allows("ssm:PutParameter") and not permissions.allows("logs:TagResource")


def test_missing_lists_the_actions_not_allowed_sorted():
    permissions = from_documents([policy(allow("ssm:Get*"))])
    wanted = ["ssm:PutParameter", "ssm:GetParameters", "ssm:DeleteParameter"]
    assert permissions.missing(wanted) == ["ssm:DeleteParameter", "ssm:PutParameter"]


def test_a_single_statement_object_and_odd_shapes_are_read():
    document = {"Statement": {"Effect": "Allow", "Action": "ssm:*", "Resource": "*"}}
    assert from_documents(
        [document, "not a policy", {"Statement": [None, {"Effect": "x"}]}]
    ).allows("ssm:PutParameter")


@dataclass(frozen=True)
class FakeRole:
    permissions_read: Permissions | None
    arn: str = ROLE
    unreadable: str = "AccessDenied"

    def permissions(self) -> Permissions | None:
        return self.permissions_read


def iam001(tmp_path, role) -> tuple[list, tuple[str, ...]]:
    report = validate(load_desired_state(make_repo(tmp_path)), role=role)
    return [f for f in report.findings if f.rule == "IAM001"], report.notes


def test_a_type_whose_actions_the_role_lacks_is_an_error_at_its_first_resource(tmp_path):
    role = FakeRole(from_documents([policy(allow("logs:*", "firehose:TagDeliveryStream"))]))
    (finding,), _ = iam001(tmp_path, role)
    assert (finding.path, finding.line, finding.is_error) == ("templates/app.yml", 9, True)
    assert finding.message.startswith(f"AWS::SSM::Parameter: the execution role {ROLE} ")
    assert "ssm:AddTagsToResource, ssm:DeleteParameter, ssm:DescribeParameters" in finding.message


def test_a_long_list_of_missing_actions_is_shortened_with_a_count(tmp_path):
    findings, _ = iam001(tmp_path, FakeRole(from_documents([policy(allow("ssm:*"))])))
    (logs,) = findings
    assert logs.line == 15 and "AWS::Logs::LogGroup" in logs.message
    assert " and 15 more;" in logs.message  # 23 actions AWS defines, 8 named


def test_a_role_allowing_every_action_gives_no_finding_and_a_note(tmp_path):
    findings, notes = iam001(tmp_path, FakeRole(from_documents([policy(allow("*"))])))
    assert findings == []
    assert f"resource types checked against the policies of the execution role {ROLE}" in notes


def test_an_unreadable_role_skips_the_rule_with_a_note(tmp_path):
    findings, notes = iam001(tmp_path, FakeRole(None))
    assert findings == []
    assert "IAM001 (execution role permissions) not checked: AccessDenied" in notes
