"""What a handler's cold start imports (issue 19): with tracing inactive, neither the X-Ray
SDK nor Powertools' parser package, nor pydantic, nor what only some events need (the
reconcile core is loaded by the first event acted on); with tracing active
(in Lambda, by Powertools' rule), the real Tracer around the handler. Each case imports
in a fresh interpreter, as a Lambda container does. No timing here: bench/import_time.py
measures it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from handlers import tracing

ROOT = Path(__file__).resolve().parents[2]
EIGHT = (
    "push",
    "preview",
    "stack_status",
    "drift",
    "schedule",
    "stack_worker",
    "webhook",
    "change",
)


def handler_modules() -> list[str]:
    """The modules of the template's Handler: entries."""
    text = (ROOT / "infra" / "bootstrap.yml").read_text()
    return sorted(re.findall(r"^\s+Handler: (handlers\.\w+)\.handler$", text, re.M))


HANDLERS = handler_modules()
# Powertools' rule (Tracer._is_tracer_disabled) reads these.
TRACING_ENV = (
    "LAMBDA_TASK_ROOT",
    "POWERTOOLS_TRACE_DISABLED",
    "AWS_SAM_LOCAL",
    "AWS_CHALICE_CLI_MODE",
)
# Loaded only when tracing is active, or never by a handler (the parser builds every
# event model Powertools has), or on first use by the events that need them.
NEVER_AT_IMPORT = ("aws_xray_sdk", "aws_lambda_powertools.utilities.parser", "tarfile")
TRACER_FILE = str(Path("aws_lambda_powertools", "tracing", "tracer.py"))
# Never loaded by a handler: pydantic (the events are validated by pydantic-core alone).
# Loaded by the first event acted on, not at import: the reconcile core.
NOT_AT_IMPORT = (
    "pydantic",
    "reconciler.reconcile",
    "reconciler.triggers",
    "reconciler.aws.services",
)

PROBE = """
import json, sys
from handlers import tracing
import {module} as handler_module
chain, f = [], handler_module.handler
while f is not None:
    chain.append(f.__code__.co_filename)
    f = getattr(f, "__wrapped__", None)
print(json.dumps({{
    "modules": sorted(sys.modules),
    "active": tracing.active(),
    "wrappers": chain,
}}))
"""


def imported(module: str, **env: str) -> dict:
    """What a fresh interpreter that imports `module` reports, with tracing's variables
    as given (unset otherwise)."""
    clean = {k: v for k, v in os.environ.items() if k not in TRACING_ENV}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **env},
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def loaded(modules: list[str], package: str) -> list[str]:
    return [m for m in modules if m == package or m.startswith(f"{package}.")]


def test_the_handlers_are_the_eight_of_the_template():
    """GIVEN infra/bootstrap.yml WHEN its Handler: entries are read THEN they are the
    eight handler modules (so the cases below cover every one)."""
    assert handler_modules() == sorted(f"handlers.{name}" for name in EIGHT)


@pytest.mark.parametrize("module", HANDLERS)
def test_handler_imports_no_tracer_parser_or_tarfile_when_tracing_is_inactive(module):
    """GIVEN tracing inactive (outside Lambda) WHEN a fresh interpreter imports the
    handler THEN neither the X-Ray SDK, nor Powertools' parser, nor tarfile is loaded,
    and the handler is not wrapped by a Tracer."""
    found = imported(module)
    assert found["active"] is False
    assert {p: loaded(found["modules"], p) for p in NEVER_AT_IMPORT} == {
        p: [] for p in NEVER_AT_IMPORT
    }
    assert TRACER_FILE not in " ".join(found["wrappers"])


@pytest.mark.parametrize("module", HANDLERS)
def test_handler_imports_neither_pydantic_nor_the_reconcile_core(module):
    """GIVEN tracing inactive WHEN a fresh interpreter imports the handler THEN pydantic
    (the package) is not loaded, nor the reconcile core (the pass, the AWS adapters);
    pydantic-core, which validates the events, may be."""
    found = imported(module)
    assert {p: loaded(found["modules"], p) for p in NOT_AT_IMPORT} == {p: [] for p in NOT_AT_IMPORT}


