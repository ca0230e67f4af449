"""What each event means for a reconcile pass. Handlers parse the event and call one
of these; the CLI-independent flow lives here so it is tested without Lambda."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler.change_detection import detect_if_changed
from reconciler.deadline import Deadline
from reconciler.desired import load_desired_state
from reconciler.drift_actions import on_detection, start_detections
from reconciler.errors import InvalidDesiredStateError
from reconciler.fanout import WorkItem
from reconciler.fingerprint import desired_hash
from reconciler.identity import StackRef, foreign
from reconciler.outputs_drift import repair_outputs_drift
from reconciler.reconcile import (
    HANDED_ON,
    About,
    NotOurs,
    PassResult,
    Services,
    apply,
    finish,
    record_invalid,
)
from reconciler.source import Source, ref_of
from reconciler.status import HELD, Phase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: str  # reconciled, skipped, rejected, invalid, ignored, recorded
    reason: str = ""
    revision: str = ""
    stacks: list[dict[str, str]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", [])}


MAX_PASSES = 3  # one event reconciles again at most this often (the branch moved on)


def reconcile_head(
    source: Source,
    services: Services,
    owner: str,
    *,
    only: set[str] | None = None,
    deadline: Deadline | None = None,
) -> Outcome:
    """Read the branch head now (not the commit an event named) and reconcile. When the
    branch moves on during the pass, or an event deferred work on a stack this pass
    held, the pass runs again at the new head. The outcome says what each stack's
    last pass did, but a stack this invocation acted on stays reported as acted on."""
    reported: dict[str, dict[str, str]] = {}
    for _ in range(MAX_PASSES):
        outcome, again = _pass(source, services, owner, only, deadline)
        _keep(reported, outcome.stacks)
        if not again:
            break
    return replace(outcome, stacks=list(reported.values())) if reported else outcome


ACTED = ("executed", "tags-updated", "deleting")
PASSIVE = ("unchanged", "waiting", "deferred")


def _keep(reported: dict[str, dict[str, str]], stacks: list[dict[str, str]]) -> None:
    """Each stack's last outcome, except that one acted on stays reported as acted on: a
    pass run again (a deferral to this lease holder) finds it in progress or unchanged."""
    for stack in stacks:
        earlier = reported.get(stack["stack_name"], {}).get("outcome")
        if not (earlier in ACTED and stack["outcome"] in PASSIVE):
            reported[stack["stack_name"]] = stack


def handed_on(outcome: Outcome) -> list[str]:
    """The stacks a pass left for a new event (its invocation's time ran short)."""
    return [s["stack_name"] for s in outcome.stacks if s.get("outcome") == HANDED_ON]


def _pass(
    source: Source,
    services: Services,
    owner: str,
    only: set[str] | None = None,
    deadline: Deadline | None = None,
) -> tuple[Outcome, bool]:
    with tempfile.TemporaryDirectory(prefix="desired-") as tmp:
        checkout = source.checkout(Path(tmp) / "repo")
        state = load_desired_state(checkout.root)
        try:
            result: PassResult = apply(
                state,
                checkout.revision,
                services,
                owner,
                only=only,
                head=source.head_revision,
                retry_failed=False,
                deadline=deadline,
                about=About(source),
            )
        except InvalidDesiredStateError as e:
            findings = [str(f) for f in e.findings]
            log.error("desired state at %s is invalid: %s", checkout.revision, "; ".join(findings))
            record_invalid(state, checkout.revision, e.findings, services, About(source))
            return Outcome("invalid", str(e), checkout.revision, findings=findings), False
    outcome = Outcome(
        "reconciled",
        revision=result.revision,
        stacks=[s.to_dict() for s in result.stacks],
        findings=[str(f) for f in result.findings],
    )
    # Handed on: the new event reconciles the head for the rest; no time to run again.
    again = any(s.rerun or s.outcome == "superseded" for s in result.stacks)
    again = again and not any(s.outcome == HANDED_ON for s in result.stacks)
    return outcome, again


def on_push(
    repository: str | None,
    ref: str,
    source: Source,
    services: Services,
    owner: str,
    *,
    only: set[str] | None = None,
    deadline: Deadline | None = None,
) -> Outcome:
    """`only`: the stacks a push handed on names (the rest were done by its sender)."""
    if repository and not source.is_repository(repository):
        reason = f"push is for {repository}, but this reconciler follows {source.repository}"
        return Outcome("rejected", reason)
    if ref != ref_of(source):
        return Outcome("skipped", f"push to {ref}; this reconciler follows {ref_of(source)}")
    return reconcile_head(source, services, owner, only=only, deadline=deadline)


def on_work_item(
    item: WorkItem,
    source: Source,
    services: Services,
    owner: str,
    *,
    deadline: Deadline | None = None,
) -> Outcome:
    """A stack worker's one stack: applied at the branch head if the head is still the
    item's commit (a newer commit's pass put its own item for this stack, which comes
    next in the stack's message group). The same guarantees as a pass: the stack's
    lease, the head read again under it, change sets named by their inputs (so an item
    received twice, or again after a worker died, never runs a change twice)."""
    if services.queue is not None:
        services = replace(services, queue=None)  # a worker applies; it never fans out
    reported: dict[str, dict[str, str]] = {}
    for _ in range(MAX_PASSES):
        with tempfile.TemporaryDirectory(prefix="desired-") as tmp:
            checkout = source.checkout(Path(tmp) / "repo")
            if checkout.revision != item.revision:
                reason = (
                    f"{item.stack}: the branch moved on to {checkout.revision[:12]}; the pass "
                    "there put its own work item for the stack"
                )
                return Outcome("superseded", reason, checkout.revision)
            state = load_desired_state(checkout.root)
            spec = state.stack(item.stack)
            if spec is None or (spec.account, spec.region) != (item.account, item.region):
                where = f"{item.account or 'home account'}/{item.region}"
                reason = f"{item.stack} ({where}) is not declared at {checkout.revision[:12]}"
                return Outcome("ignored", reason, checkout.revision)
            try:
                result = apply(
                    state, checkout.revision, services, owner,
                    only={item.stack}, head=source.head_revision, retry_failed=False,
                    deadline=deadline, about=About(source), narrow=True,
                )  # fmt: skip
            except InvalidDesiredStateError as e:
                findings = [str(f) for f in e.findings]
                record_invalid(
                    state.narrowed({item.stack}), checkout.revision, e.findings, services,
                    About(source),
                )  # fmt: skip
                return Outcome("invalid", str(e), checkout.revision, findings=findings)
        # Its change set run, the item is done even if a deferral to this worker made it
        # run again and find the stack in progress: handed back, it would come back until
        # the operation ends, and a long one would send it to the dead-letter queue.
        _keep(reported, [s.to_dict() for s in result.stacks])
        if not any(s.rerun for s in result.stacks):
            break
    return Outcome(
        "reconciled",
        revision=result.revision,
        stacks=list(reported.values()),
        findings=[str(f) for f in result.findings],
    )


# A stack worker's outcomes that SQS should hand out again (after the queue's visibility
# timeout): the stack was busy, in progress, or its change set still being computed.
AGAIN = ("waiting", "deferred", HANDED_ON)  # handed on: its worker's time ran short


def again(outcome: Outcome) -> bool:
    """Whether a work item's outcome asks for the item to be received again."""
    return any(s.get("outcome") in AGAIN for s in outcome.stacks)


def on_stack_status(
    stack_name: str,
    region: str,
    stack_status: str,
    source: Source,
    services: Services,
    owner: str,
    *,
    stack_id: str = "",
    token: str | None = None,
) -> Outcome:
    """A stack operation ended: publish outputs and record; then, if stacks were waiting
    (a dependency, a push during the operation, a busy lease), reconcile again so they
    go on. An event for another stack than the managed one (`stack_id`), or a success of
    an operation the reconciler did not start (`token`) on a Blocked or Failed stack,
    changes nothing."""
    if stack_status.endswith("_IN_PROGRESS"):
        return Outcome("ignored", f"{stack_name} is {stack_status}; waiting for the end")
    status = finish(stack_name, region, services, stack_id=stack_id, token=token)
    if status is None:
        return Outcome("ignored", f"{stack_name} is not managed by this reconciler")
    if isinstance(status, NotOurs):
        log.warning("stack status event ignored: %s", status.reason)
        return Outcome("ignored", status.reason)
    if status.phase is Phase.APPLYING:
        return Outcome("recorded", f"{stack_name} is still in progress")
    reason = f"{stack_name}: {status.sync.value}: {status.message}"
    # Read afresh: a call noted while `finish` ran counts too.
    if detecting := detect_if_changed(stack_name, services):  # a call during the operation
        reason += f"; changed out of band meanwhile: {detecting}"
    recorded = Outcome("recorded", reason)
    # A deferral is looked for on this stack only: deferrals are made while a lease is
    # held, and the operation of a lease holder ends with this stack's event. A stack
    # waiting for its dependencies goes on when one of them ends (fan-out: its work item
    # is put then, its dependencies done). The pass acts on those stacks only: the others
    # are as the last pass left them (a failed dependency is not recorded again).
    fanned_out = services.queue is not None
    waiting = {s.stack_name for s in services.status.all() if _released(s, stack_name, fanned_out)}
    if status.deferred_revision or waiting:
        only = waiting | ({stack_name} if status.deferred_revision else set())
        again = reconcile_head(source, services, owner, only=only)
        return Outcome(again.status, recorded.reason, again.revision, again.stacks, again.findings)
    return recorded


def _released(record, ended: str, fanned_out: bool = False) -> bool:
    """Whether the end of stack `ended` may let `record` go on. A stack waiting for no
    other stack waits for its own operation's end or, fanned out, for its own work item
    (handed back to SQS): another stack's end does not concern it there. In one process
    (no work queue) any event is its next chance."""
    if record.phase is not Phase.WAITING:
        return False
    if record.waits_for:
        return ended in record.waits_for.split(",")
    return record.stack_name == ended or not fanned_out


def on_schedule(
    services: Services, limit: int, source: Source | None = None, owner: str = "schedule"
) -> Outcome:
    """The schedule starts drift detection on a few managed stacks at a time, and puts
    back SSM parameters changed or deleted behind the reconciler's back. With a source it
    first reconciles the head: the safety net for an event that was lost."""
    resync = reconcile_head(source, services, owner) if source is not None else None
    started = start_detections(services, limit)
    stacks = [{"stack_name": name, "detection_id": detection} for name, detection in started]
    reason = f"{len(started)} detection(s) started"
    repaired = repair_outputs_drift(services, owner)
    stacks += [r.to_dict() for r in repaired]
    if repaired:
        reason += f"; outputs drift repaired on {len(repaired)} stack(s)"
    if resync is not None:
        changed = [s for s in resync.stacks if s.get("outcome") != "unchanged"]
        reason = f"resync at {resync.revision[:12]}: {len(changed)} stack(s) acted on; {reason}"
    return Outcome("detecting" if started else "idle", reason, stacks=stacks)


def on_drift_detected(
    stack_name: str,
    region: str,
    source: Source,
    services: Services,
    owner: str,
    *,
    stack_id: str = "",
) -> Outcome:
    """A drift detection completed. The stack file at the branch head decides what to do;
    if the desired state moved on, the normal update runs instead (it reverts drift too).
    A detection on another stack than the managed one (`stack_id`) changes nothing."""
    ref = StackRef.parse(stack_id) if stack_id else None
    recorded = services.status.get(stack_name)
    if ref is not None and (why := foreign(ref, recorded)):
        log.warning("drift event ignored: %s", why)
        return Outcome("ignored", why)
    with tempfile.TemporaryDirectory(prefix="desired-") as tmp:
        checkout = source.checkout(Path(tmp) / "repo")
        state = load_desired_state(checkout.root)
        spec = state.stack(stack_name)
        if spec is None or spec.region != region:
            return Outcome("ignored", f"{stack_name} is not in the desired state")
        template = state.templates.get(spec.template_file_path)
        live = services.at(spec, checkout.revision).cfn.describe_stack(stack_name, region)
        if ref is not None and live is not None and (why := foreign(ref, live_id=live.stack_id)):
            log.warning("drift event ignored: %s", why)
            return Outcome("ignored", why)
        wanted = desired_hash(spec, template.body) if template else ""
        # A change held for approval or a window is not run by a drift event: the drift
        # itself is repaired (or reported) by the stack file's mode and its gates.
        held = recorded is not None and recorded.phase in HELD
        changed = live is not None and live.desired_hash != wanted and not held
        outcome = on_detection(spec, changed, services, owner)
    if outcome.action.value == "update":
        again = reconcile_head(source, services, owner)
        return Outcome(again.status, outcome.message, again.revision, again.stacks, again.findings)
    message = outcome.message
    if detecting := detect_if_changed(stack_name, services):  # a call after it started
        message += f"; changed out of band since: {detecting}"
    return Outcome("recorded", message, checkout.revision, [outcome.to_dict()])
