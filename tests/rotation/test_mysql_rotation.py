"""The MySQL rotation (single user) against a real MariaDB/MySQL server over verified TLS,
with the secret in moto's Secrets Manager and the steps driven as Secrets Manager does."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pymysql
import pytest

from rotation_lambda.handler import STEPS, lambda_handler
from rotation_lambda.mysql import CA_FILE_ENV, EXCLUDED_CHARACTERS, PASSWORD_LENGTH
from rotation_lambda.secrets import CURRENT, PENDING, PREVIOUS, RotationError
from tests.rotation.conftest import start_rotation
from tests.servers.mariadb import APP_DATABASE, APP_PASSWORD, APP_USER, DbServer
from tests.servers.tls import make_tls

SECRET_NAME = "pci-db-prod/master"
WIRE_LOGGERS = ("botocore", "boto3", "urllib3")


def rds_secret(server: DbServer, **overrides: Any) -> dict[str, Any]:
    """The JSON a SecretTargetAttachment to an RDS instance leaves in the secret."""
    value = {
        "engine": "mysql",
        "host": server.host,
        "port": server.port,
        "username": APP_USER,
        "password": APP_PASSWORD,
        "dbname": APP_DATABASE,
        "dbInstanceIdentifier": "pci-db-prod",
    }
    return {**value, **overrides}


def value(client: Any, stage: str, version: str | None = None) -> dict[str, Any]:
    kwargs = {"SecretId": SECRET_NAME, "VersionStage": stage}
    if version:
        kwargs["VersionId"] = version
    return json.loads(client.get_secret_value(**kwargs)["SecretString"])


def stages(client: Any) -> dict[str, list[str]]:
    return client.describe_secret(SecretId=SECRET_NAME)["VersionIdsToStages"]


def step(client: Any, name: str, token: str) -> None:
    event = {"SecretId": SECRET_NAME, "ClientRequestToken": token, "Step": name}
    lambda_handler(event, None, client=client)


@pytest.fixture
def db(mariadb: DbServer, monkeypatch: pytest.MonkeyPatch) -> DbServer:
    """The TLS server, `app` back at its known password, the function trusting its CA."""
    mariadb.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", APP_USER, APP_PASSWORD)
    monkeypatch.setenv(CA_FILE_ENV, str(mariadb.ca))
    return mariadb


@pytest.fixture
def client(secretsmanager: Any, db: DbServer) -> Any:
    """Secrets Manager holding the `app` user's secret, as RDS writes it."""
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString=json.dumps(rds_secret(db)))
    return secretsmanager


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch, tmp_path) -> DbServer:
    """A database address nothing listens on, and a CA the function may trust: for the
    checks that must refuse before any connection."""
    ca = make_tls(tmp_path / "tls").ca
    monkeypatch.setenv(CA_FILE_ENV, str(ca))
    return DbServer("127.0.0.1", 9, tmp_path / "no-socket", ca, "mysql")


@pytest.fixture
def offline(secretsmanager: Any, unreachable: DbServer) -> Any:
    """Secrets Manager holding a secret for the unreachable database."""
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString=json.dumps(rds_secret(unreachable)))
    return secretsmanager


def assert_rotated(client: Any, db: DbServer, token: str, old_version: str) -> None:
    """The end state of a finished rotation: stages, and which passwords log in."""
    labels = stages(client)
    assert CURRENT in labels[token]
    assert labels[old_version] == [PREVIOUS]
    assert [v for v, s in labels.items() if PENDING in s and CURRENT not in s] == []
    assert db.logs_in(APP_USER, value(client, CURRENT)["password"])
    assert not db.logs_in(APP_USER, APP_PASSWORD)


