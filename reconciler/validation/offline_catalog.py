"""Engine versions from the data cfn-lint ships (refreshed from AWS's API with each
cfn-lint release; us-east-1's list), for `--offline` and for backends that cannot answer
DescribeDBEngineVersions. Support dates are not in cfn-lint's data: the few this project
depends on are listed here with their source."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources

from reconciler import cache as disk
from reconciler.validation.context import EngineVersion, Lifecycle

# RDS for MySQL release calendar (AWS documentation; see shared notes aws-facts.md).
LIFECYCLES = {
    ("mysql", "8.0"): [
        Lifecycle("open-source-rds-standard-support", None, date(2026, 7, 31)),
        Lifecycle("open-source-rds-extended-support", date(2026, 8, 1), date(2029, 7, 31)),
    ],
    ("mysql", "8.4"): [Lifecycle("open-source-rds-standard-support", None, date(2029, 7, 31))],
}


@cache
def _enum(folder: str, filename: str, engine: str) -> frozenset[str]:
    """The engine's versions in one of cfn-lint's data files (kept in the disk cache, by
    cfn-lint's version: reading them imports cfn-lint)."""
    return frozenset(
        disk.memo(
            "engine-versions",
            (folder, filename, engine),
            lambda: _read_enum(folder, filename, engine),
            disk.strings,
        )
    )


def _read_enum(folder: str, filename: str, engine: str) -> list[str]:
    data = resources.files(f"cfnlint.data.schemas.extensions.{folder}").joinpath(filename)
    for case in json.loads(data.read_text())["allOf"]:
        condition = case["if"]["properties"]
        if condition.get("Engine", {}).get("const") != engine:
            continue
        if "enum" in condition.get("EngineVersion", {}):  # the deprecated list
            return sorted(condition["EngineVersion"]["enum"])
        return sorted(case["then"]["properties"]["EngineVersion"]["enum"])
    return []


class OfflineCatalog:
    offline = True

    def __init__(self, why: str = "--offline") -> None:
        self.source = f"cfn-lint's shipped engine data (us-east-1's list; {why})"

    def db_engine_version(self, region: str, engine: str, version: str) -> EngineVersion | None:
        folder = "aws_rds_dbinstance"
        if version not in _enum(folder, "engine_version.json", engine):
            return None
        deprecated = version in _enum(folder, "engine_version_deprecated.json", engine)
        return EngineVersion(engine, version, "deprecated" if deprecated else "available")

    def db_lifecycles(self, region: str, engine: str, major: str) -> list[Lifecycle]:
        return LIFECYCLES.get((engine, major), [])

    def cache_engine_versions(self, region: str, engine: str) -> list[str]:
        return sorted(_enum("aws_elasticache_cachecluster", "engine_version.json", engine))

    def secret_exists(self, region: str, secret_id: str) -> bool | None:
        return None  # offline: the account cannot be asked
