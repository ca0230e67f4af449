"""Stand-in for CloudFormation stack refactoring (CreateStackRefactor, DescribeStackRefactor,
ExecuteStackRefactor, ListStackRefactorActions, ListStackRefactors).

AWS behaviour (user guide "Refactor stacks",
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-refactoring.html; API
reference API_CreateStackRefactor.html and its siblings; the AWS CLI examples
create-/describe-/execute-stack-refactor.rst and list-stack-refactor-actions.rst): a refactor
takes up to 5 stacks (StackName with the template each stack should end with) and optional
ResourceMappings (source stack and logical id -> destination stack and logical id).
CreateStackRefactor returns a StackRefactorId and validates: the refactor ends
`Status` CREATE_COMPLETE with `ExecutionStatus` AVAILABLE, or CREATE_FAILED / UNAVAILABLE
with a `StatusReason` prefixed by the stack's ARN (aws-cli issue #9297 shows one:
"<stack arn>:  1 validation error detected: Value '<template>' at 'templateBody' failed to
satisfy constraint: Member must have length less than or equal to 51200"). The user guide's
considerations, each checked here:

- "Stack refactoring is limited to reorganizing existing resources. You cannot create or
  delete resources, modify resource configurations, or change or add new parameters,
  conditions, or mappings during refactoring."
- "You can't refactor the same resource into multiple stacks."
- "You can't refactor resources that refer to pseudo parameters whose values differ between
  the source and destination stacks, such as AWS::StackName." (Classmethod's test found
  AWS::StackName, AWS::StackId and AWS::NotificationARNs to be the ones that differ.)
- "CloudFormation doesn't support empty stacks."
- "Stack refactor doesn't support stacks that have stack policies attached, regardless of
  what the policies allow or deny."
- "Resource limitations": the types in `UNSUPPORTED_TYPES` cannot be refactored.
- Step 6 of "How stack refactoring works": CloudFormation "checks cross-stack dependencies";
  here an export another stack imports must keep its name and value.

A resource moves by a mapping (`Detection` MANUAL) or is found by CloudFormation (AUTO): a
logical id that leaves one stack's template and appears, unchanged, in another's.
ListStackRefactorActions lists one MOVE/RESOURCE action per moved resource, with its
physical id, the mapping with stack ARNs as StackName, and the three `aws:cloudformation:*`
system tags set to the destination's values (the user guide's example), and a CREATE/STACK
action per stack the refactor creates (EnableStackCreation; the launch blog's example,
https://aws.amazon.com/blogs/devops/introducing-aws-cloudformation-stack-refactoring/).
ExecuteStackRefactor moves the resources; DescribeStackRefactor then shows `ExecutionStatus`
EXECUTE_COMPLETE while `Status` stays CREATE_COMPLETE (the blog). AWS documents neither the
stack statuses during execution nor OBSOLETE; observed by others (aws-cdk-cli issue #1804,
amplify-cli's refactor code): the stacks go UPDATE_IN_PROGRESS, with IMPORT_COMPLETE
resource events, then UPDATE_COMPLETE (CREATE_* for a stack the refactor creates).

moto 5.2.5 has none of the five calls. `install()` adds them, in-process and on the server.
Execution gives the same model objects (so the same RDS instance, KMS key, log group: nothing
is created or deleted in any backend) their new logical ids and stacks; each stack takes its
new template, outputs and exports, with UPDATE_IN_PROGRESS, IMPORT_COMPLETE per resource
moved in, and UPDATE_COMPLETE events (no ClientRequestToken), and EC2 resources, the only ones
moto tags with the system tags, get the destination's. The properties other extensions
remember on a resource (`localaws.cfn_updates`, `localaws.drift`) live on the object and move
with it; the drift results a stack keeps per logical id are forgotten for what moved.

Choices where AWS documents nothing (the wording of every reason is localaws's own):
- "Configuration unchanged" compares each resource's Properties with parameters, pseudo
  parameters, mappings, conditions, Fn::Sub/Join/If/FindInMap/ImportValue and references to
  resources resolved (a Ref gives the live physical id, a GetAtt the live attribute), so a
  literal equal to what a parameter gave, or a Ref to a renamed resource, is unchanged.
  Other resource attributes (DependsOn, DeletionPolicy, Metadata) are not compared.
- Only the types of moved resources are checked against UNSUPPORTED_TYPES (`Custom::*`
  counts as AWS::CloudFormation::CustomResource).
- A stack must be in a stable state that allows an update (CREATE_COMPLETE,
  UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE, IMPORT_COMPLETE, IMPORT_ROLLBACK_COMPLETE).
- ExecuteStackRefactor is refused (ValidationError) unless `ExecutionStatus` is AVAILABLE;
  a refactor whose stacks changed (a stack event since it was created) becomes OBSOLETE.
- A stack the refactor creates may have no Parameters, Conditions or Mappings.
- The 51,200-byte limit applies to TemplateBody (the issue above hit it with a TemplateURL;
  that looks like a bug AWS fixed, so a TemplateURL template is not limited).
- A failure during execution puts every stack and resource back as it was, and ends
  `ExecutionStatus` ROLLBACK_COMPLETE with the reason; the stacks end UPDATE_ROLLBACK_COMPLETE.

Latency (opt-in, as `localaws.change_set_latency`): LOCALAWS_STACK_REFACTOR_SECONDS (seconds,
read at each CreateStackRefactor and ExecuteStackRefactor; unset or 0: none) keeps a new
refactor `Status` CREATE_IN_PROGRESS (UNAVAILABLE, no actions) and an executed one
`ExecutionStatus` EXECUTE_IN_PROGRESS for that long. The work is done at once; only what
DescribeStackRefactor and ListStackRefactors show is held back, so the stacks are already
UPDATE_COMPLETE while the refactor shows EXECUTE_IN_PROGRESS.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation import models, parsing, responses
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.utils import generate_stack_id
from moto.core.responses import ActionResult, EmptyResult

from localaws import change_set_latency, drift

logger = logging.getLogger(__name__)

SECONDS = "LOCALAWS_STACK_REFACTOR_SECONDS"
MAX_STACKS = 5  # "a maximum of 5 stacks (using the AWS CLI)"
MAX_TEMPLATE_BODY_BYTES = 51_200
NO_CHANGES = "No configuration changes detected."
SYSTEM_TAGS = (
    "aws:cloudformation:stack-name",
    "aws:cloudformation:logical-id",
    "aws:cloudformation:stack-id",
)
# Pseudo parameters whose value differs from one stack to another.
STACK_PSEUDO_PARAMETERS = ("AWS::StackName", "AWS::StackId", "AWS::NotificationARNs")
# Stable stack statuses that allow an update.
REFACTORABLE_STATUSES = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)
# Types that carry no aws:cloudformation:* tags (IAM refuses the aws: prefix): the user
# guide's example moves an IAM role with empty TagResources and UntagResources.
UNTAGGED_TYPE_PREFIXES = ("AWS::IAM::",)

# "The following resources aren't supported for stack refactoring", verbatim (including
# AWS's "InferenceComponen"), from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-refactoring.html#stack-refactoring-resource-limitations
UNSUPPORTED_TYPES = frozenset(
    [
        "AWS::ACMPCA::Certificate",
        "AWS::ACMPCA::CertificateAuthority",
        "AWS::ACMPCA::CertificateAuthorityActivation",
        "AWS::ApiGateway::BasePathMapping",
        "AWS::ApiGateway::Method",
        "AWS::AppConfig::ConfigurationProfile",
        "AWS::AppConfig::Deployment",
        "AWS::AppConfig::Environment",
        "AWS::AppConfig::Extension",
        "AWS::AppConfig::ExtensionAssociation",
        "AWS::AppStream::DirectoryConfig",
        "AWS::AppStream::StackFleetAssociation",
        "AWS::AppStream::StackUserAssociation",
        "AWS::AppStream::User",
        "AWS::BackupGateway::Hypervisor",
        "AWS::CertificateManager::Certificate",
        "AWS::CloudFormation::CustomResource",
        "AWS::CloudFormation::Macro",
        "AWS::CloudFormation::WaitCondition",
        "AWS::CloudFormation::WaitConditionHandle",
        "AWS::CodeDeploy::DeploymentGroup",
        "AWS::CodePipeline::CustomActionType",
        "AWS::Cognito::UserPoolRiskConfigurationAttachment",
        "AWS::Cognito::UserPoolUICustomizationAttachment",
        "AWS::Cognito::UserPoolUserToGroupAttachment",
        "AWS::Config::ConfigRule",
        "AWS::Config::ConfigurationRecorder",
        "AWS::Config::DeliveryChannel",
        "AWS::DataBrew::Dataset",
        "AWS::DataBrew::Job",
        "AWS::DataBrew::Project",
        "AWS::DataBrew::Recipe",
        "AWS::DataBrew::Ruleset",
        "AWS::DataBrew::Schedule",
        "AWS::DataZone::DataSource",
        "AWS::DataZone::Environment",
        "AWS::DataZone::EnvironmentBlueprintConfiguration",
        "AWS::DataZone::EnvironmentProfile",
        "AWS::DataZone::Project",
        "AWS::DataZone::SubscriptionTarget",
        "AWS::DirectoryService::MicrosoftAD",
        "AWS::DynamoDB::GlobalTable",
        "AWS::EC2::CustomerGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::LaunchTemplate",
        "AWS::EC2::NetworkInterfacePermission",
        "AWS::EC2::PlacementGroup",
        "AWS::EC2::SpotFleet",
        "AWS::EC2::VPCDHCPOptionsAssociation",
        "AWS::EC2::VolumeAttachment",
        "AWS::EMR::Cluster",
        "AWS::EMR::InstanceFleetConfig",
        "AWS::EMR::InstanceGroupConfig",
        "AWS::ElastiCache::CacheCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::SecurityGroup",
        "AWS::ElastiCache::SecurityGroupIngress",
        "AWS::ElasticBeanstalk::ConfigurationTemplate",
        "AWS::ElasticLoadBalancing::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::ListenerCertificate",
        "AWS::Elasticsearch::Domain",
        "AWS::FIS::ExperimentTemplate",
        "AWS::Glue::Schema",
        "AWS::GuardDuty::IPSet",
        "AWS::GuardDuty::PublishingDestination",
        "AWS::GuardDuty::ThreatIntelSet",
        "AWS::IAM::AccessKey",
        "AWS::IAM::UserToGroupAddition",
        "AWS::ImageBuilder::Component",
        "AWS::IoT::PolicyPrincipalAttachment",
        "AWS::IoT::ThingPrincipalAttachment",
        "AWS::IoTFleetWise::Campaign",
        "AWS::IoTWireless::WirelessDeviceImportTask",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Lex::BotVersion",
        "AWS::M2::Application",
        "AWS::MSK::Configuration",
        "AWS::MSK::ServerlessCluster",
        "AWS::Maester::DocumentType",
        "AWS::MediaTailor::Channel",
        "AWS::NeptuneGraph::PrivateGraphEndpoint",
        "AWS::Omics::AnnotationStore",
        "AWS::Omics::ReferenceStore",
        "AWS::Omics::SequenceStore",
        "AWS::OpenSearchServerless::Collection",
        "AWS::OpsWorks::App",
        "AWS::OpsWorks::ElasticLoadBalancerAttachment",
        "AWS::OpsWorks::Instance",
        "AWS::OpsWorks::Layer",
        "AWS::OpsWorks::Stack",
        "AWS::OpsWorks::UserProfile",
        "AWS::OpsWorks::Volume",
        "AWS::PCAConnectorAD::Connector",
        "AWS::PCAConnectorAD::DirectoryRegistration",
        "AWS::PCAConnectorAD::Template",
        "AWS::PCAConnectorAD::TemplateGroupAccessControlEntry",
        "AWS::Panorama::PackageVersion",
        "AWS::QuickSight::Theme",
        "AWS::RDS::DBSecurityGroup",
        "AWS::RDS::DBSecurityGroupIngress",
        "AWS::Redshift::ClusterSecurityGroup",
        "AWS::Redshift::ClusterSecurityGroupIngress",
        "AWS::RefactorSpaces::Environment",
        "AWS::RefactorSpaces::Route",
        "AWS::RefactorSpaces::Service",
        "AWS::RoboMaker::RobotApplication",
        "AWS::RoboMaker::SimulationApplication",
        "AWS::Route53::RecordSet",
        "AWS::Route53::RecordSetGroup",
        "AWS::SDB::Domain",
        "AWS::SageMaker::InferenceComponen",
        "AWS::ServiceCatalog::PortfolioPrincipalAssociation",
        "AWS::ServiceCatalog::PortfolioProductAssociation",
        "AWS::ServiceCatalog::PortfolioShare",
        "AWS::ServiceCatalog::TagOptionAssociation",
        "AWS::ServiceCatalogAppRegistry::AttributeGroupAssociation",
        "AWS::ServiceCatalogAppRegistry::ResourceAssociation",
        "AWS::StepFunctions::StateMachineVersion",
        "AWS::Synthetics::Canary",
        "AWS::VoiceID::Domain",
        "AWS::WAF::ByteMatchSet",
        "AWS::WAF::IPSet",
        "AWS::WAF::Rule",
        "AWS::WAF::SizeConstraintSet",
        "AWS::WAF::SqlInjectionMatchSet",
        "AWS::WAF::WebACL",
        "AWS::WAF::XssMatchSet",
        "AWS::WAFv2::IPSet",
        "AWS::WAFv2::RegexPatternSet",
        "AWS::WAFv2::RuleGroup",
        "AWS::WAFv2::WebACL",
        "AWS::WorkSpaces::Workspace",
    ]
)

_INSTALLED_MARK = "_localaws_stack_refactor"
_REFACTORS = "_localaws_stack_refactors"  # on a CloudFormationBackend: id -> StackRefactor
_MAX_RESULTS = 100

_now = time.monotonic  # tests move the clock


class StackRefactorNotFoundException(CloudFormationError):
    code = "StackRefactorNotFoundException"  # HTTP 404, sender fault, from botocore's model


class Refused(Exception):
    """A validation failure: the refactor ends CREATE_FAILED with this reason."""


# --- the refactor -----------------------------------------------------------------------------


@dataclass
class Definition:
    """One stack of the refactor and the template it should end with."""

    name: str
    stack_id: str
    body: str
    template: dict[str, Any]
    stack: Any = None  # moto's Stack; None for a stack the refactor creates


@dataclass(frozen=True)
class Move:
    source: Definition
    source_id: str
    destination: Definition
    destination_id: str
    detection: str  # AUTO or MANUAL


@dataclass
class StackRefactor:
    refactor_id: str
    description: str | None
    definitions: list[Definition]
    status: str = "CREATE_COMPLETE"
    status_reason: str | None = None
    execution_status: str = "AVAILABLE"
    execution_status_reason: str | None = None
    moves: list[Move] = field(default_factory=list)
    # Stack id -> id of its newest event when the refactor was created.
    versions: dict[str, str | None] = field(default_factory=dict)
    created_until: float = 0.0  # shown CREATE_IN_PROGRESS until then
    executed_until: float = 0.0  # shown EXECUTE_IN_PROGRESS until then

    def shown_status(self) -> tuple[str, str | None, str, str | None]:
        """(Status, StatusReason, ExecutionStatus, ExecutionStatusReason) as described now."""
        now = _now()
        if now < self.created_until:
            return "CREATE_IN_PROGRESS", None, "UNAVAILABLE", None
        if now < self.executed_until:
            return self.status, self.status_reason, "EXECUTE_IN_PROGRESS", None
        return (
            self.status,
            self.status_reason,
            self.execution_status,
            self.execution_status_reason,
        )

    def summary(self) -> dict[str, Any]:
        status, reason, execution_status, execution_reason = self.shown_status()
        return _without_none(
            {
                "StackRefactorId": self.refactor_id,
                "Description": self.description,
                "Status": status,
                "StatusReason": reason,
                "ExecutionStatus": execution_status,
                "ExecutionStatusReason": execution_reason,
            }
        )

    def described(self) -> dict[str, Any]:
        return {**self.summary(), "StackIds": [d.stack_id for d in self.definitions]}


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def latency_seconds(env: Mapping[str, str] = os.environ) -> float:
    """The configured refactor time; a value that is not a number >= 0 is said and ignored."""
    return change_set_latency.seconds_setting(SECONDS, env)


def _refactors(backend: Any) -> dict[str, StackRefactor]:
    found = getattr(backend, _REFACTORS, None)
    if found is None:
        found = {}
        setattr(backend, _REFACTORS, found)
    return found


def _refactor(backend: Any, refactor_id: str) -> StackRefactor:
    refactor = _refactors(backend).get(refactor_id)
    if refactor is None:
        raise StackRefactorNotFoundException(
            f"The specified stack refactor can't be found: {refactor_id}"
        )
    return refactor


# --- resolving templates without creating anything --------------------------------------------


class _Unmodelled:
    """A deployed resource moto made no object for: it stands for itself wherever it moves."""

    def __init__(self, stack_id: str, logical_id: str) -> None:
        self.physical_resource_id = f"\u27e6{stack_id}/{logical_id}\u27e7"

    def get_cfn_attribute(self, attribute: str) -> str:
        return f"{self.physical_resource_id}.{attribute}"


class _Resolver(Mapping[str, Any]):
    """What moto's clean_json reads names from: the parameters, pseudo parameters, mappings
    and conditions of `loaded`, and each resource as the object it is (never created)."""

    def __init__(self, loaded: Any, resources: Mapping[str, Any], exports: dict[str, Any]):
        self._loaded = loaded
        self._resources = dict(resources)
        self.lazy_condition_map = loaded.lazy_condition_map
        self.cross_stack_resources = exports
        self.stack_id = loaded.stack_id

    def __getitem__(self, key: str) -> Any:
        if key in self._resources:
            return self._resources[key]
        if key in self._loaded._resource_json_map:
            raise KeyError(key)  # a resource not in this view: never create it
        return self._loaded._parsed_resources[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resources)

    def __len__(self) -> int:
        return len(self._resources)

    def resolve(self, value: Any) -> Any:
        return parsing.clean_json(value, self)

    def active(self, resource_json: Mapping[str, Any]) -> bool:
        condition = resource_json.get("Condition")
        return not condition or bool(self.lazy_condition_map[condition])


def _deployed_objects(stack: Any) -> dict[str, Any]:
    """Logical id -> the object of each resource the stack has (a false Condition: none)."""
    resource_map = stack.resource_map
    found: dict[str, Any] = {}
    for logical_id, resource_json in resource_map._resource_json_map.items():
        resource = resource_map._parsed_resources.get(logical_id)
        if resource is None and resource_json.get("Condition"):
            continue
        found[logical_id] = resource or _Unmodelled(stack.stack_id, logical_id)
    return found


def _loaded_map(definition: Definition, backend: Any) -> Any:
    """The definition's template with the stack's parameters loaded (nothing created)."""
    stack = definition.stack
    parameters = stack.resource_map.input_parameters if stack is not None else {}
    loaded = parsing.ResourceMap(
        definition.stack_id,
        definition.name,
        {key: _as_given(value) for key, value in (parameters or {}).items()},
        {},
        region_name=backend.region_name,
        account_id=backend.account_id,
        template=definition.template,
        cross_stack_resources=backend.exports,
    )
    loaded.load_mapping()
    loaded.load_parameters()
    loaded.load_conditions()
    return loaded


def _as_given(value: Any) -> str:
    """A parameter value as a caller gives it (moto keeps some resolved)."""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _canonical(value: Any) -> Any:
    """A resolved value compared as CloudFormation passes it on: scalars as strings."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return value  # a model object a Ref gave: compared by identity


