"""Offline prediction of resource changes and replacements, and how a change set's own
report is merged in."""

from __future__ import annotations

from reconciler.diff import (
    ChangeAction,
    Replacement,
    ReportedChange,
    ResourceChange,
    merge_change_set,
    predict_changes,
)
from reconciler.render import Pseudo, parameter_values, render

REGION = "us-east-1"


def db_template(**props) -> dict:
    base = {
        "Engine": "mysql",
        "DBInstanceClass": {"Ref": "InstanceClass"},
        "DBName": "payments",
        "DBSubnetGroupName": {"Ref": "Subnets"},
    }
    base.update(props)
    return {
        "Parameters": {"InstanceClass": {"Type": "String", "Default": "db.t3.medium"}},
        "Resources": {
            "Subnets": {
                "Type": "AWS::RDS::DBSubnetGroup",
                "Properties": {"DBSubnetGroupDescription": "private", "SubnetIds": ["a", "b"]},
            },
            "Database": {"Type": "AWS::RDS::DBInstance", "Properties": base},
        },
    }


def predict(old, new, old_given=None, new_given=None, masked=False):
    pseudo = Pseudo(REGION, "app", "123456789012")
    before = None
    if old is not None:
        before = render(old, parameter_values(old, old_given or {}, masked=masked), pseudo)
    after = render(new, parameter_values(new, new_given or {}), pseudo)
    return predict_changes(before, after, REGION)


def test_identical_templates_predict_no_change():
    assert predict(db_template(), db_template()) == []


def test_new_stack_adds_every_resource():
    changes = predict(None, db_template())
    assert [(c.logical_id, c.action) for c in changes] == [
        ("Database", ChangeAction.ADD),
        ("Subnets", ChangeAction.ADD),
    ]


def test_parameter_feeding_an_updatable_property_modifies_without_replacement():
    """GIVEN the instance class parameter changes WHEN predicted THEN Database is
    modified in place."""
    (change,) = predict(db_template(), db_template(), {}, {"InstanceClass": "db.t3.large"})
    assert change.logical_id == "Database"
    assert change.action is ChangeAction.MODIFY
    assert change.replacement is Replacement.FALSE
    assert change.properties == ("DBInstanceClass",)


def test_create_only_property_change_predicts_replacement_naming_the_property():
    (change,) = predict(db_template(), db_template(DBName="ledger"))
    assert change.replacement is Replacement.TRUE
    assert change.causes == ("DBName changes (create-only)",)


def test_replacement_propagates_through_a_create_only_reference():
    """GIVEN the subnet group's name (create-only) changes WHEN predicted THEN the DB
    instance, whose create-only DBSubnetGroupName refers to it, may be replaced too."""
    new = db_template()
    new["Resources"]["Subnets"]["Properties"]["DBSubnetGroupName"] = "renamed"
    changes = {c.logical_id: c for c in predict(db_template(), new)}
    assert changes["Subnets"].replacement is Replacement.TRUE
    assert changes["Database"].replacement is Replacement.CONDITIONAL
    assert "DBSubnetGroupName refers to Subnets, which is replaced" in changes["Database"].causes


def test_masked_noecho_value_feeding_a_create_only_property_is_conditional():
    old = db_template(DBName={"Ref": "Name"})
    old["Parameters"]["Name"] = {"Type": "String", "NoEcho": True}
    (change,) = predict(old, old, {"Name": "****"}, {"Name": "payments"}, masked=True)
    assert change.replacement is Replacement.CONDITIONAL


def test_removed_and_retyped_resources():
    new = db_template()
    del new["Resources"]["Subnets"]
    new["Resources"]["Database"]["Properties"]["DBSubnetGroupName"] = "fixed"
    new["Resources"]["Database"]["Type"] = "AWS::RDS::DBCluster"
    changes = {c.logical_id: c for c in predict(db_template(), new)}
    assert changes["Subnets"].action is ChangeAction.REMOVE
    assert changes["Database"].replacement is Replacement.TRUE
    assert changes["Database"].causes[0].startswith("Type changes")


def test_fn_sub_with_parameters_is_resolved_before_comparing():
    old = {
        "Parameters": {"Env": {"Type": "String"}},
        "Resources": {
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Sub": "/pci/${Env}/db"}},
            }
        },
    }
    assert predict(old, old, {"Env": "dev"}, {"Env": "dev"}) == []
    (change,) = predict(old, old, {"Env": "dev"}, {"Env": "prod"})
    assert change.replacement is Replacement.TRUE


def test_a_change_set_never_softens_a_predicted_replacement():
    """GIVEN a predicted replacement WHEN the change set says Replacement False THEN the
    graver verdict stands: the guard must see it either way."""
    predicted = [
        ResourceChange(
            "Database",
            "AWS::RDS::DBInstance",
            ChangeAction.MODIFY,
            Replacement.TRUE,
            ("DBName",),
            ("DBName changes",),
        )
    ]
    reported = [ReportedChange("Database", "AWS::RDS::DBInstance", "Modify", Replacement.FALSE)]
    (merged,) = merge_change_set(predicted, reported)
    assert merged.replacement is Replacement.TRUE
    assert merged.causes == ("DBName changes",)


def test_a_change_set_replacement_stands_over_a_predicted_modify():
    """GIVEN a predicted in-place modify WHEN the change set reports Replacement True
    THEN the merged change is a replacement, with the change set's cause."""
    predicted = [
        ResourceChange("Database", "AWS::RDS::DBInstance", ChangeAction.MODIFY, properties=("X",))
    ]
    reported = [
        ReportedChange(
            "Database", "AWS::RDS::DBInstance", "Modify", Replacement.TRUE, ("X changes",)
        )
    ]
    (merged,) = merge_change_set(predicted, reported)
    assert (merged.replacement, merged.causes) == (Replacement.TRUE, ("X changes",))


def test_a_change_set_removal_stands_over_a_predicted_modify():
    predicted = [ResourceChange("Key", "AWS::KMS::Key", ChangeAction.MODIFY, properties=("X",))]
    reported = [ReportedChange("Key", "AWS::KMS::Key", "Remove")]
    (merged,) = merge_change_set(predicted, reported)
    assert merged.action is ChangeAction.REMOVE


def test_prediction_fills_what_a_change_set_leaves_out():
    """moto's change sets list no Replacement and omit parameter-only changes."""
    predicted = [
        ResourceChange(
            "Database",
            "AWS::RDS::DBInstance",
            ChangeAction.MODIFY,
            Replacement.TRUE,
            ("DBName",),
            ("DBName changes",),
        ),
        ResourceChange("Logs", "AWS::Logs::LogGroup", ChangeAction.MODIFY),
    ]
    reported = [ReportedChange("Database", "AWS::RDS::DBInstance", "Modify", None)]
    merged = {c.logical_id: c for c in merge_change_set(predicted, reported)}
    assert merged["Database"].replacement is Replacement.TRUE
    assert merged["Database"].causes == ("DBName changes",)
    assert "Logs" in merged
