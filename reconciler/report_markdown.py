"""The plan as Markdown for a pull-request comment (docs/previews.md). Pure: it formats
plans and a validation report, nothing else. Every string a repository controls (logical
ids, messages, paths, reasons) is escaped, so a hostile template cannot inject HTML,
links or @mentions into the comment; parameter values never appear (plans hold none).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from reconciler.diff import ChangeAction, Replacement, ResourceChange
from reconciler.findings import Finding
from reconciler.plan import REFUSED_RULE, Action, StackPlan
from reconciler.validation import Report, Suppressed

LIMIT = 65_536  # GitHub's limit on a comment, in characters
MAX_TEXT = 2_000  # one user-controlled string, before escaping
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!~|])")
_AUTOLINK = re.compile(r"(://|www\.)", re.IGNORECASE)  # GitHub links these unbracketed
_SAFE_ID = re.compile(r"^[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Links:
    """Where the pull request's files are browsable: file:line links for findings."""

    repository_url: str
    sha: str

    def file(self, path: str, line: int = 0) -> str:
        base = self.repository_url.rstrip("/")
        url = f"{base}/blob/{quote(self.sha, safe='')}/{quote(path, safe='/')}"
        return f"{url}#L{line}" if line else url


def escape(text: object, limit: int = MAX_TEXT) -> str:
    """Text as literal Markdown on one line: no HTML, no links, no mentions, no code."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[:limit] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _SPECIAL.sub(r"\\\1", s)
    s = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + "\u200b" + m.group(0)[-1], s)
    return s.replace("@", "@\u200b")


def markdown_report(
    plans: Sequence[StackPlan],
    report: Report,
    *,
    revision: str = "",
    links: Links | None = None,
    drifted: Mapping[str, str] = {},  # read only
    title: str = "gitops-reconciler plan",
) -> str:
    """The whole report, at most LIMIT characters."""
    errors = [f for f in report.findings if f.is_error]
    warnings = len(report.findings) - len(errors)
    changing = [p for p in plans if p.changes_stack]
    blocked = [p for p in plans if p.action is Action.BLOCKED]
    short = _short(revision)
    head = f"## {escape(title)}" + (f" at `{short}`" if short else "")
    summary = (
        f"**{len(changing)}** stack(s) changing, **{len(blocked)}** blocked, "
        f"**{len(errors)}** error(s), **{warnings}** warning(s)"
    )
    if report.suppressed:
        summary += f", {len(report.suppressed)} suppressed"
    lines = [head, "", summary, ""]
    if errors:
        lines += ["### :x: Error findings", ""]
        lines += [f"- {_finding(f, links)}" for f in errors]
        lines.append("")

    shown: set[Finding] = set()
    unchanged = []
    for plan in plans:
        mine = [f for f in report.findings if _belongs(f, plan)]
        suppressed = [s for s in report.suppressed if _suppressed_for(s, plan)]
        drift = drifted.get(plan.stack_name)
        if plan.action is Action.NONE and not (mine or suppressed or drift):
            unchanged.append(plan.stack_name)
            continue
        shown.update(mine)
        lines += _stack(plan, mine, suppressed, drift, links)
    if unchanged:
        lines += [f"Unchanged: {', '.join(escape(n) for n in unchanged)}", ""]
    rest = [f for f in report.findings if f not in shown and not f.is_error]
    if rest:
        lines += ["### Other findings", ""]
        lines += [f"- {_finding(f, links)}" for f in rest]
        lines.append("")
    declared = {p.stack_file for p in plans} | {p.stack_name for p in plans}
    loose = [s for s in report.suppressed if not ({s.stack_file, s.finding.stack} & declared)]
    if loose:
        lines += ["### Other suppressions", ""]
        lines += [f"- {_suppression(s, links)}" for s in loose]
        lines.append("")
    if report.notes:
        lines += [f"<sub>{'; '.join(escape(n) for n in report.notes)}</sub>", ""]
    return _fit("\n".join(lines).rstrip() + "\n")


def _short(revision: str) -> str:
    """The first 7 characters of a commit (and +dirty), as safe code-span text."""
    sha, plus, rest = revision.partition("+")
    sha = re.sub(r"[^0-9A-Za-z._-]", "", sha)[:7]
    return sha + plus + re.sub(r"[^0-9A-Za-z]", "", rest)


def _belongs(finding: Finding, plan: StackPlan) -> bool:
    if finding.rule == REFUSED_RULE and finding in plan.findings:
        return False  # shown as a refused update
    if finding.stack:
        return finding.stack == plan.stack_name
    return bool(plan.stack_file) and finding.path == plan.stack_file


def _suppressed_for(s: Suppressed, plan: StackPlan) -> bool:
    if s.finding.stack:
        return s.finding.stack == plan.stack_name
    return bool(plan.stack_file) and s.stack_file == plan.stack_file


def _stack(
    plan: StackPlan,
    findings: list[Finding],
    suppressed: list[Suppressed],
    drift: str | None,
    links: Links | None,
) -> list[str]:
    icon = {Action.BLOCKED: ":no_entry: ", Action.ORPHANED: ":warning: "}.get(plan.action, "")
    name = f"{escape(plan.stack_name)} \\[{escape(plan.region)}\\]"
    lines = [f"### {icon}{name}: {plan.action.value}", ""]
    reason = escape(plan.reason)
    if plan.after:
        reason += f" (after {', '.join(escape(a) for a in plan.after)})"
    lines += [reason, ""]
    if plan.refactor:
        lines += [
            "**Refactor** (CloudFormation stack refactoring: renamed or moved, not replaced):",
            "",
        ]
        lines += [f"- {escape(str(m))}" for m in plan.refactor]
        lines.append("")
    if plan.changes:
        lines += ["| Resource | Type | Action | Details |", "| --- | --- | --- | --- |"]
        lines += [_row(c) for c in plan.changes]
        lines.append("")
    refused = [f for f in plan.findings if f.rule == REFUSED_RULE]
    if refused:
        lines += ["**Refused updates** (AWS fails them; `allow-replacement` does not help):", ""]
        lines += [f"- {_finding(f, links)}" for f in refused]
        lines.append("")
    if plan.violations:
        lines += ["**Blocked by the data-loss guard:**", ""]
        lines += [f"- {escape(v.message)}" for v in plan.violations]
        ids = ", ".join(_yaml_id(v.logical_id) for v in plan.violations)
        where = _link(plan.stack_file, 0, links) if plan.stack_file else "the stack file"
        code = f"allow-replacement: [{ids}]"
        fence = "`" * max(3, _longest_backticks(code) + 1)
        lines += ["", f"To allow it, add to {where} (and take it out after the merge):", ""]
        lines += [f"{fence}yaml", code, fence, ""]
    if plan.change_set:
        lines += ["**Change set differs from the prediction:**", ""]
        lines += [f"- {escape(d)}" for d in plan.change_set]
        lines.append("")
    if findings:
        lines += ["**Findings:**", ""]
        lines += [f"- {_finding(f, links)}" for f in findings]
        lines.append("")
    if suppressed:
        lines += ["**Suppressed:**", ""]
        lines += [f"- {_suppression(s, links)}" for s in suppressed]
        lines.append("")
    if drift:
        effect = (
            "the merge would overwrite it" if plan.changes_stack else "not touched by the merge"
        )
        lines += [f":warning: **Drift:** {escape(drift)} ({effect})", ""]
    return lines


def _row(change: ResourceChange) -> str:
    action = change.action.value
    details = []
    if change.replaces:
        action = "Replace" if change.replacement is Replacement.TRUE else "May replace"
        details += change.causes
    elif change.action is ChangeAction.MODIFY and change.properties:
        details.append("changes " + ", ".join(change.properties))
    details += [f"refused: {p} cannot change" for p, _ in change.refused]
    cells = [escape(change.logical_id), escape(change.resource_type), action]
    cells.append(escape("; ".join(details)) if details else "")
    return "| " + " | ".join(cells) + " |"


def _finding(f: Finding, links: Links | None) -> str:
    return (
        f"{_link(f.path, f.line, links)} {f.severity.value} {escape(f.rule)}: {escape(f.message)}"
    )


def _suppression(s: Suppressed, links: Links | None) -> str:
    where = _link(s.stack_file, 0, links)
    return f"{_finding(s.finding, links)} (suppressed by {where}: {escape(s.reason)})"


def _link(path: str, line: int, links: Links | None) -> str:
    text = escape(f"{path}:{line}" if line else path)
    if links is None:
        return text
    url = links.file(path, line)
    url = "".join(
        c if c.isascii() and c.isprintable() and c not in " ()<>" else quote(c) for c in url
    )
    return f"[{text}]({url})"


def _yaml_id(logical_id: str) -> str:
    """A logical id as a YAML flow-sequence item (quoted unless plainly safe)."""
    return logical_id if _SAFE_ID.match(logical_id) else json.dumps(logical_id)


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _fit(text: str) -> str:
    """The text cut at a line so that it, and a note saying how much is left out, fit
    in one comment; a cut inside a code block closes it."""
    if len(text) <= LIMIT:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    size, fence = 0, ""
    budget = LIMIT - 300  # room for the closing fence and the note
    for line in lines:
        if size + len(line) + 1 > budget:
            break
        kept.append(line)
        size += len(line) + 1
        marker = re.match(r"^`{3,}", line)
        if marker and not fence:
            fence = marker.group(0)  # opens a code block
        elif marker and marker.group(0).startswith(fence):
            fence = ""  # closes it
    more = len(lines) - len(kept)
    if fence:
        kept.append(fence)
    kept += [
        "",
        f"**… {more} more line(s) not shown:** the report exceeds GitHub's "
        "comment limit; run `reconciler plan` for the whole plan.",
    ]
    return "\n".join(kept) + "\n"