# --- the rotation itself ------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["mysql", "mariadb"])
def test_after_rotation_only_the_new_password_logs_in(secretsmanager, db, rotate, engine):
    """GIVEN a secret for `app` (engine mysql or mariadb) and its password on the server
    WHEN a full rotation runs
    THEN the new AWSCURRENT password logs in over TLS and the old one no longer does."""
    secretsmanager.create_secret(
        Name=SECRET_NAME, SecretString=json.dumps(rds_secret(db, engine=engine))
    )

    rotate(secretsmanager, SECRET_NAME)

    new_password = value(secretsmanager, CURRENT)["password"]
    assert new_password != APP_PASSWORD
    assert db.logs_in(APP_USER, new_password)
    assert not db.logs_in(APP_USER, APP_PASSWORD)


def test_after_rotation_the_stages_are_right(client, rotate):
    """GIVEN a secret with one version
    WHEN a full rotation runs
    THEN the new version is AWSCURRENT, the old one AWSPREVIOUS, and no AWSPENDING is left
    on a version that is not AWSCURRENT."""
    (old_version,) = stages(client)

    token = rotate(client, SECRET_NAME)

    labels = stages(client)
    assert CURRENT in labels[token]
    assert labels[old_version] == [PREVIOUS]
    assert [v for v, s in labels.items() if PENDING in s and CURRENT not in s] == []
    assert value(client, PREVIOUS)["password"] == APP_PASSWORD


def test_new_password_is_32_characters_from_the_safe_alphabet(client, rotate):
    """GIVEN a secret
    WHEN createSecret runs
    THEN the pending password is 32 characters long and has none of the excluded ones."""
    token = rotate(client, SECRET_NAME, steps=["createSecret"])

    password = value(client, PENDING, token)["password"]
    assert len(password) == PASSWORD_LENGTH
    assert set(password).isdisjoint(EXCLUDED_CHARACTERS)
    assert set(EXCLUDED_CHARACTERS) == set("/\"@ '\\`:;?#[]%&+=,")


def test_pending_version_is_the_current_one_with_a_new_password(client, db, rotate):
    """GIVEN a secret with RDS's keys (engine, host, port, dbname, dbInstanceIdentifier)
    WHEN createSecret runs
    THEN the pending version keeps every key and only the password differs."""
    token = rotate(client, SECRET_NAME, steps=["createSecret"])

    pending = value(client, PENDING, token)
    assert pending["password"] != APP_PASSWORD
    assert {**pending, "password": APP_PASSWORD} == rds_secret(db)


def test_second_rotation_moves_previous_along(client, db, rotate):
    """GIVEN a secret rotated once
    WHEN it is rotated again with a new token
    THEN AWSPREVIOUS holds the first rotation's password and only the newest logs in."""
    first = rotate(client, SECRET_NAME)
    first_password = value(client, CURRENT)["password"]

    second = rotate(client, SECRET_NAME)

    assert second != first
    assert_rotated(client, db, second, first)
    assert value(client, PREVIOUS)["password"] == first_password
    assert not db.logs_in(APP_USER, first_password)


# --- interrupted and repeated ---------------------------------------------------------------


@pytest.mark.parametrize("done", [1, 2, 3], ids=["after-create", "after-set", "after-test"])
def test_interrupted_rotation_completes_when_run_again(client, db, rotate, done):
    """GIVEN a rotation that stopped after createSecret, setSecret or testSecret
    WHEN Secrets Manager runs the rotation again with the same token (every step)
    THEN it completes: new password current and working, the old one refused."""
    (old_version,) = stages(client)
    token = rotate(client, SECRET_NAME, steps=STEPS[:done])
    pending_password = value(client, PENDING, token)["password"]

    rotate(client, SECRET_NAME, token=token)

    assert_rotated(client, db, token, old_version)
    assert value(client, CURRENT)["password"] == pending_password


def test_unfinished_rotation_is_reattempted_with_its_own_token(client, db, rotate):
    """GIVEN a rotation that changed the database (setSecret) but was never finished, so the
    AWSCURRENT password no longer logs in
    WHEN a rotation is requested without a token (RotateSecret reattempts the unfinished one)
    THEN the unfinished version becomes current with the password the database has."""
    (old_version,) = stages(client)
    token = rotate(client, SECRET_NAME, steps=["createSecret", "setSecret"])
    assert not db.logs_in(APP_USER, APP_PASSWORD)

    assert rotate(client, SECRET_NAME) == token

    assert_rotated(client, db, token, old_version)


