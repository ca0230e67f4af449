"""The local AWS answers DescribeDBEngineVersions, DescribeDBMajorEngineVersions and
DescribeCacheEngineVersions from its per-region stand-in catalog (`localaws.engine_catalog`),
through the server and in-process (mock_aws). Nothing here installs the handlers: the local
AWS must, through `localaws.extensions.INSTALLERS`, or every call below fails."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws import engine_catalog, extensions

extensions.install_all()

REGIONS = ("us-east-1", "eu-central-1")
MYSQL_AVAILABLE = ["8.0.42", "8.0.43", "8.4.5", "8.4.6", "8.4.7", "8.4.8"]
MYSQL_DEPRECATED = ["8.0.36", "8.0.37", "8.0.39", "8.0.40", "8.0.41", "8.4.3", "8.4.4"]
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})

Client = Callable[..., Any]


@pytest.fixture(scope="module")
def clients() -> dict[tuple[str, str, str], Any]:
    """boto3 clients kept for the module: creating one costs more than the calls made."""
    return {}


@pytest.fixture(params=["server", "in-process"])
def client(request: pytest.FixtureRequest, clients: dict) -> Client:
    """`client(service, region)`: boto3 clients for the local AWS server, or for moto
    in-process (mock_aws)."""
    mode = request.param
    if mode == "server":
        endpoint = {"endpoint_url": request.getfixturevalue("local_aws").endpoint_url}
    else:
        request.getfixturevalue("aws")
        endpoint = {}

    def make(service: str, region: str = "us-east-1") -> Any:
        if (mode, service, region) not in clients:
            clients[mode, service, region] = boto3.client(
                service,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                aws_session_token="testing",
                config=NO_RETRIES,
                **endpoint,
            )
        return clients[mode, service, region]

    return make


def db_versions(client: Client, region: str = "us-east-1", **params: Any) -> list[str]:
    answer = client("rds", region).describe_db_engine_versions(**params)
    return [v["EngineVersion"] for v in answer["DBEngineVersions"]]


def cache_versions(
    client: Client, region: str = "us-east-1", **params: Any
) -> list[tuple[str, str]]:
    answer = client("elasticache", region).describe_cache_engine_versions(**params)
    return [(v["Engine"], v["EngineVersion"]) for v in answer["CacheEngineVersions"]]


# --- DescribeDBEngineVersions -------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_mysql_lists_the_available_versions(client, region):
    """GIVEN the region's catalog WHEN mysql's versions are asked for without IncludeAll
    THEN only the available ones come back, 8.4.8 among them, with the API's fields."""
    answer = client("rds", region).describe_db_engine_versions(Engine="mysql")
    versions = answer["DBEngineVersions"]
    assert [v["EngineVersion"] for v in versions] == MYSQL_AVAILABLE
    assert {v["Status"] for v in versions} == {"available"}
    assert "Marker" not in answer
    (latest,) = [v for v in versions if v["EngineVersion"] == "8.4.8"]
    assert latest == {
        "Engine": "mysql",
        "MajorEngineVersion": "8.4",
        "EngineVersion": "8.4.8",
        "DBParameterGroupFamily": "mysql8.4",
        "DBEngineDescription": "MySQL Community Edition",
        "DBEngineVersionDescription": "MySQL 8.4.8",
        "Status": "available",
    }


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("include_all", [False, True])
def test_mysql_8_0_35_is_not_offered(client, region, include_all):
    """The known failure: MySQL 8.0.35 is not offered (us-east-1, eu-central-1), not even
    as deprecated."""
    assert db_versions(client, region, Engine="mysql", EngineVersion="8.0.35") == []
    assert (
        db_versions(client, region, Engine="mysql", EngineVersion="8.0.35", IncludeAll=include_all)
        == []
    )
    assert "8.0.35" not in db_versions(client, region, Engine="mysql", IncludeAll=include_all)


@pytest.mark.parametrize("region", REGIONS)
def test_deprecated_versions_come_only_with_include_all(client, region):
    assert db_versions(client, region, Engine="mysql", EngineVersion="8.0.36") == []
    rds = client("rds", region)
    (found,) = rds.describe_db_engine_versions(
        Engine="mysql", EngineVersion="8.0.36", IncludeAll=True
    )["DBEngineVersions"]
    assert (found["Status"], found["DBParameterGroupFamily"]) == ("deprecated", "mysql8.0")
    everything = rds.describe_db_engine_versions(Engine="mysql", IncludeAll=True)
    statuses = {v["EngineVersion"]: v["Status"] for v in everything["DBEngineVersions"]}
    assert statuses == {
        **dict.fromkeys(MYSQL_DEPRECATED, "deprecated"),
        **dict.fromkeys(MYSQL_AVAILABLE, "available"),
    }


