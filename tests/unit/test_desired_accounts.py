"""The stack file keys that place a stack in another account (issue 18): `account:`,
`role-name:` and `role-arn:`. A good file resolves to the account and the role ARN the
reconciler assumes; a bad one is a finding naming the file and the key's line, never an
exception and never a silently different account."""

from __future__ import annotations

import pytest

from reconciler.desired import load_desired_state
from reconciler.validation import validate
from tests.repo import STACK, make_repo

FULLWIDTH = "\uff12" * 12  # twelve FULLWIDTH DIGIT TWO: \d matches them
FILE = "desired-state/app-dev.yml"
FIRST_EXTRA_LINE = STACK.count("\n") + 1  # the line the first added key is on


def loaded(tmp_path, extra: str, stack: str = STACK):
    state = load_desired_state(make_repo(tmp_path, {FILE: stack + extra}))
    return state, [f for f in validate(state).findings if f.is_error]


# --- stack files that place a stack ------------------------------------------------------

RESOLVED = [
    pytest.param(
        "",
        ("", "", ""),
        id="no-account-the-home-account",
    ),
    pytest.param(
        'account: "222222222222"\n',
        ("222222222222", "", "arn:aws:iam::222222222222:role/gitops-reconciler-member"),
        id="quoted-account-default-role",
    ),
    pytest.param(
        "account: 222222222222\n",
        ("222222222222", "", "arn:aws:iam::222222222222:role/gitops-reconciler-member"),
        id="unquoted-account",
    ),
    pytest.param(
        "account: 012345678901\n",  # not octal (8 and 9): YAML reads it as a string
        ("012345678901", "", "arn:aws:iam::012345678901:role/gitops-reconciler-member"),
        id="unquoted-leading-zero",
    ),
    pytest.param(
        'account: "012345670123"\n',
        ("012345670123", "", "arn:aws:iam::012345670123:role/gitops-reconciler-member"),
        id="quoted-octal-looking",
    ),
    pytest.param(
        'account: "222222222222"\nrole-name: payments-deployer\n',
        ("222222222222", "payments-deployer", "arn:aws:iam::222222222222:role/payments-deployer"),
        id="role-name",
    ),
    pytest.param(
        "role-arn: arn:aws:iam::333333333333:role/teams/deployer\n",
        ("333333333333", "", "arn:aws:iam::333333333333:role/teams/deployer"),
        id="role-arn-alone-sets-the-account",
    ),
    pytest.param(
        'account: "333333333333"\nrole-arn: arn:aws:iam::333333333333:role/deployer\n',
        ("333333333333", "", "arn:aws:iam::333333333333:role/deployer"),
        id="role-arn-of-the-account",
    ),
]


@pytest.mark.parametrize(("extra", "expected"), RESOLVED)
def test_a_stack_file_resolves_its_account_and_role(tmp_path, extra, expected):
    state, errors = loaded(tmp_path, extra)
    assert errors == []
    (spec,) = state.stacks
    assert (spec.account, spec.role_name, spec.role_arn) == expected


def test_the_default_role_of_a_china_region_is_in_the_china_partition(tmp_path):
    stack = STACK.replace("region: us-east-1", "region: cn-north-1")
    state, errors = loaded(tmp_path, 'account: "222222222222"\n', stack)
    assert errors == []
    assert state.stacks[0].role_arn == "arn:aws-cn:iam::222222222222:role/gitops-reconciler-member"


def test_the_default_role_of_a_govcloud_region_is_in_the_govcloud_partition(tmp_path):
    stack = STACK.replace("region: us-east-1", "region: us-gov-west-1")
    state, errors = loaded(tmp_path, 'account: "222222222222"\nrole-name: deployer\n', stack)
    assert errors == []
    assert state.stacks[0].role_arn == "arn:aws-us-gov:iam::222222222222:role/deployer"


def test_the_keys_lines_are_kept_for_later_findings(tmp_path):
    state, _ = loaded(tmp_path, 'account: "222222222222"\nrole-name: deployer\n')
    spec = state.stacks[0]
    assert (spec.line("account"), spec.line("role-name")) == (
        FIRST_EXTRA_LINE, FIRST_EXTRA_LINE + 1,
    )  # fmt: skip


# --- stack files refused ------------------------------------------------------------------

