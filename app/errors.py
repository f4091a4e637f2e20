"""Unexpected errors: logged in full with a short reference the user can quote.

A bug must never hide behind a polite message. In tests (``app.testing``) it is raised
so the test fails; in production the user sees 错误编号 ABC123 and support finds the
traceback in the log by that reference.
"""

from __future__ import annotations

import logging
import secrets

from flask import current_app


def new_reference() -> str:
    """Six characters, easy to read out on the phone (no 0/O, 1/I)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(6))


def report_unexpected(log: logging.Logger, where: str, exc: BaseException) -> str:
    """Log ``exc`` with its traceback under a new reference; re-raise it in tests."""
    if current_app.testing:
        raise exc
    reference = new_reference()
    log.error("unexpected error %s in %s", reference, where, exc_info=exc)
    return reference
