"""Response headers that keep our origin ours (issue 13).

Files people uploaded (diagrams, materials) are served by ``attachment_headers``
as downloads in a sandbox, so even a file with script in it never runs as a
page of Yimen.
"""
from __future__ import annotations

SANDBOX_POLICY = "sandbox; default-src 'none'"


def attachment_headers(filename: str | None = None) -> dict[str, str]:
    """Headers for an uploaded file: a download (``filename``, if given, is a plain ASCII name), sniffing off, sandboxed."""
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": SANDBOX_POLICY}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return headers

