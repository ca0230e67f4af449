"""The status store on DynamoDB: one item per stack, keyed by `stack_name`, holding the
StackStatus fields and the stack's lease (`lease_owner`, `lease_expires` in epoch
seconds) with its deferral (`deferred_revision`). Status writes and lease writes touch
disjoint attributes, so neither can undo the other; the lease is taken with one
conditional write, so two Lambdas racing for the same stack cannot both win."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import fields
from typing import Any, TypeVar, get_type_hints

from reconciler.aws import session
from reconciler.errors import AwsError
from reconciler.status import CONTROL_FIELDS, Phase, StackStatus, now

DEFAULT_TABLE = "gitops-reconciler"
KEY = "stack_name"
_TYPES = get_type_hints(StackStatus)
DEFERRED = "deferred_revision"  # lease-side attribute, read into StackStatus, never put
CHANGED = "changed_at"  # written by note_change alone, read into StackStatus, never put
STATUS_FIELDS = tuple(
    f.name for f in fields(StackStatus) if f.name not in (KEY, DEFERRED, CHANGED, *CONTROL_FIELDS)
)
T = TypeVar("T")


class DynamoStatusStore:
    """StatusStore on one DynamoDB table, created on first use if it is missing (a new
    installation then needs no setup step; the description says it happened)."""

    def __init__(
        self,
        table_name: str,
        region: str | None = None,
        client: Any = None,
        create_if_missing: bool = True,
        clock: Callable[[], float] = time.time,
        *,
        default_name_used: bool = False,
    ) -> None:
        self.table_name = table_name
        self._client = client or session.client("dynamodb", region)
        self.region: str = self._client.meta.region_name
        self._create_if_missing = create_if_missing
        self._clock = clock
        self._default_name_used = default_name_used
        self.created = False
        self.description = self._describe()

    def get(self, stack_name: str) -> StackStatus | None:
        """None also for an item that holds only a lease: no status was ever recorded."""
        response = self._call(
            lambda: self._client.get_item(
                TableName=self.table_name, Key=_key(stack_name), ConsistentRead=True
            )
        )
        item = response.get("Item")
        return _status(item) if item and _has_status(item) else None

    def all(self) -> list[StackStatus]:
        def scan() -> list[StackStatus]:
            pages = self._client.get_paginator("scan").paginate(
                TableName=self.table_name, ConsistentRead=True
            )
            return [_status(item) for page in pages for item in page["Items"] if _has_status(item)]

        return sorted(self._call(scan), key=lambda s: s.stack_name)

    def existing(self, only: tuple[str, ...] = ()) -> list[StackStatus]:
        """As `all`, but never creates the table: none while it does not exist (a
        `plan` writes nothing). With `only`, just those fields are read (the rest keep
        their defaults): a smaller Scan, fewer read units."""
        missing = self._client.exceptions.ResourceNotFoundException
        projection = {}
        if only:
            names = {f"#f{i}": name for i, name in enumerate((KEY, *only))}
            projection = {
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
        with session.aws_errors():
            try:
                pages = self._client.get_paginator("scan").paginate(
                    TableName=self.table_name, ConsistentRead=True, **projection
                )
                items = [item for page in pages for item in page["Items"]]
            except missing:
                return []
        found = [_status(item) for item in items if _has_status(item)]
        return sorted(found, key=lambda s: s.stack_name)

    def put(self, status: StackStatus) -> None:
        # SET of the status fields only: the lease attributes stay as they are.
        attributes = {name: str(getattr(status, name)) for name in STATUS_FIELDS}
        self._update(
            status.stack_name,
            UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in attributes),
            ExpressionAttributeNames={f"#{n}": n for n in attributes},
            ExpressionAttributeValues={f":{n}": {"S": v} for n, v in attributes.items()},
        )

    def acquire(self, stack_name: str, owner: str, seconds: int) -> bool:
        now = int(self._clock())
        taken = self._update(
            stack_name,
            UpdateExpression=(
                f"SET lease_owner = :owner, lease_expires = :expires REMOVE {DEFERRED}"
            ),
            ConditionExpression=(
                "attribute_not_exists(lease_owner) OR lease_expires < :now OR lease_owner = :owner"
            ),
            ExpressionAttributeValues={
                ":owner": {"S": owner},
                ":expires": {"N": str(now + seconds)},
                ":now": {"N": str(now)},
            },
        )
        return taken is not None

    def release(self, stack_name: str, owner: str) -> bool:
        """Releasing a lease this owner does not hold (expired and taken over) does nothing."""
        item = self._update(
            stack_name,
            UpdateExpression="REMOVE lease_owner, lease_expires",
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues={":owner": {"S": owner}},
            ReturnValues="ALL_NEW",
        )
        return bool(item and DEFERRED in item)

    def defer(self, stack_name: str, revision: str) -> None:
        self._update(
            stack_name,
            UpdateExpression=f"SET {DEFERRED} = :revision",
            ExpressionAttributeValues={":revision": {"S": revision or "unknown"}},
        )

    def note_change(self, stack_name: str, at: str) -> None:
        self._update(
            stack_name,
            UpdateExpression=f"SET {CHANGED} = :at",
            ConditionExpression=(
                f"attribute_exists({KEY}) AND (attribute_not_exists({CHANGED}) OR {CHANGED} < :at)"
            ),
            ExpressionAttributeValues={":at": {"S": at}},
        )

    def claim_detection(self, stack_name: str, at: str, stale_before: str) -> bool:
        taken = self._update(
            stack_name,
            UpdateExpression="SET drift_status = :detecting, drift_started_at = :at",
            ConditionExpression=(
                f"attribute_exists({KEY}) AND (attribute_not_exists(drift_status) "
                "OR drift_status <> :detecting OR attribute_not_exists(drift_started_at) "
                "OR drift_started_at < :stale)"
            ),
            ExpressionAttributeValues={
                ":detecting": {"S": "DETECTING"},
                ":at": {"S": at},
                ":stale": {"S": stale_before},
            },
        )
        return taken is not None

    def approve(
        self, stack_name: str, by: str, change_set: str, revision: str, at: str = ""
    ) -> bool:
        values = {"by": by, "at": at or now(), "cs": change_set, "rev": revision}
        taken = self._update(
            stack_name,
            UpdateExpression=(
                "SET approved_by = :by, approved_at = :at, approved_change_set = :cs, "
                "approved_revision = :rev"
            ),
            ConditionExpression=("#phase IN (:awaiting, :window) AND #cs = :cs AND #rev = :rev"),
            ExpressionAttributeNames={
                "#phase": "phase",
                "#cs": "change_set",
                "#rev": "attempted_revision",
            },
            ExpressionAttributeValues={
                **{f":{k}": {"S": v} for k, v in values.items()},
                ":awaiting": {"S": Phase.AWAITING_APPROVAL.value},
                ":window": {"S": Phase.WAITING_FOR_WINDOW.value},
            },
        )
        return taken is not None

    def suspend(self, stack_name: str, by: str, reason: str) -> None:
        values = {":by": by, ":at": now(), ":reason": reason}
        self._update(
            stack_name,
            UpdateExpression=(
                "SET suspended_by = :by, suspended_at = :at, suspended_reason = :reason"
            ),
            ExpressionAttributeValues={k: {"S": v} for k, v in values.items()},
        )

    def resume(self, stack_name: str) -> None:
        self._update(
            stack_name, UpdateExpression="REMOVE suspended_by, suspended_at, suspended_reason"
        )

    def _update(self, stack_name: str, **kwargs: Any) -> dict[str, Any] | None:
        """One UpdateItem: the item's attributes (when asked with ReturnValues, else {}),
        or None when its condition did not hold."""
        failed = self._client.exceptions.ConditionalCheckFailedException

        def update() -> dict[str, Any] | None:
            try:
                response = self._client.update_item(
                    TableName=self.table_name, Key=_key(stack_name), **kwargs
                )
            except failed:
                return None
            return response.get("Attributes", {})

        return self._call(update)

    def _call(self, run: Callable[[], T]) -> T:
        """Run one call, creating the table if it is missing. Costs nothing extra while
        the table exists."""
        return call_creating(self._client, run, self._create_table)

    def _create_table(self) -> None:
        if not self._create_if_missing:
            where = f"DynamoDB table '{self.table_name}' in {self.region}"
            raise AwsError(f"{where} does not exist (set RECONCILER_TABLE to an existing table)")
        self.created = create_table(self._client, self.table_name, [(KEY, "HASH")])
        self.description = self._describe()

    def _describe(self) -> str:
        where = f"DynamoDB table '{self.table_name}' in {self.region}"
        if self.created and self._default_name_used:
            return f"{where} (created now: RECONCILER_TABLE was not set)"
        if self.created:
            return f"{where} (created now)"
        if self._default_name_used:
            return f"{where} (default name: RECONCILER_TABLE was not set)"
        return where


def call_creating(client: Any, run: Callable[[], T], create: Callable[[], None]) -> T:
    """Run one call; if its table is missing, `create` it and run the call once more.
    Every botocore error leaves as one AwsError (session.aws_errors)."""
    with session.aws_errors():
        try:
            return run()
        except client.exceptions.ResourceNotFoundException:
            create()
        return run()


def create_table(client: Any, name: str, keys: list[tuple[str, str]], **extra: Any) -> bool:
    """Create a table of string keys ((attribute, HASH|RANGE), ...), on demand and
    encrypted, and wait until it exists; whether this call created it (False when
    another process was creating it at the same time: it is waited for like ours)."""
    try:
        client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in keys],
            KeySchema=[{"AttributeName": a, "KeyType": kind} for a, kind in keys],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True},
            **extra,
        )
        created = True
    except client.exceptions.ResourceInUseException:
        created = False
    client.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
    )
    return created


def store_from_env(
    env: Mapping[str, str] = os.environ, *, create_if_missing: bool = True
) -> DynamoStatusStore:
    name = env.get("RECONCILER_TABLE", "")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    return DynamoStatusStore(
        name or DEFAULT_TABLE,
        region,
        create_if_missing=create_if_missing,
        default_name_used=not name,
    )


def _key(stack_name: str) -> dict[str, dict[str, str]]:
    return {KEY: {"S": stack_name}}


def _has_status(item: Mapping[str, Any]) -> bool:
    return any(name in item for name in (*STATUS_FIELDS, *CONTROL_FIELDS))


def _status(item: Mapping[str, Any]) -> StackStatus:
    """Missing attributes take the dataclass defaults; unknown ones (the lease, or fields
    a newer version added) are ignored; an enum value this version does not know too."""
    values: dict[str, Any] = {}
    for name in (*STATUS_FIELDS, *CONTROL_FIELDS, DEFERRED, CHANGED):
        raw = item.get(name, {}).get("S")
        if raw is not None:
            with suppress(ValueError):
                values[name] = _TYPES[name](raw)
    return StackStatus(stack_name=item[KEY]["S"], **values)
