"""Hands a verified GitHub push on to the push handler: one "Git Push" event on the
reconciler's bus.

GitHub gives up on a webhook delivery after 10 seconds, and a reconcile can take longer
(a change set alone may take 30). So the webhook only authenticates and forwards; the
push Lambda, invoked by an EventBridge rule (and retried by EventBridge), reads the
branch head and reconciles.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.aws import session
from reconciler.errors import AwsError

SOURCE = "gitops.github"
DETAIL_TYPE = "Git Push"  # what the push handler's rule matches (handlers/routes.py)
PULL_REQUEST_DETAIL_TYPE = "Git Pull Request"  # the preview handler's rule


def forward_push(
    repository: str,
    ref: str,
    after: str,
    delivery: str,
    bus: str,
    client: Any = None,
    stacks: list[str] | None = None,
) -> str:
    """Put the push on `bus` (a name or ARN in the client's region); the event's id.

    The detail is the push handler's {repository, ref, after}, plus GitHub's delivery id
    so a reconcile can be traced back to the delivery; with `stacks`, a push Lambda
    near its timeout hands those stacks on (the push handler does only them). Raises
    AwsError when the call fails or EventBridge refuses the entry: the webhook then
    answers 503 and a redelivery forwards it.
    """
    detail: dict[str, Any] = {
        "repository": repository,
        "ref": ref,
        "after": after,
        "delivery": delivery,
    }
    if stacks:
        detail["stacks"] = sorted(stacks)
    return _put(DETAIL_TYPE, detail, bus, client, "push")


def forward_pull_request(detail: dict[str, Any], bus: str, client: Any = None) -> str:
    """Put a pull request to preview on `bus` as a "Git Pull Request" (the preview
    handler's detail: repository, number, sha, base_ref, html_url, action, delivery);
    the event's id. Raises AwsError as forward_push does."""
    return _put(PULL_REQUEST_DETAIL_TYPE, detail, bus, client, "pull request")


def _put(detail_type: str, detail: dict[str, Any], bus: str, client: Any, what: str) -> str:
    events = client or session.client("events")
    entry = {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "EventBusName": bus,
    }
    try:
        with session.aws_errors():
            answer = events.put_events(Entries=[entry])
    except AwsError as err:
        raise AwsError(f"{what} not put on bus {bus!r}: {err}") from err
    result = (answer.get("Entries") or [{}])[0]
    if answer.get("FailedEntryCount") or "EventId" not in result:
        refused = result.get("ErrorCode") or "no event id in the answer"
        if result.get("ErrorMessage"):
            refused += f": {result['ErrorMessage']}"
        raise AwsError(f"{what} not put on bus {bus!r}: AWS PutEvents refused it: {refused}")
    return result["EventId"]
