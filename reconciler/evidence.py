"""The evidence pack an assessor is shown: the audit trail of a period as JSON Lines (the
records themselves, for any tool) and one self-contained HTML report (inline CSS, no
script, nothing fetched) that groups the changes per stack and says which PCI DSS v4.0
requirement each item evidences, and which requirements this tool cannot evidence.

A change is the records sharing a stack and commit (or, lacking a commit, a change set):
validated, planned, held, approved or rejected, executed, completed or failed, or
superseded by a newer commit. An `event received` is what started a pass, not a change:
it is listed apart, as context, and never counted as one. Drift, suspensions and
published outputs are listed apart too.

An approval evidences 6.5.4 only when the change set it approved was executed under it:
an `executed` record naming `approved_by`, with the `approved` record of that change set
and commit (`reconciler approve`), or a GitHub review (`github:LOGIN`, which has no
`approved` record by design). An approval invalidated by a newer commit, or never
executed, is shown but not claimed; an IAM approval with no `approved` record is a
warning. The approver is compared with the author the way change control does
(reconciler.change_control).

Everything a record carries is untrusted text (a commit message, a stack name, an
approver's login): the report escapes all of it. A record's `detail` is never printed
raw: the keys below are rendered as tables and lists, any other key as escaped JSON.

Detail keys read here (all optional; KNOWN_DETAIL lists them): `findings` and
`suppressions` (strings or Finding dicts; a suppression carries its reason), `changes`
(ResourceChange dicts), `verdict` (the guard's), `violations`, `change_control` on a
plan (the stack file's approval and windows at that commit), `approved_by`/`approved_at`
on an execution, `drifted`, `outside_window`, a completion's `stack_status`, `resources`
and `failures`, and published outputs' `path`, `written`, `deleted`.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.audit import AuditRecord, Event
from reconciler.change_control import identity_names
from reconciler.source import CommitInfo

# --- what the tool evidences -------------------------------------------------------------


class Coverage(StrEnum):
    FULL = "evidenced"
    PARTLY = "in part"
    NONE = "not evidenced by this tool"


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str  # a short paraphrase of PCI DSS v4.0's wording
    coverage: Coverage
    events: tuple[Event, ...]  # the audit events that evidence it
    shows: str  # what the pack shows for it, or why it cannot


ALL_EVENTS = tuple(Event)
DRIFT_EVENTS = (
    Event.DRIFT_DETECTED,
    Event.DRIFT_REPAIR_STARTED,
    Event.DRIFT_REPAIRED,
    Event.DRIFT_NOT_REPAIRED,
)
APPROVAL_EVENTS = (
    Event.HELD,
    Event.APPROVED,
    Event.APPROVAL_REFUSED,
    Event.APPROVAL_INVALIDATED,
    Event.SUPERSEDED,
    Event.REJECTED,
)

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "1.2",
        "Network security controls are configured and maintained; changes to them follow "
        "change control (1.2.2)",
        Coverage.PARTLY,
        (
            Event.PLANNED,
            Event.COMPLETED,
            Event.DRIFT_DETECTED,
            Event.DRIFT_REPAIR_STARTED,
            Event.DRIFT_REPAIRED,
        ),
        "changes and drift repairs of security groups and of network guardrails (open "
        "ports, public database access) in the managed stacks; network controls outside "
        "those stacks are not seen",
    ),
    Requirement(
        "6.5.1",
        "Changes to production follow documented change control: reason, impact, approval, outcome",
        Coverage.PARTLY,
        (
            Event.PLANNED,
            Event.HELD,
            Event.WAITING_FOR_WINDOW,
            Event.BLOCKED,
            Event.EXECUTED,
            Event.COMPLETED,
            Event.FAILED,
        ),
        "each change's commit, author and pull request (the reason), its plan of resource "
        "changes (the impact), its approval and its outcome; functional testing and "
        "back-out procedures are the organisation's",
    ),
    Requirement(
        "6.5.2",
        "After a significant change, the applicable controls are confirmed in place",
        Coverage.PARTLY,
        (Event.VALIDATED, Event.PLANNED, Event.BLOCKED),
        "the validation rules' findings and suppressions (with reasons) and the data-loss "
        "guard's verdict for every change; only the controls those rules check",
    ),
    Requirement(
        "6.5.3",
        "Pre-production environments are separated from production",
        Coverage.PARTLY,
        (),
        "the account and region every change went to, per stack; whether those accounts "
        "are separated and access to them enforced is not evidenced here",
    ),
    Requirement(
        "6.5.4",
        "Roles are separated so that only reviewed and approved changes are deployed",
        Coverage.PARTLY,
        (*APPROVAL_EVENTS, Event.EXECUTED),
        "for stacks with approval: required, who approved each change that was executed "
        "under that approval, when and through what, that the approver was not the "
        "commit's author, refused self-approvals and rejections; approvals invalidated by "
        "a newer commit or never executed are shown, not counted; each change says "
        "whether its stack file required approval at that commit",
    ),
    Requirement(
        "6.5.5",
        "Live PANs are not used in pre-production environments",
        Coverage.NONE,
        (),
        "the reconciler deploys infrastructure and never sees cardholder data",
    ),
    Requirement(
        "6.5.6",
        "Test data and test accounts are removed before a system goes into production",
        Coverage.NONE,
        (),
        "the reconciler does not see the data or accounts inside the databases it deploys",
    ),
    Requirement(
        "10.2",
        "Audit logs capture events, with who, what, when, where and the outcome",
        Coverage.PARTLY,
        ALL_EVENTS,
        "the trail itself, for the reconciler's own actions: each record's event, stack, "
        "region, account, commit, actor and time (audit.jsonl); it does not hold who read "
        "the trail (reads of the audit table or bucket are CloudTrail's), nor any access "
        "to cardholder data, which is outside this tool, nor the logs of the systems it "
        "deploys",
    ),
    Requirement(
        "11.5",
        "Unexpected changes are detected and responded to",
        Coverage.PARTLY,
        DRIFT_EVENTS,
        "drift detected in the managed stacks and how it was repaired or why not; files "
        "on hosts are not watched",
    ),
)
REQUIREMENT = {r.id: r for r in REQUIREMENTS}

NETWORK_TYPES = (
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::NetworkAcl",
    "AWS::EC2::NetworkAclEntry",
    "AWS::EC2::PrefixList",
)
# The guardrails' AWS Config rules about network access.
NETWORK_CONTROLS = (
    "restricted-common-ports",
    "restricted-ssh",
    "vpc-sg-open-only-to-authorized-ports",
    "rds-instance-public-access-check",
)


@dataclass(frozen=True)
class Evidence:
    requirement: str
    why: str


# --- grouping ----------------------------------------------------------------------------

CHANGE_EVENTS = frozenset(
    {
        Event.VALIDATED,
        Event.PLANNED,
        Event.WAITING_FOR_WINDOW,
        Event.BLOCKED,
        Event.EXECUTED,
        Event.COMPLETED,
        Event.FAILED,
        *APPROVAL_EVENTS,
    }
)
SUPERSEDED = "superseded"
# The state a change is left in, by the last of these events it has.
OUTCOME = {
    Event.VALIDATED: "validated, not planned",
    Event.PLANNED: "planned, not executed",
    Event.HELD: "awaiting approval",
    Event.APPROVED: "approved, not executed",
    Event.APPROVAL_INVALIDATED: SUPERSEDED,  # older trails, without `superseded`
    Event.SUPERSEDED: SUPERSEDED,
    Event.REJECTED: "rejected",
    Event.WAITING_FOR_WINDOW: "waiting for window",
    Event.BLOCKED: "blocked",
    Event.EXECUTED: "executing (no completion recorded in the period)",
    Event.COMPLETED: "completed",
    Event.FAILED: "failed",
}
RECORDED = "recorded"  # a change with none of the events above (an approval refused)
# Counted one by one in the summary; every other outcome is counted as "other outcomes",
# so that the outcomes add up to the changes.
COUNTED = (
    "completed",
    "failed",
    "rejected",
    "blocked",
    "awaiting approval",
    "waiting for window",
    SUPERSEDED,
)
ENDINGS = (Event.COMPLETED, Event.FAILED, Event.DRIFT_REPAIRED)  # their detail: stack events
NO_RESOURCE_EVENTS = "resource events not available"
REVERT_PREFIX = "gitops-revert-drift-"  # reconciler.reconcile's drift repair change sets


def ordered(records: Iterable[AuditRecord]) -> list[AuditRecord]:
    return sorted(records, key=lambda r: (r.time, r.id))


def _first(records: Iterable[AuditRecord], name: str) -> str:
    return next((getattr(r, name) for r in records if getattr(r, name)), "")


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


# --- approvals and who gave them -----------------------------------------------------------


def author_names(author: str) -> set[str]:
    """The names a recorded author goes by, as change control compares them: a GitHub
    login, or git's "Name <email>" read as the name, the email and its local part."""
    name, _, email = author.partition("<")
    if not email.strip():
        return CommitInfo(author=author).identities()
    email = email.split(">", 1)[0].strip()
    return CommitInfo(author=author, author_name=name.strip(), author_email=email).identities()


