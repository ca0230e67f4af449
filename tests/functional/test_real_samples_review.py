"""Real, third-party event samples fed to the handlers (review): GitHub's webhook
payload examples as octokit/webhooks publishes them, and AWS's documented or captured
EventBridge events. None was written for this project; each is inline, with its source.

What is expected of each: a well-formed sample is accepted, or deliberately skipped or
ignored with a reason; never answered as malformed, never a traceback.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest

from handlers import drift, push, schedule, stack_status
from localaws import extensions
from localaws.lambda_context import LambdaContext
from tests.functional.test_hostile_events import repo
from tests.functional.test_webhook import (
    calls,
    deliver,
    envelope,
    received,
    route_to_queue,
    webhook_env,
)

__all__ = ["calls", "repo", "webhook_env"]  # fixtures, imported for pytest

extensions.install_all()

# --- AWS samples ------------------------------------------------------------------------

# Powertools for AWS Lambda (Python), tests/events/eventBridgeSchedulerEvent.json
# https://github.com/aws-powertools/powertools-lambda-python/blob/develop/tests/events/eventBridgeSchedulerEvent.json
SCHEDULER_EVENT = {
    "version": "0",
    "id": "d167b752-343a-4b28-afd6-d4de056319e8",
    "detail-type": "Scheduled Event",
    "source": "aws.scheduler",
    "account": "533568316194",
    "time": "2025-02-20T16:03:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/aaaaa"],
    "detail": "{}",
}

# Amazon EventBridge User Guide, "Tutorial: schedule AWS Lambda functions", example event
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
SCHEDULED_RULE_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2015-10-08T16:53:06Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
    "detail": {},
}

# AWS CodeCommit User Guide, "Monitoring CodeCommit events", referenceCreated event
# https://docs.aws.amazon.com/codecommit/latest/userguide/monitoring-events.html#referenceCreated
CODECOMMIT_REFERENCE_CREATED = {
    "version": "0",
    "id": "01234567-EXAMPLE",
    "detail-type": "CodeCommit Repository State Change",
    "source": "aws.codecommit",
    "account": "123456789012",
    "time": "2019-06-12T10:23:43Z",
    "region": "us-east-2",
    "resources": ["arn:aws:codecommit:us-east-2:123456789012:MyDemoRepo"],
    "detail": {
        "event": "referenceCreated",
        "repositoryName": "MyDemoRepo",
        "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
        "referenceType": "branch",
        "referenceName": "myBranch",
        "referenceFullName": "refs/heads/myBranch",
        "commitId": "3e5983DESTINATION",
    },
}

# AWS CloudFormation User Guide, "Stack Status Change event detail", example event
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-stack-status-change.html
DOC_STACK_STATUS_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "CloudFormation Stack Status Change",
    "source": "aws.cloudformation",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:cloudformation:us-west-1:111122223333:stack/teststack"],
    "detail": {
        "stack-id": "arn:aws:cloudformation:us-west-1:111122223333:stack/teststack",
        "status-details": {"status": "CREATE_COMPLETE", "status-reason": ""},
        "client-request-token": "",
    },
}

# AWS CloudFormation User Guide, "Drift Detection Status Change event detail", example
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-stack-drift-detection-change.html
DOC_DRIFT_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "CloudFormation Drift Detection Status Change",
    "source": "aws.cloudformation",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["string"],
    "detail": {
        "stack-id": "arn:aws:cloudformation:us-west-1:111122223333:stack/teststack",
        "stack-drift-detection-id": "624af370-311a-11e8-b6b7-500cexample",
        "status-details": {
            "stack-drift-status": "DRIFTED",
            "detection-status": "DETECTION_COMPLETE",
        },
        "drift-detection-details": {"drifted-stack-resource-count": 1},
        "client-request-token": "",
    },
}

# Events a Lambda received from EventBridge, as logged in BourgoisMickael/aws-cfn-RD,
# 08_eventbridge/received-events.js (commit 5dabcef6b605). The repository redacted the
# account as XXXXXXXXXXXX; 210987654321 stands in for it, everywhere it appears.
# https://github.com/BourgoisMickael/aws-cfn-RD/blob/main/08_eventbridge/received-events.js
_CAPTURED_ARN = (
    "arn:aws:cloudformation:eu-west-3:210987654321:stack/cf-event-testing/"
    "dca9d690-12fc-11ed-acb4-0e99ce9abea2"
)
CAPTURED_STACK_EVENTS = [
    {
        "version": "0",
        "id": event_id,
        "detail-type": "CloudFormation Stack Status Change",
        "source": "aws.cloudformation",
        "account": "210987654321",
        "time": time,
        "region": "eu-west-3",
        "resources": [_CAPTURED_ARN],
        "detail": {
            "stack-id": _CAPTURED_ARN,
            "status-details": {"status": status, "status-reason": ""},
        },
    }
    for event_id, time, status in [
        ("1e789968-f1d2-426f-db05-e8bca2e199d8", "2022-08-03T07:22:45Z", "CREATE_COMPLETE"),
        ("a952e2a6-392c-1b6d-0f4d-9dbdec50f3b5", "2022-08-03T07:25:22Z", "UPDATE_COMPLETE"),
        ("ff885582-0201-c842-e354-30993b5a907a", "2022-08-03T07:26:32Z", "DELETE_COMPLETE"),
    ]
]

# --- GitHub: octokit/webhooks payload-examples (commit 3a58428aa5c3, 2026-06-22) -------
# https://github.com/octokit/webhooks/tree/main/payload-examples/api.github.com
# Every example is of the repository Codertocat/Hello-World, default branch master.
OCTOKIT_REPOSITORY = "github:Codertocat/Hello-World"
OCTOKIT_BRANCH = "master"


def octokit(text: str) -> bytes:
    """The sample's body as GitHub would send it (JSON text, UTF-8)."""
    return json.dumps(json.loads(text)).encode()


