"""ListChangeSets lists the named stack's change sets only (localaws.cfn_list_change_sets),
as AWS does; moto listed every stack's."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

TEMPLATE = """\
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Name: !Sub "/listed/${AWS::StackName}", Type: String, Value: x}
"""


def _change_set(cfn: Any, stack: str) -> tuple[str, str]:
    answer = cfn.create_change_set(
        StackName=stack,
        ChangeSetName=f"cs-{uuid.uuid4().hex[:8]}",
        TemplateBody=TEMPLATE,
        ChangeSetType="CREATE",
    )
    return answer["Id"], answer["StackId"]


def test_a_stacks_change_sets_are_listed_without_another_stacks(
    local_aws_client: Callable[[str], Any],
) -> None:
    cfn = local_aws_client("cloudformation")
    mine, other = f"listed-{uuid.uuid4().hex[:8]}", f"listed-{uuid.uuid4().hex[:8]}"
    made, stack_id = _change_set(cfn, mine)
    _change_set(cfn, other)

    by_name = cfn.list_change_sets(StackName=mine)["Summaries"]
    by_id = cfn.list_change_sets(StackName=stack_id)["Summaries"]

    assert [s["ChangeSetId"] for s in by_name] == [made]
    assert [s["ChangeSetId"] for s in by_id] == [made]
    assert {s["StackName"] for s in by_name} == {mine}
