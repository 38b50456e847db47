"""Business-rule tasks evaluate DMN decision tables deployed with the diagram."""
from __future__ import annotations

import pytest

from engine.errors import BpmnInvalid
from tests.conftest import read


@pytest.mark.parametrize("amount, fee", [(5000, 50), (20, 10)])
def test_decision_table_sets_the_fee(yimen, amount, fee):
    """A Flowable business-rule task and a Flowable 'dmn' service task both run the decision (FIRST hit)."""
    yimen.deploy([read("bpmn_prep/brt_flowable.bpmn"), read("bpmn_prep/decision.dmn")])
    instance = yimen.start("fee_flowable", {"amount": amount})["instance"]
    shown = yimen.show(instance)
    assert shown["data"]["fee"] == fee
    assert [t["element_id"] for t in shown["open_tasks"]] == ["pay"]


def test_decision_missing_from_the_upload_is_refused(yimen):
    """A decisionRef with no DMN file in the upload is a bpmn_invalid problem, nothing stored."""
    with pytest.raises(BpmnInvalid):
        yimen.deploy([read("bpmn_prep/brt_flowable.bpmn")])
