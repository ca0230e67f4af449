"""DynamoStatusStore against moto's DynamoDB."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from reconciler.aws.dynamodb import DynamoStatusStore, store_from_env
from reconciler.errors import AwsError
from reconciler.status import Health, Phase, StackStatus, Sync

pytestmark = pytest.mark.usefixtures("aws")

TABLE = "status-test"


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> DynamoStatusStore:
    return DynamoStatusStore(TABLE, "us-east-1", clock=clock)


def item(stack_name: str) -> dict:
    return {"stack_name": {"S": stack_name}, "sync": {"S": "Synced"}}


def dynamodb():
    return boto3.client("dynamodb", region_name="us-east-1")


def test_missing_table_is_created_encrypted_on_demand_and_the_description_says_so(store):
    """GIVEN no table WHEN the store is first used THEN the table exists, billed per
    request, encrypted, and the description tells it was created now."""
    assert store.get("pci-db-prod") is None

    table = dynamodb().describe_table(TableName=TABLE)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["KeySchema"] == [{"AttributeName": "stack_name", "KeyType": "HASH"}]
    assert store.description == f"DynamoDB table '{TABLE}' in us-east-1 (created now)"


def test_existing_table_is_used_and_the_description_does_not_claim_it_was_created(clock):
    """GIVEN a table made by a first store WHEN a second store uses it THEN the second
    store's description names the table without '(created now)'."""
    DynamoStatusStore(TABLE, "us-east-1", clock=clock).all()

    second = DynamoStatusStore(TABLE, "us-east-1", clock=clock)
    second.all()

    assert second.description == f"DynamoDB table '{TABLE}' in us-east-1"


def test_missing_table_without_create_if_missing_is_an_aws_error_naming_it():
    """GIVEN no table and create_if_missing=False WHEN the store is used THEN an AwsError
    names the table, and no table is created."""
    store = DynamoStatusStore(TABLE, "us-east-1", create_if_missing=False)

    with pytest.raises(AwsError, match=f"'{TABLE}' in us-east-1 does not exist"):
        store.get("pci-db-prod")
    assert dynamodb().list_tables()["TableNames"] == []


def test_put_then_get_returns_the_same_status(store):
    """GIVEN a status with every field set WHEN put and read back THEN it is equal."""
    status = StackStatus(
        stack_name="pci-db-prod",
        region="eu-west-1",
        sync=Sync.BLOCKED,
        health=Health.DEGRADED,
        phase=Phase.BLOCKED,
        desired_hash="sha256:abc",
        attempted_revision="c0ffee",
        applied_revision="beef00",
        change_set="arn:aws:cloudformation:eu-west-1:123456789012:changeSet/x/1",
        message="replacement of Database blocked",
        updated_at="2025-01-02T03:04:05Z",
    )

    store.put(status)

    assert store.get("pci-db-prod") == status


def test_get_tolerates_missing_and_unknown_attributes(store):
    """GIVEN an item written by another version (one field missing, an unknown field, an
    unknown enum value) WHEN read THEN defaults fill the gaps and the rest is kept."""
    store.all()  # creates the table
    dynamodb().put_item(
        TableName=TABLE,
        Item={
            "stack_name": {"S": "pci-db-prod"},
            "sync": {"S": "Synced"},
            "health": {"S": "SomethingNew"},
            "future_field": {"S": "x"},
        },
    )

    assert store.get("pci-db-prod") == StackStatus("pci-db-prod", sync=Sync.SYNCED)


def test_put_keeps_the_lease_held_on_the_stack(store):
    """GIVEN A holds the lease WHEN a status is put for the stack THEN B still cannot
    take the lease."""
    assert store.acquire("pci-db-prod", "A", 60)

    store.put(StackStatus("pci-db-prod", phase=Phase.APPLYING))

    assert not store.acquire("pci-db-prod", "B", 60)


def test_a_stack_that_only_holds_a_lease_has_no_status(store):
    """GIVEN a lease but no status ever put WHEN read THEN get is None and all() is empty."""
    store.acquire("pci-db-prod", "A", 60)

    assert (store.get("pci-db-prod"), store.all()) == (None, [])


def test_all_returns_every_status_put(store):
    """GIVEN three statuses put WHEN all() THEN all three come back."""
    for name in ("pci-db-staging", "pci-db-dev", "pci-db-prod"):
        store.put(StackStatus(name))

    assert [s.stack_name for s in store.all()] == ["pci-db-dev", "pci-db-prod", "pci-db-staging"]


def test_all_reads_every_scan_page_and_sorts_by_stack_name():
    """GIVEN a Scan answered in two pages in hash order, not name order (moto always
    sorts, so botocore's Stubber plays DynamoDB) WHEN all() THEN every item comes back,
    sorted by stack name."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "scan",
            {
                "Items": [item("pci-db-staging"), item("pci-db-dev")],
                "LastEvaluatedKey": {"stack_name": {"S": "pci-db-dev"}},
            },
            {"TableName": TABLE, "ConsistentRead": True},
        )
        stub.add_response(
            "scan",
            {"Items": [item("pci-db-prod")]},
            {
                "TableName": TABLE,
                "ConsistentRead": True,
                "ExclusiveStartKey": {"stack_name": {"S": "pci-db-dev"}},
            },
        )

        statuses = DynamoStatusStore(TABLE, client=client).all()

        stub.assert_no_pending_responses()
    assert [s.stack_name for s in statuses] == ["pci-db-dev", "pci-db-prod", "pci-db-staging"]


def test_acquire_fails_while_another_owner_holds_the_lease(store):
    """GIVEN A holds the lease WHEN B asks for it THEN B is refused."""
    assert store.acquire("pci-db-prod", "A", 60)

    assert not store.acquire("pci-db-prod", "B", 60)


def test_acquire_succeeds_once_the_other_owners_lease_expired(store, clock):
    """GIVEN A's 60 s lease WHEN B asks 61 s later THEN B gets it, and A is then refused."""
    store.acquire("pci-db-prod", "A", 60)
    clock.now += 61

    assert store.acquire("pci-db-prod", "B", 60)
    assert not store.acquire("pci-db-prod", "A", 60)


