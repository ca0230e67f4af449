"""The pure parts of fan-out and accounts (issue 18): a work item and its wire form,
what a message that is not one gets, what a stack worker narrows a desired state to,
and the names and ARNs of reconciler/accounts.py. No AWS."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from localaws.lambda_context import LambdaContext
from reconciler.accounts import (
    MEMBER_EXECUTION_ROLE,
    MEMBER_ROLE,
    Place,
    execution_role_arn,
    partition,
    role_arn,
    session_name,
)
from reconciler.desired import load_desired_state
from reconciler.fanout import MAX_BODY, Collected, WorkItem, WorkItemError
from reconciler.validation import validate
from tests.repo import STACK, TEMPLATE, make_repo

FULLWIDTH = "\uff12" * 12  # twelve FULLWIDTH DIGIT TWO: \d matches them
REVISION = "0123456789abcdef0123456789abcdef01234567"
ITEM = {"stack": "app-dev", "revision": REVISION, "account": "", "region": "us-east-1"}


def body(**changes) -> str:
    return json.dumps(ITEM | changes)


# --- the item on the wire ---------------------------------------------------------------


def test_an_items_body_is_the_json_object_the_contract_names_and_parses_back():
    item = WorkItem("app-dev", REVISION, "222222222222", "eu-west-1")
    assert json.loads(item.body()) == {
        "stack": "app-dev", "revision": REVISION, "account": "222222222222", "region": "eu-west-1",
    }  # fmt: skip
    assert WorkItem.parse(item.body()) == item


def test_the_message_group_is_the_stack_so_one_stacks_items_are_handed_out_in_order():
    assert WorkItem("app-dev", REVISION, "", "us-east-1").group_id == "app-dev"
    assert WorkItem("app-dev", "f" * 40, "222222222222", "eu-west-1").group_id == "app-dev"


def test_the_deduplication_id_is_the_sha256_of_stack_at_revision():
    item = WorkItem("app-dev", REVISION, "", "us-east-1")
    assert item.dedup_id == hashlib.sha256(f"app-dev@{REVISION}".encode()).hexdigest()
    assert len(item.dedup_id) <= 128  # SQS's limit for MessageDeduplicationId


def test_only_the_same_stack_at_the_same_commit_shares_a_deduplication_id():
    item = WorkItem("app-dev", REVISION, "", "us-east-1")
    assert WorkItem("app-dev", REVISION, "222222222222", "eu-west-1").dedup_id == item.dedup_id
    assert WorkItem("app-dev", "f" * 40, "", "us-east-1").dedup_id != item.dedup_id
    assert WorkItem("app-prod", REVISION, "", "us-east-1").dedup_id != item.dedup_id
    # "a@b" + "c" and "a" + "b@c" must not meet: a stack name holds no "@"
    assert WorkItem("app", "dev" + REVISION).dedup_id != WorkItem("app-dev", REVISION).dedup_id


def test_the_sample_sqs_event_holds_a_work_item_with_its_contract_ids():
    """tests/events/sqs_work_item.json is shaped as Lambda hands SQS records over."""
    from pathlib import Path

    event = json.loads((Path(__file__).parent.parent / "events" / "sqs_work_item.json").read_text())
    (record,) = event["Records"]
    item = WorkItem.parse(record["body"])
    assert record["attributes"]["MessageGroupId"] == item.group_id
    assert record["attributes"]["MessageDeduplicationId"] == item.dedup_id
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()


def test_collected_keeps_the_items_sent_in_order():
    queue = Collected()
    first, second = WorkItem("a", REVISION), WorkItem("b", REVISION)
    queue.send([first])
    queue.send([second])
    assert queue.items == [first, second]


# --- a message that is not a work item ----------------------------------------------------

REFUSED = [
    pytest.param(None, "JSON object of at most 1 KiB", id="no-body"),
    pytest.param(b'{"stack": "app-dev"}', "JSON object of at most 1 KiB", id="bytes"),
    pytest.param("stack=app-dev", "a work item is JSON", id="not-json"),
    pytest.param("", "a work item is JSON", id="empty"),
    pytest.param('["app-dev"]', "has exactly: stack, revision, account, region", id="a-list"),
    pytest.param('"app-dev"', "has exactly: stack, revision, account, region", id="a-string"),
    pytest.param(
        json.dumps({k: v for k, v in ITEM.items() if k != "account"}),
        "has exactly: stack, revision, account, region",
        id="a-key-missing",
    ),
    pytest.param(
        body(role="admin"), "has exactly: stack, revision, account, region", id="extra-key"
    ),
    pytest.param(body(account=222222222222), "values are strings", id="account-a-number"),
    pytest.param(body(stack=None), "values are strings", id="stack-null"),
    pytest.param(body(region=["us-east-1"]), "values are strings", id="region-a-list"),
    pytest.param(body(stack="1app"), "'1app' is not a stack name", id="stack-starts-with-digit"),
    pytest.param(body(stack="app_dev"), "'app_dev' is not a stack name", id="stack-underscore"),
    pytest.param(body(stack="../app"), "'../app' is not a stack name", id="stack-path"),
    pytest.param(body(stack="a" * 129), "is not a stack name", id="stack-too-long"),
    pytest.param(body(stack=""), "'' is not a stack name", id="stack-empty"),
    pytest.param(body(revision=""), "'' is not a commit", id="revision-empty"),
    pytest.param(body(revision="main; rm -rf /"), "is not a commit", id="revision-not-a-sha"),
    pytest.param(body(revision="a" * 65), "is not a commit", id="revision-too-long"),
    pytest.param(body(account="12345"), "'12345' is not an account id", id="account-short"),
    pytest.param(body(account="2222222222222"), "is not an account id", id="account-13-digits"),
    pytest.param(body(account=" 222222222222"), "is not an account id", id="account-space"),
    pytest.param(body(account="22222222222a"), "is not an account id", id="account-letter"),
    pytest.param(body(account=FULLWIDTH), "is not an account id", id="account-fullwidth"),
    pytest.param(body(stack="app-dev" + " " * MAX_BODY), "at most 1 KiB", id="over-1-kib"),
]


@pytest.mark.parametrize(("raw", "said"), REFUSED)
def test_a_message_that_is_not_a_work_item_is_refused_saying_why(raw, said):
    with pytest.raises(WorkItemError) as refused:
        WorkItem.parse(raw)
    assert said in str(refused.value)


@pytest.mark.parametrize(
    "region",
    [
        pytest.param("us-east-1\nforged log line", id="newline"),
        pytest.param("../../etc", id="path"),
        pytest.param("x" * 900, id="long"),
    ],
)
def test_a_work_item_whose_region_is_not_a_region_is_refused(region):
    """The region names the queue an item is routed by and the stack's place: a value
    that cannot be an AWS region is as hostile as a bad account id."""
    with pytest.raises(WorkItemError, match="region"):
        WorkItem.parse(body(region=region))


def test_a_refusal_quotes_at_most_a_short_piece_of_a_long_value():
    with pytest.raises(WorkItemError) as refused:
        WorkItem.parse(body(stack="A-" + "x" * 900 + "_"))
    assert len(str(refused.value)) < 200


def test_a_body_of_exactly_the_limit_is_read():
    padded = body()[:-1] + " " * (MAX_BODY - len(body())) + "}"
    assert len(padded) == MAX_BODY
    assert WorkItem.parse(padded) == WorkItem("app-dev", REVISION, "", "us-east-1")


# --- what a stack worker validates ----------------------------------------------------------


def stack(name: str, depends_on: tuple[str, ...] = ()) -> str:
    text = STACK.replace("app-dev", name).replace(
        "EnvironmentSuffix: dev", f"EnvironmentSuffix: {name}"
    )
    return text + (f"depends-on: [{', '.join(depends_on)}]\n" if depends_on else "")


@pytest.fixture
def chain(tmp_path):
    """app-a <- app-b <- app-c, and an unrelated app-d."""
    files = {
        "templates/app.yml": TEMPLATE,
        "desired-state/app-a.yml": stack("app-a"),
        "desired-state/app-b.yml": stack("app-b", ("app-a",)),
        "desired-state/app-c.yml": stack("app-c", ("app-b",)),
        "desired-state/app-d.yml": stack("app-d"),
    }
    state = load_desired_state(make_repo(tmp_path, files, defaults=False))
    assert validate(state).findings == ()
    return state


def test_narrowing_to_a_stack_without_dependencies_keeps_that_stack_alone(chain):
    narrowed = chain.narrowed({"app-a"})
    assert [s.stack_name for s in narrowed.stacks] == ["app-a"]
    assert set(narrowed.templates) == {"templates/app.yml"}


def test_narrowing_to_a_stack_keeps_its_whole_dependency_chain_so_it_stays_valid(chain):
    """GIVEN app-c depends on app-b, which depends on app-a WHEN a worker narrows the
    desired state to app-c THEN app-a is kept too: without it, app-b's depends-on would
    name a stack no file declares (DS011), and a valid commit would be refused."""
    narrowed = chain.narrowed({"app-c"})
    assert sorted(s.stack_name for s in narrowed.stacks) == ["app-a", "app-b", "app-c"]
    assert validate(narrowed).findings == ()


def test_narrowing_keeps_only_the_findings_of_the_files_kept(tmp_path):
    files = {
        "templates/app.yml": TEMPLATE,
        "desired-state/app-a.yml": stack("app-a"),
        "desired-state/app-z.yml": stack("app-z") + "colour: blue\n",
    }
    state = load_desired_state(make_repo(tmp_path, files, defaults=False))
    assert [f.path for f in state.findings] == ["desired-state/app-z.yml"]
    assert state.narrowed({"app-a"}).findings == ()


# --- accounts: names and ARNs ----------------------------------------------------------------


def test_the_session_name_carries_the_commits_first_twelve_characters():
    assert session_name(REVISION) == "gitops-reconciler-0123456789ab"


def test_the_session_name_without_a_commit_says_so():
    assert session_name("") == "gitops-reconciler-no-commit"


@pytest.mark.parametrize(
    "revision",
    [
        REVISION,
        "",
        "abc",
        f"{REVISION}+dirty",
        "feature/x y;z" * 10,
        "ÿ" * 40,
        "+" * 10,
        str(uuid.UUID(int=0)),
    ],
)
def test_the_session_name_is_always_one_sts_takes(revision):
    """sts:AssumeRole's RoleSessionName: 2-64 of [\\w+=,.@-]."""
    import re

    name = session_name(revision)
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", name, re.ASCII), name
    assert name.startswith("gitops-reconciler-")


