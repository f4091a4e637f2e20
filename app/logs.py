"""Logging that never prints an ID number or a mobile number, whoever adds the handler.

Two layers, both installed by ``configure_logging`` (called by the app factory):

1. **Every record is scrubbed when it is made** (``logging.setLogRecordFactory``):
   its message is merged with its arguments and masked, and its traceback
   (``exc_text``) and stack (``stack_info``) are rendered and masked at once. Every
   formatter re-uses a record's ``exc_text`` when it is set, so a handler added later
   (gunicorn's, a mail handler, pytest's ``caplog``) with any formatter prints the
   masked text only.
2. **``ScrubbingFormatter`` on the handlers configuration knows** (the root logger's,
   Flask's default handler, gunicorn's): masks the whole formatted line once more,
   for text the record factory cannot see (a formatter that adds fields of its own).

Masking uses the same shapes as the pages' privacy checks: ``ID_NUMBER_PATTERN`` and
``PHONE_PATTERN`` from ``app/validation.py``.
"""

from __future__ import annotations

import logging

from app.validation import ID_NUMBER_PATTERN, PHONE_PATTERN, mask_id_number, mask_phone

#: loggers whose handlers get the scrubbing formatter at start-up
KNOWN_LOGGERS = ("", "werkzeug", "gunicorn.access", "gunicorn.error", "flask_admin", "app")
DEFAULT_FORMAT = "[%(asctime)s] %(levelname)s in %(name)s: %(message)s"


def scrub(text: str | None) -> str | None:
    """``text`` with every ID-number-shaped and mobile-shaped run masked."""
    if not text:
        return text
    scrubbed = ID_NUMBER_PATTERN.sub(lambda m: mask_id_number(m.group()), text)
    return PHONE_PATTERN.sub(lambda m: mask_phone(m.group()), scrubbed)


class ScrubbingFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose output (message, traceback, stack) is masked."""

    def format(self, record: logging.LogRecord) -> str:
        _scrub_record(record)
        return scrub(super().format(record))

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return scrub(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return scrub(super().formatStack(stack_info))


_traceback_formatter = logging.Formatter()


def _scrub_record(record: logging.LogRecord) -> None:
    """Mask the record in place: message (merged with its args), traceback, stack."""
    if getattr(record, "_yijia_scrubbed", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: let logging report it as usual
        return
    record.msg, record.args = scrub(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = _traceback_formatter.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    record._yijia_scrubbed = True


def install_record_scrubbing() -> None:
    """Wrap the process's log-record factory once (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "_yijia_scrubbing", False):
        return

    def factory(*args, **kwargs):
        record = current(*args, **kwargs)
        _scrub_record(record)
        return record

    factory._yijia_scrubbing = True
    logging.setLogRecordFactory(factory)


def install_formatter(handler: logging.Handler) -> None:
    """Give ``handler`` a scrubbing formatter, keeping its format strings."""
    if isinstance(handler.formatter, ScrubbingFormatter):
        return
    old = handler.formatter
    if old is None:
        handler.setFormatter(ScrubbingFormatter(DEFAULT_FORMAT))
    else:
        handler.setFormatter(
            ScrubbingFormatter(old._fmt, old.datefmt, style=_style_of(old), validate=False)
        )


def _style_of(formatter: logging.Formatter) -> str:
    for symbol, style_class in logging._STYLES.items():
        if isinstance(formatter._style, style_class[0]):
            return symbol
    return "%"


def configure_logging(app) -> None:
    """Called by the app factory: scrub records at creation, and put the scrubbing
    formatter on every handler present (the app's, root's, werkzeug's, gunicorn's)."""
    install_record_scrubbing()
    from flask.logging import default_handler

    install_formatter(default_handler)
    for name in KNOWN_LOGGERS + (app.name,):
        for handler in logging.getLogger(name).handlers:
            install_formatter(handler)
