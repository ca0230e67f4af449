"""The CloudFormation execution role's policies, read with IAM (GetRole for its
permissions boundary, ListRolePolicies + GetRolePolicy, ListAttachedRolePolicies +
GetPolicy + GetPolicyVersion), for IAM001. Whatever stops the reading (no credentials,
AccessDenied, no such role) is not an error: the rule is skipped and `unreadable` says
why. Read once per instance."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import botocore.exceptions

from reconciler.aws import session
from reconciler.permissions import Permissions, from_documents
from reconciler.validation.context import ExecutionRole, NoRole

UNREADABLE = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


class IamRole:
    def __init__(self, arn: str, client: Any = None) -> None:
        self.arn = arn
        self.unreadable = ""
        self._client = client
        self._read: tuple[Permissions | None] | None = None

    def permissions(self) -> Permissions | None:
        if self._read is None:
            self._read = (self._permissions(),)
        return self._read[0]

    def _permissions(self) -> Permissions | None:
        try:
            iam = self._client or session.client("iam")
            name = self.arn.rsplit("/", 1)[-1]
            role = iam.get_role(RoleName=name)["Role"]
            documents = [*_inline(iam, name), *_attached(iam, name)]
            boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            boundary = _managed(iam, boundary_arn) if boundary_arn else None
        except UNREADABLE as err:
            code = session.error_code(err) or type(err).__name__
            self.unreadable = f"the policies of {self.arn} could not be read ({code})"
            return None
        return from_documents(documents, boundary)


def _inline(iam: Any, name: str) -> list[Any]:
    names = [
        n
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
        for n in page["PolicyNames"]
    ]
    return [
        _document(iam.get_role_policy(RoleName=name, PolicyName=n)["PolicyDocument"]) for n in names
    ]


def _attached(iam: Any, name: str) -> list[Any]:
    pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
    return [_managed(iam, p["PolicyArn"]) for page in pages for p in page["AttachedPolicies"]]


def _managed(iam: Any, arn: str) -> Any:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    found = iam.get_policy_version(PolicyArn=arn, VersionId=version)
    return _document(found["PolicyVersion"]["Document"])


def _document(raw: Any) -> Any:
    """boto3 decodes documents; a raw client (or an older botocore) gives the
    URL-encoded JSON IAM sends."""
    return json.loads(unquote(raw)) if isinstance(raw, str) else raw


def role_from_env(env: Mapping[str, str], offline: bool = False) -> ExecutionRole:
    """The role IAM001 reads: CLOUDFORMATION_ROLE_ARN, unless offline or unset."""
    if offline:
        return NoRole("--offline")
    arn = env.get("CLOUDFORMATION_ROLE_ARN", "")
    if not arn:
        return NoRole("CLOUDFORMATION_ROLE_ARN is not set")
    return IamRole(arn)
