"""The desired state: one YAML file per stack under desired-state/.

The first three keys are those of a CloudFormation Git sync deployment file; the rest
are the reconciler's own (see docs/desired-state.md). Loading never raises on bad
input: every problem becomes a finding with the file and line.
"""

from __future__ import annotations

import errno
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.accounts import ACCOUNT, MEMBER_ROLE, ROLE_ARN, ROLE_NAME, partition, role_arn
from reconciler.findings import Finding, Severity
from reconciler.identity import REGION, STACK_NAME
from reconciler.template import Template, load_template
from reconciler.windows import Window, cron_problem, parse_duration, timezone_problem
from reconciler.yamlfile import line_of, parse, read_text

DESIRED_DIR = "desired-state"
APPROVAL_EXPIRES = timedelta(hours=24)


class DriftMode(StrEnum):
    REPAIR = "repair"
    DETECT = "detect"
    IGNORE = "ignore"


@dataclass(frozen=True)
class StackSpec:
    path: str  # the stack file, relative to the repository root
    stack_name: str
    region: str
    template_file_path: str
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    outputs_path: str = ""
    drift: DriftMode = DriftMode.REPAIR
    allow_replacement: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    suppress: dict[str, str] = field(default_factory=dict)  # rule id -> reason
    drift_ignore: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id -> paths
    # Change control (docs/change-control.md)
    approval: bool = False  # `approval: required`: a change waits for someone's approval
    approvers: tuple[str, ...] = ()  # GitHub logins or ORG/TEAM; empty: anyone but the author
    approval_expires: timedelta = APPROVAL_EXPIRES  # an approval not used by then lapses
    change_windows: tuple[Window, ...] = ()  # empty: changes at any time
    repair_outside_window: str = "none"  # none | guardrails
    suspended: bool = False
    # `refactor: false`: a stateful resource renamed or moved is blocked by the guard
    # instead of moved by a stack refactor (docs/guard.md).
    refactor: bool = True
    # Where the stack lives (reconciler/accounts.py): "" for the reconciler's own account;
    # role_arn is the role assumed there, resolved from role-name or role-arn.
    account: str = ""
    role_name: str = ""
    role_arn: str = ""
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)

    def item_line(self, section: str, name: str) -> int:
        """The line of one tag or parameter (`section` is `tags` or `parameters`)."""
        return self.lines.get(f"{section}.{name}", self.line(section))


@dataclass(frozen=True)
class DesiredState:
    root: Path
    stacks: tuple[StackSpec, ...]
    templates: dict[str, Template]  # by template-file-path, only those that loaded
    findings: tuple[Finding, ...]  # from loading; validation adds more
    # Stack files that did not load, with the stack name they declare (when readable),
    # so the status of that stack can say why it was not touched.
    broken: dict[str, str] = field(default_factory=dict)

    def stack(self, name: str) -> StackSpec | None:
        return next((s for s in self.stacks if s.stack_name == name), None)

    def narrowed(self, names: Iterable[str]) -> DesiredState:
        """Only the stacks `names` and those they depend on, with their templates and
        findings: what a stack worker validates and applies."""
        wanted, by_name = set(), {s.stack_name: s for s in self.stacks}
        todo = list(names)
        while todo:  # the whole chain: a dependency's own depends-on is validated too
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(by_name[name].depends_on if name in by_name else ())
        stacks = tuple(s for s in self.stacks if s.stack_name in wanted)
        files = {p for s in stacks for p in (s.path, s.template_file_path)}
        return replace(
            self,
            stacks=stacks,
            templates={k: v for k, v in self.templates.items() if k in files},
            findings=tuple(f for f in self.findings if f.path in files),
            broken={},
        )


# --- value checkers: each returns (value, problem) ------------------------------------

