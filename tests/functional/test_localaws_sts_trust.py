"""sts:AssumeRole on the local AWS server checks the role's trust policy, as AWS does
(`localaws.sts_trust`): the role must exist, its trust policy must name the caller, and its
conditions (ExternalId, PrincipalArn) must hold; otherwise AccessDenied."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws.accounts import in_account
from localaws.server import LocalAws
from localaws.sts_trust import Caller, Request, allows
from tests.functional.localaws_helpers import refused

CENTRAL, MEMBER = "123456789012", "222222222222"
MOTO_CALLER = f"arn:aws:sts::{CENTRAL}:user/moto"  # who the `testing` keys are
EXTERNAL_ID = "gitops-7f3a"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})
TESTING = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

Client = Callable[..., Any]


@pytest.fixture(scope="module")
def client(local_aws: LocalAws) -> Client:
    def make(service: str, credentials: dict | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=local_aws.endpoint_url,
            region_name="us-east-1",
            config=NO_RETRIES,
            **(credentials or TESTING),
        )

    return make


def _trusting(client: Client, account: str, *statements: dict[str, Any], **role: Any) -> str:
    """A new role in `account` with these trust policy statements; returns its ARN."""
    iam = in_account(client("iam"), account)
    policy = {"Version": "2012-10-17", "Statement": list(statements)}
    created = iam.create_role(
        RoleName=f"role-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(policy), **role
    )
    return created["Role"]["Arn"]


def _allow(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return statement | ({"Condition": condition} if condition else {})


EXTERNAL_ID_REQUIRED = {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}


def _assume(client: Client, role_arn: str, credentials: dict | None = None, **params: Any) -> dict:
    return client("sts", credentials).assume_role(
        RoleArn=role_arn, RoleSessionName="gitops-abc", **params
    )


def _credentials(answer: dict[str, Any]) -> dict[str, str]:
    return {
        "aws_access_key_id": answer["Credentials"]["AccessKeyId"],
        "aws_secret_access_key": answer["Credentials"]["SecretAccessKey"],
        "aws_session_token": answer["Credentials"]["SessionToken"],
    }


# --- allowed ----------------------------------------------------------------------------------


def test_a_role_trusting_the_caller_account_with_its_external_id_is_assumed(client: Client) -> None:
    """GIVEN a role in 222222222222 trusting account 123456789012 with an external id
    WHEN the central account assumes it with that external id
    THEN it gets credentials acting in 222222222222"""
    role = _trusting(
        client, MEMBER, _allow({"AWS": f"arn:aws:iam::{CENTRAL}:root"}, EXTERNAL_ID_REQUIRED)
    )

    answer = _assume(client, role, ExternalId=EXTERNAL_ID)

    identity = client("sts", _credentials(answer)).get_caller_identity()
    assert identity["Account"] == MEMBER
    assert identity["Arn"].endswith("/gitops-abc")


def test_a_role_trusting_one_role_admits_that_role_sessions_by_principal_arn(
    client: Client,
) -> None:
    """GIVEN a central role R, and a member role trusting account 123456789012 only when
    aws:PrincipalArn is like R's ARN
    WHEN a session of R assumes the member role
    THEN it is allowed"""
    central = _trusting(client, CENTRAL, _allow({"AWS": CENTRAL}))
    member = _trusting(
        client,
        MEMBER,
        _allow(
            {"AWS": CENTRAL}, {"ArnLike": {"aws:PrincipalArn": central.replace("role/", "role/*")}}
        ),
    )
    session = _credentials(_assume(client, central))

    answer = _assume(client, member, session)

    assert answer["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{MEMBER}:assumed-role/")


def test_a_role_naming_a_role_as_principal_admits_its_sessions(client: Client) -> None:
    """GIVEN a member role whose trust policy names a central role's ARN as principal
    WHEN a session of that central role assumes it
    THEN it is allowed"""
    central = _trusting(client, CENTRAL, _allow({"AWS": CENTRAL}))
    member = _trusting(client, MEMBER, _allow({"AWS": central}))

    answer = _assume(client, member, _credentials(_assume(client, central)))

    assert answer["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{MEMBER}:assumed-role/")


# --- refused ----------------------------------------------------------------------------------


def test_a_role_that_does_not_exist_is_access_denied(client: Client) -> None:
    """GIVEN no role X in 222222222222
    WHEN the central account assumes arn:aws:iam::222222222222:role/X
    THEN it is refused with 403 AccessDenied naming the caller and the role"""
    role = f"arn:aws:iam::{MEMBER}:role/X"

    refusal = refused(lambda: _assume(client, role))

    assert refusal == (
        403,
        "AccessDenied",
        f"User: {MOTO_CALLER} is not authorized to perform: sts:AssumeRole on resource: {role}",
    )


@pytest.mark.parametrize(
    "external_id",
    [pytest.param({"ExternalId": "not-it"}, id="another external id"), pytest.param({}, id="none")],
)
def test_a_role_requiring_an_external_id_refuses_another_or_none(
    client: Client, external_id: dict[str, str]
) -> None:
    """GIVEN a member role trusting the central account with an external id
    WHEN it is assumed with another external id, or none
    THEN it is refused with AccessDenied"""
    role = _trusting(
        client, MEMBER, _allow({"AWS": f"arn:aws:iam::{CENTRAL}:root"}, EXTERNAL_ID_REQUIRED)
    )

    status, code, _ = refused(lambda: _assume(client, role, **external_id))

    assert (status, code) == (403, "AccessDenied")


def test_a_role_trusting_another_account_refuses_the_caller(client: Client) -> None:
    """GIVEN a member role trusting only account 333333333333
    WHEN the central account assumes it
    THEN it is refused with AccessDenied"""
    role = _trusting(client, MEMBER, _allow({"AWS": "arn:aws:iam::333333333333:root"}))

    status, code, _ = refused(lambda: _assume(client, role))

    assert (status, code) == (403, "AccessDenied")


def test_a_principal_arn_condition_refuses_a_session_of_another_role(client: Client) -> None:
    """GIVEN a member role trusting the central account only for roles named gitops-*
    WHEN a session of a central role named otherwise assumes it
    THEN it is refused with AccessDenied naming the session"""
    central = _trusting(client, CENTRAL, _allow({"AWS": CENTRAL}))
    member = _trusting(
        client,
        MEMBER,
        _allow(
            {"AWS": CENTRAL},
            {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{CENTRAL}:role/gitops-*"}},
        ),
    )
    session = _credentials(_assume(client, central))

    status, code, message = refused(lambda: _assume(client, member, session))

    assert (status, code) == (403, "AccessDenied")
    assert message.startswith(f"User: arn:aws:sts::{CENTRAL}:assumed-role/")


def test_a_service_principal_is_not_the_caller(client: Client) -> None:
    """GIVEN a role trusting lambda.amazonaws.com only (a function's execution role)
    WHEN the central account's keys assume it
    THEN it is refused: no request to the local AWS comes from a service"""
    role = _trusting(client, CENTRAL, _allow({"Service": "lambda.amazonaws.com"}))

    status, code, _ = refused(lambda: _assume(client, role))

    assert (status, code) == (403, "AccessDenied")


def test_an_explicit_deny_wins_over_an_allow(client: Client) -> None:
    """GIVEN a role allowing the central account and denying it too
    WHEN it is assumed
    THEN it is refused with AccessDenied"""
    deny = {"Effect": "Deny", "Principal": {"AWS": CENTRAL}, "Action": "sts:*"}
    role = _trusting(client, MEMBER, _allow({"AWS": CENTRAL}), deny)

    status, code, _ = refused(lambda: _assume(client, role))

    assert (status, code) == (403, "AccessDenied")


def test_a_duration_above_the_role_maximum_is_a_validation_error(client: Client) -> None:
    """GIVEN a role trusting the caller, with MaxSessionDuration 3600
    WHEN it is assumed for 7200 seconds
    THEN it is refused with ValidationError"""
    role = _trusting(client, MEMBER, _allow({"AWS": CENTRAL}), MaxSessionDuration=3600)

    status, code, message = refused(lambda: _assume(client, role, DurationSeconds=7200))

    assert (status, code) == (400, "ValidationError")
    assert "exceeds the MaxSessionDuration" in message


# --- the policy evaluation, as a table --------------------------------------------------------

CALLER = Caller(arn=MOTO_CALLER, account=CENTRAL, principal_arn=MOTO_CALLER)
SESSION = Caller(
    arn=f"arn:aws:sts::{CENTRAL}:assumed-role/gitops-push/s",
    account=CENTRAL,
    principal_arn=f"arn:aws:iam::{CENTRAL}:role/gitops-push",
)


def _request(external_id: str | None = None) -> Request:
    return Request(
        role_arn=f"arn:aws:iam::{MEMBER}:role/r",
        session_name="gitops-abc",
        external_id=external_id,
        source_identity=None,
        region="us-east-1",
    )


@pytest.mark.parametrize(
    ("statement", "caller", "external_id", "allowed"),
    [
        (_allow("*"), CALLER, None, True),
        (_allow({"AWS": "*"}), CALLER, None, True),
        (_allow({"AWS": [MEMBER, CENTRAL]}), CALLER, None, True),
        (_allow({"AWS": MOTO_CALLER}), CALLER, None, True),
        (_allow({"AWS": SESSION.principal_arn}), CALLER, None, False),
        (_allow({"AWS": SESSION.principal_arn}), SESSION, None, True),
        (_allow({"AWS": SESSION.arn}), SESSION, None, True),
        (
            _allow("*", {"StringEquals": {"sts:ExternalId": ["a", EXTERNAL_ID]}}),
            CALLER,
            EXTERNAL_ID,
            True,
        ),
        (_allow("*", {"StringEquals": {"STS:EXTERNALID": EXTERNAL_ID}}), CALLER, EXTERNAL_ID, True),
        (_allow("*", {"StringLike": {"sts:ExternalId": "gitops-*"}}), CALLER, EXTERNAL_ID, True),
        (_allow("*", {"StringNotEquals": {"sts:ExternalId": "x"}}), CALLER, None, True),
        (_allow("*", {"StringEqualsIfExists": {"sts:ExternalId": "x"}}), CALLER, None, True),
        (_allow("*", {"StringEqualsIfExists": {"sts:ExternalId": "x"}}), CALLER, "y", False),
        (_allow("*", {"Null": {"sts:ExternalId": "false"}}), CALLER, None, False),
        (_allow("*", {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}), CALLER, None, False),
        (_allow("*", {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}), CALLER, None, False),
        (
            _allow("*", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/gitops-*"}}),
            SESSION,
            None,
            True,
        ),
        (
            _allow("*", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/gitops-*"}}),
            CALLER,
            None,
            False,
        ),
        (_allow("*", {"StringEquals": {"aws:PrincipalAccount": CENTRAL}}), SESSION, None, True),
        (
            {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRoleWithSAML"},
            CALLER,
            None,
            False,
        ),
        ({"Effect": "Allow", "Principal": "*", "Action": ["sts:*"]}, CALLER, None, True),
        ({"Effect": "Allow", "Action": "sts:AssumeRole"}, CALLER, None, False),
    ],
)
def test_a_trust_policy_statement_allows_as_iam_reads_it(
    statement: dict[str, Any], caller: Caller, external_id: str | None, allowed: bool
) -> None:
    """GIVEN a trust policy of one statement
    WHEN a caller's AssumeRole is judged by it
    THEN it is allowed exactly when IAM would allow it (an unknown operator or key never does)"""
    policy = {"Version": "2012-10-17", "Statement": [statement]}

    assert allows(policy, caller, _request(external_id)) is allowed
