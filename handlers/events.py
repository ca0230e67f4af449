"""Event models, validated by pydantic-core (pydantic's own validation engine) from
schemas written here. Unknown fields are ignored, as AWS adds fields to its events over
time.

Why not pydantic's BaseModel: pydantic and its model classes cost about 40 ms of every
cold start, pydantic-core about 10 (docs/benchmarks.md, section 4). The schemas are the
ones pydantic builds for the equivalent BaseModel classes (the same fields, order,
aliases, types, defaults and validators), so an event is accepted or rejected, and a
rejection worded, as pydantic would. The EventBridge envelope is declared field for
field as Powertools' parser declares it (EventBridgeModel). Each validator is built on
its model's first validation, not at import, so a handler pays only for the models it
reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic_core import SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from reconciler.identity import STACK_ARN_WITHOUT_ID, StackRef

if TYPE_CHECKING:
    from datetime import datetime

R = TypeVar("R", bound="Record")


class RejectedEvent(Exception):
    """An event a handler cannot act on: not an object, fields missing or of the wrong
    type, another kind of event. Its message is the reason answered and logged."""


def parse_as(event: Any, model: type[R], what: str) -> R:
    """`event` as `model`, or RejectedEvent saying why not, in one line."""
    if not isinstance(event, dict):
        kind = "null" if event is None else type(event).__name__
        raise RejectedEvent(f"not {what}: the event is {kind}, not a JSON object")
    if not isinstance(event.get("id", ""), str):
        raise RejectedEvent(f"not {what}: id: must be a string")
    try:
        return model.model_validate(event)
    except ValidationError as err:
        raise RejectedEvent(f"not {what}: {_summary(err)}") from None


def _summary(err: ValidationError) -> str:
    errors = err.errors(include_input=False, include_url=False)
    said = [
        f"{'.'.join(str(part) for part in e['loc']) or 'event'}: {e['msg']}" for e in errors[:3]
    ]
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(said) + more


class Record:
    """A validated value: its fields are attributes. pydantic-core makes the instances
    (a model schema sets `__dict__` and its three bookkeeping attributes); a subclass
    says its schema in `schema()`, and `model_validate` builds its validator once."""

    __slots__ = (
        "__dict__",
        "__pydantic_extra__",
        "__pydantic_fields_set__",
        "__pydantic_private__",
    )
    _validator: ClassVar[SchemaValidator | None] = None

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        raise NotImplementedError

    @classmethod
    def _built(cls) -> SchemaValidator:
        if cls.__dict__.get("_validator") is None:
            cls._validator = SchemaValidator(cls.schema())
        return cls._validator  # type: ignore[return-value]

    @classmethod
    def model_validate(cls: type[R], data: Any) -> R:
        """`data` (a dict) as this model; pydantic_core.ValidationError if it is not one."""
        return cls._built().validate_python(data)

    @classmethod
    def model_validate_json(cls: type[R], data: str | bytes) -> R:
        """`data` (JSON text) as this model; pydantic_core.ValidationError if it is not one."""
        return cls._built().validate_json(data)


def model(
    cls: type[Record], fields: dict[str, cs.ModelField], *, by_name: bool = False
) -> cs.ModelSchema:
    """The schema pydantic gives a BaseModel `cls` of these fields; `by_name`: its fields
    also by their names, not only their aliases (pydantic's populate_by_name)."""
    config = cs.CoreConfig(title=cls.__name__)
    if by_name:
        config.update(validate_by_alias=True, validate_by_name=True)
    return cs.model_schema(
        cls, cs.model_fields_schema(fields, model_name=cls.__name__), config=config
    )


def field(schema: cs.CoreSchema, alias: str | None = None) -> cs.ModelField:
    return cs.model_field(schema, validation_alias=alias, serialization_alias=alias)


def required(alias: str | None = None) -> cs.ModelField:
    """A string that must be given."""
    return field(cs.str_schema(), alias)


def default(schema: cs.CoreSchema, value: Any, alias: str | None = None) -> cs.ModelField:
    return field(cs.with_default_schema(schema, default=value), alias)


def optional(schema: cs.CoreSchema, alias: str | None = None) -> cs.ModelField:
    """`schema` or null, None when left out (`T | None = None`)."""
    return default(cs.nullable_schema(schema), None, alias)


class BaseModel(Record):
    """The `type[BaseModel] | BaseModel` of Powertools' `detail` union: no JSON value is
    one, and a rejection names it as pydantic's does."""

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        return model(cls, {})


def _scheduler_detail(value: Any, info: cs.ValidationInfo) -> Any:
    # EventBridge Scheduler sends an empty detail as the string "{}".
    return {} if info.data.get("source") == "aws.scheduler" and value == "{}" else value


class EventBridgeModel(Record):
    """An EventBridge event's envelope, as Powertools' EventBridgeModel (3.x) declares it:
    the same fields, types and order, so an event is accepted, and a rejection worded, as
    it was when the parser read it. A subclass narrows `source`, `detail_type`, `detail`
    (SOURCE, DETAIL_TYPE, DETAIL)."""

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str
    detail: Any
    replay_name: str | None

    SOURCE: ClassVar[tuple[str, ...]] = ()  # () any string
    DETAIL_TYPE: ClassVar[tuple[str, ...]] = ()
    DETAIL: ClassVar[type[Record] | None] = None  # None: Powertools' union

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        def one_of(values: tuple[str, ...]) -> cs.CoreSchema:
            return cs.literal_schema(list(values)) if values else cs.str_schema()

        if cls.DETAIL is None:
            detail: cs.CoreSchema = cs.union_schema(
                [
                    cs.dict_schema(cs.str_schema(), cs.any_schema()),
                    cs.is_subclass_schema(BaseModel),
                    BaseModel.schema(),
                ]
            )
        else:
            detail = cls.DETAIL.schema()
        fields = {
            "version": required(),
            "id": required(),
            "source": field(one_of(cls.SOURCE)),
            "account": required(),
            "time": field(cs.datetime_schema(microseconds_precision="truncate")),
            "region": required(),
            "resources": field(cs.list_schema(cs.str_schema())),
            "detail_type": field(one_of(cls.DETAIL_TYPE), "detail-type"),
            "detail": field(cs.with_info_before_validator_function(_scheduler_detail, detail)),
            "replay_name": optional(cs.str_schema(), "replay-name"),
        }
        return model(cls, fields, by_name=True)


class PushEvent(Record):
    """A generic push: {"repository": ..., "ref": "refs/heads/main", "after": sha}."""

    repository: str | None
    ref: str
    after: str | None
    # Set when a push Lambda near its timeout handed these stacks on (push_events.py).
    stacks: list[str] | None

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "repository": optional(cs.str_schema()),
            "ref": required(),
            "after": optional(cs.str_schema()),
            "stacks": optional(cs.list_schema(cs.str_schema())),
        }
        return model(cls, fields)


