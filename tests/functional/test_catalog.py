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


def test_a_secret_named_outside_the_template_must_exist_in_the_account(
    local_aws, monkeypatch, tmp_path
):
    """GIVEN a template reading a secret by name WHEN validated online THEN a missing
    secret is an error (DYN003); once created, the finding is gone."""
    import boto3

    from reconciler.desired import load_desired_state
    from reconciler.validation import validate
    from tests.repo import TEMPLATE, make_repo

    for key, value in local_aws.env().items():
        monkeypatch.setenv(key, value)
    from reconciler.aws import session

    session.reset_clients()
    template = TEMPLATE.replace(
        "      Value: !Ref Greeting\n",
        "      Value: '{{resolve:secretsmanager:shared/greeting:SecretString:word}}'\n",
    )
    root = make_repo(tmp_path, {"templates/app.yml": template})
    report = validate(load_desired_state(root), AwsCatalog())
    (missing,) = [f for f in report.findings if f.rule == "DYN003"]
    assert (missing.path, missing.line) == ("templates/app.yml", 14)
    assert "names secret 'shared/greeting', which does not exist in us-east-1" in missing.message
    boto3.client(
        "secretsmanager", endpoint_url=local_aws.endpoint_url, region_name="us-east-1"
    ).create_secret(Name="shared/greeting", SecretString='{"word": "hello"}')
    after = validate(load_desired_state(root), AwsCatalog()).findings
    assert [f for f in after if f.rule == "DYN003"] == []
    session.reset_clients()
