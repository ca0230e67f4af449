"""Engine versions from AWS, or from cfn-lint's data when AWS cannot be asked."""

from __future__ import annotations

import pytest

from reconciler.aws.catalog import AwsCatalog


def test_without_credentials_the_catalog_falls_back_and_says_why(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    catalog = AwsCatalog()
    found = catalog.db_engine_version("us-east-1", "mysql", "8.4.8")
    assert found is not None and found.status == "available"
    assert catalog.offline
    assert catalog.source.startswith("cfn-lint's shipped engine data")
    assert "AWS could not be asked: NoCredentialsError" in catalog.source


@pytest.mark.parametrize(
    ("version", "expected"), [("8.4.8", "available"), ("8.0.35", None), ("8.0.36", "deprecated")]
)
def test_local_aws_answers_engine_versions_per_region(local_aws, monkeypatch, version, expected):
    """The local AWS's catalog (localaws.engine_catalog) stands in for the region's list."""
    for key, value in local_aws.env().items():
        monkeypatch.setenv(key, value)
    from reconciler.aws import session

    session.reset_clients()
    catalog = AwsCatalog()
    found = catalog.db_engine_version("us-east-1", "mysql", version)
    assert (found.status if found else None) == expected
    assert not catalog.offline
    session.reset_clients()