# --- validation -------------------------------------------------------------------------------


def _in_stack(definition: Definition, message: str) -> Refused:
    """A reason prefixed by the stack's ARN, as AWS prefixes it."""
    return Refused(f"{definition.stack_id}: {message}")


def _check_stack(definition: Definition) -> None:
    stack = definition.stack
    if stack is None:
        return
    if stack.status not in REFACTORABLE_STATUSES:
        raise _in_stack(
            definition,
            f"Stack {stack.name} is in {stack.status} state and can not be refactored.",
        )
    if stack.policy:
        raise _in_stack(
            definition,
            "Stack refactor doesn't support stacks that have stack policies attached, "
            "regardless of what the policies allow or deny.",
        )


def _check_template(definition: Definition) -> None:
    resources = definition.template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise _in_stack(
            definition,
            "CloudFormation doesn't support empty stacks. If refactoring would leave a stack "
            "with no resources, you must first add at least one resource to that stack before "
            "you run create-stack-refactor.",
        )
    deployed = definition.stack.template_dict if definition.stack is not None else {}
    for section in ("Parameters", "Conditions", "Mappings"):
        before, after = deployed.get(section) or {}, definition.template.get(section) or {}
        changed = sorted(name for name in {*before, *after} if before.get(name) != after.get(name))
        if changed:
            raise _in_stack(
                definition,
                f"{section} [{', '.join(changed)}] are added, changed or removed: stack "
                "refactoring cannot change or add parameters, conditions, or mappings. "
                "Update the stack first, then refactor it.",
            )