def same_person(identity: str, author: str) -> bool:
    """Whether `identity` (an IAM ARN, `github:LOGIN`, a name) goes by a name of the
    commit's author: change control's own comparison (an IAM user or role session named
    after the author's login, name, email or email's local part is the author)."""
    return bool(identity_names(identity) & author_names(author))


def through(identity: str) -> str:
    """How an approval was given, from the approver's identity."""
    if identity.startswith("github:"):
        return "GitHub review"
    if identity.startswith("arn:"):
        return "reconciler approve"
    return "not known"


class Given(StrEnum):
    """What came of an approval."""

    EXECUTED = "executed under this approval"
    INVALIDATED = "approved, then invalidated by a newer commit"
    NOT_EXECUTED = "approved, not executed"
    NOT_ON_RECORD = "approval not on record"


@dataclass(frozen=True)
class Approval:
    approver: str
    time: str
    change_set: str
    given: Given
    executed_at: str = ""

    @property
    def through(self) -> str:
        return through(self.approver)

    @property
    def counts(self) -> bool:
        """Evidence of 6.5.4 (before the author check): a change set executed under it."""
        return self.given is Given.EXECUTED


@dataclass(frozen=True)
class Change:
    stack: str
    commit: str
    records: tuple[AuditRecord, ...]
    since: str = ""  # the period's start, when known

    def _all(self, *events: Event) -> list[AuditRecord]:
        return [r for r in self.records if r.event in events]

    def _last(self, event: Event) -> AuditRecord | None:
        found = self._all(event)
        return found[-1] if found else None

    @property
    def author(self) -> str:
        return _first(self.records, "author")

    @property
    def pull_request(self) -> str:
        return _first(self.records, "pull_request")

    @property
    def regions(self) -> tuple[str, ...]:
        return _distinct(r.region for r in self.records)

    @property
    def accounts(self) -> tuple[str, ...]:
        return _distinct(r.account for r in self.records)

    @property
    def change_sets(self) -> tuple[str, ...]:
        return _distinct(r.change_set for r in self.records)

    @property
    def approvals(self) -> list[Approval]:
        """Every approval of this change and what came of it. An `approved` record counts
        when an `executed` record of the same change set follows it (naming it, or no
        one); an execution naming an approver without that record is a GitHub review
        (`github:`, never recorded as `approved`) or, for an IAM approver, an approval
        not on record."""
        executions = self._all(Event.EXECUTED)
        found = []
        for r in self._all(Event.APPROVED):
            ran = next(
                (
                    e
                    for e in executions
                    if e.change_set == r.change_set
                    and e.time >= r.time
                    and _scalar(e.detail.get("approved_by", "")) in ("", r.actor)
                ),
                None,
            )
            ended = any(
                x.change_set == r.change_set and x.time >= r.time
                for x in self._all(Event.APPROVAL_INVALIDATED, Event.SUPERSEDED)
            )
            given = Given.EXECUTED if ran else Given.INVALIDATED if ended else Given.NOT_EXECUTED
            found.append(Approval(r.actor, r.time, r.change_set, given, ran.time if ran else ""))
        for e in executions:
            who = _scalar(e.detail.get("approved_by", ""))
            if not who or any(
                a.given is Given.EXECUTED and a.approver == who and a.change_set == e.change_set
                for a in found
            ):
                continue
            when = _scalar(e.detail.get("approved_at", "")) or e.time
            given = Given.EXECUTED if who.startswith("github:") else Given.NOT_ON_RECORD
            found.append(Approval(who, when, e.change_set, given, e.time))
        return found

    @property
    def validation(self) -> AuditRecord | None:
        return self._last(Event.VALIDATED)

    @property
    def plan(self) -> AuditRecord | None:
        return self._last(Event.PLANNED)

    @property
    def policy(self) -> dict[str, Any] | None:
        """The stack file's change control at this commit, as the plan recorded it."""
        found = self.plan.detail.get("change_control") if self.plan is not None else None
        return found if isinstance(found, dict) else None

    @property
    def approval_required(self) -> bool | None:
        """Whether the stack file asked for an approval at this commit (None: not recorded)."""
        return None if self.policy is None else self.policy.get("approval") == "required"

    @property
    def policy_text(self) -> str:
        policy = self.policy
        if policy is None:
            return "policy not recorded"
        if policy.get("approval") == "required":
            who = ", ".join(_scalar(a) for a in _list(policy.get("approvers")))
            said = ["approval required at this commit" + (f" (approvers: {who})" if who else "")]
        else:
            said = ["approval not required at this commit (stack file)"]
        if policy.get("suspended"):
            said.append("suspended by its stack file")
        window = _scalar(policy.get("window", ""))
        if window and window != "none":
            opens = _scalar(policy.get("next_window", ""))
            said.append(f"change window {window}" + (f", next opens {opens}" if opens else ""))
        return "; ".join(said)

    @property
    def outcome(self) -> str:
        record = self.outcome_record
        return OUTCOME[record.event] if record is not None else RECORDED

    @property
    def outcome_record(self) -> AuditRecord | None:
        """The last record of an OUTCOME event; but a rejection stands unless something
        ran after it, so a change with a `rejected` record is counted as rejected."""
        last = [r for r in self.records if r.event in OUTCOME]
        rejected = [i for i, r in enumerate(last) if r.event is Event.REJECTED]
        ran = (Event.EXECUTED, Event.COMPLETED, Event.FAILED)
        if rejected and not any(r.event in ran for r in last[rejected[-1] :]):
            return last[rejected[-1]]
        return last[-1] if last else None

    def evidence(self) -> list[Evidence]:
        found: list[Evidence] = []
        who = f"commit {self.commit[:12] or '(none)'} by {self.author or 'an unknown author'}"
        pr = f", pull request #{self.pull_request}" if self.pull_request else ""
        if self.plan is not None:
            changes = _list(self.plan.detail.get("changes"))
            found.append(
                Evidence("6.5.1", f"planned: {len(changes)} resource change(s); {who}{pr}")
            )
        elif self._all(Event.EXECUTED, Event.COMPLETED, Event.FAILED):
            found.append(Evidence("6.5.1", f"executed without a recorded plan; {who}{pr}"))
        checks = []
        if self.validation is not None:
            detail = self.validation.detail
            findings = _list(detail.get("findings"))
            suppressed = _list(detail.get("suppressions", detail.get("suppressed")))
            checks.append(
                f"validated: {len(findings)} finding(s), {len(suppressed)} suppressed with reasons"
            )
        if self.plan is not None and "verdict" in self.plan.detail:
            checks.append(f"guard verdict: {_scalar(self.plan.detail['verdict'])}")
        if self._all(Event.BLOCKED):
            checks.append("blocked before any change was made")
        if checks:
            found.append(Evidence("6.5.2", "; ".join(checks)))
        if self.accounts or self.regions:
            where = ", ".join([*(f"account {a}" for a in self.accounts), *self.regions])
            found.append(Evidence("6.5.3", f"targets {where}"))
        found.extend(self._separation())
        if self.plan is not None:
            touched = [c for c in _list(self.plan.detail.get("changes")) if _is_network(c)]
            if touched:
                names = ", ".join(_change_name(c) for c in touched)
                found.append(Evidence("1.2", f"changes network security controls: {names}"))
        found.append(Evidence("10.2", f"{len(self.records)} audit record(s)"))
        return found

    def _separation(self) -> list[Evidence]:
        found = []
        for approval in self.approvals:
            who = approval.approver
            if approval.counts and self.author and not same_person(who, self.author):
                found.append(
                    Evidence(
                        "6.5.4",
                        f"approved by {who} at {approval.time} through {approval.through}, "
                        f"not the author {self.author}; executed at {approval.executed_at}",
                    )
                )
        for record in self._all(Event.APPROVAL_REFUSED):
            found.append(Evidence("6.5.4", f"approval refused at {record.time}: {record.message}"))
        for record in self._all(Event.REJECTED):
            found.append(Evidence("6.5.4", f"rejected by {record.actor} at {record.time}"))
        if not found and self.outcome == OUTCOME[Event.HELD]:
            found.append(Evidence("6.5.4", "held for approval; not executed in the period"))
        return found

    @property
    def problems(self) -> list[str]:
        """What an assessor must not be led to read as evidence."""
        found = []
        for approval in self.approvals:
            who = approval.approver
            if approval.given is Given.NOT_ON_RECORD:
                found.append(self._not_on_record(approval))
            elif not approval.counts:
                continue
            elif not self.author:
                found.append(f"approved by {who}; the author is not recorded")
            elif same_person(who, self.author):
                found.append(f"approved by {who}, who appears to be the author")
        executed = self._all(Event.EXECUTED)
        if self.approval_required and executed and not any(a.counts for a in self.approvals):
            found.append(
                "approval required at this commit, but executed with no approval on record"
            )
        return found

    def _not_on_record(self, approval: Approval) -> str:
        said = (
            f"approval not on record: executed at {approval.executed_at} under an approval "
            f"by {approval.approver} (at {approval.time}) that has no `approved` record: an "
            "approval written to the status table outside `reconciler approve`"
        )
        if self.since and approval.time < self.since:
            said += (
                f", or one given before the period began ({self.since}): a pack from "
                f"{approval.time} shows its record if there is one"
            )
        return said


