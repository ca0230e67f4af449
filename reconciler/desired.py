"""The desired state: one YAML file per stack under desired-state/.

The first three keys are those of a CloudFormation Git sync deployment file; the rest
are the reconciler's own (see docs/desired-state.md). Loading never raises on bad
input: every problem becomes a finding with the file and line.
"""

from __future__ import annotations

import errno
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.findings import Finding, Severity
from reconciler.template import Template, load_template
from reconciler.windows import Window
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


# --- value checkers: each returns (value, problem) ------------------------------------

# Matched with fullmatch: `$` would let a trailing newline through.
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d")
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


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "empty"}.get(
        type(value), f"{type(value).__name__} {value!r}"
    )


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
            findings.append(_finding(rel, line, "DS003", f"{key}: {problem}"))
        else:
            values[field_name] = value
    for key, (_, _, required) in KEYS.items():
        if required and key not in data:
            findings.append(_finding(rel, 1, "DS004", f"missing required key {key!r}"))
    if findings:
        return None, findings
    values.setdefault("outputs_path", f"/{values['stack_name']}")
    return StackSpec(path=rel, lines=lines, **values), []


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
