"""Which stack an event is about. CloudFormation's events name a stack by its id, an ARN
that holds the partition, region, account, name and a unique id; a stack's name alone is
not enough: the same name is free in every region and account, and again after a stack is
deleted. An event is acted on only when its stack id is the managed stack's."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.status import StackStatus

_NAMED_STACK = (
    r"arn:(?P<partition>aws(?:-[a-z]+)*):cloudformation:"
    r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2}):(?P<account>\d{12}):"
    r"stack/(?P<name>[A-Za-z][A-Za-z0-9-]{0,127})"
)
# arn:<partition>:cloudformation:<region>:<12-digit account>:stack/<name>/<id>
# (re.ASCII: \d alone takes any script's digits; AWS writes ASCII ones)
STACK_ARN = re.compile(_NAMED_STACK + r"/(?P<id>[A-Za-z0-9-]{1,64})", re.ASCII)
# The same without the unique id: how AWS's documented event samples name a stack
# (arn:aws:cloudformation:us-west-1:111122223333:stack/teststack). CloudFormation's own
# events always carry the id, so an event naming a stack this way is read and ignored.
STACK_ARN_WITHOUT_ID = re.compile(_NAMED_STACK, re.ASCII)
STACK_ARN_FORM = "arn:<partition>:cloudformation:<region>:<12-digit account>:stack/<name>/<id>"
# A stack's name and region as the desired state and a work item give them, matched with
# fullmatch (`$` would let a trailing newline through). Here, not in reconciler.desired,
# so a stack worker checks a work item without loading the desired-state loader.
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]")


@dataclass(frozen=True)
class StackRef:
    """A stack id taken apart."""

    stack_id: str
    partition: str
    region: str
    account: str
    name: str
    unique_id: str

    @classmethod
    def parse(cls, stack_id: str) -> StackRef:
        """ValueError, naming the expected form, for anything but a stack ARN."""
        match = STACK_ARN.fullmatch(stack_id) if isinstance(stack_id, str) else None
        if match is None:
            raise ValueError(f"{stack_id!r} is not a stack id ({STACK_ARN_FORM})")
        return cls(stack_id, *match.group("partition", "region", "account", "name", "id"))


def account_of(stack_id: str) -> str:
    """The account of a stack id (arn:partition:cloudformation:region:account:stack/...),
    or "" for anything else."""
    parts = stack_id.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def is_stack_id(value: object) -> bool:
    return isinstance(value, str) and STACK_ARN.fullmatch(value) is not None


def foreign(ref: StackRef, record: StackStatus | None = None, live_id: str | None = None) -> str:
    """Why an event about `ref` is not about the managed stack ("" when it is). The
    managed stack is the one the status record names (its region, its stack id once
    known), else the one now live under that name in the event's region."""
    region, recorded_id = (record.region, record.stack_id) if record else ("", "")
    account = record.account if record else ""
    if account and ref.account != account:
        return f"{ref.name} of account {ref.account} is not the managed stack ({account})"
    if region and ref.region != region:
        return f"{ref.name} in {ref.region} is not the managed stack, which is in {region}"
    for managed in (recorded_id, live_id):
        if managed and managed != ref.stack_id:
            return f"{_differs(ref, managed)}; the event changes nothing"
    return ""


def _differs(ref: StackRef, managed_id: str) -> str:
    try:
        managed = StackRef.parse(managed_id)
    except ValueError:
        return f"stack id {ref.stack_id} is not the managed stack's ({managed_id})"
    if managed.account != ref.account:
        return f"{ref.name} of account {ref.account} is not the managed stack ({managed.account})"
    if managed.region != ref.region:
        return f"{ref.name} in {ref.region} is not the managed stack, which is in {managed.region}"
    return (
        f"stack id {ref.stack_id} is another stack than the managed {ref.name} "
        f"({managed_id}): an older stack of the same name, or one made since"
    )