@dataclass(frozen=True)
class Pack:
    records: tuple[AuditRecord, ...]
    changes: tuple[Change, ...]
    drift: tuple[AuditRecord, ...]
    suspensions: tuple[AuditRecord, ...]
    outputs: tuple[AuditRecord, ...]
    passes: tuple[AuditRecord, ...]  # events received: what started each pass
    other: tuple[AuditRecord, ...]

    @property
    def stacks(self) -> tuple[str, ...]:
        return tuple(sorted({r.stack for r in self.records if r.stack}))

    def changes_of(self, stack: str) -> list[Change]:
        return [c for c in self.changes if c.stack == stack]

    def outcomes(self) -> dict[str, int]:
        """Changes per outcome: COUNTED one by one, then the rest; they add up to the
        changes."""
        outcomes = [c.outcome for c in self.changes]
        counted = {name: outcomes.count(name) for name in COUNTED}
        return {**counted, "other outcomes": len(outcomes) - sum(counted.values())}

    def counts(self) -> dict[str, int]:
        def events(*wanted: Event) -> int:
            return sum(1 for r in self.records if r.event in wanted)

        given = [a.given for c in self.changes for a in c.approvals]
        return {
            "records": len(self.records),
            "stacks": len(self.stacks),
            "changes": len(self.changes),
            **self.outcomes(),
            "approvals": given.count(Given.EXECUTED),
            "approvals not executed": given.count(Given.INVALIDATED)
            + given.count(Given.NOT_EXECUTED),
            "approvals not on record": given.count(Given.NOT_ON_RECORD),
            "approvals refused": events(Event.APPROVAL_REFUSED),
            "drift detected": events(Event.DRIFT_DETECTED),
            "drift repaired": events(Event.DRIFT_REPAIRED),
            "drift not repaired": events(Event.DRIFT_NOT_REPAIRED),
            "suspensions": events(Event.SUSPENDED),
            "resumptions": events(Event.RESUMED),
            "outputs published": events(Event.OUTPUTS_PUBLISHED),
            "events received": len(self.passes),
        }

    def related(self, record: AuditRecord) -> list[AuditRecord]:
        """A drift repair's other records: those of its change set, and the detection
        it answers (the stack's last `drift detected` before the repair began)."""
        if record not in self.drift or record.event is Event.DRIFT_DETECTED:
            return []
        same = [
            r
            for r in self.drift
            if r is not record and r.stack == record.stack
            and record.change_set and r.change_set == record.change_set
        ]  # fmt: skip
        began = min(r.time for r in (record, *same))
        detected = [
            r
            for r in self.drift
            if r.stack == record.stack and r.event is Event.DRIFT_DETECTED and r.time <= began
        ]
        return [*same, *detected[-1:]]

    def record_evidence(self, record: AuditRecord) -> list[Evidence]:
        return record_evidence(record, self.related(record))


