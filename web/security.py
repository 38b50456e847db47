"""Response headers and redirects that keep our origin ours (issue 13).

Every response gets a strict Content-Security-Policy (our own scripts, styles
and images only; no inline script, no plugins, no framing), ``X-Frame-Options``,
``X-Content-Type-Options`` and ``Referrer-Policy``. A view may set its own
stricter policy first: files people uploaded (diagrams, materials) are served
by ``attachment_headers`` as downloads in a sandbox, so even a file with script
in it never runs as a page of Yimen.

Where a request names the page to go back to (``?next=`` after sign-in, the
``Referer`` of the language switch), ``safe_path`` and ``same_site_referrer``
accept only a path of this site: never a way off it to a phishing page.
"""
from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

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


def safe_path(target: str | None) -> str | None:
    """``target`` if it is a path of this site, after normalising it as a browser would; else ``None``.

    Browsers drop tabs and newlines anywhere in a URL, trim spaces and control
    characters at its ends, and read ``\\`` as ``/``: ``/\t/evil.example`` and
    ``/\\evil.example`` both lead to another host. So those characters are removed
    first, and the result (also percent-decoded) must start with one ``/``, hold no
    backslash or control character, and name no scheme or host.
    """
    if not isinstance(target, str):
        return None
    cleaned = "".join(ch for ch in target if ch not in "\t\n\r").strip("".join(map(chr, range(0x21))) + "\x7f")
    for candidate in (cleaned, unquote(cleaned)):
        if not candidate.startswith("/") or candidate.startswith("//") or "\\" in candidate:
            return None
        if any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in candidate):
            return None
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return None
    return cleaned


def same_site_referrer(referrer: str | None, host: str) -> str | None:
    """The path (and query) of ``referrer`` if it is a page of ``host``, else ``None``."""
    try:
        parts = urlsplit(referrer or "")
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.netloc != host:
        return None
    return safe_path(urlunsplit(("", "", parts.path, parts.query, "")))
