"""The Content-Security-Policy of every page, and its per-request nonce.

Scripts run only from our own origin, or inline when they carry this request's nonce
(Flask-Admin prints it on every ``<script>`` and ``<link>`` of its templates through
``Admin(csp_nonce_generator=csp_nonce)``; our templates write
``nonce="{{ csp_nonce() }}"``). Inline event handlers (``onclick=...``) and
``javascript:`` links never run: the few that Flask-Admin's templates carry are taken
over by ``static/yijia.js`` (see there). ``<style>`` elements need the nonce too;
``style="..."`` attributes are allowed (``style-src-attr``): Bootstrap, select2 and
the date picker place elements that way, and an attribute cannot run code.
"""

from __future__ import annotations

import secrets

from flask import g


def csp_nonce() -> str:
    """This request's nonce (made on first use; the same for the whole page)."""
    nonce = getattr(g, "csp_nonce", None)
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def content_security_policy(nonce: str) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        "style-src": f"'self' 'nonce-{nonce}'",
        "style-src-elem": f"'self' 'nonce-{nonce}'",
        "style-src-attr": "'unsafe-inline'",
        # Bootstrap's form controls draw their arrows and check marks as data: SVGs
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'self'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())