def gather(records: Iterable[AuditRecord], since: str = "") -> Pack:
    """Records sorted by time, split into changes (per stack and commit), drift,
    suspensions, published outputs and events received. `since`, the period's start,
    lets a change say an approval may predate the period."""
    everything = ordered(records)
    repairs = {r.change_set for r in everything if r.event in DRIFT_EVENTS and r.change_set}

    def is_drift(r: AuditRecord) -> bool:
        return r.event in DRIFT_EVENTS or (
            bool(r.change_set)
            and (r.change_set in repairs or r.change_set.startswith(REVERT_PREFIX))
        )

    # A record without a commit joins the change that used its change set.
    by_change_set = {
        (r.stack, r.change_set): r.commit
        for r in everything
        if r.event in CHANGE_EVENTS and r.stack and r.commit and r.change_set
    }
    groups: dict[tuple[str, str], list[AuditRecord]] = {}
    drift, suspensions, outputs, passes, other = [], [], [], [], []
    for r in everything:
        if r.event is Event.RECEIVED:
            passes.append(r)  # what started a pass, whatever it names: never a change
        elif is_drift(r):
            drift.append(r)
        elif r.event in (Event.SUSPENDED, Event.RESUMED):
            suspensions.append(r)
        elif r.event is Event.OUTPUTS_PUBLISHED:
            outputs.append(r)
        elif r.event in CHANGE_EVENTS and r.stack:
            commit = r.commit or by_change_set.get((r.stack, r.change_set), "")
            key = (r.stack, commit or (f"change set {r.change_set}" if r.change_set else ""))
            groups.setdefault(key, []).append(r)
        else:
            other.append(r)
    changes = [
        Change(stack, _first(records, "commit"), tuple(records), since)
        for (stack, _), records in groups.items()
    ]
    changes.sort(key=lambda c: (c.stack, c.records[0].time))
    return Pack(
        tuple(everything),
        tuple(changes),
        tuple(drift),
        tuple(suspensions),
        tuple(outputs),
        tuple(passes),
        tuple(other),
    )


