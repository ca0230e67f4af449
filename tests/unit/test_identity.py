"""Stack ids taken apart, and which events are about the managed stack."""

from __future__ import annotations

import pytest

from reconciler.identity import StackRef, foreign
from reconciler.status import StackStatus

MANAGED = "arn:aws:cloudformation:us-east-1:123456789012:stack/app-dev/aaaa-1111"


@pytest.mark.parametrize(
    ("stack_id", "partition", "region", "account"),
    [
        (MANAGED, "aws", "us-east-1", "123456789012"),
        (
            "arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/a/b",
            "aws-cn",
            "cn-north-1",
            "123456789012",
        ),
        (
            "arn:aws-us-gov:cloudformation:us-gov-west-1:210987654321:stack/a/b",
            "aws-us-gov",
            "us-gov-west-1",
            "210987654321",
        ),
    ],
)
def test_a_stack_id_is_taken_apart(stack_id, partition, region, account):
    ref = StackRef.parse(stack_id)
    assert (ref.partition, ref.region, ref.account) == (partition, region, account)


def test_a_stack_id_without_the_arn_shape_names_the_form():
    with pytest.raises(ValueError, match=r"arn:<partition>:cloudformation:<region>"):
        StackRef.parse("arn:aws:cloudformation:us-east-1:123:stack/app-dev/x")


@pytest.mark.parametrize(
    ("event_id", "record", "live", "says"),
    [
        (MANAGED, StackStatus("app-dev", "us-east-1", stack_id=MANAGED), MANAGED, ""),
        (MANAGED, StackStatus("app-dev", "us-east-1"), None, ""),  # an old record, stack gone
        (MANAGED, None, MANAGED, ""),
        (
            MANAGED.replace("us-east-1", "eu-west-1"),
            StackStatus("app-dev", "us-east-1"),
            None,
            "in eu-west-1",
        ),
        (
            MANAGED.replace("123456789012", "210987654321"),
            StackStatus("app-dev", "us-east-1", stack_id=MANAGED),
            None,
            "account 210987654321",
        ),
        (
            MANAGED.replace("aaaa-1111", "old"),
            StackStatus("app-dev", "us-east-1", stack_id=MANAGED),
            None,
            "older stack",
        ),
        (
            MANAGED.replace("aaaa-1111", "old"),
            StackStatus("app-dev", "us-east-1"),
            MANAGED,
            "older stack",
        ),
        (MANAGED.replace("aaaa-1111", "old"), None, MANAGED, "older stack"),
    ],
)
def test_an_event_is_about_the_managed_stack_only(event_id, record, live, says):
    reason = foreign(StackRef.parse(event_id), record, live)
    assert (says in reason) if says else reason == ""
    assert bool(reason) == bool(says)