@pytest.fixture
def hello_world(webhook_env, monkeypatch) -> str:
    """The webhook following Codertocat/Hello-World's master, as the samples are; the
    URL of a queue receiving the Git Push events put on the default bus."""
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", OCTOKIT_REPOSITORY)
    monkeypatch.setenv("DESIRED_STATE_BRANCH", OCTOKIT_BRANCH)
    return route_to_queue("default")


def not_malformed(status: int, answer: dict) -> None:
    assert status < 300, answer
    assert "not a GitHub" not in json.dumps(answer), answer


def test_octokit_push_deleting_a_tag_is_skipped_without_an_event(hello_world, calls):
    """push/payload.json: refs/tags/simple-tag deleted (after 000..., head_commit null,
    base_ref null): parsed, then skipped naming the tag; no event, no call but the
    secret's."""
    status, answer = deliver(envelope(octokit(PUSH_TAG_DELETED)))
    not_malformed(status, answer)
    assert (status, answer["status"]) == (200, "skipped")
    assert "refs/tags/simple-tag" in answer["reason"]
    assert calls == ["GetSecretValue"]
    assert received(hello_world) == []


def test_octokit_push_of_a_new_followed_branch_is_forwarded(hello_world):
    """push/with-new-branch.payload.json: refs/heads/master created (before 000...,
    created true, an installation): accepted, one Git Push naming the head."""
    status, answer = deliver(envelope(octokit(PUSH_NEW_BRANCH), delivery="octokit-1"))
    assert (status, answer["status"]) == (202, "accepted"), answer
    (event,) = received(hello_world)
    assert event["detail-type"] == "Git Push"
    assert event["detail"] == {
        "repository": "Codertocat/Hello-World",
        "ref": "refs/heads/master",
        "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "delivery": "octokit-1",
    }


def test_octokit_push_of_another_branch_than_the_followed_one_is_skipped(hello_world, monkeypatch):
    """The same sample when the reconciler follows main: skipped, not malformed."""
    monkeypatch.setenv("DESIRED_STATE_BRANCH", "main")
    status, answer = deliver(envelope(octokit(PUSH_NEW_BRANCH)))
    not_malformed(status, answer)
    assert answer["status"] == "skipped"
    assert "refs/heads/master" in answer["reason"]
    assert received(hello_world) == []


def test_octokit_ping_is_answered_pong(hello_world, calls):
    """ping/payload.json (hook of a repository, zen, hook_id): 200 pong."""
    status, answer = deliver(envelope(octokit(PING), event="ping"))
    assert (status, answer) == (200, {"status": "pong"})
    assert "PutEvents" not in calls