def test_the_session_name_drops_what_follows_a_plus():
    assert session_name(f"{REVISION}+dirty") == session_name(REVISION)


def test_the_default_role_is_the_one_the_member_account_template_creates():
    assert role_arn("222222222222", "eu-west-1", MEMBER_ROLE) == (
        "arn:aws:iam::222222222222:role/gitops-reconciler-member"
    )


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
    ],
)
def test_the_partition_follows_the_region(region, expected):
    assert partition(region) == expected
    assert role_arn("222222222222", region, "r").startswith(f"arn:{expected}:iam::")


@pytest.mark.parametrize(
    ("assumed", "expected"),
    [
        (
            "arn:aws:iam::222222222222:role/gitops-reconciler-member",
            f"arn:aws:iam::222222222222:role/{MEMBER_EXECUTION_ROLE}",
        ),
        (
            "arn:aws:iam::333333333333:role/teams/payments/deployer",
            f"arn:aws:iam::333333333333:role/{MEMBER_EXECUTION_ROLE}",
        ),
        (
            "arn:aws-cn:iam::222222222222:role/x",
            f"arn:aws-cn:iam::222222222222:role/{MEMBER_EXECUTION_ROLE}",
        ),
        (
            "arn:aws-us-gov:iam::222222222222:role/x",
            f"arn:aws-us-gov:iam::222222222222:role/{MEMBER_EXECUTION_ROLE}",
        ),
    ],
)
def test_the_execution_role_is_in_the_assumed_roles_account_and_partition(assumed, expected):
    assert execution_role_arn(assumed) == expected