class GitPushEvent(EventBridgeModel):
    """A generic push put on an EventBridge bus (detail-type "Git Push") by any git
    server or CI job; the local event router delivers the demo's pushes this way."""

    detail: PushEvent
    DETAIL_TYPE = ("Git Push",)
    DETAIL = PushEvent


class PullRequestDetail(Record):
    """A pull request to preview, as the webhook forwards it (push_events.py)."""

    repository: str
    number: int
    sha: str
    base_ref: str
    html_url: str
    action: str
    delivery: str

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "repository": required(),
            "number": field(cs.int_schema(gt=0)),
            "sha": field(cs.str_schema(pattern=r"^[0-9a-f]{40}$")),
            "base_ref": default(cs.str_schema(), ""),
            "html_url": default(cs.str_schema(), ""),
            "action": default(cs.str_schema(), ""),
            "delivery": default(cs.str_schema(), ""),
        }
        return model(cls, fields)


class GitPullRequestEvent(EventBridgeModel):
    """ "Git Pull Request" on the reconciler's bus: the webhook's, for the preview handler."""

    detail: PullRequestDetail
    DETAIL_TYPE = ("Git Pull Request",)
    DETAIL = PullRequestDetail


class CodeCommitDetail(Record):
    event: str  # referenceCreated, referenceUpdated, referenceDeleted
    repository_name: str
    reference_type: str  # branch or tag
    reference_name: str
    commit_id: str

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "event": required(),
            "repository_name": required("repositoryName"),
            "reference_type": required("referenceType"),
            "reference_name": required("referenceName"),
            "commit_id": default(cs.str_schema(), "", "commitId"),
        }
        return model(cls, fields)


class CodeCommitEvent(EventBridgeModel):
    """ "CodeCommit Repository State Change" (source aws.codecommit)."""

    detail: CodeCommitDetail
    DETAIL = CodeCommitDetail


class StatusDetails(Record):
    status: str
    status_reason: str

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "status": required(),
            "status_reason": default(cs.str_schema(), "", "status-reason"),
        }
        return model(cls, fields)


def _arn_shaped(value: str) -> str:
    if not STACK_ARN_WITHOUT_ID.fullmatch(value):  # a documented sample's form: read
        StackRef.parse(value)  # ValueError names the expected form
    return value


