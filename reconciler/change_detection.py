"""Out-of-band API calls, acted on: a call CloudTrail reports on a managed stack's resource
starts drift detection on that stack at once, instead of at the next schedule.

1. The call is left out when CloudFormation or the reconciler's own roles made it, or it
   failed (reconciler.api_calls): no AWS call is made for it (a role of a member account
   costs one read of the status table).
2. The owning stack is found by the resources the call acted on, in the call's account
   (through that account's role) and region, or, for IAM, whose calls CloudTrail reports
   in us-east-1, in every region holding a managed stack: each identifier looked up with
   DescribeStackResources PhysicalResourceId, or the managed stacks' resources listed once
   when the call names more identifiers than there are stacks. It must be a managed
   stack, matched by its stack id (account, region, name, unique id). A call on anything
   else is "unmanaged": ignored and counted.
3. The call is noted on the stack (`changed_at`, the latest call's time) and on the audit
   trail. A detection started after the call, running or done, covers it: a burst of
   calls makes one detection, however late its events arrive. Otherwise one conditional
   write claims the detection (of racing handlers one wins), the touched resources are
   checked first (DetectStackResourceDrift, answered at once), then the stack
   (DetectStackDrift), whose completion event takes the existing drift path: repair,
   detect or ignore by the stack file, with its guardrails, change windows and
   suspension.
4. A call made after a running detection started, or while the stack's operation runs
   (no detection can start then), is not lost: when that detection completes, or the
   operation ends, `detect_if_changed` starts one more.

CloudTrail gives a call's time in whole seconds: a call in the same second as a
detection's start counts as covered by it. The hourly schedule stays as the safety net.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from reconciler.api_calls import ApiCall, excluded
from reconciler.audit import AuditRecord, Event, of_stack
from reconciler.errors import PermanentAwsError
from reconciler.identity import StackRef, foreign
from reconciler.reconcile import Services
from reconciler.status import StackStatus, precise, precise_now

if TYPE_CHECKING:
    from reconciler.aws.cloudformation import OwnedResource

log = logging.getLogger(__name__)

DETECTING = "DETECTING"
# A detection whose completion event never came stops holding off new ones after this.
DETECTION_TIMEOUT = timedelta(minutes=15)
MAX_TOUCHED = 5  # resources checked one by one before the stack; the stack checks all
# Services CloudTrail reports in us-east-1 whatever the region of the resource's stack.
GLOBAL_SERVICES = frozenset({"iam.amazonaws.com"})
CLAIMED = "a detection is already running; one more follows it if it began before this call"


@dataclass(frozen=True)
class Result:
    """What one call meant: `status` is ignored (left out), unmanaged (no managed stack
    owns what it touched), or per stack in `stacks`: detecting, covered, noted."""

    status: str
    reason: str
    stacks: tuple[dict[str, str], ...] = ()


def on_api_call(call: ApiCall, services: Services, own_roles: Iterable[str]) -> Result:
    # A call in the reconciler's own role in its own account needs no further look; in
    # another account, only if a managed stack lives there.
    home = (services.account,) if services.account else ()
    own_roles = tuple(own_roles)
    why = excluded(call, own_roles, home)
    if why:
        return Result("ignored", why)
    records = services.status.all()
    why = excluded(call, own_roles, {services.account, *(r.account for r in records)})
    if why:
        return Result("ignored", why)
    here = [r for r in records if _in_account(r, call, services)]
    if call.event_source not in GLOBAL_SERVICES:  # IAM's calls come to us-east-1 only
        here = [r for r in here if r.region == call.region]
    if not here:
        return Result("unmanaged", f"{call.action}: no managed stack in {_place(call)}")
    # One role per account: any of its records says which (the home account's: none).
    reach = services.at(here[0])
    owned: dict[str, tuple[str, list[str]]] = {}  # stack id -> (name, logical ids)
    refused = []
    for region in sorted({r.region for r in here}):
        stacks = [r for r in here if r.region == region]
        try:
            found = _owners(call, stacks, region, reach)
        except PermanentAwsError as err:
            # The functions may describe the managed stacks only: a resource of another
            # stack is refused, not found. Said in the log, in case it is a missing grant.
            log.warning("owners of %s's resources not read: %s", call.action, err)
            refused.append(f"{region}: {err}")
            continue
        for resource in found:
            _, logical_ids = owned.setdefault(resource.stack_id, (resource.stack_name, []))
            if resource.logical_id not in logical_ids:
                logical_ids.append(resource.logical_id)
    by_name = {r.stack_name: r for r in records}
    done, strangers = [], []
    for stack_id, (name, logical_ids) in owned.items():
        record = by_name.get(name)
        reason = foreign(StackRef.parse(stack_id), record) if record else "not managed"
        if record is None or reason or not record.stack_id:
            strangers.append(f"{name} ({reason or 'not yet deployed by the reconciler'})")
            continue
        services.status.note_change(name, _seconds(call_time(call)))
        # The same record for the same call: a retried event (throttled) puts it once.
        services.audit.append([_record(call, record, logical_ids)])
        done.append(_detect(record, logical_ids, call, services))
    if not done:
        owners = f"; owned by {', '.join(strangers)}" if strangers else ""
        if refused:
            owners += f"; lookups refused (not a managed stack?): {'; '.join(refused)}"
        return Result(
            "unmanaged",
            f"{call.action} on {', '.join(call.identifiers)}: no managed stack{owners}",
        )
    outcomes = {s["outcome"] for s in done}
    status = next(o for o in ("detecting", "noted", "covered") if o in outcomes)
    return Result(status, "; ".join(s["message"] for s in done), tuple(done))


def _owners(
    call: ApiCall, stacks: list[StackStatus], region: str, reach: Services
) -> list[OwnedResource]:
    """The managed stacks' resources the call touched, in one region: each identifier
    looked up by DescribeStackResources PhysicalResourceId, or, when the call names more
    identifiers than there are managed stacks there, each stack's resources listed once
    and matched (a call on many resources costs no more than the stacks)."""
    stacks = [r for r in stacks if r.stack_id]  # not yet deployed: nothing to touch
    if len(call.identifiers) <= len(stacks):
        found, refused = [], None
        for physical_id in call.identifiers:
            try:
                found += touched(call, reach.cfn.owned(physical_id, region))
            except PermanentAwsError as err:  # this one only: the others may be managed
                refused = err
        if refused is not None and not found:
            raise refused
        if refused is not None:
            log.warning("%s: a lookup refused beside managed owners: %s", call.action, refused)
        return found
    wanted = set(call.identifiers)
    found = []
    for record in stacks:
        resources = reach.cfn.stack_resources(record.stack_id, region)
        by_id: dict[str, list[OwnedResource]] = {}
        for resource in resources:
            by_id.setdefault(resource.physical_id, []).append(resource)
        for physical_id in wanted & set(by_id):
            found += touched(call, by_id[physical_id])
    return found


def touched(call: ApiCall, resources: list[OwnedResource]) -> list[OwnedResource]:
    """Which of the resources sharing a physical id the call touched: those of the call's
    service (AWS::RDS::* for rds), and among them those whose type the call names
    (ModifyDBInstance: the DBInstance, not the DBSubnetGroup of the same name); all of
    them when the call names none (CreateTags)."""
    service = call.event_source.split(".", 1)[0]
    own = [r for r in resources if _service(r.resource_type) == service] or resources
    named = [r for r in own if r.resource_type.rsplit("::", 1)[-1] in call.event_name]
    return named or own


def _service(resource_type: str) -> str:
    parts = resource_type.split("::")
    return parts[1].lower() if len(parts) == 3 else ""


def _detect(
    record: StackStatus, logical_ids: list[str], call: ApiCall, services: Services
) -> dict[str, str]:
    name = record.stack_name
    touched = ", ".join(logical_ids)

    def said(outcome: str, message: str, **more: str) -> dict[str, str]:
        text = f"{name}: {call.action} by {call.who} on {touched}: {message}"
        return {"stack_name": name, "outcome": outcome, "message": text, **more}

    if _covers(record, call):
        return said("covered", f"covered by the detection started at {record.drift_started_at}")
    started = start(record, services, logical_ids)
    if started.startswith("detection "):
        return said("detecting", started, detection_id=started.split()[1])
    if started == CLAIMED:  # another handler's detection started since the record was read
        fresh = services.status.get(name) or record
        if _covers(fresh, call):
            return said("covered", f"covered by the detection started at {fresh.drift_started_at}")
    return said("noted", started)


def _covers(record: StackStatus, call: ApiCall) -> bool:
    """Whether the stack's last detection, running or done, started after the call (in
    CloudTrail's whole seconds), so it saw what the call changed: a burst's late events
    make no new detection once the first one's is handled."""
    return call_time(call) <= _time(record.drift_started_at)


