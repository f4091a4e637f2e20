"""The one transaction convention of the services.

A service function is either a **whole user action** or a **building block**:

- A whole user action (post a donation, pay a plan month, approve a pledge, create an
  account) runs its work inside ``committed()``, or is decorated with
  ``@transactional``, which does the same for the whole function. On success the
  session commits; on any exception it rolls back and the exception propagates, so a
  refusal (``InvalidValue``) leaves nothing behind, evidence files included (the files
  hook in ``app/services/files.py`` removes the bytes of a rolled-back upload)::

      def post_donation(*, user, amount, ...) -> LedgerEntry:
          with committed():
              ...
              return entry

- A building block only flushes and says so in its docstring ("Flushes; the caller
  commits"). Its caller ends the transaction: a committing service, Flask-Admin's own
  save (``create_model``/``update_model`` commit after ``on_model_change``), an admin
  route, the CLI or the demo seed. That way blocks compose: ``record_assessment``
  calls ``transition_case``, ``record_service`` calls ``complete_service_record``, the
  demo seed makes hundreds of matches in one transaction.

Which is which today:

- commit: ``fund.post_donation``, ``post_disbursement``, ``add_entry_evidence``,
  ``reverse_entry``, ``create_plan``, ``upload_month_evidence``, ``check_month``,
  ``pay_plan_month`` (through ``post_disbursement``); ``sponsorship.pledge``,
  ``approve_pledge``, ``reject_pledge``, ``withdraw_pledge``, ``mark_received``;
  ``users.create_user``, ``add_area`` and the other account actions its docstring
  names.
- flush, the caller commits: ``casework.transition_case`` and ``record_assessment``
  (the one calls the other; the household route, the assessment form and the CLI
  commit); ``casework_records.complete_service_record`` (runs inside Flask-Admin's
  save of the record form), ``record_service``, ``set_file_shareable``,
  ``remove_file``; ``matching.record_match`` (the demo seed), ``accept_match``,
  ``release_match`` (the matching routes commit). In the fund, ``get_account`` (makes
  the account on first use) and ``sync_plan_months`` (the plan form's save) are blocks
  too.

Do not call a committing function from inside another one's ``committed()`` block:
the inner commit would end the outer transaction early, and the outer rollback could no
longer undo it. ``committed()`` refuses to nest (``RuntimeError``), so such a mistake
fails in the tests instead of half-saving in production. Compose building blocks
instead.

Why a helper and not SQLAlchemy 2's ``with db.session.begin():``? Flask-SQLAlchemy's
scoped session has usually *autobegun* a transaction by the time a service runs
(loading ``current_user`` or the rows passed in is enough), and ``Session.begin()``
then raises "A transaction is already begun"; ``begin_nested()`` would make a
SAVEPOINT, which does not commit. ``committed()`` works whether or not a transaction
has begun and ends it either way. It adds no locking of its own: the conditional
``UPDATE``\\ s and ``SELECT ... FOR UPDATE`` row locks that the services take run
inside it, and hold until its commit or rollback, exactly as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from app.extensions import db

P = ParamSpec("P")
R = TypeVar("R")

#: ``db.session.info`` key set while a ``committed()`` block runs
_ACTIVE = "services.transaction.active"


@contextmanager
def committed() -> Iterator[None]:
    """Run the block as one transaction: commit when it ends normally, roll back on
    any exception (which propagates). Refuses to run inside another such block."""
    info = db.session.info
    if info.get(_ACTIVE):
        raise RuntimeError(
            "committed() inside committed(): compose the flush-only building blocks "
            "instead of calling a committing service from another"
        )
    info[_ACTIVE] = True
    try:
        yield
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        info.pop(_ACTIVE, None)


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: the whole function runs inside ``committed()``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with committed():
            return fn(*args, **kwargs)

    return wrapper
