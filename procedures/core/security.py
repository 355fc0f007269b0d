"""Response headers: nothing runs that the app did not serve, HTTPS only, internal data not kept.

Every response to a signed-in user but a static file is `Cache-Control: no-store`: pages carry
internal judgements (verdicts, blockers, notes) and downloads carry the whole inventory, and
neither a shared computer's browser cache nor a proxy should keep them.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

#: Scripts and styles come from static/ only: no inline script, no CDN.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

#: Sent when the app is served over HTTPS (HTTPS=1): browsers then refuse plain HTTP for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    """Add the security headers to every response."""

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("HTTPS"):
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        if request.endpoint != "static" and current_user.is_authenticated:
            # Replaces send_file's "no-cache", which still lets the browser store the file.
            response.headers["Cache-Control"] = "no-store"
        return response