FIRST_EVENTS = """
import json, os, sys, tempfile
from pathlib import Path

def seen():
    return {m: m in sys.modules for m in WATCHED}

WATCHED = ("pydantic", "reconciler.reconcile", "reconciler.triggers")
import handlers.push as push
from localaws.lambda_context import LambdaContext

at_import = seen()
rejected = push.handler({"detail-type": "Git Push", "id": "e-1"}, LambdaContext())
after_rejected = seen()
# moto imports pydantic itself: what the handler loads is read before moto is imported.
from moto import mock_aws
from localaws import extensions
from tests.repo import git, git_repo

extensions.install_all()
with mock_aws():
    root = git_repo(Path(tempfile.mkdtemp()) / "desired")
    os.environ["DESIRED_STATE_REPOSITORY"] = str(root)
    event = json.loads(Path("tests/events/push.json").read_text())
    event.update(repository=str(root), after=git(root, "rev-parse", "HEAD"))
    done = push.handler(event, LambdaContext())
print(json.dumps({
    "at_import": at_import,
    "rejected": [rejected["status"], after_rejected],
    "reconciled": [done["status"], seen()],
}))
"""


def test_the_reconcile_core_is_loaded_by_the_first_event_acted_on(tmp_path):
    """GIVEN a fresh interpreter that imports the push handler WHEN it is handed an event
    it rejects, then a push it reconciles THEN neither pydantic nor the reconcile core is
    loaded at import or by the rejected event, and the core is by the push (a container's
    first pass pays for it)."""
    clean = {
        k: v for k, v in os.environ.items() if k not in TRACING_ENV and not k.startswith("AWS_")
    }
    env = {
        **clean,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", FIRST_EVENTS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    none = {"pydantic": False, "reconciler.reconcile": False, "reconciler.triggers": False}
    assert found["at_import"] == none
    assert found["rejected"] == ["rejected", none]
    assert found["reconciled"][0] == "reconciled"
    assert found["reconciled"][1]["reconciler.reconcile"] is True
    assert found["reconciled"][1]["reconciler.triggers"] is True


@pytest.mark.parametrize("module", HANDLERS)
def test_handler_is_traced_by_powertools_when_tracing_is_active(module):
    """GIVEN LAMBDA_TASK_ROOT set and POWERTOOLS_TRACE_DISABLED unset (in Lambda, with
    the Tracing parameter Active) WHEN a fresh interpreter imports the handler THEN the
    X-Ray SDK is loaded and Powertools' Tracer wraps the handler."""
    found = imported(module, LAMBDA_TASK_ROOT="/var/task")
    assert found["active"] is True
    assert loaded(found["modules"], "aws_xray_sdk")
    assert any(path.endswith(TRACER_FILE) for path in found["wrappers"])


@pytest.mark.parametrize(
    "env",
    [
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"},  # PassThrough
        {"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"},
        {},  # outside Lambda
    ],
)
def test_tracing_is_inactive_where_powertools_would_disable_it(env):
    """GIVEN the settings under which Powertools' Tracer disables itself WHEN the push
    handler is imported THEN tracing is inactive and the X-Ray SDK is not loaded."""
    found = imported("handlers.push", **env)
    assert found["active"] is False
    assert loaded(found["modules"], "aws_xray_sdk") == []


def handler(event: dict, context: object) -> dict:
    return event


@pytest.mark.parametrize(
    "decorate",
    [tracing.capture_lambda_handler, tracing.capture_lambda_handler(capture_response=False)],
)
def test_facade_leaves_the_handler_undecorated_when_tracing_is_inactive(monkeypatch, decorate):
    """GIVEN tracing inactive WHEN the facade decorates a handler, bare or with
    arguments THEN it returns the handler itself."""
    for name in TRACING_ENV:
        monkeypatch.delenv(name, raising=False)
    assert decorate(handler) is handler


def test_facade_wraps_the_handler_in_powertools_tracer_when_tracing_is_active():
    """GIVEN tracing active WHEN the facade decorates a function, bare or with arguments
    THEN it returns Powertools' wrapper of that function (a fresh interpreter: building a
    Tracer patches botocore process-wide)."""
    probe = """
import json
from handlers import tracing
def f(event, context):
    return event
bare = tracing.capture_lambda_handler(f)
given = tracing.capture_lambda_handler(capture_response=False)(f)
print(json.dumps([
    g is not f and g.__wrapped__ is f and g.__code__.co_filename for g in (bare, given)
]))
"""
    clean = {k: v for k, v in os.environ.items() if k not in TRACING_ENV}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, "LAMBDA_TASK_ROOT": "/var/task"},
        check=True,
    )
    wrapped = json.loads(done.stdout.splitlines()[-1])
    assert [str(path).endswith(TRACER_FILE) for path in wrapped] == [True, True]
