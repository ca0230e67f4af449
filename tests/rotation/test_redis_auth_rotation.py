"""The Redis AUTH token rotation, step by step, the way Secrets Manager drives it.

Secrets Manager is moto. ElastiCache is botocore's Stubber (every request and answer is
checked against the service model): the queued DescribeReplicationGroups answers say the
group's status, and once a stubbed ROTATE or SET "lands" (`Group.settle`, between two
invocations, as ElastiCache applies it asynchronously) the same change is made to a real
redis-server with TLS, which the rotation then authenticates against.
"""

from __future__ import annotations

import functools
import json
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import redis.retry
from botocore.stub import Stubber

from rotation_lambda import redis_auth
from rotation_lambda.redis_auth import is_valid_auth_token
from rotation_lambda.secrets import CURRENT, PENDING, PREVIOUS, RotationError, Secret
from tests.servers.redis import RedisServer

REGION = "us-east-1"
GROUP = "pci-redis"
SECRET = "pci/redis-auth"
OLD = "InitialToken0123456789abcdefABCDEF"
OTHER_KEYS = {"host": "master.pci-redis.abc123.use1.cache.amazonaws.com", "port": 6379}


class Rotation:
    """One rotation of the secret, driven with the `rotate` harness (tests/rotation/conftest.py):
    started the way RotateSecret starts it, then one step per `run`, as Secrets Manager
    invokes the function (a rerun after a failure keeps the same token)."""

    def __init__(self, client: Any, rotate: Callable[..., str]) -> None:
        self.client, self._rotate = client, rotate
        self.token = rotate(client, SECRET, steps=())

    def run(self, step: str) -> None:
        self._rotate(self.client, SECRET, steps=(step,), token=self.token)

    def value(self, stage: str) -> dict[str, Any]:
        answer = self.client.get_secret_value(SecretId=SECRET, VersionStage=stage)
        return json.loads(answer["SecretString"])

    def pending_token(self) -> str:
        answer = self.client.get_secret_value(
            SecretId=SECRET, VersionId=self.token, VersionStage=PENDING
        )
        return json.loads(answer["SecretString"])["token"]

    def version_with(self, stage: str) -> str | None:
        stages = self.client.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
        return next((v for v, labels in stages.items() if stage in labels), None)


# --- ElastiCache: Stubber answers, the real redis-server behind them ---


class Group:
    """The replication group as ElastiCache would show it.

    `describes` and `accepts_modify` queue Stubber answers (with the exact parameters
    expected); a call nobody queued fails the test with UnStubbedResponseError. A stubbed
    modification puts the group in `modifying`; `settle` is ElastiCache finishing it: the
    change reaches the nodes (the redis-server) and the group is `available` again.
    """

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.status = "available"
        self.token = OLD  # the token the last SET left (or the group was created with)
        self.modifications: list[tuple[str, str]] = []  # made, in order
        self._queued: deque[tuple[str, str]] = deque()
        self._in_flight: list[tuple[str, str]] = []
        self.client = boto3.client("elasticache", region_name=REGION)
        self.client.meta.events.register(
            "after-call.elasticache.ModifyReplicationGroup", self._modified
        )
        self.stubber = Stubber(self.client)
        self.stubber.activate()

    def describes(self, status: str | None = None, **overrides: Any) -> None:
        self.stubber.add_response(
            "describe_replication_groups",
            {"ReplicationGroups": [self.description(status or self.status, **overrides)]},
            {"ReplicationGroupId": GROUP},
        )

    def accepts_modify(self, strategy: str, token: str) -> None:
        change = "ROTATING" if strategy == "ROTATE" else "SETTING"
        self.stubber.add_response(
            "modify_replication_group",
            {"ReplicationGroup": self.description("modifying", auth_token_status=change)},
            {
                "ReplicationGroupId": GROUP,
                "AuthToken": token,
                "AuthTokenUpdateStrategy": strategy,
                "ApplyImmediately": True,
            },
        )
        self._queued.append((strategy, token))

    def settle(self) -> None:
        for strategy, token in self._in_flight:
            if strategy == "ROTATE":
                self.server.rotate(self.token, token)
            else:
                self.server.set(token)
                self.token = token
        self._in_flight.clear()
        self.status = "available"

    def description(
        self,
        status: str,
        *,
        transit: bool = True,
        cluster: bool = False,
        port: int | None = None,
        auth_token_status: str | None = None,
    ) -> dict[str, Any]:
        endpoint = {"Address": self.server.host, "Port": port or self.server.port}
        group: dict[str, Any] = {
            "ReplicationGroupId": GROUP,
            "Status": status,
            "TransitEncryptionEnabled": transit,
            "AuthTokenEnabled": True,
            "ClusterEnabled": cluster,
            "NodeGroups": [{"NodeGroupId": "0001", "Status": status}],
        }
        if cluster:
            group["ConfigurationEndpoint"] = endpoint
        else:
            group["NodeGroups"][0]["PrimaryEndpoint"] = endpoint
        if auth_token_status:
            group["PendingModifiedValues"] = {"AuthTokenStatus": auth_token_status}
        return group

    def _modified(self, **_: Any) -> None:
        change = self._queued.popleft()  # Stubber has checked the call's parameters
        self.modifications.append(change)
        self._in_flight.append(change)
        self.status = "modifying"


