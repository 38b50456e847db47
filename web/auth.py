"""Sign-in and roles: who is asking, and may they."""
from __future__ import annotations

import functools
from typing import Any

from flask import abort, g, redirect, request, session, url_for

from .app import yimen


def login(user_id: str) -> None:
    session.clear()
    session["user"] = user_id
    session.permanent = True


def logout() -> None:
    session.clear()


def current_user() -> dict[str, Any] | None:
    if "current_user" not in g:
        g.current_user = None
        if session.get("user"):
            try:
                g.current_user = yimen().user(session["user"])
            except Exception:  # noqa: BLE001 - a deleted account simply is not signed in
                session.clear()
    return g.current_user


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
