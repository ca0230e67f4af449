"""What CloudFormation's resource schemas say about replacement, as shipped by cfn-lint:
which properties are create-only (changing one replaces the resource) and which resource
types hold data (replacing or removing them loses it)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

# Types the data-loss guard protects besides cfn-lint's stateful list: the KMS key that
# encrypts the data and the secrets that unlock it are as irreplaceable as the data.
EXTRA_STATEFUL = frozenset({"AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"})


@cache
def stateful_types() -> frozenset[str]:
    spec = resources.files("cfnlint.data.AdditionalSpecs").joinpath("StatefulResources.json")
    return frozenset(json.loads(spec.read_text())["ResourceTypes"]) | EXTRA_STATEFUL


def is_stateful(resource_type: str) -> bool:
    return resource_type in stateful_types()


@cache
def create_only_properties(region: str, resource_type: str) -> frozenset[str]:
    """Top-level property names whose change replaces the resource. Unknown types give
    an empty set (custom resources, or types newer than cfn-lint's data)."""
    # cfn-lint's schema manager costs ~0.8 s to import: only paid when a stack changed.
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return frozenset()
    paths = schema.get("createOnlyProperties") or ()
    return frozenset(p.split("/")[2] for p in paths if p.startswith("/properties/"))
