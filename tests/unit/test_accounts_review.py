"""A hostile review of accounts and regions (issue 18), without AWS: stack ids and role
ARNs that are not AWS's, session names from any revision, the credentials of an assumed
role told their token expired, a role in another partition than its stack, and what the
central roles may assume."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from reconciler.accounts import execution_role_arn, session_name
from reconciler.aws.accounts import FETCHED_AGAIN, _Assumed
from reconciler.desired import load_desired_state
from reconciler.identity import StackRef, is_stack_id
from reconciler.validation import validate
from tests.repo import STACK, make_repo

ROOT = Path(__file__).resolve().parents[2]
STACK_ID = "arn:aws:cloudformation:eu-west-1:222222222222:stack/app-good/0a1b2c3d-4e5f"
FULLWIDTH_TWO, ARABIC_INDIC_ONE = "\uff12", "\u0661"


# --- stack ids of events ------------------------------------------------------------------


@pytest.mark.parametrize(
    "stack_id",
    [
        pytest.param(STACK_ID.replace("222222222222", FULLWIDTH_TWO * 12), id="account"),
        pytest.param(STACK_ID.replace("eu-west-1", f"eu-west-{ARABIC_INDIC_ONE}"), id="region"),
    ],
)
def test_a_stack_id_with_digits_of_another_script_is_not_a_stack_id(stack_id):
    """GIVEN an event's stack id whose account or region has digits of another script
    (Python's \\d takes them; AWS never writes them) WHEN it is parsed THEN it is not a
    stack id: the event is refused as malformed, never compared as an account."""
    assert not is_stack_id(stack_id)
    with pytest.raises(ValueError, match="is not a stack id"):
        StackRef.parse(stack_id)


def test_a_stack_id_of_each_partition_is_taken_apart():
    """GIVEN stack ids of the aws-cn and aws-us-gov partitions WHEN parsed THEN account,
    region and partition are AWS's."""
    china = StackRef.parse(
        STACK_ID.replace("aws:", "aws-cn:", 1).replace("eu-west-1", "cn-north-1")
    )
    gov = StackRef.parse(
        STACK_ID.replace("aws:", "aws-us-gov:", 1).replace("eu-west-1", "us-gov-west-1")
    )
    assert (china.partition, china.region, china.account) == (
        "aws-cn", "cn-north-1", "222222222222",
    )  # fmt: skip
    assert (gov.partition, gov.region) == ("aws-us-gov", "us-gov-west-1")


# --- the assumed role's session -----------------------------------------------------------

SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)  # sts:AssumeRole's RoleSessionName


@pytest.mark.parametrize(
    "revision",
    [
        "",
        "local",
        "0123456789abcdef0123456789abcdef01234567",
        "0123456789abcdef0123456789abcdef01234567+dirty",
        "a" * 64 + "b" * 64,  # a SHA-256 repository's commit, and more
        "ré/vision:\n;rm -rf /",
        FULLWIDTH_TWO * 20,
    ],
)
def test_a_session_name_is_one_sts_takes_whatever_the_revision(revision):
    """GIVEN any revision (a CLI's local one, a dirty tree, hostile text) WHEN the
    session name is made THEN AssumeRole takes it: 2-64 of [\\w+=,.@-], ASCII."""
    name = session_name(revision)
    assert SESSION_NAME.fullmatch(name), name
    assert name.startswith("gitops-reconciler-")


def test_the_execution_role_of_a_role_with_a_path_is_in_its_account_without_the_path():
    """GIVEN role-arn arn:aws:iam::222222222222:role/team/deployer WHEN the member execution
    role is named THEN it is the one infra/member-account.yml makes: in that account and
    partition, at the root path."""
    assert execution_role_arn("arn:aws:iam::222222222222:role/team/deployer") == (
        "arn:aws:iam::222222222222:role/gitops-reconciler-member-execution"
    )
    assert execution_role_arn("arn:aws-cn:iam::222222222222:role/a/b/deployer") == (
        "arn:aws-cn:iam::222222222222:role/gitops-reconciler-member-execution"
    )


class _Expired:
    """botocore's needs-retry arguments for an answer with AWS's error `code`."""

    def __init__(self, code: str) -> None:
        self.response = (None, {"Error": {"Code": code, "Message": "m"}})
        self.request_dict = {"context": {}}


def fetched() -> dict[str, str]:
    fetched.count += 1
    return {
        "access_key": f"AKIA{fetched.count}",
        "secret_key": "s",
        "token": "t",
        "expiry_time": "2999-01-01T00:00:00+00:00",
    }


fetched.count = 0


@pytest.mark.parametrize("code", ["ExpiredToken", "ExpiredTokenException"])
def test_an_expired_token_answer_fetches_the_credentials_again_once_per_request(code):
    """GIVEN an assumed role's credentials, fetched WHEN AWS answers a request ExpiredToken
    THEN the request is retried at once (0) and the next signature fetches new credentials;
    the same request answered so again is left to botocore (no endless retry)."""
    credentials = _Assumed(refresh_using=fetched, method="sts-assume-role")
    first = credentials.get_frozen_credentials().access_key
    answer = _Expired(code)

    assert credentials.again_if_expired(answer.response, answer.request_dict) == 0
    assert credentials.get_frozen_credentials().access_key != first
    assert answer.request_dict["context"][FETCHED_AGAIN] is True
    assert credentials.again_if_expired(answer.response, answer.request_dict) is None


@pytest.mark.parametrize("code", ["AccessDenied", "Throttling", "ValidationError", ""])
def test_other_answers_leave_the_credentials_and_the_retry_to_botocore(code):
    credentials = _Assumed(refresh_using=fetched, method="sts-assume-role")
    first = credentials.get_frozen_credentials().access_key
    answer = _Expired(code)
    assert credentials.again_if_expired(answer.response, answer.request_dict) is None
    assert credentials.again_if_expired(None, answer.request_dict) is None  # an exception
    assert credentials.get_frozen_credentials().access_key == first


