"""IAM001 from the command line, against moto's IAM: `validate` reads the policies of
the role in CLOUDFORMATION_ROLE_ARN (inline, attached, boundary) and names the actions a
template's resource types need that the role lacks; a role it cannot read, or --offline,
only leaves a note."""

from __future__ import annotations

import json

import boto3
import botocore.exceptions
import pytest

from localaws import extensions
from reconciler.aws.iam import IamRole
from reconciler.cli import main
from tests.repo import make_repo

extensions.install_all()

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudformation.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def allowing(*actions: str) -> str:
    statement = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def role(name: str, *actions: str, managed: tuple[str, ...] = ()) -> str:
    iam = boto3.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=allowing(*actions))
    if managed:
        policy = iam.create_policy(PolicyName=f"{name}-managed", PolicyDocument=allowing(*managed))
        iam.attach_role_policy(RoleName=name, PolicyArn=policy["Policy"]["Arn"])
    return arn


@pytest.fixture
def repo(tmp_path):
    return str(make_repo(tmp_path))


def test_a_narrow_role_is_reported_at_the_template_line_with_the_missing_actions(
    repo, capsys, monkeypatch, aws
):
    arn = role("narrow", "ssm:*")
    monkeypatch.setenv("CLOUDFORMATION_ROLE_ARN", arn)
    assert main(["validate", repo]) == 1
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if "[IAM001]" in x]
    assert line.startswith("templates/app.yml:15: error: AWS::Logs::LogGroup: ")
    assert arn in line and "logs:AssociateKmsKey, logs:CreateLogDelivery" in line


def test_actions_granted_by_an_attached_managed_policy_count(repo, capsys, monkeypatch, aws):
    arn = role("enough", "ssm:*", managed=("logs:*", "firehose:TagDeliveryStream"))
    monkeypatch.setenv("CLOUDFORMATION_ROLE_ARN", arn)
    assert main(["validate", repo]) == 0
    out = capsys.readouterr().out
    assert "IAM001" not in out
    assert f"note: resource types checked against the policies of the execution role {arn}" in out


def test_a_role_that_cannot_be_read_is_a_note_not_an_error(repo, capsys, monkeypatch, aws):
    monkeypatch.setenv("CLOUDFORMATION_ROLE_ARN", "arn:aws:iam::123456789012:role/absent")
    assert main(["validate", repo]) == 0
    out = capsys.readouterr().out
    assert "note: IAM001 (execution role permissions) not checked: the policies of " in out
    assert "(NoSuchEntity)" in out


def test_offline_does_not_read_the_role(repo, capsys, monkeypatch, aws):
    monkeypatch.setenv("CLOUDFORMATION_ROLE_ARN", role("narrow", "ssm:GetParameters"))
    assert main(["validate", "--offline", repo]) == 0
    assert "note: IAM001 (execution role permissions) not checked: --offline" in (
        capsys.readouterr().out
    )


def test_without_the_variable_the_rule_is_skipped(repo, capsys, monkeypatch):
    monkeypatch.delenv("CLOUDFORMATION_ROLE_ARN", raising=False)
    assert main(["validate", "--offline", repo]) == 0
    assert "not checked: --offline" in capsys.readouterr().out


def test_plan_refuses_a_role_that_lacks_actions(repo, capsys, monkeypatch, aws):
    monkeypatch.setenv("CLOUDFORMATION_ROLE_ARN", role("narrow", "logs:*", "firehose:*"))
    assert main(["plan", repo]) == 1
    assert "[IAM001]" in capsys.readouterr().err


class DeniedClient:
    """IAM answering AccessDenied, as it does when the caller may not read roles."""

    def get_role(self, **_):
        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
        raise botocore.exceptions.ClientError(error, "GetRole")


def test_access_denied_leaves_the_role_unread_and_says_why():
    found = IamRole("arn:aws:iam::123456789012:role/x", client=DeniedClient())
    assert found.permissions() is None
    assert found.unreadable.endswith("could not be read (AccessDenied)")
