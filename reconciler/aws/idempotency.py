"""The DynamoDB table behind Powertools idempotency: one record per event handled, so a
repeated delivery (an EventBridge retry, a redelivered webhook) is done once.

Kept apart from the status table so a no-op reconcile's Scan never reads event records.
Created on first use when missing (as the status table is), with TTL on `expiration` so
records expire by themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from reconciler.aws import session

DEFAULT_TABLE = "gitops-reconciler-idempotency"
KEY = "id"
EXPIRY = "expiration"


def persistence_from_env(env: Mapping[str, str] = os.environ) -> DynamoDBPersistenceLayer:
    """IDEMPOTENCY_TABLE names the table (default gitops-reconciler-idempotency)."""
    name = env.get("IDEMPOTENCY_TABLE") or DEFAULT_TABLE
    client = session.client("dynamodb")
    ensure_table(client, name)
    return DynamoDBPersistenceLayer(
        table_name=name, key_attr=KEY, expiry_attr=EXPIRY, boto3_client=client
    )


def ensure_table(client: Any, name: str) -> bool:
    """Create the table unless it exists; True when it was created now."""
    with session.aws_errors():
        try:
            client.describe_table(TableName=name)
            return False
        except client.exceptions.ResourceNotFoundException:
            pass
        with suppress(client.exceptions.ResourceInUseException):  # another container's
            client.create_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                SSESpecification={"Enabled": True},
            )
        client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
        )
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRY}
        )
    return True
