"""Rotating an ElastiCache (Redis OSS) AUTH token without downtime.

ElastiCache applies a token change asynchronously: ModifyReplicationGroup with
AuthTokenUpdateStrategy ROTATE makes the group accept the old and the new token, SET
later makes it accept only the new one. Each takes the group through `modifying` back to
`available`. A Lambda must not sleep toward its time limit waiting for that, so a step
that finds the group busy raises RotationError and Secrets Manager runs the rotation again
later; every step first checks whether its work is already done, so a rerun never issues
a modification twice.

The secret's JSON holds {"token": ...}; other keys are carried over unchanged.
AUTH needs in-transit encryption, so the token is only ever sent over verified TLS.
"""

from __future__ import annotations

import logging
import os
import string
from collections.abc import Callable
from typing import Any

import boto3
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from rotation_lambda.secrets import CURRENT, PENDING, RotationError, Secret

log = logging.getLogger(__name__)

TOKEN_LENGTH = 64
# ElastiCache AUTH: 16-128 printable characters; punctuation only from this list.
TOKEN_MIN, TOKEN_MAX = 16, 128
TOKEN_CHARACTERS = frozenset(string.ascii_letters + string.digits + "!&#$^<>-")

Connect = Callable[[str, int, str], Any]


def is_valid_auth_token(token: str) -> bool:
    """An allow-list, not a deny-list: older AWS pages listed only some forbidden characters."""
    return TOKEN_MIN <= len(token) <= TOKEN_MAX and set(token) <= TOKEN_CHARACTERS


def tls_connection(host: str, port: int, token: str) -> redis.Redis:
    """A client that authenticates with `token` over TLS with the certificate verified.

    ElastiCache's certificates chain to Amazon Trust Services, so the system store is right
    in production; REDIS_TLS_CA_FILE names another CA (the tests' throwaway one). No retries:
    redis-py's default retry sleeps between attempts, and a step must never sleep.
    """
    return redis.Redis(
        host=host,
        port=port,
        password=token,
        ssl=True,
        ssl_cert_reqs="required",
        ssl_ca_certs=os.environ.get("REDIS_TLS_CA_FILE") or None,
        socket_timeout=5,
        socket_connect_timeout=5,
        retry=Retry(NoBackoff(), 0),
    )


