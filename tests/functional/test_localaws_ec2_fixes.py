"""VPC DNS settings and route table associations made through CloudFormation reach
moto's EC2 backend (`localaws.cfn_ec2_fixes`)."""

from __future__ import annotations

import json

from localaws import extensions
from tests.functional.localaws_helpers import StackUnderTest

extensions.install_all()


def deploy(client, vpc_props: dict) -> dict[str, str]:
    template = {
        "Resources": {
            "Vpc": {
                "Type": "AWS::EC2::VPC",
                "Properties": {"CidrBlock": "10.9.0.0/16", **vpc_props},
            },
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.1.0/24"},
            },
            "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "Association": {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Table"}},
            },
        },
        "Outputs": {
            name: {"Value": {"Ref": name}} for name in ("Vpc", "Subnet", "Table", "Association")
        },
    }
    stack = StackUnderTest(client, "net")
    stack.create(json.dumps(template))
    return stack.outputs()


def dns(client, vpc_id: str) -> tuple[bool, bool]:
    ec2 = client("ec2")
    support = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
    hostnames = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
    return support["EnableDnsSupport"]["Value"], hostnames["EnableDnsHostnames"]["Value"]


def test_vpc_dns_hostnames_enabled_by_the_template(local_aws_client):
    out = deploy(local_aws_client, {"EnableDnsHostnames": True, "EnableDnsSupport": True})
    assert dns(local_aws_client, out["Vpc"]) == (True, True)


def test_vpc_dns_defaults_as_on_aws(local_aws_client):
    out = deploy(local_aws_client, {})
    assert dns(local_aws_client, out["Vpc"]) == (True, False)


def test_subnet_association_is_listed_by_the_route_table(local_aws_client):
    """GIVEN a SubnetRouteTableAssociation WHEN deployed THEN the route table lists the
    subnet, the association id is its physical id, and the subnet filter finds it."""
    out = deploy(local_aws_client, {})
    tables = local_aws_client("ec2").describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [out["Subnet"]]}]
    )["RouteTables"]
    assert [t["RouteTableId"] for t in tables] == [out["Table"]]
    (association,) = [a for a in tables[0]["Associations"] if a.get("SubnetId") == out["Subnet"]]
    assert association["RouteTableAssociationId"] == out["Association"]
