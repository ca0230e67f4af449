"""Where a stack lives: its account (and the role the reconciler assumes there) and its
region. Pure: names and ARNs only; reconciler/aws/accounts.py makes the sessions.

A stack file without `account:` lives in the reconciler's own account (its *home*
account), reached with the reconciler's own credentials. With `account:`, the reconciler
assumes a role in that account (`role-name:`, `role-arn:`, or the role
infra/member-account.yml creates) with an external id and a session name carrying the
commit, so the account's CloudTrail says which commit made each call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ACCOUNT = re.compile(r"[0-9]{12}")  # ASCII digits: \d takes any script's
# IAM's rules: a role name is 1-64 of [\w+=,.@-]; a path is / or /.../ of printable ASCII.
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):"
    r"role/(?:[\x21-\x7e]*/)?(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)
MEMBER_ROLE = "gitops-reconciler-member"  # what infra/member-account.yml creates
MEMBER_EXECUTION_ROLE = "gitops-reconciler-member-execution"
SESSION_PREFIX = "gitops-reconciler-"


def partition(region: str) -> str:
    """The partition a region belongs to (arn:<partition>:...)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def role_arn(account: str, region: str, role_name: str) -> str:
    return f"arn:{partition(region)}:iam::{account}:role/{role_name}"


def execution_role_arn(assumed_role_arn: str, name: str = MEMBER_EXECUTION_ROLE) -> str:
    """The CloudFormation service role in the account of `assumed_role_arn`."""
    match = ROLE_ARN.fullmatch(assumed_role_arn)
    if match is None:
        return ""
    return f"arn:{match['partition']}:iam::{match['account']}:role/{name}"


def session_name(revision: str) -> str:
    """sts:AssumeRole's RoleSessionName (2-64 of [\\w+=,.@-]): the commit, shortened."""
    commit = re.sub(r"[^0-9A-Za-z]", "", revision.split("+", 1)[0])[:12]
    return SESSION_PREFIX + (commit or "no-commit")


@dataclass(frozen=True, order=True)
class Place:
    """One account and region a pass reads: `account` "" is the home account (no role
    assumed), else the 12-digit account reached through `role_arn`."""

    account: str
    region: str
    role_arn: str = ""

    def __str__(self) -> str:
        return f"{self.account or 'home account'}/{self.region}"


__all__ = [
    "ACCOUNT",
    "MEMBER_EXECUTION_ROLE",
    "MEMBER_ROLE",
    "ROLE_ARN",
    "ROLE_NAME",
    "Place",
    "execution_role_arn",
    "partition",
    "role_arn",
    "session_name",
]
