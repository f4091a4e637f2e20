"""Columns and behaviour shared by every record."""

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class TrackedMixin:
    """Every record knows who created and last changed it, and when (UTC)."""

    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(
            ForeignKey("users.id", ondelete="SET NULL", use_alter=True), nullable=True
        )

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:
        return mapped_column(
            ForeignKey("users.id", ondelete="SET NULL", use_alter=True), nullable=True
        )

    @declared_attr
    def created_by(cls):
        extra = {"remote_side": "User.id"} if cls.__name__ == "User" else {}
        return relationship("User", foreign_keys=[cls.created_by_id], viewonly=True, **extra)

    @declared_attr
    def updated_by(cls):
        extra = {"remote_side": "User.id"} if cls.__name__ == "User" else {}
        return relationship("User", foreign_keys=[cls.updated_by_id], viewonly=True, **extra)


def _acting_user_id() -> int | None:
    """The logged-in user's id, or None outside a request (CLI, tests)."""
    try:
        from flask import has_request_context
        from flask_login import current_user

        if has_request_context() and current_user.is_authenticated:
            return current_user.id
    except Exception:  # pragma: no cover - no app context
        return None
    return None


def stamp_tracked(session, _flush_context, _instances) -> None:
    """Fill created_by / updated_by from the logged-in user."""
    user_id = _acting_user_id()
    if user_id is None:
        return
    for obj in session.new:
        if isinstance(obj, TrackedMixin) and obj.created_by_id is None:
            obj.created_by_id = user_id
            obj.updated_by_id = user_id
    for obj in session.dirty:
        if isinstance(obj, TrackedMixin) and session.is_modified(obj):
            obj.updated_by_id = user_id


def has_changed(obj, *attrs) -> bool:
    """Does the session hold an unsaved change of any of ``attrs`` on ``obj``?"""
    from sqlalchemy import inspect

    state = inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in attrs)


def copy_areas(target, source) -> None:
    """Give ``target`` the household, project, street and community of ``source``.

    Rows that belong to another record (a file to its service record, a plan month to
    its plan) carry copies of these, so they are scoped by plain indexed columns. The
    relationships are copied (not only ids) so a source created in the same flush
    works too.
    """
    for name in ("household", "project"):
        if hasattr(type(target), name) and hasattr(type(source), name):
            value = getattr(source, name)
            if value is None and getattr(source, f"{name}_id", None) is not None:
                setattr(target, f"{name}_id", getattr(source, f"{name}_id"))
            else:
                setattr(target, name, value)
    target.street_id = getattr(source, "street_id", None)
    target.community_id = getattr(source, "community_id", None)


class ArchivableMixin:
    """A record that is archived, never deleted, once it has a history: it leaves lists
    and drop-downs but keeps its rows, and the district admin can restore it
    (``app/services/archive.py`` holds the rules)."""

    #: when it was archived (UTC); None while the record is in use
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    #: why it was archived (required)
    archive_reason: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def archived_by_id(cls) -> Mapped[int | None]:
        return mapped_column(
            ForeignKey("users.id", ondelete="SET NULL", use_alter=True), nullable=True
        )

    @declared_attr
    def archived_by(cls):
        return relationship("User", foreign_keys=[cls.archived_by_id], viewonly=True)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None
