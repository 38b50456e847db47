"""Response headers that keep our origin ours (issue 13).

Every response gets a strict Content-Security-Policy (our own scripts, styles
and images only; no inline script, no plugins, no framing), ``X-Frame-Options``,
``X-Content-Type-Options`` and ``Referrer-Policy``. A view may set its own
stricter policy first: files people uploaded (diagrams, materials) are served
by ``attachment_headers`` as downloads in a sandbox, so even a file with script
in it never runs as a page of Yimen.
"""
from __future__ import annotations

from flask import Flask, Response

PAGE_POLICY = ("default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; "
               "base-uri 'self'; form-action 'self'; img-src 'self' data:")
SANDBOX_POLICY = "sandbox; default-src 'none'"
HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def attachment_headers(filename: str | None = None) -> dict[str, str]:
    """Headers for an uploaded file: a download (``filename``, if given, is a plain ASCII name), sniffing off, sandboxed."""
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": SANDBOX_POLICY}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return headers


def _secure(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_secure)