def call_time(call: ApiCall) -> datetime:
    """When the call was made: CloudTrail's eventTime, never later than now (a clock
    ahead, or a forged time, must not hold detections off or keep them coming); now when
    it cannot be read (so nothing earlier is taken to cover it)."""
    current = datetime.now(UTC)
    made = _time(call.event_time)
    return current if made == _EPOCH or made > current else made


def start(record: StackStatus, services: Services, logical_ids: Iterable[str] = ()) -> str:
    """Start drift detection on the stack: the touched resources one by one, then the
    stack. Returns "detection <id> started..." or why none started."""
    name, region = record.stack_name, record.region
    reach = services.at(record, record.applied_revision)
    live = reach.cfn.describe_stack(name, region)
    if live is None:
        return f"{name} does not exist in {region}"
    if live.in_progress:
        return f"{name} is {live.status}: detection once its operation ends"
    at = precise_now()
    stale = precise(datetime.now(UTC) - DETECTION_TIMEOUT)
    if not services.status.claim_detection(name, at, stale):
        return CLAIMED
    checked = []
    try:
        for logical_id in list(logical_ids)[:MAX_TOUCHED]:
            try:
                drift = reach.cfn.resource_drift(name, logical_id, region)
            except PermanentAwsError as err:  # a type drift detection does not support
                checked.append(f"{logical_id} not checked ({err})")
                continue
            paths = ", ".join(p.path for p in drift.properties)
            checked.append(f"{logical_id} {drift.status.value}" + (f" {paths}" if paths else ""))
        detection = reach.cfn.detect_drift(name, region)
    except Exception:
        # The claim is given back: the next call (or the schedule) starts one.
        current = services.status.get(name) or record
        services.status.put(
            current.but(drift_status=record.drift_status, drift_started_at=record.drift_started_at)
        )
        raise
    current = services.status.get(name) or record
    services.status.put(current.but(drift_status=DETECTING, drift_detection_id=detection))
    first = f" ({'; '.join(checked)})" if checked else ""
    return f"detection {detection} started{first}"