def test_the_execution_role_name_can_be_another():
    assumed = "arn:aws:iam::222222222222:role/gitops-reconciler-member"
    assert execution_role_arn(assumed, "cfn-exec") == "arn:aws:iam::222222222222:role/cfn-exec"


@pytest.mark.parametrize(
    "not_a_role",
    [
        "",
        "gitops-reconciler-member",
        "arn:aws:iam::2222:role/x",
        "arn:aws:iam::222222222222:user/x",
        "arn:aws:sts::222222222222:assumed-role/x/session",
    ],
)
def test_no_execution_role_is_made_up_from_what_is_not_a_role_arn(not_a_role):
    assert execution_role_arn(not_a_role) == ""


def test_a_place_says_home_account_for_the_reconcilers_own():
    assert str(Place("", "us-east-1")) == "home account/us-east-1"
    assert str(Place("222222222222", "eu-west-1", "arn:aws:iam::222222222222:role/r")) == (
        "222222222222/eu-west-1"
    )


# --- the stack worker's handler, with what is not an SQS event -----------------------------


@pytest.fixture
def worker(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    from handlers import stack_worker

    def no_services():
        raise AssertionError("a message that is not a work item reached the services")

    monkeypatch.setattr(stack_worker, "services", no_services)
    monkeypatch.setattr(stack_worker, "source", no_services)
    return stack_worker.handler


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({}, id="empty"),
        pytest.param({"detail-type": "Scheduled Event", "source": "aws.events"}, id="eventbridge"),
        pytest.param({"Records": "not a list"}, id="records-not-a-list"),
        pytest.param(["Records"], id="a-list"),
        pytest.param(None, id="none"),
    ],
)
def test_the_worker_given_an_event_that_is_not_from_sqs_fails_nothing_and_raises_nothing(
    worker, event
):
    assert worker(event, LambdaContext()) == {"batchItemFailures": []}


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"messageId": "m-1", "body": "hello"}, id="body-not-json"),
        pytest.param({"messageId": "m-1", "body": body(stack="../x")}, id="bad-stack"),
        pytest.param({"messageId": "m-1", "body": body(extra="x")}, id="extra-key"),
        pytest.param({"messageId": "m-1"}, id="no-body"),
        pytest.param("not a record", id="record-not-a-mapping"),
        pytest.param(None, id="record-none"),
    ],
)
def test_the_worker_drops_a_record_that_is_not_a_work_item_without_a_retry(worker, record):
    """A message that is not a work item would fail every time: it is said once and
    dropped, not handed out again until the dead-letter queue."""
    assert worker({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
