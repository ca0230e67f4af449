"""One reconcile pass, the same whoever starts it (a push, a stack status event, the
CLI): validate -> observe -> plan -> apply one step per stack -> record status.

Nothing here waits for a stack operation: after a change set is executed the stack
status event (or the CLI, which may wait) calls `finish`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler import change_control, refactor
from reconciler.accounts import Place
from reconciler.audit import AuditLog, AuditRecord, Event, Kept, of_stack
from reconciler.deadline import Deadline
from reconciler.desired import DesiredState, StackSpec, managed_tags
from reconciler.diff import differences, merge_change_set
from reconciler.drift import MASK, SECRET_NAMES
from reconciler.errors import (
    AwsError,
    InvalidDesiredStateError,
    OutputsConflictError,
    OutputsNotPublishedError,
    OutputsRefusedError,
    PermanentAwsError,
    SourceError,
)
from reconciler.fanout import NotQueued, WorkItem
from reconciler.findings import Finding
from reconciler.fingerprint import desired_hash
from reconciler.identity import StackRef, account_of, foreign
from reconciler.live import LiveStack
from reconciler.notify import Collected, Kind, Notification, Notifier
from reconciler.outputs import OutputsChange, outputs_digest
from reconciler.plan import Action, StackPlan, guarded, plan_all, way_out
from reconciler.schemas import is_stateful
from reconciler.source import CommitInfo
from reconciler.status import HELD, Health, Phase, StackStatus, StatusStore, Sync
from reconciler.validation import Report, validate
from reconciler.validation.context import ExecutionRole, VersionCatalog

if TYPE_CHECKING:
    from reconciler.aws.cloudformation import CloudFormation, StackEvent
    from reconciler.aws.ssm import SsmOutputs
    from reconciler.fanout import WorkQueue

log = logging.getLogger(__name__)

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
    audit: AuditLog = field(default_factory=Kept)  # the change-control trail (audit.py)
    actor: str = ""  # who acts, for the trail: a Lambda function and request, cli:host
    account: str = ""  # the account the reconciler runs in, for records with no stack id yet
    # (role ARN, revision) -> these services acting in that role's account (the role
    # assumed with the commit in its session name); None: the home account only.
    reach: Callable[[str, str], Services] | None = None
    home: Services | None = None  # set on the services `reach` made: the home account's
    queue: WorkQueue | None = None  # fan-out: changes go to stack workers (fanout.py)

    def at(self, where: Any, revision: str = "") -> Services:
        """These services acting where `where` (a StackSpec, StackStatus, LiveStack or
        Place) lives: its account's role assumed, or the home account's own."""
        home = self.home or self
        role = getattr(where, "role_arn", "") or ""
        if not role:
            return home
        if home.reach is None:
            account = getattr(where, "account", "") or role
            raise PermanentAwsError(f"account {account}: this reconciler cannot assume roles")
        return home.reach(role, revision)


class About:
    """What a pass knows of its commit, asked of the source only when a stack changes:
    its author and pull request, the pull request's reviews, a team's members."""

    def __init__(self, source: Any = None) -> None:
        self._source = source
        self._commits: dict[str, CommitInfo] = {}

    def commit(self, revision: str) -> CommitInfo:
        revision = revision.split("+", 1)[0]  # a working copy's "SHA+dirty"
        read = getattr(self._source, "commit", None)  # a source may not say (a test's)
        if read is None or not revision:
            return CommitInfo()
        if revision not in self._commits:
            self._commits[revision] = read(revision)
        return self._commits[revision]

    def reviews(self, revision: str):
        """Lazily: a change needing no review never asks the source. Reviews that cannot
        be read (a token without Pull requests: read) count as none: the change stays
        held, and `reconciler approve` still works; the reason is logged."""
        read = getattr(self._source, "reviews", None)
        if read is None or not revision:
            return
        try:
            found = read(revision)
        except SourceError as err:
            from reconciler.github import SourceUnavailableError

            if isinstance(err, SourceUnavailableError):
                raise  # GitHub down: the event is retried
            log.warning("pull request reviews not read: %s", err)
            return
        yield from found

    @property
    def members(self) -> Callable[[str], set[str]] | None:
        """A team's members (`ORG/TEAM`), where the source is GitHub."""
        team_members = getattr(self._source, "team_members", None)
        if team_members is None:
            return None

        def members(entry: str) -> set[str]:
            """A team GitHub will not list (a typo, no Members: read) admits nobody and
            stops nothing else: logged, and the change stays held."""
            try:
                return team_members(*entry.split("/", 1))
            except SourceError as err:
                from reconciler.github import SourceUnavailableError

                if isinstance(err, SourceUnavailableError):
                    raise  # GitHub down: the event is retried
                log.warning("approvers team %s not read: %s", entry, err)
                return set()

        return members


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
    state: DesiredState,
    catalog: VersionCatalog | None = None,
    role: ExecutionRole | None = None,
    at: Callable[[Any, str], Services] | None = None,
    revision: str = "",
) -> Report:
    """The validation report; raises when a finding is an error, so nothing is written.
    `at` (Services.at) reaches a stack's own account for what is asked there."""
    secrets_at = _secrets_at(at, revision) if at else None
    report = validate(state, catalog, role=role, secrets_at=secrets_at)
    if report.has_errors:
        raise InvalidDesiredStateError(list(report.findings))
    return report


class Observed(dict):
    """Live stacks by (account, region, name), account "" for the home account; and the
    places (account and region) that could not be read, with AWS's reason: a role that
    cannot be assumed stops that account's stacks only."""

    def __init__(self) -> None:
        super().__init__()
        self.unreachable: dict[Place, PermanentAwsError] = {}

    def why_not(self, spec: StackSpec) -> PermanentAwsError | None:
        return self.unreachable.get(Place(spec.account, spec.region, spec.role_arn))


def _secrets_at(
    at: Callable[[Any, str], Services], revision: str = ""
) -> Callable[[Any], Callable[..., Any]]:
    """Secrets Manager of a stack's own account; None (not checked) where the account
    cannot be reached: the pass fails that stack for that reason, said once."""

    def secrets(spec: StackSpec) -> Callable[[str, str], bool | None]:
        def exists(region: str, secret_id: str) -> bool | None:
            try:
                catalog = at(spec, revision).catalog
                return catalog.secret_exists(region, secret_id) if catalog else None
            except AwsError as err:
                log.warning("%s: secret %s not checked: %s", spec.stack_name, secret_id, err)
                return None

        return exists

    return secrets


