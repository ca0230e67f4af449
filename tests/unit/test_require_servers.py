"""A missing test server skips its tests, unless REQUIRE_SERVERS=1 (CI) fails them."""

from __future__ import annotations

import pytest

from tests.servers import unavailable


def test_a_missing_server_skips_with_the_reason(monkeypatch):
    monkeypatch.delenv("REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server not installed"):
        unavailable("redis-server not installed")


def test_with_require_servers_a_missing_server_fails(monkeypatch):
    monkeypatch.setenv("REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match=r"redis-server not installed.*REQUIRE_SERVERS"):
        unavailable("redis-server not installed")