def _find_moves(definitions: list[Definition], mappings: list[dict[str, Any]]) -> list[Move]:
    """The manual moves, then the ones found: a logical id that left one template and is in
    exactly one other stack's new template, where that stack does not have it already."""
    by_name = {d.name: d for d in definitions}
    moves = [
        Move(
            by_name[m["Source"]["StackName"]],
            m["Source"]["LogicalResourceId"],
            by_name[m["Destination"]["StackName"]],
            m["Destination"]["LogicalResourceId"],
            "MANUAL",
        )
        for m in mappings
    ]
    seen: dict[tuple[str, str], Move] = {}
    for move in moves:
        key = (move.source.stack_id, move.source_id)
        if key in seen:
            raise _in_stack(
                move.source,
                f"Resource [{move.source_id}] is mapped to several destinations: you can't "
                "refactor the same resource into multiple stacks.",
            )
        seen[key] = move
    destinations = {(m.destination.stack_id, m.destination_id) for m in moves}
    for source in definitions:
        if source.stack is None:
            continue
        for logical_id in _deployed_objects(source.stack):
            if (source.stack_id, logical_id) in seen or logical_id in _resources(source):
                continue
            candidates = [
                d
                for d in definitions
                if d is not source
                and logical_id in _resources(d)
                and not _deploys(d, logical_id)
                and (d.stack_id, logical_id) not in destinations
            ]
            if len(candidates) > 1:
                names = ", ".join(d.name for d in candidates)
                raise _in_stack(
                    source,
                    f"Resource [{logical_id}] is in the templates of several stacks ({names}): "
                    "you can't refactor the same resource into multiple stacks.",
                )
            if candidates:
                moves.append(Move(source, logical_id, candidates[0], logical_id, "AUTO"))
    return moves


