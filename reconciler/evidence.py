"""The evidence pack an assessor is shown: the audit trail of a period as JSON Lines (the
records themselves, for any tool) and one self-contained HTML report (inline CSS, no
script, nothing fetched) that groups the changes per stack and says which PCI DSS v4.0
requirement each item evidences, and which requirements this tool cannot evidence.

A change is the records sharing a stack and commit (or, lacking a commit, a change set):
planned, held, approved or rejected, executed, completed or failed. Drift, suspensions
and published outputs are listed apart.

Everything a record carries is untrusted text (a commit message, a stack name, an
approver's login): the report escapes all of it. A record's `detail` is never printed
raw: the keys below are rendered as tables and lists, any other key as escaped JSON.

Detail keys read here (all optional; KNOWN_DETAIL lists them): `findings` and
`suppressions` (strings or Finding dicts; a suppression carries its reason), `changes`
(ResourceChange dicts), `verdict` (the guard's), `violations`, `approver`/`via` on an
approval, `approved_by`/`approved_at` on an execution (an approval given before the
period), `drifted`, `outside_window`, a completion's `stack_status`, `resources` and
`failures`, and published outputs' `path`, `written`, `deleted`.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.audit import AuditRecord, Event

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
    Event.REJECTED,
)

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "1.2",
        "Network security controls are configured and maintained; changes to them follow "
        "change control (1.2.2)",
        Coverage.PARTLY,
        (Event.PLANNED, Event.COMPLETED, Event.DRIFT_DETECTED, Event.DRIFT_REPAIRED),
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
        APPROVAL_EVENTS,
        "for stacks with approval: required, who approved each change and when, that the "
        "approver was not the commit's author, refused self-approvals and approvals "
        "invalidated by a newer commit; stacks without approval show none",
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
        Coverage.FULL,
        ALL_EVENTS,
        "the trail itself, for the reconciler's own actions: each record's event, stack, "
        "region, account, commit, actor and time (audit.jsonl); not the logs of the "
        "systems it deploys",
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
        Event.RECEIVED,
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
# The state a change is left in, by the last of these events it has.
OUTCOME = {
    Event.RECEIVED: "received",
    Event.VALIDATED: "validated",
    Event.PLANNED: "planned",
    Event.HELD: "awaiting approval",
    Event.APPROVED: "approved, not yet executed",
    Event.APPROVAL_INVALIDATED: "superseded: approval invalidated by a newer commit",
    Event.REJECTED: "rejected",
    Event.WAITING_FOR_WINDOW: "waiting for its change window",
    Event.BLOCKED: "blocked",
    Event.EXECUTED: "executing (no completion recorded in the period)",
    Event.COMPLETED: "completed",
    Event.FAILED: "failed",
}
REVERT_PREFIX = "gitops-revert-drift-"  # reconciler.reconcile's drift repair change sets


def ordered(records: Iterable[AuditRecord]) -> list[AuditRecord]:
    return sorted(records, key=lambda r: (r.time, r.id))


def _first(records: Iterable[AuditRecord], name: str) -> str:
    return next((getattr(r, name) for r in records if getattr(r, name)), "")


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def approver(record: AuditRecord) -> str:
    return str(record.detail.get("approver") or record.detail.get("approved_by") or record.actor)


@dataclass(frozen=True)
class Approval:
    approver: str
    time: str
    via: str
    message: str


def same_person(identity: str, author: str) -> bool:
    """Conservative: an ARN ending in the author's name (an assumed role's session) counts
    as the author, so separation of duties is never claimed on a guess."""
    a, b = identity.strip().lower(), author.strip().lower()
    return bool(a and b) and (a == b or a.endswith(("/" + b, ":" + b)))


@dataclass(frozen=True)
class Change:
    stack: str
    commit: str
    records: tuple[AuditRecord, ...]

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
        """`approved` records, and an approver named only by the execution's record (an
        approval given before the period began)."""
        found = [
            Approval(approver(r), r.time, _scalar(r.detail.get("via", "")), r.message)
            for r in self._all(Event.APPROVED)
        ]
        seen = {a.approver for a in found}
        for r in self._all(Event.EXECUTED):
            who = _scalar(r.detail.get("approved_by", ""))
            if who and who not in seen:
                when = _scalar(r.detail.get("approved_at", "")) or r.time
                found.append(Approval(who, when, "named when executed", r.message))
                seen.add(who)
        return found

    @property
    def validation(self) -> AuditRecord | None:
        return self._last(Event.VALIDATED)

    @property
    def plan(self) -> AuditRecord | None:
        return self._last(Event.PLANNED)

    @property
    def outcome(self) -> str:
        last = [r for r in self.records if r.event in OUTCOME and r.event != Event.RECEIVED]
        return OUTCOME[last[-1].event] if last else OUTCOME[Event.RECEIVED]

    @property
    def outcome_record(self) -> AuditRecord | None:
        last = [r for r in self.records if r.event in OUTCOME]
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
            if self.author and not same_person(who, self.author):
                found.append(
                    Evidence(
                        "6.5.4",
                        f"approved by {who} at {approval.time}, not the author {self.author}",
                    )
                )
        for record in self._all(Event.APPROVAL_REFUSED):
            found.append(Evidence("6.5.4", f"approval refused at {record.time}: {record.message}"))
        for record in self._all(Event.APPROVAL_INVALIDATED):
            found.append(Evidence("6.5.4", f"approval invalidated at {record.time}"))
        for record in self._all(Event.REJECTED):
            found.append(Evidence("6.5.4", f"rejected by {record.actor} at {record.time}"))
        if not self.approvals and not found and self._all(Event.HELD):
            found.append(Evidence("6.5.4", "held for approval; no approval in the period"))
        return found

    @property
    def problems(self) -> list[str]:
        """What an assessor must not be led to read as evidence."""
        found = []
        for approval in self.approvals:
            if self.author and same_person(approval.approver, self.author):
                found.append(f"approved by {approval.approver}, who appears to be the author")
            elif not self.author:
                found.append(f"approved by {approval.approver}; the author is not recorded")
        return found


@dataclass(frozen=True)
class Pack:
    records: tuple[AuditRecord, ...]
    changes: tuple[Change, ...]
    drift: tuple[AuditRecord, ...]
    suspensions: tuple[AuditRecord, ...]
    outputs: tuple[AuditRecord, ...]
    passes: tuple[AuditRecord, ...]  # events received, not about one stack
    other: tuple[AuditRecord, ...]

    @property
    def stacks(self) -> tuple[str, ...]:
        return tuple(sorted({r.stack for r in self.records if r.stack}))

    def changes_of(self, stack: str) -> list[Change]:
        return [c for c in self.changes if c.stack == stack]

    def counts(self) -> dict[str, int]:
        def events(*wanted: Event) -> int:
            return sum(1 for r in self.records if r.event in wanted)

        outcomes = [c.outcome for c in self.changes]
        return {
            "records": len(self.records),
            "stacks": len(self.stacks),
            "changes": len(self.changes),
            "completed": outcomes.count(OUTCOME[Event.COMPLETED]),
            "failed": outcomes.count(OUTCOME[Event.FAILED]),
            "rejected": outcomes.count(OUTCOME[Event.REJECTED]),
            "blocked": outcomes.count(OUTCOME[Event.BLOCKED]),
            "approvals": events(Event.APPROVED),
            "approvals refused": events(Event.APPROVAL_REFUSED),
            "drift detected": events(Event.DRIFT_DETECTED),
            "drift repaired": events(Event.DRIFT_REPAIRED),
            "drift not repaired": events(Event.DRIFT_NOT_REPAIRED),
            "suspensions": events(Event.SUSPENDED),
            "resumptions": events(Event.RESUMED),
            "outputs published": events(Event.OUTPUTS_PUBLISHED),
        }


def gather(records: Iterable[AuditRecord]) -> Pack:
    """Records sorted by time, split into changes (per stack and commit), drift,
    suspensions, published outputs and whole-pass events."""
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
        if is_drift(r):
            drift.append(r)
        elif r.event in (Event.SUSPENDED, Event.RESUMED):
            suspensions.append(r)
        elif r.event is Event.OUTPUTS_PUBLISHED:
            outputs.append(r)
        elif r.event in CHANGE_EVENTS and not r.stack:
            passes.append(r)
        elif r.event in CHANGE_EVENTS:
            commit = r.commit or by_change_set.get((r.stack, r.change_set), "")
            key = (r.stack, commit or (f"change set {r.change_set}" if r.change_set else ""))
            groups.setdefault(key, []).append(r)
        else:
            other.append(r)
    changes = [
        Change(stack, _first(records, "commit"), tuple(records))
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


def record_evidence(record: AuditRecord) -> list[Evidence]:
    """What one drift, suspension or outputs record evidences."""
    found = []
    if record.event in DRIFT_EVENTS:
        found.append(Evidence("11.5", str(record.event)))
        if _mentions_network(record):
            found.append(Evidence("1.2", f"{record.event}: network security controls"))
    found.append(Evidence("10.2", "audit record"))
    return found


def _is_network(change: Any) -> bool:
    return isinstance(change, dict) and str(change.get("resource_type", "")) in NETWORK_TYPES


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _mentions_network(record: AuditRecord) -> bool:
    texts = [*_strings(record.detail), record.message]
    return any(
        any(t in text for t in NETWORK_TYPES) or text in NETWORK_CONTROLS for text in texts
    ) or any(f"[{control}]" in record.message for control in NETWORK_CONTROLS)


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
    "approver": "Approver",
    "via": "Approved through",
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


def render_detail(detail: dict[str, Any]) -> Html:
    if not detail:
        return Html("")
    parts = [
        Html(el("h5", label) + render_value(detail[key]))
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
            Html("(above)") if id(r) in skip else render_detail(r.detail),
        ]
        for r in records
    ]
    return table(["Time", "Event", "Actor", "Change set", "Message", "Detail"], rows, "trail")


BADGE = {"completed": "good", "failed": "bad", "rejected": "bad", "blocked": "bad"}
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
            ("Outcome", el("span", status, cls=f"badge {kind}")),
        ]
    )
    parts: list[Any] = [el("h4", f"{change.commit[:12] or 'no commit'}: {status}"), facts]
    if change.approvals:
        rows = [[a.approver, a.time, a.via, a.message] for a in change.approvals]
        parts += [el("h5", "Approvals"), table(["Approver", "When", "Through", "Message"], rows)]
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
    if end is not None and end.event in (Event.COMPLETED, Event.FAILED, Event.REJECTED):
        parts += [el("h5", "Outcome"), el("p", f"{end.event} at {end.time}: {end.message}")]
    parts += [
        el("h5", "Evidences"),
        _evidence_list(change.evidence()),
        el("h5", f"Trail ({len(change.records)} records)"),
        _trail(change.records, [change.validation, change.plan]),
    ]
    return el("section", parts, cls="change")


def _records_table(records: Sequence[AuditRecord]) -> Html:
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
            render_detail(r.detail),
            ", ".join(_distinct(e.requirement for e in record_evidence(r))),
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
    pack = gather(records)
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
        ("Events received", pack.passes),
        ("Other records", pack.other),
    ):
        if items or heading.startswith(("Drift", "Suspensions", "Outputs")):
            body.append(el("h2", heading))
            body.append(_records_table(items) if items else el("p", "None.", cls="none"))
    body += [el("h2", "Not evidenced by this tool"), _not_evidenced()]
    document = el("html", el("head", head), el("body", body))
    return "<!doctype html>\n" + document.replace("<html>", '<html lang="en">', 1) + "\n"


def _requirements(pack: Pack) -> Html:
    items: dict[str, int] = {r.id: 0 for r in REQUIREMENTS}
    for change in pack.changes:
        for rid in _distinct(e.requirement for e in change.evidence()):
            items[rid] += 1
    for record in (*pack.drift, *pack.suspensions, *pack.outputs, *pack.passes, *pack.other):
        for rid in _distinct(e.requirement for e in record_evidence(record)):
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
            ]
        )
    return table(["Stack", "Account", "Region", "Changes"], rows)


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
