"""Push handler: a push reconciles the branch head. It takes three shapes of event: a
CodeCommit "Repository State Change" and a "Git Push" from EventBridge, and a bare
{"repository", "ref"} (a direct invoke). GitHub webhooks go to handlers/webhook.py."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import tracing
from handlers.events import CodeCommitEvent, GitPushEvent, PushEvent, RejectedEvent, parse_as
from handlers.runtime import (
    check_environment,
    handle,
    logger,
    metrics,
    rejected,
    report_pushed,
    services,
    source,
)

if TYPE_CHECKING:
    from reconciler.triggers import Outcome

check_environment()  # at cold start: a bad setting fails once, clearly

CODECOMMIT = ("aws.codecommit", "CodeCommit Repository State Change")


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last event
@tracing.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        repository, ref, stacks = _push_of(event)
    except RejectedEvent as err:
        return rejected("push event", err)

    def work() -> Outcome:
        # The reconcile core is loaded by the first event that runs a pass, not at import.
        from reconciler.aws.push_events import forward_push
        from reconciler.deadline import Deadline
        from reconciler.triggers import Outcome, handed_on, on_push

        if ref is None:
            detail = event["detail"]
            branch = detail.get("referenceType") == "branch"
            what = "a deleted branch" if branch else "a non-branch reference"
            return Outcome("skipped", f"{detail.get('event')} of {what}")
        outcome = on_push(
            repository,
            ref,
            source(),
            services(),
            owner=context.aws_request_id,
            only=set(stacks) if stacks else None,
            deadline=Deadline.of_lambda(context),
        )
        report_pushed(outcome)
        rest = handed_on(outcome)
        if not rest:
            return outcome
        # Near the timeout: the stacks not started go on in a new invocation, rather
        # than being cut off mid-stack. If the event cannot be put, the retry does them.
        bus = os.environ.get("PUSH_EVENT_BUS") or "default"
        delivery = f"handed-on:{context.aws_request_id}"
        sent = forward_push(repository, ref, outcome.revision, delivery, bus, stacks=rest)
        return replace(outcome, reason=f"{len(rest)} stack(s) handed on as event {sent}")

    result = handle(__name__, event, context, work)
    logger.info("push handled", extra={**result, "status_store": services().status.description})
    return result


def _push_of(event: dict) -> tuple[str | None, str | None, list[str] | None]:
    """(repository, ref, stacks handed on) of a push; ref None for a deleted branch or
    a tag."""
    what = "a push event"
    if isinstance(event, dict) and (event.get("source"), event.get("detail-type")) == CODECOMMIT:
        detail = parse_as(event, CodeCommitEvent, what).detail
        if detail.reference_type != "branch" or detail.event == "referenceDeleted":
            return detail.repository_name, None, None
        return detail.repository_name, f"refs/heads/{detail.reference_name}", None
    if isinstance(event, dict) and ("detail" in event or "detail-type" in event):
        push = parse_as(event, GitPushEvent, what).detail
    else:
        push = parse_as(event, PushEvent, what)
    return push.repository, push.ref, push.stacks
