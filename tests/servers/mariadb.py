"""A real MariaDB (or MySQL) server on a loopback port, started once per test session:
TLS with a throwaway CA, `require_secure_transport` on, an `admin` and an `app` user.
`mariadb_without_tls` is a second one that offers no TLS at all, for the refusal tests.

The servers are the Debian packages' binaries (`apt-get install mariadb-server`); a fresh
data directory takes about half a second to create and the server a tenth of a second to
accept connections. Each is stopped (terminate, wait) when the session ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest

from tests.servers import unavailable
from tests.servers.tls import make_tls

ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-Pa55word"
APP_USER, APP_PASSWORD = "app", "app-Pa55word-0"
APP_DATABASE = "appdb"
START_TIMEOUT = 20.0  # seconds until the server must accept connections
STOP_TIMEOUT = 15.0
SEARCH_PATH = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
# Small InnoDB files and no binary log or performance schema: a test server starts fast.
SMALL = (
    "--innodb-log-file-size=4M",
    "--innodb-buffer-pool-size=16M",
    "--skip-log-bin",
    "--performance-schema=OFF",
)


@dataclass(frozen=True)
class DbServer:
    """A running server. `ca` is None for the server without TLS."""

    host: str
    port: int
    socket: Path
    ca: Path | None
    flavour: str  # "mariadb" or "mysql"

    def connect(self, user: str, password: str) -> pymysql.connections.Connection:
        """A TCP session, TLS verified against `ca` when the server has TLS."""
        tls = ssl.create_default_context(cafile=str(self.ca)) if self.ca else None
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=user,
            password=password,
            ssl=tls,
            ssl_disabled=tls is None,
            connect_timeout=5,
            autocommit=True,
        )

    def logs_in(self, user: str, password: str) -> bool:
        """Does `password` log `user` in? Only "access denied" means no."""
        try:
            self.connect(user, password).close()
        except pymysql.err.OperationalError as exc:
            if exc.args[0] == 1045:
                return False
            raise
        return True

    def admin(self) -> pymysql.connections.Connection:
        return self.connect(ADMIN_USER, ADMIN_PASSWORD)

    def execute(self, sql: str, *args: object) -> None:
        """One statement as admin."""
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute(sql, args or None)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbServer]:
    """The TLS server, with `app`@'%' (password APP_PASSWORD) owning APP_DATABASE."""
    folder = tmp_path_factory.mktemp("mariadb")
    tls = make_tls(folder / "tls")
    tls_options = (
        f"--ssl-ca={tls.ca}",
        f"--ssl-cert={tls.cert}",
        f"--ssl-key={tls.key}",
        "--require-secure-transport=ON",
    )
    yield from _serve(folder, tls_options, tls.ca)


@pytest.fixture(scope="session")
def mariadb_without_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbServer]:
    """A server that offers no TLS (its handshake has no SSL capability)."""
    yield from _serve(tmp_path_factory.mktemp("mariadb-plain"), (), None)


def _serve(folder: Path, tls_options: tuple[str, ...], ca: Path | None) -> Iterator[DbServer]:
    binary = _find("mariadbd") or _find("mysqld")
    if binary is None:
        unavailable("MariaDB/MySQL server not installed: apt-get install mariadb-server")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    flavour = "mariadb" if "mariadb" in version.stdout.lower() else "mysql"
    data, sock = folder / "data", folder / "sock"
    as_root = ("--user=root",) if os.geteuid() == 0 else ()
    _initialise(binary, flavour, data, as_root, folder / "install.log")
    port = _free_port()
    options = [
        binary,
        "--no-defaults",
        f"--datadir={data}",
        f"--socket={sock}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        "--skip-name-resolve",
        f"--pid-file={folder / 'server.pid'}",
        f"--log-error={folder / 'error.log'}",
        *SMALL,
        *tls_options,
        *as_root,
    ]
    if flavour == "mysql":
        options.append("--mysqlx=OFF")
    process = subprocess.Popen(
        options, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        root = _wait_until_ready(process, sock, folder / "error.log")
        with root, root.cursor() as cursor:
            _create_users(cursor)
        yield DbServer("127.0.0.1", port, sock, ca, flavour)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _find(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next(
        (str(Path(d, name)) for d in SEARCH_PATH if os.access(Path(d, name), os.X_OK)), None
    )


def _initialise(binary: str, flavour: str, data: Path, as_root: tuple[str, ...], log: Path) -> None:
    """A fresh data directory whose root@localhost has no password (socket only)."""
    if flavour == "mariadb":
        installer = _find("mariadb-install-db") or _find("mysql_install_db")
        if installer is None:
            unavailable("mariadb-install-db not found: apt-get install mariadb-server")
        command = [
            installer,
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--innodb-log-file-size=4M",
            *as_root,
        ]
    else:
        command = [binary, "--no-defaults", "--initialize-insecure", f"--datadir={data}", *as_root]
    with log.open("w") as output:
        done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        pytest.fail(f"{command[0]} failed; see {log}:\n{_tail(log)}", pytrace=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_ready(
    process: subprocess.Popen[bytes], sock: Path, error_log: Path
) -> pymysql.connections.Connection:
    """Poll the server's socket until root gets in; bounded, and stops if it exits."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"the database server exited at start:\n{_tail(error_log)}", pytrace=False)
        if sock.exists():
            try:
                return pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
            except pymysql.err.OperationalError:
                pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"the database server did not start in {START_TIMEOUT:.0f} s:\n{_tail(error_log)}",
                pytrace=False,
            )
        time.sleep(0.05)


def _create_users(cursor: pymysql.cursors.Cursor) -> None:
    # `app` may CREATE USER, as RDS's master user may: MariaDB requires that privilege
    # for ALTER USER even on one's own account.
    statements = [
        ("CREATE USER %s@'%%' IDENTIFIED BY %s", (ADMIN_USER, ADMIN_PASSWORD)),
        ("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (ADMIN_USER,)),
        (f"CREATE DATABASE {APP_DATABASE}", None),
        ("CREATE USER %s@'%%' IDENTIFIED BY %s", (APP_USER, APP_PASSWORD)),
        (f"GRANT ALL PRIVILEGES ON {APP_DATABASE}.* TO %s@'%%'", (APP_USER,)),
        ("GRANT CREATE USER ON *.* TO %s@'%%'", (APP_USER,)),
    ]
    for sql, args in statements:
        cursor.execute(sql, args)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
