"""Expired credentials are transient: the next attempt fetches new ones."""

from __future__ import annotations

import botocore.exceptions
import pytest

from reconciler.aws.session import is_transient, translated
from reconciler.errors import PermanentAwsError


@pytest.mark.parametrize("code", ["ExpiredToken", "ExpiredTokenException", "RequestExpired"])
def test_expired_credentials_are_retried_not_recorded_failed(code):
    err = botocore.exceptions.ClientError(
        {
            "Error": {
                "Code": code,
                "Message": "The security token included in the request is expired",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "DescribeStacks",
    )
    assert is_transient(err)
    assert not isinstance(translated(err), PermanentAwsError)


def test_access_denied_stays_permanent():
    err = botocore.exceptions.ClientError(
        {
            "Error": {"Code": "AccessDenied", "Message": "no"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        },
        "AssumeRole",
    )
    assert isinstance(translated(err), PermanentAwsError)
