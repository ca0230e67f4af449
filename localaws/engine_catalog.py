"""Engine versions offered per region: RDS DescribeDBEngineVersions and
DescribeDBMajorEngineVersions, ElastiCache DescribeCacheEngineVersions.

AWS behaviour: each region answers from its own list. DescribeDBEngineVersions gives the
versions of an engine with Status `available` or `deprecated`; deprecated ones only with
IncludeAll. It takes Engine, EngineVersion, DBParameterGroupFamily, DefaultOnly, Filters
and Marker/MaxRecords (default 100, 20 to 100). DescribeDBMajorEngineVersions gives each
major version's SupportedEngineLifecycles (standard and Extended Support, with start and
end dates). DescribeCacheEngineVersions does the same for Redis OSS and Valkey with
CacheParameterGroupFamily. An engine a region does not offer gives an empty list.

moto 5.2.5 implements none of the three: its RDS and ElastiCache responses have no handler
for them (DescribeDBMajorEngineVersions is not routed either, although botocore 1.44.8's
model has it), so in-process they raise NotImplementedError and the server answers an
HTML 500.

`install()` adds the three handlers to moto's RDS and ElastiCache responses (used by both
mock_aws and the server), answering from the catalog below for the request's region.

The catalog is a stand-in, NOT AWS's list. Compiled 2026-11-29 (`CATALOG_DATE`) from
cfn-lint 1.58.0's shipped data (schemas/extensions/aws_rds_dbinstance/engine_version*.json
and aws_elasticache_cachecluster/engine_version.json; us-east-1 only, no dates) and from
this project's facts (/work/shared/notes/aws-facts.md and the issue that asked for this):
- RDS `mysql`: 8.0.36-8.0.43 (no 8.0.38: cfn-lint lists none) and 8.4.3-8.4.8;
  8.0.36-8.0.41, 8.4.3 and 8.4.4 `deprecated`, the rest `available`. 8.0.35 and older
  are not offered at all (the known failure: MySQL 8.0.35 in us-east-1). cfn-lint 1.58.0
  lists more (8.0.11-8.0.35 as deprecated, 8.0.44-8.0.46, 8.4.9-8.4.11, MySQL 5.x); where
  it and the facts disagree the facts win and the catalog leaves them out.
- Lifecycles (secondary source / aws-facts.md): 8.0 standard support ends 2026-07-31,
  Extended Support 2026-08-01 to 2029-07-31; 8.4 standard support ends 2029-07-31 (no 8.4
  Extended Support entry: no date for it here). The standard-support start dates, which
  the API requires, are RDS's general-availability dates from secondary sources:
  2018-10-23 for 8.0, 2024-11-21 for 8.4.
- ElastiCache: `redis` 6.0, 6.2 (redis6.x), 7.0, 7.1 (redis7); `valkey` 7.2 (valkey7), 8.0
  (valkey8). Not offered: redis 4.0.10 and 5.0.6, valkey 8.1 and later (which cfn-lint lists).
No other engine is in the catalog. `CATALOGS` is keyed by region name; us-east-1 and
eu-central-1 are listed and every other region gets `DEFAULT_CATALOG`; today all three
hold the same lists.

Rules of this stand-in where AWS publishes none:
- The default version (DefaultOnly) of an engine, or of the major version EngineVersion
  names, is its newest `available` version.
- EngineVersion (and the `engine-version` filter) matches a version exactly or names its
  major version: `8.0` (RDS), `7` (ElastiCache).
- Filters: `engine`, `engine-version`, `db-parameter-group-family` and `status`; any other
  name (such as AWS's `engine-mode`) is refused with InvalidParameterValue. Without
  IncludeAll only `available` versions are listed, whatever the `status` filter says.
- ListSupportedCharacterSets and ListSupportedTimezones are ignored (none are listed).
- Descriptions are this module's wording. The Marker is opaque (the next record's key);
  one that names no record is refused with InvalidParameterValue.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CATALOG_DATE = "2026-11-29"
AVAILABLE, DEPRECATED = "available", "deprecated"
MIN_RECORDS, MAX_RECORDS = 20, 100

Record = Mapping[str, Any]


class InvalidParameterValue(ValueError):
    """A request AWS refuses with InvalidParameterValue (raised by the describe functions;
    the installed handlers turn it into the service's error)."""


@dataclass(frozen=True)
class RegionCatalog:
    """What one region offers, as the three APIs list it (records in their response shapes)."""

    db_engine_versions: tuple[Record, ...]
    db_major_engine_versions: tuple[Record, ...]
    cache_engine_versions: tuple[Record, ...]


# --- the catalog --------------------------------------------------------------------------------


def _mysql(version: str, status: str = AVAILABLE) -> dict[str, Any]:
    major = version.rsplit(".", 1)[0]
    return {
        "Engine": "mysql",
        "MajorEngineVersion": major,
        "EngineVersion": version,
        "DBParameterGroupFamily": f"mysql{major}",
        "DBEngineDescription": "MySQL Community Edition",
        "DBEngineVersionDescription": f"MySQL {version}",
        "Status": status,
    }


def _day(iso_date: str) -> datetime:
    return datetime.fromisoformat(iso_date).replace(tzinfo=UTC)


def _lifecycle(name: str, start: str, end: str) -> dict[str, Any]:
    return {
        "LifecycleSupportName": f"open-source-rds-{name}-support",
        "LifecycleSupportStartDate": _day(start),
        "LifecycleSupportEndDate": _day(end),
    }


def _cache(engine: str, version: str, family: str) -> dict[str, Any]:
    return {
        "Engine": engine,
        "EngineVersion": version,
        "CacheParameterGroupFamily": family,
        "CacheEngineDescription": {"redis": "Redis OSS", "valkey": "Valkey"}[engine],
        "CacheEngineVersionDescription": f"{engine} version {version}",
    }


_MYSQL = (
    *(_mysql(f"8.0.{minor}", DEPRECATED) for minor in (36, 37, 39, 40, 41)),
    *(_mysql(f"8.0.{minor}") for minor in (42, 43)),
    *(_mysql(f"8.4.{minor}", DEPRECATED) for minor in (3, 4)),
    *(_mysql(f"8.4.{minor}") for minor in (5, 6, 7, 8)),
)
_MYSQL_MAJORS = (
    {
        "Engine": "mysql",
        "MajorEngineVersion": "8.0",
        "SupportedEngineLifecycles": (
            _lifecycle("standard", "2018-10-23", "2026-07-31"),
            _lifecycle("extended", "2026-08-01", "2029-07-31"),
        ),
    },
    {
        "Engine": "mysql",
        "MajorEngineVersion": "8.4",
        "SupportedEngineLifecycles": (_lifecycle("standard", "2024-11-21", "2029-07-31"),),
    },
)
_CACHE = (
    _cache("redis", "6.0", "redis6.x"),
    _cache("redis", "6.2", "redis6.x"),
    _cache("redis", "7.0", "redis7"),
    _cache("redis", "7.1", "redis7"),
    _cache("valkey", "7.2", "valkey7"),
    _cache("valkey", "8.0", "valkey8"),
)
_STAND_IN = RegionCatalog(_MYSQL, _MYSQL_MAJORS, _CACHE)

DEFAULT_CATALOG = _STAND_IN
CATALOGS: dict[str, RegionCatalog] = {"us-east-1": _STAND_IN, "eu-central-1": _STAND_IN}


def catalog_for(region: str) -> RegionCatalog:
    """The region's catalog; `DEFAULT_CATALOG` for a region `CATALOGS` does not list."""
    return CATALOGS.get(region, DEFAULT_CATALOG)


# --- the three APIs -----------------------------------------------------------------------------


def describe_db_engine_versions(region: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeDBEngineVersions' answer in `region` to the request parameters `params`
    (the API's names: Engine, EngineVersion, IncludeAll, Filters, Marker, ...)."""
    filters = _filters(params.get("Filters"))
    include_all = bool(params.get("IncludeAll"))
    records = catalog_for(region).db_engine_versions
    matched = [
        r
        for r in records
        if (include_all or r["Status"] == AVAILABLE)
        and _equal(params.get("Engine"), r["Engine"])
        and _version_matches(params.get("EngineVersion"), r["EngineVersion"], _db_major(r))
        and _equal(params.get("DBParameterGroupFamily"), r["DBParameterGroupFamily"])
        and all(matches(r) for matches in filters)
    ]
    if params.get("DefaultOnly"):
        matched = _defaults_only(matched, records, _db_major, params.get("EngineVersion"))
    page, marker = _page(matched, params, _version_key)
    return _answer("DBEngineVersions", page, marker)


def describe_db_major_engine_versions(region: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeDBMajorEngineVersions' answer in `region` (Engine, MajorEngineVersion, paging)."""
    matched = [
        r
        for r in catalog_for(region).db_major_engine_versions
        if _equal(params.get("Engine"), r["Engine"])
        and _equal(params.get("MajorEngineVersion"), r["MajorEngineVersion"])
    ]
    page, marker = _page(matched, params, lambda r: f"{r['Engine']}/{r['MajorEngineVersion']}")
    return _answer("DBMajorEngineVersions", page, marker)


def describe_cache_engine_versions(region: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeCacheEngineVersions' answer in `region` (Engine, EngineVersion,
    CacheParameterGroupFamily, DefaultOnly, paging)."""
    records = catalog_for(region).cache_engine_versions
    matched = [
        r
        for r in records
        if _equal(params.get("Engine"), r["Engine"])
        and _version_matches(params.get("EngineVersion"), r["EngineVersion"], _cache_major(r))
        and _equal(params.get("CacheParameterGroupFamily"), r["CacheParameterGroupFamily"])
    ]
    if params.get("DefaultOnly"):
        matched = _defaults_only(matched, records, _cache_major, params.get("EngineVersion"))
    page, marker = _page(matched, params, _version_key)
    return _answer("CacheEngineVersions", page, marker)


# --- matching and paging ------------------------------------------------------------------------


def _db_major(record: Record) -> str:
    return record["MajorEngineVersion"]


def _cache_major(record: Record) -> str:
    return record["EngineVersion"].split(".", 1)[0]


def _version_key(record: Record) -> str:
    return f"{record['Engine']}/{record['EngineVersion']}"


def _equal(wanted: str | None, value: str) -> bool:
    return wanted is None or wanted == value


def _version_matches(wanted: str | None, version: str, major: str) -> bool:
    return wanted is None or wanted in (version, major)


_FILTERS: dict[str, Callable[[Record, list[str]], bool]] = {
    "engine": lambda r, values: r["Engine"] in values,
    "engine-version": lambda r, values: any(
        _version_matches(v, r["EngineVersion"], _db_major(r)) for v in values
    ),
    "db-parameter-group-family": lambda r, values: r["DBParameterGroupFamily"] in values,
    "status": lambda r, values: r["Status"] in values,
}


def _filters(filters: Iterable[Mapping[str, Any]] | None) -> list[Callable[[Record], bool]]:
    predicates = []
    for f in filters or ():
        test = _FILTERS.get(f["Name"])
        if test is None:
            raise InvalidParameterValue(f"Unrecognized filter name: {f['Name']}")
        values = list(f.get("Values") or ())
        predicates.append(lambda r, test=test, values=values: test(r, values))
    return predicates


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def _defaults_only(
    matched: list[Record],
    records: Iterable[Record],
    major_of: Callable[[Record], str],
    engine_version: str | None,
) -> list[Record]:
    """The matched records that are a default: the newest available version of their
    engine, or of their major version when the request names a version."""
    newest: dict[tuple[str, str | None], Record] = {}
    for r in records:
        if r.get("Status", AVAILABLE) != AVAILABLE:
            continue
        group = (r["Engine"], major_of(r) if engine_version else None)
        if group not in newest or _numbers(r["EngineVersion"]) > _numbers(
            newest[group]["EngineVersion"]
        ):
            newest[group] = r
    defaults = {id(r) for r in newest.values()}
    return [r for r in matched if id(r) in defaults]


def _page(
    records: list[Record], params: Mapping[str, Any], key: Callable[[Record], str]
) -> tuple[list[dict[str, Any]], str | None]:
    size = params.get("MaxRecords")
    size = MAX_RECORDS if size is None else int(size)
    if not MIN_RECORDS <= size <= MAX_RECORDS:
        raise InvalidParameterValue(
            f"Invalid value {size} for MaxRecords. Must be between {MIN_RECORDS} and {MAX_RECORDS}"
        )
    start = 0
    if params.get("Marker"):
        keys = [key(r) for r in records]
        if params["Marker"] not in keys:
            raise InvalidParameterValue(f"Invalid marker: {params['Marker']}")
        start = keys.index(params["Marker"])
    end = start + size
    marker = key(records[end]) if end < len(records) else None
    return [copy.deepcopy(dict(r)) for r in records[start:end]], marker


def _answer(result_key: str, page: list[dict[str, Any]], marker: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {result_key: page}
    if marker is not None:
        answer["Marker"] = marker
    return answer


# --- moto ---------------------------------------------------------------------------------------

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.core.responses import ActionResult
    from moto.elasticache.exceptions import InvalidParameterValueException
    from moto.elasticache.responses import ElastiCacheResponse
    from moto.rds.exceptions import InvalidParameterValue as RdsInvalidParameterValue
    from moto.rds.responses import RDSResponse

    def handler(
        describe: Callable[[str, Mapping[str, Any]], dict[str, Any]],
        refusal: Callable[[str], Exception],
    ) -> Callable[[Any], Any]:
        def action(self: Any) -> Any:
            params = self.params
            if hasattr(params, "original_dict"):  # RDS: moto's XFormedDict, keys as sent
                params = params.original_dict()
            try:
                return ActionResult(describe(self.region, params))
            except InvalidParameterValue as err:
                raise refusal(str(err)) from None

        action.__name__ = describe.__name__
        return action

    RDSResponse.describe_db_engine_versions = handler(
        describe_db_engine_versions, RdsInvalidParameterValue
    )
    RDSResponse.describe_db_major_engine_versions = handler(
        describe_db_major_engine_versions, RdsInvalidParameterValue
    )
    ElastiCacheResponse.describe_cache_engine_versions = handler(
        describe_cache_engine_versions, InvalidParameterValueException
    )
    _installed = True