def observe(
    state: DesiredState,
    services: Services | CloudFormation,
    recorded: Iterable[StackStatus] = (),
    *,
    revision: str = "",
    narrow: bool = False,
) -> Observed:
    """Every stack in the accounts and regions the stack files name, and in those where
    the status table records stacks (`recorded`): a managed stack whose region lost its
    last stack file is still seen, as orphaned. One DescribeStacks (paginated) per account
    and region; with `narrow` (a stack worker), one DescribeStacks per stack file instead."""
    at = _at(services)
    places = {Place(s.account, s.region, s.role_arn) for s in state.stacks}
    places |= {Place(r.account, r.region, r.role_arn) for r in recorded if r.region}
    if narrow:
        places = {Place(s.account, s.region, s.role_arn) for s in state.stacks}
    live = Observed()
    for place in sorted(places):
        try:
            cfn = at(place, revision).cfn
            if narrow:
                names = [
                    s.stack_name
                    for s in state.stacks
                    if Place(s.account, s.region, s.role_arn) == place
                ]
                found = {
                    (place.region, name): stack
                    for name in names
                    if (stack := cfn.describe_stack(name, place.region)) is not None
                }
            else:
                found = cfn.list_stacks([place.region])
        except PermanentAwsError as err:
            log.error("%s not read: %s", place, err)
            live.unreachable[place] = err
            continue
        for (region, name), stack in found.items():
            live[(place.account, region, name)] = replace(
                stack, account=place.account, role_arn=place.role_arn
            )
    return live


def _at(services: Services | CloudFormation) -> Callable[[Any, str], Services]:
    """`Services.at` of `services`; for a bare CloudFormation adapter, the home account
    only (a stack elsewhere is unreachable)."""
    if isinstance(services, Services):
        return services.at
    home = Services(cfn=services, outputs_for=None, status=None)  # type: ignore[arg-type]
    return home.at


def fetcher(services: Services | CloudFormation, revision: str = "") -> Callable[[LiveStack], Any]:
    """The deployed template of a live stack, read in its own account."""
    at = _at(services)
    return lambda stack: at(stack, revision).cfn.get_template(stack)


def make_plan(
    state: DesiredState,
    cfn: Services | CloudFormation,
    catalog: VersionCatalog | None = None,
    recorded: Callable[[], Iterable[StackStatus]] = tuple,
    role: ExecutionRole | None = None,
    *,
    partial: bool = False,
) -> tuple[Report, list[StackPlan]]:
    """`recorded`: reads the status table's records (for their regions), once the
    desired state is known to be valid. With `partial` (a pull request's preview), the
    stacks of an account or region that cannot be read are Blocked, saying why; else
    the first such place stops the plan (`plan` shows the whole picture or none)."""
    report = checked(state, catalog, role, _at(cfn))
    live = observe(state, cfn, recorded())
    if live.unreachable and not partial:
        raise next(iter(live.unreachable.values()))
    plans = plan_all(state, live, fetcher(cfn))
    plans = [_unread(plan, state, live) for plan in plans]
    return with_plan_findings(report, plans), plans


def _unread(plan: StackPlan, state: DesiredState, live: Observed) -> StackPlan:
    """A plan of a stack whose account or region could not be read: Blocked, with why
    (its live stack is unknown, so no create or update can be predicted)."""
    spec = state.stack(plan.stack_name)
    err = live.why_not(spec) if spec is not None else None
    if err is None:
        return plan
    return replace(plan, action=Action.BLOCKED, reason=f"not planned: {err}", changes=())


PREVIEW_PREFIX = "gitops-preview-"


