"""Fixtures shared by every test layer: the embedded local AWS (`localaws`) on a loopback port.

moto and boto3 are imported inside the fixtures, so tests that use no AWS do not pay for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from localaws.server import LocalAws

REGION = "us-east-1"


@pytest.fixture(scope="session", autouse=True)
def validation_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Every test's validation cache (reconciler/cache.py) in one folder of this run, not
    in the user's cache directory; subprocesses inherit it."""
    import os

    folder = str(tmp_path_factory.mktemp("validation-cache"))
    saved = os.environ.get("RECONCILER_CACHE_DIR")
    os.environ["RECONCILER_CACHE_DIR"] = folder
    yield folder
    if saved is None:
        os.environ.pop("RECONCILER_CACHE_DIR", None)
    else:
        os.environ["RECONCILER_CACHE_DIR"] = saved


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    """One local AWS server per test module. Its state is shared by the module's tests:
    give resources unique names, or ask for `fresh_local_aws`."""
    from localaws.server import LocalAws

    with LocalAws() as aws:
        yield aws


@pytest.fixture
def fresh_local_aws(local_aws: LocalAws) -> LocalAws:
    """The module's local AWS, emptied before the test."""
    local_aws.reset()
    return local_aws


@pytest.fixture(scope="module")
def local_aws_client(local_aws: LocalAws) -> Callable[[str], Any]:
    """boto3 clients for the module's local AWS, one per service, without retries."""
    import boto3
    from botocore.config import Config

    # Unimplemented moto calls come back as HTML 500s; retrying them only slows a failure.
    no_retries = Config(retries={"max_attempts": 1, "mode": "standard"})
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = boto3.client(
                service,
                endpoint_url=local_aws.endpoint_url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                aws_session_token="testing",
                config=no_retries,
            )
        return clients[service]

    return client
