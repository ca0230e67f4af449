"""Sessions in other accounts: sts:AssumeRole of the stack file's role, with the external
id the member account's trust policy asks for (MEMBER_EXTERNAL_ID) and a session name
carrying the commit (so the member account's CloudTrail says which commit made each call).

Credentials are fetched at the first call made with them, not when the services are
built (a pass that finds nothing to do in an account assumes nothing there), and fetched
again before they expire (botocore's refreshable credentials), and at once when AWS
says the token expired before the time it was given for (a clock ahead of AWS's): the
call is then made again, once, with new ones. A role that cannot be assumed is a
PermanentAwsError naming the role: that account's stacks are recorded Failed, the others
go on.

MEMBER_ROLE_NAME, when set, is the name of every role assumed, in place of the stack
file's: the same account and partition, that name. The preview function is given
infra/member-account.yml's MemberPreviewRoleName there, so a pull request preview reaches
a member stack through a role that may create and delete change sets but never execute
one, whatever role the stack file names (its PreviewRole may assume no other).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import boto3
import botocore.credentials
import botocore.session

from reconciler.accounts import (
    MEMBER_EXECUTION_ROLE,
    ROLE_ARN,
    execution_role_arn,
    session_name,
)
from reconciler.aws import session
from reconciler.errors import AwsError
from reconciler.reconcile import Services

DURATION_SECONDS = 3600  # AssumeRole's default; refreshed before the end
KEPT = 64  # sessions kept per process (one per role and commit)
# AWS's answers to a request signed with a session token past its end.
EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException"})
FETCHED_AGAIN = "gitops_reconciler_credentials_fetched_again"  # in a request's context


class Accounts:
    """Services acting in another account, built from the home account's (`home`), one
    per (role, revision), kept for the life of the process (a Lambda container)."""

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        self.external_id = env.get("MEMBER_EXTERNAL_ID", "").strip()
        self.execution_role = (
            env.get("MEMBER_EXECUTION_ROLE_NAME", "").strip() or MEMBER_EXECUTION_ROLE
        )
        self.role_name = env.get("MEMBER_ROLE_NAME", "").strip()
        self._edges: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def reach(self, home: Services) -> Callable[[str, str], Services]:
        """`Services.reach` for `home`. The adapters (and their clients and credentials)
        are kept per role and session; the services are made afresh on each call, so
        that who acts (set per event on `home`) is always the current one."""

        def at(role_arn: str, revision: str) -> Services:
            key = (role_arn, session_name(revision))
            with self._lock:
                if key not in self._edges:
                    if len(self._edges) >= KEPT:  # a long-lived container: the oldest go
                        self._edges.pop(next(iter(self._edges)))
                    self._edges[key] = self._adapters(home, role_arn, revision)
                edges = self._edges[key]
            return replace(home, **edges, home=home, reach=None)

        return at

    def assumed(self, role_arn: str) -> str:
        """The role assumed for a stack file's `role_arn`: itself, or MEMBER_ROLE_NAME of
        its account."""
        match = ROLE_ARN.fullmatch(role_arn)
        if not self.role_name or match is None:
            return role_arn
        return f"arn:{match['partition']}:iam::{match['account']}:role/{self.role_name}"

    def _adapters(self, home: Services, role_arn: str, revision: str) -> dict[str, Any]:
        from reconciler.aws.catalog import AwsCatalog
        from reconciler.aws.cloudformation import CloudFormation
        from reconciler.aws.live_settings import LiveSettings
        from reconciler.aws.ssm import SsmOutputs

        client_for = self.clients(role_arn, revision)
        # AWS's catalog is asked in the account (its secrets are there); another one (the
        # CLI's --offline, cfn-lint's data) is the same in every account.
        catalog = home.catalog
        if isinstance(catalog, AwsCatalog):
            catalog = AwsCatalog(client_for)
        return {
            "cfn": CloudFormation(
                client_for=client_for,
                role_arn=execution_role_arn(role_arn, self.execution_role),
            ),
            "outputs_for": lambda region: SsmOutputs(region, client=client_for("ssm", region)),
            "catalog": catalog,
            "settings": LiveSettings(client_for) if home.settings is not None else None,
            "account": ROLE_ARN.fullmatch(role_arn)["account"],
        }

    def clients(self, role_arn: str, revision: str) -> Callable[[str, str], Any]:
        """client_for(service, region) with the role's credentials (cached clients)."""
        role_arn = self.assumed(role_arn)
        name = session_name(revision)
        params = {"RoleArn": role_arn, "RoleSessionName": name}
        params |= {"DurationSeconds": DURATION_SECONDS}
        if self.external_id:
            params["ExternalId"] = self.external_id

        def fetch() -> dict[str, str]:
            try:
                with session.aws_errors():
                    answer = session.client("sts").assume_role(**params)["Credentials"]
            except AwsError as err:
                hint = ""
                if not self.external_id and err.code == "AccessDenied":
                    hint = (
                        "; MEMBER_EXTERNAL_ID is not set: give the external id the "
                        "member account's role asks for (infra/member-account.yml's ExternalId)"
                    )
                raise type(err)(f"cannot assume {role_arn}: {err}{hint}", err.code) from err
            return {
                "access_key": answer["AccessKeyId"],
                "secret_key": answer["SecretAccessKey"],
                "token": answer["SessionToken"],
                "expiry_time": answer["Expiration"].isoformat(),
            }

        credentials = _Assumed(refresh_using=fetch, method="sts-assume-role")
        core = botocore.session.get_session()
        core._credentials = credentials  # botocore's way to give a session its credentials
        core.register("needs-retry", credentials.again_if_expired)
        assumed = boto3.session.Session(botocore_session=core)
        made: dict[tuple[str, str], Any] = {}
        lock = threading.Lock()

        def client_for(service: str, region: str | None = None) -> Any:
            key = (service, region or session.default_region())
            with lock:
                if key not in made:
                    made[key] = assumed.client(
                        service, region_name=key[1], config=session.retry_config()
                    )
                return made[key]

        return client_for


class _Assumed(botocore.credentials.DeferredRefreshableCredentials):
    """An assumed role's credentials, fetched again when AWS says their token expired."""

    def again_if_expired(self, response=None, request_dict=None, **_: Any) -> int | None:
        """botocore's needs-retry: 0 (retry at once, after fetching new credentials) for
        a request AWS refused as signed with an expired token, once per request; None
        (botocore's own retry rules decide) for anything else."""
        parsed = response[1] if response else {}
        code = parsed.get("Error", {}).get("Code", "") if isinstance(parsed, dict) else ""
        context = (request_dict or {}).get("context", {})
        if code not in EXPIRED or context.get(FETCHED_AGAIN):
            return None
        context[FETCHED_AGAIN] = True
        with self._refresh_lock:
            self._frozen_credentials = None  # DeferredRefreshableCredentials: fetch first
        return 0