REFUSED = [
    pytest.param(
        "account: 012345670123\n",  # YAML 1.1 reads it as the octal number 1402433619
        0,
        'account: must be a 12-digit AWS account id in quotes ("012345678901")',
        id="unquoted-octal-looking",
    ),
    pytest.param('account: "12345"\n', 0, "account: must be a 12-digit AWS account id", id="short"),
    pytest.param("account: 12345\n", 0, "account: must be a 12-digit AWS account id", id="number"),
    pytest.param(
        'account: "2222222222222"\n', 0, "must be a 12-digit AWS account id", id="thirteen-digits"
    ),
    pytest.param(
        'account: "2222-2222-2222"\n', 0, "must be a 12-digit AWS account id", id="dashes"
    ),
    pytest.param("account: true\n", 0, "must be a 12-digit AWS account id", id="boolean"),
    pytest.param("account:\n", 0, "must be a 12-digit AWS account id", id="empty"),
    pytest.param("account: [222222222222]\n", 0, "must be a 12-digit AWS account id", id="a-list"),
    pytest.param(
        'account: "' + FULLWIDTH + '"\n',  # fullwidth digits: not an account id
        0,
        "must be a 12-digit AWS account id",
        id="fullwidth-digits",
    ),
    pytest.param(
        "role-name: deployer\n",
        0,
        "role-name: has no effect without `account:`",
        id="role-name-without-account",
    ),
    pytest.param(
        'account: "222222222222"\nrole-arn: arn:aws:iam::333333333333:role/deployer\n',
        1,
        "role-arn: is a role of account 333333333333, not of account 222222222222",
        id="role-arn-of-another-account",
    ),
    pytest.param(
        'account: "222222222222"\nrole-name: a\nrole-arn: arn:aws:iam::222222222222:role/b\n',
        2,
        "role-arn: give role-name or role-arn, not both",
        id="role-name-and-role-arn",
    ),
    pytest.param(
        'account: "222222222222"\nrole-name: "teams/deployer"\n',
        1,
        "role-name: 'teams/deployer' is not an IAM role name",
        id="role-name-with-a-path",
    ),
    pytest.param(
        'account: "222222222222"\nrole-name: "' + "r" * 65 + '"\n',
        1,
        "is not an IAM role name",
        id="role-name-too-long",
    ),
    pytest.param(
        'account: "222222222222"\nrole-name: "rôle"\n',
        1,
        "is not an IAM role name",
        id="role-name-not-ascii",
    ),
    pytest.param(
        "role-arn: arn:aws:iam::2222:role/deployer\n",
        0,
        "role-arn: must be an IAM role ARN",
        id="role-arn-short-account",
    ),
    pytest.param(
        "role-arn: arn:aws:iam::222222222222:user/deployer\n",
        0,
        "role-arn: must be an IAM role ARN",
        id="role-arn-of-a-user",
    ),
    pytest.param(
        "role-arn: arn:aws:sts::222222222222:assumed-role/deployer/s\n",
        0,
        "role-arn: must be an IAM role ARN",
        id="role-arn-of-a-session",
    ),
    pytest.param("role-arn: 42\n", 0, "role-arn: must be an IAM role ARN", id="role-arn-a-number"),
]


@pytest.mark.parametrize(("extra", "offset", "said"), REFUSED)
def test_a_bad_account_or_role_is_a_finding_at_its_file_and_line(tmp_path, extra, offset, said):
    """GIVEN a stack file with the bad key `offset` lines after the file's last key WHEN
    it is loaded THEN one DS003 error names the file, that line and what is wrong; the
    stack is not placed anywhere."""
    state, errors = loaded(tmp_path, extra)
    assert state.stacks == ()
    (finding,) = errors
    assert (finding.path, finding.line, finding.rule) == (FILE, FIRST_EXTRA_LINE + offset, "DS003")
    assert said in finding.message


def test_a_stack_name_used_in_two_accounts_is_refused(tmp_path):
    """The status table and the work queue's message groups are keyed by stack name:
    one name in two accounts would share both."""
    other = STACK + 'account: "222222222222"\n'
    files = {FILE: STACK, "desired-state/app-dev-member.yml": other}
    state = load_desired_state(make_repo(tmp_path, files))
    rules = {f.rule for f in validate(state).findings if f.is_error}
    assert "DS005" in rules
