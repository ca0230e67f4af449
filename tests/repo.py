"""Builds small desired-state repositories on disk for tests."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  EnvironmentSuffix:
    Type: String
  Greeting:
    Type: String
    Default: hello
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub /test/${EnvironmentSuffix}/greeting
      Type: String
      Value: !Ref Greeting
  Logs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      LogGroupName: !Sub /test/${EnvironmentSuffix}/logs
      RetentionInDays: 365
Outputs:
  GreetingName:
    Value: !Ref Param
  LogGroup:
    Value: !Ref Logs
"""

STACK = """\
template-file-path: templates/app.yml
parameters:
  EnvironmentSuffix: dev
tags:
  compliance: pci-dss
stack-name: app-dev
region: us-east-1
"""


def make_repo(root: Path, files: dict[str, str] | None = None, *, defaults: bool = True) -> Path:
    """A repository with templates/app.yml and desired-state/app-dev.yml (unless
    defaults=False), plus `files` (path -> text, dedented; None deletes)."""
    content = (
        {"templates/app.yml": TEMPLATE, "desired-state/app-dev.yml": STACK} if defaults else {}
    )
    content.update(files or {})
    for rel, text in content.items():
        path = root / rel
        if text is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (root / "desired-state").mkdir(exist_ok=True)
    return root


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str | None] | None = None, message: str = "change") -> str:
    """Write `files` (as make_repo, without the defaults), commit everything; the new head."""
    make_repo(repo, files, defaults=False)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def git_repo(root: Path) -> Path:
    """A git repository on branch main holding make_repo's defaults in one commit."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "--initial-branch=main")
    make_repo(root)
    commit(root, message="first")
    return root
