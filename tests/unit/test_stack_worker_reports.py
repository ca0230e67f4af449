"""The stack worker sets the commit's GitHub deploy status only when its stack settled
without starting an operation: a started one is reported by its stack status event, so a
commit changing N stacks posts about N statuses (GitHub takes at most 1,000 per commit
and context), and a stack blocked or held by its worker is still reported."""

from __future__ import annotations

import pytest

from handlers import stack_worker
from localaws.lambda_context import LambdaContext
from reconciler import triggers
from reconciler.fanout import WorkItem
from reconciler.triggers import Outcome

ITEM = WorkItem("app-dev", "a" * 40, "", "us-east-1")
QUEUE = "gitops-reconciler-work-us-east-1.fifo"


def record() -> dict:
    return {
        "messageId": "m-1",
        "receiptHandle": "r-1",
        "body": ITEM.body(),
        "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": ITEM.group_id},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}",
        "awsRegion": "us-east-1",
    }


@pytest.mark.parametrize(
    ("outcome", "reported"),
    [
        ("executed", False),
        ("tags-updated", False),
        ("blocked", True),
        ("awaiting approval", True),
        ("failed", True),
        ("unchanged", True),
    ],
)
def test_the_deploy_status_is_set_by_the_worker_only_for_a_stack_it_settled(
    monkeypatch, outcome, reported
):
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    said: list[str] = []
    monkeypatch.setattr(stack_worker, "report_settled", said.append)
    stacks = [{"stack_name": ITEM.stack, "outcome": outcome, "message": "m"}]
    # Where the worker imports it from, on its first item.
    monkeypatch.setattr(
        triggers,
        "on_work_item",
        lambda *_, **__: Outcome("reconciled", revision=ITEM.revision, stacks=stacks),
    )
    monkeypatch.setattr(stack_worker, "services", lambda: None)
    monkeypatch.setattr(stack_worker, "source", lambda: None)
    monkeypatch.setattr(
        stack_worker, "handle", lambda scope, event, context, work: work().to_dict()
    )

    answer = stack_worker.handler({"Records": [record()]}, LambdaContext())

    assert answer == {"batchItemFailures": []}
    assert said == ([ITEM.stack] if reported else [])