def detect_if_changed(name: str, services: Services) -> str:
    """After a detection completed or a stack operation ended: if a call came after the
    last detection started, start another. "" when none was needed or could start."""
    record = services.status.get(name)
    if record is None or not record.changed_at or not record.stack_id:
        return ""
    if _time(record.changed_at) <= _time(record.drift_started_at) or _running(record):
        return ""
    try:
        started = start(record, services)
    except PermanentAwsError as err:
        log.warning("%s: drift detection after a later change not started: %s", name, err)
        return ""
    return started if started.startswith("detection ") else ""


def _running(record: StackStatus) -> bool:
    started = _time(record.drift_started_at)
    return record.drift_status == DETECTING and started > datetime.now(UTC) - DETECTION_TIMEOUT


def _record(call: ApiCall, record: StackStatus, logical_ids: list[str]) -> AuditRecord:
    """The out-of-band call itself on the trail: who (the actor is the caller), what, on
    which resources, when. Made the same from the same CloudTrail event (its time is the
    call's, its id from the event's id and the stack), so the trail holds it once however
    often the event is handled."""
    message = f"{call.action} by {call.who} on {', '.join(logical_ids)}"
    found = of_stack(
        record, Event.OUT_OF_BAND_CALL, message, actor=call.who, account=call.account,
        commit=record.applied_revision, change_set="", caller=call.caller,
        caller_type=call.caller_type, event_time=call.event_time, event_id=call.event_id,
        source_ip=call.source_ip, resources=logical_ids,
    )  # fmt: skip
    if not call.event_id:
        return found  # stamped when appended: a time and an id of its own
    at = precise(call_time(call).replace(microsecond=0))
    return replace(
        found, time=at, id=uuid.uuid5(_RECORDS, f"{call.event_id}/{record.stack_name}").hex
    )


_RECORDS = uuid.UUID("6f1b2c1e-2b9a-4d4e-9a57-3c0d5e7f8a21")  # the out-of-band records' ids


def _in_account(record: StackStatus, call: ApiCall, services: Services) -> bool:
    """Whether the record's stack is in the call's account ("": the reconciler's own,
    whose id the handler knows from its function ARN, or nobody says)."""
    if record.account:
        return record.account == call.account
    return services.account in ("", call.account)


def _place(call: ApiCall) -> str:
    return f"account {call.account} {call.region}" if call.account else call.region


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time(text: str) -> datetime:
    """An ISO 8601 UTC time (CloudTrail's seconds, or ours with microseconds); the epoch
    for "" or anything unreadable."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _seconds(at: datetime) -> str:
    """A call's time as YYYY-MM-DDTHH:MM:SSZ, CloudTrail's (so noted times compare as text)."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
