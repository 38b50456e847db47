"""The service-item catalogue: validation, import/export, permissions."""
from __future__ import annotations

import json

import pytest

from engine.errors import NotFound, PermissionDenied, ValidationError
from tests.conftest import PROCESSES, read

DEMO = (PROCESSES / "items" / "demo_items.json").read_text(encoding="utf-8")


@pytest.fixture
def catalogue(yimen, departments):
    for name in ("standard_approval", "parallel_approval", "notify_commit"):
        yimen.deploy([read(f"{name}.bpmn")])
    return yimen


def test_demo_catalogue_imports_and_round_trips_through_json_and_csv(catalogue):
    """The shipped demo items import; exporting and re-importing (JSON and CSV) gives the same items."""
    codes = catalogue.import_items(DEMO)["imported"]
    assert len(codes) == 4
    before = catalogue.items()
    for fmt in ("json", "csv"):
        text = catalogue.export_items(fmt)
        catalogue.import_items(text, fmt)
        assert catalogue.items() == before
    assert catalogue.item("330100-XK-003")["departments"] == ["SJ", "XF", "HB"]


def test_invalid_item_lists_every_problem_and_stores_nothing(catalogue):
    """Several mistakes at once are all reported; the catalogue stays empty."""
    bad = {"code": "X", "name": "x", "item_type": "licence", "legal_basis": "b", "competent_office": "o",
           "office_code": "O", "level": "town", "legal_limit_days": 5, "promised_limit_days": 9,
           "process_key": "standard_approval", "tolerance_allowed": True,
           "materials": [{"name": "m", "key": True, "tolerable": True}], "colour": "red"}
    with pytest.raises(ValidationError) as err:
        catalogue.save_item(bad)
    problems = " ".join(err.value.details["problems"])
    for word in ("unknown fields", "item_type", "level", "promised_limit_days", "key material"):
        assert word in problems
    assert catalogue.items() == []


def test_import_is_all_or_nothing(catalogue):
    """One bad item in a file refuses the whole file."""
    items = json.loads(DEMO)
    items[1]["legal_limit_days"] = -1
    with pytest.raises(ValidationError):
        catalogue.import_items(json.dumps(items))
    assert catalogue.items() == []


def test_item_bound_to_an_undeployed_process_is_refused(yimen, departments):
    """An item must name a deployed process, or applications could not start."""
    with pytest.raises(NotFound):
        yimen.import_items(DEMO)


def test_items_naming_unknown_offices_or_departments_are_refused(catalogue):
    """Issue 12, finding 11: an unknown office or reviewing department left joint cases waiting for nobody."""
    import json

    items = json.loads(DEMO)
    items[2]["departments"] = ["SJ", "XX"]
    items[0]["office_code"] = "NOPE"
    with pytest.raises(ValidationError) as error:
        catalogue.import_items(json.dumps(items, ensure_ascii=False))
    text = json.dumps(error.value.details["problems"], ensure_ascii=False)
    assert "'XX' is not a known department" in text and "'NOPE' is not a known department" in text
    assert catalogue.items() == []


def test_only_catalogue_admins_change_items(catalogue):
    """A reviewer may not change the catalogue; a catalogue-admin may."""
    catalogue.add_user("li", groups=["reviewer"])
    catalogue.add_user("cat", groups=["catalogue-admin"])
    with pytest.raises(PermissionDenied):
        catalogue.import_items(DEMO, user="li")
    assert catalogue.import_items(DEMO, user="cat")["imported"]