def record_evidence(record: AuditRecord, related: Sequence[AuditRecord] = ()) -> list[Evidence]:
    """What one drift, suspension, outputs or event-received record evidences; a drift
    repair is read with its `related` records (its change set's, the detection it
    answers), which name the resources its own record may not."""
    found = []
    if record.event in DRIFT_EVENTS or (related and record.event in ENDINGS):
        what = str(record.event)
        if record.event is Event.DRIFT_REPAIR_STARTED:
            changes = _list(record.detail.get("changes"))
            what += f": {len(changes)} resource change(s)"
            if "verdict" in record.detail:
                what += f", guard verdict {_scalar(record.detail['verdict'])}"
        found.append(Evidence("11.5", what))
        network = _network_names(record) or [n for r in related for n in _network_names(r)]
        if network:
            names = ", ".join(dict.fromkeys(network))
            found.append(Evidence("1.2", f"{record.event}: network security controls ({names})"))
    found.append(Evidence("10.2", "audit record"))
    return found


def _is_network(change: Any) -> bool:
    return isinstance(change, dict) and _type_of(change) in NETWORK_TYPES


def _type_of(item: dict[str, Any]) -> str:
    """A resource's type: `resource_type` in a plan's changes, `type` in drift's."""
    return str(item.get("resource_type") or item.get("type") or "")


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _network_names(record: AuditRecord) -> list[str]:
    """The network security controls a record names: resources of a network type (in
    its resource changes or drifted resources) and network guardrails it cites (a
    violation ends in `[control]`)."""
    found = [
        f"{item.get('logical_id', '?')} ({_type_of(item)})"
        for key in ("changes", "drifted")
        for item in _list(record.detail.get(key))
        if _is_network(item)
    ]
    texts = [*_strings(record.detail), record.message]
    found += [
        control
        for control in NETWORK_CONTROLS
        if any(text == control or f"[{control}]" in text for text in texts)
    ]
    if not found and any(t in text for text in texts for t in NETWORK_TYPES):
        found.append("a network resource type")
    return found


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _scalar(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        return "" if value is None else str(value)
    return json.dumps(value, sort_keys=True, default=str)


def _change_name(change: dict[str, Any]) -> str:
    return f"{change.get('logical_id', '?')} ({change.get('resource_type', '?')})"


# --- JSON Lines --------------------------------------------------------------------------


def jsonl(records: Iterable[AuditRecord]) -> str:
    """One record per line, oldest first: what `AuditRecord.from_dict` reads back."""
    return "".join(r.to_json() + "\n" for r in ordered(records))


# --- HTML --------------------------------------------------------------------------------


class Html(str):
    """Markup built here, already escaped."""


def esc(value: Any) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def el(tag: str, *children: Any, cls: str = "") -> Html:
    """An element; children that are not Html are escaped (lists are flattened)."""
    flat: list[Any] = []
    for child in children:
        flat.extend(child if isinstance(child, list) else [child])
    attrs = f' class="{esc(cls)}"' if cls else ""
    return Html(f"<{tag}{attrs}>{''.join(esc(c) for c in flat)}</{tag}>")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> Html:
    head = el("tr", [el("th", h) for h in headers])
    body = [el("tr", [el("td", cell) for cell in row]) for row in rows]
    return el("table", el("thead", head), el("tbody", body), cls=cls)


def _cell(value: Any) -> Html:
    if isinstance(value, list | tuple) and all(not isinstance(v, dict | list) for v in value):
        return esc(", ".join(_scalar(v) for v in value))
    if isinstance(value, dict | list | tuple):
        return el("code", json.dumps(value, sort_keys=True, default=str))
    return esc(_scalar(value))


def render_value(value: Any) -> Html:
    """A list of mappings as a table, a list as a list, a mapping as a definition list."""
    if isinstance(value, list | tuple) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(k for v in value for k in v))
        headers = [c.replace("_", " ") for c in columns]
        return table(headers, [[_cell(v.get(c, "")) for c in columns] for v in value])
    if isinstance(value, list | tuple):
        return el("ul", [el("li", _cell(v)) for v in value]) if value else el("p", "none")
    if isinstance(value, dict):
        return el("dl", [Html(el("dt", k) + el("dd", _cell(v))) for k, v in value.items()])
    return el("p", _cell(value))