def test_octokit_pull_request_opened_is_forwarded_for_a_preview(hello_world, calls):
    """pull_request/opened.payload.json: PR #2 from changes into master, same
    repository, not a draft: accepted, one event put (a Git Pull Request)."""
    status, answer = deliver(envelope(octokit(PULL_REQUEST_OPENED), event="pull_request"))
    assert (status, answer["status"]) == (202, "accepted"), answer
    assert calls.count("PutEvents") == 1
    assert received(hello_world) == []  # not a Git Push


def test_octokit_pull_request_opened_into_another_branch_is_skipped(
    hello_world, monkeypatch, calls
):
    monkeypatch.setenv("DESIRED_STATE_BRANCH", "main")
    status, answer = deliver(envelope(octokit(PULL_REQUEST_OPENED), event="pull_request"))
    not_malformed(status, answer)
    assert answer["status"] == "skipped"
    assert "master" in answer["reason"]
    assert "PutEvents" not in calls


def test_octokit_review_submitted_as_a_comment_is_ignored(hello_world, calls):
    """pull_request_review/submitted.payload.json: a review in state "commented" of an
    open PR: ignored with its reason (only a submitted approval starts a reconcile)."""
    body = octokit(PULL_REQUEST_REVIEW_SUBMITTED)
    status, answer = deliver(envelope(body, event="pull_request_review"))
    not_malformed(status, answer)
    assert (status, answer["status"]) == (200, "ignored")
    assert "commented" in answer["reason"]
    assert "PutEvents" not in calls


def test_octokit_review_approved_of_an_unmerged_pr_is_skipped(hello_world, calls):
    """The same sample with the review's state "approved" (the state GitHub sends for an
    approval): skipped, the pull request not being merged."""
    sample = json.loads(PULL_REQUEST_REVIEW_SUBMITTED)
    sample["review"]["state"] = "approved"
    status, answer = deliver(envelope(json.dumps(sample).encode(), event="pull_request_review"))
    not_malformed(status, answer)
    assert answer["status"] == "skipped"
    assert "not merged" in answer["reason"]
    assert "PutEvents" not in calls


# --- AWS: EventBridge events, documented or captured, to the handlers ------------------


# What no ignored, skipped or refused event may call (idempotency's own writes aside).
WRITES = {
    "PutParameter",
    "DeleteParameters",
    "CreateChangeSet",
    "ExecuteChangeSet",
    "UpdateStack",
    "DeleteStack",
    "DetectStackDrift",
    "PutEvents",
    "Publish",
}


def handled(module, event: dict, caplog) -> dict:
    """`event` through `module`'s handler: its answer, after checking no error was
    logged with a traceback."""
    with caplog.at_level(logging.INFO, logger="gitops-reconciler"):
        answer = module.handler(copy.deepcopy(event), LambdaContext())
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    return answer


def test_eventbridge_scheduler_event_is_a_tick(repo, caplog):
    """Powertools' tests/events/eventBridgeSchedulerEvent.json (EventBridge Scheduler:
    source aws.scheduler, detail the string "{}"): a schedule tick, not rejected."""
    answer = handled(schedule, SCHEDULER_EVENT, caplog)
    assert answer["status"] != "rejected", answer
    assert answer["reason"].startswith("resync at "), answer


def test_scheduled_rule_event_is_a_tick(repo, caplog):
    """AWS's documented scheduled-rule event (source aws.events, detail {})."""
    answer = handled(schedule, SCHEDULED_RULE_EVENT, caplog)
    assert answer["status"] != "rejected", answer
    assert answer["reason"].startswith("resync at "), answer


def test_codecommit_reference_created_is_read_as_a_push_of_its_branch(repo, calls, caplog):
    """AWS CodeCommit's documented referenceCreated event (branch myBranch of
    MyDemoRepo): parsed as a push, then refused as a push of another repository than the
    one followed (the handler's word for that is "rejected", naming both), touching
    nothing; not refused as malformed."""
    answer = handled(push, CODECOMMIT_REFERENCE_CREATED, caplog)
    assert not answer.get("reason", "").startswith("not a push event"), answer
    assert answer["status"] == "rejected", answer
    assert "push is for MyDemoRepo" in answer["reason"]
    assert not WRITES & set(calls)