class _StackArn(Record):
    stack_id: str

    @staticmethod
    def stack_id_field() -> cs.ModelField:
        return field(cs.no_info_after_validator_function(_arn_shaped, cs.str_schema()), "stack-id")

    @property
    def ref(self) -> StackRef:
        """The stack id taken apart; `unique_id` "" for a stack named without its id (as
        AWS's documented samples do), which no stack operation's event is."""
        without_id = STACK_ARN_WITHOUT_ID.fullmatch(self.stack_id)
        if without_id:
            parts = without_id.group("partition", "region", "account", "name")
            return StackRef(self.stack_id, *parts, "")
        return StackRef.parse(self.stack_id)

    @property
    def stack_name(self) -> str:
        return self.ref.name

    @property
    def region(self) -> str:
        return self.ref.region


def _from_the_stacks_place(event: _CloudFormationEvent) -> _CloudFormationEvent:
    """CloudFormation puts an event in the stack's own account and region: an event
    whose `account` or `region` is not its stack id's is not one AWS sent."""
    ref = event.detail.ref
    if event.account != ref.account:
        raise ValueError(f"account {event.account} is not the stack id's ({ref.account})")
    if event.region != ref.region:
        raise ValueError(f"region {event.region} is not the stack id's ({ref.region})")
    return event


class _CloudFormationEvent(EventBridgeModel):
    detail: _StackArn
    SOURCE = ("aws.cloudformation",)

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        return cs.no_info_after_validator_function(_from_the_stacks_place, super().schema())


class StackStatusDetail(_StackArn):
    status_details: StatusDetails
    client_request_token: str

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "stack_id": cls.stack_id_field(),
            "status_details": field(StatusDetails.schema(), "status-details"),
            "client_request_token": default(cs.str_schema(), "", "client-request-token"),
        }
        return model(cls, fields)


class StackStatusEvent(_CloudFormationEvent):
    detail: StackStatusDetail
    DETAIL_TYPE = ("CloudFormation Stack Status Change",)
    DETAIL = StackStatusDetail


class DriftStatusDetails(Record):
    stack_drift_status: str
    detection_status: str

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "stack_drift_status": default(cs.str_schema(), "", "stack-drift-status"),
            "detection_status": required("detection-status"),
        }
        return model(cls, fields)


class DriftDetectionDetail(_StackArn):
    stack_drift_detection_id: str
    status_details: DriftStatusDetails

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "stack_id": cls.stack_id_field(),
            "stack_drift_detection_id": required("stack-drift-detection-id"),
            "status_details": field(DriftStatusDetails.schema(), "status-details"),
        }
        return model(cls, fields)


class DriftDetectionEvent(_CloudFormationEvent):
    detail: DriftDetectionDetail
    DETAIL_TYPE = ("CloudFormation Drift Detection Status Change",)
    DETAIL = DriftDetectionDetail


class ApiCallDetail(Record):
    """The CloudTrail record of "AWS API Call via CloudTrail": the fields the change
    handler reads must have these types (reconciler.api_calls reads the rest)."""

    event_source: str
    event_name: str
    event_time: str
    user_identity: dict[str, Any]

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "event_source": field(
                cs.str_schema(pattern=r"^[a-z0-9-]+\.amazonaws\.com$"), "eventSource"
            ),
            # CloudFront's versioned names hold "_" (UpdateDistribution2020_05_31).
            "event_name": field(cs.str_schema(pattern=r"^[A-Za-z0-9_]{1,128}$"), "eventName"),
            "event_time": field(
                cs.str_schema(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"),
                "eventTime",
            ),
            "user_identity": field(
                cs.dict_schema(cs.str_schema(), cs.any_schema()), "userIdentity"
            ),
        }
        return model(cls, fields)


def _aws_source(event: ApiCallEvent) -> ApiCallEvent:
    """Only AWS puts an `aws.` source on a bus (PutEvents refuses it)."""
    if not event.source.startswith("aws."):
        raise ValueError(f"source {event.source!r} is not an AWS service's (aws.*)")
    return event


class ApiCallEvent(EventBridgeModel):
    detail: ApiCallDetail
    DETAIL_TYPE = ("AWS API Call via CloudTrail",)
    DETAIL = ApiCallDetail

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        return cs.no_info_after_validator_function(_aws_source, super().schema())


class ScheduledEvent(EventBridgeModel):
    """An EventBridge schedule's tick; the schedule handler takes `{}` too (a direct
    invoke), as nothing in the event changes what it does."""

    SOURCE = ("aws.events", "aws.scheduler")
    DETAIL_TYPE = ("Scheduled Event",)
