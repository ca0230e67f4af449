"""moto's YAML short-form reader, corrected.

AWS reads `!GetAtt Database.Endpoint.Address` as resource `Database`, attribute
`Endpoint.Address` (split at the first dot), and `!GetAtt [Database, Endpoint.Address]`
as the same. moto 5.2.5 splits at every dot and returns raw YAML nodes for the list form,
so a template that reads an RDS endpoint fails on moto while it deploys on AWS. This
module installs a constructor that reads the short forms as CloudFormation does.
"""

from __future__ import annotations

from typing import Any

import yaml


def tag_constructor(loader: Any, tag: str, node: yaml.Node) -> dict[str, Any]:
    key = "Ref" if tag == "!Ref" else f"Fn::{tag[1:]}"
    if isinstance(node, yaml.SequenceNode):
        value: Any = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        value = loader.construct_scalar(node)
        if tag == "!GetAtt":
            value = value.split(".", 1)
    return {key: value}


def install() -> None:
    """Replace moto's constructor wherever moto bound it by name."""
    import moto.cloudformation.models as models
    import moto.cloudformation.responses as responses
    import moto.cloudformation.utils as utils

    for module in (models, responses, utils):
        module.yaml_tag_constructor = tag_constructor
    yaml.add_multi_constructor("", tag_constructor)