def test_codecommit_reference_deleted_is_skipped(repo, calls, caplog):
    """The same documented event as CodeCommit sends it for a deleted branch
    (referenceDeleted, oldCommitId instead of commitId): skipped, touching nothing."""
    event = copy.deepcopy(CODECOMMIT_REFERENCE_CREATED)
    event["detail"]["event"] = "referenceDeleted"
    event["detail"]["oldCommitId"] = event["detail"].pop("commitId")
    answer = handled(push, event, caplog)
    assert answer["status"] == "skipped", answer
    assert "referenceDeleted of a deleted branch" in answer["reason"]
    assert not WRITES & set(calls)


def test_codecommit_tag_created_is_skipped_as_a_non_branch_reference(repo, caplog):
    """The same documented event for a tag (referenceType tag, refs/tags/...), as
    CodeCommit sends one: skipped, naming it a non-branch reference."""
    event = copy.deepcopy(CODECOMMIT_REFERENCE_CREATED)
    event["detail"].update(
        referenceType="tag", referenceName="v1", referenceFullName="refs/tags/v1"
    )
    answer = handled(push, event, caplog)
    assert answer["status"] == "skipped", answer
    assert "non-branch" in answer["reason"]


@pytest.mark.parametrize(
    "event", CAPTURED_STACK_EVENTS, ids=lambda e: e["detail"]["status-details"]["status"]
)
def test_captured_stack_status_events_of_an_unmanaged_stack_are_not_rejected(
    repo, calls, caplog, event
):
    """Stack status events a Lambda received from EventBridge (CREATE_COMPLETE,
    UPDATE_COMPLETE, DELETE_COMPLETE of cf-event-testing in eu-west-3, without
    client-request-token): about a stack this reconciler does not manage, so
    handled without a change, never rejected."""
    answer = handled(stack_status, event, caplog)
    assert answer["status"] == "ignored", answer
    assert "cf-event-testing is not managed" in answer["reason"]
    assert not WRITES & set(calls)


def test_documented_stack_status_event_is_read_and_ignored(repo, calls, caplog):
    """AWS CloudFormation's documented Stack Status Change example (stack id
    ...:stack/teststack, no unique id suffix): AWS's own sample is not refused as
    malformed; naming no stack operation's stack, it is ignored with the reason, and
    nothing is written."""
    answer = handled(stack_status, DOC_STACK_STATUS_EVENT, caplog)
    assert answer["status"] == "ignored", answer
    assert "without its unique id" in answer["reason"]
    assert not WRITES & set(calls)


def test_documented_drift_detection_event_is_read_and_ignored(repo, calls, caplog):
    """AWS CloudFormation's documented Drift Detection Status Change example
    (DRIFTED, DETECTION_COMPLETE, resources ["string"], stack id .../teststack): read,
    ignored with the reason, nothing written (no detection, no repair)."""
    answer = handled(drift, DOC_DRIFT_EVENT, caplog)
    assert answer["status"] == "ignored", answer
    assert "without its unique id" in answer["reason"]
    assert not WRITES & set(calls)


# --- octokit/webhooks samples, verbatim, in tests/events/octokit/ ----------------------
# (from https://github.com/octokit/webhooks/tree/main/payload-examples/api.github.com:
# push/payload.json, push/with-new-branch.payload.json, ping/payload.json,
# pull_request/opened.payload.json, pull_request_review/submitted.payload.json)


OCTOKIT_SAMPLES = Path(__file__).resolve().parents[1] / "events" / "octokit"


def octokit_sample(name: str) -> str:
    return (OCTOKIT_SAMPLES / f"{name}.json").read_text()


PUSH_TAG_DELETED = octokit_sample("push-tag-deleted")
PUSH_NEW_BRANCH = octokit_sample("push-new-branch")
PING = octokit_sample("ping")
PULL_REQUEST_OPENED = octokit_sample("pull-request-opened")
PULL_REQUEST_REVIEW_SUBMITTED = octokit_sample("pull-request-review-submitted")
