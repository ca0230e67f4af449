"""The member accounts' preview role: a pull request preview reaches a member stack through
infra/member-account.yml's MemberPreviewRole, which may do to a stack what the central
PreviewRole may (change sets made, described and deleted, never executed), and nothing a
deploy needs. The preview function is given MEMBER_ROLE_NAME, and reconciler.aws.accounts
then assumes that role in the stack's account, whatever role the stack file names."""

from __future__ import annotations

import datetime
from fnmatch import fnmatchcase

import botocore.awsrequest
import botocore.exceptions
import pytest

from reconciler.aws import accounts
from reconciler.aws.accounts import Accounts
from reconciler.errors import PermanentAwsError
from tests.unit.test_bootstrap_template import CALLS
from tests.unit.test_member_account_template import (
    CENTRAL,
    CENTRAL_ONLY,
    CENTRAL_SERVICES,
    MEMBER_ACCOUNT,
    MEMBER_STACKS,
    VALUES,
    actions,
    granted,
    listed,
    props,
    resolve,
    statements,
    template,
)

DEPLOYS = {
    "cloudformation:ExecuteChangeSet",
    "cloudformation:UpdateStack",
    "cloudformation:CreateStack",
    "cloudformation:DeleteStack",
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:RollbackStack",
    "cloudformation:CancelUpdateStack",
    "cloudformation:SetStackPolicy",
}

# --- infra/member-account.yml ---------------------------------------------------------------


def test_the_preview_role_does_to_a_stack_what_the_central_preview_does_and_no_more():
    """GIVEN what the preview function's code calls (the bootstrap test's CALLS) WHEN what
    stays central is left out (its tables, queues, GitHub secrets, logs and the AssumeRole
    itself) THEN MemberPreviewRole grants exactly the rest: the stack reads, the change
    sets, passing the execution role, the catalog and DescribeSecret."""
    expected = {
        a for a in CALLS["preview"] - CENTRAL_ONLY if a.split(":")[0] not in CENTRAL_SERVICES
    }
    assert granted("MemberPreviewRole") == expected


def test_the_preview_role_cannot_deploy():
    """GIVEN MemberPreviewRole WHEN its actions are listed THEN none executes a change set or
    creates, changes, rolls back or deletes a stack, and none reads a secret's value."""
    forbidden = DEPLOYS | {"secretsmanager:GetSecretValue", "kms:Decrypt"}
    assert granted("MemberPreviewRole") & forbidden == set()


def test_the_preview_role_acts_on_the_managed_stacks_of_its_own_account_only():
    """GIVEN MemberPreviewRole's statements WHEN resolved THEN CloudFormation acts only on
    the managed stacks ("*" only to list them), everything else is in this account or "*"
    (the APIs without resource-level permissions), and the one role it may pass is this
    account's execution role, to CloudFormation only."""
    for s in statements("MemberPreviewRole"):
        arns = [resolve(r, VALUES) for r in listed(s["Resource"])]
        assert all(a == "*" or f":{MEMBER_ACCOUNT}:" in a for a in arns), s["Sid"]
        if any(a.startswith("cloudformation:") for a in actions(s)) and arns != ["*"]:
            assert arns == [MEMBER_STACKS], s["Sid"]
    (passes,) = [s for s in statements("MemberPreviewRole") if "iam:PassRole" in actions(s)]
    assert resolve(passes["Resource"], VALUES) == (
        f"arn:aws:iam::{MEMBER_ACCOUNT}:role/gitops-reconciler-member-execution"
    )
    assert passes["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
    }


def test_the_preview_role_is_assumed_by_the_central_preview_role_with_the_external_id_only():
    """GIVEN MemberPreviewRole's trust policy WHEN resolved THEN one statement lets the
    central account assume it with the external id, only from a role named as
    CloudFormation names the bootstrap stack's PreviewRole (<stack>-PreviewRole-<suffix>)."""
    (trust,) = props("MemberPreviewRole")["AssumeRolePolicyDocument"]["Statement"]
    resolved = resolve(trust, VALUES)
    pattern = resolved["Condition"].pop("ArnLike")["aws:PrincipalArn"]
    assert resolved == {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{CENTRAL}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "acme-gitops-2026"}},
    }
    role = f"arn:aws:iam::{CENTRAL}:role/gitops-"
    assert fnmatchcase(role + "PreviewRole-1A2B3C4D5E6F", pattern)
    for other in ("PushRole-1A2B3C4D5E6F", "StackWorkerRole-1A2B3C4D5E6F", "Preview"):
        assert not fnmatchcase(role + other, pattern), other
    assert not fnmatchcase(f"arn:aws:iam::{MEMBER_ACCOUNT}:role/gitops-PreviewRole-X", pattern)


