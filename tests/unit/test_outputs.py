"""The pure side of outputs: what SSM should hold, its digest, and outputs drift."""

from __future__ import annotations

from reconciler.outputs import outputs_digest, outputs_drift

OUTPUTS = {"DbEndpoint": "db.internal", "DbPort": "3306", "Reader": ""}


def test_the_digest_moves_with_a_value_a_key_or_the_path_and_ignores_empty_outputs():
    digest = outputs_digest("/pci-db/prod", OUTPUTS)
    assert digest == outputs_digest(
        "/pci-db/prod/", {"DbPort": "3306", "DbEndpoint": "db.internal"}
    )
    assert digest != outputs_digest("/pci-db/prod", {**OUTPUTS, "DbPort": "3307"})
    assert digest != outputs_digest("/pci-db/prod", {"DbEndpoint": "db.internal"})
    assert digest != outputs_digest("/pci-db/staging", OUTPUTS)


def test_drift_names_changed_and_missing_outputs_by_key_never_by_value():
    found = {"/p/DbEndpoint": "db.elsewhere", "/p/Foreign": "x"}
    drift = outputs_drift("/p", OUTPUTS, found)
    assert (drift.changed, drift.missing) == (("DbEndpoint",), ("DbPort",))
    assert str(drift) == "DbEndpoint changed, DbPort deleted"
    assert "db." not in str(drift)


def test_no_drift_when_ssm_holds_every_output_whatever_else_is_under_the_path():
    found = {"/p/DbEndpoint": "db.internal", "/p/DbPort": "3306", "/p/Note": "by hand"}
    assert outputs_drift("/p", OUTPUTS, found).empty
