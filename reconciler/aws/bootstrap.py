"""What `reconciler bootstrap` asks of AWS: the code bucket (where it is, what it holds,
uploads), the caller's account, and the change sets of the bootstrap stack and of its
stacks in other regions. Observing a stack and reading its events go through the
CloudFormation adapter; this one adds only what installing needs.

The bootstrap stack is deployed with the caller's own credentials, never the managed
stacks' service role: it creates that role."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
import botocore.exceptions

from reconciler.aws import session
from reconciler.aws.cloudformation import ChangeSet, CloudFormation

# Creating the stack's IAM roles needs these acknowledgements (named: the roles have names).
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
NO_SUCH_BUCKET = ("NoSuchBucket", "404", "NotFound")


class BootstrapAws:
    def __init__(self, region: str, client_for: Callable[[str, str], Any] | None = None) -> None:
        self.region = region
        self._client_for = client_for or session.client
        self.cfn = CloudFormation(client_for=self._client_for)

    def _s3(self) -> Any:
        return self._client_for("s3", self.region)

    def _cloudformation(self, region: str | None = None) -> Any:
        return self._client_for("cloudformation", region or self.region)

    def caller_account(self) -> str:
        """The account of the credentials in use (GetCallerIdentity needs no permission)."""
        return self._client_for("sts", self.region).get_caller_identity()["Account"]

    # --- the code bucket ---------------------------------------------------------------

    def bucket_region(self, bucket: str) -> str | None:
        """The bucket's region, or None when there is no such bucket."""
        try:
            answer = self._s3().get_bucket_location(Bucket=bucket)
        except botocore.exceptions.ClientError as err:
            if session.error_code(err) in NO_SUCH_BUCKET:
                return None
            raise
        # us-east-1 answers no constraint; the oldest eu-west-1 buckets answer "EU".
        location = answer.get("LocationConstraint") or "us-east-1"
        return "eu-west-1" if location == "EU" else location

    def bucket_exists(self, bucket: str) -> bool:
        """Whether anyone has a bucket of that name: 403 is someone else's."""
        try:
            self._s3().head_bucket(Bucket=bucket)
        except botocore.exceptions.ClientError as err:
            if session.error_code(err) in NO_SUCH_BUCKET:
                return False
            if session.error_code(err) in ("403", "AccessDenied", "Forbidden"):
                return True
            raise
        return True

    def has_object(self, bucket: str, key: str) -> bool:
        try:
            self._s3().head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as err:
            if session.error_code(err) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def put_object(self, bucket: str, key: str, data: bytes) -> None:
        """S3 checks the bytes it stored against their sha256 (a torn upload fails)."""
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        self._s3().put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=digest,
        )

    # --- the bootstrap stack -----------------------------------------------------------

    def create_change_set(
        self,
        *,
        name: str,
        stack_name: str,
        template_url: str,
        parameters: dict[str, str | None],
        create: bool,
        region: str | None = None,
        wait_seconds: int = 300,
    ) -> ChangeSet:
        """Create the named change set (or pick up the one an interrupted run left under
        the same name) and wait for CloudFormation to compute it, in `region` (default: the
        home region). A parameter whose value is None keeps the stack's current value."""
        region = region or self.region
        cfn = self._cloudformation(region)
        try:
            cfn.create_change_set(
                StackName=stack_name,
                ChangeSetName=name,
                ChangeSetType="CREATE" if create else "UPDATE",
                TemplateURL=template_url,
                Parameters=[
                    {"ParameterKey": key, "UsePreviousValue": True}
                    if value is None
                    else {"ParameterKey": key, "ParameterValue": value}
                    for key, value in sorted(parameters.items())
                ],
                Capabilities=CAPABILITIES,
                Description="gitops-reconciler bootstrap",
            )
        except botocore.exceptions.ClientError as err:
            if session.error_code(err) != "AlreadyExistsException":
                raise
        delay = 2
        # On FAILED (an empty change set too) the waiter raises; the describe tells which.
        with contextlib.suppress(botocore.exceptions.WaiterError):
            cfn.get_waiter("change_set_create_complete").wait(
                ChangeSetName=name,
                StackName=stack_name,
                WaiterConfig={"Delay": delay, "MaxAttempts": max(1, wait_seconds // delay)},
            )
        return self.cfn.describe_change_set(name, stack_name, region)

    def execute_change_set(self, change_set: ChangeSet) -> None:
        # The change set's name is unique to its inputs: a retried execute is the same one.
        self.cfn.execute_change_set(change_set, token=change_set.name)

    def delete_change_set(self, change_set: ChangeSet) -> None:
        self.cfn.delete_change_set(change_set)


def template_url(bucket: str, key: str, region: str) -> str:
    """The path-style URL CloudFormation reads a template from (as `aws cloudformation
    deploy` builds it): it works for bucket names with dots, which virtual hosts do not."""
    return f"https://s3.{region}.amazonaws.com/{bucket}/{key}"


@cache
def known_regions() -> frozenset[str]:
    """The regions of every partition this botocore knows (no call is made)."""
    found = boto3.session.Session()
    return frozenset(
        region
        for partition in found.get_available_partitions()
        for region in found.get_available_regions("cloudformation", partition)
    )
