"""infra/bootstrap.yml's Tracing parameter: every function traced (Active, the default) or
not (PassThrough), and, when not, POWERTOOLS_TRACE_DISABLED set so that the handlers never
build Powertools' Tracer nor import the X-Ray SDK (handlers/tracing.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "bootstrap.yml"
NO_VALUE = object()  # what !Ref AWS::NoValue leaves: the key is absent


@cache
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


def functions() -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def resolved(node: Any, tracing: str) -> Any:
    """`node` with the Tracing parameter set to `tracing`: Ref Tracing, the
    TracingPassThrough condition and Fn::If on it evaluated."""
    if isinstance(node, dict) and len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref" and arg == "Tracing":
            return tracing
        if key == "Ref" and arg == "AWS::NoValue":
            return NO_VALUE
        if key == "Fn::If":
            condition = template()["Conditions"][arg[0]]
            assert condition == {"Fn::Equals": [{"Ref": "Tracing"}, "PassThrough"]}
            return resolved(arg[1] if tracing == "PassThrough" else arg[2], tracing)
    return node


def test_tracing_parameter_is_active_by_default_or_pass_through():
    """GIVEN the template WHEN its Tracing parameter is read THEN it takes Active (the
    default) or PassThrough, Lambda's two tracing modes."""
    declared = template()["Parameters"]["Tracing"]
    assert (declared["Type"], declared["Default"], declared["AllowedValues"]) == (
        "String",
        "Active",
        ["Active", "PassThrough"],
    )


def test_every_handler_is_a_function_the_parameter_covers():
    """GIVEN the template WHEN its functions are listed THEN they are the eight handlers
    (so the checks below cover every one)."""
    handlers = sorted(p["Handler"] for p in functions().values())
    assert handlers == sorted(
        f"handlers.{name}.handler"
        for name in (
            "push",
            "preview",
            "stack_status",
            "drift",
            "schedule",
            "stack_worker",
            "webhook",
            "change",
        )
    )


@pytest.mark.parametrize("function", sorted(functions()))
@pytest.mark.parametrize(("tracing", "disabled"), [("Active", NO_VALUE), ("PassThrough", "true")])
def test_function_traces_as_the_parameter_says_and_powertools_agrees(function, tracing, disabled):
    """GIVEN Tracing set to Active or PassThrough WHEN a function's properties are
    resolved THEN its TracingConfig.Mode is that value, and POWERTOOLS_TRACE_DISABLED is
    "true" for PassThrough and absent for Active (Powertools then traces in Lambda)."""
    properties = functions()[function]
    variables = properties["Environment"]["Variables"]
    assert resolved(properties["TracingConfig"]["Mode"], tracing) == tracing
    assert resolved(variables["POWERTOOLS_TRACE_DISABLED"], tracing) == disabled