class RedisAuthRotator:
    """The Rotator for a Redis AUTH token secret of one replication group."""

    def __init__(
        self, replication_group_id: str, elasticache: Any = None, connect: Connect | None = None
    ) -> None:
        self.group_id = replication_group_id
        self.elasticache = elasticache or boto3.client("elasticache")
        self.connect = connect or tls_connection

    def create(self, secret: Secret, token: str) -> None:
        if secret.value(PENDING, token) is not None:
            log.info("%s: AWSPENDING version %s already holds a token", secret.id, token)
            return
        current = secret.value(CURRENT)
        if current is None:
            raise RotationError(f"{secret.id}: no AWSCURRENT version to rotate from")
        _token_of(secret, current, CURRENT)
        new = secret.random_password(TOKEN_LENGTH, ExcludePunctuation=True)
        if not is_valid_auth_token(new):
            raise RotationError(
                f"{secret.id}: the generated token breaks ElastiCache's AUTH rules; not stored"
            )
        secret.put_pending(token, {**current, "token": new})
        log.info("%s: stored a new token as AWSPENDING version %s", secret.id, token)

    def set(self, secret: Secret, token: str) -> None:
        pending = self._pending(secret, token)
        endpoint = self._endpoint(self._available_group(secret))
        if self._authenticates(endpoint, pending):
            log.info("%s: %s already accepts the pending token", secret.id, self.group_id)
            return
        self._modify(pending, "ROTATE")
        log.info("%s: %s now rotating to the pending token", secret.id, self.group_id)

    def test(self, secret: Secret, token: str) -> None:
        pending = self._pending(secret, token)
        endpoint = self._endpoint(self._available_group(secret))
        if not self._authenticates(endpoint, pending):
            raise RotationError(
                f"{secret.id}: {self.group_id} refuses the pending token at {_where(endpoint)}"
            )
        log.info("%s: the pending token authenticates to %s", secret.id, self.group_id)

    def finish(self, secret: Secret, token: str) -> None:
        pending = self._pending(secret, token)
        current = secret.value(CURRENT)
        if current is None:
            raise RotationError(f"{secret.id}: no AWSCURRENT version")
        old = _token_of(secret, current, CURRENT)
        endpoint = self._endpoint(self._available_group(secret))
        if not self._authenticates(endpoint, pending):
            # Never make AWSCURRENT a token the group refuses.
            raise RotationError(
                f"{secret.id}: {self.group_id} refuses the pending token at {_where(endpoint)}"
            )
        if old != pending and self._authenticates(endpoint, old):
            self._modify(pending, "SET")
            log.info("%s: %s set to the pending token only", secret.id, self.group_id)
        else:
            log.info("%s: %s no longer accepts the old token", secret.id, self.group_id)
        if secret.make_current(token):
            log.info("%s: version %s is now AWSCURRENT", secret.id, token)

    def _pending(self, secret: Secret, token: str) -> str:
        value = secret.value(PENDING, token)
        if value is None:
            raise RotationError(f"{secret.id}: AWSPENDING version {token} has no value")
        pending = _token_of(secret, value, PENDING)
        if not is_valid_auth_token(pending):
            raise RotationError(
                f"{secret.id}: the AWSPENDING token breaks ElastiCache's AUTH rules"
            )
        return pending

    def _available_group(self, secret: Secret) -> dict[str, Any]:
        """The group, if a token change can be checked or made now. Anything else is a
        RotationError that Secrets Manager retries: a step never waits."""
        try:
            answer = self.elasticache.describe_replication_groups(ReplicationGroupId=self.group_id)
        except self.elasticache.exceptions.ReplicationGroupNotFoundFault:
            raise RotationError(
                f"{secret.id}: replication group {self.group_id} not found"
            ) from None
        group = answer["ReplicationGroups"][0]
        if not group.get("TransitEncryptionEnabled"):
            raise RotationError(
                f"{secret.id}: {self.group_id} has TransitEncryptionEnabled false; "
                "AUTH needs TLS, refusing to rotate"
            )
        status = group.get("Status")
        if status != "available":
            raise RotationError(
                f"{secret.id}: {self.group_id} is {status} "
                "(a modification is still being applied); retried"
            )
        change = group.get("PendingModifiedValues", {}).get("AuthTokenStatus")
        if change:
            raise RotationError(f"{secret.id}: {self.group_id} is still {change}; retried")
        return group

    def _endpoint(self, group: dict[str, Any]) -> tuple[str, int]:
        """The primary endpoint, or the configuration endpoint in cluster mode."""
        endpoint = group.get("ConfigurationEndpoint")
        if not endpoint:
            node_groups = group.get("NodeGroups") or [{}]
            endpoint = node_groups[0].get("PrimaryEndpoint")
        if not endpoint or not endpoint.get("Address") or not endpoint.get("Port"):
            raise RotationError(f"{self.group_id}: no primary or configuration endpoint")
        return endpoint["Address"], endpoint["Port"]

    def _authenticates(self, endpoint: tuple[str, int], token: str) -> bool:
        """AUTH then PING over TLS. A refused token is False; anything else a RotationError
        naming only the endpoint (redis-py's messages are not passed on)."""
        host, port = endpoint
        client = self.connect(host, port, token)
        try:
            return client.ping() is True
        except redis.AuthenticationError:
            return False
        except redis.RedisError as error:
            raise RotationError(
                f"{self.group_id}: cannot use {_where(endpoint)} over TLS ({type(error).__name__})"
            ) from None
        finally:
            client.close()

    def _modify(self, token: str, strategy: str) -> None:
        self.elasticache.modify_replication_group(
            ReplicationGroupId=self.group_id,
            AuthToken=token,
            AuthTokenUpdateStrategy=strategy,
            ApplyImmediately=True,
        )


def _token_of(secret: Secret, value: dict[str, Any], stage: str) -> str:
    token = value.get("token")
    if not isinstance(token, str) or not token:
        raise RotationError(f'{secret.id}: the {stage} version has no "token" string')
    return token


def _where(endpoint: tuple[str, int]) -> str:
    return f"{endpoint[0]}:{endpoint[1]}"
