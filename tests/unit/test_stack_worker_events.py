"""The stack worker given records nobody here wrote: AWS's documented SQS events for
Lambda (tests/events/sqs_lambda_sample_*.json, the Lambda developer guide's standard and
FIFO queue examples), records from another event source, and attributes a direct invoke
can set to anything. None of them reaches AWS, the repository or a stack."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from handlers import stack_worker
from localaws.lambda_context import LambdaContext

EVENTS = Path(__file__).parent.parent / "events"


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def worker(monkeypatch):
    """The handler, with every edge (AWS, the repository) failing the test if reached."""
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "CRITICAL")

    def unreachable(*_, **__):
        raise AssertionError("a record that is not a work item reached the services")

    monkeypatch.setattr(stack_worker, "services", unreachable)
    monkeypatch.setattr(stack_worker, "source", unreachable)
    monkeypatch.setattr(stack_worker, "handle", unreachable)
    return stack_worker.handler


@pytest.mark.parametrize(
    "sample", ["sqs_lambda_sample_standard.json", "sqs_lambda_sample_fifo.json"]
)
def test_awss_sample_sqs_events_are_dropped_as_not_work_items_without_a_retry(worker, sample):
    """GIVEN the SQS events AWS documents for Lambda ("Test message.") WHEN the worker
    gets one THEN every record is dropped (it would fail every time), none handed back."""
    assert worker(event(sample), LambdaContext()) == {"batchItemFailures": []}


def work_item_record(**changes) -> dict:
    """This reconciler's sample record (a valid work item), with `changes`."""
    (record,) = event("sqs_work_item.json")["Records"]
    return copy.deepcopy(record) | changes


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("aws:kinesis", id="kinesis"),
        pytest.param("aws:sns", id="sns"),
        pytest.param("aws:dynamodb", id="dynamodb"),
        pytest.param("AWS:SQS", id="sqs-in-capitals"),
        pytest.param(None, id="no-event-source"),
    ],
)
def test_a_work_item_in_a_record_that_is_not_from_sqs_is_dropped_without_acting(worker, source):
    """GIVEN a record carrying a valid work item body but not from SQS (Lambda's SQS
    mapping always says eventSource "aws:sqs"; anything else is a direct invoke or
    another source) WHEN the worker gets it THEN it is dropped, no stack touched."""
    record = work_item_record(eventSource=source)
    if source is None:
        del record["eventSource"]
    assert worker({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}


@pytest.mark.parametrize(
    ("said", "count"),
    [
        pytest.param("3", 3, id="three"),
        pytest.param("\u00b2", 1, id="superscript-two"),
        pytest.param("\u0663", 1, id="arabic-indic-three"),
        pytest.param("9" * 5000, 1, id="5000-digits"),
        pytest.param("-1", 1, id="negative"),
        pytest.param("", 1, id="empty"),
        pytest.param(None, 1, id="absent"),
        pytest.param(7, 7, id="a-number"),
    ],
)
def test_a_receive_count_that_is_not_a_plain_number_counts_as_the_first(said, count):
    assert stack_worker._receive_count(said) == count
