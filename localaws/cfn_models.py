"""The plumbing that localaws's CloudFormation model extensions share; no AWS behaviour here.

Each extension module (`cfn_elasticache`, `cfn_secretsmanager`, `cfn_rds_option_group`,
`cfn_updates`, `cfn_create_fixes`) tells what AWS does and what moto 5.2.5 lacks; this
module holds what they would otherwise each repeat:

- `Registration`: giving moto new CloudFormation models, from resource classes that become
  models only when their extension is installed;
- `Resource`: the methods moto asks of every model, from a type name, a name property and
  the GetAtt attributes;
- template values (parameters arrive as strings), property diffs (`diff`, `ABSENT`) and the
  "Properties validation failed" reason;
- the properties a moto model instance was deployed with (`remember`, `deployed`), a keyed
  digest for remembering secret values, tag changes (`retag`), and `extend_create` for
  adding to the create of one of moto's own models.

It installs nothing itself, and is not listed in `localaws.extensions`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import types
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel

from localaws.rollback import ResourceFailed

# Set on a moto model instance; never serialised by moto (its responses name fields explicitly).
_DEPLOYED_PROPERTIES = "_localaws_deployed_properties"
# Keys the digests kept in place of secret values; new per process, never stored.
_DIGEST_KEY = secrets.token_bytes(32)


# --- registering models with moto ---------------------------------------------------------------


class Registration:
    """The resource classes one extension module gives moto's CloudFormation as models.

    moto finds models by listing CloudFormationModel's direct subclasses, so registering is
    subclassing. It happens in `install()`, never at import: the resource classes are plain
    classes, and importing an extension module changes nothing in moto.
    """

    def __init__(self, module: str, resources: tuple[type[Any], ...]) -> None:
        self.module = module  # the extension module's __name__
        self.resources = resources
        self._models: dict[str, type[CloudFormationModel]] = {}

    def install(self) -> None:
        """Register each resource class once; calling again changes nothing."""
        if self._models:
            return
        for resource in self.resources:
            self._models[resource.cloudformation_type()] = self._model(resource)
        forget_moto_model_lists()

    def models(self) -> dict[str, type[CloudFormationModel]]:
        """CloudFormation type -> the model class moto uses for it (empty before install())."""
        return dict(self._models)

    def _model(self, resource: type[Any]) -> type[CloudFormationModel]:
        # __module__ names the extension module: moto files a model under the second part of
        # its module path (e.g. "cfn_elasticache").
        return types.new_class(
            resource.__name__,
            (resource, CloudFormationModel),
            exec_body=lambda namespace: namespace.update(
                {"__module__": self.module, "__qualname__": resource.__qualname__}
            ),
        )


def forget_moto_model_lists() -> None:
    """moto caches its model lists (and each type's name property) on first use; drop them
    so that new models and changed name properties are seen."""
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


class Resource:
    """What moto asks of every CloudFormation model, from three class attributes. A resource
    class adds `physical_resource_id` (what Ref gives), create, update and delete."""

    TYPE: ClassVar[str]  # the CloudFormation type, e.g. "AWS::RDS::OptionGroup"
    NAME_PROPERTY: ClassVar[str] = ""  # the property that names the resource; "" for none
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()  # what GetAtt reads; none: the type has Ref only

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    def is_created(self) -> bool:
        return True


def logical_id(resource: Any, fallback: str) -> str:
    """The resource's logical id in its stack (moto sets it after a create)."""
    return str(getattr(resource, "logical_resource_id", fallback))


def created_logical_id(create_kwargs: Mapping[str, Any], resource_name: str) -> str:
    """The logical id a create names in its keyword arguments (moto passes LogicalId)."""
    return str(create_kwargs.get("LogicalId") or resource_name)


# --- template values: parameters arrive as strings ---------------------------------------------


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def as_strs(value: Any) -> list[str]:
    return [str(item) for item in value or []]


def as_name(value: Any) -> str:
    # moto resolves a Ref to an RDS group without a physical id (or one created before
    # install()) to the model object itself.
    return str(getattr(value, "name", value))


def tag_list(value: Any) -> list[dict[str, str]]:
    return [{"Key": str(tag["Key"]), "Value": str(tag["Value"])} for tag in value or []]


def tag_dict(value: Any) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tag_list(value)}


