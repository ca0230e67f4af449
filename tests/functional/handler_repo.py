"""A desired-state repository the handlers read (DESIRED_STATE_REPOSITORY), with the
handlers' cached services, source and idempotency store forgotten, so that each test's
environment is the one they are built from."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers import idempotency, runtime
from tests.repo import TEMPLATE, git, make_repo


def handler_repo(root: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Path:
    """An empty repository (templates/app.yml only) on branch main at `root`, named by
    DESIRED_STATE_REPOSITORY, with `env` set (e.g. WORK_QUEUE_PREFIX)."""
    made = make_repo(root, {"templates/app.yml": TEMPLATE}, defaults=False)
    git(made, "init", "-q", "--initial-branch=main")
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", str(made))
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    return made
