"""`reconciler plan` on a warm validation cache, against stacks deployed on the local AWS
by `reconciler apply`: a second plan imports no cfnlint module and prints the same plan;
a template changed on a warm cache is planned as the change it is (create-only paths, read
from the cache, make the change a replacement), and planned again without cfnlint.

Every process is a fresh interpreter with its own environment: the local AWS's, nothing
from the developer's AWS configuration, and RECONCILER_CACHE_DIR in this module's folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from localaws.server import LocalAws
from tests.cli_process import Run, run_reconciler
from tests.repo import STACK, TEMPLATE, make_repo

pytestmark = pytest.mark.integration

NAME = "      Name: !Sub /test/${EnvironmentSuffix}/greeting\n"
RENAMED = "      Name: !Sub /test/${EnvironmentSuffix}/greeting-renamed\n"


@dataclass(frozen=True)
class Setup:
    repo: Path
    cache: Path
    environ: dict[str, str]
    cwd: Path

    def reconciler(self, *args: str) -> Run:
        return run_reconciler(*args, cwd=self.cwd, env=self.environ)


@pytest.fixture(scope="module")
def deployed(local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """Two stacks, each from its own template, created by `reconciler apply --wait`."""
    root = tmp_path_factory.mktemp("plan-cache")
    repo = make_repo(
        root / "repo",
        {
            "templates/app.yml": TEMPLATE,
            "templates/other.yml": TEMPLATE.replace("/test/", "/other/"),
            "desired-state/app-dev.yml": STACK.replace("app-dev", "cache-app"),
            "desired-state/other-dev.yml": STACK.replace("app-dev", "cache-other").replace(
                "templates/app.yml", "templates/other.yml"
            ),
        },
        defaults=False,
    )
    quiet = root / "quiet"
    quiet.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RECONCILER_"))}
    environ.update(local_aws.env())
    environ.update(
        AWS_CONFIG_FILE="/nonexistent/aws-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws-credentials",
        HOME=str(quiet),
        RECONCILER_CACHE_DIR=str(root / "cache"),
    )
    setup = Setup(repo, root / "cache", environ, quiet)
    applied = setup.reconciler("apply", "--wait", str(repo))
    assert applied.code == 0, applied.out + applied.err
    return setup


@dataclass(frozen=True)
class Plans:
    first: Run
    second: Run


@pytest.fixture(scope="module")
def unchanged(deployed: Setup) -> Plans:
    return Plans(
        deployed.reconciler("plan", str(deployed.repo)),
        deployed.reconciler("plan", str(deployed.repo)),
    )


@dataclass(frozen=True)
class ChangedPlans:
    first: Run  # the first plan after the change, on the cache warm from `unchanged`
    second: Run
    fresh: Run  # with --no-cache


@pytest.fixture(scope="module")
def changed(deployed: Setup, unchanged: Plans) -> ChangedPlans:
    """cache-app's template renames its SSM parameter (Name is create-only)."""
    template = deployed.repo / "templates" / "app.yml"
    text = template.read_text()
    assert text.count(NAME) == 1
    template.write_text(text.replace(NAME, RENAMED))
    first = deployed.reconciler("plan", str(deployed.repo))
    second = deployed.reconciler("plan", str(deployed.repo))
    fresh = deployed.reconciler("plan", "--no-cache", str(deployed.repo))
    return ChangedPlans(first, second, fresh)


def test_a_second_plan_imports_no_cfnlint_and_prints_the_same_plan(unchanged):
    """GIVEN two stacks deployed by apply WHEN plan runs twice in fresh processes THEN
    both say nothing changes, and the second imports no cfnlint module."""
    assert unchanged.first.code == 0, unchanged.first.err
    assert "cache-app [us-east-1]: none - up to date" in unchanged.first.out
    assert "cache-other [us-east-1]: none - up to date" in unchanged.first.out
    assert unchanged.second.cfnlint == ()
    assert unchanged.second.answer == unchanged.first.answer


def test_a_template_changed_on_a_warm_cache_is_planned_as_the_replacement_it_is(changed):
    """GIVEN the warm cache of the plans above WHEN cache-app's template renames its
    parameter THEN plan lints the new text (cfnlint imported) and shows the parameter
    replaced, Name being create-only; cache-other stays up to date; a --no-cache plan
    prints the same."""
    assert changed.first.code == 0, changed.first.err
    assert "cfnlint.api" in changed.first.cfnlint
    assert "cache-app [us-east-1]: update - desired state changed (1 to modify)" in (
        changed.first.out
    )
    assert "Param     AWS::SSM::Parameter  Modify  True (Name changes (create-only))" in (
        changed.first.out
    )
    assert "cache-other [us-east-1]: none - up to date" in changed.first.out
    assert changed.fresh.answer == changed.first.answer


def test_a_second_plan_of_the_changed_template_imports_no_cfnlint_and_prints_the_same(changed):
    """GIVEN the changed template planned once WHEN planned again THEN the same plan
    (create-only paths included, from the cache) without importing cfnlint."""
    assert changed.second.cfnlint == ()
    assert changed.second.answer == changed.first.answer