def policy_document(value: Any) -> str:
    # CloudFormation accepts a JSON object or a string; the service APIs take a string.
    return value if isinstance(value, str) else json.dumps(value)


# --- property diffs and validation --------------------------------------------------------------


class _Absent:
    """A property missing from one side of a template diff."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Changed property -> its new value, ABSENT when removed; old properties first."""
    changes: dict[str, Any] = {}
    for prop in (*old, *(key for key in new if key not in old)):
        before, after = old.get(prop, ABSENT), new.get(prop, ABSENT)
        if before != after:
            changes[prop] = after
    return changes


def invalid_properties(logical_id: str, message: str) -> ResourceFailed:
    """The failure CloudFormation reports for properties the resource schema refuses."""
    return ResourceFailed(
        f"Properties validation failed for resource {logical_id} with message: {message}"
    )


def require(properties: Mapping[str, Any], keys: tuple[str, ...], logical_id: str) -> None:
    """Fail the resource when a required property is missing (or null)."""
    for key in keys:
        if properties.get(key) is None:
            raise invalid_properties(logical_id, f"#: required key [{key}] not found")


# --- what a resource was deployed with ----------------------------------------------------------


def remember(resource: Any, properties: Mapping[str, Any]) -> None:
    """Record on one of moto's model instances the template properties it was deployed with;
    the next update diffs against them. Extensions that replace a model's create pass the
    template's own properties, whatever they hand to moto."""
    setattr(resource, _DEPLOYED_PROPERTIES, dict(properties))


def deployed(resource: Any) -> dict[str, Any] | None:
    """The properties `remember` recorded; None for a resource created before install()."""
    return getattr(resource, _DEPLOYED_PROPERTIES, None)


def create_only_changed(
    resource: Any, properties: Mapping[str, Any], keys: tuple[str, ...]
) -> bool:
    """Whether an update changes a property CloudFormation can only set by replacing the
    resource (the caller then deletes it and creates the new one)."""
    old = deployed(resource) or {}
    return any(old.get(key) != properties.get(key) for key in keys)


def digest(value: Any) -> str:
    """A keyed digest of a secret value: remembered in its place to notice a change."""
    return hmac.new(_DIGEST_KEY, str(value).encode(), hashlib.sha256).hexdigest()


def tag_changes(old: Any, new: Any) -> tuple[dict[str, str], list[str]]:
    """Tags to set and tag keys to remove; tags added outside the stack are left alone."""
    before, after = tag_dict(old), tag_dict(new)
    to_set = {key: value for key, value in after.items() if before.get(key) != value}
    return to_set, [key for key in before if key not in after]


def retag(backend: Any, resource_id: str, old: Any, new: Any) -> None:
    """UntagResource, then TagResource, from the template's old Tags to its new ones (ABSENT
    or None: no tags). The KMS, Logs, ElastiCache and Secrets Manager backends share the
    calls' shape: tag_resource(id, {key: value}), untag_resource(id, [key])."""
    to_set, to_remove = tag_changes(old, None if new is ABSENT else new)
    if to_remove:
        backend.untag_resource(resource_id, to_remove)
    if to_set:
        backend.tag_resource(resource_id, to_set)


# --- adding to the create of moto's own models --------------------------------------------------


def extend_create(
    model: type[Any],
    after: Callable[[Any, Mapping[str, Any]], None],
    before: Callable[[Mapping[str, Any], str, str], None] | None = None,
) -> None:
    """Make `model`'s CloudFormation create (as it is now) run `before(properties,
    account_id, region_name)` when given, which may refuse the create by raising, then the
    create, then `after(resource, properties)`."""
    create = model.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: type[Any],
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        if before is not None:
            before(properties, account_id, region_name)
        resource = create(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        after(resource, properties)
        return resource

    model.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
