"""EC001, EC002: the ElastiCache engine version is offered in the region and new enough
for the features the template turns on."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.engine_versions import where
from reconciler.validation.rule import Rule, error
from reconciler.validation.stack_view import stack_views

# Minimum Redis OSS versions (ElastiCache user guide). Valkey has them all.
FEATURES = {
    "TransitEncryptionEnabled": (3, 2, 6),
    "AtRestEncryptionEnabled": (3, 2, 6),
    "AuthToken": (3, 2, 6),
    "TransitEncryptionMode": (7, 0, 5),
}


def _tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        region = view.spec.region
        for resource in view.resources("AWS::ElastiCache::ReplicationGroup"):
            engine = resource.props.get("Engine", "redis")
            version = resource.props.get("EngineVersion")
            if not isinstance(version, str) or not isinstance(engine, str):
                continue
            path, line, setting = where(view, resource, "EngineVersion")
            offered = ctx.catalog.cache_engine_versions(region, engine)
            if version not in offered:
                msg = (
                    f"{resource.logical_id}: {engine} {version} is not offered in {region}: set "
                    f"{setting} to one of {', '.join(offered) or 'none listed'}"
                )
                yield error(path, line, "EC001", msg, view.spec.stack_name)
                continue
            if engine != "redis":
                continue
            for feature, minimum in FEATURES.items():
                used = resource.props.get(feature) not in (None, False, "false")
                if used and _tuple(version) < minimum:
                    need = ".".join(map(str, minimum))
                    msg = (
                        f"{resource.logical_id}: {feature} needs Redis OSS {need} or newer, "
                        f"not {version}: raise {setting}"
                    )
                    yield error(path, line, "EC002", msg, view.spec.stack_name)


RULE = Rule(("EC001", "EC002"), "ElastiCache engine versions are offered and sufficient", check)