def test_set_logs_in_with_previous_when_current_does_not(client, db, rotate):
    """GIVEN a rotated secret whose AWSCURRENT password the database no longer has, while it
    still has the AWSPREVIOUS one (restored from a snapshot taken before the rotation)
    WHEN the next rotation runs
    THEN setSecret logs in with AWSPREVIOUS and the new password is the only one working."""
    first = rotate(client, SECRET_NAME)
    first_password = value(client, CURRENT)["password"]
    db.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", APP_USER, APP_PASSWORD)

    second = rotate(client, SECRET_NAME)

    assert_rotated(client, db, second, first)
    assert not db.logs_in(APP_USER, first_password)


def test_every_step_run_twice_is_harmless(client, db):
    """GIVEN a started rotation
    WHEN each step is invoked twice in a row (a retried invocation)
    THEN the pending password is not replaced and the rotation ends as a single one would."""
    (old_version,) = stages(client)
    token = start_rotation(client, SECRET_NAME)
    step(client, "createSecret", token)
    first = value(client, PENDING, token)

    step(client, "createSecret", token)
    assert value(client, PENDING, token) == first
    for name in STEPS[1:]:
        step(client, name, token)
        step(client, name, token)

    assert_rotated(client, db, token, old_version)
    assert value(client, CURRENT)["password"] == first["password"]


# --- TLS, fail closed ------------------------------------------------------------------------


def test_server_without_tls_is_refused(secretsmanager, db, mariadb_without_tls, rotate):
    """GIVEN a secret for a server that offers no TLS
    WHEN the rotation runs
    THEN setSecret raises RotationError, the server's password is unchanged and the secret
    is not finished."""
    plain = mariadb_without_tls
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString=json.dumps(rds_secret(plain)))

    with pytest.raises(RotationError, match="does not offer TLS"):
        rotate(secretsmanager, SECRET_NAME)

    assert plain.logs_in(APP_USER, APP_PASSWORD)
    assert value(secretsmanager, CURRENT)["password"] == APP_PASSWORD


def test_ca_that_did_not_sign_the_server_certificate_is_refused(
    client, db, rotate, monkeypatch, tmp_path
):
    """GIVEN DB_TLS_CA_FILE naming a CA that did not sign the server's certificate
    WHEN the rotation runs
    THEN it raises RotationError about TLS and nothing changes on the server or the secret."""
    monkeypatch.setenv(CA_FILE_ENV, str(make_tls(tmp_path / "other").ca))

    with pytest.raises(RotationError, match=r"TLS with app@127\.0\.0\.1"):
        rotate(client, SECRET_NAME)

    assert db.logs_in(APP_USER, APP_PASSWORD)
    assert value(client, CURRENT)["password"] == APP_PASSWORD


@pytest.mark.parametrize("setting", ["unset", "missing-file", "not-a-certificate"])
def test_ca_setting_that_gives_no_ca_is_refused(offline, rotate, monkeypatch, tmp_path, setting):
    """GIVEN DB_TLS_CA_FILE unset, naming no file, or naming a file without a certificate
    WHEN the rotation runs
    THEN createSecret raises RotationError naming DB_TLS_CA_FILE and puts no new version."""
    if setting == "unset":
        monkeypatch.delenv(CA_FILE_ENV)
    elif setting == "missing-file":
        monkeypatch.setenv(CA_FILE_ENV, str(tmp_path / "absent.pem"))
    else:
        (tmp_path / "empty.pem").write_text("not a certificate\n")
        monkeypatch.setenv(CA_FILE_ENV, str(tmp_path / "empty.pem"))

    token = str(uuid.uuid4())
    with pytest.raises(RotationError, match=CA_FILE_ENV):
        rotate(offline, SECRET_NAME, token=token)

    with pytest.raises(offline.exceptions.ResourceNotFoundException):
        offline.get_secret_value(SecretId=SECRET_NAME, VersionId=token, VersionStage=PENDING)