@pytest.fixture
def server(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> RedisServer:
    """The session's redis-server, accepting only OLD; the rotation trusts its test CA."""
    redis_server.set(OLD)
    monkeypatch.setenv("REDIS_TLS_CA_FILE", str(redis_server.tls.ca))
    return redis_server


@pytest.fixture
def group(server: RedisServer) -> Iterator[Group]:
    group = Group(server)
    yield group
    group.stubber.deactivate()


@pytest.fixture
def rotation(
    aws: None, rotate: Callable[..., str], group: Group, monkeypatch: pytest.MonkeyPatch
) -> Rotation:
    """A Redis AUTH secret holding OLD, listed in REDIS_AUTH_SECRETS, with a rotation
    started. The handler builds its RedisAuthRotator with the stubbed ElastiCache client
    and the real TLS connection."""
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name=SECRET, SecretString=json.dumps({"token": OLD, **OTHER_KEYS}))
    monkeypatch.setenv("REDIS_AUTH_SECRETS", f"{SECRET}={GROUP}")
    monkeypatch.setattr(
        redis_auth,
        "RedisAuthRotator",
        functools.partial(redis_auth.RedisAuthRotator, elasticache=group.client),
    )
    return Rotation(client, rotate)


def rotate_all_the_way(rotation: Rotation, group: Group) -> str:
    """A rotation with nothing going wrong; the group settles between invocations."""
    rotation.run("createSecret")
    pending = rotation.pending_token()
    group.describes()
    group.accepts_modify("ROTATE", pending)
    rotation.run("setSecret")
    group.settle()
    group.describes()
    rotation.run("testSecret")
    group.describes()
    group.accepts_modify("SET", pending)
    rotation.run("finishSecret")
    group.settle()
    return pending


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- The whole rotation ---


def test_full_rotation_leaves_only_the_new_token_working(
    rotation: Rotation, group: Group, server: RedisServer
) -> None:
    """GIVEN a secret holding the token the group accepts
    WHEN create, set, test and finish run, the group going modifying -> available between
    THEN the new token is AWSCURRENT, the old AWSPREVIOUS, the server accepts only the new
    one, and the group was modified exactly twice: ROTATE, then SET, with the new token."""
    old_version = rotation.version_with(CURRENT)

    new = rotate_all_the_way(rotation, group)

    assert rotation.version_with(CURRENT) == rotation.token
    assert rotation.value(CURRENT)["token"] == new
    assert rotation.version_with(PREVIOUS) == old_version
    assert rotation.value(PREVIOUS)["token"] == OLD
    assert server.accepts(new)
    assert not server.accepts(OLD)
    assert group.modifications == [("ROTATE", new), ("SET", new)]
    group.stubber.assert_no_pending_responses()


