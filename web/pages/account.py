"""Signing in and out, the language switch, and where each role lands."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for


from ..app import yimen
from ..auth import current_user, has_role, login, logout, roles_required
from ..security import safe_path, same_site_referrer
from . import bp


# --- account ----------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page():
    if request.method == "POST":
        user = yimen().authenticate(request.form.get("user", ""), request.form.get("password", ""))
        if user is None:
            flash("Wrong user or password", "error")
            return render_template("login.html"), 401
        login(user["id"])
        return redirect(safe_path(request.args.get("next")) or url_for("pages.home"))
    return render_template("login.html")



@bp.post("/logout")
def logout_page():
    logout()
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
