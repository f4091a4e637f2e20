"""Throttles for what a person should not do many times a minute: failed logins,
wrong current passwords, "is this ID number registered?" look-ups.

Built on the app's Flask-Limiter instance (``app.extensions.limiter``): the same
storage (Redis when ``REDIS_URL`` is set, else the process's memory), the same
strategy (a moving window) and the same key prefix. Limits are strings in
Flask-Limiter's notation, usually named by a config setting so that a deployment (and
a test) can change them: ``"5 per 5 minutes"``, ``"60 per hour; 300 per day"``.

Two levels:

- ``is_allowed`` / ``hit`` / ``clear`` count anything under a ``scope`` and ``key``
  the caller chooses (the login form counts failures per address and per username,
  and only checks a password while both are within their limits);
- ``allow(scope, setting)`` is for a look-up a logged-in person makes in a request:
  one count for the user and one for the client address, against
  ``current_app.config[setting]``; ``False`` (and a warning in the log) once either
  is over. ``allow_id_number_check()`` is that for the duplicate-ID check.

Outside a request (CLI, imports, the demo seed) ``allow`` always answers ``True``:
there is nobody guessing. When the storage is unreachable (Redis down) the counts go
to this process's memory and an error is logged, so logging in still works and is
still throttled.
"""

from __future__ import annotations

import functools
import hashlib
import logging

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app.extensions import limiter

log = logging.getLogger(__name__)

TOO_MANY_ATTEMPTS = _l("Too many attempts in a short time. Please wait a few minutes.")
TOO_MANY_ID_CHECKS = _l(
    "Too many ID number checks in a short time. Please wait a while, or ask the district "
    "civil-affairs bureau."
)

_fallback = MovingWindowRateLimiter(MemoryStorage())


@functools.lru_cache(maxsize=64)
def limit_items(limit: str) -> tuple[RateLimitItem, ...]:
    """``"5 per minute; 20 per hour"`` → its rate-limit items (parsed once)."""
    return tuple(parse_many(limit))


def _identifiers(scope: str, key: str) -> tuple[str, ...]:
    return (current_app.config.get("RATELIMIT_KEY_PREFIX", ""), scope, key)


def _run(method: str, limit: str, scope: str, key: str) -> list:
    """Call the strategy's ``method`` for every item of ``limit``; falls back to
    memory when the shared storage fails."""
    identifiers = _identifiers(scope, key)
    try:
        strategy = limiter.limiter
        return [getattr(strategy, method)(item, *identifiers) for item in limit_items(limit)]
    except Exception as exc:  # storage down: throttle in this process rather than not at all
        log.error("rate-limit storage failed (%s); counting in memory", type(exc).__name__)
        return [getattr(_fallback, method)(item, *identifiers) for item in limit_items(limit)]


def is_enabled() -> bool:
    return bool(limiter.enabled) and getattr(limiter, "_limiter", None) is not None


def is_allowed(scope: str, key: str, limit: str) -> bool:
    """Would one more event of ``scope`` for ``key`` stay within ``limit``? Counts nothing."""
    if not is_enabled():
        return True
    return all(_run("test", limit, scope, key))


def hit(scope: str, key: str, limit: str) -> bool:
    """Count one event of ``scope`` for ``key``; ``False`` when it is over ``limit``."""
    if not is_enabled():
        return True
    return all(_run("hit", limit, scope, key))


def clear(scope: str, key: str, limit: str) -> None:
    """Forget the events counted for ``key`` (e.g. after an administrator unlocks)."""
    if is_enabled():
        _run("clear", limit, scope, key)


def client_address() -> str:
    """The client's address as the app sees it (``PROXY_FIX_X_FOR`` says how many
    proxies to look through)."""
    return (request.remote_addr or "unknown") if has_request_context() else "local"


def account_key(username: str | None) -> str:
    """A key for a typed username, known or not: case and spaces folded, then hashed,
    so that the storage never holds what was typed (often a password by mistake)."""
    folded = (username or "").strip().casefold()[:80]
    return hashlib.sha256(folded.encode()).hexdigest()[:32]


def allow(scope: str, setting: str) -> bool:
    """One look-up of ``scope`` by the person making this request: counted for the
    logged-in user and for the client address against ``current_app.config[setting]``.
    ``True``: go ahead. ``False``: refuse (already logged). Outside a request, ``True``."""
    if not has_request_context():
        return True
    from flask_login import current_user

    limit = current_app.config[setting]
    address = client_address()
    keys = [f"ip:{address}"]
    user_id = current_user.id if current_user and current_user.is_authenticated else None
    if user_id is not None:
        keys.append(f"user:{user_id}")
    # count every key, even when the first is already over, so both windows fill
    results = [hit(scope, key, limit) for key in keys]
    if not all(results):
        log.warning("throttled %s: user %s from %s over %s", scope, user_id, address, limit)
        return False
    return True


def allow_id_number_check() -> bool:
    """For the "is this ID number already registered?" check of a form: logs the
    look-up (who, from where; never the number) and counts it per user and per
    address against ``ID_NUMBER_CHECK_LIMIT``. ``False``: refuse with
    ``TOO_MANY_ID_CHECKS``."""
    if not has_request_context():
        return True
    from flask_login import current_user

    user_id = current_user.id if current_user and current_user.is_authenticated else None
    log.info("id-number check by user %s from %s", user_id, client_address())
    return allow("id-number-check", "ID_NUMBER_CHECK_LIMIT")
