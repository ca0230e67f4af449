"""Rotates a MySQL or MariaDB user's password, single-user strategy: the user changes its
own password, so there is a short moment when the secret's AWSCURRENT password no longer
logs in (until finishSecret moves the label). This is the strategy of AWS's
SecretsManagerRDSMySQLRotationSingleUser template, for the RDS master user.

Differences from that template, on purpose:
- TLS is required and verified against the CA bundle named by DB_TLS_CA_FILE; there is no
  plaintext fallback, and a session that is not encrypted is closed before any statement.
- `ALTER USER %s@%s IDENTIFIED BY %s` for the account `SELECT CURRENT_USER()` names: one
  statement MySQL 5.7/8 and MariaDB 10.2+ both run (`SET PASSWORD = PASSWORD(...)` is gone
  from MySQL 8, and MariaDB 10.11 answers OK to `ALTER USER CURRENT_USER() IDENTIFIED BY`
  without changing anything). Account and password travel as driver parameters, never
  formatted into the SQL text. setSecret then logs in with the new password to prove it.
- Only "access denied" (1045) counts as "this password does not work": any other failure
  (network, TLS, privileges) stops the step instead of trying the next password.
- A pending version for another user or host is refused before its password is sent.
- Errors name the host, the user and the MySQL error code, never the server's message
  text (which can quote the statement, password included).
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from rotation_lambda.secrets import CURRENT, PENDING, PREVIOUS, RotationError, Secret

log = logging.getLogger(__name__)

CA_FILE_ENV = "DB_TLS_CA_FILE"
ENGINES = frozenset({"mysql", "mariadb"})
DEFAULT_PORT = 3306
PASSWORD_LENGTH = 32
# Left out of generated passwords:
# - / " @ and space: RDS refuses them in a master password;
# - ' \ and backtick: quoting and escaping in SQL and in shells;
# - : ; ? # [ ] % & + = ,: separators and escapes in connection strings and URLs
#   (mysql://user:pass@host/db?opt=..., JDBC and DSN "key=value;" forms).
# What remains: letters, digits and ! $ ( ) * - . < > ^ _ { | } ~
EXCLUDED_CHARACTERS = "/\"@ '\\`:;?#[]%&+=,"
CONNECT_TIMEOUT, READ_TIMEOUT, WRITE_TIMEOUT = 5, 10, 10
ACCESS_DENIED = 1045  # ER_ACCESS_DENIED_ERROR: wrong user name or password
SSL_NOT_OFFERED = 2026  # CR_SSL_CONNECTION_ERROR: PyMySQL's "SSL is required but ..."
WHO_AM_I = "SELECT CURRENT_USER()"  # 'user@host' of the account the server matched
CHANGE_PASSWORD = "ALTER USER %s@%s IDENTIFIED BY %s"


@dataclass(frozen=True)
class Login:
    """Where and as whom a secret version logs in. The password stays out of repr."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    dbname: str | None = None

    @property
    def account(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"

    def same_account(self, other: Login) -> bool:
        return (self.username, self.host, self.port) == (other.username, other.host, other.port)


def login_from(secret_id: str, stage: str, data: Mapping[str, Any]) -> Login:
    """Check a version's JSON (keys as RDS writes them) and name what is wrong by key."""
    engine = data.get("engine")
    if engine not in ENGINES:
        raise RotationError(
            f"{secret_id}: the {stage} version's engine is {engine!r}; "
            f"this function rotates {' and '.join(sorted(ENGINES))} only"
        )
    for key in ("host", "username", "password"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise RotationError(f"{secret_id}: the {stage} version has no {key!r}")
    port = data.get("port", DEFAULT_PORT)
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise RotationError(f"{secret_id}: the {stage} version's 'port' is not a TCP port")
    dbname = data.get("dbname")
    if dbname is not None and not isinstance(dbname, str):
        raise RotationError(f"{secret_id}: the {stage} version's 'dbname' is not a string")
    return Login(data["host"], port, data["username"], data["password"], dbname or None)


def tls_context(secret_id: str, env: Mapping[str, str] = os.environ) -> ssl.SSLContext:
    """The only way this module connects: certificate and host name verified against the
    CA bundle in DB_TLS_CA_FILE. Fails closed when the bundle is not there."""
    path = env.get(CA_FILE_ENV, "").strip()
    if not path:
        raise RotationError(
            f"{secret_id}: {CA_FILE_ENV} is not set; it must name the CA bundle that signs "
            "the database's certificate (TLS is required)"
        )
    if not Path(path).is_file():
        raise RotationError(f"{secret_id}: {CA_FILE_ENV} names no file: {path}")
    try:
        context = ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError):
        raise RotationError(
            f"{secret_id}: {CA_FILE_ENV} ({path}) holds no usable CA certificate"
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class MySqlRotator:
    """The four steps for a MySQL/MariaDB user secret. Each is idempotent."""

    def create(self, secret: Secret, token: str) -> None:
        """A new AWSPENDING version: AWSCURRENT's JSON with a fresh password."""
        tls_context(secret.id)  # a rotation that could not reach the database never starts
        current = self._value(secret, CURRENT)
        login_from(secret.id, CURRENT, current)
        if secret.value(PENDING, token) is not None:
            log.info("%s: createSecret: AWSPENDING version already has a value", secret.id)
            return
        password = secret.random_password(
            PASSWORD_LENGTH, EXCLUDED_CHARACTERS, RequireEachIncludedType=True
        )
        if len(password) != PASSWORD_LENGTH or set(password) & set(EXCLUDED_CHARACTERS):
            raise RotationError(f"{secret.id}: GetRandomPassword ignored the password rules")
        secret.put_pending(token, {**current, "password": password})
        log.info("%s: createSecret: put a new password in the AWSPENDING version", secret.id)

    def set(self, secret: Secret, token: str) -> None:
        """Make the database take the pending password, logging in with whichever of the
        pending, current or previous passwords it has now."""
        context = tls_context(secret.id)
        pending = login_from(secret.id, PENDING, self._value(secret, PENDING, token))
        current = login_from(secret.id, CURRENT, self._value(secret, CURRENT))
        if not pending.same_account(current):
            raise RotationError(
                f"{secret.id}: the AWSPENDING version is for {pending.account}, "
                f"not for {current.account}; refusing to set it"
            )
        with _session(secret.id, pending, context) as session:
            if session is not None:
                log.info(
                    "%s: setSecret: %s already has the new password", secret.id, pending.account
                )
                return
        for stage, login in self._fallbacks(secret, current):
            with _session(secret.id, login, context) as session:
                if session is None:
                    log.info("%s: setSecret: the %s password does not log in", secret.id, stage)
                    continue
                account = _change_password(secret.id, login, session, pending.password)
            log.info(
                "%s: setSecret: changed the password of %s (logged in with %s)",
                secret.id,
                account,
                stage,
            )
            with _session(secret.id, pending, context) as session:
                if session is None:
                    raise RotationError(
                        f"{secret.id}: the server accepted the new password for "
                        f"{pending.account} but it does not log in"
                    )
            return
        raise RotationError(
            f"{secret.id}: cannot log in as {current.account} with the AWSPENDING, "
            "AWSCURRENT or AWSPREVIOUS password"
        )

    def test(self, secret: Secret, token: str) -> None:
        """The pending password logs in, over TLS, and the session can run a query."""
        context = tls_context(secret.id)
        pending = login_from(secret.id, PENDING, self._value(secret, PENDING, token))
        with _session(secret.id, pending, context) as session:
            if session is None:
                raise RotationError(
                    f"{secret.id}: the AWSPENDING password does not log in as {pending.account}"
                )
            row = _run(secret.id, pending, session, "SELECT 1")
        if row != (1,):
            raise RotationError(f"{secret.id}: SELECT 1 as {pending.account} returned no 1")
        log.info("%s: testSecret: the new password logs in as %s", secret.id, pending.account)

    def finish(self, secret: Secret, token: str) -> None:
        moved = secret.make_current(token)
        log.info("%s: finishSecret: AWSCURRENT %s", secret.id, "moved" if moved else "already set")

    @staticmethod
    def _value(secret: Secret, stage: str, version: str | None = None) -> dict[str, Any]:
        data = secret.value(stage, version)
        if data is None:
            raise RotationError(f"{secret.id}: no {stage} version with a value")
        return data

    @staticmethod
    def _fallbacks(secret: Secret, current: Login) -> Iterator[tuple[str, Login]]:
        """AWSCURRENT, then AWSPREVIOUS (read only if needed) when it is the same account:
        the database may still have the previous password after an interrupted rotation
        or a restore."""
        yield CURRENT, current
        data = secret.value(PREVIOUS)
        if data is None:
            return
        previous = login_from(secret.id, PREVIOUS, data)
        if previous.same_account(current):
            yield PREVIOUS, previous
        else:
            log.info("%s: setSecret: AWSPREVIOUS is for another account; not used", secret.id)


@contextmanager
def _session(
    secret_id: str, login: Login, context: ssl.SSLContext
) -> Iterator[pymysql.connections.Connection | None]:
    """An encrypted session as `login`, or None when the server rejects the password."""
    try:
        connection = pymysql.connect(
            host=login.host,
            port=login.port,
            user=login.username,
            password=login.password,
            database=login.dbname,
            ssl=context,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            write_timeout=WRITE_TIMEOUT,
            charset="utf8mb4",
            autocommit=True,
        )
    except pymysql.err.MySQLError as exc:
        if _code(exc) != ACCESS_DENIED:
            raise _error(secret_id, login, exc) from None
        connection = None
    except ValueError:  # e.g. a password PyMySQL cannot encode; its text holds the value
        raise RotationError(
            f"{secret_id}: the credentials for {login.account} cannot be sent"
        ) from None
    if connection is None:  # yielded outside the except: no server text chained on
        yield None
        return
    try:
        cipher = _run(secret_id, login, connection, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        if not cipher or not cipher[1]:
            raise RotationError(
                f"{secret_id}: the session as {login.account} is not encrypted; refused"
            )
        yield connection
    finally:
        connection.close()


def _change_password(
    secret_id: str, login: Login, session: pymysql.connections.Connection, password: str
) -> str:
    """ALTER USER on the account this session is; returns its 'user'@'host' name."""
    row = _run(secret_id, login, session, WHO_AM_I)
    user, _, host = str(row[0] if row else "").rpartition("@")
    if not user or not host:
        raise RotationError(f"{secret_id}: CURRENT_USER() as {login.account} named no account")
    _run(secret_id, login, session, CHANGE_PASSWORD, (user, host, password))
    return f"'{user}'@'{host}'"


def _run(
    secret_id: str,
    login: Login,
    connection: pymysql.connections.Connection,
    sql: str,
    args: tuple[Any, ...] | None = None,
) -> tuple[Any, ...] | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchone()
    except pymysql.err.MySQLError as exc:
        raise _error(secret_id, login, exc) from None


def _code(exc: pymysql.err.MySQLError) -> int | None:
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else None


def _error(secret_id: str, login: Login, exc: pymysql.err.MySQLError) -> RotationError:
    """Host, user and code only: the server's text can quote the statement."""
    original = getattr(exc, "original_exception", None)
    if isinstance(original, ssl.SSLError):
        reason = getattr(original, "verify_message", None) or original.reason or "handshake"
        return RotationError(
            f"{secret_id}: TLS with {login.account} failed ({reason}); the server's "
            f"certificate must be signed by a CA in {CA_FILE_ENV} and name the host"
        )
    if _code(exc) == SSL_NOT_OFFERED:
        return RotationError(
            f"{secret_id}: {login.host}:{login.port} does not offer TLS; refusing to connect"
        )
    return RotationError(f"{secret_id}: MySQL error {_code(exc)} as {login.account}")
