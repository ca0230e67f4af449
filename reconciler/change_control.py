"""Change control (PCI DSS v4.0 6.5): whether a guarded change set may run now.

Three gates, in this order, each a pure decision over the stack file, the stack's
record and the clock:

1. suspension: `suspended: true` in the stack file, or `reconciler suspend`: nothing is
   changed or repaired (drift is still detected and reported);
2. approval: `approval: required` holds the change set until someone other than the
   commit's author approves exactly that change set at exactly that commit, within
   `approval-expires` (24 h by default);
3. change windows: outside every `change-window`, the change set is kept and waits
   for the next opening (the schedule's pass runs it then).

An approval names the change set and the commit: a newer commit, even one that leaves
this stack's inputs as they were, needs a new approval (the reviewed commit is the one
that runs). The approver is compared with the author by name: an IAM user name or
role session name (an SSO session is named after the person's email) against the
commit's GitHub login, author name, email and email's local part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from reconciler.desired import StackSpec
from reconciler.source import CommitInfo, Review
from reconciler.status import StackStatus
from reconciler.windows import is_open, next_opening

GO, SUSPENDED, AWAITING, WINDOW = "go", "suspended", "awaiting approval", "waiting for window"
TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Gate:
    verdict: str  # go | suspended | awaiting approval | waiting for window
    message: str
    approved_by: str = ""  # the approval the change runs under, when one was needed
    approved_at: str = ""
    window_opens: str = ""  # the next opening (UTC), when waiting for a window

    @property
    def go(self) -> bool:
        return self.verdict == GO


def current_time() -> datetime:
    """The clock gates read (tests move it)."""
    return datetime.now(UTC)


def suspension(spec: StackSpec | None, status: StackStatus | None) -> str:
    """Why the stack is suspended ("" when it is not)."""
    if status is not None and status.suspended_by:
        reason = status.suspended_reason or "no reason given"
        return f"suspended by {status.suspended_by} at {status.suspended_at}: {reason}"
    if spec is not None and spec.suspended:
        return f"suspended by its stack file ({spec.path}: suspended: true)"
    return ""


class _Recorded(CommitInfo):
    """A commit as a pass recorded it: its author and every name to refuse."""

    def __init__(self, author: str, pull_request: str, names: frozenset[str]) -> None:
        super().__init__(author=author, pull_request=pull_request)
        object.__setattr__(self, "_names", names)

    def identities(self) -> set[str]:
        return set(self._names) | super().identities()


def commit_of(status: StackStatus) -> CommitInfo:
    """The author a pass recorded for the held change set's commit, with every name
    it goes by (login, name, email, the pull request's author)."""
    names = {n for n in status.author_identities.split(",") if n}
    name, _, email = status.author.partition("<")
    if email:
        names |= {name.strip().lower(), email.rstrip(">").strip().lower()}
        names.add(email.rstrip(">").strip().lower().partition("@")[0])
    return _Recorded(status.author, status.pull_request, frozenset(n for n in names if n))


def rules_of(spec: StackSpec, status: StackStatus) -> StackSpec:
    """The stack file's approval rules as recorded with the held change set (from the
    reviewed repository at that commit), over those of a local copy."""
    if not status.approval_expires:
        return spec
    return replace(
        spec,
        approval=True,
        approvers=tuple(a for a in status.approvers.split(",") if a),
        approval_expires=timedelta(seconds=int(status.approval_expires)),
    )


def identity_names(identity: str) -> set[str]:
    """The names an identity goes by: an IAM ARN's user or role session name (and its
    email local part), or a GitHub login (`github:LOGIN`)."""
    if identity.startswith("github:"):
        names = {identity.removeprefix("github:")}
    elif identity.startswith("arn:"):
        resource = identity.split(":", 5)[-1]
        names = {resource.rsplit("/", 1)[-1]}
    else:
        names = {identity}
    names |= {n.partition("@")[0] for n in names}
    return {n.strip().lower() for n in names if n.strip()}


def is_author(identity: str, commit: CommitInfo) -> bool:
    return bool(identity_names(identity) & commit.identities())


def refusal(
    identity: str,
    spec: StackSpec,
    commit: CommitInfo,
    members: Callable[[str], set[str]] | None = None,
) -> str:
    """Why `identity` may not approve a change of `spec` authored as `commit` ("" if it
    may). `members(org/team)` gives a team's logins (GitHub); without it a team entry
    cannot be checked and does not admit anyone."""
    if not commit.identities():
        return (
            "the commit's author is not known, so an approval cannot be shown to come from "
            "someone else"
        )
    if is_author(identity, commit):
        return (
            f"{identity} is the author of the change ({commit.author}); another person must approve"
        )
    if spec.approvers and not _listed(identity, spec.approvers, members):
        return f"{identity} is not among the approvers in {spec.path}: {', '.join(spec.approvers)}"
    return ""


def _listed(
    identity: str, approvers: Iterable[str], members: Callable[[str], set[str]] | None
) -> bool:
    names = identity_names(identity)
    for entry in approvers:
        if "/" not in entry:
            if entry.lower() in names:
                return True
        elif members is not None and identity.startswith("github:") and names & members(entry):
            return True
    return False


def approval(
    spec: StackSpec,
    status: StackStatus | None,
    change_set: str,
    revision: str,
    commit: CommitInfo,
    reviews: Iterable[Review],
    now: datetime,
    members: Callable[[str], set[str]] | None = None,
) -> tuple[str, str]:
    """(approver, when) of a valid approval of this change set at this revision, or
    ("", why there is none)."""
    lapsed = ""
    if status is not None and status.approved_by:
        same = (status.approved_change_set, status.approved_revision) == (change_set, revision)
        if same and not refusal(status.approved_by, spec, commit, members):
            if _fresh(status.approved_at, spec, now):
                return status.approved_by, status.approved_at
            lapsed = f"the approval by {status.approved_by} at {status.approved_at} expired"
    for review in reviews:
        who = f"github:{review.login}"
        if review.state != "APPROVED" or refusal(who, spec, commit, members):
            continue
        if _fresh(review.submitted_at, spec, now):
            return who, review.submitted_at
        lapsed = lapsed or f"the approving review by {review.login} expired"
    return "", lapsed


def _fresh(at: str, spec: StackSpec, now: datetime) -> bool:
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        return False
    return when <= now < when + spec.approval_expires


def gate(
    spec: StackSpec,
    status: StackStatus | None,
    change_set: str,
    revision: str,
    commit: CommitInfo,
    reviews: Iterable[Review] = (),
    now: datetime | None = None,
    members: Callable[[str], set[str]] | None = None,
) -> Gate:
    """Whether the guarded change set `change_set` may be executed now."""
    now = now or current_time()
    if why := suspension(spec, status):
        return Gate(SUSPENDED, why)
    approver, at = "", ""
    if spec.approval:
        approver, at = approval(spec, status, change_set, revision, commit, reviews, now, members)
        if not approver:
            wanted = f" ({at})" if at else ""
            who = (
                f"one of {', '.join(spec.approvers)}"
                if spec.approvers
                else "someone other than the author"
            )
            message = (
                f"change set {change_set} awaits approval by {who}{wanted}: "
                f"`reconciler approve {spec.stack_name}` or an approving review of the pull request"
            )
            return Gate(AWAITING, message)
    opens = next_opening(spec.change_windows, now)
    if opens is not None:
        shown = opens.strftime(TIME)
        shown_windows = [str(w) for w in spec.change_windows[:3]]
        if len(spec.change_windows) > 3:
            shown_windows.append(f"+{len(spec.change_windows) - 3} more")
        windows = "; ".join(shown_windows)
        message = (
            f"change set {change_set} waits for its change window ({windows}); next opens {shown}"
        )
        return Gate(WINDOW, message, approver, at, shown)
    return Gate(GO, "", approver, at)


def repair_allowed(
    spec: StackSpec,
    status: StackStatus | None,
    guardrail_violated: bool,
    now: datetime | None = None,
) -> Gate:
    """Whether a drift repair may run now: never while suspended; outside the change
    windows only for a PCI guardrail violation, when the stack file says
    `repair-outside-window: guardrails` (the audit record says so)."""
    now = now or current_time()
    if why := suspension(spec, status):
        return Gate(SUSPENDED, f"drift not repaired: {why}")
    if is_open(spec.change_windows, now):
        return Gate(GO, "")
    if guardrail_violated and spec.repair_outside_window == "guardrails":
        return Gate(GO, OUTSIDE_WINDOW)
    opens = next_opening(spec.change_windows, now)
    shown = opens.strftime(TIME) if opens else ""
    message = f"drift repair waits for the change window (next opens {shown})"
    return Gate(WINDOW, message, window_opens=shown)


OUTSIDE_WINDOW = (
    "outside its change window: a PCI guardrail violation is repaired at once "
    "(repair-outside-window: guardrails)"
)


def expected(spec: StackSpec, now: datetime | None = None) -> dict[str, object]:
    """What change control will do with a change of this stack, for `plan`: whether it
    is suspended, needs an approval (by whom), and whether a window is open now (else
    when the next opens). What is recorded (a CLI suspension, approvals) is not read."""
    now = now or current_time()
    opens = next_opening(spec.change_windows, now)
    return {
        "suspended": spec.suspended,
        "approval": "required" if spec.approval else "none",
        "approvers": list(spec.approvers),
        "window": "none" if not spec.change_windows else "closed" if opens else "open",
        "next_window": opens.strftime(TIME) if opens else "",
    }


def expected_text(spec: StackSpec, now: datetime | None = None) -> str:
    """The same as one line ("" when nothing holds a change)."""
    gates = expected(spec, now)
    said = []
    if gates["suspended"]:
        said.append("suspended by its stack file: not changed")
    if gates["approval"] == "required":
        who = ", ".join(spec.approvers) or "someone other than the author"
        said.append(f"held for approval by {who}")
    if gates["window"] == "closed":
        said.append(f"outside its change windows: waits until {gates['next_window']}")
    return "; ".join(said)