def test_session_that_is_not_encrypted_is_refused(client, db, rotate, monkeypatch):
    """GIVEN a driver that ends up with an unencrypted session (here: the server's local
    socket with TLS off, which require_secure_transport allows)
    WHEN setSecret runs
    THEN the session is refused before any statement and the password is unchanged."""
    real_connect = pymysql.connect

    def over_the_socket(**kwargs: Any) -> Any:
        return real_connect(
            unix_socket=str(db.socket),
            user=kwargs["user"],
            password=kwargs["password"],
            ssl_disabled=True,
        )

    token = rotate(client, SECRET_NAME, steps=["createSecret"])
    with monkeypatch.context() as patch:
        patch.setattr(pymysql, "connect", over_the_socket)
        with pytest.raises(RotationError, match="not encrypted"):
            step(client, "setSecret", token)

    assert db.logs_in(APP_USER, APP_PASSWORD)


# --- what is refused -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["username", "host", "port"])
def test_pending_version_for_another_account_is_refused(client, db, rotate, key):
    """GIVEN an AWSPENDING version whose username, host or port differs from AWSCURRENT's
    WHEN setSecret runs
    THEN it raises RotationError and the database is unchanged."""
    token = rotate(client, SECRET_NAME, steps=["createSecret"])
    other = {"username": "admin", "host": "localhost", "port": db.port + 1}[key]
    pending = {**value(client, PENDING, token), key: other}
    client.put_secret_value(
        SecretId=SECRET_NAME,
        ClientRequestToken=token,
        SecretString=json.dumps(pending),
        VersionStages=[PENDING],
    )

    with pytest.raises(RotationError, match="refusing to set it"):
        step(client, "setSecret", token)

    assert db.logs_in(APP_USER, APP_PASSWORD)


def test_no_known_password_logs_in(client, db, rotate):
    """GIVEN a database whose password is none of the secret's versions
    WHEN the rotation runs
    THEN setSecret raises RotationError naming the account and the secret is not finished."""
    db.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", APP_USER, "an-unknown-Pa55word")

    with pytest.raises(RotationError, match=r"cannot log in as app@127\.0\.0\.1"):
        rotate(client, SECRET_NAME)

    assert value(client, CURRENT)["password"] == APP_PASSWORD


def test_user_that_may_not_change_its_password_gets_the_error_code(secretsmanager, db, rotate):
    """GIVEN a user without the CREATE USER privilege (MariaDB needs it for ALTER USER)
    WHEN the rotation runs
    THEN setSecret raises RotationError with MySQL's error code and no password in it."""
    db.execute("DROP USER IF EXISTS 'limited'@'%'")
    db.execute("CREATE USER 'limited'@'%%' IDENTIFIED BY %s", APP_PASSWORD)
    db.execute(f"GRANT ALL PRIVILEGES ON {APP_DATABASE}.* TO 'limited'@'%'")
    secretsmanager.create_secret(
        Name=SECRET_NAME, SecretString=json.dumps(rds_secret(db, username="limited"))
    )

    with pytest.raises(RotationError) as raised:
        rotate(secretsmanager, SECRET_NAME)

    assert "MySQL error 1227 as limited@127.0.0.1" in str(raised.value)
    pending = value(secretsmanager, PENDING)["password"]
    assert pending not in str(raised.value) and APP_PASSWORD not in str(raised.value)
    assert db.logs_in("limited", APP_PASSWORD)


@pytest.mark.parametrize("key", ["host", "username", "password"])
def test_secret_without_a_required_key_is_refused(secretsmanager, unreachable, rotate, key):
    """GIVEN an AWSCURRENT version without host, username or password
    WHEN the rotation runs
    THEN createSecret raises RotationError naming the key."""
    current = rds_secret(unreachable)
    del current[key]
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString=json.dumps(current))

    with pytest.raises(RotationError, match=f"has no '{key}'"):
        rotate(secretsmanager, SECRET_NAME)