def preview(
    plans: list[StackPlan],
    state: DesiredState,
    services: Services | CloudFormation,
    wait_seconds: int = 60,
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
        cfn = _at(services)(spec, "").cfn  # in the stack's own account
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
    about: About | None = None,
    narrow: bool = False,
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
    it and the stacks after it are `handed-on` (the caller puts a new event for them).

    With a work queue (`services.queue`), the stacks to change are not changed here: one
    work item each is put on the queue, and a stack worker applies it (`narrow`: only
    the stacks of `only` and their dependencies are validated and read)."""
    lease = deadline.lease_seconds if deadline else (lambda: LEASE_SECONDS)
    about = about or About()
    step_seconds = services.change_set_wait_seconds + STEP_SECONDS
    handing_on = False
    fan_out: list[_Attempt] | None = [] if services.queue is not None and not narrow else None
    whole = state
    if narrow and only is not None:
        state = state.narrowed(only)
    report = checked(state, services.catalog, services.role, services.at, revision)
    if narrow and only is not None:
        recorded = {n: r for n in sorted(only) if (r := services.status.get(n)) is not None}
    else:
        recorded = {s.stack_name: s for s in services.status.all()}  # one Scan per pass
    live = observe(state, services, recorded.values(), revision=revision, narrow=narrow)
    plans = plan_all(state, live, fetcher(services, revision))
    if state is not whole and any(p.basis is not None for p in plans):
        # A stateful resource added or removed may be half of a move between stacks:
        # planned against every stack file, so that the other half is seen.
        state = whole
        report = checked(state, services.catalog, services.role, services.at, revision)
        recorded = {s.stack_name: s for s in services.status.all()}
        live = observe(state, services, recorded.values(), revision=revision)
        plans = plan_all(state, live, fetcher(services, revision))
    by_name = {p.stack_name: p for p in plans}
    results = []
    for plan in plans:
        if only is not None and plan.stack_name not in only:
            continue
        spec = state.stack(plan.stack_name)
        status = recorded.get(plan.stack_name)
        if plan.action is Action.ORPHANED and spec is not None:
            # The name's stack file now places it elsewhere (another account or region):
            # the old stack is left in place and said; the one record is the new stack's.
            where = f"{plan.account or 'the home account'}/{plan.region}"
            message = f"{plan.reason}; {plan.stack_name} moved away from {where}"
            results.append(
                StackResult(plan.stack_name, plan.region, plan.action, "orphaned", message)
            )
            continue
        if spec is not None and (unreachable := live.why_not(spec)) is not None:
            results.append(_refused(plan, spec, state, services, revision, unreachable))
            continue
        stack = live.get((plan.account, plan.region, plan.stack_name))
        settled = plan.action is Action.NONE and _settled(status, plan, spec, stack)
        if settled and not change_control.suspension(spec, status):
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
        if not retry_failed and plan.changes_stack and _rejected_at(status, plan, revision):
            message = f"not proposed again: {status.message}; a new commit proposes it again"
            results.append(
                StackResult(plan.stack_name, plan.region, plan.action, "rejected", message)
            )
            continue
        slow = fan_out is None and deadline is not None and not deadline.allows(step_seconds)
        handing_on = handing_on or slow
        if handing_on:
            message = "this invocation's time ran short; handed on to a new event"
            results.append(
                StackResult(plan.stack_name, plan.region, plan.action, HANDED_ON, message)
            )
            continue
        try:
            step = _Attempt(plan, spec, services, revision, about, report)
            step.before = status  # as the pass's Scan read it; read again under the lease
            step.plans, step.retry_failed = by_name, retry_failed
            result = _apply_one(step, state, live, owner, head, lease, fan_out)
        except PermanentAwsError as err:
            result = _refused(plan, spec, state, services, revision, err)
        results.append(result)
    if fan_out:
        results = _queue(fan_out, results, state, services)
    return PassResult(revision, report, tuple(results))


QUEUED = "queued"


def _queue(
    steps: list[_Attempt], results: list[StackResult], state: DesiredState, services: Services
) -> list[StackResult]:
    """Put one work item per stack to change (the stack's status is the worker's to
    write: a pass writing it here, without the stack's lease, could overwrite what a
    worker already recorded). AWS refusing the send fails those stacks, recorded and
    notified; a transient failure is raised, and the event's retry puts them again
    (the queue drops what it already has: the same stack and commit)."""
    queue = services.queue
    try:
        queue.send(
            [WorkItem(s.plan.stack_name, s.revision, s.spec.account, s.spec.region) for s in steps]
        )
    except PermanentAwsError as err:
        # Only the stacks whose items were not put: the others' are on their queues.
        refused = {i.stack for i in err.items} if isinstance(err, NotQueued) else None
        failed = {
            s.plan.stack_name: _refused(s.plan, s.spec, state, services, s.revision, err)
            for s in steps
            if refused is None or s.plan.stack_name in refused
        }
        return [failed.get(r.stack_name, r) if r.outcome == QUEUED else r for r in results]
    return results


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
    # Recorded from the home account: the stack's own may be what cannot be reached.
    return _Attempt(plan, spec, services, revision, there=services.home or services).done(
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


def _rejected_at(status: StackStatus | None, plan: StackPlan, revision: str) -> bool:
    """A change rejected at this commit and these inputs is not proposed again by an
    event; a new commit (or `reconciler apply`) proposes it again."""
    return (
        status is not None
        and status.phase is Phase.REJECTED
        and status.desired_hash == plan.desired_hash
        and status.attempted_revision == revision
    )


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
    """One stack's step in a pass: records its status, notifies and appends to the audit
    trail what changed (once: a repeated event that records nothing says nothing), and
    returns its result."""

    def __init__(
        self,
        plan: StackPlan,
        spec: StackSpec | None,
        services: Services,
        revision: str,
        about: About | None = None,
        report: Report | None = None,
        there: Services | None = None,
    ):
        self.plan, self.spec, self.revision = plan, spec, revision
        # Acting in the stack's own account (its role assumed, the commit in the session).
        if there is None:
            there = services.at(spec, revision) if spec is not None else services
        self.services = there
        self.about = about or About()
        self.report = report
        # The stack's record as this step found it, read under its lease (`_change`)
        # or, before that, when the step began: the gates and the trail read it.
        self.before: StackStatus | None = None
        self.plans: dict[str, StackPlan] = {}  # the pass's plans, for a refactor's stacks
        self.retry_failed = True

    def done(
        self,
        outcome: str,
        message: str,
        *,
        change_set: str = "",
        attempted: bool = True,
        audit: tuple[AuditRecord, ...] | None = None,  # None: what the outcome implies
        notify: bool = True,
        **status: Any,
    ) -> StackResult:
        if attempted:
            status |= {"attempted_revision": self.revision, "desired_hash": self.plan.desired_hash}
            if self._authored:
                commit = self.about.commit(self.revision)
                status |= {
                    "author": commit.author,
                    "pull_request": commit.pull_request,
                    "author_identities": ",".join(sorted(commit.identities())),
                }
                if self.spec is not None and self.spec.approval:
                    status |= {
                        "approvers": ",".join(self.spec.approvers),
                        "approval_expires": str(int(self.spec.approval_expires.total_seconds())),
                    }
        changed = self._changed(message=message, change_set=change_set, **status)
        if changed is not None:
            # The trail first: if the status write or the notice then fails, the event's
            # retry appends again (a duplicate) rather than finding the status written
            # and saying nothing (a record lost).
            if audit is None:
                audit = self._default_audit(outcome, message, change_set)
            self.services.audit.append(audit)
            self.services.status.put(changed)
            if notify:
                self._notify(outcome, message, change_set)
        return self.result(outcome, message, change_set)

    @property
    def _authored(self) -> bool:
        """Whether this step is about a change someone authored (proposed, or refused):
        its commit's author is then read (only then: a no-op pass asks nothing)."""
        return self.plan.changes_stack or self.plan.action is Action.BLOCKED

    def result(self, outcome: str, message: str, change_set: str = "") -> StackResult:
        plan = self.plan
        return StackResult(plan.stack_name, plan.region, plan.action, outcome, message, change_set)

    def record(
        self, event: Event, message: str, change_set: str = "", **detail: Any
    ) -> AuditRecord:
        """An audit record about this stack at this pass's commit."""
        plan, services = self.plan, self.services
        commit = self.about.commit(self.revision) if self._authored else CommitInfo()
        stack_id = self.before.stack_id if self.before else ""
        return AuditRecord(
            event,
            plan.stack_name,
            region=plan.region,
            account=account_of(stack_id) or services.account,
            commit=self.revision,
            author=commit.author,
            pull_request=commit.pull_request,
            change_set=change_set,
            actor=services.actor,
            message=message,
            detail={k: v for k, v in detail.items() if v not in (None, "", [], {})},
        )

    def checked(self, change_set: str) -> list[AuditRecord]:
        """`validated` and `planned`: the findings and suppressions that concern this
        stack (with their reasons), the resource changes and the guard's verdict."""
        plan, spec = self.plan, self.spec
        mine: tuple = ()
        suppressed: tuple = ()
        if self.report is not None and spec is not None:
            files = (spec.path, spec.template_file_path)
            mine = tuple(
                f for f in self.report.findings if f.stack == plan.stack_name or f.path in files
            )
            suppressed = tuple(
                s
                for s in self.report.suppressed
                if s.stack_file == spec.path or s.finding.path in files
            )
        verdict = "blocked" if plan.action is Action.BLOCKED else "allowed"
        return [
            self.record(
                Event.VALIDATED,
                f"{len(mine)} finding(s), {len(suppressed)} suppressed",
                change_set,
                findings=[str(f) for f in mine],
                suppressions=[str(s) for s in suppressed],
            ),
            self.record(
                Event.PLANNED,
                f"{plan.action.value}: {len(plan.changes)} resource change(s); guard: {verdict}",
                change_set,
                action=plan.action.value,
                change_control=change_control.expected(spec) if spec else None,
                changes=[c.to_dict() for c in plan.changes],
                verdict=verdict,
                violations=[v.message for v in plan.violations],
                change_set_differs=list(plan.change_set),
            ),
        ]

    def _default_audit(self, outcome: str, message: str, change_set: str) -> list[AuditRecord]:
        event = {
            "blocked": Event.BLOCKED,
            "failed": Event.FAILED,
            "executed": Event.EXECUTED,
            "deleting": Event.EXECUTED,
            "tags-updated": Event.EXECUTED,
            "refactored": Event.REFACTORED,
        }.get(outcome)
        return [self.record(event, message, change_set)] if event else []

    def _changed(self, **changes: Any) -> StackStatus | None:
        """The stack's status with `changes`, or None when nothing but the timestamp
        would change (a repeated event records, notifies and appends nothing)."""
        store, name = self.services.status, self.plan.stack_name
        current = store.get(name) or StackStatus(name)
        outputs_path = self.spec.outputs_path if self.spec else current.outputs_path
        where = {"account": self.spec.account, "role_arn": self.spec.role_arn} if self.spec else {}
        if changes.get("phase", current.phase) is not Phase.WAITING:
            changes.setdefault("waits_for", "")
        status = current.but(region=self.plan.region, outputs_path=outputs_path, **where, **changes)
        if replace(status, updated_at=current.updated_at) == current:
            return None
        return status

    def _notify(self, outcome: str, message: str, change_set: str) -> None:
        kind = {
            "blocked": Kind.BLOCKED,
            "failed": Kind.FAILED,
            "awaiting approval": Kind.APPROVAL_REQUIRED,
            "refactored": Kind.REFACTORED,
        }.get(outcome)
        if kind is not None:
            plan = self.plan
            if kind is Kind.APPROVAL_REQUIRED:
                message = f"{message}\n{_plan_text(plan)}"
            note = Notification(
                kind, plan.stack_name, plan.region, message, self.revision, change_set
            )
            self.services.notifier.send([note])


def _plan_text(plan: StackPlan) -> str:
    """The plan as a notification shows it: one line per resource change."""
    lines = [f"plan: {plan.action.value} {plan.stack_name} ({plan.region})"]
    lines += [f"  refactor {m}" for m in plan.refactor]
    for c in plan.changes:
        replaced = f", replacement {c.replacement.value}" if c.action.value != "Add" else ""
        props = f" [{', '.join(c.properties)}]" if c.properties else ""
        lines.append(f"  {c.action.value} {c.logical_id} ({c.resource_type}){replaced}{props}")
    return "\n".join(lines)


def _apply_one(
    step: _Attempt,
    state: DesiredState,
    live: dict[tuple[str, str], LiveStack],
    owner: str,
    head: Callable[[], str] | None = None,
    lease: Callable[[], int] = lambda: LEASE_SECONDS,
    fan_out: list[_Attempt] | None = None,
) -> StackResult:
    plan, spec, services, revision = step.plan, step.spec, step.services, step.revision
    current = step.before
    suspended = change_control.suspension(spec, current)
    by_file = spec is not None and spec.suspended
    if spec is not None and current is not None and current.suspended_file and not by_file:
        # Said once, whatever else suspends it (`reconciler suspend` records its own).
        message = f"resumed: {current.suspended_file} no longer says suspended: true"
        services.audit.append([step.record(Event.RESUMED, message, by="stack file")])
        services.status.put(current.but(suspended_file=""))
    if plan.action is Action.ORPHANED:
        return step.done("orphaned", plan.reason, attempted=False, sync=Sync.ORPHANED)
    if suspended:
        # Nothing is changed, not even SSM; a held change set stays held (resume lets
        # it go on). A suspension by the stack file is recorded when first seen,
        # whatever else suspends it (`reconciler suspend` recorded its own).
        first = by_file and not (current and current.suspended_file)
        said = f"suspended by its stack file ({spec.path}: suspended: true)" if first else ""
        record = step.record(Event.SUSPENDED, said, by="stack file", file=spec.path)
        return step.done(
            "suspended", f"not changed: {suspended}", attempted=False, phase=Phase.SUSPENDED,
            suspended_file=spec.path if by_file else "", audit=(record,) if first else (),
        )  # fmt: skip
    if current is not None and current.refactor_pending and plan.action is not Action.REFACTOR:
        # (Still planned as a refactor: its own path finds it and records its end.)
        ended = _settle_refactor(step, current)
        if ended is not None:
            return ended
    if plan.action is Action.NONE:
        # The live stack already matches (a revert, a change applied elsewhere, or its
        # outputs not yet fully published): SSM is given whatever differs first.
        return _up_to_date(step, live[(plan.account, plan.region, plan.stack_name)])
    if plan.action is Action.WAIT:
        return step.done("waiting", plan.reason, attempted=False, phase=Phase.WAITING)
    if plan.action is Action.BLOCKED:
        return step.done(
            "blocked", plan.reason, sync=Sync.BLOCKED, phase=Phase.BLOCKED,
            audit=(*step.checked(""), step.record(Event.BLOCKED, plan.reason)),
        )  # fmt: skip

    waiting_on = _unready_dependencies(spec, state, services, revision)
    if waiting_on:
        said = ", ".join(f"{name} ({why})" if why else name for name, why in waiting_on)
        return step.done(
            "waiting", f"waits for {said} to complete", phase=Phase.WAITING,
            waits_for=",".join(name for name, _ in waiting_on),
        )  # fmt: skip
    if fan_out is not None:
        fan_out.append(step)
        return step.result(QUEUED, f"queued for a stack worker ({services.queue.description})")
    if plan.action is Action.REFACTOR:
        return _refactor_then_change(step, state, owner, head, lease)
    if not services.status.acquire(plan.stack_name, owner, lease()):
        services.status.defer(plan.stack_name, revision)
        message = "another operation holds this stack's lease; deferred until it ends"
        return step.result("deferred", message)
    try:
        result = _change(step, state, live.get((plan.account, plan.region, plan.stack_name)), head)
    finally:
        deferred = services.status.release(plan.stack_name, owner)
    return replace(result, rerun=True) if deferred else result


def _refactor_then_change(
    step: _Attempt,
    state: DesiredState,
    owner: str,
    head: Callable[[], str] | None,
    lease: Callable[[], int],
) -> StackResult:
    """The refactor, under the leases of every stack it touches (taken in plan order, so
    that two passes never hold one each), then this stack's own change set."""
    plan, services = step.plan, step.services
    held: list[str] = []
    try:
        for name in plan.refactor_stacks:
            if not services.status.acquire(name, owner, lease()):
                # On the stack whose lease is held: its holder runs again when done.
                services.status.defer(name, step.revision)
                message = (
                    f"another operation holds the lease of {name}, which this refactor "
                    "touches; deferred until it ends"
                )
                result = step.result("deferred", message)
                break
            held.append(name)
        else:
            result = _refactor_steps(step, state, head)
    finally:
        deferred = [services.status.release(name, owner) for name in reversed(held)]
    return replace(result, rerun=True) if any(deferred) else result


def _refactor_steps(
    step: _Attempt, state: DesiredState, head: Callable[[], str] | None
) -> StackResult:
    plan, services = step.plan, step.services
    if head is not None and (latest := head()) != step.revision:
        message = f"the branch moved on to {latest[:12]} during this pass; not applied"
        return step.result("superseded", message)
    for name in plan.refactor_stacks:
        spec = state.stack(name)
        if spec is not None and (why := change_control.suspension(spec, services.status.get(name))):
            message = f"the refactor with {name} waits: {name} is not changed ({why})"
            return step.done(
                "suspended", message, attempted=False, phase=Phase.WAITING, waits_for=name
            )
    moved = _run_refactor(step, state)
    if moved is not None:
        return moved
    stack = services.cfn.describe_stack(plan.stack_name, plan.region)
    if stack is None or stack.in_progress:
        status = stack.status if stack else "gone"
        message = (
            f"refactored; {plan.stack_name} is {status}: its change set follows once it settles"
        )
        return step.done("waiting", message, phase=Phase.WAITING)
    step.before = services.status.get(plan.stack_name)
    return _run_change_set(step, state.templates[step.spec.template_file_path].body, stack)


def _run_refactor(step: _Attempt, state: DesiredState) -> StackResult | None:
    """Create, check and execute the refactor, one call at a time and never waiting: a
    refactor CloudFormation is still working on is picked up by the next event (found by
    its description). None once it is executed."""
    plan, cfn = step.plan, step.services.cfn
    found = cfn.find_stack_refactor(plan.refactor_description, plan.region)
    if found is not None and found.execution_failed and step.retry_failed:
        found = None  # `reconciler apply` tries a failed refactor again
    if found is None:
        found = cfn.create_stack_refactor(
            description=plan.refactor_description,
            region=plan.region,
            templates={n: plan.refactor_templates[n] for n in plan.refactor_stacks},
            mappings=[
                ((m.source.stack_name, m.source.logical_id),
                 (m.destination.stack_name, m.destination.logical_id))
                for m in plan.refactor
            ],
        )  # fmt: skip
    if found.available:
        actions = cfn.stack_refactor_actions(found.refactor_id, plan.region)
        problems = refactor.unexpected(actions, plan.refactor)
        if problems:
            why = "; ".join(problems)
            return _refactor_recorded(step, state, found, "blocked", f"not executed: {why}")
        found = cfn.execute_stack_refactor(found.refactor_id, plan.region)
    if found.executed:
        _refactor_recorded(step, state, found, "refactored", "")
        return None
    if found.refused:
        return _refactor_recorded(step, state, found, "blocked", f"refused: {found.reason}")
    if found.execution_failed:
        why = f"failed ({found.execution_status}): {found.reason or 'no reason given'}"
        return _refactor_recorded(step, state, found, "failed", why)
    state_now = found.status if found.status != "CREATE_COMPLETE" else found.execution_status
    return _refactor_recorded(step, state, found, "waiting", f"is {state_now}")


def _refactor_recorded(
    step: _Attempt, state: DesiredState, found: Any, outcome: str, what: str
) -> StackResult:
    """The refactor's state, recorded on every stack it touches (each notified once),
    this stack's result returned."""
    plan = step.plan
    mapping = refactor.mapping_text(plan.refactor)
    name = f"stack refactor {found.refactor_id}"
    if outcome == "refactored":
        message = f"refactored by {name}: {mapping}; the change set follows"
    elif outcome == "waiting":
        message = f"{name} ({mapping}) {what}; resumed by the next event"
    else:
        message = f"{name} ({mapping}) {what}; nothing was moved or deleted"
    pending = json.dumps(
        {"id": found.refactor_id, "mapping": mapping, "moves": [m.to_dict() for m in plan.refactor]}
    )
    fields: dict[str, Any] = {
        "refactored": {"phase": Phase.WAITING, "sync": Sync.OUT_OF_SYNC,
                       "refactor": f"{found.refactor_id}: {mapping}", "refactor_pending": ""},
        "waiting": {"phase": Phase.WAITING, "refactor_pending": pending},
        "blocked": {"phase": Phase.BLOCKED, "sync": Sync.BLOCKED, "refactor_pending": ""},
        "failed": {"phase": Phase.FAILED, "sync": Sync.FAILED, "health": Health.DEGRADED,
                   "refactor_pending": ""},
    }[outcome]  # fmt: skip
    result = None
    for stack_name in plan.refactor_stacks:
        mine = stack_name == plan.stack_name
        other = step.plans.get(stack_name)
        spec = state.stack(stack_name)
        if not mine and (other is None or spec is None):
            continue
        if outcome == "refactored" and _refactored_by(step.services, stack_name, found):
            continue  # said when it ran: the stack may have gone on since (its change set)
        attempt = step if mine else _Attempt(
            other, spec, step.services, step.revision, step.about, step.report
        )  # fmt: skip
        detail = {"refactor_id": found.refactor_id, "moves": [m.to_dict() for m in plan.refactor]}
        event = {"refactored": Event.REFACTORED, "blocked": Event.BLOCKED,
                 "failed": Event.FAILED}.get(outcome)  # fmt: skip
        audit = () if event is None else (attempt.record(event, message, **detail),)
        if outcome == "blocked":
            audit = (*attempt.checked(""), *audit)
        done = attempt.done(outcome, message, audit=audit, **fields)
        if mine:
            result = done
    return result


def _settle_refactor(step: _Attempt, current: StackStatus) -> StackResult | None:
    """A refactor an earlier pass started and left under way: how it ended is recorded on
    this stack first (the plan no longer says refactor once CloudFormation moved the
    resources). None when the step goes on with its plan."""
    try:
        pending = json.loads(current.refactor_pending)
        refactor_id, mapping, moves = pending["id"], pending["mapping"], pending["moves"]
    except (ValueError, TypeError, KeyError):
        log.warning("%s: unreadable refactor_pending dropped", current.stack_name)
        step.services.status.put(current.but(refactor_pending=""))
        return None
    try:
        found = step.services.cfn.describe_stack_refactor(refactor_id, step.plan.region)
    except PermanentAwsError as err:
        log.warning(
            "%s: stack refactor %s not read (%s); dropped", step.plan.stack_name, refactor_id, err
        )
        step.services.status.put(current.but(refactor_pending=""))
        return None
    name = f"stack refactor {refactor_id}"
    detail = {"refactor_id": refactor_id, "moves": moves}
    if found.working:
        state_now = found.status if found.status != "CREATE_COMPLETE" else found.execution_status
        message = f"{name} ({mapping}) is {state_now}; resumed by the next event"
        waiting = step.done("waiting", message, phase=Phase.WAITING)
        return replace(waiting, action=Action.REFACTOR)  # what the stack waits for
    if found.executed:
        message = f"refactored by {name}: {mapping}"
        record = step.record(Event.REFACTORED, message, **detail)
        step.done(
            "refactored", message, audit=(record,), phase=Phase.WAITING, sync=Sync.OUT_OF_SYNC,
            refactor=f"{refactor_id}: {mapping}", refactor_pending="",
        )  # fmt: skip
        step.before = step.services.status.get(step.plan.stack_name)
        return None
    if found.execution_failed or found.refused:
        why = found.reason or "no reason given"
        ended = found.status if found.refused else found.execution_status
        message = f"{name} ({mapping}) ended {ended}: {why}; nothing was moved or deleted"
        record = step.record(Event.FAILED, message, **detail)
        return step.done(
            "failed", message, audit=(record,), phase=Phase.FAILED, sync=Sync.FAILED,
            health=Health.DEGRADED, refactor_pending="",
        )  # fmt: skip
    if not found.available:  # obsolete, or deleted: it will never run
        step.services.status.put(current.but(refactor_pending=""))
    return None  # validated and not yet executed: the plan's refactor path executes it


def _refactored_by(services: Services, stack_name: str, found: Any) -> bool:
    """Whether the stack's record already names this refactor."""
    current = services.status.get(stack_name)
    return current is not None and current.refactor.startswith(f"{found.refactor_id}:")


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
    published = ()
    if not change.empty:
        message += f"; outputs republished: {_counts(change)}"
        published = (
            step.record(
                Event.OUTPUTS_PUBLISHED, _counts(change), path=spec.outputs_path,
                written=sorted(change.put), deleted=sorted(change.delete),
                unchanged=change.unchanged,
            ),
        )  # fmt: skip
    return step.done(
        "unchanged", message, sync=Sync.SYNCED, phase=Phase.IDLE,
        outputs_hash=outputs_digest(spec.outputs_path, stack.outputs), audit=published or None,
    )  # fmt: skip


RETRIED = "published by the event's retry or the next pass"


def _counts(change: OutputsChange) -> str:
    return f"{len(change.put)} written, {change.unchanged} unchanged, {len(change.delete)} deleted"


def _unready_dependencies(
    spec: StackSpec, state: DesiredState, services: Services, revision: str = ""
) -> list[tuple[str, str]]:
    """Dependencies whose live stack is not yet a success at their desired inputs, each
    with what is known of why (a failed one must be fixed first)."""
    waiting = []
    for name in spec.depends_on:
        dep = state.stack(name)
        stack = services.at(dep, revision).cfn.describe_stack(name, dep.region)
        wanted = desired_hash(dep, state.templates[dep.template_file_path].body)
        if stack is None or not stack.succeeded or stack.desired_hash != wanted:
            failed = stack is not None and stack.failed
            waiting.append((name, f"{stack.status}: fix it first" if failed else ""))
    return waiting


def _run_change_set(step: _Attempt, template_body: str, stack: LiveStack | None) -> StackResult:
    plan, spec, cfn = step.plan, step.spec, step.services.cfn
    tags = managed_tags(spec, plan.desired_hash)
    name = f"gitops-{plan.desired_hash[:16]}"

    def create():
        return cfn.create_change_set(
            name=name,
            stack_name=spec.stack_name,
            region=spec.region,
            template_body=template_body,
            parameters=spec.parameters,
            tags=tags,
            create=plan.action is Action.CREATE,
            wait_seconds=step.services.change_set_wait_seconds,
        )

    change_set = create()
    if change_set.execution_status == "OBSOLETE":
        # A held change set the stack moved past (a drift repair ran meanwhile): made again.
        cfn.delete_change_set(change_set)
        change_set = create()
    if change_set.pending:
        message = f"change set {name} is still being computed; resumed by the next event"
        return step.done("waiting", message, change_set=name, phase=Phase.WAITING)
    if change_set.empty:
        message = "no resource changes; stack tags updated"
        step.services.audit.append([step.record(Event.EXECUTED, message, name)])  # first
        cfn.update_tags(stack, tags, token=name)
        return step.done(
            "tags-updated", message, phase=Phase.APPLYING,
            operation_token=name, stack_id=stack.stack_id, audit=(),
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
        step.plan = confirmed
        return step.done(
            "blocked", reason, sync=Sync.BLOCKED, phase=Phase.BLOCKED,
            audit=(*step.checked(name), step.record(Event.BLOCKED, reason, name)),
        )  # fmt: skip

    step.plan = confirmed
    # Read now, just before the gates: a suspension or approval given while the change
    # set was being made counts, and a hold an earlier commit left is superseded.
    step.before = step.services.status.get(plan.stack_name)
    _drop_stale_hold(step, name)
    gate = change_control.gate(
        spec,
        step.before,
        name,
        step.revision,
        step.about.commit(step.revision),
        step.about.reviews(step.revision),
        members=step.about.members,
    )
    stack_id = change_set.stack_id or (stack.stack_id if stack else "")
    if not gate.go:
        return _hold(step, gate, name, stack_id)
    return execute(step, change_set, stack_id, gate)


class _Recorded(About):
    """The commit a pass recorded with the change set it held."""

    def __init__(self, commit: CommitInfo) -> None:
        super().__init__()
        self._commit = commit

    def commit(self, revision: str) -> CommitInfo:
        return self._commit


def run_held(spec: StackSpec, services: Services, owner: str) -> StackResult:
    """Run the change set a pass held, if its gates now let it through (after
    `reconciler approve`): under the stack's lease, without reading the repository
    again. The change set was created, described and guarded when it was held, and a
    change set never changes; a newer commit has replaced it, or it runs as it was."""
    name, region = spec.stack_name, spec.region
    if not services.status.acquire(name, owner, LEASE_SECONDS):
        message = (
            "another operation holds this stack's lease; if the change set is still held "
            "when it ends, the next pass runs it"
        )
        return StackResult(name, region, Action.UPDATE, "deferred", message)
    try:
        status = services.status.get(name)
        if status is None or status.phase not in HELD or not status.change_set:
            now = f"{status.phase.value}: {status.message}" if status else "no record"
            return StackResult(name, region, Action.NONE, "unchanged", f"nothing held ({now})")
        plan = StackPlan(
            name, region, Action.UPDATE, "held change set",
            desired_hash=status.desired_hash, stack_file=spec.path,
        )  # fmt: skip
        commit = change_control.commit_of(status)
        spec = change_control.rules_of(spec, status)
        step = _Attempt(plan, spec, services, status.attempted_revision, _Recorded(commit))
        step.before = status
        gate = change_control.gate(
            spec, status, status.change_set, status.attempted_revision, commit
        )
        if not gate.go:
            return _hold(step, gate, status.change_set, status.stack_id)
        try:
            change_set = step.services.cfn.describe_change_set(status.change_set, name, region)
        except PermanentAwsError as err:  # deleted out of band, say
            message = (
                f"held change set {status.change_set} can no longer run ({err}); "
                "the next pass makes it again"
            )
            return step.result("failed", message, status.change_set)
        if not change_set.ready:
            message = (
                f"held change set {change_set.name} can no longer run ({change_set.status}, "
                f"{change_set.execution_status}); the next pass makes it again"
            )
            return step.result("failed", message, change_set.name)
        return execute(step, change_set, change_set.stack_id or status.stack_id, gate)
    finally:
        services.status.release(name, owner)


def execute(step: _Attempt, change_set, stack_id: str, gate=None) -> StackResult:
    """Execute a guarded change set its gates let through, and say so."""
    name = change_set.name
    message = f"change set {name} executed"
    detail = {}
    if gate is not None and gate.approved_by:
        message += f" (approved by {gate.approved_by} at {gate.approved_at})"
        detail = {"approved_by": gate.approved_by, "approved_at": gate.approved_at}
    checked = step.checked(name) if not _held(step) else []
    # On the trail before it runs: an execution cannot be taken back, so a trail failing
    # after it would lose its record (the retry finds the stack busy). If AWS then
    # refuses to execute, `failed` follows with AWS's reason.
    step.services.audit.append([*checked, step.record(Event.EXECUTED, message, name, **detail)])
    step.services.cfn.execute_change_set(change_set, token=name)
    return step.done(
        "executed", message, change_set=name,
        sync=Sync.OUT_OF_SYNC, health=Health.PROGRESSING, phase=Phase.APPLYING,
        operation_token=name, stack_id=stack_id, window_opens="", audit=(),
    )  # fmt: skip


def _held(step: _Attempt) -> bool:
    """Whether this change set was held before (its validation and plan are on record)."""
    current = step.before
    return bool(
        current
        and current.phase in HELD
        and current.attempted_revision == step.revision
        and current.desired_hash == step.plan.desired_hash
    )


def _hold(step: _Attempt, gate, name: str, stack_id: str) -> StackResult:
    """Keep the guarded change set: suspended, awaiting approval or waiting for its
    window. Said (notified, recorded) once per commit and change set."""
    if gate.verdict == change_control.SUSPENDED:
        return step.done(
            "suspended", f"not changed: {gate.message}", phase=Phase.SUSPENDED, change_set=name
        )
    if gate.verdict == change_control.AWAITING:
        outcome, phase, event = "awaiting approval", Phase.AWAITING_APPROVAL, Event.HELD
    else:
        outcome, phase, event = (
            "waiting for window",
            Phase.WAITING_FOR_WINDOW,
            Event.WAITING_FOR_WINDOW,
        )
    held = _held(step)
    again = held and step.before.phase is phase and step.before.change_set == name
    if again:  # held already, and said so: a message written over it (drift) is put back
        return step.done(
            outcome, gate.message, change_set=name, sync=Sync.OUT_OF_SYNC, phase=phase,
            window_opens=gate.window_opens, stack_id=stack_id, audit=(), notify=False,
        )  # fmt: skip
    checked = [] if held else step.checked(name)
    detail = {"window_opens": gate.window_opens, "approved_by": gate.approved_by}
    return step.done(
        outcome, gate.message, change_set=name,
        sync=Sync.OUT_OF_SYNC, phase=phase, window_opens=gate.window_opens,
        stack_id=stack_id,
        audit=(*checked, step.record(event, gate.message, name, **detail)),
    )  # fmt: skip


def _drop_stale_hold(step: _Attempt, name: str) -> None:
    """A change set held for an earlier commit is superseded: deleted when the new
    commit's inputs differ (its change set replaces it), and recorded at the earlier
    commit either way, with the approval it had, which no longer counts."""
    current = step.before
    if current is None or current.phase not in HELD or current.attempted_revision == step.revision:
        return
    newer = f"a newer commit {step.revision[:12]} replaces it"
    records = []
    if current.approved_change_set == current.change_set and (
        current.approved_revision == current.attempted_revision
    ):
        message = f"approval by {current.approved_by} no longer counts: {newer}"
        records.append(_about_held(current, step, Event.APPROVAL_INVALIDATED, message))
    deleted = bool(current.change_set) and current.change_set != name
    held = f"change set {current.change_set} {'deleted' if deleted else 'held again'}"
    records.append(_about_held(current, step, Event.SUPERSEDED, f"{held}: {newer}"))
    step.services.audit.append(records)  # before the deletion: nothing unrecorded
    if deleted:
        step.services.cfn.discard_change_set(
            current.change_set, step.plan.stack_name, step.plan.region
        )


def _about_held(current: StackStatus, step: _Attempt, event: Event, message: str) -> AuditRecord:
    """A record about the change set held at the earlier commit (its commit, author and
    change set), made by this pass."""
    services = step.services
    return of_stack(
        current, event, message, actor=services.actor, account=services.account,
        superseded_by=step.revision,
    )  # fmt: skip


def confirm(plan: StackPlan, spec: StackSpec, reported) -> StackPlan:
    """The plan with the change set's report merged in and guarded again: the change set
    is the last word on a replacement or removal, whatever the prediction said."""
    merged = merge_change_set(list(plan.changes), list(reported))
    differs = tuple(differences(list(plan.changes), list(reported)))
    return guarded(replace(plan, changes=tuple(merged), change_set=differs), spec)


def record_invalid(
    state: DesiredState,
    revision: str,
    findings: list[Finding],
    services: Services,
    about: About | None = None,
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
        step = _Attempt(plan, spec, services, revision, about)
        message = f"invalid desired state, nothing written: {mine[0]}{more}"
        findings = [str(f) for f in mine]
        step.done(
            "blocked",
            message,
            attempted=False,
            sync=Sync.BLOCKED,
            phase=Phase.BLOCKED,
            attempted_revision=revision,
            audit=(
                step.record(
                    Event.VALIDATED, f"{len(mine)} finding(s), 0 suppressed", findings=findings
                ),
                step.record(Event.BLOCKED, message),
            ),
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
    # In the stack's own account (a member account's role, with the commit it attempted).
    home = services
    services = services.at(current, current.attempted_revision) if current else services
    stack = services.cfn.describe_stack(stack_name, region)
    if ref is not None and stack is not None and (why := foreign(ref, live_id=stack.stack_id)):
        return NotOurs(why)
    if stack is None:
        return _gone(current, home)
    if not (stack.managed or current):
        return None
    current = current or StackStatus(stack_name, region=region, outputs_path=f"/{stack_name}")
    if stack.in_progress:
        return current
    if current.phase in HELD and not (token and token == current.operation_token):
        # An operation someone else ran (a tags update by hand) must not erase the hold.
        return NotOurs(
            f"{stack.status} of an operation this reconciler did not start; {stack_name} "
            f"keeps its held change set {current.change_set} ({current.phase.value})"
        )
    # Work deferred meanwhile (a push during this operation) keeps the stack WAITING,
    # so that the caller reconciles again.
    pending = current.phase is Phase.WAITING
    # The operation the reconciler started: still APPLYING, or its token, where a repeated
    # work item recorded the stack meanwhile (up to date, or waiting while in progress).
    ours = current.phase is Phase.APPLYING or (
        bool(token) and token == current.operation_token and current.sync is not Sync.FAILED
    )
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
        change = None
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
    services.audit.append(_finished(current, status, stack, kind, change, services, ours))
    services.status.put(status)  # after the trail: a retried event appends again
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


def _finished(
    current: StackStatus,
    status: StackStatus,
    stack: LiveStack,
    kind: Kind | None,
    change: OutputsChange | None,
    services: Services,
    ours: bool = False,
) -> list[AuditRecord]:
    """The trail's records for an operation's end: completed or failed (with a summary
    of the stack's events), drift repaired, outputs published (names, never values)."""
    base = of_stack(
        replace(current, stack_id=stack.stack_id),
        Event.COMPLETED,
        status.message,
        actor=services.actor,
        account=services.account,
    )
    records = []
    if kind in (Kind.SUCCEEDED, Kind.FAILED, Kind.DRIFT_REPAIRED):
        event = {
            Kind.SUCCEEDED: Event.COMPLETED,
            Kind.FAILED: Event.FAILED,
            Kind.DRIFT_REPAIRED: Event.DRIFT_REPAIRED,
        }[kind]
        summary = _events_summary(stack, current, services) if ours else {}
        records.append(replace(base, event=event, detail={"stack_status": stack.status, **summary}))
    if change is not None and not change.empty:
        published = {
            "path": status.outputs_path,
            "written": sorted(change.put),
            "deleted": sorted(change.delete),
            "unchanged": change.unchanged,
        }
        records.append(
            replace(base, event=Event.OUTPUTS_PUBLISHED, message=_counts(change), detail=published)
        )
    return records


def _events_summary(stack: LiveStack, current: StackStatus, services: Services) -> dict[str, Any]:
    """What the operation did, from its stack events: resources per final status and
    the reasons of those that failed. Best effort: the trail never fails an event."""
    try:
        since = datetime.strptime(current.updated_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        since = None
    try:
        events = services.cfn.events(stack.name, stack.region, set(), since)
    except (AwsError, AttributeError):
        return {}
    last: dict[str, StackEvent] = {}
    for event in events:
        if event.logical_id != stack.name:
            last[event.logical_id] = event
    counts: dict[str, int] = {}
    for event in last.values():
        counts[event.status] = counts.get(event.status, 0) + 1
    failed = [
        f"{e.logical_id}: {e.reason}" for e in events if e.status.endswith("_FAILED") and e.reason
    ]
    return {"resources": counts, "failures": failed[:10]}


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