def _resources(definition: Definition) -> dict[str, Any]:
    return definition.template.get("Resources") or {}


def _deploys(definition: Definition, logical_id: str) -> bool:
    return definition.stack is not None and logical_id in _deployed_objects(definition.stack)


def _check_moves(definitions: list[Definition], moves: list[Move]) -> None:
    """No resource created or deleted, and each moved one keeps its type."""
    sources = {(m.source.stack_id, m.source_id): m for m in moves}
    destinations: dict[tuple[str, str], Move] = {}
    for move in moves:
        if move.source.stack is None or move.source_id not in _deployed_objects(move.source.stack):
            raise _in_stack(
                move.source, f"Resource [{move.source_id}] of the resource mapping does not exist."
            )
        key = (move.destination.stack_id, move.destination_id)
        if key in destinations or move.destination_id not in _resources(move.destination):
            raise _in_stack(
                move.destination,
                f"Resource [{move.destination_id}] is not in the stack's template, or is the "
                "destination of several resources.",
            )
        destinations[key] = move
    for definition in definitions:
        deployed = _deployed_objects(definition.stack) if definition.stack is not None else {}
        for logical_id in deployed:
            moved = (definition.stack_id, logical_id) in sources
            # Another resource moved onto its logical id takes its place: it is gone.
            kept = (
                logical_id in _resources(definition)
                and (definition.stack_id, logical_id) not in destinations
            )
            if not moved and not kept:
                raise _in_stack(
                    definition,
                    f"Resource [{logical_id}] is neither in the stack's new template nor moved "
                    "to another stack: stack refactoring cannot delete resources.",
                )
        for logical_id in _resources(definition):
            key = (definition.stack_id, logical_id)
            if key in destinations:
                continue
            if logical_id not in deployed or key in sources:
                raise _in_stack(
                    definition,
                    f"Resource [{logical_id}] is not a resource of the stack nor the "
                    "destination of a resource mapping: stack refactoring cannot create "
                    "resources.",
                )
    for move in moves:
        before = move.source.stack.resource_map._resource_json_map[move.source_id]["Type"]
        after = _resources(move.destination)[move.destination_id].get("Type")
        if before != after:
            raise _in_stack(
                move.destination,
                f"Resource [{move.source_id}] of type {before} cannot become "
                f"[{move.destination_id}] of type {after}: stack refactoring cannot change a "
                "resource's type.",
            )


