"""CloudFormation model for AWS::RDS::OptionGroup.

AWS behaviour: CloudFormation creates the option group (its name generated when
OptionGroupName is absent, Ref returning it), adds the OptionConfigurations, and a
DBInstance can name it in OptionGroupName. The PCI template uses one for the MariaDB
Audit Plugin that MySQL's `audit` log export needs.

moto 5.2.5 has no CloudFormation model for the type, so the resource is skipped and a
DBInstance naming it fails with OptionGroupNotFound; its RDS backend also refuses MySQL
8.4 option groups ("Cannot find major version 8.4"), a version RDS offers. This model
creates the group in moto's RDS backend directly, so DescribeOptionGroups shows it.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.rds.models import OptionGroup, rds_backends

_installed = False


class OptionGroupResource(CloudFormationModel):
    def __init__(self, group: OptionGroup, account_id: str, region_name: str) -> None:
        self.group = group
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.group.name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::OptionGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "OptionGroupName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> OptionGroupResource:
        props = cloudformation_json["Properties"]
        backend = rds_backends[account_id][region_name]
        group = OptionGroup(
            backend,
            option_group_name=props.get("OptionGroupName") or resource_name,
            engine_name=props["EngineName"],
            major_engine_version=str(props["MajorEngineVersion"]),
            option_group_description=props["OptionGroupDescription"],
            tags=props.get("Tags", []),
        )
        group.add_options(props.get("OptionConfigurations", []))
        backend.option_groups[group.name] = group
        return cls(group, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: OptionGroupResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> OptionGroupResource:
        props = cloudformation_json["Properties"]
        group = original_resource.group
        group.remove_options(list(group._options))
        group.add_options(props.get("OptionConfigurations", []))
        group.description = props["OptionGroupDescription"]
        group.tags = props.get("Tags", [])
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        rds_backends[account_id][region_name].option_groups.pop(resource_name.lower(), None)


def install() -> None:
    """The model registers itself by being defined; moto caches its model lists."""
    global _installed
    if _installed:
        return
    from moto.cloudformation import parsing

    for cached in (parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    _installed = True