KNOWN_DETAIL = {
    "action": "Action",
    "verdict": "Guard verdict",
    "violations": "Violations",
    "changes": "Resource changes",
    "change_set_differs": "Where the change set differs from the prediction",
    "findings": "Validation findings",
    "suppressions": "Suppressed findings, with their reasons",
    "suppressed": "Suppressed findings, with their reasons",
    "change_control": "Change control at this commit",
    "superseded_by": "Superseded by commit",
    "reason": "Reason",
    "approved_by": "Approved by",
    "approved_at": "Approved at",
    "window_opens": "Change window opens",
    "outside_window": "Outside the change window",
    "drifted": "Drifted resources",
    "stack_status": "Stack status",
    "resources": "Resources by final status",
    "failures": "Failures",
    "counts": "Counts",
    "path": "Parameter path",
    "written": "Parameters written",
    "deleted": "Parameters deleted",
    "unchanged": "Parameters unchanged",
}


def render_detail(detail: dict[str, Any], event: Event | None = None) -> Html:
    """A record's detail. An operation's end (`event` in ENDINGS) with no resources
    says the stack events were not available (the local AWS emits stack-level events
    only), rather than show an empty list as if nothing had changed."""
    if event in ENDINGS and not detail.get("resources"):
        detail = {**detail, "resources": None}
    if not detail:
        return Html("")
    parts = [
        Html(el("h5", label) + _detail_value(key, detail[key]))
        for key, label in KNOWN_DETAIL.items()
        if key in detail
    ]
    rest = {k: v for k, v in detail.items() if k not in KNOWN_DETAIL}
    if rest:
        parts.append(
            Html(
                el("h5", "Other detail")
                + el("pre", json.dumps(rest, indent=2, sort_keys=True, default=str))
            )
        )
    return el("div", parts, cls="detail")