def _check_supported(moves: list[Move]) -> None:
    for move in moves:
        resource_type = _resources(move.destination)[move.destination_id]["Type"]
        listed = (
            "AWS::CloudFormation::CustomResource"
            if resource_type.startswith("Custom::")
            else resource_type
        )
        if listed in UNSUPPORTED_TYPES:
            raise _in_stack(
                move.source,
                f"Stack Refactor does not support {resource_type}: resource "
                f"[{move.source_id}] cannot be refactored.",
            )


def _pseudo_parameters(value: Any) -> set[str]:
    """The stack-dependent pseudo parameters a template value refers to."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and item in STACK_PSEUDO_PARAMETERS:
                found.add(item)
            found |= _pseudo_parameters(item)
    elif isinstance(value, list):
        for item in value:
            found |= _pseudo_parameters(item)
    elif isinstance(value, str):
        found |= {name for name in STACK_PSEUDO_PARAMETERS if "${" + name + "}" in value}
    return found


def _check_pseudo_parameters(moves: list[Move]) -> None:
    for move in moves:
        if move.source.stack_id == move.destination.stack_id:
            continue
        before = move.source.stack.resource_map._resource_json_map[move.source_id]
        after = _resources(move.destination)[move.destination_id]
        used = sorted(_pseudo_parameters(before) | _pseudo_parameters(after))
        if used:
            raise _in_stack(
                move.source,
                f"Resource [{move.source_id}] refers to {', '.join(used)}, whose value differs "
                f"between the source and destination stacks: it cannot be moved to stack "
                f"{move.destination.name}.",
            )


@dataclass
class _Views:
    """Each stack seen through its deployed template and through its new one."""

    old: dict[str, _Resolver]  # stack id -> resolver of the deployed template
    new: dict[str, _Resolver]  # stack id -> resolver of the new template
    exports: dict[str, Any]  # export name -> Export, as they will be after the refactor


def _views(backend: Any, definitions: list[Definition], moves: list[Move]) -> _Views:
    refactored = {d.stack_id for d in definitions}
    exports: dict[str, Any] = {
        name: export
        for name, export in backend.exports.items()
        if export.exporting_stack_id not in refactored
    }
    moved_in = {(m.destination.stack_id, m.destination_id): m for m in moves}
    old: dict[str, _Resolver] = {}
    new: dict[str, _Resolver] = {}
    for d in definitions:
        if d.stack is not None:
            old[d.stack_id] = _Resolver(
                d.stack.resource_map, _deployed_objects(d.stack), backend.exports
            )
    for d in definitions:
        objects: dict[str, Any] = {}
        for logical_id in _resources(d):
            move = moved_in.get((d.stack_id, logical_id))
            if move is not None:
                objects[logical_id] = _deployed_objects(move.source.stack)[move.source_id]
            else:
                objects[logical_id] = _deployed_objects(d.stack)[logical_id]
        try:
            new[d.stack_id] = _Resolver(_loaded_map(d, backend), objects, exports)
        except Exception as error:
            raise _in_stack(d, f"Template error: {_message(error)}") from error
    return _Views(old, new, exports)


def _message(error: Exception) -> str:
    return str(getattr(error, "message", None) or error)


def _outputs_exports(definition: Definition, resolver: _Resolver) -> dict[str, Any]:
    """Export name -> Export of the template's outputs (conditions applied)."""
    found: dict[str, Any] = {}
    for output in (definition.template.get("Outputs") or {}).values():
        if not output.get("Export") or not resolver.active(output):
            continue
        name = resolver.resolve(output["Export"].get("Name"))
        found[str(name)] = parsing.Export(
            definition.stack_id, str(name), resolver.resolve(output.get("Value"))
        )
    return found


def _add_new_exports(definitions: list[Definition], views: _Views) -> None:
    """The exports after the refactor, which the new templates may import: unique."""
    for d in definitions:
        try:
            new_exports = _outputs_exports(d, views.new[d.stack_id])
        except Exception as error:
            raise _in_stack(d, f"Template error: {_message(error)}") from error
        for name, export in new_exports.items():
            if name in views.exports:
                raise _in_stack(d, f"Export names must be unique across a given region: {name}")
            views.exports[name] = export


def _check_exports_in_use(backend: Any, definitions: list[Definition], views: _Views) -> None:
    """Every export another stack imports is still exported with the same value."""
    imported = _imports(backend, definitions, views)
    for d in definitions:
        if d.stack is None:
            continue
        for export in d.stack.exports:
            importers = sorted(imported.get(export.name, set()) - {d.stack.name})
            kept = views.exports.get(export.name)
            if importers and (kept is None or _canonical(kept.value) != _canonical(export.value)):
                raise _in_stack(
                    d,
                    f"Export {export.name} is imported by stack(s) {', '.join(importers)}: it "
                    "must stay exported with the same value.",
                )


def _imports(backend: Any, definitions: list[Definition], views: _Views) -> dict[str, set[str]]:
    """Export name -> names of the stacks that import it, as they will be: the stacks of the
    refactor with their new templates, every other stack with its own."""
    templates = {d.stack_id: (d.name, d.template, views.new[d.stack_id]) for d in definitions}
    for stack in backend.stacks.values():
        if stack.stack_id not in templates and stack.status != "DELETE_COMPLETE":
            resolver = _Resolver(stack.resource_map, _deployed_objects(stack), backend.exports)
            templates[stack.stack_id] = (stack.name, stack.template_dict, resolver)
    found: dict[str, set[str]] = {}
    for name, template, resolver in templates.values():
        for value in _import_values(template.get("Resources") or {}):
            try:
                export_name = str(resolver.resolve(value))
            except Exception:  # an import name that does not resolve here: not a user
                continue
            found.setdefault(export_name, set()).add(name)
    return found


