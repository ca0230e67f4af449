"""Who is calling: the caller's ARN from STS GetCallerIdentity, which needs no
permission (AWS: "No permissions are required to perform this operation"). Change
control records it as the approver, rejecter or suspender; it is never taken from an
argument a person could type."""

from __future__ import annotations

from reconciler.aws import session


def caller_arn() -> str:
    with session.aws_errors():
        return session.client("sts").get_caller_identity()["Arn"]