def test_the_preview_role_is_named_made_and_output_with_the_other_roles():
    """GIVEN the template WHEN MemberPreviewRole is read THEN it is named
    MemberPreviewRoleName, made only with CreatesRoles, and its ARN is an output."""
    resource = template()["Resources"]["MemberPreviewRole"]
    assert resource["Condition"] == "CreatesRoles"
    assert resolve(props("MemberPreviewRole")["RoleName"], VALUES) == (
        "gitops-reconciler-member-preview"
    )
    output = template()["Outputs"]["MemberPreviewRoleArn"]
    assert output["Value"] == {"Fn::GetAtt": ["MemberPreviewRole", "Arn"]}


# --- reconciler/aws/accounts.py: MEMBER_ROLE_NAME ------------------------------------------

STACK_FILE_ROLE = "arn:aws:iam::444455556666:role/gitops-reconciler-member"
PREVIEW_ROLE = "arn:aws:iam::444455556666:role/gitops-reconciler-member-preview"
PREVIEW = {
    "MEMBER_EXTERNAL_ID": "acme-gitops-2026",
    "MEMBER_ROLE_NAME": "gitops-reconciler-member-preview",
}


@pytest.mark.parametrize(
    ("named", "assumed"),
    [
        (STACK_FILE_ROLE, PREVIEW_ROLE),
        ("arn:aws:iam::444455556666:role/OrganizationAccountAccessRole", PREVIEW_ROLE),
        ("arn:aws:iam::444455556666:role/teams/db/deployer", PREVIEW_ROLE),
        (
            "arn:aws-cn:iam::444455556666:role/gitops-reconciler-member",
            "arn:aws-cn:iam::444455556666:role/gitops-reconciler-member-preview",
        ),
    ],
)
def test_member_role_name_replaces_the_name_of_the_stack_files_role(named, assumed):
    """GIVEN MEMBER_ROLE_NAME (the preview function's) WHEN a stack file's role is to be
    assumed THEN the role of that name in the same account and partition is, at the root
    path, whatever the stack file named."""
    assert Accounts(PREVIEW).assumed(named) == assumed


def test_without_member_role_name_the_stack_files_role_is_assumed():
    """GIVEN no MEMBER_ROLE_NAME (the pass functions, the CLI) WHEN a role is to be assumed
    THEN it is the stack file's own."""
    role = "arn:aws:iam::444455556666:role/teams/db/deployer"
    assert Accounts({"MEMBER_EXTERNAL_ID": "x1", "MEMBER_ROLE_NAME": " "}).assumed(role) == role


class FakeSts:
    """sts:AssumeRole, answered with fixed credentials (or refused); every call kept."""

    def __init__(self, refuse: bool = False) -> None:
        self.asked: list[dict] = []
        self.refuse = refuse

    def assume_role(self, **params):
        self.asked.append(params)
        if self.refuse:
            error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
            raise botocore.exceptions.ClientError(error, "AssumeRole")
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        return {
            "Credentials": {
                "AccessKeyId": "ASIAPREVIEWEXAMPLE",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": expires,
            }
        }


@pytest.fixture
def sts(monkeypatch) -> FakeSts:
    fake = FakeSts()
    monkeypatch.setattr(accounts.session, "client", lambda service, region=None: fake)
    return fake


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body


def _signed_with(client) -> list[str]:
    """Answers the client's calls without sending them; the access keys they were signed
    with are kept."""
    keys: list[str] = []

    def answer(request, **_):
        keys.append(request.headers["Authorization"].decode().split("Credential=")[1][:18])
        return botocore.awsrequest.AWSResponse(request.url, 200, {}, _Raw(b'{"SecretList": []}'))

    client.meta.events.register("before-send", answer)
    return keys


def test_the_preview_assumes_the_preview_role_in_the_stacks_account(sts):
    """GIVEN the preview function's environment WHEN a call is made for a stack whose file
    names the member role THEN sts:AssumeRole is asked for the preview role of that
    account, with the external id and the commit's session name, and the call is signed
    with its credentials."""
    client_for = Accounts(PREVIEW).clients(STACK_FILE_ROLE, "0123456789abcdef")
    client = client_for("secretsmanager", "eu-west-1")
    keys = _signed_with(client)

    client.list_secrets()

    assert sts.asked == [
        {
            "RoleArn": PREVIEW_ROLE,
            "RoleSessionName": "gitops-reconciler-0123456789ab",
            "DurationSeconds": accounts.DURATION_SECONDS,
            "ExternalId": "acme-gitops-2026",
        }
    ]
    assert keys == ["ASIAPREVIEWEXAMPLE"]


def test_a_preview_role_that_cannot_be_assumed_is_named_in_the_error(sts):
    """GIVEN the preview role refused (the member account has no MemberPreviewRole yet)
    WHEN a call is made THEN the error names the preview role, the one asked for, not the
    stack file's."""
    sts.refuse = True
    client = Accounts(PREVIEW).clients(STACK_FILE_ROLE, "0123456789abcdef")(
        "secretsmanager", "eu-west-1"
    )
    _signed_with(client)

    with pytest.raises(PermanentAwsError, match=f"cannot assume {PREVIEW_ROLE}:"):
        client.list_secrets()
