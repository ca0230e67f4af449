"""DynamoDB transactions that cost what their items cost, and keep nothing afterwards.

AWS behaviour: TransactWriteItems is all or nothing, and costs what its items cost; the
size of the tables it writes to does not make it dearer, and nothing of it is kept once
it is done.

moto 5.2.5 backs a transaction up by deep-copying every table it writes to (the copy is
put back if the transaction is cancelled), and copies an item before each UpdateItem. Its
`BaseModel` also records every object ever made, for its dashboard, until
`/moto-api/reset`, so each copy stays. Every TransactWriteItems therefore costs time and
keeps memory in proportion to its tables' size (on a table of 2,000 items of 300 bytes,
measured: 60 ms and 4.6 MB a transaction). The reconciler appends its audit records in
transactions, to an audit table that only grows: a long run slows down and grows the
server's memory quadratically (`bench/fanout.py` at 500 stacks had the server killed by
the kernel at 22 GB).

`install()` makes the backup copy the table's item index and only the items the
transaction names (a Put's item, an Update's, Delete's or ConditionCheck's key), which is
all a transaction can change, and stops moto from recording the copies that
`moto.dynamodb.models` makes (only the dashboard, which localaws does not serve, reads
those records). A cancelled transaction still leaves every table as it was.
"""

from __future__ import annotations

import copy as _copy
import threading
from collections.abc import Mapping, Sequence
from typing import Any

_INSTALLED_MARK = "_localaws_dynamodb_transactions"
_copying = threading.local()  # .on: copies are not recorded; .keys: the transaction's


class _UntrackedCopies:
    """The `copy` module as `moto.dynamodb.models` sees it: deep copies it makes are not
    recorded by moto's BaseModel."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        outer = getattr(_copying, "on", False)
        _copying.on = True
        try:
            keys = getattr(_copying, "keys", None)
            if keys is not None and isinstance(value, Table):
                return _rollback_copy(value, keys.get(value.name, ()))
            return _copy.deepcopy(value, memo)
        finally:
            _copying.on = outer


def _rollback_copy(table: Any, keys: Sequence[Mapping[str, Any]]) -> Any:
    """What a transaction needs to put `table` back: its attributes, its item index, and
    a deep copy of the items under the hash keys the transaction names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    backup = _copy.copy(table)
    items = _copy.copy(table.items)
    if table.range_key_attr is not None:
        for hash_key, ranged in items.items():
            items[hash_key] = dict(ranged)
    for key in keys:
        if table.hash_key_attr in key:
            hash_key = DynamoType(key[table.hash_key_attr])
            if hash_key in table.items:
                items[hash_key] = _copy.deepcopy(table.items[hash_key])
    backup.items = items
    if table.stream_shard is not None:
        backup.stream_shard = _copy.deepcopy(table.stream_shard)
    return backup


def _keys(transact_items: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Table name -> the keys (or whole items) a transaction's operations name."""
    keys: dict[str, list[Mapping[str, Any]]] = {}
    for entry in transact_items:
        for operation in entry.values():
            if isinstance(operation, Mapping) and operation.get("TableName"):
                key = operation.get("Key") or operation.get("Item") or {}
                keys.setdefault(operation["TableName"], []).append(key)
    return keys


def tracked_instances() -> int:
    """How many DynamoDB model objects moto records now (for tests)."""
    from moto.core.model_instances import model_data

    return sum(len(model.instances_tracked) for model in model_data["dynamodb"].values())


def install() -> None:
    """Transactions back up only what they name, and their copies are not kept. Safe to
    call again."""
    from moto.core.common_models import BaseModel
    from moto.dynamodb import models

    if BaseModel.__dict__.get(_INSTALLED_MARK):
        return
    moto_new = BaseModel.__new__

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        if getattr(_copying, "on", False):
            return object.__new__(cls)
        return moto_new(cls, *args, **kwargs)

    moto_transact = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _copying.keys = _keys(transact_items)
        try:
            moto_transact(self, transact_items)
        finally:
            _copying.keys = None

    BaseModel.__new__ = staticmethod(__new__)  # type: ignore[method-assign,assignment]
    models.copy = _UntrackedCopies()  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items
    setattr(BaseModel, _INSTALLED_MARK, True)
