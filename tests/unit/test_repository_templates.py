"""The repository's own templates and stack files: cfn-lint clean in the regions the
stacks target, and the desired state valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from reconciler.desired import load_desired_state
from reconciler.validation import validate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted([*ROOT.glob("templates/*.yml"), *ROOT.glob("infra/*.yml")])


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_is_cfn_lint_clean_in_us_east_1_and_eu_central_1(template):
    matches = lint_file(template, ManualArgs(regions=["us-east-1", "eu-central-1"]))
    assert [f"{m.linenumber}: {m.rule.id} {m.message}" for m in matches] == []


def test_repository_desired_state_has_no_findings():
    report = validate(load_desired_state(ROOT))
    assert [str(f) for f in report.findings] == []
    assert report.suppressed == ()