# Matched with fullmatch: `$` would let a trailing newline through. STACK_NAME and
# REGION: reconciler/identity.py.
SSM_PATH = re.compile(r"(/[A-Za-z0-9_.\-]+)+")
RESERVED_TAG_PREFIXES = ("aws:", "gitops-reconciler:")
Check = Callable[[Any], tuple[Any, str | None]]


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _string(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> tuple[Any, str | None]:
        if not isinstance(value, str):
            return None, f"must be a string ({what}), not {_kind(value)}"
        if not pattern.fullmatch(value):
            return None, f"{value!r} is not {what}"
        return value, None

    return check


def _path(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not value.strip():
        return None, f"must be a non-empty string, not {_kind(value)}"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None, f"{value!r} holds a control character (NUL, newline, ...)"
    return value, None


def _parameters(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, dict):
        return None, f"must be a mapping of parameter name to value, not {_kind(value)}"
    result = {}
    for name, raw in value.items():
        if isinstance(raw, list) and all(_scalar(v) is not None for v in raw):
            result[str(name)] = ",".join(_scalar(v) for v in raw)  # CommaDelimitedList
            continue
        text = _scalar(raw)
        if text is None:
            return None, f"parameter {name!r} must be a scalar or a list, not {_kind(raw)}"
        result[str(name)] = text
    return result, None


def _tags(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, dict):
        return None, f"must be a mapping of tag key to value, not {_kind(value)}"
    result = {}
    for key, raw in value.items():
        text = _scalar(raw)
        if text is None:
            return None, f"tag {key!r} must have a scalar value, not {_kind(raw)}"
        if str(key).lower().startswith(RESERVED_TAG_PREFIXES):  # aws: in any case
            return None, f"tag {key!r} uses a reserved prefix ({', '.join(RESERVED_TAG_PREFIXES)})"
        result[str(key)] = text
    return result, None


def _drift(value: Any) -> tuple[Any, str | None]:
    try:
        return DriftMode(value), None
    except ValueError:
        return None, f"{value!r} is not one of {', '.join(m.value for m in DriftMode)}"


def _names(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, f"must be a list of names, not {_kind(value)}"
    return tuple(value), None


def _suppress(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, dict):
        return None, f"must be a mapping of rule id to reason, not {_kind(value)}"
    for rule, reason in value.items():
        if not isinstance(reason, str) or not reason.strip():
            return None, f"suppressing {rule} needs a reason (a non-empty string)"
    return {str(k): v for k, v in value.items()}, None


def _drift_ignore(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, dict):
        return None, f"must map logical ids to lists of property paths, not {_kind(value)}"
    result = {}
    for logical_id, paths in value.items():
        ok = isinstance(paths, list) and all(
            isinstance(p, str) and p.startswith("/") for p in paths
        )
        if not ok:
            return None, f"{logical_id}: give a list of property paths like /Tags"
        result[str(logical_id)] = tuple(paths)
    return result, None


# --- change control (docs/change-control.md) ---

# GitHub logins: letters, digits and hyphens, 39 at most; Enterprise Managed Users add
# an `_shortcode`. Teams are ORG/TEAM-SLUG, as in CODEOWNERS but without the `@`.
LOGIN = r"[A-Za-z0-9][A-Za-z0-9-]{0,38}"
APPROVER = re.compile(
    rf"{LOGIN}(?:_[A-Za-z0-9]{{1,20}})?|{LOGIN}/[A-Za-z0-9][A-Za-z0-9_-]{{0,254}}"
)
DURATION_FORM = "a duration from 1m to 7d like 24h, 90m, 1h30m or 2d"
WINDOW_KEYS = {"cron": True, "duration": True, "timezone": False}  # key -> required
REPAIR_OUTSIDE_WINDOW = ("none", "guardrails")


def _choice(options: tuple[str, ...]) -> Check:
    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, str) and value in options:
            return value, None
        if isinstance(value, bool):  # YAML reads yes/no/on/off/true/false so
            shown = f"{str(value).lower()} (a YAML boolean)"
        else:
            shown = repr(value) if isinstance(value, str) else _kind(value)
        return None, f"{shown} is not one of {', '.join(options)}"

    return check


def _approval(value: Any) -> tuple[Any, str | None]:
    choice, problem = _choice(("required", "none"))(value)
    return (None, problem) if problem else (choice == "required", None)


# Bounds that keep a stack's record (it names them) within DynamoDB's item size.
MAX_APPROVERS = 100
MAX_WINDOWS = 50


def _approvers(value: Any) -> tuple[Any, str | None]:
    form = "GitHub logins or ORG/TEAM slugs, like [alice, payments/dba]"
    if not isinstance(value, list) or not value:
        shown = "an empty list" if value == [] else _kind(value)
        return None, f"must be a non-empty list of {form}, not {shown}"
    if len(value) > MAX_APPROVERS:
        return None, f"lists {len(value)} approvers; at most {MAX_APPROVERS} (list a team)"
    for item in value:
        if not isinstance(item, str):
            return None, f"must be a list of {form}, not one holding {_kind(item)}"
        if not APPROVER.fullmatch(item):
            hint = " (write it without the @)" if item.startswith("@") else ""
            return None, (
                f"{item!r} is not a GitHub login (letters, digits and hyphens, 39 at most) "
                f"nor an ORG/TEAM slug like payments/dba{hint}"
            )
    return tuple(dict.fromkeys(value)), None


def _duration(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, f"must be {DURATION_FORM}, not {_kind(value)}"
    duration = parse_duration(value)
    if duration is None:
        return None, f"{value!r} is not {DURATION_FORM}"
    return duration, None


def _change_windows(value: Any) -> tuple[Any, str | None]:
    """One mapping, or a list of them. Problems name the window and key, e.g.
    `change-window[1].cron: ...` (the loader does not prefix them again)."""
    if isinstance(value, dict):
        window, problem = _window(value, "change-window")
        return (None, problem) if problem else ((window,), None)
    if not isinstance(value, list) or not value:
        shown = "an empty list" if value == [] else _kind(value)
        return None, (
            "change-window: give a mapping with cron, duration and timezone, or a list "
            f"of them, not {shown}"
        )
    if len(value) > MAX_WINDOWS:
        return None, f"change-window: {len(value)} windows; at most {MAX_WINDOWS}"
    windows = []
    for index, item in enumerate(value):
        window, problem = _window(item, f"change-window[{index}]")
        if problem:
            return None, problem
        windows.append(window)
    return tuple(windows), None


def _window(value: Any, name: str) -> tuple[Window | None, str | None]:
    if not isinstance(value, dict):
        return (
            None,
            f"{name}: must be a mapping with cron, duration and timezone, not {_kind(value)}",
        )
    for key in value:
        if key not in WINDOW_KEYS:
            return None, f"{name}: unknown key {key!r} (known: {', '.join(WINDOW_KEYS)})"
    for key, required in WINDOW_KEYS.items():
        if required and key not in value:
            return None, f"{name}: missing required key {key!r}"
    cron, timezone = value["cron"], value.get("timezone", "UTC")
    if not isinstance(cron, str):
        return None, f"{name}.cron: must be a string like '0 22 * * SAT', not {_kind(cron)}"
    if problem := cron_problem(cron):
        return None, f"{name}.cron: {problem}"
    duration, problem = _duration(value["duration"])
    if problem:
        return None, f"{name}.duration: {problem}"
    if not isinstance(timezone, str):
        return None, f"{name}.timezone: must be a string like Europe/London, not {_kind(timezone)}"
    if problem := timezone_problem(timezone):
        return None, f"{name}.timezone: {problem}"
    return Window(str(cron), duration, str(timezone)), None


def _boolean(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return value, None
    shown = repr(value) if isinstance(value, str) else _kind(value)
    return None, f"must be true or false, not {shown}"


def _kind(value: Any) -> str:
    # isinstance: the YAML decoder hands out subclasses (dict_node, list_node, str_node)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    name = "str" if isinstance(value, str) else type(value).__name__
    return f"{name} {value!r}"


def _account(value: Any) -> tuple[Any, str | None]:
    """A 12-digit account id. YAML reads an unquoted 0123... as a number (an octal one
    when its digits allow), so a number is taken only when it has 12 digits."""
    if isinstance(value, int) and not isinstance(value, bool) and ACCOUNT.fullmatch(str(value)):
        return str(value), None
    if isinstance(value, str) and ACCOUNT.fullmatch(value):
        return value, None
    shown = repr(value) if isinstance(value, str) else _kind(value)
    return None, f'must be a 12-digit AWS account id in quotes ("012345678901"), not {shown}'


def _role_arn(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and ROLE_ARN.fullmatch(value):
        return value, None
    shown = repr(value) if isinstance(value, str) else _kind(value)
    return None, f"must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), not {shown}"


# key in the file -> (field name, checker, required)
KEYS: dict[str, tuple[str, Check, bool]] = {
    "template-file-path": ("template_file_path", _path, True),
    "parameters": ("parameters", _parameters, False),
    "tags": ("tags", _tags, False),
    "stack-name": (
        "stack_name",
        _string(
            STACK_NAME, "a stack name: a letter, then letters, digits and hyphens, 128 at most"
        ),
        True,
    ),
    "region": ("region", _string(REGION, "an AWS region name like us-east-1"), True),
    "outputs-path": ("outputs_path", _string(SSM_PATH, "an SSM path like /pci-db/prod"), False),
    "drift": ("drift", _drift, False),
    "allow-replacement": ("allow_replacement", _names, False),
    "depends-on": ("depends_on", _names, False),
    "suppress": ("suppress", _suppress, False),
    "drift-ignore": ("drift_ignore", _drift_ignore, False),
    "approval": ("approval", _approval, False),
    "approvers": ("approvers", _approvers, False),
    "approval-expires": ("approval_expires", _duration, False),
    "change-window": ("change_windows", _change_windows, False),
    "repair-outside-window": ("repair_outside_window", _choice(REPAIR_OUTSIDE_WINDOW), False),
    "suspended": ("suspended", _boolean, False),
    "refactor": ("refactor", _boolean, False),
    "account": ("account", _account, False),
    "role-name": (
        "role_name",
        _string(ROLE_NAME, "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)"),
        False,
    ),
    "role-arn": ("role_arn", _role_arn, False),
}


def _finding(path: str, line: int, rule: str, message: str) -> Finding:
    return Finding(path, line, rule, Severity.ERROR, message)


def load_stack_file(root: Path, path: Path) -> tuple[StackSpec | None, list[Finding]]:
    rel = path.relative_to(root).as_posix()
    text, error = read_text(path)
    if error is None:
        data, error = parse(text)
    if error:
        return None, [_finding(rel, error.line, "DS001", f"cannot parse: {error.message}")]
    if not isinstance(data, dict):
        return None, [_finding(rel, 1, "DS001", "a stack file must be a YAML mapping")]

    findings, values, lines = [], {}, {}
    for key in data:
        line = line_of(key, 1)
        lines[str(key)] = line
        if key not in KEYS:
            known = ", ".join(KEYS)
            findings.append(_finding(rel, line, "DS002", f"unknown key {key!r} (known: {known})"))
            continue
        field_name, check, _ = KEYS[key]
        if key in ("tags", "parameters") and isinstance(data[key], dict):
            lines.update({f"{key}.{name}": line_of(name, line) for name in data[key]})
        value, problem = check(data[key])
        if problem:
            # A checker of nested values names them itself: `change-window[1].cron: ...`
            named = problem.startswith((f"{key}:", f"{key}[", f"{key}."))
            message = problem if named else f"{key}: {problem}"
            findings.append(_finding(rel, line, "DS003", message))
        else:
            values[field_name] = value
    for key, (_, _, required) in KEYS.items():
        if required and key not in data:
            findings.append(_finding(rel, 1, "DS004", f"missing required key {key!r}"))
    for key, problem in _without_effect(data, values):
        findings.append(_finding(rel, lines[key], "DS003", f"{key}: {problem}"))
    if findings:
        return None, findings
    values.setdefault("outputs_path", f"/{values['stack_name']}")
    if values.get("account") or values.get("role_arn"):
        arn = values.get("role_arn") or role_arn(
            values["account"], values["region"], values.get("role_name") or MEMBER_ROLE
        )
        values |= {"role_arn": arn, "account": ROLE_ARN.fullmatch(arn)["account"]}
    return StackSpec(path=rel, lines=lines, **values), []


def _without_effect(data: dict, values: dict[str, Any]) -> list[tuple[str, str]]:
    """Keys that would silently do nothing without another: refused, so that a stack
    file never looks more guarded than it is. Skipped while that other key is itself
    wrong (its own finding says so)."""
    problems = []
    approval_read = "approval" not in data or "approval" in values
    if approval_read and not values.get("approval", False):
        for key in ("approvers", "approval-expires"):
            if KEYS[key][0] in values:
                problems.append((key, "has no effect without `approval: required`"))
    windows_read = "change-window" not in data or "change_windows" in values
    guardrails = values.get("repair_outside_window") == "guardrails"
    if windows_read and guardrails and not values.get("change_windows"):
        problems.append(
            (
                "repair-outside-window",
                "guardrails has no effect without a change-window (without one, every "
                "change and repair may run at any time)",
            )
        )
    account = values.get("account")
    if "role_name" in values and "role_arn" in values:
        problems.append(("role-arn", "give role-name or role-arn, not both"))
    elif "role_name" in values and "account" not in data:
        problems.append(
            ("role-name", "has no effect without `account:` (the account to assume it in)")
        )
    elif (
        account
        and (arn := values.get("role_arn"))
        and ROLE_ARN.fullmatch(arn)["account"] != account
    ):
        problems.append(
            (
                "role-arn",
                f"is a role of account {ROLE_ARN.fullmatch(arn)['account']}, "
                f"not of account {account}",
            )
        )
    if (arn := values.get("role_arn")) and values.get("region"):
        theirs, ours = ROLE_ARN.fullmatch(arn)["partition"], partition(values["region"])
        if theirs != ours:
            problems.append(
                (
                    "role-arn",
                    f"is a role of partition {theirs}, but region {values['region']} is in "
                    f"partition {ours}: a role acts only in its own partition "
                    f"(arn:{ours}:iam::...)",
                )
            )
    return problems


def stack_files(root: Path) -> list[Path]:
    folder = root / DESIRED_DIR
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yml", ".yaml"))


def load_desired_state(root: Path) -> DesiredState:
    """Load every stack file and the templates they name. Never raises on bad input."""
    root = root.resolve()
    stacks, findings = [], []
    if not (root / DESIRED_DIR).is_dir():
        findings.append(_finding(DESIRED_DIR, 0, "DS000", f"no {DESIRED_DIR}/ folder in {root}"))
    broken = {}
    for path in stack_files(root):
        rel = path.relative_to(root).as_posix()
        if problem := _locate(root, rel):
            findings.append(_finding(rel, 0, "DS001", problem))
            continue
        spec, problems = load_stack_file(root, path)
        findings.extend(problems)
        if spec:
            stacks.append(spec)
        elif name := _declared_name(path):
            broken[path.relative_to(root).as_posix()] = name

    templates: dict[str, Template] = {}
    for spec in stacks:
        rel = spec.template_file_path
        if rel in templates or template_path_problem(root, rel):
            continue  # the template_path rule reports it
        template, error = load_template(root, rel)
        if template:
            templates[rel] = template
        elif not any(f.path == rel for f in findings):
            msg = f"cannot parse template: {error.message}"
            findings.append(_finding(rel, error.line, "DS008", msg))
    return DesiredState(root, tuple(stacks), templates, tuple(findings), broken)


def _declared_name(path: Path) -> str | None:
    text, error = read_text(path)
    data, error = parse(text) if error is None else (None, error)
    name = data.get("stack-name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and STACK_NAME.fullmatch(name) else None


LEAVES = "a symlink that leaves the repository"


def _locate(root: Path, rel: str) -> str | None:
    """Why `rel` cannot be read as a file of the repository, or None. Symlinks are
    followed, but neither out of the repository nor round in a loop."""
    try:
        target = (root / rel).resolve()
        if target != root and root not in target.parents:
            return LEAVES
        if not stat.S_ISREG((root / rel).stat().st_mode):  # the path as it will be read
            return "not a regular file"
    except (RuntimeError, ValueError, OSError) as err:
        # Python 3.11 raises RuntimeError on a symlink loop, 3.13 OSError(ELOOP).
        if isinstance(err, RuntimeError) or getattr(err, "errno", None) == errno.ELOOP:
            return "a symlink loop"
        if isinstance(err, ValueError):
            return "the path holds a NUL byte"
        if err.errno == errno.ENOENT:
            return "does not exist"
        return f"cannot be read: {err.strerror}"
    return None


def template_path_problem(root: Path, rel: str) -> tuple[str, str] | None:
    """(rule, message): DS006 when the path leaves the repository, DS007 when it names
    no readable file there."""
    shown = repr(rel if len(rel) <= 200 else f"{rel[:120]}...{rel[-40:]}")
    if Path(rel).is_absolute():
        return "DS006", f"template-file-path {shown} leaves the repository"
    problem = _locate(root, rel)
    if problem is None:
        return None
    rule = "DS006" if problem == LEAVES else "DS007"
    return rule, f"template-file-path {shown}: {problem}"


def managed_tags(spec: StackSpec, desired_hash: str) -> dict[str, str]:
    """The tags a managed stack carries: the user's, plus the reconciler's own."""
    return {**spec.tags, MANAGED_TAG: "true", HASH_TAG: desired_hash}


__all__ = [
    "DESIRED_DIR",
    "DesiredState",
    "DriftMode",
    "StackSpec",
    "load_desired_state",
    "managed_tags",
    "stack_files",
    "template_path_problem",
]