def _import_values(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Fn::ImportValue":
                yield item
            else:
                yield from _import_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _import_values(item)


def _check_configuration(definitions: list[Definition], moves: list[Move], views: _Views) -> None:
    """Every resource of every new template has the resolved properties it was deployed
    with."""
    moved_in = {(m.destination.stack_id, m.destination_id): m for m in moves}
    for d in definitions:
        resolver = views.new[d.stack_id]
        for logical_id, resource_json in _resources(d).items():
            move = moved_in.get((d.stack_id, logical_id))
            source, source_id = (move.source, move.source_id) if move else (d, logical_id)
            source_json = source.stack.resource_map._resource_json_map[source_id]
            try:
                before = views.old[source.stack_id].resolve(source_json.get("Properties") or {})
                after = resolver.resolve(resource_json.get("Properties") or {})
            except Exception as error:
                raise _in_stack(d, f"Template error: {_message(error)}") from error
            before, after = _canonical(before), _canonical(after)
            changed = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
            if changed:
                raise _in_stack(
                    d,
                    f"Resource [{logical_id}] changes its configuration ({', '.join(changed)}): "
                    "stack refactoring cannot modify resource configurations. Update the stack "
                    "first, then refactor it.",
                )


def validate(
    backend: Any, definitions: list[Definition], mappings: list[dict[str, Any]]
) -> list[Move]:
    """The refactor's moves; raises Refused with the reason when it cannot be done."""
    for definition in definitions:
        _check_stack(definition)
    for definition in definitions:
        _check_template(definition)
    moves = _find_moves(definitions, mappings)
    _check_moves(definitions, moves)
    _check_supported(moves)
    _check_pseudo_parameters(moves)
    views = _views(backend, definitions, moves)
    _add_new_exports(definitions, views)
    _check_configuration(definitions, moves, views)
    _check_exports_in_use(backend, definitions, views)
    return moves


# --- CreateStackRefactor ----------------------------------------------------------------------


def _definition(backend: Any, name: str, body: str, enable_creation: bool) -> Definition:
    """The stack named and its new template; raises Refused for what AWS reports in the
    refactor's StatusReason."""
    stack = next((s for s in backend.stacks.values() if name in (s.name, s.stack_id)), None)
    if stack is None and not enable_creation:
        raise Refused(f"{name}: Stack with id {name} does not exist")
    stack_id = (
        stack.stack_id
        if stack
        else generate_stack_id(name, backend.region_name, backend.account_id)
    )
    definition = Definition(stack.name if stack else name, stack_id, body, {}, stack)
    if body is not None and len(body.encode()) > MAX_TEMPLATE_BODY_BYTES:
        raise _in_stack(
            definition,
            f" 1 validation error detected: Value '{body}' at 'templateBody' failed to "
            "satisfy constraint: Member must have length less than or equal to "
            f"{MAX_TEMPLATE_BODY_BYTES}",
        )
    try:
        template = models.Stack.parse_template(body)
    except Exception as error:
        raise _in_stack(definition, f"Template format error: {error}") from error
    if not isinstance(template, dict):
        raise _in_stack(definition, "Template format error: not a JSON or YAML object")
    definition.template = template
    return definition


def _check_request(stack_definitions: list[dict[str, Any]], mappings: list[dict[str, Any]]) -> None:
    if not stack_definitions:
        raise ValidationError(message="StackDefinitions must name at least one stack")
    if len(stack_definitions) > MAX_STACKS:
        raise ValidationError(
            message=f"A stack refactor can include at most {MAX_STACKS} stacks; "
            f"{len(stack_definitions)} were given"
        )
    names = [d.get("StackName") for d in stack_definitions]
    if None in names or len(set(names)) != len(names):
        raise ValidationError(message="Each stack definition must name a different stack")
    for mapping in mappings:
        for side in ("Source", "Destination"):
            name = (mapping.get(side) or {}).get("StackName")
            if name not in names:
                raise ValidationError(
                    message=f"The resource mapping's {side} stack {name} is not one of the "
                    "stack definitions"
                )


def create_stack_refactor(
    backend: Any,
    description: str | None,
    stack_definitions: list[dict[str, Any]],
    mappings: list[dict[str, Any]],
    enable_creation: bool,
) -> str:
    """CreateStackRefactor: validate now, record the result; returns the refactor's id.
    Each stack definition carries its template text as TemplateBody."""
    _check_request(stack_definitions, mappings)
    refactor = StackRefactor(str(uuid.uuid4()), description, [])
    try:
        refactor.definitions = [
            _definition(backend, d["StackName"], d["TemplateBody"], enable_creation)
            for d in stack_definitions
        ]
        refactor.moves = validate(backend, refactor.definitions, mappings)
    except Refused as refused:
        refactor.status, refactor.status_reason = "CREATE_FAILED", str(refused)
        refactor.execution_status = "UNAVAILABLE"
    refactor.versions = {
        d.stack_id: _version(d.stack) for d in refactor.definitions if d.stack is not None
    }
    refactor.created_until = _now() + latency_seconds()
    _refactors(backend)[refactor.refactor_id] = refactor
    return refactor.refactor_id


def _version(stack: Any) -> str | None:
    return str(stack.events[-1].event_id) if stack.events else None


# --- ListStackRefactorActions -----------------------------------------------------------------


def _location(stack_id: str, logical_id: str) -> dict[str, str]:
    return {"StackName": stack_id, "LogicalResourceId": logical_id}


def _system_tags(stack_name: str, logical_id: str, stack_id: str) -> dict[str, str]:
    """The aws:cloudformation:* tags of a resource in a stack."""
    return {
        "aws:cloudformation:stack-name": stack_name,
        "aws:cloudformation:logical-id": logical_id,
        "aws:cloudformation:stack-id": stack_id,
    }


def _move_action(move: Move) -> dict[str, Any]:
    resource = _deployed_objects(move.source.stack)[move.source_id]
    resource_type = move.source.stack.resource_map._resource_json_map[move.source_id]["Type"]
    physical_id = getattr(resource, "physical_resource_id", None)
    physical_id = None if isinstance(resource, _Unmodelled) or not physical_id else str(physical_id)
    tagged = not resource_type.startswith(UNTAGGED_TYPE_PREFIXES)
    destination = move.destination
    tags = _system_tags(destination.name, move.destination_id, destination.stack_id)
    reason = (
        "The resource mapping names this resource."
        if move.detection == "MANUAL"
        else "The logical ID left the source stack's template and is in the destination's."
    )
    return _without_none(
        {
            "Action": "MOVE",
            "Entity": "RESOURCE",
            "PhysicalResourceId": physical_id,
            "Description": NO_CHANGES,
            "Detection": move.detection,
            "DetectionReason": reason,
            "TagResources": [{"Key": k, "Value": v} for k, v in tags.items()] if tagged else [],
            "UntagResources": list(SYSTEM_TAGS) if tagged else [],
            "ResourceMapping": {
                "Source": _location(move.source.stack_id, move.source_id),
                "Destination": _location(destination.stack_id, move.destination_id),
            },
        }
    )


def _create_action(definition: Definition) -> dict[str, Any]:
    return {
        "Action": "CREATE",
        "Entity": "STACK",
        "Description": f"Stack {definition.stack_id} created.",
        "Detection": "MANUAL",
        "DetectionReason": "EnableStackCreation is set and the stack does not exist.",
        "TagResources": [],
        "UntagResources": [],
    }


def actions(refactor: StackRefactor) -> list[dict[str, Any]]:
    """The refactor's actions; none while it is being created or when it failed."""
    if refactor.shown_status()[0] != "CREATE_COMPLETE":
        return []
    created = [_create_action(d) for d in refactor.definitions if d.stack is None]
    return created + [_move_action(m) for m in refactor.moves]


def _page(
    items: list[Any], next_token: str | None, max_results: Any
) -> tuple[list[Any], str | None]:
    limit = min(int(max_results or _MAX_RESULTS), _MAX_RESULTS)
    try:
        start = int(next_token) if next_token else 0
    except ValueError:
        raise ValidationError(message="Invalid NextToken") from None
    more = start + limit < len(items)
    return items[start : start + limit], (str(start + limit) if more else None)


# --- ExecuteStackRefactor ---------------------------------------------------------------------


def _check_executable(backend: Any, refactor: StackRefactor) -> None:
    if refactor.execution_status == "AVAILABLE":
        changed = [
            stack_id
            for stack_id, version in refactor.versions.items()
            if _version(backend.get_stack(stack_id)) != version
            or backend.get_stack(stack_id).status not in REFACTORABLE_STATUSES
        ]
        taken = [
            d.name
            for d in refactor.definitions
            if d.stack is None and any(s.name == d.name for s in backend.stacks.values())
        ]
        changed += [f"{name} (created since)" for name in taken]
        if changed:
            refactor.execution_status = "OBSOLETE"
            refactor.execution_status_reason = (
                f"Stack(s) {', '.join(changed)} changed after the stack refactor was created."
            )
    status = refactor.shown_status()[2]
    if status != "AVAILABLE":
        raise ValidationError(
            message=f"StackRefactor [{refactor.refactor_id}] cannot be executed in its current "
            f"execution status of [{status}]"
        )


@dataclass(frozen=True)
class _Saved:
    """What executing a refactor changes on one existing stack."""

    template: Any
    template_dict: dict[str, Any]
    map_template: dict[str, Any]
    resource_json_map: dict[str, Any]
    parsed: dict[str, Any]
    output_map: Any
    status: str

    @classmethod
    def take(cls, stack: Any) -> _Saved:
        resource_map = stack.resource_map
        return cls(
            stack.template,
            stack.template_dict,
            resource_map._template,
            resource_map._resource_json_map,
            dict(resource_map._parsed_resources),
            stack.output_map,
            stack.status,
        )

    def restore(self, stack: Any) -> None:
        resource_map = stack.resource_map
        stack.template, stack.template_dict = self.template, self.template_dict
        resource_map._template = self.map_template
        resource_map._resource_json_map = self.resource_json_map
        resource_map._parsed_resources.clear()
        resource_map._parsed_resources.update(self.parsed)
        stack.output_map = self.output_map


@dataclass(frozen=True)
class _Before:
    """Everything an execution changes, to put back when it fails."""

    stacks: dict[str, _Saved]
    logical_ids: dict[int, str | None]  # id(object) -> its logical id
    exports: dict[str, Any]

    @classmethod
    def take(cls, backend: Any, refactor: StackRefactor, objects: Mapping[Any, Any]) -> _Before:
        return cls(
            {d.stack_id: _Saved.take(d.stack) for d in refactor.definitions if d.stack},
            {id(obj): getattr(obj, "logical_resource_id", None) for obj in objects.values()},
            dict(backend.exports),
        )

    def restore(self, backend: Any, refactor: StackRefactor, objects: Mapping[Any, Any]) -> None:
        for d in refactor.definitions:
            if d.stack is None:
                backend.stacks.pop(d.stack_id, None)
            else:
                self.stacks[d.stack_id].restore(d.stack)
        for obj in objects.values():
            if self.logical_ids[id(obj)] is not None:
                obj.logical_resource_id = self.logical_ids[id(obj)]
        backend.exports.clear()
        backend.exports.update(self.exports)


def execute_stack_refactor(backend: Any, refactor_id: str) -> None:
    """ExecuteStackRefactor: move the resources, or put everything back on a failure."""
    refactor = _refactor(backend, refactor_id)
    _check_executable(backend, refactor)
    existing = [d.stack for d in refactor.definitions if d.stack is not None]
    objects = {
        (m.source.stack_id, m.source_id): _deployed_objects(m.source.stack)[m.source_id]
        for m in refactor.moves
    }
    before = _Before.take(backend, refactor, objects)
    refactor.executed_until = _now() + latency_seconds()
    for stack in existing:
        stack._add_stack_event("UPDATE_IN_PROGRESS")
        stack.status = "UPDATE_IN_PROGRESS"
    try:
        stacks = _move(backend, refactor, objects)
    except Exception as error:
        logger.warning("localaws: stack refactor %s rolled back: %s", refactor_id, error)
        before.restore(backend, refactor, objects)
        for stack in existing:
            _rolled_back(stack, str(error))
        refactor.execution_status = "ROLLBACK_COMPLETE"
        refactor.execution_status_reason = f"Stack refactor execution failed: {_message(error)}"
        return
    for d in refactor.definitions:
        stack = stacks[d.stack_id]
        _moved_in_events(stack, d, refactor.moves, objects)
        done = "UPDATE_COMPLETE" if d.stack is not None else "CREATE_COMPLETE"
        stack._add_stack_event(done)
        stack.status = done
    refactor.execution_status = "EXECUTE_COMPLETE"


def _rolled_back(stack: Any, reason: str) -> None:
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


def _move(
    backend: Any, refactor: StackRefactor, objects: dict[tuple[str, str], Any]
) -> dict[str, Any]:
    """Give every stack its new template and resources; returns stack id -> stack (the
    created ones included)."""
    created: dict[str, Any] = {}
    for d in refactor.definitions:
        if d.stack is None:
            created[d.stack_id] = _new_stack(backend, d)
    stacks = {d.stack_id: d.stack or created[d.stack_id] for d in refactor.definitions}
    moved_out = {(m.source.stack_id, m.source_id) for m in refactor.moves}
    for d in refactor.definitions:
        stack = stacks[d.stack_id]
        parsed = stack.resource_map._parsed_resources
        for stack_id, logical_id in moved_out:
            if stack_id == d.stack_id:
                parsed.pop(logical_id, None)
        drift.forget_resource_drifts(
            stack, [m.source_id for m in refactor.moves if m.source.stack_id == d.stack_id]
        )
    for move in refactor.moves:
        stack = stacks[move.destination.stack_id]
        obj = objects[(move.source.stack_id, move.source_id)]
        if not isinstance(obj, _Unmodelled):
            stack.resource_map._parsed_resources[move.destination_id] = obj
            obj.logical_resource_id = move.destination_id
            _retag(backend, obj, stack, move.destination_id)
        drift.forget_resource_drifts(stack, [move.destination_id])
    for d in refactor.definitions:
        stack = stacks[d.stack_id]
        stack.template = d.body
        stack._parse_template()
        stack.resource_map._template = stack.template_dict
        stack.resource_map._resource_json_map = stack.template_dict["Resources"]
        stack.output_map = stack._create_output_map()
        for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == d.stack_id]:
            del backend.exports[name]
    for d in refactor.definitions:
        for export in stacks[d.stack_id].exports:
            backend.exports[export.name] = export
    return stacks


