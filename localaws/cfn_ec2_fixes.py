"""VPC DNS settings and subnet route table associations made through CloudFormation.

AWS behaviour: `AWS::EC2::VPC` applies EnableDnsSupport (default true) and
EnableDnsHostnames (default false) at create; `AWS::EC2::SubnetRouteTableAssociation`
associates the subnet with the route table, which DescribeRouteTables then lists (and
filters by `association.subnet-id`).

moto 5.2.5 ignores both DNS properties at create (hostnames stay off), and records a
CloudFormation association in a side table only, so the route table shows no association
and the subnet keeps using the main route table. This module applies the DNS properties
and makes the association a real one (its id is the resource's physical id).
"""

from __future__ import annotations

from typing import Any

_installed = False


def _flag(value: Any, default: bool) -> bool:
    return default if value is None else str(value).lower() == "true"


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.subnets import SubnetRouteTableAssociation
    from moto.ec2.models.vpcs import VPC

    create_vpc = VPC.create_from_cloudformation_json.__func__

    def vpc_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        vpc = create_vpc(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json.get("Properties", {})
        vpc.enable_dns_support = _flag(props.get("EnableDnsSupport"), True)
        vpc.enable_dns_hostnames = _flag(props.get("EnableDnsHostnames"), False)
        return vpc

    class Association(SubnetRouteTableAssociation):
        """The association as the route table knows it."""

        def __init__(self, association_id: str, route_table_id: str, subnet_id: str) -> None:
            super().__init__(route_table_id, subnet_id)
            self.association_id = association_id

        @property
        def physical_resource_id(self) -> str:
            return self.association_id

    def association_create(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        association_id = backend.associate_route_table(
            route_table_id=props["RouteTableId"], subnet_id=props["SubnetId"]
        )
        return Association(association_id, props["RouteTableId"], props["SubnetId"])

    def association_delete(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = ec2_backends[account_id][region_name]
        for table in backend.route_tables.values():
            table._associations.pop(resource_name, None)

    VPC.create_from_cloudformation_json = classmethod(vpc_create)
    SubnetRouteTableAssociation.create_from_cloudformation_json = classmethod(association_create)
    SubnetRouteTableAssociation.delete_from_cloudformation_json = classmethod(association_delete)
    _installed = True
