"""The webhook's pull requests on moto: a signed pull request to the followed branch is
put on the bus as one "Git Pull Request" (once per delivery), with the push's signature,
size and dedupe checks; other actions, other branches, drafts and forks are answered
and not forwarded."""

from __future__ import annotations

import json

import boto3
import pytest

from handlers.routes import GIT_PULL_REQUEST
from tests.functional.test_webhook import (
    EVENTS,
    REGION,
    calls,
    deliver,
    envelope,
    received,
    webhook_env,
)

__all__ = ["calls", "webhook_env"]  # fixtures, imported for pytest

OPENED = "github-pull-request-opened.json"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


@pytest.fixture
def pr_queue(webhook_env) -> str:
    """A queue receiving what the preview rule (detail-type Git Pull Request) matches."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    url = sqs.create_queue(QueueName="pull-requests")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="previews", EventPattern=json.dumps({"detail-type": [GIT_PULL_REQUEST]}))
    events.put_targets(Rule="previews", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
    return url


def pull_request(**changes) -> bytes:
    """GitHub's pull_request payload; `changes` are dotted paths to new values."""
    body = json.loads((EVENTS / OPENED).read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = body
        for part in parents:
            node = node[part]
        node[last] = value
    return json.dumps(body).encode()


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened", "ready_for_review"])
def test_a_signed_pull_request_is_put_on_the_bus(pr_queue, action):
    """GIVEN a signed pull request into main WHEN delivered THEN 202 accepted and one
    "Git Pull Request" naming the repository, number and head sha reaches the rule."""
    status, answer = deliver(
        envelope(pull_request(action=action), event="pull_request", delivery="d-9")
    )
    assert (status, answer["status"]) == (202, "accepted")
    (event,) = received(pr_queue)
    assert (event["detail-type"], event["id"]) == ("Git Pull Request", answer["event_id"])
    assert event["detail"] == {
        "repository": "owner/repo",
        "number": 2,
        "sha": HEAD,
        "base_ref": "main",
        "head_repository": "owner/repo",
        "html_url": "https://github.com/owner/repo/pull/2",
        "action": action,
        "delivery": "d-9",
    }


def test_a_redelivered_pull_request_is_forwarded_once(pr_queue, calls):
    request = envelope(pull_request(), event="pull_request", delivery="same")
    first, again = deliver(request), deliver(request)
    assert first == again
    assert calls.count("PutEvents") == 1


@pytest.mark.parametrize(
    "request_of",
    [
        lambda b: envelope(b, event="pull_request", signature="sha256=" + "0" * 64),
        lambda b: envelope(b, event="pull_request", signature=""),
    ],
    ids=["wrong-signature", "no-signature"],
)
def test_an_unsigned_pull_request_is_refused(pr_queue, request_of):
    status, _ = deliver(request_of(pull_request()))
    assert status == 401
    assert received(pr_queue) == []


def test_an_oversized_pull_request_is_refused(pr_queue):
    body = pull_request(pull_request__body="x" * (1024 * 1024))
    assert deliver(envelope(body, event="pull_request"))[0] == 413


@pytest.mark.parametrize("action", ["closed", "labeled", "edited", "assigned"])
def test_other_actions_are_ignored_with_a_reason(pr_queue, action):
    status, answer = deliver(envelope(pull_request(action=action), event="pull_request"))
    assert (status, answer["status"]) == (202, "ignored")
    assert action in answer["reason"]
    assert received(pr_queue) == []


def test_a_fork_is_not_previewed_and_says_so(pr_queue):
    """GIVEN a pull request whose head is in another repository WHEN delivered THEN it is
    answered with why and how to allow it, and nothing is forwarded."""
    fork = {"full_name": "stranger/repo"}
    status, answer = deliver(
        envelope(pull_request(pull_request__head__repo=fork), event="pull_request")
    )
    assert status == 200
    assert answer == {
        "status": "skipped",
        "reason": "not previewed: head is in a fork (set PREVIEW_FORKS=true to allow)",
    }
    assert received(pr_queue) == []


def test_preview_forks_allows_a_fork(pr_queue, monkeypatch):
    monkeypatch.setenv("PREVIEW_FORKS", "true")
    fork = {"full_name": "stranger/repo"}
    request = envelope(pull_request(pull_request__head__repo=fork), event="pull_request")
    assert deliver(request)[1]["status"] == "accepted"
    (event,) = received(pr_queue)
    assert event["detail"]["head_repository"] == "stranger/repo"


@pytest.mark.parametrize(
    ("changes", "status", "word"),
    [
        ({"pull_request__base__ref": "develop"}, "skipped", "develop"),
        ({"pull_request__draft": True}, "skipped", "draft"),
        ({"pull_request__base__repo": {"full_name": "other/repo"}}, "rejected", "other/repo"),
    ],
    ids=["other-branch", "draft", "other-repository"],
)
def test_pull_requests_not_for_the_followed_branch_are_not_forwarded(
    pr_queue, changes, status, word
):
    code, answer = deliver(envelope(pull_request(**changes), event="pull_request"))
    assert (code, answer["status"]) == (200, status)
    assert word in answer["reason"]
    assert received(pr_queue) == []


def test_a_body_that_is_not_a_pull_request_is_refused(pr_queue):
    status, answer = deliver(envelope(b'{"action": "opened"}', event="pull_request"))
    assert status == 400
    assert answer["message"].startswith("not a GitHub pull request payload")