def test_acquire_is_refused_just_before_expiry(store, clock):
    """GIVEN A's 60 s lease WHEN B asks 59 s later THEN B is refused."""
    store.acquire("pci-db-prod", "A", 60)
    clock.now += 59

    assert not store.acquire("pci-db-prod", "B", 60)


def test_owner_can_acquire_its_own_lease_again(store):
    """GIVEN A holds the lease WHEN A asks again (a retried event) THEN it succeeds."""
    store.acquire("pci-db-prod", "A", 60)

    assert store.acquire("pci-db-prod", "A", 60)


def test_release_by_another_owner_leaves_the_lease_in_place(store):
    """GIVEN A holds the lease WHEN B releases it THEN nothing happens: C is still refused."""
    store.acquire("pci-db-prod", "A", 60)

    store.release("pci-db-prod", "B")

    assert not store.acquire("pci-db-prod", "C", 60)


def test_release_by_the_owner_lets_another_owner_acquire(store):
    """GIVEN A holds the lease WHEN A releases it THEN B can take it at once."""
    store.acquire("pci-db-prod", "A", 60)

    store.release("pci-db-prod", "A")

    assert store.acquire("pci-db-prod", "B", 60)


def test_release_of_an_unknown_stack_writes_nothing(store):
    """GIVEN no item for the stack WHEN released THEN no item is created."""
    store.release("pci-db-prod", "A")

    assert dynamodb().scan(TableName=TABLE)["Items"] == []


def test_store_from_env_uses_the_default_table_and_says_so():
    """GIVEN RECONCILER_TABLE unset WHEN the store is used THEN table gitops-reconciler is
    created and the description says the default name was used and created now."""
    store = store_from_env({})
    store.all()

    assert store.table_name == "gitops-reconciler"
    assert store.description == (
        "DynamoDB table 'gitops-reconciler' in us-east-1 "
        "(created now: RECONCILER_TABLE was not set)"
    )


def test_store_from_env_says_the_default_was_used_for_an_existing_table():
    """GIVEN RECONCILER_TABLE unset and the default table present WHEN used THEN the
    description says the default was used and does not claim it was created."""
    store_from_env({}).all()

    store = store_from_env({})
    store.all()

    assert store.description == (
        "DynamoDB table 'gitops-reconciler' in us-east-1 "
        "(default name: RECONCILER_TABLE was not set)"
    )


def test_store_from_env_uses_the_table_and_region_named_in_the_environment():
    """GIVEN RECONCILER_TABLE and AWS_REGION set WHEN the store is used THEN that table is
    created in that region."""
    store = store_from_env({"RECONCILER_TABLE": "team-status", "AWS_REGION": "eu-west-1"})
    store.all()

    tables = boto3.client("dynamodb", region_name="eu-west-1").list_tables()["TableNames"]
    assert (store.table_name, tables) == ("team-status", ["team-status"])
    assert store.description == "DynamoDB table 'team-status' in eu-west-1 (created now)"


def test_existing_with_only_reads_just_those_fields_and_the_stack_name(store):
    """GIVEN a full status record WHEN `existing(only=(region, account, role_arn))` reads
    the table (what `plan` needs: where each stack lives) THEN the Scan asks for those
    fields alone, they come back, and every other field keeps its default."""
    store.put(
        StackStatus(
            "pci-db-eu",
            sync=Sync.SYNCED,
            health=Health.HEALTHY,
            region="eu-west-1",
            account="222222222222",
            role_arn="arn:aws:iam::222222222222:role/gitops-reconciler-member",
            message="applied",
        )
    )
    asked = []
    store._client.meta.events.register(
        "before-parameter-build.dynamodb.Scan", lambda params, **_: asked.append(params)
    )

    (found,) = store.existing(only=("region", "account", "role_arn"))

    assert (found.stack_name, found.region, found.account) == (
        "pci-db-eu",
        "eu-west-1",
        "222222222222",
    )
    assert found.role_arn.endswith(":role/gitops-reconciler-member")
    assert (found.message, found.sync, found.health) == ("", Sync.OUT_OF_SYNC, Health.UNKNOWN)
    assert sorted(asked[0]["ExpressionAttributeNames"].values()) == [
        "account",
        "region",
        "role_arn",
        "stack_name",
    ]


def test_existing_with_only_is_empty_while_the_table_does_not_exist():
    """GIVEN no table WHEN `plan` reads the places THEN none, and no table is created."""
    store = DynamoStatusStore("no-such-table", "us-east-1", create_if_missing=False)

    assert store.existing(only=("region",)) == []
    assert "no-such-table" not in dynamodb().list_tables()["TableNames"]