def test_request_parameters_and_filters_narrow_the_list(client):
    assert db_versions(client, EngineVersion="8.4") == ["8.4.5", "8.4.6", "8.4.7", "8.4.8"]
    assert db_versions(client, DBParameterGroupFamily="mysql8.0", IncludeAll=True) == [
        "8.0.36",
        "8.0.37",
        "8.0.39",
        "8.0.40",
        "8.0.41",
        "8.0.42",
        "8.0.43",
    ]
    deprecated = [{"Name": "status", "Values": ["deprecated"]}]
    assert db_versions(client, Filters=deprecated, IncludeAll=True) == MYSQL_DEPRECATED
    assert db_versions(client, Filters=deprecated) == []  # IncludeAll still needed
    pinned = [
        {"Name": "engine", "Values": ["mysql"]},
        {"Name": "engine-version", "Values": ["8.0.43", "8.4.8", "8.0.35"]},
    ]
    assert db_versions(client, Filters=pinned, ListSupportedCharacterSets=True) == [
        "8.0.43",
        "8.4.8",
    ]


def test_default_only_gives_the_default_of_the_engine_or_major(client):
    assert db_versions(client, Engine="mysql", DefaultOnly=True) == ["8.4.8"]
    assert db_versions(client, Engine="mysql", EngineVersion="8.0", DefaultOnly=True) == ["8.0.43"]
    assert cache_versions(client, Engine="redis", DefaultOnly=True) == [("redis", "7.1")]
    assert cache_versions(client, Engine="redis", EngineVersion="6", DefaultOnly=True) == [
        ("redis", "6.2")
    ]
    assert cache_versions(client, DefaultOnly=True) == [("redis", "7.1"), ("valkey", "8.0")]


def test_an_unknown_engine_gives_an_empty_list(client):
    assert db_versions(client, Engine="postgres", IncludeAll=True) == []
    majors = client("rds").describe_db_major_engine_versions(Engine="postgres")
    assert majors["DBMajorEngineVersions"] == []
    assert cache_versions(client, Engine="memcached") == []


def test_refuses_what_aws_refuses(client):
    rds = client("rds")
    for params in ({"MaxRecords": 5}, {"MaxRecords": 101}, {"Marker": "not-a-marker"}):
        with pytest.raises(ClientError) as refused:
            rds.describe_db_engine_versions(**params)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as refused:
        rds.describe_db_engine_versions(Filters=[{"Name": "engine-mode", "Values": ["x"]}])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as refused:
        client("elasticache").describe_cache_engine_versions(MaxRecords=19)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_a_region_not_listed_gets_the_default_catalog(client):
    assert db_versions(client, "sa-east-1", Engine="mysql") == MYSQL_AVAILABLE
    assert ("redis", "7.1") in cache_versions(client, "sa-east-1")


# --- paging (a larger catalog than the stand-in's, for one region) ------------------------------

PAGED_REGION = "ap-southeast-2"


@pytest.fixture
def long_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """45 records in each list for PAGED_REGION: enough for three pages of 20."""
    minors = range(1, 46)
    catalog = engine_catalog.RegionCatalog(
        db_engine_versions=tuple(
            {
                "Engine": "mysql",
                "MajorEngineVersion": "8.4",
                "EngineVersion": f"8.4.{minor}",
                "DBParameterGroupFamily": "mysql8.4",
                "Status": "deprecated" if minor < 6 else "available",
            }
            for minor in minors
        ),
        db_major_engine_versions=tuple(
            {"Engine": "mysql", "MajorEngineVersion": f"9.{minor}"} for minor in minors
        ),
        cache_engine_versions=tuple(
            {"Engine": "valkey", "EngineVersion": f"9.{minor}", "CacheParameterGroupFamily": "v9"}
            for minor in minors
        ),
    )
    monkeypatch.setitem(engine_catalog.CATALOGS, PAGED_REGION, catalog)


def walk(call: Callable[..., dict], result_key: str, **params: Any) -> list[list[Any]]:
    pages, marker = [], None
    while True:
        answer = call(MaxRecords=20, **params, **({"Marker": marker} if marker else {}))
        pages.append(answer[result_key])
        marker = answer.get("Marker")
        if not marker:
            return pages