def _new_stack(backend: Any, definition: Definition) -> Any:
    """A stack the refactor creates, with no resources yet."""
    stack = models.Stack(
        stack_id=definition.stack_id,
        name=definition.name,
        template=definition.body,
        parameters={},
        account_id=backend.account_id,
        region_name=backend.region_name,
        cross_stack_resources=backend.exports,
    )
    backend.stacks[stack.stack_id] = stack
    stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "CREATE_IN_PROGRESS"
    return stack


def _retag(backend: Any, resource: Any, stack: Any, logical_id: str) -> None:
    """EC2 resources, the only ones moto gives the system tags, get the destination's."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.core import TaggedEC2Resource

    if not isinstance(resource, TaggedEC2Resource):
        return
    tags = _system_tags(stack.name, logical_id, stack.stack_id)
    ec2_backends[backend.account_id][backend.region_name].create_tags(
        [resource.physical_resource_id], tags
    )


def _moved_in_events(
    stack: Any, definition: Definition, moves: list[Move], objects: dict[tuple[str, str], Any]
) -> None:
    """IMPORT_COMPLETE for each resource the stack received."""
    for move in moves:
        if move.destination.stack_id != definition.stack_id:
            continue
        obj = objects[(move.source.stack_id, move.source_id)]
        stack.events.append(
            models.Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=move.destination_id,
                physical_resource_id=str(getattr(obj, "physical_resource_id", "") or ""),
                resource_type=_resources(move.destination)[move.destination_id]["Type"],
                resource_status="IMPORT_COMPLETE",
                resource_status_reason=None,
                resource_properties=None,
            )
        )


# --- install ----------------------------------------------------------------------------------


def _template_body(response: Any, definition: Mapping[str, Any]) -> str:
    body = definition.get("TemplateBody")
    if body is None and definition.get("TemplateURL"):
        try:
            body = response._get_stack_from_s3_url(definition["TemplateURL"])
        except Exception as error:
            raise ValidationError(
                message=f"TemplateURL {definition['TemplateURL']} cannot be read: {error}"
            ) from error
    if body is None:
        raise ValidationError(
            message=f"Either TemplateBody or TemplateURL must be given for stack "
            f"{definition.get('StackName')}"
        )
    return body


def _patch_responses() -> None:
    response_class = responses.CloudFormationResponse

    def create_stack_refactor_action(self: Any) -> ActionResult:
        definitions = [
            {"StackName": d.get("StackName"), "TemplateBody": None, **d}
            for d in self._get_param("StackDefinitions") or []
        ]
        mappings = self._get_param("ResourceMappings") or []
        _check_request(definitions, mappings)
        for d in definitions:
            d["TemplateBody"] = _template_body(self, d)
        refactor_id = create_stack_refactor(
            self.cloudformation_backend,
            self._get_param("Description"),
            definitions,
            mappings,
            bool(self._get_bool_param("EnableStackCreation", False)),
        )
        return ActionResult({"StackRefactorId": refactor_id})

    def describe_stack_refactor_action(self: Any) -> ActionResult:
        refactor = _refactor(self.cloudformation_backend, self._get_param("StackRefactorId"))
        return ActionResult(refactor.described())

    def execute_stack_refactor_action(self: Any) -> ActionResult:
        execute_stack_refactor(self.cloudformation_backend, self._get_param("StackRefactorId"))
        return EmptyResult()

    def list_stack_refactor_actions_action(self: Any) -> ActionResult:
        refactor = _refactor(self.cloudformation_backend, self._get_param("StackRefactorId"))
        page, token = _page(
            actions(refactor), self._get_param("NextToken"), self._get_param("MaxResults")
        )
        return ActionResult({"StackRefactorActions": page, "NextToken": token})

    def list_stack_refactors_action(self: Any) -> ActionResult:
        wanted = self._get_param("ExecutionStatusFilter") or []
        summaries = [r.summary() for r in _refactors(self.cloudformation_backend).values()]
        if wanted:
            summaries = [s for s in summaries if s["ExecutionStatus"] in wanted]
        page, token = _page(summaries, self._get_param("NextToken"), self._get_param("MaxResults"))
        return ActionResult({"StackRefactorSummaries": page, "NextToken": token})

    # moto dispatches an action to the response method named after it.
    response_class.create_stack_refactor = create_stack_refactor_action
    response_class.describe_stack_refactor = describe_stack_refactor_action
    response_class.execute_stack_refactor = execute_stack_refactor_action
    response_class.list_stack_refactor_actions = list_stack_refactor_actions_action
    response_class.list_stack_refactors = list_stack_refactors_action


def install() -> None:
    """Give moto's CloudFormation stack refactoring. Safe to call again."""
    if getattr(responses.CloudFormationResponse, _INSTALLED_MARK, False):
        return
    drift.install()
    _patch_responses()
    setattr(responses.CloudFormationResponse, _INSTALLED_MARK, True)
