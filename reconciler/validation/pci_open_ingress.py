"""PCI010: nothing on the internet reaches a data port (PCI DSS 1.3; the AWS Config rules
vpc-default-security-group-closed and restricted-common-ports). Ingress from 0.0.0.0/0
or ::/0 to a database or cache port, or to every port, is an error; to any other port a
warning, since a public load balancer may mean it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from reconciler.findings import Finding, Severity
from reconciler.validation.context import Context
from reconciler.validation.pci_common import as_int, finding, is_intrinsic, raw_property
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import Resource, StackView, stack_views
from reconciler.yamlfile import key_line, line_of

RULE_ID = "PCI010"
DATA_PORTS = {
    3306: "MySQL",
    5432: "PostgreSQL",
    6379: "Redis",
    11211: "Memcached",
    1433: "SQL Server",
    1521: "Oracle",
    27017: "MongoDB",
}
ALL_PROTOCOLS = ("-1", "all")
PORTED_PROTOCOLS = ("tcp", "udp", "6", "17")
FIX = "allow only the application's security group (SourceSecurityGroupId) or a private CIDR"


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for group in view.resources("AWS::EC2::SecurityGroup"):
            for raw, rule in _rules(view, group):
                found = _ingress(view, group, raw, rule)
                if found:
                    yield found
        for ingress in view.resources("AWS::EC2::SecurityGroupIngress"):
            found = _ingress(view, ingress, ingress.node.get("Properties"), ingress.props)
            if found:
                yield found


def _rules(view: StackView, group: Resource) -> Iterator[tuple[Any, Any]]:
    """Each ingress rule the stack gets, with the node it is written in: rendered item by
    item, so an item Fn::If removes does not shift the lines of those after it; when
    Fn::If chooses the whole list, each rule is found at that Fn::If."""
    written = raw_property(group, "SecurityGroupIngress")
    if isinstance(written, list):
        for raw in written:
            yield raw, view.value(raw)
        return
    rules = group.props.get("SecurityGroupIngress")
    for rule in rules if isinstance(rules, list) else []:
        yield written, rule


def _ingress(view: StackView, resource: Resource, raw: Any, rule: Any) -> Finding | None:
    if not isinstance(rule, dict) or is_intrinsic(rule):
        return None
    source = _anywhere(rule)
    protocol = rule.get("IpProtocol")
    if source is None or protocol is None or is_intrinsic(protocol):
        return None
    protocol = str(protocol).lower()
    key = "CidrIp" if rule.get("CidrIp") == source else "CidrIpv6"
    line = line_of(raw, resource.line)  # a rule written inside Fn::If: the Fn::If's line
    line = key_line(raw, key, line) if isinstance(raw, dict) else line
    if protocol in ALL_PROTOCOLS:
        msg = f"ingress from {source} on every protocol and port: {FIX}"
        return finding(view, resource, None, RULE_ID, msg, line=line)
    if protocol not in PORTED_PROTOCOLS:
        msg = f"ingress from {source} on protocol {protocol}: restrict the source"
        return finding(view, resource, None, RULE_ID, msg, Severity.WARNING, line=line)
    ports = _ports(rule)
    if ports is None:
        return None  # not known offline
    low, high = ports
    span = f"port {low}" if low == high else f"ports {low}-{high}"
    hit = [f"{name} on {port}" for port, name in sorted(DATA_PORTS.items()) if low <= port <= high]
    if hit:
        msg = f"ingress from {source} to {protocol} {span} reaches {', '.join(hit)}: {FIX}"
        return finding(view, resource, None, RULE_ID, msg, line=line)
    msg = (
        f"ingress from {source} to {protocol} {span}: anyone on the internet can connect; "
        "restrict the source unless this port is meant to be public"
    )
    return finding(view, resource, None, RULE_ID, msg, Severity.WARNING, line=line)


def _anywhere(rule: dict) -> str | None:
    """The source CIDR when it is the whole IPv4 or IPv6 internet."""
    for key in ("CidrIp", "CidrIpv6"):
        cidr = rule.get(key)
        if isinstance(cidr, str):
            try:
                if ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0:
                    return cidr
            except ValueError:
                continue
    return None


def _ports(rule: dict) -> tuple[int, int] | None:
    """The port range, all ports when absent or -1; None when not known offline."""
    values = []
    for key, default in (("FromPort", 0), ("ToPort", 65535)):
        if key not in rule:
            values.append(default)
            continue
        port = as_int(rule[key])
        if port is None:
            return None
        values.append(default if port == -1 else port)
    return values[0], values[1]


RULE = Rule((RULE_ID,), "no ingress from the internet to data ports or to every port", check)