def _detail_value(key: str, value: Any) -> Html:
    if key == "resources" and not value:
        return el("p", NO_RESOURCE_EVENTS, cls="none")
    return render_value(value)


def _evidence_list(found: Sequence[Evidence]) -> Html:
    return el(
        "ul",
        [el("li", el("b", f"PCI DSS {e.requirement}"), ": ", e.why) for e in found],
        cls="evidence",
    )


def _facts(pairs: Sequence[tuple[str, Any]]) -> Html:
    return el("dl", [Html(el("dt", k) + el("dd", v or "-")) for k, v in pairs], cls="facts")


def _trail(records: Sequence[AuditRecord], summarised: Sequence[AuditRecord | None]) -> Html:
    skip = {id(r) for r in summarised if r is not None}
    rows = [
        [
            r.time,
            str(r.event),
            r.actor or "-",
            r.change_set or "-",
            r.message,
            Html("(above)") if id(r) in skip else render_detail(r.detail, r.event),
        ]
        for r in records
    ]
    return table(["Time", "Event", "Actor", "Change set", "Message", "Detail"], rows, "trail")


BADGE = {"completed": "good", "failed": "bad", "rejected": "bad", "blocked": "bad"}
SUPERSEDING = (Event.APPROVAL_INVALIDATED, Event.SUPERSEDED)
COVERAGE_BADGE = {Coverage.FULL: "good", Coverage.PARTLY: "open", Coverage.NONE: "bad"}


def _change(change: Change) -> Html:
    status = change.outcome
    kind = BADGE.get(status, "open")
    first, last = change.records[0].time, change.records[-1].time
    facts = _facts(
        [
            ("Commit", el("code", change.commit or "(not recorded)")),
            ("Author", change.author),
            ("Pull request", f"#{change.pull_request}" if change.pull_request else ""),
            ("Change set(s)", ", ".join(change.change_sets)),
            ("Account", ", ".join(change.accounts)),
            ("Region", ", ".join(change.regions)),
            ("Recorded", f"{first} to {last}" if first != last else first),
            ("Change control", change.policy_text),
            ("Outcome", el("span", status, cls=f"badge {kind}")),
        ]
    )
    parts: list[Any] = [el("h4", f"{change.commit[:12] or 'no commit'}: {status}"), facts]
    if change.approvals:
        rows = [
            [
                a.approver,
                a.time,
                a.through,
                a.change_set or "-",
                f"{a.given} at {a.executed_at}" if a.executed_at else str(a.given),
            ]
            for a in change.approvals
        ]
        headers = ["Approver", "When", "Through", "Change set", "What came of it"]
        parts += [el("h5", "Approvals"), table(headers, rows)]
    for problem in change.problems:
        parts.append(el("p", el("b", "Warning: "), problem, cls="warning"))
    if change.validation is not None:
        detail = change.validation.detail
        parts += [
            el("h5", "Validation"),
            el("p", change.validation.message or "validated"),
            render_detail(
                {k: detail[k] for k in ("findings", "suppressions", "suppressed") if k in detail}
            ),
        ]
    if change.plan is not None:
        parts += [
            el("h5", "Plan"),
            el("p", change.plan.message or "planned"),
            render_detail(change.plan.detail),
        ]
    end = change.outcome_record
    if end is not None and end.event in (*ENDINGS, Event.REJECTED, *SUPERSEDING):
        parts += [el("h5", "Outcome"), el("p", f"{end.event} at {end.time}: {end.message}")]
    parts += [
        el("h5", "Evidences"),
        _evidence_list(change.evidence()),
        el("h5", f"Trail ({len(change.records)} records)"),
        _trail(change.records, [change.validation, change.plan]),
    ]
    return el("section", parts, cls="change")


