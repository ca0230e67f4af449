"""TransactWriteItems on the local AWS server backs up only the items it names and keeps
no copy afterwards (`localaws.dynamodb_transactions`), and a cancelled transaction still
leaves every table as it was, as on AWS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws.dynamodb_transactions import tracked_instances

Client = Callable[[str], Any]


def _table(client: Client, ranged: bool = False) -> str:
    name = f"tx-{uuid.uuid4().hex[:8]}"
    keys = [("pk", "HASH"), *([("sk", "RANGE")] if ranged else [])]
    client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": a, "KeyType": t} for a, t in keys],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in keys],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _key(pk: str, sk: str | None = None) -> dict[str, Any]:
    return {"pk": {"S": pk}, **({"sk": {"S": sk}} if sk is not None else {})}


def _fill(client: Client, table: str, count: int) -> None:
    for i in range(count):
        client("dynamodb").put_item(TableName=table, Item={**_key(f"old-{i}"), "v": {"S": "x"}})


def _put(table: str, pk: str, sk: str | None = None) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": {**_key(pk, sk), "v": {"S": "new"}}}}


def _kept_by(client: Client, table: str, transactions: int) -> int:
    before = tracked_instances()
    for n in range(transactions):
        client("dynamodb").transact_write_items(TransactItems=[_put(table, f"tx-{n}")])
    return tracked_instances() - before


def test_what_a_transaction_keeps_does_not_grow_with_its_table(local_aws_client: Client):
    # GIVEN a table of 5 items and one of 200
    small, large = _table(local_aws_client), _table(local_aws_client)
    _fill(local_aws_client, small, 5)
    _fill(local_aws_client, large, 200)
    # WHEN the same three one-item transactions write to each
    kept_small = _kept_by(local_aws_client, small, 3)
    kept_large = _kept_by(local_aws_client, large, 3)
    # THEN the server keeps as much for both: the items written, no copy of either table
    assert kept_large == kept_small
    assert kept_large < 200


def _cancelled(client: Client, items: list[dict[str, Any]]) -> str:
    with pytest.raises(ClientError) as raised:
        client("dynamodb").transact_write_items(TransactItems=items)
    return raised.value.response["Error"]["Code"]


def _items(client: Client, table: str) -> dict[str, str]:
    found = client("dynamodb").scan(TableName=table)["Items"]
    return {
        "/".join(v["S"] for k, v in sorted(i.items()) if k in ("pk", "sk")): i["v"]["S"]
        for i in found
    }


def test_a_cancelled_transaction_leaves_the_table_as_it_was(local_aws_client: Client):
    # GIVEN a table of three items
    table = _table(local_aws_client)
    _fill(local_aws_client, table, 3)
    before = _items(local_aws_client, table)
    # WHEN a transaction puts one, updates one in place, deletes one, and a condition fails
    code = _cancelled(
        local_aws_client,
        [
            _put(table, "brand-new"),
            {
                "Update": {
                    "TableName": table,
                    "Key": _key("old-0"),
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "changed"}},
                }
            },
            {"Delete": {"TableName": table, "Key": _key("old-1")}},
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": _key("old-2"),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ],
    )
    # THEN it is cancelled and every item is as it was
    assert code == "TransactionCanceledException"
    assert _items(local_aws_client, table) == before


def test_a_cancelled_transaction_leaves_a_table_with_a_range_key_as_it_was(
    local_aws_client: Client,
):
    # GIVEN two items under one hash key
    table = _table(local_aws_client, ranged=True)
    for sk in ("a", "b"):
        local_aws_client("dynamodb").put_item(
            TableName=table, Item={**_key("p", sk), "v": {"S": "x"}}
        )
    before = _items(local_aws_client, table)
    # WHEN a transaction deletes one, adds a third beside them, and a condition fails
    code = _cancelled(
        local_aws_client,
        [
            {"Delete": {"TableName": table, "Key": _key("p", "a")}},
            _put(table, "p", "c"),
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": _key("p", "b"),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ],
    )
    # THEN both items are as they were, and the third is not there
    assert code == "TransactionCanceledException"
    assert _items(local_aws_client, table) == before


def test_a_transaction_that_succeeds_writes_every_item(local_aws_client: Client):
    # GIVEN a table of one item
    table = _table(local_aws_client)
    _fill(local_aws_client, table, 1)
    # WHEN a transaction puts two and deletes the first
    local_aws_client("dynamodb").transact_write_items(
        TransactItems=[
            _put(table, "a"),
            _put(table, "b"),
            {"Delete": {"TableName": table, "Key": _key("old-0")}},
        ]
    )
    # THEN the table holds exactly the two new items
    assert _items(local_aws_client, table) == {"a": "new", "b": "new"}