def test_every_step_run_twice_modifies_the_group_once_per_strategy(
    rotation: Rotation, group: Group, server: RedisServer
) -> None:
    """GIVEN a rotation in which Secrets Manager delivers every step twice
    WHEN the duplicates run (after the group has settled)
    THEN create keeps the first token, set sends no second ROTATE because the pending token
    already works, finish sends no second SET, and the rotation ends as a single one would."""
    rotation.run("createSecret")
    pending = rotation.pending_token()
    rotation.run("createSecret")
    assert rotation.pending_token() == pending

    group.describes()
    group.accepts_modify("ROTATE", pending)
    rotation.run("setSecret")
    group.settle()
    group.describes()
    rotation.run("setSecret")

    group.describes()
    rotation.run("testSecret")
    group.describes()
    rotation.run("testSecret")

    group.describes()
    group.accepts_modify("SET", pending)
    rotation.run("finishSecret")
    group.settle()
    rotation.run("finishSecret")  # already AWSCURRENT: no ElastiCache call at all

    assert group.modifications == [("ROTATE", pending), ("SET", pending)]
    group.stubber.assert_no_pending_responses()
    assert rotation.value(CURRENT)["token"] == pending
    assert server.accepts(pending)
    assert not server.accepts(OLD)


# --- A rotation interrupted, then run again (Secrets Manager reruns it with the same token) ---


def test_rotation_interrupted_after_create_completes_when_run_again(
    rotation: Rotation, group: Group, server: RedisServer
) -> None:
    """GIVEN a rotation that stopped after createSecret
    WHEN Secrets Manager runs it again from the start
    THEN the token stored first is the one rotated to, and only it works at the end."""
    rotation.run("createSecret")
    first = rotation.pending_token()

    rotated_to = rotate_all_the_way(rotation, group)

    assert rotated_to == first
    assert rotation.value(CURRENT)["token"] == first
    assert server.accepts(first)
    assert not server.accepts(OLD)
    assert group.modifications == [("ROTATE", first), ("SET", first)]


def test_rotation_interrupted_after_set_completes_when_run_again(
    rotation: Rotation, group: Group, server: RedisServer
) -> None:
    """GIVEN a rotation that stopped after setSecret had started ROTATE
    WHEN it is run again while the group is modifying, and again once it is available
    THEN the first rerun stops at set without modifying, the second finds the pending token
    working (no second ROTATE) and completes with SET."""
    rotation.run("createSecret")
    pending = rotation.pending_token()
    group.describes()
    group.accepts_modify("ROTATE", pending)
    rotation.run("setSecret")

    rotation.run("createSecret")
    group.describes()
    with pytest.raises(RotationError, match="modifying"):
        rotation.run("setSecret")

    group.settle()
    rotation.run("createSecret")
    group.describes()
    rotation.run("setSecret")
    group.describes()
    rotation.run("testSecret")
    group.describes()
    group.accepts_modify("SET", pending)
    rotation.run("finishSecret")
    group.settle()

    assert group.modifications == [("ROTATE", pending), ("SET", pending)]
    assert rotation.value(CURRENT)["token"] == pending
    assert server.accepts(pending)
    assert not server.accepts(OLD)


def test_rotation_interrupted_after_test_completes_when_run_again(
    rotation: Rotation, group: Group, server: RedisServer
) -> None:
    """GIVEN a rotation that stopped after testSecret passed
    WHEN it is run again from the start
    THEN set and test change nothing and finish completes it with one SET."""
    rotation.run("createSecret")
    pending = rotation.pending_token()
    group.describes()
    group.accepts_modify("ROTATE", pending)
    rotation.run("setSecret")
    group.settle()
    group.describes()
    rotation.run("testSecret")

    rotation.run("createSecret")
    group.describes()
    rotation.run("setSecret")
    group.describes()
    rotation.run("testSecret")
    group.describes()
    group.accepts_modify("SET", pending)
    rotation.run("finishSecret")
    group.settle()

    assert group.modifications == [("ROTATE", pending), ("SET", pending)]
    assert rotation.value(CURRENT)["token"] == pending
    assert server.accepts(pending)
    assert not server.accepts(OLD)