def _records_table(
    records: Sequence[AuditRecord], evidence_of: Callable[[AuditRecord], list[Evidence]]
) -> Html:
    headers = ["Time", "Stack", "Event", "Actor", "Commit", "Change set", "Message", "Detail"]
    rows = [
        [
            r.time,
            r.stack or "-",
            str(r.event),
            r.actor or "-",
            el("code", r.commit[:12]) if r.commit else "-",
            r.change_set or "-",
            r.message,
            render_detail(r.detail, r.event),
            ", ".join(_distinct(e.requirement for e in evidence_of(r))),
        ]
        for r in records
    ]
    return table([*headers, "Evidences"], rows, "trail")


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;
max-width:75em;padding:0 1em;color:#1b1f24}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2em;
margin-top:2em}h3{margin-top:1.6em}h4{margin:.2em 0 .4em}h5{margin:.8em 0 .3em;font-size:1em}
table{border-collapse:collapse;margin:.3em 0;width:100%}th,td{border:1px solid #d0d7de;
padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f6f8fa}
code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}pre{white-space:pre-wrap;
word-break:break-all;margin:0}td{word-break:break-word}
section.change{border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;margin:1em 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.3em 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.badge{padding:0 .5em;border-radius:1em;font-weight:600}.good{background:#dafbe1}
.bad{background:#ffebe9}.open{background:#fff8c5}.warning{background:#ffebe9;padding:.3em .6em}
.none{color:#57606a}.period{color:#57606a}
@media print{section.change{break-inside:avoid}}
"""


def report(
    records: Iterable[AuditRecord],
    since: str,
    until: str,
    generated: str,
    source: str = "",
    jsonl_sha256: str = "",
) -> str:
    """The HTML report of a period's records: one file, no script, nothing fetched."""
    pack = gather(records, since)
    counts = pack.counts()
    title = f"Change-control evidence, {since} to {until}"
    head = Html(
        '<meta charset="utf-8">'
        + el("title", title)
        + '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + el("style", Html(CSS))
    )
    period = [
        el(
            "p",
            "Period: from ",
            el("b", since),
            " (inclusive) to ",
            el("b", until),
            " (exclusive), UTC. Generated ",
            generated,
            ".",
            cls="period",
        )
    ]
    if source:
        period.append(el("p", f"Trail read from: {source}.", cls="period"))
    if jsonl_sha256:
        period.append(
            el(
                "p",
                "The records are in audit.jsonl beside this file, SHA-256 ",
                el("code", jsonl_sha256),
                ".",
                cls="period",
            )
        )
    body: list[Any] = [el("h1", "Change-control evidence"), *period]
    if not pack.records:
        body.append(el("p", el("b", "No audit records in this period."), cls="warning"))
    body += [el("h2", "Summary"), table(["Item", "Count"], counts.items())]
    body += [el("h2", "PCI DSS v4.0 requirements"), _requirements(pack)]
    body += [el("h2", "Stacks: where changes went (6.5.3)"), _environments(pack)]
    body.append(el("h2", "Changes"))
    if not pack.changes:
        body.append(el("p", "No changes in this period.", cls="none"))
    for stack in dict.fromkeys(c.stack for c in pack.changes):
        body.append(el("h3", stack))
        body += [_change(c) for c in pack.changes_of(stack)]
    for heading, items in (
        ("Drift detected and repaired (11.5, 1.2)", pack.drift),
        ("Suspensions and resumptions", pack.suspensions),
        ("Outputs published", pack.outputs),
        ("Events received: what started each pass (context, not changes)", pack.passes),
        ("Other records", pack.other),
    ):
        if items or heading.startswith(("Drift", "Suspensions", "Outputs")):
            body.append(el("h2", heading))
            body.append(
                _records_table(items, pack.record_evidence)
                if items
                else el("p", "None.", cls="none")
            )
    body += [el("h2", "Not evidenced by this tool"), _not_evidenced()]
    document = el("html", el("head", head), el("body", body))
    return "<!doctype html>\n" + document.replace("<html>", '<html lang="en">', 1) + "\n"


def _requirements(pack: Pack) -> Html:
    items: dict[str, int] = {r.id: 0 for r in REQUIREMENTS}
    for change in pack.changes:
        for rid in _distinct(e.requirement for e in change.evidence()):
            items[rid] += 1
    for record in (*pack.drift, *pack.suspensions, *pack.outputs, *pack.passes, *pack.other):
        for rid in _distinct(e.requirement for e in pack.record_evidence(record)):
            items[rid] += 1
    rows = [
        [
            el("b", r.id),
            r.title,
            el("span", str(r.coverage), cls=f"badge {COVERAGE_BADGE[r.coverage]}"),
            r.shows,
            ", ".join(str(e) for e in r.events) if r.events else "-",
            items[r.id] if r.coverage is not Coverage.NONE else "-",
        ]
        for r in REQUIREMENTS
    ]
    return table(
        ["Requirement", "What it asks", "Coverage", "What this pack shows", "Events", "Items"],
        rows,
    )


def _environments(pack: Pack) -> Html:
    if not pack.stacks:
        return el("p", "None.", cls="none")
    rows = []
    for stack in pack.stacks:
        mine = [r for r in pack.records if r.stack == stack]
        rows.append(
            [
                stack,
                ", ".join(_distinct(r.account for r in mine)) or "-",
                ", ".join(_distinct(r.region for r in mine)) or "-",
                len(pack.changes_of(stack)),
                sum(1 for r in pack.passes if r.stack == stack),
            ]
        )
    return table(["Stack", "Account", "Region", "Changes", "Events received"], rows)


def _not_evidenced() -> Html:
    return el(
        "ul",
        [
            el("li", el("b", f"{r.id} {r.title}"), f": {r.shows}.")
            for r in REQUIREMENTS
            if r.coverage is Coverage.NONE
        ]
        + [
            el("li", el("b", f"{r.id}"), f" beyond what is shown: {r.shows}.")
            for r in REQUIREMENTS
            if r.coverage is Coverage.PARTLY
        ],
    )


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
