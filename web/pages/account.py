"""Signing in and out, the language switch, and where each role lands."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


from flask import flash, redirect, render_template, request, session, url_for


from ..app import yimen
from ..auth import current_user, has_role, login, logout, roles_required
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
        target = request.args.get("next") or ""
        return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("pages.home"))
    return render_template("login.html")



@bp.post("/logout")
def logout_page():
    logout()
    return redirect(url_for("pages.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in ("zh", "en"):
        session["lang"] = code
    back = urlsplit(request.referrer or "")
    same_site = back.netloc == request.host and back.path.startswith("/")
    return redirect(urlunsplit(("", "", back.path, back.query, "")) if same_site else url_for("pages.home"))


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