def test_rotation_interrupted_inside_finish_after_set_completes_when_run_again(
    rotation: Rotation, group: Group, server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a rotation whose finishSecret issued SET but died before moving AWSCURRENT
    WHEN it is run again once the group is available
    THEN finish sees the old token refused, sends no second SET, and moves AWSCURRENT."""
    rotation.run("createSecret")
    pending = rotation.pending_token()
    group.describes()
    group.accepts_modify("ROTATE", pending)
    rotation.run("setSecret")
    group.settle()
    group.describes()
    rotation.run("testSecret")
    group.describes()
    group.accepts_modify("SET", pending)
    with monkeypatch.context() as patch:
        patch.setattr(Secret, "make_current", _lambda_timed_out)
        with pytest.raises(TimeoutError):
            rotation.run("finishSecret")
    assert rotation.value(CURRENT)["token"] == OLD

    rotation.run("createSecret")
    group.describes()
    with pytest.raises(RotationError, match="modifying"):
        rotation.run("setSecret")
    group.settle()
    rotation.run("createSecret")
    group.describes()
    rotation.run("setSecret")
    group.describes()
    rotation.run("testSecret")
    group.describes()
    rotation.run("finishSecret")

    assert group.modifications == [("ROTATE", pending), ("SET", pending)]
    group.stubber.assert_no_pending_responses()
    assert rotation.value(CURRENT)["token"] == pending
    assert rotation.value(PREVIOUS)["token"] == OLD
    assert server.accepts(pending)
    assert not server.accepts(OLD)


def _lambda_timed_out(self: Secret, token: str) -> bool:
    raise TimeoutError("the Lambda ran out of time")


# --- The group is busy: a step fails at once and Secrets Manager retries ---


def test_set_while_the_group_is_modifying_fails_without_modifying(
    rotation: Rotation, group: Group, server: RedisServer
) -> None:
    """GIVEN a group that is `modifying` (another change is being applied)
    WHEN setSecret runs
    THEN it raises RotationError saying so (to be retried), and sends no modification."""
    rotation.run("createSecret")
    group.describes("modifying")

    with pytest.raises(RotationError, match=f"{GROUP} is modifying.*retried"):
        rotation.run("setSecret")

    assert group.modifications == []
    group.stubber.assert_no_pending_responses()
    assert not server.accepts(rotation.pending_token())


def test_test_while_rotate_is_applied_fails_then_passes_once_available(
    rotation: Rotation, group: Group
) -> None:
    """GIVEN setSecret has started ROTATE and the group is still `modifying`
    WHEN testSecret runs, and runs again after the group is `available`
    THEN the first raises RotationError (retried), the second passes."""
    rotation.run("createSecret")
    pending = rotation.pending_token()
    group.describes()
    group.accepts_modify("ROTATE", pending)
    rotation.run("setSecret")

    group.describes()
    with pytest.raises(RotationError, match=r"modifying.*retried"):
        rotation.run("testSecret")

    group.settle()
    group.describes()
    rotation.run("testSecret")
    group.stubber.assert_no_pending_responses()


def test_a_group_showing_a_pending_token_change_counts_as_busy(
    rotation: Rotation, group: Group
) -> None:
    """GIVEN a group that says `available` but still lists AuthTokenStatus ROTATING
    WHEN testSecret runs
    THEN it raises RotationError (retried) instead of testing a half-applied change."""
    rotation.run("createSecret")
    group.describes("available", auth_token_status="ROTATING")

    with pytest.raises(RotationError, match="ROTATING; retried"):
        rotation.run("testSecret")


def test_finish_while_the_group_is_modifying_fails_and_keeps_the_stages(
    rotation: Rotation, group: Group
) -> None:
    """GIVEN a group that is `modifying`
    WHEN finishSecret runs
    THEN it raises RotationError, sends no SET, and AWSCURRENT stays on the old token."""
    rotation.run("createSecret")
    group.describes("modifying")

    with pytest.raises(RotationError, match="modifying"):
        rotation.run("finishSecret")

    assert group.modifications == []
    assert rotation.value(CURRENT)["token"] == OLD


def test_no_step_sleeps(rotation: Rotation, group: Group, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN time.sleep (and redis-py's retry sleep) made to fail the test
    WHEN a rotation runs, meeting a `modifying` group on the way
    THEN it completes: no step waits for the group, it fails and is retried instead."""

    def no_sleeping(seconds: float) -> None:
        raise AssertionError(f"a rotation step slept {seconds}s")

    monkeypatch.setattr(time, "sleep", no_sleeping)
    monkeypatch.setattr(redis.retry, "sleep", no_sleeping)
    rotation.run("createSecret")
    pending = rotation.pending_token()
    group.describes()
    group.accepts_modify("ROTATE", pending)
    rotation.run("setSecret")
    group.describes()
    with pytest.raises(RotationError):
        rotation.run("testSecret")
    group.settle()
    group.describes()
    rotation.run("testSecret")
    group.describes()
    group.accepts_modify("SET", pending)
    rotation.run("finishSecret")

    assert rotation.value(CURRENT)["token"] == pending


# --- Refusals ---


def test_set_refuses_a_group_without_transit_encryption(
    rotation: Rotation, group: Group, server: RedisServer
) -> None:
    """GIVEN a group with TransitEncryptionEnabled false
    WHEN setSecret runs
    THEN it refuses (AUTH needs TLS), sends no modification, and the server keeps the old token."""
    rotation.run("createSecret")
    group.describes(transit=False)

    with pytest.raises(RotationError, match="TransitEncryptionEnabled false"):
        rotation.run("setSecret")

    assert group.modifications == []
    group.stubber.assert_no_pending_responses()
    assert server.accepts(OLD)


def test_a_missing_replication_group_is_a_rotation_error(rotation: Rotation, group: Group) -> None:
    """GIVEN REDIS_AUTH_SECRETS names a group ElastiCache does not have
    WHEN setSecret runs
    THEN it raises a one-line RotationError naming the group."""
    rotation.run("createSecret")
    group.stubber.add_client_error(
        "describe_replication_groups",
        service_error_code="ReplicationGroupNotFoundFault",
        http_status_code=404,
        expected_params={"ReplicationGroupId": GROUP},
    )

    with pytest.raises(RotationError, match=f"replication group {GROUP} not found"):
        rotation.run("setSecret")


def test_test_fails_when_the_group_refuses_the_pending_token(
    rotation: Rotation, group: Group
) -> None:
    """GIVEN an available group that still accepts only the old token (ROTATE never landed)
    WHEN testSecret runs
    THEN it raises RotationError naming the endpoint, without the token."""
    rotation.run("createSecret")
    pending = rotation.pending_token()
    group.describes()

    with pytest.raises(RotationError, match="refuses the pending token") as error:
        rotation.run("testSecret")

    assert f"{group.server.host}:{group.server.port}" in str(error.value)
    assert pending not in str(error.value)


def test_finish_never_makes_current_a_token_the_group_refuses(
    rotation: Rotation, group: Group, server: RedisServer
) -> None:
    """GIVEN an available group that refuses the pending token
    WHEN finishSecret runs
    THEN it raises RotationError, sends no SET, and AWSCURRENT stays on the old token."""
    rotation.run("createSecret")
    group.describes()

    with pytest.raises(RotationError, match="refuses the pending token"):
        rotation.run("finishSecret")

    assert group.modifications == []
    assert rotation.value(CURRENT)["token"] == OLD
    assert server.accepts(OLD)


def test_an_unreachable_endpoint_is_a_rotation_error_naming_only_host_and_port(
    rotation: Rotation, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a group whose primary endpoint has nothing listening
    WHEN testSecret runs
    THEN it fails at once (no retry sleeps) with RotationError naming host:port only."""
    monkeypatch.setattr(redis.retry, "sleep", _no_sleep)
    rotation.run("createSecret")
    pending = rotation.pending_token()
    port = unused_port()
    group.describes(port=port)

    with pytest.raises(RotationError, match=f"cannot use 127.0.0.1:{port} over TLS") as error:
        rotation.run("testSecret")

    assert pending not in str(error.value)
    assert error.value.__cause__ is None


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds}s")


def test_a_server_certificate_not_from_a_trusted_ca_is_refused(
    rotation: Rotation, group: Group, server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the server's throwaway CA is not trusted (REDIS_TLS_CA_FILE unset: system store)
    WHEN setSecret checks the pending token
    THEN it raises RotationError (certificate verified, no fallback) and modifies nothing."""
    monkeypatch.delenv("REDIS_TLS_CA_FILE")
    rotation.run("createSecret")
    group.describes()

    with pytest.raises(RotationError, match="over TLS"):
        rotation.run("setSecret")

    assert group.modifications == []


def test_cluster_mode_uses_the_configuration_endpoint(
    rotation: Rotation, group: Group, server: RedisServer
) -> None:
    """GIVEN a cluster-mode group: a configuration endpoint, node groups without a primary
    WHEN testSecret runs after ROTATE has landed
    THEN it authenticates through the configuration endpoint and passes."""
    rotation.run("createSecret")
    server.rotate(OLD, rotation.pending_token())
    group.describes(cluster=True)

    rotation.run("testSecret")

    group.stubber.assert_no_pending_responses()


# --- The token ---


def test_create_generates_64_letters_and_digits(rotation: Rotation) -> None:
    """GIVEN a secret holding the old token
    WHEN createSecret runs
    THEN AWSPENDING holds a new token of 64 ASCII letters and digits that the allow-list accepts."""
    rotation.run("createSecret")

    token = rotation.pending_token()
    assert len(token) == 64
    assert token.isascii() and token.isalnum()
    assert is_valid_auth_token(token)
    assert token != OLD


def test_create_keeps_the_secrets_other_keys(rotation: Rotation) -> None:
    """GIVEN a secret with keys besides the token
    WHEN createSecret runs
    THEN the AWSPENDING version carries them unchanged."""
    rotation.run("createSecret")

    value = rotation.value(PENDING)
    assert {k: v for k, v in value.items() if k != "token"} == OTHER_KEYS


def test_create_refuses_a_token_outside_the_allow_list(
    rotation: Rotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN GetRandomPassword returning a token with a character ElastiCache forbids
    WHEN createSecret runs
    THEN it raises RotationError without the token and stores no AWSPENDING value."""
    bad = "abcdefghijklmnop@qrstuvwxyz"
    monkeypatch.setattr(Secret, "random_password", lambda self, *args, **kwargs: bad)

    with pytest.raises(RotationError, match="AUTH rules") as error:
        rotation.run("createSecret")

    assert bad not in str(error.value)
    assert Secret(rotation.client, SECRET).value(PENDING, rotation.token) is None


def test_create_refuses_a_secret_without_a_token(rotation: Rotation) -> None:
    """GIVEN a secret whose AWSCURRENT JSON has no "token"
    WHEN createSecret runs
    THEN it raises RotationError saying so."""
    rotation.client.put_secret_value(SecretId=SECRET, SecretString=json.dumps({"auth": OLD}))

    with pytest.raises(RotationError, match='no "token"'):
        rotation.run("createSecret")


@pytest.mark.parametrize(
    "token",
    [
        "a" * 16,
        "Z9" * 64,
        "abcdefghij0123456789",
        "letters-and!&#$^<>digits01",
    ],
)
def test_allow_list_accepts_elasticache_tokens(token: str) -> None:
    """GIVEN a token of 16-128 letters, digits and ! & # $ ^ < > -
    WHEN it is checked
    THEN it is valid."""
    assert is_valid_auth_token(token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a" * 15,
        "a" * 129,
        *("abcdefghijklmnop" + c for c in "\"%'()*+,./:;=?@[\\]_`{|}~"),
        "abcdefghijklmnop qrst",
        "abcdefghijklmnopé",
        "abcdefghijklmnop\n",
    ],
)
def test_allow_list_refuses_other_tokens(token: str) -> None:
    """GIVEN a token too short, too long, or with a character outside the allow-list
    WHEN it is checked
    THEN it is invalid."""
    assert not is_valid_auth_token(token)


# --- Logs ---


def test_logs_never_contain_a_token(
    rotation: Rotation, group: Group, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN the rotation's own loggers at DEBUG
    WHEN a rotation meets a busy group and then completes
    THEN the records say what happened and contain neither the old nor the new token."""
    caplog.set_level(logging.DEBUG, logger="rotation_lambda")
    rotation.run("createSecret")
    group.describes("modifying")
    with pytest.raises(RotationError):
        rotation.run("setSecret")
    new = rotate_all_the_way(rotation, group)

    assert any(r.name == "rotation_lambda.redis_auth" for r in caplog.records)
    assert OLD not in caplog.text
    assert new not in caplog.text
