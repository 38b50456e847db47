"""Signing in and out, the account page (password, API tokens, sign out everywhere), the language switch,
and where each role lands.

Sign-in is throttled per account and per client address (``engine.commands.identity``): while locked out,
the page answers 429 with ``Retry-After`` and says when to try again, in the page language.
"""
from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext

from engine.errors import EngineError

from ..app import yimen
from ..auth import current_user, has_role, keep_signed_in, login, logout, roles_required
from ..i18n import local_time
from ..notices import CATEGORIES as NOTICE_CATEGORIES
from ..security import safe_path, same_site_referrer
from . import bp, refusal_text

TOKEN_DAYS = (30, 90, 180, 365)  # what the account page offers; the API takes any 1-365, or none


def client_address() -> str:
    """The address sign-ins are counted under (behind a reverse proxy, see ``YIMEN_PROXY_HOPS``)."""
    return request.remote_addr or "unknown"


def _throttled(exc: EngineError, template: str = "login.html", **context):
    until = exc.details.get("until")
    flash(gettext("Too many failed sign-ins. Please try again after %(time)s.",
                  time=local_time(until, "%Y-%m-%d %H:%M:%S")), "error")
    response = make_response(render_template(template, **context), 429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


# --- account ----------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page():
    if request.method == "POST":
        try:
            user = yimen().sign_in(request.form.get("user", ""), request.form.get("password", ""), client_address())
        except EngineError as exc:
            if exc.code != "too_many_attempts":
                raise
            return _throttled(exc)
        if user is None:
            flash("Wrong user or password", "error")
            return render_template("login.html"), 401
        login(user)
        return redirect(safe_path(request.args.get("next")) or url_for("pages.home"))
    return render_template("login.html")



@bp.post("/logout")
def logout_page():
    logout()
    return redirect(url_for("pages.login"))


def _account_page(new_token: dict | None = None, status: int = 200):
    me = current_user()
    return render_template("account.html", tokens=yimen().tokens(me["id"]), new_token=new_token,
                           token_days=TOKEN_DAYS, prefs=yimen().notice_prefs(me["id"]),
                           categories=NOTICE_CATEGORIES), status


@bp.get("/account", endpoint="account")
@roles_required()
def account_page():
    return _account_page()


@bp.post("/account/tokens")
@roles_required()
def create_token_page():
    me = current_user()
    choice = request.form.get("expires", "90")
    days = int(choice) if choice.isdigit() and int(choice) in TOKEN_DAYS else None
    if days is None and choice != "never":
        flash("Choose when the token expires.", "error")
        return _account_page(status=400)
    try:
        token = yimen().create_token(me["id"], request.form.get("name", "").strip(), user=me["id"],
                                     expires_in_days=days)
    except EngineError as exc:
        if exc.code != "invalid_input":
            flash(refusal_text(exc), "error")
        else:
            flash("A token needs a name of 1 to 100 characters.", "error")
        return _account_page(status=400)
    return _account_page(new_token=token, status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
@roles_required()
def revoke_token_page(token_id: int):
    me = current_user()
    if token_id not in {t["id"] for t in yimen().tokens(me["id"])}:
        return _account_page(status=404)
    yimen().revoke_token(token_id, user=me["id"])
    flash("The token was revoked.", "ok")
    return redirect(url_for("pages.account"))


@bp.post("/account/notices")
@roles_required()
def notice_prefs_page():
    """The person chooses, per category of notice, whether it also comes by e-mail and by SMS (the in-app notice
    always stays): a ticked box is on, an unticked one off; anything else the command refuses."""
    me = current_user()
    chosen: dict[str, dict] = {key: {"email": False, "sms": False} for key in NOTICE_CATEGORIES}
    for name, value in request.form.items():
        channel, _, category = name.partition(".")
        if channel in ("email", "sms") and category:
            chosen.setdefault(category, {})[channel] = True if value == "on" else value
    try:
        yimen().set_notice_prefs(me["id"], user=me["id"], categories=chosen)
    except EngineError as exc:
        flash(refusal_text(exc), "error")
        return _account_page(status=400)
    flash(gettext("Your notice settings were saved."), "ok")
    return redirect(url_for("pages.account"))


@bp.post("/account/password")
@roles_required()
def change_password_page():
    """People change their own password: the current one first (counted like a sign-in); other sessions end."""
    me = current_user()
    new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
    if new != again:
        flash("The two new passwords differ.", "error")
        return _account_page(status=400)
    try:
        if yimen().sign_in(me["id"], request.form.get("password", ""), client_address()) is None:
            flash("The current password is wrong.", "error")
            return _account_page(status=400)
    except EngineError as exc:
        if exc.code != "too_many_attempts":
            raise
        return _throttled(exc, "account.html", tokens=yimen().tokens(me["id"]), new_token=None, token_days=TOKEN_DAYS,
                          prefs=yimen().notice_prefs(me["id"]), categories=NOTICE_CATEGORIES)
    try:
        result = yimen().set_password(me["id"], new, user=me["id"])
    except EngineError as exc:
        if exc.code != "invalid_input":
            raise
        flash(gettext("A password needs at least %(count)s characters.", count=exc.details.get("limit", 8)), "error")
        return _account_page(status=400)
    keep_signed_in(result["session_version"])
    flash("Your password was changed; your other sessions were signed out.", "ok")
    return redirect(url_for("pages.account"))


@bp.post("/account/sign-out-everywhere")
@roles_required()
def sign_out_everywhere_page():
    me = current_user()
    yimen().sign_out_everywhere(me["id"], user=me["id"])
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash("You were signed out everywhere.", "ok")
    return redirect(url_for("pages.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in ("zh", "en"):
        session["lang"] = code
    return redirect(same_site_referrer(request.referrer, request.host) or url_for("pages.home"))


@bp.get("/")
@roles_required()
def home():
    me = current_user()
    if has_role(me, "supervisor"):
        return redirect(url_for("pages.supervision"))
    if has_role(me, "designer") and not me.get("admin"):
        return redirect(url_for("pages.designer"))
    if has_role(me, "window", "reviewer"):
        return redirect(url_for("pages.inbox_page"))
    return redirect(url_for("pages.my_cases"))