# --- the contract ----------------------------------------------------------------------------


def test_unknown_engine_is_refused(secretsmanager, unreachable, rotate):
    """GIVEN a secret whose engine is postgres
    WHEN the rotation runs
    THEN createSecret raises RotationError and puts no pending value."""
    secretsmanager.create_secret(
        Name=SECRET_NAME, SecretString=json.dumps(rds_secret(unreachable, engine="postgres"))
    )

    with pytest.raises(RotationError, match="engine is 'postgres'"):
        rotate(secretsmanager, SECRET_NAME)

    with pytest.raises(secretsmanager.exceptions.ResourceNotFoundException):
        secretsmanager.get_secret_value(SecretId=SECRET_NAME, VersionStage=PENDING)


def test_token_that_is_no_version_is_refused(offline):
    """GIVEN a secret being rotated
    WHEN a step arrives with a token that is not one of its versions
    THEN the handler raises RotationError."""
    start_rotation(offline, SECRET_NAME)

    with pytest.raises(RotationError, match="has no stage for rotation"):
        step(offline, "createSecret", str(uuid.uuid4()))


def test_token_already_current_returns_without_touching_the_database(offline, monkeypatch):
    """GIVEN a secret being rotated
    WHEN setSecret arrives with the token of the AWSCURRENT version
    THEN the handler returns without connecting to the database or moving a label."""
    (current_version,) = stages(offline)
    start_rotation(offline, SECRET_NAME)
    before = stages(offline)
    connections: list[dict[str, Any]] = []
    monkeypatch.setattr(pymysql, "connect", lambda **kwargs: connections.append(kwargs))

    step(offline, "setSecret", current_version)

    assert connections == []
    assert stages(offline) == before


def test_rotation_not_enabled_is_refused(offline):
    """GIVEN a secret whose rotation was turned off (CancelRotateSecret)
    WHEN a step arrives
    THEN the handler raises RotationError."""
    (current_version,) = stages(offline)
    start_rotation(offline, SECRET_NAME)
    offline.cancel_rotate_secret(SecretId=SECRET_NAME)

    with pytest.raises(RotationError, match="rotation is not enabled"):
        step(offline, "createSecret", current_version)


# --- logs ----------------------------------------------------------------------------------------


def test_logs_never_contain_a_password(client, db, rotate, caplog):
    """GIVEN logging at DEBUG
    WHEN a rotation runs, is repeated, and a failing one runs (wrong password on the server)
    THEN no log record of the function or the database driver holds any password."""
    caplog.set_level(logging.DEBUG)
    token = rotate(client, SECRET_NAME)
    rotate(client, SECRET_NAME, token=token)
    db.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", APP_USER, "an-unknown-Pa55word")
    with pytest.raises(RotationError):
        rotate(client, SECRET_NAME)

    passwords = {APP_PASSWORD, "an-unknown-Pa55word", value(client, CURRENT)["password"]}
    passwords.add(value(client, PENDING)["password"])
    ours = [r for r in caplog.records if not r.name.startswith(WIRE_LOGGERS)]
    assert any(r.name == "rotation_lambda.mysql" for r in ours)
    assert not [r.getMessage() for r in ours if any(p in r.getMessage() for p in passwords)]


def test_debug_logging_keeps_secret_values_out_of_aws_wire_logs(client, rotate, caplog):
    """GIVEN the function at LOG_LEVEL=DEBUG
    WHEN a rotation runs
    THEN botocore's wire logs (which print SecretString) are not emitted either."""
    caplog.set_level(logging.DEBUG)

    rotate(client, SECRET_NAME)

    passwords = {APP_PASSWORD, value(client, CURRENT)["password"]}
    assert not [r.name for r in caplog.records if any(p in r.getMessage() for p in passwords)]
