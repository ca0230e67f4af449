"""CloudFormation model for AWS::RDS::OptionGroup.

AWS behaviour: CloudFormation creates the option group (its name generated when
OptionGroupName is absent, Ref returning it), adds the OptionConfigurations, and a
DBInstance can name it in OptionGroupName. The PCI template uses one for the MariaDB
Audit Plugin that MySQL's `audit` log export needs.

moto 5.2.5 has no CloudFormation model for the type, so the resource is skipped and a
DBInstance naming it fails with OptionGroupNotFound; its RDS backend also refuses MySQL
8.4 option groups ("Cannot find major version 8.4"), a version RDS offers.

`install()` registers a model with moto's CloudFormation that creates the group in moto's
RDS backend directly, so DescribeOptionGroups shows it and a DBInstance can name it (its
OptionGroupName reaches CreateDBInstance through `cfn_create_fixes`, and
DescribeDBInstances lists the group in OptionGroupMemberships). moto's DescribeOptionGroups
without an OptionGroupName fails (KeyError); with one it works.

Differences that remain: a changed EngineName, MajorEngineVersion or OptionGroupName updates
the group in place instead of replacing it; a missing required property fails the API call
instead of the resource.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.rds.models import OptionGroup, rds_backends

from localaws import cfn_models


class OptionGroupResource(cfn_models.Resource):
    """AWS::RDS::OptionGroup over moto's OptionGroup (Ref: the group's name; no GetAtt)."""

    TYPE = "AWS::RDS::OptionGroup"
    NAME_PROPERTY = "OptionGroupName"

    def __init__(self, group: OptionGroup, account_id: str, region_name: str) -> None:
        self.group = group
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.group.name

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


# --- registration -------------------------------------------------------------------------------

RESOURCES: tuple[type[Any], ...] = (OptionGroupResource,)
_registration = cfn_models.Registration(__name__, RESOURCES)


def install() -> None:
    """Give moto's CloudFormation the option group model. Safe to call again; importing
    this module changes nothing in moto (`cfn_models.Registration`)."""
    _registration.install()


def registered_models() -> dict[str, type[CloudFormationModel]]:
    """CloudFormation type -> the model class moto uses for it (empty before install())."""
    return _registration.models()