@pytest.mark.usefixtures("long_catalog")
def test_marker_and_max_records_page_through_each_list(client):
    """GIVEN 45 records in each list WHEN asked 20 at a time THEN each Marker leads to the
    next page, the last page has none, and boto3's paginators see every record once."""
    rds, elasticache = client("rds", PAGED_REGION), client("elasticache", PAGED_REGION)
    available = walk(rds.describe_db_engine_versions, "DBEngineVersions")
    assert [len(page) for page in available] == [20, 20]  # 40 available, 5 deprecated
    everything = walk(rds.describe_db_engine_versions, "DBEngineVersions", IncludeAll=True)
    assert [v["EngineVersion"] for page in everything for v in page] == [
        f"8.4.{minor}" for minor in range(1, 46)
    ]
    majors = walk(rds.describe_db_major_engine_versions, "DBMajorEngineVersions")
    caches = walk(elasticache.describe_cache_engine_versions, "CacheEngineVersions")
    assert [len(page) for page in majors] == [len(page) for page in caches] == [20, 20, 5]
    paginated = [
        v["EngineVersion"]
        for page in elasticache.get_paginator("describe_cache_engine_versions").paginate(
            PaginationConfig={"PageSize": 20}
        )
        for v in page["CacheEngineVersions"]
    ]
    assert paginated == [f"9.{minor}" for minor in range(1, 46)]
    assert len(rds.describe_db_engine_versions(IncludeAll=True)["DBEngineVersions"]) == 45


# --- DescribeDBMajorEngineVersions --------------------------------------------------------------


def lifecycles(answer: dict) -> dict[str, tuple[datetime.date, datetime.date]]:
    (major,) = answer["DBMajorEngineVersions"]
    return {
        c["LifecycleSupportName"]: (
            c["LifecycleSupportStartDate"].date(),
            c["LifecycleSupportEndDate"].date(),
        )
        for c in major["SupportedEngineLifecycles"]
    }


@pytest.mark.parametrize("region", REGIONS)
def test_major_versions_give_the_support_lifecycles(client, region):
    rds = client("rds", region)
    mysql80 = rds.describe_db_major_engine_versions(Engine="mysql", MajorEngineVersion="8.0")
    assert mysql80["DBMajorEngineVersions"][0]["MajorEngineVersion"] == "8.0"
    date = datetime.date
    assert lifecycles(mysql80) == {
        "open-source-rds-standard-support": (date(2018, 10, 23), date(2026, 7, 31)),
        "open-source-rds-extended-support": (date(2026, 8, 1), date(2029, 7, 31)),
    }
    mysql84 = rds.describe_db_major_engine_versions(Engine="mysql", MajorEngineVersion="8.4")
    standard = lifecycles(mysql84)["open-source-rds-standard-support"]
    assert standard[1] == date(2029, 7, 31)
    majors = rds.describe_db_major_engine_versions()["DBMajorEngineVersions"]
    assert [(m["Engine"], m["MajorEngineVersion"]) for m in majors] == [
        ("mysql", "8.0"),
        ("mysql", "8.4"),
    ]


# --- DescribeCacheEngineVersions ----------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_cache_engine_versions(client, region):
    """GIVEN the region's catalog THEN Redis OSS 6.0-7.1 and Valkey 7.2 and 8.0 are offered,
    7.1 in the redis7 family, and 5.0.6 is not."""
    elasticache = client("elasticache", region)
    assert cache_versions(client, region) == [
        ("redis", "6.0"),
        ("redis", "6.2"),
        ("redis", "7.0"),
        ("redis", "7.1"),
        ("valkey", "7.2"),
        ("valkey", "8.0"),
    ]
    (redis71,) = elasticache.describe_cache_engine_versions(Engine="redis", EngineVersion="7.1")[
        "CacheEngineVersions"
    ]
    assert redis71["CacheParameterGroupFamily"] == "redis7"
    assert set(redis71) == {
        "Engine",
        "EngineVersion",
        "CacheParameterGroupFamily",
        "CacheEngineDescription",
        "CacheEngineVersionDescription",
    }
    assert cache_versions(client, region, Engine="redis", EngineVersion="5.0.6") == []
    assert cache_versions(client, region, CacheParameterGroupFamily="redis6.x") == [
        ("redis", "6.0"),
        ("redis", "6.2"),
    ]
    assert cache_versions(client, region, Engine="valkey") == [("valkey", "7.2"), ("valkey", "8.0")]
