"""Several AWS accounts on one local AWS.

AWS behaviour: every account holds its own resources; a principal reaches another account
by assuming a role there (sts:AssumeRole, allowed by the role's trust policy), and the
temporary credentials act in the role's account. An account that AWS Organizations creates
comes with the role `OrganizationAccountAccessRole`, which trusts the management account
and has AdministratorAccess: the way in for deploying the account's first stacks
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html).
The AWS services themselves act in an account without assuming anything: CloudFormation
puts a stack's status events on the default bus of the stack's own account and region.

moto keeps each account's resources apart (in every service and region) and acts in the
account of the key that signed the request: an IAM user's account, a role session's (so
AssumeRole's credentials act in the role's account), else 123456789012. The request header
`x-moto-account-id` overrides the key.

Here, on the client side (no moto import):

- `in_account(client, account)` makes a boto3 client act in `account` through that header,
  as an AWS service acting there does: no principal, no trust policy involved. The
  harness's event emitters use it to stand in for CloudFormation in a member account.
- `create_account_access_role(endpoint_url, account)` creates the role Organizations leaves
  in a new account, trusting the management account: assume it (with the management
  account's credentials) to deploy the member account's stacks, as a StackSet or an
  administrator would.
"""

from __future__ import annotations

import json
from typing import Any

ACCOUNT_HEADER = "x-moto-account-id"
DEFAULT_ACCOUNT = "123456789012"  # moto's, for a key it does not know (the `testing` keys)
ACCESS_ROLE = "OrganizationAccountAccessRole"


def in_account(client: Any, account: str) -> Any:
    """`client`, changed to act in `account` for every call it makes; returns it."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers[ACCOUNT_HEADER] = account

    client.meta.events.register("before-sign.*.*", add_header)
    return client


def create_account_access_role(
    endpoint_url: str,
    account: str,
    management_account: str = DEFAULT_ACCOUNT,
    role_name: str = ACCESS_ROLE,
) -> str:
    """The role AWS Organizations creates in a new member account `account` of the local AWS
    at `endpoint_url`, trusting `management_account`. Returns its ARN; an existing role is
    kept."""
    import boto3

    iam = in_account(
        boto3.client(
            "iam",
            endpoint_url=endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ),
        account,
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{management_account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    try:
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=role_name)["Role"]["Arn"]
    # AdministratorAccess's document, inline: moto loads no AWS managed policies by default.
    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_role_policy(
        RoleName=role_name, PolicyName="AdministratorAccess", PolicyDocument=json.dumps(everything)
    )
    return role["Role"]["Arn"]
