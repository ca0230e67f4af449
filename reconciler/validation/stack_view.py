"""A template as one stack deploys it: rendered with the stack file's parameter values
(so a rule sees `EngineVersion: 8.0.35`, not `!Ref DBEngineVersion`; the branch of an
`Fn::If` the parameters select; no resource whose Condition is false), with the line of
every resource and property kept for the finding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from reconciler.desired import StackSpec
from reconciler.render import Pseudo, Rendered, evaluate, parameter_values, render
from reconciler.template import Template
from reconciler.validation.context import Context
from reconciler.yamlfile import key_line, line_of


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    line: int
    node: Any  # the decoded resource, as written
    props: dict[str, Any]  # Properties as rendered for the stack (see reconciler.render)

    def line_of(self, prop: str) -> int:
        props = self.node.get("Properties")
        return key_line(props, prop, self.line) if isinstance(props, dict) else self.line

    def attribute(self, name: str) -> Any:
        return self.node.get(name)


@dataclass(frozen=True)
class StackView:
    spec: StackSpec
    template: Template
    parameters: dict[str, Any]

    @property
    def path(self) -> str:
        return self.template.path

    @property
    def pseudo(self) -> Pseudo:
        return Pseudo(region=self.spec.region, stack_name=self.spec.stack_name)

    @cached_property
    def rendered(self) -> Rendered:
        return render(self.template.data, self.parameters, self.pseudo)

    def value(self, node: Any) -> Any:
        """Any part of the template (an attribute such as DeletionPolicy) as rendered."""
        return evaluate(node, self.template.data, self.parameters, self.pseudo)

    def resources(self, *types: str) -> Iterator[Resource]:
        """The resources the stack will have: those whose Condition holds (or cannot be
        known offline)."""
        for logical_id, node in self.template.resources.items():
            rendered = self.rendered.resources.get(str(logical_id))
            if rendered is None or (types and rendered.type not in types):
                continue
            line = line_of(logical_id, 1)
            yield Resource(str(logical_id), rendered.type, line, node, rendered.properties)

    def by_id(self, logical_id: str) -> Resource | None:
        return next((r for r in self.resources() if r.logical_id == logical_id), None)


def stack_views(ctx: Context) -> Iterator[StackView]:
    """Each stack with its template (stacks whose template did not load are skipped:
    loading reported them)."""
    for spec in ctx.state.stacks:
        template = ctx.state.templates.get(spec.template_file_path)
        if template is None:
            continue
        if spec.path not in ctx.views:
            values = parameter_values(template.data, spec.parameters)
            ctx.views[spec.path] = StackView(spec, template, values)
        yield ctx.views[spec.path]
