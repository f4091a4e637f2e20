"""Background jobs: one queue, ``yijia``, on Redis (RQ), or inline without it.

``enqueue(func, *args)`` is the one way in. With ``REDIS_URL`` set and ``JOBS_INLINE``
false the call is put on the RQ queue and a worker (``flask jobs-worker``) runs it in
its own process, inside an app context of ``create_app()``; otherwise it runs at once,
in this process, inside the current app context (the demo and the tests, which have no
Redis). Either way the caller learns nothing from the return value but the job's id:
a job keeps its own progress in the database, so a page shows it by reading a row,
whether the job ran here a moment ago or runs on another machine.

What a job function must be: a module-level function (RQ stores it by its dotted
name and the worker imports it) taking plain values (ids, strings), never ORM objects
or a request: the worker has neither. Commit whatever the job needs to read *before*
enqueueing it, or the worker may start before the row exists.

Why RQ and not Celery: one queue, one kind of job, Redis already in the deployment
(the login throttle uses it); RQ is a small library on ``redis`` with a worker that
is a plain Python process, where Celery brings kombu, billiard, a broker abstraction
and a beat scheduler we do not need.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app

from app.extensions import db

log = logging.getLogger(__name__)

#: the RQ queue every job goes on (``JOBS_QUEUE`` may name another: the tests' own)
QUEUE_NAME = "yijia"


def is_inline(app: Flask | None = None) -> bool:
    """Whether jobs run in the calling process: no ``REDIS_URL``, or ``JOBS_INLINE``."""
    config = (app or current_app).config
    return bool(config.get("JOBS_INLINE")) or not config.get("REDIS_URL")


def _job_name(func) -> str:
    qualname = getattr(func, "__qualname__", "")
    module = getattr(func, "__module__", None)
    if not module or not qualname or "." in qualname or "<" in qualname:
        raise ValueError(f"{func!r} is not a module-level function: a worker could not import it")
    return f"{module}.{qualname}"


def connection(app: Flask | None = None):
    """A Redis connection to ``REDIS_URL``."""
    from redis import Redis

    return Redis.from_url((app or current_app).config["REDIS_URL"])


def queue(app: Flask | None = None):
    """The RQ queue ``yijia`` on ``REDIS_URL``."""
    from rq import Queue

    app = app or current_app
    return Queue(
        app.config.get("JOBS_QUEUE") or QUEUE_NAME,
        connection=connection(app),
        default_timeout=app.config.get("JOBS_TIMEOUT", 3600),
    )


def enqueue(func, *args, description: str = "") -> str | None:
    """Run ``func(*args)`` in the background: on the RQ queue ``yijia`` on Redis when
    REDIS_URL is set and JOBS_INLINE is not true; otherwise now, inline, in this process
    (inside the current app context). ``func`` is a module-level function taking plain
    values (ids), which keeps its own progress in the database. Returns the RQ job id,
    or None when it ran inline."""
    name = _job_name(func)
    if is_inline():
        log.info("job %s runs inline: %s", name, description or "-")
        func(*args)
        return None
    job = queue().enqueue(
        name,
        args=args,
        description=(description or name)[:200],
        # the job's progress lives in our database; RQ's own record need not linger
        result_ttl=current_app.config.get("JOBS_RESULT_TTL", 24 * 3600),
        failure_ttl=current_app.config.get("JOBS_FAILURE_TTL", 7 * 24 * 3600),
    )
    log.info("job %s queued as %s: %s", name, job.id, description or "-")
    return job.id


def worker_for(app: Flask, *, simple: bool = False):
    """An RQ worker on the ``yijia`` queue that runs each job inside an app context of
    ``app``. ``simple``: in this process (RQ's ``SimpleWorker``), not in a forked child
    per job (tests; platforms without ``fork``)."""
    from rq import SimpleWorker, Worker

    base = SimpleWorker if simple else Worker

    class AppWorker(base):
        """Each job in a fresh app context: its own database session, removed after."""

        def perform_job(self, job, queue):
            with app.app_context():
                if not simple:
                    # a forked child must not reuse the parent's pooled connections
                    db.engine.dispose(close=False)
                return super().perform_job(job, queue)

    return AppWorker([queue(app)], connection=connection(app), name=None)
