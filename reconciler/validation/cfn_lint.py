"""cfn-lint over every referenced template, in each region its stacks target, through
cfn-lint's Python API; its findings keep cfn-lint's rule ids (E3012, W1020, ...). Its
answers are kept on disk (reconciler/cache.py), keyed by the template's text, the regions
and the rule set, so a template already linted is not linted, nor cfn-lint imported, again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from reconciler import cache as disk
from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error, warning

# The configuration files cfn-lint reads besides its arguments (its ConfigFileArgs: the
# first found in the home directory, and the first in the working directory); they can
# include, ignore or configure rules, so they are part of the rule set a result depends on.
CONFIG_NAMES = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")


@cache
def lint(text: str, regions: tuple[str, ...]) -> tuple[tuple[str, int, str], ...]:
    """(rule id, line, message) for each cfn-lint match; informational ones dropped."""
    found = disk.memo("lint", (text, list(regions), rule_set()), lambda: _lint(text, regions))
    return tuple((str(rule), int(line), str(message)) for rule, line, message in found)


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
                    found.append(f"{path}\n{path.read_text(encoding='utf-8', errors='replace')}")
                    break
            except OSError:
                continue
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