# --- a stack file's role and its region ---------------------------------------------------


@pytest.mark.parametrize(
    ("region", "role_arn"),
    [
        pytest.param("cn-north-1", "arn:aws:iam::222222222222:role/deployer", id="aws-role-china"),
        pytest.param(
            "us-east-1", "arn:aws-us-gov:iam::222222222222:role/deployer", id="govcloud-role-aws"
        ),
    ],
)
def test_a_role_arn_of_another_partition_than_the_stacks_region_is_an_error(
    tmp_path, region, role_arn
):
    """GIVEN a stack file whose role-arn is in another partition than its region (a role
    of the aws partition for a stack in cn-north-1) WHEN validated THEN it is an error at
    role-arn: credentials of one partition never act in another, so every call of the
    stack would fail at deploy time."""
    text = STACK.replace("region: us-east-1", f"region: {region}")
    text += f'account: "222222222222"\nrole-arn: {role_arn}\n'
    state = load_desired_state(make_repo(tmp_path, {"desired-state/app-dev.yml": text}))
    errors = [f for f in validate(state).findings if f.is_error]
    assert any("role-arn" in f.message and "partition" in f.message for f in errors), errors


# --- what the central roles may assume ----------------------------------------------------


def _bootstrap() -> dict:
    return cfn_yaml.load(str(ROOT / "infra" / "bootstrap.yml"))


def _statements(template: dict):
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


def _actions(statement) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def test_the_central_functions_may_assume_only_a_member_role_by_its_name():
    """GIVEN bootstrap.yml's identity policies WHEN every statement that allows an STS
    action is listed THEN each allows sts:AssumeRole only, of a role named by a Member*
    parameter (at the root path, any account) whose pattern takes no wildcard: a stack
    file naming another role (role-name: OrganizationAccountAccessRole) gets AccessDenied
    from IAM, whatever that role's trust says."""
    template = _bootstrap()
    found = [
        s
        for _, s in _statements(template)
        if any(a.lower().startswith("sts:") or a == "*" for a in _actions(s))
    ]
    assert found
    for statement in found:
        assert (statement["Effect"], _actions(statement)) == ("Allow", ["sts:AssumeRole"])
        resource = statement["Resource"]["Fn::Sub"]
        named = re.fullmatch(
            r"arn:\$\{AWS::Partition\}:iam::\*:role/\$\{(Member\w*RoleName)\}", resource
        )
        assert named, resource
        assert "*" not in template["Parameters"][named[1]]["AllowedPattern"]


def test_every_function_that_plans_a_member_stack_may_assume_its_role():
    """GIVEN the functions whose code plans the whole desired state, member stacks
    included (the four passes, the stack worker, and the pull request preview) WHEN
    their roles and environments are read THEN each may assume a member role (the passes
    MemberRoleName, the preview the preview-only MemberPreviewRoleName) and is given
    MEMBER_EXTERNAL_ID: a preview of a repository holding one member stack must not fail
    at AssumeRole."""
    template = _bootstrap()
    may_assume = {
        role
        for where, s in _statements(template)
        if "sts:AssumeRole" in _actions(s)
        for role in _roles_of(template, where)
    }
    functions = {
        k: v["Properties"]
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::Lambda::Function"
    }
    planning = ["PushFunction", "StackStatusFunction", "DriftFunction", "ScheduleFunction"]
    planning += ["StackWorkerFunction", "PreviewFunction"]
    missing = {
        name: [
            what
            for what, ok in (
                ("sts:AssumeRole", functions[name]["Role"]["Fn::GetAtt"][0] in may_assume),
                ("MEMBER_EXTERNAL_ID", "MEMBER_EXTERNAL_ID" in _environment(functions[name])),
            )
            if not ok
        ]
        for name in planning
    }
    assert {k: v for k, v in missing.items() if v} == {}


def _roles_of(template: dict, logical_id: str) -> list[str]:
    """The roles a statement of `logical_id` (a role, or a policy) applies to."""
    resources = template["Resources"]
    if resources[logical_id]["Type"] == "AWS::IAM::Role":
        return [logical_id]
    named = [r["Ref"] for r in resources[logical_id]["Properties"].get("Roles", []) if "Ref" in r]
    attached = [
        k
        for k, v in resources.items()
        if v["Type"] == "AWS::IAM::Role"
        and {"Ref": logical_id} in v["Properties"].get("ManagedPolicyArns", [])
    ]
    return named + attached


def _environment(function: dict) -> dict:
    return function.get("Environment", {}).get("Variables", {})


def test_the_organisations_accounts_may_put_only_cloudformation_events_on_the_central_bus():
    """GIVEN bootstrap's OrganizationBusPolicy (every principal of every account of the
    organisation may PutEvents on the home region's default bus) WHEN its condition is
    read THEN it admits only what infra/member-account.yml forwards: source
    aws.cloudformation, the stack status and drift detail types. The push and preview
    rules match "Git Push" and "Git Pull Request" of any source on that bus, so without
    it anyone in any member account can start passes and previews at will."""
    policy = _bootstrap()["Resources"]["OrganizationBusPolicy"]["Properties"]["Statement"]
    condition = {
        key: value
        for test in policy["Condition"].values()
        for key, value in test.items()
        if key.startswith("events:")
    }
    assert condition == {
        "events:source": "aws.cloudformation",
        "events:detail-type": [
            "CloudFormation Stack Status Change",
            "CloudFormation Drift Detection Status Change",
        ],
    }
