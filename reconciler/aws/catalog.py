"""Engine versions as AWS offers them in each region (DescribeDBEngineVersions,
DescribeDBMajorEngineVersions, DescribeCacheEngineVersions). When AWS cannot be asked
(no credentials, no permission, a backend without these calls) it falls back to
cfn-lint's shipped data for the rest of the run, and `source` says so.

The validation package is imported on the first question, not with this module: a
handler builds an AwsCatalog for every pass, but only a pass that validates asks it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from reconciler.aws import session

if TYPE_CHECKING:
    from reconciler.validation.context import EngineVersion, Lifecycle
    from reconciler.validation.offline_catalog import OfflineCatalog

UNREACHABLE = (
    botocore.exceptions.ClientError,
    botocore.exceptions.BotoCoreError,  # credentials, endpoint, unparseable answers
    NotImplementedError,  # moto in-process, for calls it lacks
)


class AwsCatalog:
    def __init__(self, client_for: Callable[[str, str], Any] | None = None) -> None:
        self._client_for = client_for or session.client
        self._fallback: OfflineCatalog | None = None
        self.source = "AWS (DescribeDBEngineVersions, DescribeCacheEngineVersions) in each region"
        self.offline = False
        # Per instance, so a long-lived Lambda container asks again on its next event.
        self.db_engine_version = cache(self._db_engine_version)
        self.db_lifecycles = cache(self._db_lifecycles)
        self.cache_engine_versions = cache(self._cache_engine_versions)
        self.secret_exists = cache(self._secret_exists)

    def _ask(self, name: str, call: Callable[[], Any], *args: Any) -> Any:
        if self._fallback is None:
            try:
                return call()
            except UNREACHABLE as err:
                from reconciler.validation.offline_catalog import OfflineCatalog

                reason = session.error_code(err) or type(err).__name__
                self._fallback = OfflineCatalog(f"AWS could not be asked: {reason}")
                self.source, self.offline = self._fallback.source, True
        return getattr(self._fallback, name)(*args)

    def _db_engine_version(self, region: str, engine: str, version: str) -> EngineVersion | None:
        from reconciler.validation.context import EngineVersion

        def call() -> EngineVersion | None:
            rds = self._client_for("rds", region)
            pages = rds.get_paginator("describe_db_engine_versions").paginate(
                Engine=engine, EngineVersion=version, IncludeAll=True
            )
            for page in pages:
                for found in page["DBEngineVersions"]:
                    if found["EngineVersion"] == version:
                        return EngineVersion(engine, version, found.get("Status", "available"))
            return None

        return self._ask("db_engine_version", call, region, engine, version)

    def _db_lifecycles(self, region: str, engine: str, major: str) -> list[Lifecycle]:
        from reconciler.validation.context import Lifecycle

        def call() -> list[Lifecycle]:
            rds = self._client_for("rds", region)
            answer = rds.describe_db_major_engine_versions(Engine=engine, MajorEngineVersion=major)
            return [
                Lifecycle(
                    item.get("LifecycleSupportName", ""),
                    _date(item.get("LifecycleSupportStartDate")),
                    _date(item.get("LifecycleSupportEndDate")),
                )
                for version in answer.get("DBMajorEngineVersions", [])
                for item in version.get("SupportedEngineLifecycles", [])
            ]

        return self._ask("db_lifecycles", call, region, engine, major)

    def _cache_engine_versions(self, region: str, engine: str) -> list[str]:
        def call() -> list[str]:
            elasticache = self._client_for("elasticache", region)
            pages = elasticache.get_paginator("describe_cache_engine_versions").paginate(
                Engine=engine
            )
            return sorted({v["EngineVersion"] for p in pages for v in p["CacheEngineVersions"]})

        return self._ask("cache_engine_versions", call, region, engine)

    def _secret_exists(self, region: str, secret_id: str) -> bool | None:
        def call() -> bool:
            try:
                self._client_for("secretsmanager", region).describe_secret(SecretId=secret_id)
            except botocore.exceptions.ClientError as err:
                if session.error_code(err) == "ResourceNotFoundException":
                    return False
                raise
            return True

        return self._ask("secret_exists", call, region, secret_id)


def _date(value: Any) -> Any:
    return value.date() if hasattr(value, "date") else None
