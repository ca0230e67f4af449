"""Adapters run against moto in-process: fake credentials, nothing from the developer's
AWS configuration (profile, endpoint, region), fresh cached clients for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from reconciler.aws import session


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("AWS_", "RECONCILER_")) and name != "RECONCILER_CACHE_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    session.reset_clients()
    yield
    session.reset_clients()


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's in-process AWS, empty at the start of each test."""
    with mock_aws():
        yield
