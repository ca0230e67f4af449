"""A real redis-server with TLS only, standing in for an ElastiCache group's nodes.

ElastiCache turns a ModifyReplicationGroup token change into AUTH rules on its nodes;
`rotate` and `set` make the same change here through Redis 6+ ACLs, so the rotation code
authenticates against a real server. Admin commands go through a separate `admin` user,
so the `default` user (the one `AUTH <token>` logs in as) is exactly what the tests set.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.servers import unavailable
from tests.servers.tls import Tls, make_tls

HOST = "127.0.0.1"
START_TIMEOUT = 15.0  # seconds until the server must accept TLS connections
INSTALL = "apt-get install redis-server (Debian's build has TLS)"


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    tls: Tls
    admin_password: str

    def rotate(self, old: str, new: str) -> None:
        """What ElastiCache's ROTATE leaves behind: both tokens accepted."""
        self._default_user(old, new)

    def set(self, new: str) -> None:
        """What ElastiCache's SET leaves behind (and the initial token): only `new` accepted."""
        self._default_user(new)

    def accepts(self, token: str) -> bool:
        """Whether AUTH with `token` succeeds, checked independently of the code under test."""
        client = self._client(password=token)
        try:
            return client.ping() is True
        except redis.AuthenticationError:
            return False
        finally:
            client.close()

    def _default_user(self, *tokens: str) -> None:
        admin = self._client(username="admin", password=self.admin_password)
        try:
            admin.execute_command(
                "ACL", "SETUSER", "default", "on", "resetpass", *(f">{t}" for t in tokens)
            )
        finally:
            admin.close()

    def _client(self, password: str, username: str | None = None) -> redis.Redis:
        return redis.Redis(
            host=self.host,
            port=self.port,
            username=username,
            password=password,
            ssl=True,
            ssl_ca_certs=str(self.tls.ca),
            socket_timeout=5,
            socket_connect_timeout=5,
            retry=Retry(NoBackoff(), 0),
        )


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session, TLS only, on a free loopback port. Tests set the
    tokens they start from with `set`."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable(f"redis-server is not installed: {INSTALL}")
    folder = tmp_path_factory.mktemp("redis")
    tls = make_tls(folder / "tls")
    server = RedisServer(HOST, _free_port(), tls, secrets.token_hex(16))
    config = folder / "redis.conf"
    config.write_text(_config(server, folder))
    config.chmod(0o600)  # it holds the admin password
    log_path = folder / "redis.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [binary, str(config)], stdout=log_file, stderr=subprocess.STDOUT, cwd=folder
        )
    try:
        _wait_until_ready(server, process, log_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _config(server: RedisServer, folder: Path) -> str:
    """No plaintext port, no persistence; `default` starts with no password, so it cannot log in."""
    return "\n".join(
        [
            "port 0",
            f"tls-port {server.port}",
            f'tls-cert-file "{server.tls.cert}"',
            f'tls-key-file "{server.tls.key}"',
            f'tls-ca-cert-file "{server.tls.ca}"',
            "tls-auth-clients no",
            f"bind {server.host}",
            'save ""',
            "appendonly no",
            f'dir "{folder}"',
            "user default on resetpass ~* &* +@all",
            f"user admin on >{server.admin_password} ~* &* +@all",
            "",
        ]
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _wait_until_ready(server: RedisServer, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")
            if "tls" in log.lower() and "ready to accept" not in log.lower():
                unavailable(f"redis-server cannot serve TLS (built without it?): {INSTALL}")
            pytest.fail(f"redis-server exited with {process.returncode}:\n{log}", pytrace=False)
        admin = server._client(username="admin", password=server.admin_password)
        try:
            if admin.ping():
                return
        except redis.ConnectionError:
            pass
        finally:
            admin.close()
        if time.monotonic() > deadline:
            pytest.fail(
                f"redis-server did not accept TLS connections on {server.host}:{server.port} "
                f"within {START_TIMEOUT:.0f}s:\n{log_path.read_text(errors='replace')}",
                pytrace=False,
            )
        time.sleep(0.05)
