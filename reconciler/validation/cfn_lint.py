"""cfn-lint over every referenced template, in each region its stacks target, through
cfn-lint's Python API; its findings keep cfn-lint's rule ids (E3012, W1020, ...). Its
answers are kept on disk (reconciler/cache.py), keyed by the template's text, the regions
and the rule set, so a template already linted is not linted, nor cfn-lint imported, again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from reconciler import cache as disk
from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error, warning

# The configuration files cfn-lint reads besides its arguments (its ConfigFileArgs: the
# first found in the home directory, and the first in the working directory); they can
# include, ignore or configure rules, so they are part of the rule set a result depends on.
CONFIG_NAMES = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")
# Settings of a configuration file that name files (or folders) whose contents decide the
# findings: those contents are part of the rule set too.
NAMED_FILES = ("custom_rules", "override_spec", "append_rules", "registry_schemas")


@cache
def lint(text: str, regions: tuple[str, ...]) -> tuple[tuple[str, int, str], ...]:
    """(rule id, line, message) for each cfn-lint match; informational ones dropped."""
    return disk.memo(
        "lint", (text, list(regions), rule_set()), lambda: _lint(text, regions), _findings
    )


def _findings(found: Any) -> tuple[tuple[str, int, str], ...]:
    if not isinstance(found, list):
        raise TypeError("findings are a list")
    kept = []
    for rule, line, message in found:
        if not (isinstance(rule, str) and type(line) is int and isinstance(message, str)):
            raise TypeError("a finding is [rule, line, message]")
        kept.append((rule, line, message))
    return tuple(kept)


def _lint(text: str, regions: tuple[str, ...]) -> list[list]:
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=list(regions)))
    return [[m.rule.id, m.linenumber, m.message] for m in matches if m.rule.id[:1] in ("E", "W")]


def rule_set() -> list[str]:
    """What, besides cfn-lint's version, decides which rules run and how: the text of the
    configuration files cfn-lint will read."""
    found = []
    for folder in _config_folders():
        for name in CONFIG_NAMES:
            path = folder / name
            try:
                if path.is_file():
                    text = path.read_text(encoding="utf-8", errors="replace")
                    found.append(f"{path}\n{text}")
                    found.extend(_named_files(text))
                    break
            except OSError:
                continue
    return found


def _named_files(config: str) -> list[str]:
    """Each file a configuration names (a folder: each file below it), as its path and
    the SHA-256 of its bytes; relative paths are read from the working directory, as
    cfn-lint reads them."""
    import hashlib

    import yaml

    try:
        data = yaml.safe_load(config)
    except yaml.YAMLError:
        return []
    if not isinstance(data, dict):
        return []
    found = []
    for setting in NAMED_FILES:
        named = data.get(setting)
        for item in named if isinstance(named, list) else [named]:
            if not isinstance(item, str):
                continue
            root = Path(item)
            files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
            for file in files:
                try:
                    digest = hashlib.sha256(file.read_bytes()).hexdigest()
                except OSError:
                    digest = "unreadable"
                found.append(f"{setting}: {file} {digest}")
    return found


def _config_folders() -> list[Path]:
    folders = []
    for where in (Path.home, Path.cwd):
        try:
            folders.append(where())
        except (OSError, RuntimeError, KeyError):  # no home, or a deleted working directory
            continue
    return folders


def check(ctx: Context) -> Iterator[Finding]:
    stacks_by_template: dict[str, list] = defaultdict(list)
    for spec in ctx.state.stacks:
        if spec.template_file_path in ctx.state.templates:
            stacks_by_template[spec.template_file_path].append(spec)
    for path, specs in stacks_by_template.items():
        template = ctx.state.templates[path]
        regions = tuple(sorted({s.region for s in specs}))
        for rule_id, line, message in lint(template.body, regions):
            make = error if rule_id.startswith("E") else warning
            for spec in specs:  # once per stack, so each stack file can suppress it
                yield make(path, line, rule_id, f"{message} (cfn-lint)", spec.stack_name)


RULE = Rule(("E*", "W*"), "cfn-lint finds nothing in the templates", check)
