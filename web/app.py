"""The Flask application: one ``Yimen`` facade per app, sessions with safe cookies, CSRF on every form."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from flask_wtf.csrf import CSRFProtect

from engine.db import default_url, instance_path
from engine.service import Yimen

csrf = CSRFProtect()


def _secret_key() -> str:
    """``YIMEN_SECRET_KEY``, or one generated once and kept in the instance folder (sessions survive restarts)."""
    if os.environ.get("YIMEN_SECRET_KEY"):
        return os.environ["YIMEN_SECRET_KEY"]
    path = instance_path() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        YIMEN_DATABASE_URL=os.environ.get("YIMEN_DATABASE_URL") or default_url(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("YIMEN_SECURE_COOKIES", "0") == "1",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        MAX_CONTENT_LENGTH=50 * 1024 * 1024,
    )
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key()
    app.json.ensure_ascii = False  # Chinese stays readable in JSON answers and on pages
    app.extensions["yimen"] = Yimen(app.config["YIMEN_DATABASE_URL"])
    hops = int(os.environ.get("YIMEN_PROXY_HOPS", "0") or 0)
    if hops > 0:  # behind that many reverse proxies: the client address (sign-in throttling) and scheme they pass on
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    csrf.init_app(app)
    from . import api, i18n, inputs, notices, pages, security

    i18n.init_app(app)
    notices.init_app(app)
    security.init_app(app)
    inputs.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    return app


def yimen() -> Yimen:
    """The engine facade of the current app."""
    return current_app.extensions["yimen"]
