"""RDS001, RDS002: the RDS engine version is offered in the stack's region, and still in
standard support. The first PCI stack asked for MySQL 8.0.35 in us-east-1 and rolled back
after a long wait; this catches it before anything is written."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error, warning
from reconciler.validation.stack_view import Resource, StackView, stack_views

LIST_COMMAND = (
    "aws rds describe-db-engine-versions --engine {engine} --region {region} "
    "--query 'DBEngineVersions[].EngineVersion'"
)


def where(view: StackView, resource: Resource, prop: str) -> tuple[str, int, str]:
    """The place to fix a value: the stack file when a parameter it sets feeds the
    property, else the template."""
    raw = (resource.node.get("Properties") or {}).get(prop)
    if isinstance(raw, dict) and raw.get("Ref") in view.spec.parameters:
        name = raw["Ref"]
        return view.spec.path, view.spec.line("parameters"), f"parameter {name} in {view.spec.path}"
    return view.path, resource.line_of(prop), f"{prop} in {view.path}"


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        region = view.spec.region
        for resource in view.resources("AWS::RDS::DBInstance"):
            engine, version = resource.props.get("Engine"), resource.props.get("EngineVersion")
            if not isinstance(engine, str) or not isinstance(version, str):
                continue  # no version (AWS picks its default) or not resolvable offline
            path, line, setting = where(view, resource, "EngineVersion")
            found = ctx.catalog.db_engine_version(region, engine, version)
            listing = LIST_COMMAND.format(engine=engine, region=region)
            if found is None or found.status == "deprecated":
                state = "is not offered" if found is None else "is deprecated (no new instances)"
                msg = (
                    f"{resource.logical_id}: {engine} {version} {state} in {region}: set "
                    f"{setting} to a version the region offers (`{listing}`)"
                )
                yield error(path, line, "RDS001", msg, view.spec.stack_name)
                continue
            major = ".".join(version.split(".")[:2])
            for cycle in ctx.catalog.db_lifecycles(region, engine, major):
                standard = cycle.name.endswith("standard-support")
                if standard and cycle.end and cycle.end < ctx.today:
                    msg = (
                        f"{resource.logical_id}: {engine} {major} left RDS standard support on "
                        f"{cycle.end}: it runs in RDS Extended Support, billed per vCPU-hour on "
                        f"top of the instance; move {setting} to a supported major version"
                    )
                    yield warning(path, line, "RDS002", msg, view.spec.stack_name)


RULE = Rule(("RDS001", "RDS002"), "RDS engine versions are offered and supported", check)
