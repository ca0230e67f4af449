"""The webhook's pull request reviews on moto: a signed approval of a pull request merged
into the followed branch is put on the bus as one "Git Push" of that branch, so a change
held for approval runs when it is approved on GitHub; any other review is answered 200,
logged, and starts nothing. The signature is checked before the body is read."""

from __future__ import annotations

import json

import pytest

from handlers.events import GitPushEvent
from tests.functional.test_webhook import (
    EVENTS,
    calls,
    deliver,
    envelope,
    not_idempotency,
    queue,
    received,
    sign,
    webhook_env,
)

__all__ = ["calls", "queue", "webhook_env"]  # fixtures, imported for pytest

APPROVED = "github-pull-request-review-approved.json"
MERGE = "c4295bd74fb0f4fda03689c3df3f2803b658fd85"  # the example's merge_commit_sha


def review(**changes) -> bytes:
    """GitHub's pull_request_review payload; `changes` are paths (parts joined by "__")
    to new values."""
    body = json.loads((EVENTS / APPROVED).read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = body
        for part in parents:
            node = node[part]
        node[last] = value
    return json.dumps(body).encode()


def test_the_example_is_shaped_as_githubs_submitted_approval():
    """The fixture holds what GitHub documents for pull_request_review: action, review
    (id, user.login, state in lower case, commit_id, submitted_at), pull_request
    (number, head.sha, base.ref, merged_at), repository.full_name and sender."""
    body = json.loads((EVENTS / APPROVED).read_text())
    assert body["action"] == "submitted"
    assert {"id", "user", "state", "commit_id", "submitted_at"} <= set(body["review"])
    assert body["review"]["state"] == "approved"
    assert body["review"]["commit_id"] == body["pull_request"]["head"]["sha"]
    assert body["pull_request"]["base"]["ref"] == "main"
    assert body["pull_request"]["merged_at"]
    assert body["repository"]["full_name"] == "owner/repo"
    assert body["sender"]["login"] == body["review"]["user"]["login"]


def test_an_approval_of_a_merged_pull_request_starts_a_reconcile_of_the_branch(queue):
    """GIVEN a signed approval of pull request #2, merged into main WHEN delivered THEN
    202 accepted, and one "Git Push" of refs/heads/main reaches the push rule, naming the
    merge the approval is for: the push handler reconciles the head, which reads the
    reviews."""
    status, answer = deliver(envelope(review(), event="pull_request_review", delivery="r-1"))
    assert status == 202
    assert answer == {"status": "accepted", "event_id": answer["event_id"], "delivery": "r-1"}
    (event,) = received(queue)
    assert (event["detail-type"], event["id"]) == ("Git Push", answer["event_id"])
    assert event["detail"] == {
        "repository": "owner/repo",
        "ref": "refs/heads/main",
        "after": MERGE,
        "delivery": "r-1",
    }
    # The push handler's own model reads it (EventBridge's targets get `account` too;
    # moto's default target input drops it).
    GitPushEvent.model_validate({"account": "123456789012", **event})


def test_a_redelivered_approval_is_forwarded_once(queue, calls):
    request = envelope(review(), event="pull_request_review", delivery="same")
    first, again = deliver(request), deliver(request)
    assert first == again
    assert not_idempotency(calls).count("PutEvents") == 1


@pytest.mark.parametrize(
    ("action", "state"),
    [
        ("submitted", "commented"),
        ("submitted", "changes_requested"),
        ("dismissed", "dismissed"),
        ("edited", "approved"),
    ],
)
def test_a_review_that_is_not_a_submitted_approval_is_answered_and_ignored(
    queue, calls, action, state
):
    """GIVEN a comment, a request for changes, a dismissal or an edit WHEN delivered
    THEN 200 ignored, saying why, and nothing is put on the bus."""
    body = review(action=action, review__state=state)
    status, answer = deliver(envelope(body, event="pull_request_review"))
    assert (status, answer["status"]) == (200, "ignored")
    assert action in answer["reason"] and state in answer["reason"]
    assert "PutEvents" not in calls
    assert received(queue) == []


def test_an_approval_of_a_pull_request_not_yet_merged_starts_nothing(queue, calls):
    """GIVEN an approval of an open pull request WHEN delivered THEN 200 skipped: the
    merge's push reads its approvals."""
    body = review(pull_request__merged_at=None, pull_request__state="open")
    status, answer = deliver(envelope(body, event="pull_request_review"))
    assert (status, answer["status"]) == (200, "skipped")
    assert "#2 is not merged" in answer["reason"]
    assert "PutEvents" not in calls


def test_an_approval_into_another_branch_starts_nothing(queue, calls):
    body = review(pull_request__base__ref="develop")
    status, answer = deliver(envelope(body, event="pull_request_review"))
    assert (status, answer["status"]) == (200, "skipped")
    assert "develop" in answer["reason"] and "main" in answer["reason"]
    assert "PutEvents" not in calls


def test_an_approval_in_another_repository_is_rejected(queue, calls):
    body = review(
        repository__full_name="stranger/repo",
        pull_request__base__repo__full_name="stranger/repo",
    )
    status, answer = deliver(envelope(body, event="pull_request_review"))
    assert (status, answer["status"]) == (200, "rejected")
    assert "stranger/repo" in answer["reason"]
    assert "PutEvents" not in calls


def test_a_forged_review_is_refused_before_its_body_is_read(webhook_env, calls):
    """GIVEN a review body that is not even JSON, signed with another secret WHEN
    delivered THEN 401 (not 400: the body was never parsed), and only the webhook secret
    was read."""
    body = b'{"action": "submitted", "review": '
    request = envelope(body, event="pull_request_review", signature=sign(body, "guessed"))
    status, answer = deliver(request)
    assert (status, answer) == (401, {"message": "signature missing or wrong"})
    assert calls == ["GetSecretValue"]


@pytest.mark.parametrize("field", ["review", "pull_request", "repository", "action"])
def test_a_signed_review_without_a_field_it_needs_is_a_bad_request(webhook_env, calls, field):
    body = json.loads(review())
    del body[field]
    status, answer = deliver(envelope(json.dumps(body).encode(), event="pull_request_review"))
    assert status == 400
    assert answer["message"].startswith("not a GitHub pull request review payload")
    assert "PutEvents" not in calls
