"""Sign-in and roles: who is asking, and may they.

A page session holds the user, the account's session version at sign-in and a
random session id. Every request asks the engine whether that session still
stands (``Yimen.session_user``): a signed-out id, an older version (the
password, roles or groups changed, or "sign out everywhere") or a deactivated
account signs the browser out, with a message on the sign-in page.
"""
from __future__ import annotations

import functools
import secrets
from typing import Any

from flask import abort, current_app, flash, g, redirect, request, session, url_for

from engine import clock
from engine.errors import EngineError

from .app import yimen

SESSION_ENDED_TEXT = {
    "stale": "Your account changed (password, roles or groups) or was signed out everywhere: please sign in again.",
    "signed_out": "This session was signed out: please sign in again.",
    "inactive": "Your account has been deactivated.",
    "unknown": "Your account no longer exists.",
}


def login(user: dict[str, Any]) -> None:
    """Start a session for ``user`` as ``Yimen.sign_in`` returned it (with its session version)."""
    lang = session.get("lang")
    session.clear()
    session["user"] = user["id"]
    session["v"] = user["session_version"]
    session["sid"] = secrets.token_urlsafe(24)
    if lang:
        session["lang"] = lang
    session.permanent = True


def keep_signed_in(version: int) -> None:
    """After people changed their own password: this session stays, the others end."""
    session["v"] = version


def logout() -> None:
    """End this session for good: its id is refused from now on, even if someone kept a copy of the cookie."""
    if current_user() is not None:
        until = clock.now() + current_app.permanent_session_lifetime
        yimen().end_session(session["sid"], until, user=session["user"])
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def session_check() -> tuple[dict[str, Any] | None, EngineError | None]:
    """The signed-in user of this request, or why the session no longer stands (then it is cleared)."""
    if "session_check" not in g:
        g.session_check = (None, None)
        if session.get("user"):
            try:
                g.session_check = (yimen().session_user(session["user"], session.get("v"), session.get("sid")), None)
            except EngineError as exc:
                if exc.code != "session_ended":
                    raise
                lang = session.get("lang")
                session.clear()
                if lang:
                    session["lang"] = lang
                g.session_check = (None, exc)
    return g.session_check


def current_user() -> dict[str, Any] | None:
    user, ended = session_check()
    if ended is not None and not g.get("session_ended_told"):
        g.session_ended_told = True
        if not request.path.startswith("/api/"):
            flash(SESSION_ENDED_TEXT.get(ended.details.get("refusal"), SESSION_ENDED_TEXT["stale"]), "error")
    return user


def has_role(user: dict[str, Any] | None, *roles: str) -> bool:
    return bool(user) and (user.get("admin") or bool(set(roles) & set(user.get("roles") or [])))


def roles_required(*roles: str):
    """Anonymous people go to the sign-in page; signed-in people without the role get 403."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("pages.login", next=request.path))
            if roles and not has_role(user, *roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


login_required = roles_required()
