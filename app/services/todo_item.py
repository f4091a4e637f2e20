"""One item of the to-do list (待办), and the labels of its kinds.

Kept apart from ``app/services/todo.py`` so that the services that provide items
(casework, the special fund) and the list that gathers them import this, not each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import url_for
from flask_babel import lazy_gettext as _l

#: kind → label shown on the to-do page
KIND_LABELS: dict[str, object] = {
    "visit": _l("Home visits"),
    "need": _l("Open needs overdue"),
    "plan_month_evidence": _l("Support-plan evidence"),
    "plan_month_check": _l("Support-plan months to check"),
    "plan_month_pay": _l("Support-plan months to pay"),
    "pledge_decision": _l("Pledges to decide"),
}


@dataclass
class TodoItem:
    """One thing to do. ``due_on`` is the last day it is on time."""

    kind: str
    title: str
    due_on: dt.date
    is_overdue: bool
    endpoint: str
    url_args: dict = field(default_factory=dict)
    household_id: int | None = None
    household_label: str = ""
    assigned_worker_id: int | None = None
    #: how many days past ``due_on`` (0 when on time)
    days_overdue: int = 0

    @property
    def url(self) -> str:
        return url_for(self.endpoint, **self.url_args)

    @property
    def overdue_since(self) -> dt.date | None:
        return self.due_on + dt.timedelta(days=1) if self.is_overdue else None

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))


#: ``provider(user, today) -> list[TodoItem]``
Provider = Callable[..., list[TodoItem]]
