"""Accounts, departments, passwords and API tokens."""
import pytest

from engine.errors import NotFound, PermissionDenied, ValidationError
from engine.models import AuditEvent, User
from engine.service import Yimen


@pytest.fixture
def yimen(database_url):
    y = Yimen(database_url)
    y.save_department("ZJ", "省政务办", "province")
    y.save_department("SJ", "市场监管局", "city", parent="ZJ")
    yield y
    y.close()


def test_user_with_roles_department_and_password_signs_in(yimen):
    yimen.add_user("li", groups=["reviewer"], roles=["reviewer"], department="SJ", password="s3cret-pass",
                   email="li@example.org")
    assert yimen.authenticate("li", "s3cret-pass")["department"] == "SJ"
    assert yimen.authenticate("li", "wrong-pass") is None
    assert yimen.authenticate("nobody", "s3cret-pass") is None
    with yimen.session() as s:
        assert s.get(User, "li").password_hash != "s3cret-pass"


@pytest.mark.parametrize("kwargs, reason", [
    ({"roles": ["wizard"]}, "unknown roles"),
    ({"department": "XX"}, "department 'XX' does not exist"),
    ({"password": "short"}, "at least 8"),
    ({"email": "not-an-address"}, "not an e-mail"),
])
def test_bad_account_data_is_refused_and_nothing_changes(yimen, kwargs, reason):
    with pytest.raises(ValidationError, match=reason):
        yimen.add_user("li", **kwargs)
    with yimen.session() as s:
        assert s.get(User, "li") is None


def test_department_needs_known_parent_and_level(yimen):
    with pytest.raises(ValidationError, match="level"):
        yimen.save_department("X1", "x", "village")
    with pytest.raises(ValidationError, match="parent"):
        yimen.save_department("X1", "x", "county", parent="NOPE")
    assert [d["id"] for d in yimen.departments()] == ["SJ", "ZJ"]


def test_only_admins_manage_accounts_and_people_change_their_own_password(yimen):
    yimen.add_user("li", password="first-password")
    yimen.add_user("wang", password="other-password")
    with pytest.raises(PermissionDenied):
        yimen.add_user("mallory", user="li")
    with pytest.raises(PermissionDenied):
        yimen.set_password("wang", "hijacked-pass", user="li")
    yimen.set_password("li", "second-password", user="li")
    assert yimen.authenticate("li", "second-password")


def test_api_token_is_shown_once_stored_hashed_and_revocable(yimen):
    yimen.add_user("li")
    token = yimen.create_token("li", "ci", user="li")
    assert yimen.user_for_token(token["token"])["id"] == "li"
    assert yimen.user_for_token("ym_guess") is None
    with pytest.raises(PermissionDenied):
        yimen.revoke_token(token["id"], user="wang")
    yimen.revoke_token(token["id"], user="li")
    assert yimen.user_for_token(token["token"]) is None
    with pytest.raises(NotFound):
        yimen.revoke_token(999)
    with yimen.session() as s:
        actions = [e.action for e in s.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions.count("token.create") == 1 and "token.revoke" in actions
