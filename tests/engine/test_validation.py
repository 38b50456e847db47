"""Checks before an online application is taken: ID check digits (GB 11643, GB 32100), phone, materials."""
from __future__ import annotations

import pytest

from engine import validation
from engine.errors import ValidationError
from tests.conftest import PROCESSES, read

VALID_IDS = ("11010519491231002X", "440524198001010013", "33010019900101001X")
VALID_CODES = ("91350100M000100Y43", "91110000600037341L")


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_identity_numbers_pass(number):
    """Real-format numbers with the right GB 11643 check character (X for ten), also in lower case."""
    assert validation.id_card_problem(number) is None
    assert validation.id_card_problem(number.lower()) is None


@pytest.mark.parametrize("number, problem", [
    ("110105194912310021", "id_card_check_digit"),    # one digit changed: the check character no longer fits
    ("11010519491231002", "id_card_format"),          # 17 characters
    ("1101051949123100X2", "id_card_format"),         # X only as the last character
    ("110105194902300020", "id_card_birth_date"),     # 30 February
    ("", "id_card_format"),
])
def test_wrong_identity_numbers_name_their_problem(number, problem):
    assert validation.id_card_problem(number) == problem


def test_every_single_digit_change_is_caught():
    """MOD 11-2 catches any one wrong digit of a valid number."""
    base = VALID_IDS[1]
    for position in range(17):
        for digit in "0123456789":
            if digit != base[position]:
                changed = base[:position] + digit + base[position + 1:]
                assert validation.id_card_problem(changed) is not None, changed


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_credit_codes_pass(code):
    assert validation.credit_code_problem(code) is None


@pytest.mark.parametrize("code, problem", [
    ("91350100M000100Y42", "credit_code_check_digit"),
    ("91350100M000100YI3", "credit_code_format"),   # I is not in the code's alphabet
    ("91350100M000100Y4", "credit_code_format"),
])
def test_wrong_credit_codes_name_their_problem(code, problem):
    assert validation.credit_code_problem(code) == problem


@pytest.mark.parametrize("phone, ok", [("13800138000", True), ("0571-88889999", True), ("057188889999", True),
                                       ("12800138000", False), ("1380013800", False), ("电话", False)])
def test_phone_numbers(phone, ok):
    assert (validation.phone_problem(phone) is None) is ok


@pytest.fixture
def office(yimen, calendar_ready, departments):
    for name in ("standard_approval", "parallel_approval", "notify_commit", "extension"):
        yimen.deploy([read(f"{name}.bpmn")])
    yimen.import_items((PROCESSES / "items" / "demo_items.json").read_text(encoding="utf-8"))
    yimen.add_user("zhang", groups=[])
    return yimen


def test_online_application_lists_every_problem_at_once_and_stores_nothing(office):
    """A wrong ID number, a wrong phone and each missing required material: one refusal naming them all."""
    code = "330100-XK-001"
    required = [m["name"] for m in office.item(code)["materials"] if m.get("required") and not m.get("tolerable")]
    with pytest.raises(ValidationError) as err:
        office.submit(code, {"name": "张三", "user": "zhang", "id_no": "110105194912310021", "phone": "123"}, [],
                      user="zhang", online=True)
    problems = err.value.details["problems"]
    assert {"field": "id_no", "refusal": "id_card_check_digit"} in problems
    assert {"field": "phone", "refusal": "phone_format"} in problems
    assert [p["material"] for p in problems if p["refusal"] == "material_missing"] == required
    assert err.value.details["refusal"] == "application_invalid"
    assert office.case_list({"id": "zhang", "roles": ["applicant"]})["total"] == 0


def test_an_organisation_is_checked_by_its_credit_code(office):
    code = "330100-XK-003"
    files = [{"name": m["name"], "filename": "a.pdf", "content": b"x"} for m in office.item(code)["materials"]]
    with pytest.raises(ValidationError) as err:
        office.submit(code, {"name": "小张面馆", "kind": "organisation", "user": "zhang", "id_no": VALID_IDS[0]},
                      files, user="zhang", online=True)
    assert err.value.details["problems"] == [{"field": "id_no", "refusal": "credit_code_check_digit"}]
    done = office.submit(code, {"name": "小张面馆", "kind": "organisation", "user": "zhang", "id_no": VALID_CODES[0]},
                         files, user="zhang", online=True)
    assert done["status"] == "submitted"
