"""One reconcile pass, the same whoever starts it (a push, a stack status event, the
CLI): validate -> observe -> plan -> apply one step per stack -> record status.

Nothing here waits for a stack operation: after a change set is executed the stack
status event (or the CLI, which may wait) calls `finish`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler.deadline import Deadline
from reconciler.desired import DesiredState, StackSpec, managed_tags
from reconciler.diff import differences, merge_change_set
from reconciler.drift import MASK, SECRET_NAMES
from reconciler.errors import (
    InvalidDesiredStateError,
    OutputsConflictError,
    OutputsNotPublishedError,
    OutputsRefusedError,
    PermanentAwsError,
)
from reconciler.findings import Finding
from reconciler.fingerprint import desired_hash
from reconciler.identity import StackRef, foreign
from reconciler.live import LiveStack
from reconciler.notify import Collected, Kind, Notification, Notifier
from reconciler.outputs import OutputsChange, outputs_digest
from reconciler.plan import Action, StackPlan, guarded, plan_all, way_out
from reconciler.schemas import is_stateful
from reconciler.status import Health, Phase, StackStatus, StatusStore, Sync
from reconciler.validation import Report, validate
from reconciler.validation.context import ExecutionRole, VersionCatalog

if TYPE_CHECKING:
    from reconciler.aws.cloudformation import CloudFormation
    from reconciler.aws.ssm import SsmOutputs

LEASE_SECONDS = 300  # without a deadline (the CLI); a Lambda's lease ends with it (deadline.py)
# What starting one more stack needs beyond the change set's own wait: a few calls,
# each with botocore's retries. Short of it, a Lambda hands the rest on (a new event).
STEP_SECONDS = 30
HANDED_ON = "handed-on"
REVERT_PREFIX = "gitops-revert-drift-"


@dataclass
class Services:
    """The AWS edges a pass needs, built once per process (per Lambda container)."""

    cfn: CloudFormation
    outputs_for: Callable[[str], SsmOutputs]  # region -> SSM adapter
    status: StatusStore
    change_set_wait_seconds: int = 30
    catalog: VersionCatalog | None = None  # engine versions; None: cfn-lint's data
    settings: Any = None  # live settings reader for the PCI guardrails (aws.live_settings)
    notifier: Notifier = field(default_factory=Collected)
    role: ExecutionRole | None = None  # IAM001 reads it; None: not checked (the CLI sets it)


@dataclass(frozen=True)
class StackResult:
    stack_name: str
    region: str
    action: Action
    # executed, unchanged, blocked, waiting, deferred, superseded, deleting, failed,
    # orphaned, tags-updated, handed-on
    outcome: str
    message: str
    change_set: str = ""
    rerun: bool = False  # an event deferred work on this stack while this pass held it

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) for k, v in self.__dict__.items() if k != "rerun"}


@dataclass(frozen=True)
class PassResult:
    revision: str
    report: Report
    stacks: tuple[StackResult, ...] = field(default=())

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.report.findings

    @property
    def ok(self) -> bool:
        bad = {"blocked", "failed"}
        return not self.report.has_errors and not any(s.outcome in bad for s in self.stacks)


def checked(
    state: DesiredState, catalog: VersionCatalog | None = None, role: ExecutionRole | None = None
) -> Report:
    """The validation report; raises when a finding is an error, so nothing is written."""
    report = validate(state, catalog, role=role)
    if report.has_errors:
        raise InvalidDesiredStateError(list(report.findings))
    return report


def observe(
    state: DesiredState, cfn: CloudFormation, recorded: Iterable[StackStatus] = ()
) -> dict[tuple[str, str], LiveStack]:
    """Every stack in the regions the stack files name, and in the regions where the
    status table records stacks (`recorded`): a managed stack whose region lost its last
    stack file is still seen, as orphaned. One DescribeStacks (paginated) per region."""
    regions = {s.region for s in state.stacks} | {r.region for r in recorded if r.region}
    return cfn.list_stacks(regions)


def make_plan(
    state: DesiredState,
    cfn: CloudFormation,
    catalog: VersionCatalog | None = None,
    recorded: Callable[[], Iterable[StackStatus]] = tuple,
    role: ExecutionRole | None = None,
) -> tuple[Report, list[StackPlan]]:
    """`recorded`: reads the status table's records (for their regions), once the
    desired state is known to be valid."""
    report = checked(state, catalog, role)
    plans = plan_all(state, observe(state, cfn, recorded()), cfn.get_template)
    return with_plan_findings(report, plans), plans


PREVIEW_PREFIX = "gitops-preview-"


def preview(
    plans: list[StackPlan], state: DesiredState, cfn: CloudFormation, wait_seconds: int = 60
) -> list[StackPlan]:
    """Each update confirmed by CloudFormation itself: a preview change set is created,
    described, guarded and deleted (never executed). New stacks are left to the
    prediction: a change set for them would leave an empty stack behind."""
    confirmed = []
    for plan in plans:
        if not previewed(plan):
            confirmed.append(plan)
            continue
        spec = state.stack(plan.stack_name)
        change_set = cfn.create_change_set(
            name=f"{PREVIEW_PREFIX}{plan.desired_hash[:16]}",
            stack_name=spec.stack_name,
            region=spec.region,
            template_body=state.templates[spec.template_file_path].body,
            parameters=spec.parameters,
            tags=managed_tags(spec, plan.desired_hash),
            create=False,
            wait_seconds=wait_seconds,
        )
        try:
            checked_plan = confirm(plan, spec, change_set.changes)
        finally:
            if not change_set.pending:
                cfn.delete_change_set(change_set)
        confirmed.append(checked_plan)
    return confirmed


def previewed(plan: StackPlan) -> bool:
    """Whether `preview` asks CloudFormation about this plan (a live stack's update)."""
    return plan.action is Action.UPDATE or (plan.action is Action.BLOCKED and bool(plan.violations))


def with_plan_findings(report: Report, plans: list[StackPlan]) -> Report:
    """The report with the errors only a plan can find (updates AWS would refuse)."""
    found = [f for p in plans for f in p.findings]
    if not found:
        return report
    return replace(report, findings=tuple(sorted({*report.findings, *found})))


def apply(
    state: DesiredState,
    revision: str,
    services: Services,
    owner: str,
    only: set[str] | None = None,
    *,
    head: Callable[[], str] | None = None,
    retry_failed: bool = True,
    deadline: Deadline | None = None,
) -> PassResult:
    """One pass at `revision`. With `head` (the source's current branch head), a stack
    is changed only if the branch still points at `revision` once its lease is held, so
    an older commit never overwrites a newer one. Without `retry_failed` (events), a
    stack whose last attempt at the same inputs failed is left for a human.

    AWS refusing a stack's request (a PermanentAwsError) records that stack Failed and
    the pass goes on with the others (its dependents wait for it). A transient error
    is raised: the pass is repeatable, so a retry finds the stacks done so far in
    progress or up to date, and change sets by their names. With a `deadline`, leases
    end with the invocation, and a stack is not started without the time to finish it:
    it and the stacks after it are `handed-on` (the caller puts a new event for them)."""
    lease = deadline.lease_seconds if deadline else (lambda: LEASE_SECONDS)
    step_seconds = services.change_set_wait_seconds + STEP_SECONDS
    handing_on = False
    report = checked(state, services.catalog, services.role)
    recorded = {s.stack_name: s for s in services.status.all()}  # one Scan per pass
    live = observe(state, services.cfn, recorded.values())
    plans = plan_all(state, live, services.cfn.get_template)
    results = []
    for plan in plans:
        if only is not None and plan.stack_name not in only:
            continue
        spec = state.stack(plan.stack_name)
        status = recorded.get(plan.stack_name)
        stack = live.get((plan.region, plan.stack_name))
        if plan.action is Action.NONE and _settled(status, plan, spec, stack):
            if status.deferred_revision:
                _consume_deferral(plan.stack_name, services, owner)
            results.append(
                StackResult(plan.stack_name, plan.region, plan.action, "unchanged", plan.reason)
            )
            continue
        if not retry_failed and plan.changes_stack and _failed_at(status, plan):
            message = (
                f"not retried: the last attempt at these inputs failed ({status.message}); "
                "push a fix, or run `reconciler apply` to try again"
            )
            results.append(
                StackResult(plan.stack_name, plan.region, plan.action, "failed", message)
            )
            continue
        handing_on = handing_on or (deadline is not None and not deadline.allows(step_seconds))
        if handing_on:
            message = "this invocation's time ran short; handed on to a new event"
            results.append(
                StackResult(plan.stack_name, plan.region, plan.action, HANDED_ON, message)
            )
            continue
        try:
            result = _apply_one(plan, spec, state, live, revision, services, owner, head, lease)
        except PermanentAwsError as err:
            result = _refused(plan, spec, state, services, revision, err)
        results.append(result)
    return PassResult(revision, report, tuple(results))


def _refused(
    plan: StackPlan,
    spec: StackSpec | None,
    state: DesiredState,
    services: Services,
    revision: str,
    err: PermanentAwsError,
) -> StackResult:
    """AWS refused this stack's request: recorded Failed with AWS's message (secret
    parameter values masked) and notified once; events do not retry these inputs."""
    message = _masked(str(err), spec, state)
    return _Attempt(plan, spec, services, revision).done(
        "failed", message, sync=Sync.FAILED, phase=Phase.FAILED
    )


def _masked(message: str, spec: StackSpec | None, state: DesiredState) -> str:
    """AWS may quote a parameter's value back; a NoEcho or secret-named one is masked."""
    if spec is None:
        return message
    template = state.templates.get(spec.template_file_path)
    declared = template.parameters if template else {}
    for name, value in spec.parameters.items():
        secret = SECRET_NAMES.search(name) or (name in declared and declared[name].no_echo)
        if secret and str(value):
            message = message.replace(str(value), MASK)
    return message


def _failed_at(status: StackStatus | None, plan: StackPlan) -> bool:
    return (
        status is not None
        and status.phase is Phase.FAILED
        and status.desired_hash == plan.desired_hash
    )


def _consume_deferral(stack_name: str, services: Services, owner: str) -> None:
    """A deferred event whose work is already done: taking the lease clears it."""
    if services.status.acquire(stack_name, owner, LEASE_SECONDS):
        services.status.release(stack_name, owner)


def _settled(
    status: StackStatus | None, plan: StackPlan, spec: StackSpec, stack: LiveStack | None
) -> bool:
    """Whether the record already says what an unchanged stack's record should say,
    outputs included: SSM was last given exactly the live stack's outputs."""
    return (
        status is not None
        and status.sync is Sync.SYNCED
        and status.phase is Phase.IDLE
        and status.desired_hash == plan.desired_hash
        and stack is not None
        and status.outputs_hash == outputs_digest(spec.outputs_path, stack.outputs)
    )


class _Attempt:
    """One stack's step in a pass: records its status and returns its result."""

    def __init__(self, plan: StackPlan, spec: StackSpec | None, services: Services, revision: str):
        self.plan, self.spec, self.services, self.revision = plan, spec, services, revision

    def done(
        self,
        outcome: str,
        message: str,
        *,
        change_set: str = "",
        attempted: bool = True,
        **status: Any,
    ) -> StackResult:
        if attempted:
            status |= {"attempted_revision": self.revision, "desired_hash": self.plan.desired_hash}
        if self._record(message=message, change_set=change_set, **status):
            self._notify(outcome, message, change_set)
        return self.result(outcome, message, change_set)

    def result(self, outcome: str, message: str, change_set: str = "") -> StackResult:
        plan = self.plan
        return StackResult(plan.stack_name, plan.region, plan.action, outcome, message, change_set)

    def _record(self, **changes: Any) -> bool:
        """Write the stack's status, unless nothing but the timestamp would change;
        whether it was written (a repeated event records, and notifies, nothing)."""
        store, name = self.services.status, self.plan.stack_name
        current = store.get(name) or StackStatus(name)
        outputs_path = self.spec.outputs_path if self.spec else current.outputs_path
        status = current.but(region=self.plan.region, outputs_path=outputs_path, **changes)
        if replace(status, updated_at=current.updated_at) == current:
            return False
        store.put(status)
        return True

    def _notify(self, outcome: str, message: str, change_set: str) -> None:
        kind = {"blocked": Kind.BLOCKED, "failed": Kind.FAILED}.get(outcome)
        if kind is not None:
            plan = self.plan
            note = Notification(
                kind, plan.stack_name, plan.region, message, self.revision, change_set
            )
            self.services.notifier.send([note])


def _apply_one(
    plan: StackPlan,
    spec: StackSpec | None,
    state: DesiredState,
    live: dict[tuple[str, str], LiveStack],
    revision: str,
    services: Services,
    owner: str,
    head: Callable[[], str] | None = None,
    lease: Callable[[], int] = lambda: LEASE_SECONDS,
) -> StackResult:
    step = _Attempt(plan, spec, services, revision)
    if plan.action is Action.NONE:
        # The live stack already matches (a revert, a change applied elsewhere, or its
        # outputs not yet fully published): SSM is given whatever differs first.
        return _up_to_date(step, live[(plan.region, plan.stack_name)])
    if plan.action is Action.ORPHANED:
        return step.done("orphaned", plan.reason, attempted=False, sync=Sync.ORPHANED)
    if plan.action is Action.WAIT:
        return step.done("waiting", plan.reason, attempted=False, phase=Phase.WAITING)
    if plan.action is Action.BLOCKED:
        return step.done("blocked", plan.reason, sync=Sync.BLOCKED, phase=Phase.BLOCKED)

    waiting_on = _unready_dependencies(spec, state, services)
    if waiting_on:
        message = f"waits for {', '.join(waiting_on)} to complete"
        return step.done("waiting", message, phase=Phase.WAITING)
    if not services.status.acquire(plan.stack_name, owner, lease()):
        services.status.defer(plan.stack_name, revision)
        message = "another operation holds this stack's lease; deferred until it ends"
        return step.result("deferred", message)
    try:
        result = _change(step, state, live.get((plan.region, plan.stack_name)), head)
    finally:
        deferred = services.status.release(plan.stack_name, owner)
    return replace(result, rerun=True) if deferred else result


def _change(
    step: _Attempt, state: DesiredState, stack: LiveStack | None, head: Callable[[], str] | None
) -> StackResult:
    """The stack's change, under its lease."""
    if head is not None and (latest := head()) != step.revision:
        message = f"the branch moved on to {latest[:12]} during this pass; not applied"
        return step.result("superseded", message)
    if step.plan.action is Action.RECREATE:
        return _recreate(step, stack)
    return _run_change_set(step, state.templates[step.spec.template_file_path].body, stack)


def _recreate(step: _Attempt, stack: LiveStack) -> StackResult:
    """Delete the empty stack a failed create left, unless the rollback kept a stateful
    resource: a new stack would then create a second one beside it (or fail on its
    name), and the kept one holds data only a human can decide about."""
    retained = step.services.cfn.retained_resources(stack)
    stateful = [f"{lid} ({kind})" for lid, kind in retained if is_stateful(kind)]
    if stateful:
        message = (
            f"not re-created: the failed create kept {', '.join(stateful)}; import it into "
            "a stack or delete it, then delete the stack"
        )
        return step.done("blocked", message, sync=Sync.BLOCKED, phase=Phase.BLOCKED)
    token = f"gitops-recreate-{step.plan.desired_hash[:16]}"
    step.services.cfn.delete_stack(stack, token=token)
    kept = f" (kept by the rollback: {', '.join(lid for lid, _ in retained)})" if retained else ""
    message = f"deleting the empty stack a failed create left; created again once gone{kept}"
    return step.done(
        "deleting", message, health=Health.MISSING, phase=Phase.APPLYING, operation_token=token
    )


def _up_to_date(step: _Attempt, stack: LiveStack) -> StackResult:
    """Publish what differs in SSM, then record Synced with the outputs' digest. An SSM
    write failing past the retries is recorded (never Synced) and raised, so the event
    is retried; a parameter name another owner holds is a failure the user must fix."""
    spec = step.spec
    try:
        change = step.services.outputs_for(spec.region).publish(
            spec.outputs_path, spec.stack_name, stack.outputs
        )
    except (OutputsConflictError, OutputsRefusedError) as err:
        recorded = step.services.status.get(spec.stack_name)
        if recorded and (recorded.sync, recorded.message) == (Sync.FAILED, str(err)):
            return step.result("failed", str(err))  # said already, by the stack's event
        return step.done("failed", str(err), sync=Sync.FAILED, phase=Phase.FAILED)
    except OutputsNotPublishedError as err:
        step.done("waiting", f"{err}; {RETRIED}", sync=Sync.OUT_OF_SYNC)
        raise
    message = "up to date: the live stack matches the desired state"
    if not change.empty:
        message += f"; outputs republished: {_counts(change)}"
    return step.done(
        "unchanged", message, sync=Sync.SYNCED, phase=Phase.IDLE,
        outputs_hash=outputs_digest(spec.outputs_path, stack.outputs),
    )  # fmt: skip


RETRIED = "published by the event's retry or the next pass"


def _counts(change: OutputsChange) -> str:
    return f"{len(change.put)} written, {change.unchanged} unchanged, {len(change.delete)} deleted"


def _unready_dependencies(spec: StackSpec, state: DesiredState, services: Services) -> list[str]:
    """Dependencies whose live stack is not yet a success at their desired inputs."""
    waiting = []
    for name in spec.depends_on:
        dep = state.stack(name)
        stack = services.cfn.describe_stack(name, dep.region)
        wanted = desired_hash(dep, state.templates[dep.template_file_path].body)
        if stack is None or not stack.succeeded or stack.desired_hash != wanted:
            waiting.append(name)
    return waiting


def _run_change_set(step: _Attempt, template_body: str, stack: LiveStack | None) -> StackResult:
    plan, spec, cfn = step.plan, step.spec, step.services.cfn
    tags = managed_tags(spec, plan.desired_hash)
    change_set = cfn.create_change_set(
        name=f"gitops-{plan.desired_hash[:16]}",
        stack_name=spec.stack_name,
        region=spec.region,
        template_body=template_body,
        parameters=spec.parameters,
        tags=tags,
        create=plan.action is Action.CREATE,
        wait_seconds=step.services.change_set_wait_seconds,
    )
    name = change_set.name
    if change_set.pending:
        message = f"change set {name} is still being computed; resumed by the next event"
        return step.done("waiting", message, change_set=name, phase=Phase.WAITING)
    if change_set.empty:
        cfn.update_tags(stack, tags, token=name)
        message = "no resource changes; stack tags updated"
        return step.done(
            "tags-updated", message, phase=Phase.APPLYING,
            operation_token=name, stack_id=stack.stack_id,
        )  # fmt: skip
    if not change_set.ready:
        cfn.delete_change_set(change_set)
        message = f"change set {name} failed: {change_set.reason}"
        return step.done(
            "failed", message, change_set=name,
            sync=Sync.FAILED, health=Health.DEGRADED, phase=Phase.FAILED,
        )  # fmt: skip

    confirmed = confirm(plan, spec, change_set.changes)
    if confirmed.action is Action.BLOCKED:
        # A blocked change set is deleted, never executed. For a new stack the empty
        # REVIEW_IN_PROGRESS stack stays; the next attempt makes its change set again.
        cfn.delete_change_set(change_set)
        reason = confirmed.reason
        if confirmed.change_set:
            reason += f" (change set {name} differs from the prediction: "
            reason += "; ".join(confirmed.change_set) + ")"
        return step.done("blocked", reason, sync=Sync.BLOCKED, phase=Phase.BLOCKED)

    cfn.execute_change_set(change_set, token=name)
    stack_id = change_set.stack_id or (stack.stack_id if stack else "")
    return step.done(
        "executed", f"change set {name} executed", change_set=name,
        sync=Sync.OUT_OF_SYNC, health=Health.PROGRESSING, phase=Phase.APPLYING,
        operation_token=name, stack_id=stack_id,
    )  # fmt: skip


def confirm(plan: StackPlan, spec: StackSpec, reported) -> StackPlan:
    """The plan with the change set's report merged in and guarded again: the change set
    is the last word on a replacement or removal, whatever the prediction said."""
    merged = merge_change_set(list(plan.changes), list(reported))
    differs = tuple(differences(list(plan.changes), list(reported)))
    return guarded(replace(plan, changes=tuple(merged), change_set=differs), spec)


def record_invalid(
    state: DesiredState, revision: str, findings: list[Finding], services: Services
) -> list[str]:
    """Say in each affected stack's status why nothing was written; the stacks named."""
    errors = [f for f in findings if f.is_error]
    affected = []
    stacks = [(s.stack_name, s.region, s.path, s.template_file_path, s) for s in state.stacks]
    stacks += [(name, "", path, path, None) for path, name in state.broken.items()]
    for name, region, stack_file, template, spec in stacks:
        mine = [f for f in errors if f.stack == name or f.path in (stack_file, template)]
        if not mine:
            continue
        more = f" (+{len(mine) - 1} more)" if len(mine) > 1 else ""
        plan = StackPlan(name, region, Action.BLOCKED, "", stack_file=stack_file)
        _Attempt(plan, spec, services, revision).done(
            "blocked",
            f"invalid desired state, nothing written: {mine[0]}{more}",
            attempted=False,
            sync=Sync.BLOCKED,
            phase=Phase.BLOCKED,
            attempted_revision=revision,
        )
        affected.append(name)
    return affected


@dataclass(frozen=True)
class NotOurs:
    """A stack status event `finish` leaves alone, and why: it is about another stack
    than the managed one, or it reports an operation the reconciler did not start."""

    reason: str


def finish(
    stack_name: str,
    region: str,
    services: Services,
    *,
    stack_id: str = "",
    token: str | None = None,
) -> StackStatus | NotOurs | None:
    """After a stack operation ended: publish outputs on success, record the result and
    notify it (once: a repeated event finds the record already saying so).
    Returns None for a stack the reconciler does not manage.

    An event names its stack by `stack_id`: one for another region, account or an older
    stack of the name changes nothing (NotOurs). Its `token` (ClientRequestToken) must be
    the one of the operation the reconciler started for a Blocked or Failed record to
    become Synced: a late or replayed success of another operation leaves it as it is."""
    current = services.status.get(stack_name)
    ref = StackRef.parse(stack_id) if stack_id else None
    if ref is not None and (why := foreign(ref, current)):
        return NotOurs(why)
    stack = services.cfn.describe_stack(stack_name, region)
    if ref is not None and stack is not None and (why := foreign(ref, live_id=stack.stack_id)):
        return NotOurs(why)
    if stack is None:
        return _gone(current, services)
    if not (stack.managed or current):
        return None
    current = current or StackStatus(stack_name, region=region, outputs_path=f"/{stack_name}")
    if stack.in_progress:
        return current
    # Work deferred meanwhile (a push during this operation) keeps the stack WAITING,
    # so that the caller reconciles again.
    pending = current.phase is Phase.WAITING
    ours = current.phase is Phase.APPLYING
    if stack.succeeded and token is not None and not _started(current, token):
        return NotOurs(
            f"{stack.status} of an operation this reconciler did not start (client request "
            f"token {token!r}); {stack_name} stays {current.sync.value}: {current.message}"
        )
    if stack.succeeded:
        path = current.outputs_path or f"/{stack_name}"
        try:
            change = services.outputs_for(region).publish(path, stack_name, stack.outputs)
        except OutputsNotPublishedError as err:
            # Never Synced while SSM may hold a stale value; the phase is kept, so the
            # event's retry still ends the operation (and notifies it) once published.
            message = f"{stack.status}; {err}; {RETRIED}"
            services.status.put(
                current.but(sync=Sync.OUT_OF_SYNC, health=Health.HEALTHY, message=message)
            )
            raise
        except (OutputsConflictError, OutputsRefusedError) as err:
            # The same write fails the same way until a human acts: Failed, notified once
            # (recorded as a pass records it, so the next pass notifies nothing again).
            change = None
            status = current.but(
                sync=Sync.FAILED,
                health=Health.HEALTHY,
                phase=Phase.WAITING if pending else Phase.FAILED,
                message=str(err),
                stack_id=stack.stack_id,
            )
            kind = Kind.FAILED
        if change is not None:
            applied = (
                current.attempted_revision
                if stack.desired_hash == current.desired_hash
                else current.applied_revision
            )
            message = f"{stack.status}; outputs: {_counts(change)}"
            reverted = ours and current.change_set.startswith(REVERT_PREFIX)
            status = current.but(
                sync=Sync.SYNCED,
                health=Health.HEALTHY,
                phase=Phase.WAITING if pending else Phase.IDLE,
                applied_revision=applied,
                message=f"drift reverted; {message}" if reverted else message,
                drift_status="REVERTED" if reverted else current.drift_status,
                outputs_hash=outputs_digest(path, stack.outputs),
                stack_id=stack.stack_id,
            )
            kind = (Kind.DRIFT_REPAIRED if reverted else Kind.SUCCEEDED) if ours else None
    else:
        # After UPDATE_ROLLBACK_COMPLETE the stack works at its previous inputs.
        health = Health.HEALTHY if stack.status == "UPDATE_ROLLBACK_COMPLETE" else Health.DEGRADED
        reason = stack.status_reason or "no reason given"
        message = way_out(stack) if stack.status == "UPDATE_ROLLBACK_FAILED" else reason
        status = current.but(
            sync=Sync.FAILED,
            health=health,
            phase=Phase.WAITING if pending else Phase.FAILED,
            message=message if message.startswith(stack.status) else f"{stack.status}: {message}",
            stack_id=stack.stack_id,
        )
        kind = Kind.FAILED
    if replace(status, updated_at=current.updated_at) == current:
        return current  # a repeated event: recorded and notified already
    services.status.put(status)
    if kind is not None:
        duration = _seconds_since(current.updated_at) if ours else None
        services.notifier.send(
            [
                Notification(
                    kind, stack_name, region, status.message,
                    current.attempted_revision, current.change_set, duration,
                )
            ]
        )  # fmt: skip
    return status


def _started(current: StackStatus, token: str) -> bool:
    """Whether a success with this client request token may end a Blocked or Failed
    record: only the operation the reconciler started since (still APPLYING) can."""
    if current.sync not in (Sync.BLOCKED, Sync.FAILED):
        return True
    started = current.operation_token or current.change_set
    return current.phase is Phase.APPLYING and bool(token) and token == started


def _gone(current: StackStatus | None, services: Services) -> StackStatus | None:
    """The stack no longer exists: after the reconciler deleted what a failed create
    left, it is created again by the next pass (the stack is WAITING for it)."""
    if current is None or current.phase is not Phase.APPLYING:
        return None
    message = "the stack a failed create left is deleted; created again by the next pass"
    status = current.but(phase=Phase.WAITING, health=Health.MISSING, message=message)
    services.status.put(status)
    return status


def _seconds_since(timestamp: str) -> float | None:
    try:
        started = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return max(0.0, (datetime.now(UTC) - started).total_seconds())
